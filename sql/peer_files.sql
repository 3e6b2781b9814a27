-- ape-dts's own resume files, returned exactly line by line.  Run by
-- test/run_tests.sh when the ape-dts peer cases are present (it copies
-- them under the test dir).
\getenv regress_dir APE_REGRESS_DIR
SET ape_resume.work_dir = :'regress_dir';
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

SELECT * FROM ape_resume.load_resume_config('peer-cases/mysql_resume_test/resume.config');
SELECT * FROM ape_resume.load_resume_config('peer-cases/mysql_resume_test/resume_logs/position.log');
SELECT * FROM ape_resume.load_resume_config('peer-cases/mysql_resume_test/resume_logs/finished.log');
SELECT * FROM ape_resume.load_resume_config('peer-cases/pg_resume_test/resume.config');
SELECT * FROM ape_resume.load_resume_config('peer-cases/pg_resume_test/resume_logs/position.log');
SELECT * FROM ape_resume.load_resume_config('peer-cases/pg_resume_test/resume_logs/finished.log');
SELECT * FROM ape_resume.load_resume_config('peer-cases/mongo_resume_log_test/resume.config');
SELECT * FROM ape_resume.load_resume_config('peer-cases/mongo_resume_log_test/resume_logs/position.log');
SELECT * FROM ape_resume.load_resume_config('peer-cases/mongo_resume_log_test/resume_logs/finished.log');
