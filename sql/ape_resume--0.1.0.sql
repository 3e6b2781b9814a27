/* ape_resume 0.1.0: catalog, views and SQL API */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION ape_resume" to load this file. \quit

/*
 * Catalog.  Only the extension's owner reads these tables directly: the
 * task config holds the source password.  Users see the views below.
 */
CREATE TABLE ape_resume.task (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    config          text NOT NULL,
    db_type         text NOT NULL CHECK (db_type IN ('mysql', 'pg', 'mongo')),
    source_url      text NOT NULL,          -- password masked
    log_dir         text NOT NULL,
    owner           oid NOT NULL,           -- role that started the task
    database        oid NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'running', 'finished', 'failed',
                                     'stopped', 'interrupted')),
    stop_requested  boolean NOT NULL DEFAULT false,
    worker_pid      integer,
    tables_total    integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    last_error      text
);

CREATE TABLE ape_resume.position (
    task_id         bigint NOT NULL REFERENCES ape_resume.task (id) ON DELETE CASCADE,
    schema          text NOT NULL,          -- source names
    tb              text NOT NULL,
    dst_schema      text NOT NULL,          -- target names, after the router
    dst_tb          text NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'copying', 'finished', 'skipped')),
    order_col       text,
    value           text,                   -- last committed order-column value
    replacing       boolean NOT NULL DEFAULT false, -- rows after value may be in the target
    pending_keys    text,                   -- ALTER TABLE adding the keys when the table is complete
    worker_pid      integer,                -- the worker copying it now
    rows_copied     bigint NOT NULL DEFAULT 0,
    rows_estimated  bigint,
    started_at      timestamptz,
    updated_at      timestamptz,
    PRIMARY KEY (task_id, schema, tb)
);

CREATE TABLE ape_resume.finished (
    task_id         bigint NOT NULL REFERENCES ape_resume.task (id) ON DELETE CASCADE,
    schema          text NOT NULL,
    tb              text NOT NULL,
    rows_copied     bigint NOT NULL DEFAULT 0,
    finished_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, schema, tb)
);

-- The workers of a running task: the last one to leave records the outcome.
CREATE TABLE ape_resume.worker (
    task_id         bigint NOT NULL REFERENCES ape_resume.task (id) ON DELETE CASCADE,
    pid             integer NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, pid)
);

SELECT pg_catalog.pg_extension_config_dump('ape_resume.task', '');
SELECT pg_catalog.pg_extension_config_dump('ape_resume.task_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ape_resume.position', '');
SELECT pg_catalog.pg_extension_config_dump('ape_resume.finished', '');

REVOKE ALL ON ape_resume.task, ape_resume.position, ape_resume.finished,
    ape_resume.worker FROM PUBLIC;

/* Views: what users look at.  No password ever appears here. */
CREATE VIEW ape_resume.progress AS
SELECT t.name AS task_name,
       p.schema,
       p.tb,
       p.dst_schema,
       p.dst_tb,
       p.state,
       p.order_col,
       p.value,
       p.rows_copied,
       p.rows_estimated,
       CASE WHEN p.state IN ('finished', 'skipped') THEN 100.0
            WHEN p.rows_estimated > 0
            THEN round(least(100.0, 100.0 * p.rows_copied / p.rows_estimated), 1)
       END AS percent,
       CASE WHEN p.started_at IS NOT NULL AND p.updated_at > p.started_at
            THEN round(p.rows_copied
                       / extract(epoch FROM coalesce(f.finished_at, p.updated_at) - p.started_at), 1)
       END AS rows_per_sec,
       CASE WHEN p.state = 'copying' AND p.rows_estimated > p.rows_copied
                 AND p.started_at IS NOT NULL AND p.updated_at > p.started_at
                 AND p.rows_copied > 0
            THEN make_interval(secs => round((p.rows_estimated - p.rows_copied)
                       * extract(epoch FROM p.updated_at - p.started_at) / p.rows_copied))
       END AS eta,
       p.started_at,
       p.updated_at,
       f.finished_at
  FROM ape_resume.position p
  JOIN ape_resume.task t ON t.id = p.task_id
  LEFT JOIN ape_resume.finished f
         ON f.task_id = p.task_id AND f.schema = p.schema AND f.tb = p.tb;

CREATE VIEW ape_resume.tasks AS
SELECT t.name,
       t.id,
       t.state,
       t.db_type,
       t.source_url,
       t.log_dir,
       t.owner::regrole AS owner,
       t.tables_total,
       (SELECT count(*) FROM ape_resume.finished f WHERE f.task_id = t.id)::integer
           AS tables_finished,
       (SELECT coalesce(sum(p.rows_copied), 0) FROM ape_resume.position p
         WHERE p.task_id = t.id)::bigint AS rows_copied,
       t.worker_pid,
       (SELECT count(*) FROM ape_resume.worker w WHERE w.task_id = t.id)::integer
           AS workers,
       t.created_at,
       t.started_at,
       t.finished_at,
       t.last_error
  FROM ape_resume.task t;

REVOKE ALL ON ape_resume.tasks, ape_resume.progress FROM PUBLIC;
GRANT SELECT ON ape_resume.tasks, ape_resume.progress
    TO pg_read_server_files, pg_write_server_files;

/* SQL API */
CREATE FUNCTION ape_resume.start_task(task_name text, config text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'start_task'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION ape_resume.stop_task(task_name text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'stop_task'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION ape_resume.resume_task(task_name text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'resume_task'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION ape_resume.wait_task(task_name text, timeout_s integer DEFAULT 3600)
RETURNS text
AS 'MODULE_PATHNAME', 'wait_task'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION ape_resume.drop_task(task_name text)
RETURNS void
AS 'MODULE_PATHNAME', 'drop_task'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION ape_resume.progress(task_name text)
RETURNS SETOF ape_resume.progress
AS $$ SELECT * FROM ape_resume.progress p WHERE p.task_name = $1 ORDER BY p.schema, p.tb $$
LANGUAGE sql STABLE;

CREATE FUNCTION ape_resume.load_resume_config(
    path text,
    OUT line_no integer,
    OUT tag text,
    OUT logged_at timestamptz,
    OUT type text,
    OUT db_type text,
    OUT schema text,
    OUT tb text,
    OUT order_col text,
    OUT value text,
    OUT error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'load_resume_config'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION ape_resume.parse_config(
    config text,
    task_name text DEFAULT 'task',
    OUT section text,
    OUT key text,
    OUT value text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'parse_config'
LANGUAGE C VOLATILE;

-- The dry run of a start: what each table would do, and why.  A null
-- config plans resume_task of an existing task.
CREATE FUNCTION ape_resume.resume_plan(
    task_name text,
    config text DEFAULT NULL,
    OUT schema text,
    OUT tb text,
    OUT dst_schema text,
    OUT dst_tb text,
    OUT order_col text,
    OUT action text,
    OUT value text,
    OUT decided_by text,
    OUT line_no integer,
    OUT note text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'resume_plan'
LANGUAGE C VOLATILE;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ape_resume FROM PUBLIC;
