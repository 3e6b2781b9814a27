/* ape_resume 0.3.0 -> 0.4.0: ape-dts's [global] task_id, table definitions */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION ape_resume UPDATE TO '0.4.0'" to load this file. \quit

/*
 * The [global] task_id of the task's config (ape-dts's identity of a task
 * for its stored positions), NULL when the config has none.  Tasks of
 * 0.3.0 have none.
 */
ALTER TABLE ape_resume.task ADD COLUMN task_id text;

/*
 * The name of the task that took this one up: resumed from its catalog
 * positions (by task_id, or as the last writer of the log dir resumed
 * from).  Such a task may not resume any more: its target holds rows
 * copied after its own positions.
 */
ALTER TABLE ape_resume.task ADD COLUMN taken_up_by text;

/*
 * What made the rows of a table's copy: source server and database,
 * where_conditions, ignore_cols, col_map, target table (see resume.h).  A
 * resume under a config that changes any of it is refused.  NULL for the
 * tables of 0.3.0: not known, not checked.
 */
ALTER TABLE ape_resume.position ADD COLUMN definition text[];
ALTER TABLE ape_resume.position ADD CONSTRAINT position_definition_check
    CHECK (definition IS NULL OR pg_catalog.cardinality(definition) = 5);

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
       t.task_id
  FROM ape_resume.task t
 WHERE pg_catalog.pg_has_role(t.owner, 'USAGE');
