/* ape_resume 0.2.0 -> 0.3.0: positions on composite order keys */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION ape_resume UPDATE TO '0.3.0'" to load this file. \quit

/*
 * A table's order key may have several columns: its names and a
 * position's values become arrays, one element a key column, in key order.
 * A single-column key is an array of one; the rows of 0.2.0 are carried
 * over as such.
 */
ALTER TABLE ape_resume.position ADD COLUMN key_cols text[];
ALTER TABLE ape_resume.position ADD COLUMN key_values text[];
UPDATE ape_resume.position
   SET key_cols = CASE WHEN order_col IS NOT NULL THEN ARRAY[order_col] END,
       key_values = CASE WHEN order_col IS NOT NULL AND value IS NOT NULL
                         THEN ARRAY[value] END;
ALTER TABLE ape_resume.position ADD CONSTRAINT position_key_values_check
    CHECK (key_values IS NULL OR
           (key_cols IS NOT NULL AND
            pg_catalog.cardinality(key_values) = pg_catalog.cardinality(key_cols)));

/*
 * progress keeps its columns: order_col and value show a single-column key
 * as its name and value, a composite one as JSON arrays (as
 * load_resume_config shows an order_key line).  Replaced before the old
 * columns go, so that the view, its grants and progress(text) stay.
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
       p.error
  FROM ape_resume.position p
  JOIN ape_resume.task t ON t.id = p.task_id
  LEFT JOIN ape_resume.finished f
         ON f.task_id = p.task_id AND f.schema = p.schema AND f.tb = p.tb
 WHERE pg_catalog.pg_has_role(t.owner, 'USAGE');

ALTER TABLE ape_resume.position DROP COLUMN order_col;
ALTER TABLE ape_resume.position DROP COLUMN value;
