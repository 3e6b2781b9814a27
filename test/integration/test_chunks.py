"""One big table, many workers: [extractor] parallel_type=chunk cuts a table
into key ranges, each copied and checkpointed on its own.  Every test
compares every row on both sides.

Where a test interrupts a copy, the target tables are created beforehand
WITHOUT keys (and slowed by a trigger), so that a row copied twice shows as
a duplicate instead of failing on a unique index.
"""
import os
import signal
import time

import psycopg2
import pytest

from conftest import (connect_local, drop_task_if_exists, env, execute, fresh_dir, one, rows,
                      start, wait_state)

DB = "it_chunk"


def config(db_type, url, log_dir, split, parallel=2, batch=500, extra="", tb=None):
    return f"""
[extractor]
db_type={db_type}
url={url}
parallel_type=chunk
parallel_size={parallel}
split_tables_larger_than={split}
{extra}
[sinker]
batch_size={batch}
[filter]
{f"do_tbs={DB}.{tb}" if tb else f"do_dbs={DB}"}
[runtime]
log_dir={log_dir}
"""


def mysql_config(log_dir, split, **kw):
    return config("mysql", env("APE_MYSQL_URL"), log_dir, split, **kw)


def fresh_target(local, *tables, delay=0.002):
    """An empty target schema; tables given as (name, columns) are created
    without keys and slowed down (delay seconds a batch)."""
    execute(local, f"DROP SCHEMA IF EXISTS {DB} CASCADE", f"CREATE SCHEMA {DB}")
    if tables:
        execute(local, f"CREATE FUNCTION {DB}.slow() RETURNS trigger LANGUAGE plpgsql"
                          f" AS $$BEGIN PERFORM pg_sleep({delay}); RETURN NULL; END$$")
    for name, cols in tables:
        execute(local, f"CREATE TABLE {DB}.{name} ({cols})",
                   f"CREATE TRIGGER slow AFTER INSERT ON {DB}.{name}"
                   f" FOR EACH STATEMENT EXECUTE FUNCTION {DB}.slow()")


def chunks(local, task, tb):
    return rows(local, "SELECT chunk, lo, hi, state, rows_copied FROM ape_resume.chunks "
                       "WHERE task_name = %s AND tb = %s ORDER BY chunk", (task, tb))


def assert_same(mysql_admin, local, tb, cols, order, pg_order=None):
    with mysql_admin.cursor() as cur:
        cur.execute(f"SELECT {cols} FROM {DB}.{tb} ORDER BY {order}")
        want = [tuple(r) for r in cur.fetchall()]
    got = rows(local, f"SELECT {cols} FROM {DB}.{tb} ORDER BY {pg_order or order}")
    assert len(got) == len(want)
    assert got == want


def position_lines(log_dir, tb):
    with open(os.path.join(log_dir, "position.log")) as f:
        return [l for l in f.read().splitlines()
                if "current_position" in l and f'"schema":"{DB}","tb":"{tb}"' in l]


@pytest.fixture
def mysql_tables(mysql_admin):
    """i: an integer key; s: a text key; c: a composite key led by text;
    k: skewed, 90% of the rows in 1% of the key range."""
    execute(mysql_admin,
               f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}", f"USE {DB}",
               "CREATE TABLE i (id int PRIMARY KEY, v varchar(40) NOT NULL, n int NULL)",
               "INSERT INTO i SELECT seq, concat('v', seq), IF(seq % 7 = 0, NULL, seq * 3) "
               "FROM seq_1_to_20000",
               "CREATE TABLE s (k varchar(20) COLLATE utf8mb4_bin PRIMARY KEY, x int NOT NULL)",
               "INSERT INTO s SELECT concat('k', lpad(seq, 7, '0')), seq FROM seq_1_to_12000",
               "CREATE TABLE c (a varchar(10) COLLATE utf8mb4_bin NOT NULL, b int NOT NULL, "
               "x text, PRIMARY KEY (a, b))",
               "INSERT INTO c SELECT concat('g', seq % 37), seq, repeat('x', seq % 9) "
               "FROM seq_1_to_15000",
               "CREATE TABLE k (id bigint PRIMARY KEY, v int NOT NULL)",
               # 18,000 rows in ids 1..18,000 (1% of the range), 2,000 spread to 1,800,000
               "INSERT INTO k SELECT seq, seq FROM seq_1_to_18000",
               "INSERT INTO k SELECT 18000 + seq * 891, seq FROM seq_1_to_2000",
               "ANALYZE TABLE i, s, c, k")
    return mysql_admin


def test_mysql_chunked_copy(local, mysql_tables):
    """Integer, text and composite keys and skewed data, each cut into
    chunks and copied by two workers: every row once, keys added at the
    end, one finished row and one finished.log line a table, position.log
    ending at the table's last key."""
    task = "it_chunk_mysql"
    log_dir = fresh_dir(task)
    fresh_target(local)
    start(local, task, mysql_config(log_dir, 3000, parallel=2))
    assert wait_state(local, task, 120) == "finished"
    assert_same(mysql_tables, local, "i", "id, v, n", "id")
    assert_same(mysql_tables, local, "s", "k, x", "k", "k COLLATE \"C\"")
    assert_same(mysql_tables, local, "c", "a, b, x", "a, b", "a COLLATE \"C\", b")
    assert_same(mysql_tables, local, "k", "id, v", "id")
    total = {"i": 20000, "s": 12000, "c": 15000, "k": 20000}
    for tb, n in total.items():
        cs = chunks(local, task, tb)
        assert len(cs) >= 2, tb
        assert all(st == "finished" for _, _, _, st, _ in cs), cs
        assert sum(r for *_, r in cs) == n, (tb, cs)
        # contiguous ranges: each chunk starts where the one before ends
        assert cs[0][1] is None and cs[-1][2] is None
        assert all(cs[j][2] == cs[j + 1][1] for j in range(len(cs) - 1)), cs
        assert one(local, "SELECT state, rows_copied, chunks, chunks_done, chunks_running "
                          "FROM ape_resume.progress(%s) WHERE tb = %s", (task, tb)) == \
            ("finished", n, len(cs), len(cs), 0)
    # 20,000 rows over max(2, ceil(20000/3000)) = 7 chunks; the even split
    # of the skewed table would put 18,000 rows in its first chunk
    ks = chunks(local, task, "k")
    assert max(r for *_, r in ks) < 20000 * 0.4, ks
    assert max(r for *_, r in chunks(local, task, "i")) < 20000 * 0.3
    assert max(r for *_, r in chunks(local, task, "s")) < 12000 * 0.5
    # the keys of the tables it created, added when their last chunk ended
    assert one(local, "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                      "WHERE conrelid = %s::regclass AND contype = 'p'", (f"{DB}.c",)) == \
        ("PRIMARY KEY (a, b)",)
    for tb in total:
        assert one(local, "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass "
                          "AND contype = 'p'", (f"{DB}.{tb}",)) == (1,), tb
    assert position_lines(log_dir, "i")[-1].endswith('"order_col":"id","value":"20000"}')
    assert position_lines(log_dir, "k")[-1].endswith('"value":"1800000"}')
    assert '"order_key":' in position_lines(log_dir, "c")[-1]
    with open(os.path.join(log_dir, "finished.log")) as f:
        fin = f.read().splitlines()
    for tb in total:
        assert sum(f'"schema":"{DB}","tb":"{tb}"' in l for l in fin) == 1, tb
    drop_task_if_exists(local, task)


def test_mysql_empty_chunk(local, mysql_tables):
    """A chunk that turns out empty: its rows are deleted at the source
    after the table was cut and before the chunk is copied.  It finishes
    with 0 rows, and the table equals its source."""
    task = "it_chunk_empty"
    log_dir = fresh_dir(task)
    fresh_target(local, ("i", "id int, v varchar(40), n int"))
    start(local, task, mysql_config(log_dir, 2000, parallel=1, batch=100, tb="i"))
    deadline = time.time() + 60
    while not chunks(local, task, "i"):
        assert time.time() < deadline
        time.sleep(0.01)
    cs = chunks(local, task, "i")
    assert len(cs) == 10
    # one worker takes the chunks in order: the last one is not started yet
    last_lo = int(cs[-1][1])
    execute(mysql_tables, f"DELETE FROM {DB}.i WHERE id >= {last_lo}")
    assert cs[-1][3] == "pending"
    assert wait_state(local, task, 120) == "finished"
    assert_same(mysql_tables, local, "i", "id, v, n", "id")
    cs = chunks(local, task, "i")
    assert cs[-1][3:] == ("finished", 0), cs
    assert sum(r for *_, r in cs) == last_lo - 1
    assert one(local, "SELECT state, rows_copied FROM ape_resume.progress(%s)", (task,)) == \
        ("finished", last_lo - 1)
    drop_task_if_exists(local, task)


def wait_chunks_running(local, task, n, min_rows, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = one(local, "SELECT coalesce(sum(chunks_running), 0), coalesce(sum(rows_copied), 0), "
                         "bool_and(state = 'finished') FROM ape_resume.progress(%s)", (task,))
        assert not got[2], "the copy ended before it could be interrupted"
        if got[0] >= n and got[1] >= min_rows:
            return
        time.sleep(0.01)
    raise AssertionError(f"{task}: {n} chunks never ran at once")


def wait_two_chunks_begun(local, task):
    """Wait until two chunks of table i are being copied, each with rows
    committed (the higher one's are past the table's low watermark)."""
    deadline = time.time() + 60
    while sum(st == "copying" and r > 0 for _, _, _, st, r in chunks(local, task, "i")) < 2:
        assert time.time() < deadline, f"{task}: two chunks never began at once"
        time.sleep(0.01)


def worker_pids(local, task):
    return [r[0] for r in rows(local, "SELECT w.pid FROM ape_resume.worker w JOIN ape_resume.task t "
                                      "ON t.id = w.task_id WHERE t.name = %s", (task,))]


def test_mysql_sigkill_three_chunks_in_flight(local, mysql_tables):
    """Every worker SIGKILLed while three chunks are in flight; the server
    restarts and the launcher resumes the task: every row once, the chunks
    and their boundaries the same as before."""
    task = "it_chunk_kill"
    log_dir = fresh_dir(task)
    fresh_target(local, ("i", "id int, v varchar(40), n int"))
    start(local, task, mysql_config(log_dir, 2000, parallel=3, batch=100, tb="i"))
    wait_chunks_running(local, task, 3, 1500)
    before = [(c, lo, hi) for c, lo, hi, _, _ in chunks(local, task, "i")]
    pids = worker_pids(local, task)
    assert len(pids) == 3
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # the postmaster restarts the server, cutting every connection
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            one(local, "SELECT 1")
            time.sleep(0.01)
    except psycopg2.Error:
        pass
    conn = connect_local()
    try:
        assert wait_state(conn, task, 180) == "finished"
        assert_same(mysql_tables, conn, "i", "id, v, n", "id")
        assert one(conn, f"SELECT count(*), count(DISTINCT id) FROM {DB}.i") == (20000, 20000)
        after = chunks(conn, task, "i")
        assert [(c, lo, hi) for c, lo, hi, _, _ in after] == before
        assert sum(r for *_, r in after) == 20000
    finally:
        drop_task_if_exists(conn, task)
        conn.close()


def test_mysql_stop_resume_and_watermark(local, mysql_tables):
    """stop_task mid-copy: the chunks keep their positions, position.log
    holds the table's low watermark (every row at or below it is in the
    target), resume_plan shows the chunks left, resume_task finishes
    exactly.  Then a new task resuming from the position.log of a stopped
    chunked copy (its catalog dropped) replaces the rows past the
    watermark instead of duplicating them."""
    task = "it_chunk_stop"
    log_dir = fresh_dir(task)
    fresh_target(local, ("i", "id int, v varchar(40), n int"))
    start(local, task, mysql_config(log_dir, 2000, parallel=2, batch=200, tb="i"))
    wait_chunks_running(local, task, 2, 3000)
    execute(local, f"SELECT ape_resume.stop_task('{task}')")
    assert wait_state(local, task, 60) == "stopped"
    cs = chunks(local, task, "i")
    assert any(st != "finished" for _, _, _, st, _ in cs)
    copied = one(local, f"SELECT count(*) FROM {DB}.i")[0]
    assert 0 < copied < 20000
    assert sum(r for *_, r in cs) == copied
    mark = position_lines(log_dir, "i")[-1]
    value = int(mark.rsplit('"value":"', 1)[1].split('"')[0])
    # everything at or below the watermark is there
    assert one(local, f"SELECT count(*) FROM {DB}.i WHERE id <= %s", (value,))[0] == value
    assert one(local, "SELECT value FROM ape_resume.progress(%s) WHERE tb = 'i'", (task,)) == \
        (str(value),)
    plan = rows(local, "SELECT kind, action FROM ape_resume.resume_plan(%s) WHERE tb = 'i' "
                       "AND kind = 'chunk'", (task,))
    assert len(plan) == len(cs)
    assert sum(a == "skip" for _, a in plan) == sum(st == "finished" for _, _, _, st, _ in cs)
    execute(local, f"SELECT ape_resume.resume_task('{task}')")
    assert wait_state(local, task, 120) == "finished"
    assert_same(mysql_tables, local, "i", "id, v, n", "id")
    drop_task_if_exists(local, task)

    # a stopped chunked copy whose catalog is gone: the files alone
    task2 = "it_chunk_file"
    log_dir2 = fresh_dir(task2)
    fresh_target(local, ("i", "id int, v varchar(40), n int"), delay=0.02)
    start(local, task2, mysql_config(log_dir2, 2000, parallel=2, batch=200, tb="i"))
    wait_two_chunks_begun(local, task2)
    execute(local, f"SELECT ape_resume.stop_task('{task2}')")
    assert wait_state(local, task2, 60) == "stopped"
    copied = one(local, f"SELECT count(*) FROM {DB}.i")[0]
    mark = int(position_lines(log_dir2, "i")[-1].rsplit('"value":"', 1)[1].split('"')[0])
    # rows past the watermark, copied by later chunks, are in the target
    assert one(local, f"SELECT count(*) FROM {DB}.i WHERE id > %s", (mark,))[0] > 0
    execute(local, f"SELECT ape_resume.drop_task('{task2}')")
    task3 = "it_chunk_file2"
    drop_task_if_exists(local, task3)
    cfg = mysql_config(log_dir2, 2000, parallel=2, batch=200, tb="i") + "[resumer]\nresume_from_log=true\n"
    execute(local, "SELECT ape_resume.start_task(%s, %s)" % ("'" + task3 + "'", "$c$" + cfg + "$c$"))
    assert wait_state(local, task3, 120) == "finished"
    assert one(local, f"SELECT count(*), count(DISTINCT id) FROM {DB}.i") == (20000, 20000)
    assert_same(mysql_tables, local, "i", "id, v, n", "id")
    with open(os.path.join(log_dir2, "default.log")) as f:
        assert "rows of \"it_chunk\".\"i\" that were already in the target" in f.read()
    drop_task_if_exists(local, task3)


def test_mysql_take_over_chunks_of_the_log_dirs_writer(local, mysql_tables):
    """A stopped chunked copy taken up by a new task resuming from its log
    dir (same database): the new task takes its chunks as they are, the
    same boundaries and positions, and copies what is left, every row
    once; the old task may not resume any more."""
    task = "it_chunk_old"
    log_dir = fresh_dir(task)
    fresh_target(local, ("i", "id int, v varchar(40), n int"), delay=0.02)
    cfg = mysql_config(log_dir, 2000, parallel=2, batch=200, tb="i")
    start(local, task, cfg)
    wait_two_chunks_begun(local, task)
    execute(local, f"SELECT ape_resume.stop_task('{task}')")
    assert wait_state(local, task, 60) == "stopped"
    before = chunks(local, task, "i")
    task2 = "it_chunk_new"
    drop_task_if_exists(local, task2)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)",
                    (task2, cfg + "[resumer]\nresume_from_log=true\n"))
    assert wait_state(local, task2, 120) == "finished"
    assert one(local, f"SELECT count(*), count(DISTINCT id) FROM {DB}.i") == (20000, 20000)
    assert_same(mysql_tables, local, "i", "id, v, n", "id")
    after = chunks(local, task2, "i")
    assert [(c, lo, hi) for c, lo, hi, _, _ in after] == [(c, lo, hi) for c, lo, hi, _, _ in before]
    assert sum(r for *_, r in after) == 20000
    with pytest.raises(psycopg2.Error) as e:
        execute(local, f"SELECT ape_resume.resume_task('{task}')")
    assert task2 in str(e.value)
    drop_task_if_exists(local, task2)
    drop_task_if_exists(local, task)


@pytest.fixture
def pg_tables(pgsrc):
    with pgsrc.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {DB} CASCADE")
        cur.execute(f"CREATE SCHEMA {DB}")
        cur.execute(f"CREATE TABLE {DB}.i (id bigint PRIMARY KEY, v text NOT NULL)")
        cur.execute(f"INSERT INTO {DB}.i SELECT g, 'v' || g FROM generate_series(1, 20000) g")
        cur.execute(f"CREATE TABLE {DB}.s (k text COLLATE \"C\" PRIMARY KEY, x int)")
        cur.execute(f"INSERT INTO {DB}.s SELECT 'k' || lpad(g::text, 7, '0'), g "
                    f"FROM generate_series(1, 12000) g")
        cur.execute(f"CREATE TABLE {DB}.c (a text COLLATE \"C\" NOT NULL, b int NOT NULL, x text, "
                    f"PRIMARY KEY (a, b))")
        cur.execute(f"INSERT INTO {DB}.c SELECT 'g' || (g % 37), g, repeat('x', g % 9) "
                    f"FROM generate_series(1, 15000) g")
        cur.execute(f"CREATE TABLE {DB}.k (id int PRIMARY KEY, v int)")
        cur.execute(f"INSERT INTO {DB}.k SELECT g, g FROM generate_series(1, 18000) g")
        cur.execute(f"INSERT INTO {DB}.k SELECT 18000 + g * 891, g FROM generate_series(1, 2000) g")
        # every column in the key, in another order than the table's
        cur.execute(f"CREATE TABLE {DB}.l (a int NOT NULL, b text COLLATE \"C\" NOT NULL, "
                    f"PRIMARY KEY (b, a))")
        cur.execute(f"INSERT INTO {DB}.l SELECT g, 'b' || lpad(((g * 7919) % 12000)::text, 5, '0') "
                    f"FROM generate_series(1, 12000) g")
        cur.execute(f"ANALYZE {DB}.i, {DB}.s, {DB}.c, {DB}.k, {DB}.l")
    return pgsrc


def test_pg_chunked_copy(local, pg_tables):
    """The same from PostgreSQL: integer, text, composite and skewed keys."""
    task = "it_chunk_pg"
    log_dir = fresh_dir(task)
    fresh_target(local)
    start(local, task, config("pg", env("APE_PGSRC_URL"), log_dir, 3000, parallel=2))
    assert wait_state(local, task, 120) == "finished"
    for tb, cols, order, n in (("i", "id, v", "id", 20000), ("s", "k, x", "k", 12000),
                               ("c", "a, b, x", "a, b", 15000), ("k", "id, v", "id", 20000),
                               ("l", "a, b", "b, a", 12000)):
        with pg_tables.cursor() as cur:
            cur.execute(f"SELECT {cols} FROM {DB}.{tb} ORDER BY {order}")
            want = [tuple(r) for r in cur.fetchall()]
        assert rows(local, f"SELECT {cols} FROM {DB}.{tb} ORDER BY {order}") == want
        cs = chunks(local, task, tb)
        assert len(cs) >= 2 and sum(r for *_, r in cs) == n, (tb, cs)
        # the keys of every table it created, whichever chunk ended last
        assert one(local, "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass "
                          "AND contype = 'p'", (f"{DB}.{tb}",)) == (1,), tb
    assert max(r for *_, r in chunks(local, task, "k")) < 20000 * 0.4
    # l is cut on b, its key's first column
    assert all(lo is None or lo.startswith("b") for _, lo, _, _, _ in chunks(local, task, "l"))
    drop_task_if_exists(local, task)


def rss_anon_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon")


def test_worker_memory_flat_across_chunks(local, mysql_tables):
    """One worker through 100 chunks: its private memory after the 80th is
    within 2 MB of what it was after the 10th."""
    task = "it_chunk_mem"
    log_dir = fresh_dir(task)
    fresh_target(local, ("i", "id int, v varchar(40), n int"))
    start(local, task, mysql_config(log_dir, 200, parallel=1, batch=50, tb="i"))

    def done_chunks():
        return one(local, "SELECT coalesce(sum(chunks_done), 0) FROM ape_resume.progress(%s)",
                   (task,))[0]

    samples = {}
    deadline = time.time() + 120
    while time.time() < deadline and len(samples) < 2:
        n = done_chunks()
        pids = worker_pids(local, task)
        if n >= 10 and 10 not in samples and pids:
            samples[10] = rss_anon_kb(pids[0])
        if n >= 80 and 80 not in samples and pids:
            samples[80] = rss_anon_kb(pids[0])
        time.sleep(0.005)
    assert len(samples) == 2, samples
    assert samples[80] - samples[10] < 2048, samples
    assert wait_state(local, task, 120) == "finished"
    assert len(chunks(local, task, "i")) == 100
    assert_same(mysql_tables, local, "i", "id, v, n", "id")
    drop_task_if_exists(local, task)
