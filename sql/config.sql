-- Task config parsing: ape-dts task_config.ini text, both generations of
-- [resumer] keys, errors naming section and key, notices for unknown keys.
SET ape_resume.work_dir = '/srv/ape_work';

-- a full config: effective settings, password masked, paths resolved
SELECT section, key, value FROM ape_resume.parse_config($$
[extractor]
db_type=mysql
extract_type=snapshot
url=mysql://ape:s3cret@127.0.0.1:3306/?ssl-mode=disabled
batch_size=500

[sinker]
db_type=mysql
sink_type=write
url=mysql://root:sinkpw@127.0.0.1:3307
batch_size=2

[filter]
do_dbs=
ignore_dbs=
do_tbs=test_db_1.*,`test_db_@`.*
ignore_tbs=`test_db_@`.`a``b`
do_events=insert

[router]
db_map=test_db_1:target_1
tb_map=
col_map=

[parallelizer]
parallel_type=snapshot
parallel_size=2

[pipeline]
buffer_size=4
checkpoint_interval_secs=1

[runtime]
log_level=info
log4rs_file=./log4rs.yaml
log_dir=./logs

[resumer]
resume_from_log=true
resume_log_dir=./resume_logs
resume_config_file=./resume.config
$$, 'peer_mysql');

-- the newer [resumer] keys, CRLF line endings, comments, defaults
SELECT section, key, value FROM ape_resume.parse_config(
  E'# a comment\r\n[extractor]\r\ndb_type = mongo\r\nurl = mongodb://127.0.0.1:27017\r\n' ||
  E'[filter]\r\ndo_dbs = test_db_1\r\n; another comment\r\n' ||
  E'[resumer]\r\nresume_type = from_log\r\nlog_dir = /abs/resume_logs\r\nconfig_file = cfg/resume.config\r\n',
  'mongo_task')
WHERE section IN ('extractor', 'filter', 'resumer', 'runtime', 'sinker', 'pipeline', 'parallelizer');

-- pg: double quotes make a literal name
SELECT value FROM ape_resume.parse_config($$
[extractor]
db_type=pg
url=postgres://u:pw@h:5432/db
[filter]
do_tbs=public.resume_table_*,"test_db_*.*".*
$$) WHERE key = 'do_tbs';

-- passwords are masked wherever the userinfo ends
SELECT value FROM ape_resume.parse_config($$
[extractor]
db_type=mysql
url=mysql://user:p@ss:w/rd@db.example:3306?x=@y
[filter]
do_dbs=*
$$) WHERE key = 'url';

-- a '?' in the password does not end the userinfo
SELECT value FROM ape_resume.parse_config($$
[extractor]
db_type=pg
url=postgres://u:pa?ss@h/db?x=@y
[filter]
do_dbs=*
$$) WHERE key = 'url';

SELECT value FROM ape_resume.parse_config($$
[extractor]
db_type=pg
url=postgres://h:5432/db?user=a@b&password=secret
[filter]
do_dbs=*
$$) WHERE key = 'url';
SELECT value FROM ape_resume.parse_config($$
[extractor]
db_type=pg
url=postgres://us?er@h/db?password=secret
[filter]
do_dbs=*
$$) WHERE key = 'url';

-- every secret of the query string is masked, its key percent-encoded or not
SELECT value FROM ape_resume.parse_config($$
[extractor]
db_type=pg
url=postgres://u@h/db?sslmode=require&sslpassword=keypw&%70assword=pw2&PassWord=pw3&passwordx=shown
[filter]
do_dbs=*
$$) WHERE key = 'url';
SELECT value FROM ape_resume.parse_config($$
[extractor]
db_type=mongo
url=mongodb://u:pw@h:27017/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:tok&tlsCertificateKeyFilePassword=kp
[filter]
do_dbs=*
$$) WHERE key = 'url';

-- a key set twice: the later line wins, with a notice
SELECT value FROM ape_resume.parse_config($$
[extractor]
db_type=mysql
url=mysql://a@h
batch_size=10
batch_size=20
[filter]
do_dbs=d
$$) WHERE key = 'batch_size' AND section = 'extractor';

-- unknown keys and sections: a notice each, nothing else
SELECT count(*) FROM ape_resume.parse_config($$
[extractor]
db_type=mysql
url=mysql://a@h
colour=blue
[filter]
do_dbs=d
[metacenter]
type=basic
$$);

-- errors: each names the section and key, or the line
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
url=mysql://a@h')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=oracle
url=x')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
[filter]
do_dbs=d')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=postgres://a@h
[filter]
do_dbs=d')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
batch_size=abc
[filter]
do_dbs=d')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
batch_size=0
[filter]
do_dbs=d')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
extract_type=cdc
[filter]
do_dbs=d')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
[filter]
do_dbs=d
[resumer]
resume_from_log=maybe')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
[filter]
do_dbs=d
[resumer]
resume_type=from_target')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
[filter]
do_dbs=d
[parallelizer]
parallel_size=-1')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
[filter]
do_dbs=d
[pipeline]
checkpoint_interval_secs=1e3')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
[filter]
do_dbs=d
[runtime]
log_level=loud')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
[filter]
do_tbs=`test_db_@.*')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
[filter]
do_tbs=db_only')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
[filter]
do_dbs=a.b')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
[filter]
do_tbs=a.b,,c.d')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
[filter]
do_dbs=d
[router]
col_map=d.t.a:d.t.b')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
[filter]
do_dbs=d
[router]
db_map=d*:x')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
[filter]
do_dbs=d
[router]
tb_map=d.t')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('db_type=mysql')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor
db_type=mysql')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
just some words')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
[filter]
do_dbs=d', 'a/b')$$);
SELECT regress_try($$SELECT * FROM ape_resume.parse_config('[extractor]
db_type=mysql
url=mysql://a@h
[filter]
do_dbs=d', '')$$);

-- a value longer than a line limit of common ini libraries is kept whole
SELECT length(value) FROM ape_resume.parse_config(
  E'[extractor]\ndb_type=mysql\nurl=mysql://a@h\n[filter]\ndo_tbs=' ||
  (SELECT string_agg('db.table_' || i, ',') FROM generate_series(1, 100) i))
WHERE key = 'do_tbs';

-- start_task validates the config before anything is recorded
SELECT regress_try($$SELECT ape_resume.start_task('bad', '[extractor]
db_type=mysql')$$);
SELECT regress_try($$SELECT ape_resume.start_task('bad', '[extractor]
db_type=mysql
url=mysql://ape:hunter2@h
batch_size=x
[filter]
do_dbs=d')$$);
SELECT count(*) AS tasks_recorded FROM ape_resume.task;

RESET ape_resume.work_dir;
