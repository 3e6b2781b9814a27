"""Composite order keys, MySQL and PostgreSQL sources: every keyed table
resumes mid-table, with no duplicate and no loss, every row compared.

The target tables are created beforehand WITHOUT keys (and with a slow
statement trigger), so that a row copied twice shows as a duplicate and a
test can catch the copy mid-table.
"""
import json
import os
import re
import signal
import time

import psycopg2
import pymysql
import pytest

from conftest import (connect_local, drop_task_if_exists, env, fresh_dir, start,
                      wait_state)

DB = "it_ck"
BIG = 20000          # rows of the big table (t2 / p2)


def mysql_conn():
    return pymysql.connect(host="127.0.0.1", port=int(env("APE_MYSQL_PORT")), user="ape",
                           password="mysql_secret_pw", charset="utf8mb4", autocommit=True)


def pgsrc_conn():
    conn = psycopg2.connect(env("APE_PGSRC_URL").replace("postgres://", "postgresql://"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
    return conn


def icu_or_libc_collation(conn):
    """A linguistic collation of the source server: libc en_US or ICU en-US."""
    with conn.cursor() as cur:
        cur.execute("SELECT collname FROM pg_collation WHERE collname IN "
                    "('en_US.utf8', 'en_US.UTF-8', 'en-US-x-icu') ORDER BY collname LIMIT 1")
        row = cur.fetchone()
    assert row, "the source server has neither en_US.utf8 nor en-US-x-icu"
    return row[0]


class Kind:
    """One source kind: its tables, how to read them, how keys look as text."""


def mysql_kind():
    k = Kind()
    k.name = "mysql"
    k.big = "t2"
    # table: (key columns, target DDL, source rows query in key order, key text query)
    k.tables = {
        "t2": (["g", "s"], "g int, s varchar(40), v varchar(40)"),
        "t3": (["d", "b", "n"], "d timestamp(6), b bytea, n numeric(12,3), v int"),
        "tu": (["x", "y"], "x int, y varchar(10), v text"),
    }
    # keys passed over or beaten by a single-column key: (table, order_col)
    k.others = {"tp": None, "tr": "u", "ti": None}
    k.others_ddl = {"tp": "a int, b varchar(20), v int", "tr": "a int, b int, u int, v int",
                    "ti": "a int, u int, v int"}
    conn = mysql_conn()
    with conn.cursor() as cur:
        for sql in [
            f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}", f"USE {DB}",
            # case-insensitive, PAD SPACE: 'k00007 ' is the key value 'k00007'
            "CREATE TABLE t2 (g int NOT NULL, s varchar(40) COLLATE utf8mb4_general_ci NOT NULL,"
            " v varchar(40), PRIMARY KEY (g, s))",
            f"INSERT INTO t2 SELECT seq % 3, concat(IF(seq % 2, 'K', 'k'), lpad(seq, 5, '0'),"
            f" IF(seq % 7 = 0, ' ', '')), concat('v', seq) FROM seq_1_to_{BIG}",
            "CREATE TABLE t3 (d datetime(6) NOT NULL, b varbinary(8) NOT NULL,"
            " n decimal(12,3) NOT NULL, v int, PRIMARY KEY (d, b, n))",
            "INSERT INTO t3 SELECT timestamp'2024-01-01 10:00:00.123456' + INTERVAL (seq % 2) DAY,"
            " unhex(lpad(hex(seq % 40), 4, '0')), seq / 8, seq FROM seq_1_to_5000",
            # no primary key: a composite unique key on NOT NULL columns, binary PAD SPACE
            "CREATE TABLE tu (x int NOT NULL, y varchar(10) COLLATE utf8mb4_bin NOT NULL, v text,"
            " UNIQUE KEY uk_xy (x, y))",
            "INSERT INTO tu SELECT seq % 4, concat(char(65 + seq % 52), lpad(seq, 5, '0'),"
            " IF(seq % 5 = 0, ' ', '')), concat('t', seq) FROM seq_1_to_4000",
            # a unique key on a column prefix cannot order a copy
            "CREATE TABLE tp (a int NOT NULL, b varchar(20) NOT NULL, v int, UNIQUE KEY (a, b(3)))",
            "INSERT INTO tp SELECT seq, concat('b', seq), seq FROM seq_1_to_50",
            # a single-column NOT NULL unique key comes before a composite primary key
            "CREATE TABLE tr (a int NOT NULL, b int NOT NULL, u int NOT NULL, v int,"
            " PRIMARY KEY (a, b), UNIQUE KEY (u))",
            "INSERT INTO tr SELECT seq % 5, seq, 1000 - seq, seq FROM seq_1_to_300",
            # an IGNORED index cannot be forced: its key (nullable, no NULL:
            # rule 5) cannot order a copy (MariaDB makes a NOT NULL unique
            # key the primary key, which cannot be ignored)
            "CREATE TABLE ti (a int, u int, v int, UNIQUE KEY uk_u (u) IGNORED)",
            "INSERT INTO ti SELECT seq % 3, seq, seq FROM seq_1_to_40",
        ]:
            cur.execute(sql)
    k.src = conn

    def rows(tb):
        cols = {"t2": "g, s, v", "t3": "d, b, n, v", "tu": "x, y, v", "tp": "a, b, v",
                "tr": "a, b, u, v", "ti": "a, u, v"}[tb]
        with conn.cursor() as cur:
            cur.execute(f"SELECT {cols} FROM {DB}.{tb}")
            return sorted(tuple(r) for r in cur.fetchall())
    k.rows = rows

    def keys_in_order(tb):
        """The key of every row, in the source's order, as position text."""
        cols = k.tables[tb][0]
        with conn.cursor() as cur:
            cur.execute(f"SELECT {', '.join(cols)} FROM {DB}.{tb} ORDER BY {', '.join(cols)}")
            out = []
            for r in cur.fetchall():
                out.append([mysql_text(v) for v in r])
            return out
    k.keys_in_order = keys_in_order
    k.sessions = lambda: mysql_sessions(conn)
    k.explain = lambda sql: mysql_explain(conn, sql)
    return k


def mysql_text(v):
    import datetime
    import decimal
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    if isinstance(v, decimal.Decimal):
        return str(v)
    return str(v)


def mysql_sessions(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT INFO FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT %%'"
                    " AND ID <> CONNECTION_ID()")
        return [r[0] for r in cur.fetchall()]


def mysql_explain(conn, sql):
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("EXPLAIN " + sql)
        return cur.fetchall()


def pg_kind():
    k = Kind()
    k.name = "pg"
    k.big = "p2"
    conn = pgsrc_conn()
    coll = icu_or_libc_collation(conn)
    k.tables = {
        "p2": (["t", "n"], "t text, n int, v text"),
        "p3": (["s", "ts", "u"], "s text, ts timestamptz, u uuid, v int"),
        "pb": (["b", "i"], "b bytea, i int, v text"),
    }
    k.others = {"pdesc": None, "pops": None}
    k.others_ddl = {"pdesc": "a int, b int, v int", "pops": "a text, b int, v int"}
    with conn.cursor() as cur:
        for sql in [
            f"DROP SCHEMA IF EXISTS {DB} CASCADE", f"CREATE SCHEMA {DB}",
            f'CREATE TABLE {DB}.p2 (t text COLLATE "C", n int, v text, PRIMARY KEY (t, n))',
            # upper and lower case: "C" sorts 'K' before 'a'
            f"INSERT INTO {DB}.p2 SELECT CASE i % 3 WHEN 0 THEN 'K' WHEN 1 THEN 'a' ELSE 'k' END"
            f" || (i % 5), i, 'v' || i FROM generate_series(1, {BIG}) i",
            f'CREATE TABLE {DB}.p3 (s text COLLATE "{coll}", ts timestamptz, u uuid, v int,'
            f" PRIMARY KEY (s, ts, u))",
            f"INSERT INTO {DB}.p3 SELECT CASE i % 4 WHEN 0 THEN 'a' WHEN 1 THEN 'B' WHEN 2 THEN 'c'"
            f" ELSE 'D' END, timestamptz '2024-01-01 00:00:00.5+00' + (i % 3) * interval '1 hour',"
            f" md5(i::text)::uuid, i FROM generate_series(1, 5000) i",
            # no primary key: a unique key on NOT NULL columns
            f"CREATE TABLE {DB}.pb (b bytea NOT NULL, i int NOT NULL, v text, UNIQUE (b, i))",
            f"INSERT INTO {DB}.pb SELECT decode(lpad(to_hex(i % 30), 4, '0'), 'hex'), i, 'b' || i"
            f" FROM generate_series(1, 4000) i",
            # indexes not in the columns' own order: passed over
            f"CREATE TABLE {DB}.pdesc (a int NOT NULL, b int NOT NULL, v int)",
            f"CREATE UNIQUE INDEX ON {DB}.pdesc (a, b DESC)",
            f"INSERT INTO {DB}.pdesc SELECT i % 3, i, i FROM generate_series(1, 50) i",
            f"CREATE TABLE {DB}.pops (a text NOT NULL, b int NOT NULL, v int)",
            f"CREATE UNIQUE INDEX ON {DB}.pops (a text_pattern_ops, b)",
            f"INSERT INTO {DB}.pops SELECT 'a' || (i % 3), i, i FROM generate_series(1, 50) i",
        ]:
            cur.execute(sql)
    k.src = conn

    def rows(tb):
        with conn.cursor() as cur:
            cur.execute(f"SELECT * FROM {DB}.{tb}")
            return sorted(tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                          for r in cur.fetchall())
    k.rows = rows

    def keys_in_order(tb):
        cols = k.tables[tb][0]
        with conn.cursor() as cur:
            # ORDER BY the columns, not the text output columns of their names
            cur.execute(f"SELECT {', '.join('x.' + c + '::text' for c in cols)} FROM {DB}.{tb} x"
                        f" ORDER BY {', '.join('x.' + c for c in cols)}")
            return [list(r) for r in cur.fetchall()]
    k.keys_in_order = keys_in_order

    def sessions():
        with conn.cursor() as cur:
            cur.execute("SELECT query FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT %%'"
                        " AND pid <> pg_backend_pid()")
            return [r[0] for r in cur.fetchall()]
    k.sessions = sessions

    def explain(sql):
        inner = re.match(r"^COPY \((.*)\) TO STDOUT$", sql, re.S).group(1)
        with conn.cursor() as cur:
            cur.execute("SET enable_sort = off")   # as the source session of a worker
            cur.execute("EXPLAIN (FORMAT JSON) " + inner)
            plan = cur.fetchone()[0]
            cur.execute("RESET enable_sort")
        return plan
    k.explain = explain
    return k


@pytest.fixture(scope="module", params=["mysql", "pg"])
def kind(request):
    k = mysql_kind() if request.param == "mysql" else pg_kind()
    k.want = {tb: k.rows(tb) for tb in list(k.tables) + list(k.others)}
    yield k
    k.src.close()


def fresh_target(local, kind, slow_ms=10):
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {DB} CASCADE")
        cur.execute(f"CREATE SCHEMA {DB}")
        cur.execute(f"CREATE FUNCTION {DB}.slow() RETURNS trigger LANGUAGE plpgsql"
                    f" AS $$BEGIN PERFORM pg_sleep({slow_ms / 1000.0}); RETURN NULL; END$$")
        ddl = {tb: d for tb, (_, d) in kind.tables.items()}
        ddl.update(kind.others_ddl)
        for tb, cols in ddl.items():
            cur.execute(f"CREATE TABLE {DB}.{tb} ({cols})")
            cur.execute(f"CREATE TRIGGER slow AFTER INSERT ON {DB}.{tb}"
                        f" FOR EACH STATEMENT EXECUTE FUNCTION {DB}.slow()")


def config(kind, log_dir, resumer="", batch=100, tables=None):
    tables = tables or list(kind.tables) + list(kind.others)
    url = env("APE_MYSQL_URL") if kind.name == "mysql" else env("APE_PGSRC_URL")
    return f"""
[extractor]
db_type={kind.name}
url={url}
[sinker]
batch_size={batch}
[filter]
do_tbs={",".join(f"{DB}.{t}" for t in tables)}
[runtime]
log_dir={log_dir}
[resumer]
{resumer}
"""


def target_rows(local, tb):
    with local.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        cur.execute(f"SELECT * FROM {DB}.{tb}")
        return sorted(tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                      for r in cur.fetchall())


def assert_complete(local, kind, tables=None):
    for tb in tables or list(kind.tables) + list(kind.others):
        got = target_rows(local, tb)
        want = kind.want[tb]
        assert len(got) == len(want), (tb, len(got), len(want))
        assert got == want, tb


def progress(local, task):
    with local.cursor() as cur:
        cur.execute("SELECT tb, state, order_col, value, rows_copied FROM ape_resume.progress(%s)",
                    (task,))
        return {r[0]: r[1:] for r in cur.fetchall()}


def position_json(kind, tb, values):
    """The position.log JSON ape-dts writes for a composite key, byte for byte."""
    cols = kind.tables[tb][0]
    return json.dumps({"type": "RdbSnapshot", "db_type": kind.name, "schema": DB, "tb": tb,
                       "order_key": {"composite": [[c, v] for c, v in zip(cols, values)]}},
                      separators=(",", ":"), ensure_ascii=False)


def current_positions(log_dir, tb):
    with open(os.path.join(log_dir, "position.log"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    return [l.split(" | ", 2)[2] for l in lines
            if " | current_position | " in l and f'"schema":"{DB}","tb":"{tb}",' in l]


def wait_rows(local, task, tb, low, total):
    deadline = time.time() + 60
    while time.time() < deadline:
        p = progress(local, task).get(tb)
        if p and p[3] >= low:
            assert p[3] < total, f"{tb} finished before it could be interrupted"
            return p
        time.sleep(0.01)
    raise AssertionError(f"{task} copied nothing of {tb} in 60 s")


def stop_mid_table(local, kind, task, tb=None):
    tb = tb or kind.big
    total = len(kind.want[tb])
    wait_rows(local, task, tb, total // 10, total)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.stop_task(%s)", (task,))
    assert wait_state(local, task, 60) == "stopped"
    state, order_col, value, n = progress(local, task)[tb]
    assert 0 < n < total and state == "copying"
    return json.loads(value)


def test_order_keys_and_positions(local, kind):
    """The order key rules, shown by progress and resume_plan; position.log
    lines of composite tables in the order_key form, byte for byte."""
    task = f"it_ck_keys_{kind.name}"
    drop_task_if_exists(local, task)
    fresh_target(local, kind, slow_ms=0)
    log_dir = fresh_dir(task)
    cfg = config(kind, log_dir, batch=1000)
    with local.cursor() as cur:
        cur.execute("SELECT tb, order_col, action FROM ape_resume.resume_plan(%s, %s)", (task, cfg))
        plan = {r[0]: r[1:] for r in cur.fetchall()}
    want_keys = {tb: json.dumps(cols, separators=(",", ":")) for tb, (cols, _) in kind.tables.items()}
    want_keys.update(kind.others)
    assert plan == {tb: (k, "full") for tb, k in want_keys.items()}
    start(local, task, cfg)
    assert wait_state(local, task, 120) == "finished"
    assert_complete(local, kind)
    got = progress(local, task)
    for tb in kind.tables:
        last = kind.keys_in_order(tb)[-1]
        assert got[tb] == ("finished", want_keys[tb], json.dumps(last, separators=(",", ":"),
                                                                 ensure_ascii=False),
                           len(kind.want[tb])), tb
        lines = current_positions(log_dir, tb)
        assert lines and all('"order_key":{"composite":[' in l for l in lines), tb
        assert lines[-1] == position_json(kind, tb, last), tb
    for tb, oc in kind.others.items():
        assert got[tb][:2] == ("finished", oc), tb
        if oc is None:
            # one transaction, no position
            assert got[tb][2] is None and current_positions(log_dir, tb) == [], tb
    drop_task_if_exists(local, task)


def test_stop_then_resume(local, kind):
    """Each composite table (2 and 3 columns, primary and unique keys)
    stopped mid-table and resumed."""
    for tb in kind.tables:
        task = f"it_ck_stop_{kind.name}_{tb}"
        drop_task_if_exists(local, task)
        fresh_target(local, kind, slow_ms=20)
        log_dir = fresh_dir(task)
        start(local, task, config(kind, log_dir, tables=[tb]))
        value = stop_mid_table(local, kind, task, tb)
        # the catalog's position is the last row committed, and position.log's last line
        keys = kind.keys_in_order(tb)
        n = progress(local, task)[tb][3]
        assert value == keys[n - 1], tb
        assert current_positions(log_dir, tb)[-1] == position_json(kind, tb, value), tb
        assert len(target_rows(local, tb)) == n, tb
        with local.cursor() as cur:
            cur.execute("SELECT action, value, decided_by FROM ape_resume.resume_plan(%s) WHERE tb = %s",
                        (task, tb))
            assert cur.fetchone() == ("resume", json.dumps(value, separators=(",", ":"),
                                                           ensure_ascii=False), "catalog"), tb
            cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
        assert wait_state(local, task, 120) == "finished", tb
        assert_complete(local, kind, [tb])
        assert progress(local, task)[tb][3] == len(keys), tb
        drop_task_if_exists(local, task)


def test_sigkill_mid_batch_then_resume(local, kind):
    """A worker SIGKILLed mid-copy, twice in the big table, then once in
    each other composite table; the launcher resumes each time."""
    task = f"it_ck_kill_{kind.name}"
    fresh_target(local, kind)
    log_dir = fresh_dir(task)
    start(local, task, config(kind, log_dir))
    conn = local
    # the others in the order the worker takes them (see task_state.c)
    wait_rows(conn, task, kind.big, 1, BIG)
    with conn.cursor() as cur:
        cur.execute("SELECT p.tb FROM ape_resume.position p JOIN ape_resume.task t"
                    " ON t.id = p.task_id WHERE t.name = %s"
                    " ORDER BY p.rows_estimated DESC NULLS LAST, p.schema, p.tb", (task,))
        order = [r[0] for r in cur.fetchall()]
    assert order[0] == kind.big, order
    cuts = [(kind.big, 2000), (kind.big, 6000)]
    cuts += [(tb, len(kind.want[tb]) // 5) for tb in order if tb in kind.tables and tb != kind.big]
    for tb, low in cuts:
        wait_rows(conn, task, tb, low, len(kind.want[tb]))
        with conn.cursor() as cur:
            cur.execute("SELECT w.pid FROM ape_resume.worker w JOIN ape_resume.task t"
                        " ON t.id = w.task_id WHERE t.name = %s", (task,))
            pids = [r[0] for r in cur.fetchall()]
        assert pids
        os.kill(pids[0], signal.SIGKILL)
        # the postmaster restarts the server: wait for the cut
        deadline = time.time() + 30
        try:
            while time.time() < deadline:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                time.sleep(0.01)
            raise AssertionError("the server did not restart")
        except psycopg2.Error:
            pass
        conn = connect_local()
    assert wait_state(conn, task, 180) == "finished"
    assert_complete(conn, kind)
    assert progress(conn, task)[kind.big][3] == BIG
    drop_task_if_exists(conn, task)
    conn.close()


def test_new_task_resumes_from_cut_position_log(local, kind):
    """A new task resumes from a position.log whose last lines were cut (the
    files alone): rows past the logged position are replaced, not duplicated."""
    task1, task2 = f"it_ck_cut1_{kind.name}", f"it_ck_cut2_{kind.name}"
    drop_task_if_exists(local, task2)
    fresh_target(local, kind)
    log_dir = fresh_dir(f"it_ck_cut_{kind.name}")
    start(local, task1, config(kind, log_dir))
    value = stop_mid_table(local, kind, task1)
    path = os.path.join(log_dir, "position.log")
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    cut = len(lines) - 9
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines[:cut])
        f.write(lines[cut][:40])           # a torn last line
    kept = [l.split(" | ", 2)[2].strip() for l in lines[:cut]
            if " | current_position | " in l and f'"tb":"{kind.big}",' in l]
    logged = json.loads(kept[-1])["order_key"]["composite"]
    logged = [v for _, v in logged]
    assert logged != value
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.drop_task(%s)", (task1,))
    cfg = config(kind, log_dir, "resume_from_log=true")
    with local.cursor() as cur:
        cur.execute("SELECT action, value, decided_by FROM ape_resume.resume_plan(%s, %s)"
                    " WHERE tb = %s", (task2, cfg, kind.big))
        assert cur.fetchone() == ("resume", json.dumps(logged, separators=(",", ":"),
                                                       ensure_ascii=False), "position.log")
    start(local, task2, cfg)
    assert wait_state(local, task2, 120) == "finished"
    assert_complete(local, kind)
    keys = kind.keys_in_order(kind.big)
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    replaced = keys.index(value) - keys.index(logged)
    assert f'replaced {replaced} rows of "{DB}"."{kind.big}"' in default
    drop_task_if_exists(local, task2)


def test_resume_config_composite_line_mid_table(local, kind):
    """A resume.config order_key line in the middle of each composite table:
    exactly the rows after it are copied."""
    task = f"it_ck_rc_{kind.name}"
    fresh_target(local, kind, slow_ms=0)
    work = fresh_dir(task)
    rc = os.path.join(work, "resume.config")
    at = {}
    with open(rc, "w", encoding="utf-8") as f:
        for tb in kind.tables:
            keys = kind.keys_in_order(tb)
            at[tb] = len(keys) // 2 + 17
            f.write(position_json(kind, tb, keys[at[tb]]) + "\n")
    start(local, task, config(kind, os.path.join(work, "logs"), f"resume_config_file={rc}",
                              batch=500, tables=list(kind.tables)))
    assert wait_state(local, task, 120) == "finished"
    for tb in kind.tables:
        keys = kind.keys_in_order(tb)
        cols = kind.tables[tb][0]
        got = target_rows(local, tb)
        assert len(got) == len(keys) - at[tb] - 1, tb
        # the target's keys, as text, are the source's after the position
        with local.cursor() as cur:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute(f"SELECT {', '.join(c + '::text' for c in cols)} FROM {DB}.{tb}")
            got_keys = sorted(tuple(r) for r in cur.fetchall())
        want = sorted(tuple(k) for k in keys[at[tb] + 1:])
        if kind.name == "mysql":
            want = sorted(tuple(pg_text_of_mysql(v) for v in k) for k in keys[at[tb] + 1:])
        assert got_keys == want, tb
    drop_task_if_exists(local, task)


def pg_text_of_mysql(v):
    """A MySQL position text as the target's column prints it."""
    if re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", v):
        return v.rstrip("0").rstrip(".")
    return v


def test_resumed_query_is_a_range_scan_of_the_key(local, kind):
    """EXPLAIN on the source of the query a resumed copy runs: a range of
    the key's index, no full scan, no sort."""
    task = f"it_ck_plan_{kind.name}"
    fresh_target(local, kind, slow_ms=20)
    work = fresh_dir(task)
    rc = os.path.join(work, "resume.config")
    keys = kind.keys_in_order(kind.big)
    with open(rc, "w", encoding="utf-8") as f:
        f.write(position_json(kind, kind.big, keys[BIG // 10]) + "\n")
    if kind.name == "mysql":
        # the rows of a streamed query fit in the sockets' buffers: the
        # query would leave the process list at once; a lock holds it there
        with kind.src.cursor() as cur:
            cur.execute(f"LOCK TABLES {DB}.{kind.big} WRITE")
    try:
        start(local, task, config(kind, os.path.join(work, "logs"), f"resume_config_file={rc}",
                                  tables=[kind.big]))
        query = None
        deadline = time.time() + 60
        while query is None and time.time() < deadline:
            for q in kind.sessions():
                marker = f"FROM `{DB}`.`{kind.big}`" if kind.name == "mysql" else f'FROM ONLY "{DB}"."{kind.big}"'
                if marker in q and "WHERE" in q:
                    query = q
            time.sleep(0.005)
    finally:
        if kind.name == "mysql":
            with kind.src.cursor() as cur:
                cur.execute("UNLOCK TABLES")
    if query is None:
        with local.cursor() as cur:
            cur.execute("SELECT state, last_error FROM ape_resume.tasks WHERE name = %s", (task,))
            row = cur.fetchone()
        raise AssertionError(f"the resumed query was not seen at the source; task: {row}, "
                             f"progress: {progress(local, task)}")
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.stop_task(%s)", (task,))
    wait_state(local, task, 60)
    if kind.name == "mysql":
        assert re.search(r"FORCE INDEX \(`PRIMARY`\) WHERE \(`g` > \d+ OR \(`g` = \d+ AND `s` > '[^']*'\)\)"
                         r" ORDER BY `g`, `s`$", query), query
        plan = kind.explain(query)
        assert len(plan) == 1, plan
        assert plan[0]["type"] == "range" and plan[0]["key"] == "PRIMARY", plan
        assert "filesort" not in (plan[0]["Extra"] or ""), plan
    else:
        assert re.search(r"""WHERE \("t", "n"\) > \('[^']*', '\d+'\) ORDER BY "t", "n" LIMIT \d+\) TO STDOUT$""",
                         query), query
        plan = kind.explain(query)[0]["Plan"]
        text = json.dumps(plan)
        # the chunk's LIMIT over the scan
        assert plan["Node Type"] == "Limit" and len(plan["Plans"]) == 1, text
        plan = plan["Plans"][0]
        assert plan["Node Type"] in ("Index Scan", "Index Only Scan"), text
        assert plan["Index Name"] == "p2_pkey", text
        assert plan.get("Index Cond", "").startswith("(ROW(t, n) > ROW("), text
        assert '"Sort"' not in text, text
    drop_task_if_exists(local, task)


def test_mysql_zero_dates_in_a_key(local):
    """A zero date becomes -infinity.  In a key, only the all-zero date can:
    2024-05-00 would share -infinity with every other zero date of the key
    and sort where it does not belong, so resuming after it would copy rows
    twice.  Such a table fails with an error naming table, column and
    value, and nothing of it is committed; the all-zero date is copied."""
    db = DB + "_z"
    conn = mysql_conn()
    with conn.cursor() as cur:
        for sql in [
            f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}", f"USE {db}",
            "SET SESSION sql_mode = ''",
            "CREATE TABLE zo (dev int NOT NULL, d datetime NOT NULL, v int, PRIMARY KEY (dev, d))",
            "INSERT INTO zo VALUES (1, '0000-00-00 00:00:00', 1), (1, '2024-01-01', 2),"
            " (2, '0000-00-00 00:00:00', 3)",
            "CREATE TABLE zl (dev int NOT NULL, d datetime NOT NULL, v int, PRIMARY KEY (dev, d))",
            "INSERT INTO zl VALUES (1, '2024-01-01', 1), (1, '2024-05-00', 2), (1, '2024-05-01', 3)",
        ]:
            cur.execute(sql)
    conn.close()
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {db} CASCADE")
        cur.execute("SET TimeZone = 'UTC'")
    url = env("APE_MYSQL_URL")
    for tb, want in [("zo", "finished"), ("zl", "failed")]:
        task = f"it_ck_zero_{tb}"
        cfg = (f"[extractor]\ndb_type=mysql\nurl={url}\n[sinker]\nbatch_size=1\n"
               f"[filter]\ndo_tbs={db}.{tb}\n[runtime]\nlog_dir={fresh_dir(task)}\n")
        start(local, task, cfg)
        assert wait_state(local, task, 60) == want, tb
    with local.cursor() as cur:
        cur.execute(f"SELECT dev, d::text, v FROM {db}.zo ORDER BY v")
        assert cur.fetchall() == [(1, "-infinity", 1), (1, "2024-01-01 00:00:00", 2),
                                  (2, "-infinity", 3)]
        cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = 'it_ck_zero_zl'")
        err = cur.fetchone()[0]
        assert f'table "{db}"."zl" column "d": zero date "2024-05-00 00:00:00" in the order key' in err
        cur.execute(f"SELECT count(*) FROM {db}.zl")
        assert cur.fetchone()[0] == 1   # the batch before the zero date, and no more
        cur.execute("SELECT state, rows_copied FROM ape_resume.progress('it_ck_zero_zl')")
        assert cur.fetchall() == [("copying", 1)]
    for tb in ("zo", "zl"):
        drop_task_if_exists(local, f"it_ck_zero_{tb}")
