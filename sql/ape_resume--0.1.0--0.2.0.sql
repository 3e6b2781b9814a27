/* ape_resume 0.1.0 -> 0.2.0: who sees which task, and SQL immune to the caller's search_path */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION ape_resume UPDATE TO '0.2.0'" to load this file. \quit

/*
 * A table can fail alone (its source table vanished): state 'failed' and
 * why, while the task copies the others; a resume retries it.
 */
ALTER TABLE ape_resume.position DROP CONSTRAINT position_state_check;
ALTER TABLE ape_resume.position ADD CONSTRAINT position_state_check
    CHECK (state IN ('pending', 'copying', 'finished', 'skipped', 'failed'));
ALTER TABLE ape_resume.position ADD COLUMN error text;

/*
 * The keys of a target table ape_resume created, to add when the table is
 * complete: kept with the table, not only with the task that created it,
 * so that a task started after drop_task on the same log_dir adds them.
 */
CREATE TABLE ape_resume.target_keys (
    dst_schema      text NOT NULL,          -- the target table's names
    dst_tb          text NOT NULL,
    relid           oid NOT NULL,           -- and its oid: a table of that name
                                            -- created since is not ours
    ddl             text NOT NULL,          -- ALTER TABLE ... ADD PRIMARY KEY ..., ADD UNIQUE ...
    PRIMARY KEY (dst_schema, dst_tb)
);
SELECT pg_catalog.pg_extension_config_dump('ape_resume.target_keys', '');
REVOKE ALL ON ape_resume.target_keys FROM PUBLIC;

/*
 * The views show a role its own tasks and those of the roles whose
 * privileges it has (superusers: all).  security_barrier: a function of the
 * caller's in a query on them never sees the rows filtered out.
 */
CREATE OR REPLACE VIEW ape_resume.progress WITH (security_barrier) AS
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
       f.finished_at,
       p.error
  FROM ape_resume.position p
  JOIN ape_resume.task t ON t.id = p.task_id
  LEFT JOIN ape_resume.finished f
         ON f.task_id = p.task_id AND f.schema = p.schema AND f.tb = p.tb
 WHERE pg_catalog.pg_has_role(t.owner, 'USAGE');

CREATE OR REPLACE VIEW ape_resume.tasks WITH (security_barrier) AS
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
  FROM ape_resume.task t
 WHERE pg_catalog.pg_has_role(t.owner, 'USAGE');

-- Parsed under a pinned search_path: the caller's operators never run here.
-- (CREATE OR REPLACE keeps the views' and the function's grants.)
CREATE OR REPLACE FUNCTION ape_resume.progress(task_name text)
RETURNS SETOF ape_resume.progress
AS $$ SELECT * FROM ape_resume.progress p
       WHERE p.task_name OPERATOR(pg_catalog.=) $1
       ORDER BY p.schema, p.tb $$
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp;
