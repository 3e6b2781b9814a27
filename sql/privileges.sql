-- Privileges: EXECUTE is revoked from PUBLIC, starting a task takes file
-- privileges, the catalog with its passwords is hidden from users.
CREATE ROLE ape_regress_nobody;
CREATE ROLE ape_regress_reader;
CREATE ROLE ape_regress_operator;
GRANT USAGE ON SCHEMA ape_resume TO ape_regress_nobody, ape_regress_reader, ape_regress_operator;
GRANT pg_read_server_files TO ape_regress_reader;
GRANT pg_read_server_files, pg_write_server_files TO ape_regress_operator;

-- nobody: no EXECUTE at all
SET ROLE ape_regress_nobody;
SELECT regress_try($$SELECT ape_resume.start_task('t', '')$$);
SELECT regress_try($$SELECT * FROM ape_resume.load_resume_config('x')$$);
SELECT regress_try($$SELECT ape_resume.stop_task('t')$$);
SELECT regress_try($$SELECT * FROM ape_resume.task$$);
SELECT regress_try($$SELECT * FROM ape_resume.tasks$$);
RESET ROLE;

-- EXECUTE granted, but not the file privileges
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ape_resume
   TO ape_regress_nobody, ape_regress_reader, ape_regress_operator;
SET ROLE ape_regress_nobody;
SELECT regress_try($$SELECT ape_resume.start_task('t', '[extractor]
db_type=mysql
url=mysql://u:pw@127.0.0.1:1
[filter]
do_dbs=d')$$);
SELECT regress_try($$SELECT * FROM ape_resume.load_resume_config('x')$$);
RESET ROLE;

-- read privilege only: may read resume files, may not start tasks
SET ROLE ape_regress_reader;
SELECT regress_try($$SELECT ape_resume.start_task('t', '[extractor]
db_type=mysql
url=mysql://u:pw@127.0.0.1:1
[filter]
do_dbs=d')$$);
SELECT regress_try($$SELECT ape_resume.resume_task('t')$$);
SELECT regress_try($$SELECT * FROM ape_resume.load_resume_config(current_setting('ape_regress.dir') || '/no-such-file')$$);
RESET ROLE;

-- an operator reaches start_task's config check, not a privilege error
SET ROLE ape_regress_operator;
SELECT regress_try($$SELECT ape_resume.start_task('t', '[extractor]
db_type=mysql')$$);
SELECT regress_try($$SELECT * FROM ape_resume.task$$);
SELECT count(*) FROM ape_resume.tasks;
RESET ROLE;

-- managing somebody else's task is refused
INSERT INTO ape_resume.task (name, config, db_type, source_url, log_dir, owner, database, state)
VALUES ('someone_elses', '[extractor]', 'mysql', 'mysql://u:*****@h', '/tmp/x',
        'ape_regress_reader'::regrole, 0, 'stopped');
SET ROLE ape_regress_operator;
SELECT regress_try($$SELECT ape_resume.drop_task('someone_elses')$$);
SELECT regress_try($$SELECT ape_resume.stop_task('someone_elses')$$);
SELECT regress_try($$SELECT ape_resume.wait_task('someone_elses', 0)$$);
SELECT regress_try($$SELECT ape_resume.drop_task('no_such_task')$$);
RESET ROLE;
SELECT ape_resume.wait_task('someone_elses', 0);
SELECT ape_resume.stop_task('someone_elses');
SELECT ape_resume.drop_task('someone_elses');
SELECT count(*) FROM ape_resume.task;

REVOKE ALL ON SCHEMA ape_resume FROM ape_regress_nobody, ape_regress_reader, ape_regress_operator;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ape_resume
  FROM ape_regress_nobody, ape_regress_reader, ape_regress_operator;
DROP ROLE ape_regress_nobody, ape_regress_reader, ape_regress_operator;
