"""The worker writes as the role that started the task: a table that role
cannot write fails the task on that table, and the tables it can write are
copied.  Workers show up in pg_stat_activity with a readable name, and the
password shows up nowhere."""
import os
import shutil
import time

import psycopg2
import pytest

from conftest import env, wait_state, drop_task_if_exists

DB = "it_priv"
ROLE = "ape_it_limited"


@pytest.fixture
def limited(local, mysql_admin):
    with mysql_admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB}")
        cur.execute(f"CREATE DATABASE {DB}")
        cur.execute(f"CREATE TABLE {DB}.t1 (id int PRIMARY KEY, v text)")
        cur.execute(f"INSERT INTO {DB}.t1 VALUES (1, 'one'), (2, 'two'), (3, 'three')")
        cur.execute(f"CREATE TABLE {DB}.t2 (id int PRIMARY KEY, v text)")
        cur.execute(f"INSERT INTO {DB}.t2 VALUES (1, 'secret row')")
    with local.cursor() as cur:
        drop_task_if_exists(local, "it_priv")
        cur.execute(f"DROP SCHEMA IF EXISTS {DB} CASCADE")
        cur.execute(f"DROP ROLE IF EXISTS {ROLE}")
        cur.execute(f"CREATE ROLE {ROLE} LOGIN IN ROLE pg_read_server_files, pg_write_server_files")
        cur.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ape_resume TO {ROLE}")
        cur.execute(f"GRANT USAGE ON SCHEMA ape_resume TO {ROLE}")
        cur.execute(f"CREATE SCHEMA {DB}")
        cur.execute(f"GRANT USAGE ON SCHEMA {DB} TO {ROLE}")
        cur.execute(f"CREATE TABLE {DB}.t1 (id int PRIMARY KEY, v text)")
        cur.execute(f"CREATE TABLE {DB}.t2 (id int PRIMARY KEY, v text)")
        cur.execute(f"GRANT SELECT, INSERT ON {DB}.t1 TO {ROLE}")
        cur.execute(f"GRANT SELECT ON {DB}.t2 TO {ROLE}")
    conn = psycopg2.connect(host=env("PGHOST"), port=env("PGPORT"), user=ROLE,
                            dbname=env("PGDATABASE"))
    conn.autocommit = True
    yield conn
    conn.close()
    with local.cursor() as cur:
        drop_task_if_exists(local, "it_priv")
        cur.execute(f"DROP SCHEMA IF EXISTS {DB} CASCADE")
        cur.execute(f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ape_resume FROM {ROLE}")
        cur.execute(f"REVOKE ALL ON SCHEMA ape_resume FROM {ROLE}")
        cur.execute(f"DROP ROLE IF EXISTS {ROLE}")


def test_worker_writes_as_the_role_that_started_it(local, limited):
    log_dir = os.path.join(env("APE_SHARED_DIR"), "it_priv")
    shutil.rmtree(log_dir, ignore_errors=True)
    os.makedirs(log_dir)
    os.chmod(log_dir, 0o777)
    url = env("APE_MYSQL_URL")
    with limited.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task('it_priv', %s)", (f"""
[extractor]
db_type=mysql
url={url}
[filter]
do_tbs={DB}.t1,{DB}.t2
[runtime]
log_dir={log_dir}
""",))
        assert wait_state(limited, "it_priv", 60) == "failed"
        cur.execute("SELECT last_error, source_url FROM ape_resume.tasks WHERE name = 'it_priv'")
        error, source_url = cur.fetchone()
    assert "permission denied for table t2" in error, error
    assert "mysql_secret_pw" not in source_url and "*****" in source_url
    with local.cursor() as cur:
        cur.execute(f"SELECT id, v FROM {DB}.t1 ORDER BY id")
        assert cur.fetchall() == [(1, "one"), (2, "two"), (3, "three")]
        cur.execute(f"SELECT count(*) FROM {DB}.t2")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT tb, state FROM ape_resume.progress('it_priv') ORDER BY tb")
        assert cur.fetchall() == [("t1", "finished"), ("t2", "copying")]
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    assert "task it_priv failed: permission denied for table t2" in default
    assert "mysql_secret_pw" not in default
    with open(os.path.join(env("APE_TESTBED"), "local", "server.log"), errors="replace") as f:
        assert "mysql_secret_pw" not in f.read()


def test_workers_have_a_readable_application_name(local, mysql_admin):
    with mysql_admin.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS it_appname")
        cur.execute("CREATE DATABASE it_appname")
        cur.execute("USE it_appname")
        cur.execute("CREATE TABLE big (id int PRIMARY KEY, v varchar(20))")
        cur.execute("INSERT INTO big SELECT seq, concat('v', seq) FROM seq_1_to_300000")
    log_dir = os.path.join(env("APE_SHARED_DIR"), "it_appname")
    shutil.rmtree(log_dir, ignore_errors=True)
    os.makedirs(log_dir)
    os.chmod(log_dir, 0o777)
    drop_task_if_exists(local, "it_appname")
    with local.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS it_appname CASCADE")
        cur.execute("SELECT ape_resume.start_task('it_appname', %s)", (f"""
[extractor]
db_type=mysql
url={env('APE_MYSQL_URL')}
[sinker]
batch_size=100
[filter]
do_dbs=it_appname
[runtime]
log_dir={log_dir}
""",))
        seen = set()
        deadline = time.time() + 30
        while time.time() < deadline:
            cur.execute("SELECT application_name FROM pg_stat_activity "
                        "WHERE backend_type = 'ape_resume task'")
            seen |= {r[0] for r in cur.fetchall()}
            cur.execute("SELECT percent, rows_per_sec, eta FROM ape_resume.progress('it_appname') "
                        "WHERE state = 'copying' AND rows_copied > 1000")
            live = cur.fetchone()
            if "ape_resume it_appname it_appname.big" in seen and live:
                break
            time.sleep(0.01)
        assert "ape_resume it_appname it_appname.big" in seen, seen
        percent, rate, eta = live
        assert 0 < percent < 100 and rate > 0 and eta is not None
        # stop_task takes effect within a second or two
        t0 = time.time()
        cur.execute("SELECT ape_resume.stop_task('it_appname')")
        assert wait_state(local, "it_appname", 10) == "stopped"
        assert time.time() - t0 < 2.0
        cur.execute("SELECT ape_resume.resume_task('it_appname')")
        assert wait_state(local, "it_appname", 120) == "finished"
        cur.execute("SELECT count(*), count(DISTINCT id) FROM it_appname.big")
        assert cur.fetchone() == (300000, 300000)
