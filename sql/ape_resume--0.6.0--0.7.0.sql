/* ape_resume 0.6.0 -> 0.7.0: check tasks, which compare source and target */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION ape_resume UPDATE TO '0.7.0'" to load this file. \quit

/*
 * A task copies (the tasks of before) or checks ([sinker] sink_type=check,
 * src/check.c): it reads each table at the source and at the target in key
 * order and compares them row by row.  A check's table rows are positions
 * like a copy's (rows_copied counts the rows compared), with the rows found
 * missing from the target, different, and extra (only in the target),
 * committed with the position in the transaction of each batch.
 */
ALTER TABLE ape_resume.task ADD COLUMN kind text NOT NULL DEFAULT 'copy'
    CHECK (kind IN ('copy', 'check'));
ALTER TABLE ape_resume.position ADD COLUMN rows_missing bigint NOT NULL DEFAULT 0;
ALTER TABLE ape_resume.position ADD COLUMN rows_different bigint NOT NULL DEFAULT 0;
ALTER TABLE ape_resume.position ADD COLUMN rows_extra bigint NOT NULL DEFAULT 0;
-- how a table was compared when not row by row (a table without a key)
ALTER TABLE ape_resume.position ADD COLUMN check_note text;

/*
 * The lines of a check's logs (miss.log, diff.log, extra.log, sql.log),
 * at most [checker_output] check_log_max_rows of each kind, committed with
 * the batch that found them: the files are written from here, so a resumed
 * check neither loses nor repeats a line.
 */
CREATE TABLE ape_resume.check_row (
    id              bigserial PRIMARY KEY,
    task_id         bigint NOT NULL,
    schema          text NOT NULL,          -- source names
    tb              text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('miss', 'diff', 'extra')),
    line            text NOT NULL,          -- the log line, JSON
    revise_sql      text,                   -- its repair statement (output_revise_sql)
    FOREIGN KEY (task_id, schema, tb)
        REFERENCES ape_resume.position (task_id, schema, tb) ON DELETE CASCADE
);
CREATE INDEX check_row_task ON ape_resume.check_row (task_id, kind);
SELECT pg_catalog.pg_extension_config_dump('ape_resume.check_row', '');
SELECT pg_catalog.pg_extension_config_dump('ape_resume.check_row_id_seq', '');
REVOKE ALL ON ape_resume.check_row FROM PUBLIC;

/*
 * The keys a check compared of a table whose key it cannot merge in order
 * (text under collations that differ, a Mongo _id): its source rows are
 * looked up at the target by key, batch by batch, and its extra rows are
 * the target's rows whose key is not here, found when the table ends.  A
 * key is the SHA-256 of the JSON array of its columns' texts as the target
 * prints them (any length of key fits the index); the rows of a table go
 * when it is finished.
 */
CREATE TABLE ape_resume.check_key (
    task_id         bigint NOT NULL,
    schema          text NOT NULL,
    tb              text NOT NULL,
    key             bytea NOT NULL,
    PRIMARY KEY (task_id, schema, tb, key),
    FOREIGN KEY (task_id, schema, tb)
        REFERENCES ape_resume.position (task_id, schema, tb) ON DELETE CASCADE
);
SELECT pg_catalog.pg_extension_config_dump('ape_resume.check_key', '');
REVOKE ALL ON ape_resume.check_key FROM PUBLIC;

-- new columns go at the end: CREATE OR REPLACE keeps the views' grants
CREATE OR REPLACE VIEW ape_resume.progress WITH (security_barrier) AS
SELECT t.name AS task_name,
       p.schema,
       p.tb,
       p.dst_schema,
       p.dst_tb,
       p.state,
       CASE WHEN pg_catalog.cardinality(p.key_cols) > 1
            THEN pg_catalog.array_to_json(p.key_cols)::text
            ELSE p.key_cols[1] END AS order_col,
       CASE WHEN pg_catalog.cardinality(p.key_values) > 1
            THEN pg_catalog.array_to_json(p.key_values)::text
            ELSE p.key_values[1] END AS value,
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
       p.error,
       p.chunks,
       (SELECT count(*) FROM ape_resume.chunk c
         WHERE c.task_id = p.task_id AND c.schema = p.schema AND c.tb = p.tb
           AND c.state = 'finished')::integer AS chunks_done,
       (SELECT count(*) FROM ape_resume.chunk c
         WHERE c.task_id = p.task_id AND c.schema = p.schema AND c.tb = p.tb
           AND c.worker_pid IS NOT NULL AND c.state <> 'finished')::integer AS chunks_running,
       CASE WHEN t.kind = 'check' THEN p.rows_missing END AS rows_missing,
       CASE WHEN t.kind = 'check' THEN p.rows_different END AS rows_different,
       CASE WHEN t.kind = 'check' THEN p.rows_extra END AS rows_extra,
       p.check_note
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
       t.last_error,
       t.task_id,
       (SELECT count(*) FROM ape_resume.structure s
         WHERE s.task_id = t.id AND s.state = 'failed')::integer AS structures_failed,
       (SELECT count(*) FROM ape_resume.structure s
         WHERE s.task_id = t.id AND s.state = 'not_copied')::integer AS structures_not_copied,
       t.kind,
       CASE WHEN t.kind = 'check' THEN
         (SELECT coalesce(sum(p.rows_missing), 0) FROM ape_resume.position p
           WHERE p.task_id = t.id)::bigint END AS rows_missing,
       CASE WHEN t.kind = 'check' THEN
         (SELECT coalesce(sum(p.rows_different), 0) FROM ape_resume.position p
           WHERE p.task_id = t.id)::bigint END AS rows_different,
       CASE WHEN t.kind = 'check' THEN
         (SELECT coalesce(sum(p.rows_extra), 0) FROM ape_resume.position p
           WHERE p.task_id = t.id)::bigint END AS rows_extra
  FROM ape_resume.task t
 WHERE pg_catalog.pg_has_role(t.owner, 'USAGE');
