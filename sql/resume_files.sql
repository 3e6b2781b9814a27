-- position.log / finished.log / resume.config reading: ape-dts's own files
-- return exactly their lines, and hostile input gives rows with an error.
\getenv regress_dir APE_REGRESS_DIR
SET ape_resume.work_dir = :'regress_dir';
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- a file of given bytes, written by the server (it must read it back)
CREATE FUNCTION pg_temp.put_file(name text, content bytea) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lo oid := lo_from_bytea(0, content);
BEGIN
    PERFORM lo_export(lo, current_setting('ape_regress.dir') || '/' || name);
    PERFORM lo_unlink(lo);
END $$;

-- the forms of a line: with and without timestamp and tag, None, composite
-- order_key, CRLF ending, blank lines (skipped, numbering kept)
SELECT pg_temp.put_file('forms.log', convert_to(
  E'2024-10-10 04:04:08.152044 | current_position | {"type":"RdbSnapshot","db_type":"mysql","schema":"test_db","tb":"b","order_col":"id","value":"6"}\n' ||
  E'2024-10-10 04:04:08.152181 | checkpoint_position | {"type":"None"}\n' ||
  E'\n' ||
  E'   \t \r\n' ||
  E'| current_position | {"type":"RdbSnapshot","db_type":"mysql","schema":"s","tb":"t","order_col":"id","value":"7"}\r\n' ||
  E'2024-10-10 04:04:07.8 | {"type":"RdbSnapshotFinished","db_type":"mysql","schema":"test_db","tb":"a"}\n' ||
  E'{"type":"RdbSnapshot","db_type":"pg","schema":"s","tb":"c","order_key":{"composite":[["c1","v1"],["c,2","v\\"2"]]}}\n' ||
  E'{"type":"RdbSnapshot","db_type":"mysql","schema":"s","tb":"n","order_col":"id","value":null}\n' ||
  E'{"type":"RdbSnapshot","db_type":"mysql","schema":"s","tb":"u","order_col":"id","value":"\\u00e9\\u4e2d\\ud83d\\ude00 \u00e9"}\n',
  'UTF8'));
SELECT * FROM ape_resume.load_resume_config('forms.log');

-- malformed lines: one row each with an error, and reading goes on
SELECT pg_temp.put_file('bad.log', convert_to(
  E'2024-10-10 04:04:08.152044 | current_position | "type":"RdbSnapshot","schema":"s","tb":"t","order_col":"id","value":"1"}\n' ||
  E'2024-10-10 04:04:08.152044 | current_position | {"type":"RdbSnapshot","schema":"s","tb":"t","order_col":"id","value":"1"\n' ||
  E'2024-10-10 04:04:08.152044 | current_position | {"type":"RdbSnapshot",,}\n' ||
  E'2024-10-10 04:04:08.152044 | current_position | {"type":"MysqlCdc","binlog_filename":"x"}\n' ||
  E'2024-10-10 04:04:08.152044 | current_position | {"type":"RdbSnapshot","schema":"s","tb":"t","order_col":"id","value":6}\n' ||
  E'2024-10-10 04:04:08.152044 | current_position | {"type":"RdbSnapshot","schema":"s","tb":7,"order_col":"id","value":"6"}\n' ||
  E'2024-10-10 04:04:08.152044 | current_position | {"type":"RdbSnapshot","schema":"s","tb":"t"}\n' ||
  E'2024-10-10 04:04:08.152044 | current_position | {"type":"RdbSnapshot","schema":"s","tb":"t","order_key":{"single":["id"]}}\n' ||
  E'2024-10-10 04:04:08.152044 | current_position | {"type":"RdbSnapshotFinished","tb":"t"}\n' ||
  E'2024-10-10 04:04:08.152044 | current_position | {"type":"None"} trailing\n' ||
  E'2024-13-10 04:04:08.152044 | current_position | {"type":"None"}\n' ||
  E'yesterday | {"type":"None"}\n' ||
  E'2024-10-10 04:04:08.152044 | current_position |\n' ||
  E'[1,2,3]\n' ||
  E'{"type":["RdbSnapshot"]}\n' ||
  E'{}\n' ||
  E'2024-10-10 04:04:08.152044 | {"type":"RdbSnapshotFinished","db_type":"mysql","schema":"ok","tb":"after_errors"}\n' ||
  E'2024-10-10 04:04:08.152044 | current_position | {"type":"RdbSnapshot","schema":"s","tb":"torn","order_col":"id","val',
  'UTF8'));
SELECT line_no, tag, type, schema, tb, error FROM ape_resume.load_resume_config('bad.log');

-- bytes that are not text: NUL, invalid UTF-8, deep nesting
SELECT pg_temp.put_file('bytes.log',
  convert_to(E'{"type":"None"}\n', 'UTF8') ||
  '\x7b2274797065223a224e6f6e65227d000a'::bytea ||
  convert_to(E'{"type":"RdbSnapshotFinished","schema":"', 'UTF8') || '\xc328ff'::bytea ||
  convert_to(E'","tb":"t"}\n', 'UTF8') ||
  convert_to(repeat('{"a":', 5000) || E'\n', 'UTF8') ||
  convert_to(E'{"type":"None"}\n', 'UTF8'));
SELECT line_no, type, error FROM ape_resume.load_resume_config('bytes.log');

-- \u0000 in a string would cut C text short: an error, never a shorter value
SELECT pg_temp.put_file('nul.log', convert_to(
  E'{"type":"RdbSnapshot","db_type":"mysql","schema":"s","tb":"t","order_col":"id","value":"5\\u0000junk"}\n' ||
  E'{"type":"RdbSnapshot","db_type":"mysql","schema":"s","tb":"t","order_key":{"composite":[["id\\u0000x","5"],["b","1"]]}}\n' ||
  E'{"type":"RdbSnapshot","db_type":"mysql","schema":"s","tb":"t","order_key":{"composite":[["id","5"],["b","1\\u0000"]]}}\n' ||
  E'{"type":"RdbSnapshotFinished","db_type":"mysql","schema":"s\\u0000","tb":"t"}\n', 'UTF8'));
SELECT line_no, type, schema, tb, order_col, value, error FROM ape_resume.load_resume_config('nul.log');

-- a 1 MB line: a valid one is read whole, a broken one is an error row
SELECT pg_temp.put_file('long.log', convert_to(
  '{"type":"RdbSnapshot","db_type":"mongo","schema":"s","tb":"t","order_col":"_id","value":"' ||
  repeat('x', 1048576) || E'"}\n' ||
  '{"type":"RdbSnapshot","schema":"' || repeat('y', 1048576) || E'\n' ||
  E'{"type":"None"}\n', 'UTF8'));
SELECT line_no, type, tb, length(value) AS value_length, error
  FROM ape_resume.load_resume_config('long.log');

-- an empty file has no rows
SELECT pg_temp.put_file('empty.log', ''::bytea);
SELECT count(*) FROM ape_resume.load_resume_config('empty.log');

-- a missing file, a directory: clear errors
SELECT regress_try($$SELECT * FROM ape_resume.load_resume_config('no/such/position.log')$$);
SELECT regress_try($$SELECT * FROM ape_resume.load_resume_config('peer-cases')$$);

RESET ape_resume.work_dir;
RESET timezone;
RESET datestyle;
