"""The worker writes as the role that started the task: a table that role
cannot write fails the task on that table, and the tables it can write are
copied.  Workers show up in pg_stat_activity with a readable name, and the
password shows up nowhere."""
import os
import shutil
import time

import psycopg2
import pytest

from conftest import connect_local, env, wait_state, drop_task_if_exists

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


def appname_source(mysql_admin, rows):
    with mysql_admin.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS it_appname")
        cur.execute("CREATE DATABASE it_appname")
        cur.execute("USE it_appname")
        cur.execute("CREATE TABLE big (id int PRIMARY KEY, v varchar(20))")
        cur.execute(f"INSERT INTO big SELECT seq, concat('v', seq) FROM seq_1_to_{rows}")


def appname_target(local, trigger_body, row_level=False):
    """The target table made in advance, with a trigger that slows the copy
    down (so that a test can watch it mid-table however fast the machine
    is) and may hold it at a gate (opened by a row in it_appname.gate)."""
    with local.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS it_appname CASCADE; CREATE SCHEMA it_appname")
        cur.execute("CREATE TABLE it_appname.big (id int, v varchar(20))")
        cur.execute("CREATE TABLE it_appname.gate (open boolean)")
        cur.execute("CREATE FUNCTION it_appname.slow() RETURNS trigger LANGUAGE plpgsql"
                    f" AS $$BEGIN {trigger_body} END$$")
        level = "BEFORE INSERT ON it_appname.big FOR EACH ROW" if row_level \
            else "AFTER INSERT ON it_appname.big FOR EACH STATEMENT"
        cur.execute(f"CREATE TRIGGER slow {level} EXECUTE FUNCTION it_appname.slow()")


def appname_task(local, batch, interval=10):
    log_dir = os.path.join(env("APE_SHARED_DIR"), "it_appname")
    shutil.rmtree(log_dir, ignore_errors=True)
    os.makedirs(log_dir)
    os.chmod(log_dir, 0o777)
    drop_task_if_exists(local, "it_appname")
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task('it_appname', %s)", (f"""
[extractor]
db_type=mysql
url={env('APE_MYSQL_URL')}
[sinker]
batch_size={batch}
[pipeline]
checkpoint_interval_secs={interval}
[filter]
do_dbs=it_appname
[runtime]
log_dir={log_dir}
""",))


def wait_appname(cur, want, deadline_s=60):
    seen = set()
    deadline = time.time() + deadline_s
    while time.time() < deadline and want not in seen:
        cur.execute("SELECT application_name FROM pg_stat_activity "
                    "WHERE backend_type = 'ape_resume task'")
        seen |= {r[0] for r in cur.fetchall()}
        time.sleep(0.005)
    assert want in seen, seen


def test_workers_have_a_readable_application_name_and_live_progress(local, mysql_admin):
    appname_source(mysql_admin, 300000)
    # 3,000 batches of 100 rows, each 1 ms slower: 3 s at least
    appname_target(local, "PERFORM pg_sleep(0.001); RETURN NULL;")
    appname_task(local, 100)
    with local.cursor() as cur:
        wait_appname(cur, "ape_resume it_appname it_appname.big")
        live = None
        deadline = time.time() + 60
        while live is None and time.time() < deadline:
            cur.execute("SELECT percent, rows_per_sec, eta FROM ape_resume.progress('it_appname') "
                        "WHERE state = 'copying' AND rows_copied > 1000")
            live = cur.fetchone()
            time.sleep(0.005)
        assert live is not None
        percent, rate, eta = live
        assert 0 < percent < 100 and rate > 0 and eta is not None
        assert wait_state(local, "it_appname", 120) == "finished"
        cur.execute("SELECT count(*), count(DISTINCT id) FROM it_appname.big")
        assert cur.fetchone() == (300000, 300000)


def copy_in_progress(cur):
    cur.execute("SELECT max(tuples_processed) FROM pg_stat_progress_copy p "
                "JOIN pg_stat_activity a USING (pid) WHERE a.backend_type = 'ape_resume task'")
    return cur.fetchone()[0]


def test_stop_ends_the_batch_in_flight(local, mysql_admin):
    """With a batch bigger than the table and no time limit, only the stop
    signal can end the batch early: the task stops mid-table, with what it
    read committed, and resumes to an exact copy.  The stop request commits
    a while after stop_task returns: the worker must neither act on it
    before it is visible (and then lose it) nor miss it.  A gate on the
    target holds the worker at row 1000; it is opened while the stop_task
    transaction is still open; the rest of the table is slowed down (1 ms
    every 20 rows: 5 s at least), so the copy cannot end by itself first."""
    rows = 100000
    appname_source(mysql_admin, rows)
    appname_target(local, """
        IF NEW.id = 1000 THEN
            WHILE NOT EXISTS (SELECT 1 FROM it_appname.gate) LOOP
                PERFORM pg_sleep(0.01);
            END LOOP;
        END IF;
        IF NEW.id % 20 = 0 THEN PERFORM pg_sleep(0.001); END IF;
        RETURN NEW;""", row_level=True)
    appname_task(local, 100000000, interval=86400)
    with local.cursor() as cur:
        deadline = time.time() + 60
        while copy_in_progress(cur) != 999:  # single-row inserts: progress a row
            assert time.time() < deadline, "the worker did not reach the gate"
            time.sleep(0.01)
        stopper = connect_local()
        try:
            stopper.autocommit = False
            with stopper.cursor() as scur:
                scur.execute("SELECT ape_resume.stop_task('it_appname')")
                assert scur.fetchone()[0] is True
                cur.execute("INSERT INTO it_appname.gate VALUES (true)")
                time.sleep(0.3)
                # the batch went on past the gate: the stop is not seen yet
                assert copy_in_progress(cur) > 1000, "the batch ended before the stop committed"
                cur.execute("SELECT state FROM ape_resume.tasks WHERE name = 'it_appname'")
                assert cur.fetchone()[0] == "running"
            stopper.commit()
        finally:
            stopper.close()
        assert wait_state(local, "it_appname", 120) == "stopped"
        cur.execute("SELECT rows_copied, value FROM ape_resume.progress('it_appname')")
        n, value = cur.fetchone()
        assert 1000 < n < rows and int(value) == n
        cur.execute("SELECT count(*), max(id) FROM it_appname.big")
        assert cur.fetchone() == (n, n)
        cur.execute("DROP TRIGGER slow ON it_appname.big")
        cur.execute("SELECT ape_resume.resume_task('it_appname')")
        assert wait_state(local, "it_appname", 120) == "finished"
        cur.execute("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM it_appname.big")
        assert cur.fetchone() == (rows, rows, 1, rows)
