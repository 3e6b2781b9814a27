"""Crash suite: a multi-table MySQL source of 590,000 rows copied with two
workers, interrupted in every way a server can be, and compared row by row
after each scenario.  The catalog, position.log and finished.log must agree
with the data at the end.

Target tables are created beforehand WITHOUT keys, so a row copied twice
would show as a duplicate.
"""
import os
import random
import shutil
import signal
import subprocess
import time

import psycopg2
import pytest

from conftest import REPO, connect_local, env, wait_state, drop_task_if_exists

DB = "it_crash"
SIZES = {"a": 500000, "b": 60000, "c": 30000}
TESTBED = os.environ.get("APE_TESTBED", "")


def run_testbed(*args):
    subprocess.run(["bash", os.path.join(REPO, "test", "testbed.sh"), *args], check=True,
                   capture_output=True)


@pytest.fixture(scope="module")
def source():
    import pymysql
    conn = pymysql.connect(host="127.0.0.1", port=int(env("APE_MYSQL_PORT")), user="ape",
                           password="mysql_secret_pw", charset="utf8mb4", autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB}")
        cur.execute(f"CREATE DATABASE {DB}")
        cur.execute(f"USE {DB}")
        cur.execute("CREATE TABLE a (id int PRIMARY KEY, v varchar(40) NOT NULL, n bigint NULL)")
        cur.execute(f"INSERT INTO a SELECT seq, concat('a', seq), IF(seq % 9 = 0, NULL, seq * 3) "
                    f"FROM seq_1_to_{SIZES['a']}")
        cur.execute("CREATE TABLE b (k varchar(20) PRIMARY KEY, x int NOT NULL)")
        cur.execute(f"INSERT INTO b SELECT concat('k', lpad(seq, 7, '0')), seq FROM seq_1_to_{SIZES['b']}")
        cur.execute("CREATE TABLE c (id bigint PRIMARY KEY, t text)")
        cur.execute(f"INSERT INTO c SELECT seq * 1000000007, repeat(char(65 + seq % 26), seq % 50) "
                    f"FROM seq_1_to_{SIZES['c']}")
    rows = {}
    with conn.cursor() as cur:
        cur.execute(f"SELECT id, v, n FROM {DB}.a ORDER BY id")
        rows["a"] = [tuple(r) for r in cur.fetchall()]
        cur.execute(f"SELECT k, x FROM {DB}.b ORDER BY k")
        rows["b"] = [tuple(r) for r in cur.fetchall()]
        cur.execute(f"SELECT id, t FROM {DB}.c ORDER BY id")
        rows["c"] = [tuple(r) for r in cur.fetchall()]
    conn.close()
    return rows


def fresh(name, batch=500):
    conn = connect_local()
    drop_task_if_exists(conn, name)
    with conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {DB} CASCADE")
        cur.execute(f"CREATE SCHEMA {DB}")
        cur.execute(f"CREATE TABLE {DB}.a (id int, v varchar(40), n bigint)")
        cur.execute(f"CREATE TABLE {DB}.b (k varchar(20), x int)")
        cur.execute(f"CREATE TABLE {DB}.c (id bigint, t text)")
        # every batch 2 ms slower: the copy lasts some seconds however fast
        # the machine is, so that each crash lands mid-copy
        cur.execute(f"CREATE FUNCTION {DB}.slow() RETURNS trigger LANGUAGE plpgsql"
                    f" AS $$BEGIN PERFORM pg_sleep(0.002); RETURN NULL; END$$")
        for tb in ("a", "b", "c"):
            cur.execute(f"CREATE TRIGGER slow AFTER INSERT ON {DB}.{tb}"
                        f" FOR EACH STATEMENT EXECUTE FUNCTION {DB}.slow()")
    log_dir = os.path.join(env("APE_SHARED_DIR"), name)
    shutil.rmtree(log_dir, ignore_errors=True)
    os.makedirs(log_dir)
    os.chmod(log_dir, 0o777)
    cfg = f"""
[extractor]
db_type=mysql
url={env('APE_MYSQL_URL')}
[sinker]
batch_size={batch}
[filter]
do_dbs={DB}
[parallelizer]
parallel_size=2
[runtime]
log_dir={log_dir}
"""
    with conn.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (name, cfg))
    return conn, log_dir


def copied(conn, name):
    with conn.cursor() as cur:
        cur.execute("SELECT coalesce(sum(rows_copied), 0), bool_and(state IN ('finished', 'skipped')) "
                    "FROM ape_resume.progress(%s)", (name,))
        n, done = cur.fetchone()
        return int(n), bool(done)


def wait_copied(conn, name, threshold):
    """Wait until the task committed threshold rows; False if it finished first."""
    deadline = time.time() + 120
    while time.time() < deadline:
        n, done = copied(conn, name)
        if done:
            return False
        if n >= threshold:
            return True
        time.sleep(0.005)
    raise AssertionError(f"{name}: no progress in 120 s")


def assert_exact(conn, name, source, log_dir):
    with conn.cursor() as cur:
        cur.execute(f"SELECT id, v, n FROM {DB}.a ORDER BY id")
        got_a = [tuple(r) for r in cur.fetchall()]
        cur.execute(f"SELECT k, x FROM {DB}.b ORDER BY k COLLATE \"C\"")
        got_b = [tuple(r) for r in cur.fetchall()]
        cur.execute(f"SELECT id, t FROM {DB}.c ORDER BY id")
        got_c = [tuple(r) for r in cur.fetchall()]
        assert len(got_a) == SIZES["a"] and got_a == source["a"]
        assert len(got_b) == SIZES["b"] and got_b == source["b"]
        assert len(got_c) == SIZES["c"] and got_c == source["c"]
        cur.execute("SELECT tb, state, value, rows_copied FROM ape_resume.progress(%s) ORDER BY tb",
                    (name,))
        progress = cur.fetchall()
    last_key = {"a": str(source["a"][-1][0]), "b": source["b"][-1][0], "c": str(source["c"][-1][0])}
    assert [(tb, st, v) for tb, st, v, _ in progress] == \
        [(tb, "finished", last_key[tb]) for tb in ("a", "b", "c")]
    # rows_copied counts rows committed by the task, once each
    assert [n for _, _, _, n in progress] == [SIZES["a"], SIZES["b"], SIZES["c"]]
    with open(os.path.join(log_dir, "position.log")) as f:
        plines = [l for l in f.read().splitlines() if "current_position" in l]
    for tb in ("a", "b", "c"):
        mine = [l for l in plines if f'"schema":"{DB}","tb":"{tb}"' in l]
        assert mine and mine[-1].endswith(f'"value":"{last_key[tb]}"}}'), (tb, mine[-1:])
    with open(os.path.join(log_dir, "finished.log")) as f:
        flines = f.read().splitlines()
    for tb in ("a", "b", "c"):
        assert any(f'"schema":"{DB}","tb":"{tb}"' in l for l in flines), tb


def worker_pids(conn, name):
    with conn.cursor() as cur:
        cur.execute("SELECT w.pid FROM ape_resume.worker w JOIN ape_resume.task t ON t.id = w.task_id "
                    "WHERE t.name = %s", (name,))
        return [r[0] for r in cur.fetchall()]


def wait_connection_cut(conn, timeout=30):
    """A SIGKILLed worker makes the postmaster restart the server, cutting
    every connection: wait for that before connecting again, or the new
    connection may be made before the restart and be cut by it."""
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            time.sleep(0.01)
        raise AssertionError("the server did not restart after a worker was killed")
    except psycopg2.Error:
        pass
    finally:
        conn.close()


def test_sigkill_ten_times(source):
    """A worker SIGKILLed at 10 random moments; the launcher resumes each time."""
    rng = random.Random(20261125)
    conn, log_dir = fresh("it_crash_kill", batch=100)
    kills = 0
    for _ in range(10):
        # a random moment: some thousands of rows after the last restart
        n, _done = copied(conn, "it_crash_kill")
        if not wait_copied(conn, "it_crash_kill", n + rng.randint(1000, 10000)):
            break
        pids = worker_pids(conn, "it_crash_kill")
        if not pids:
            continue
        try:
            os.kill(rng.choice(pids), signal.SIGKILL)
            kills += 1
        except ProcessLookupError:
            continue
        wait_connection_cut(conn)
        conn = connect_local()
    assert kills == 10, f"only {kills} kills landed before the copy finished"
    assert wait_state(conn, "it_crash_kill", 180) == "finished"
    assert_exact(conn, "it_crash_kill", source, log_dir)
    conn.close()


def test_immediate_shutdown_then_start(source):
    """pg_ctl stop -m immediate mid-copy, then start: the launcher resumes."""
    conn, log_dir = fresh("it_crash_immediate")
    assert wait_copied(conn, "it_crash_immediate", 40000)
    conn.close()
    run_testbed("stop", "local", "immediate")
    run_testbed("start", "local")
    conn = connect_local()
    assert wait_state(conn, "it_crash_immediate", 180) == "finished"
    assert_exact(conn, "it_crash_immediate", source, log_dir)
    with open(os.path.join(log_dir, "default.log")) as f:
        assert "task it_crash_immediate: 3 tables selected" in f.read()
    conn.close()


def mariadb_pid():
    with open(os.path.join(TESTBED, "mariadb", "pid")) as f:
        return int(f.read().strip())


def test_source_killed_and_restarted(source):
    """MariaDB killed mid-table and started again: the workers retry the
    source with backoff and finish by themselves."""
    conn, log_dir = fresh("it_crash_source", batch=300)
    assert wait_copied(conn, "it_crash_source", 30000)
    os.kill(mariadb_pid(), signal.SIGKILL)
    time.sleep(1.5)
    run_testbed("start", "mariadb")
    assert wait_state(conn, "it_crash_source", 180) == "finished"
    assert_exact(conn, "it_crash_source", source, log_dir)
    with open(os.path.join(log_dir, "default.log")) as f:
        assert "source lost while copying table" in f.read()
    conn.close()


def test_log_dir_read_only(source):
    """The files under log_dir become read-only mid-copy: the task fails on
    the log write after committing its batch; made writable again and
    resumed, it finishes exact, and the files catch up with the catalog."""
    conn, log_dir = fresh("it_crash_rofs", batch=300)
    assert wait_copied(conn, "it_crash_rofs", 20000)
    files = [os.path.join(log_dir, f) for f in ("position.log", "finished.log", "default.log")]
    for f in files:
        if os.path.exists(f):
            os.chmod(f, 0o444)
    os.chmod(log_dir, 0o555)
    try:
        assert wait_state(conn, "it_crash_rofs", 120) == "failed"
        with conn.cursor() as cur:
            cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = 'it_crash_rofs'")
            error = cur.fetchone()[0]
        assert "Permission denied" in error and log_dir in error, error
    finally:
        os.chmod(log_dir, 0o777)
        for f in files:
            if os.path.exists(f):
                os.chmod(f, 0o666)
    with conn.cursor() as cur:
        cur.execute("SELECT ape_resume.resume_task('it_crash_rofs')")
    assert wait_state(conn, "it_crash_rofs", 180) == "finished"
    assert_exact(conn, "it_crash_rofs", source, log_dir)
    conn.close()
