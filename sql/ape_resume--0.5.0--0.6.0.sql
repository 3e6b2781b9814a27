/* ape_resume 0.5.0 -> 0.6.0: one big table, many workers (key-range chunks) */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION ape_resume UPDATE TO '0.6.0'" to load this file. \quit

/*
 * A table above [extractor] split_tables_larger_than, with parallel_type=
 * chunk, is cut into key ranges on the first column of its order key (see
 * src/chunk.c).  Its position row says how many (chunks) and keeps, as
 * key_values, the table's low watermark: the highest position at or below
 * which every chunk is committed (what position.log gets).  Each chunk is a
 * unit of work like a table: claimed by one worker (worker_pid), its rows
 * and its own position committed in one transaction, resumed on its own.
 * lo, hi: the chunk holds the rows whose first key column is >= lo and < hi
 * (NULL: no bound), values as positions hold them.  The boundaries are
 * chosen once, when the table is planned, so a resume uses the same chunks.
 */
ALTER TABLE ape_resume.position ADD COLUMN chunks integer CHECK (chunks > 0);

CREATE TABLE ape_resume.chunk (
    task_id         bigint NOT NULL,
    schema          text NOT NULL,          -- source names
    tb              text NOT NULL,
    chunk           integer NOT NULL CHECK (chunk > 0),   -- 1 .. chunks, in key order
    lo              text,
    hi              text,
    key_values      text[],                 -- the last committed position in the chunk
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'copying', 'finished')),
    worker_pid      integer,                -- the worker copying it now
    rows_copied     bigint NOT NULL DEFAULT 0,
    rows_estimated  bigint,
    started_at      timestamptz,
    updated_at      timestamptz,
    PRIMARY KEY (task_id, schema, tb, chunk),
    FOREIGN KEY (task_id, schema, tb)
        REFERENCES ape_resume.position (task_id, schema, tb) ON DELETE CASCADE
);
SELECT pg_catalog.pg_extension_config_dump('ape_resume.chunk', '');
REVOKE ALL ON ape_resume.chunk FROM PUBLIC;

CREATE VIEW ape_resume.chunks WITH (security_barrier) AS
SELECT t.name AS task_name,
       c.schema,
       c.tb,
       c.chunk,
       p.chunks,
       c.lo,
       c.hi,
       c.state,
       CASE WHEN pg_catalog.cardinality(c.key_values) > 1
            THEN pg_catalog.array_to_json(c.key_values)::text
            ELSE c.key_values[1] END AS value,
       c.rows_copied,
       c.rows_estimated,
       c.worker_pid,
       c.started_at,
       c.updated_at
  FROM ape_resume.chunk c
  JOIN ape_resume.position p
    ON p.task_id = c.task_id AND p.schema = c.schema AND p.tb = c.tb
  JOIN ape_resume.task t ON t.id = c.task_id
 WHERE pg_catalog.pg_has_role(t.owner, 'USAGE');

REVOKE ALL ON ape_resume.chunks FROM PUBLIC;
GRANT SELECT ON ape_resume.chunks TO pg_read_server_files, pg_write_server_files;

/*
 * progress: a chunked table's rows, percent, rate and ETA are over its
 * chunks (the position row sums them), and it says how many chunks there
 * are, are done and are being copied.  New columns go at the end:
 * CREATE OR REPLACE keeps the view's grants.
 */
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
           AND c.worker_pid IS NOT NULL AND c.state <> 'finished')::integer AS chunks_running
  FROM ape_resume.position p
  JOIN ape_resume.task t ON t.id = p.task_id
  LEFT JOIN ape_resume.finished f
         ON f.task_id = p.task_id AND f.schema = p.schema AND f.tb = p.tb
 WHERE pg_catalog.pg_has_role(t.owner, 'USAGE');
