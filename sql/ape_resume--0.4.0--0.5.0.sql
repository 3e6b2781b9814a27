/* ape_resume 0.4.0 -> 0.5.0: the structures after the data */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION ape_resume UPDATE TO '0.5.0'" to load this file. \quit

/*
 * The rest of the schema of the tables a task creates: secondary indexes,
 * foreign keys, checks, defaults, identities, sequences, comments (see
 * src/structure.c).  One row an object, planned in the transaction that
 * creates its target table, and created in a transaction of its own that
 * also moves its row to 'done': so a resume creates what is missing and
 * never runs an object twice.  Objects ape_resume cannot recreate (views,
 * triggers, routines, events, grants, what does not translate) are rows
 * in state 'not_copied' with the reason in error.
 *
 * phase: 1 when its table is finished (in that table's worker), 2 when the
 * table it references (ref_schema, ref_tb) is finished too, 3 when every
 * table of the task is.
 * args: what the object needs when it is created (an identity: its column
 * and the source's next value; a sequence: its last_value and is_called).
 */
CREATE TABLE ape_resume.structure (
    id              bigserial PRIMARY KEY,
    task_id         bigint NOT NULL REFERENCES ape_resume.task (id) ON DELETE CASCADE,
    schema          text NOT NULL,          -- source names
    tb              text,                   -- NULL: an object of the schema (a view, a routine)
    dst_schema      text,                   -- target names
    dst_tb          text,
    kind            text NOT NULL,
    name            text NOT NULL,
    phase           smallint NOT NULL DEFAULT 1 CHECK (phase IN (1, 2, 3)),
    ref_schema      text,                   -- a foreign key's referenced table (source names)
    ref_tb          text,
    ddl             text,
    args            text[],
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'done', 'failed', 'not_copied')),
    error           text,
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE NULLS NOT DISTINCT (task_id, schema, tb, kind, name)
);
CREATE INDEX structure_pending ON ape_resume.structure (task_id, phase)
    WHERE state = 'pending';
SELECT pg_catalog.pg_extension_config_dump('ape_resume.structure', '');
SELECT pg_catalog.pg_extension_config_dump('ape_resume.structure_id_seq', '');
REVOKE ALL ON ape_resume.structure FROM PUBLIC;

CREATE VIEW ape_resume.structures WITH (security_barrier) AS
SELECT t.name AS task_name,
       s.schema,
       s.tb,
       s.dst_schema,
       s.dst_tb,
       s.kind,
       s.name,
       s.phase,
       s.state,
       s.ddl,
       s.error,
       s.updated_at
  FROM ape_resume.structure s
  JOIN ape_resume.task t ON t.id = s.task_id
 WHERE pg_catalog.pg_has_role(t.owner, 'USAGE');

REVOKE ALL ON ape_resume.structures FROM PUBLIC;
GRANT SELECT ON ape_resume.structures TO pg_read_server_files, pg_write_server_files;

-- a new column goes at the end: CREATE OR REPLACE keeps the view's grants
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
       t.last_error,
       t.task_id,
       (SELECT count(*) FROM ape_resume.structure s
         WHERE s.task_id = t.id AND s.state = 'failed')::integer AS structures_failed,
       (SELECT count(*) FROM ape_resume.structure s
         WHERE s.task_id = t.id AND s.state = 'not_copied')::integer AS structures_not_copied
  FROM ape_resume.task t
 WHERE pg_catalog.pg_has_role(t.owner, 'USAGE');

/*
 * resume_plan also lists the objects after the data (kind, name, ddl; a
 * table's own row has kind 'table').  New result columns need a new
 * function: the EXECUTE grants of the old one are carried over.
 */
DO $$
DECLARE
    acl aclitem[];
    g record;
BEGIN
    SELECT p.proacl INTO acl FROM pg_catalog.pg_proc p
     WHERE p.oid = 'ape_resume.resume_plan(text, text)'::pg_catalog.regprocedure;

    DROP FUNCTION ape_resume.resume_plan(text, text);

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
        OUT note text,
        OUT kind text,
        OUT name text,
        OUT ddl text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'resume_plan'
    LANGUAGE C VOLATILE;

    REVOKE EXECUTE ON FUNCTION ape_resume.resume_plan(text, text) FROM PUBLIC;
    FOR g IN SELECT a.grantee, a.is_grantable
               FROM pg_catalog.aclexplode(acl) a
              WHERE a.privilege_type = 'EXECUTE'
                AND a.grantee <> (SELECT p.proowner FROM pg_catalog.pg_proc p
                                   WHERE p.oid = 'ape_resume.resume_plan(text, text)'::pg_catalog.regprocedure)
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION ape_resume.resume_plan(text, text) TO %s%s',
                                  CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END,
                                  CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
END
$$;
