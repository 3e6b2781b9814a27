"""Exactly once in every resume path: every row compared, source and target.

The target tables are created beforehand WITHOUT keys, so a row copied twice
shows as a duplicate instead of failing on a unique index.
"""
import os
import signal
import time

import pytest

import conftest

from conftest import connect_local, env, fresh_dir, start, wait_state, drop_task_if_exists

DB = "it_once"
ROWS = 60000


def mysql_exec(conn, *sqls):
    with conn.cursor() as cur:
        for sql in sqls:
            cur.execute(sql)


@pytest.fixture
def source(mysql_admin):
    mysql_exec(mysql_admin,
               f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}", f"USE {DB}",
               f"CREATE TABLE {DB}.t (id int PRIMARY KEY, v varchar(40) NOT NULL, n int NULL)",
               f"INSERT INTO {DB}.t SELECT seq, concat('v', seq, repeat('x', seq % 17)), "
               f"IF(seq % 5 = 0, NULL, seq * 7) FROM seq_1_to_{ROWS}",
               f"CREATE TABLE {DB}.s (k varchar(20) PRIMARY KEY, x int NOT NULL)",
               f"INSERT INTO {DB}.s SELECT concat('k', lpad(seq, 6, '0')), seq FROM seq_1_to_3000")
    return mysql_admin


def source_rows(mysql_admin, table):
    with mysql_admin.cursor() as cur:
        if table == "t":
            cur.execute(f"SELECT id, v, n FROM {DB}.t ORDER BY id")
        else:
            cur.execute(f"SELECT k, x FROM {DB}.s ORDER BY k")
        return [tuple(r) for r in cur.fetchall()]


def target_rows(local, table):
    with local.cursor() as cur:
        if table == "t":
            cur.execute(f"SELECT id, v, n FROM {DB}.t ORDER BY id")
        else:
            cur.execute(f"SELECT k, x FROM {DB}.s ORDER BY k COLLATE \"C\"")
        return [tuple(r) for r in cur.fetchall()]


def fresh_target(local):
    """Target tables without keys; every batch into t takes 10 ms more (a
    statement trigger), so that a test can catch the copy mid-table however
    fast the machine is (60,000 rows in batches of 200: 3 s at least)."""
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {DB} CASCADE")
        cur.execute(f"CREATE SCHEMA {DB}")
        cur.execute(f"CREATE TABLE {DB}.t (id int, v varchar(40), n int)")
        cur.execute(f"CREATE TABLE {DB}.s (k varchar(20), x int)")
        cur.execute(f"CREATE FUNCTION {DB}.slow() RETURNS trigger LANGUAGE plpgsql"
                    f" AS $$BEGIN PERFORM pg_sleep(0.01); RETURN NULL; END$$")
        cur.execute(f"CREATE TRIGGER slow AFTER INSERT ON {DB}.t"
                    f" FOR EACH STATEMENT EXECUTE FUNCTION {DB}.slow()")


def config(log_dir, resumer="", batch=200, tables="t,s"):
    do_tbs = ",".join(f"{DB}.{t}" for t in tables.split(","))
    return f"""
[extractor]
db_type=mysql
url={env('APE_MYSQL_URL')}
[sinker]
batch_size={batch}
[filter]
do_tbs={do_tbs}
[runtime]
log_dir={log_dir}
[resumer]
{resumer}
"""


def rows_copied(local, task, tb="t"):
    with local.cursor() as cur:
        cur.execute("SELECT rows_copied, value FROM ape_resume.progress(%s) WHERE tb = %s",
                    (task, tb))
        row = cur.fetchone()
        return (row[0], row[1]) if row else (0, None)


def wait_mid_table(local, task, low=2000):
    return conftest.wait_mid_table(lambda: rows_copied(local, task)[0], ROWS, task, low)


def assert_prefix(local, mysql_admin, value):
    """The target holds exactly the source rows up to value, once each."""
    got = target_rows(local, "t")
    want = [r for r in source_rows(mysql_admin, "t") if r[0] <= int(value)]
    assert len(got) == len(want) and got == want


def assert_complete(local, mysql_admin):
    for tb in ("t", "s"):
        got = target_rows(local, tb)
        want = source_rows(mysql_admin, tb)
        assert len(got) == len(want), (tb, len(got), len(want))
        assert got == want, tb


def stop_mid_table(local, task):
    wait_mid_table(local, task)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.stop_task(%s)", (task,))
    assert wait_state(local, task, 60) == "stopped"
    n, value = rows_copied(local, task)
    assert 0 < n < ROWS and int(value) == n
    return value


def test_stop_then_resume_task(local, source):
    """(a) stop_task mid-table, then resume_task."""
    fresh_target(local)
    log_dir = fresh_dir("it_once_a")
    start(local, "it_once_a", config(log_dir))
    value = stop_mid_table(local, "it_once_a")
    assert_prefix(local, source, value)
    with local.cursor() as cur:
        # the dry run of resume_task: from the catalog
        cur.execute("SELECT tb, action, value, decided_by FROM ape_resume.resume_plan('it_once_a') "
                    "ORDER BY tb")
        # the largest table goes first: s is not started yet
        assert cur.fetchall() == [("s", "full", None, None), ("t", "resume", value, "catalog")]
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.resume_task('it_once_a')")
    assert wait_state(local, "it_once_a", 120) == "finished"
    assert_complete(local, source)
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    assert (f'resumer, get resume value, schema: {DB}, tb: t, col: id, result: Some("{value}")'
            in default)


def test_worker_killed_then_resume(local, source):
    """(b) the worker SIGKILLed mid-batch: the server restarts, and its
    launcher resumes the task from the catalog by itself."""
    fresh_target(local)
    log_dir = fresh_dir("it_once_b")
    start(local, "it_once_b", config(log_dir))
    wait_mid_table(local, "it_once_b")
    with local.cursor() as cur:
        cur.execute("SELECT worker_pid FROM ape_resume.task WHERE name = 'it_once_b'")
        pid = cur.fetchone()[0]
    os.kill(pid, signal.SIGKILL)
    local.close()
    time.sleep(0.5)
    conn = connect_local()
    try:
        assert wait_state(conn, "it_once_b", 120) == "finished"
        assert_complete(conn, source)
        with open(os.path.join(log_dir, "default.log")) as f:
            default = f.read()
        # the second run resumed from the committed position, not from scratch
        resumed = [l for l in default.splitlines()
                   if f"tb: t, col: id, result: Some(" in l]
        assert len(resumed) == 1, default
    finally:
        conn.close()
    with open(os.path.join(os.environ["APE_TESTBED"], "local", "server.log")) as f:
        assert 'ape_resume launcher: resuming task "it_once_b", interrupted by a server restart' in f.read()


def cut_position_log(log_dir, keep_fraction=0.5):
    path = os.path.join(log_dir, "position.log")
    with open(path) as f:
        lines = f.read().splitlines(True)
    current = [i for i, l in enumerate(lines) if "current_position" in l and '"tb":"t"' in l]
    assert len(current) >= 4
    cut = current[int(len(current) * keep_fraction)]
    # the kept part ends with a torn line, as a crash mid-write leaves it
    with open(path, "w") as f:
        f.writelines(lines[:cut])
        f.write(lines[cut][:30])
    kept = [l for l in lines[:cut] if "current_position" in l and '"tb":"t"' in l]
    return kept[-1].split('"value":"')[1].split('"')[0]


@pytest.mark.parametrize("forget_first", [False, True])
def test_new_task_resumes_from_lagging_log(local, source, forget_first):
    """(c) a new task resumes from the first task's log_dir whose position.log
    lags the committed rows: with the first task's catalog, and (forget_first)
    with the files alone, where the rows past the logged position are
    replaced, not duplicated."""
    drop_task_if_exists(local, "it_once_c2")
    fresh_target(local)
    log_dir = fresh_dir("it_once_c")
    start(local, "it_once_c1", config(log_dir))
    value = stop_mid_table(local, "it_once_c1")
    logged = cut_position_log(log_dir)
    assert int(logged) < int(value)
    if forget_first:
        with local.cursor() as cur:
            cur.execute("SELECT ape_resume.drop_task('it_once_c1')")
    cfg = config(log_dir, "resume_from_log=true")
    with local.cursor() as cur:
        cur.execute("SELECT tb, action, value, decided_by FROM ape_resume.resume_plan('it_once_c2', %s) "
                    "ORDER BY tb", (cfg,))
        plan = cur.fetchall()
    if forget_first:
        # the largest table goes first: s is not started yet
        assert plan == [("s", "full", None, None), ("t", "resume", logged, "position.log")]
    else:
        assert plan == [("s", "full", None, None), ("t", "resume", value, "catalog")]
    start(local, "it_once_c2", cfg)
    assert wait_state(local, "it_once_c2", 120) == "finished"
    assert_complete(local, source)
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    expect = logged if forget_first else value
    assert (f'resumer, get resume value, schema: {DB}, tb: t, col: id, result: Some("{expect}")'
            in default)
    if forget_first:
        assert f'replaced {int(value) - int(logged)} rows of "{DB}"."t"' in default
    drop_task_if_exists(local, "it_once_c1")


def test_resume_config_value_mid_table(local, source):
    """(d) a resume.config naming a value in the middle of the table."""
    fresh_target(local)
    work = fresh_dir("it_once_d")
    rc = os.path.join(work, "resume.config")
    with open(rc, "w") as f:
        f.write('{"type":"RdbSnapshot","db_type":"mysql","schema":"it_once","tb":"t",'
                '"order_col":"id","value":"41234"}\n')
        f.write('{"type":"RdbSnapshot","db_type":"mysql","schema":"it_once","tb":"s",'
                '"order_key":{"single":["k","k002990"]}}\n')
    log_dir = os.path.join(work, "logs")
    start(local, "it_once_d", config(log_dir, f"resume_config_file={rc}", batch=5000))
    assert wait_state(local, "it_once_d", 120) == "finished"
    got = target_rows(local, "t")
    assert got == [r for r in source_rows(source, "t") if r[0] > 41234]
    assert [r[0] for r in target_rows(local, "s")] == [f"k{i:06d}" for i in range(2991, 3001)]
