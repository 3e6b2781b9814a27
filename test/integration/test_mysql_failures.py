"""MySQL source failures: an unreachable server, a wrong password, a table
dropped at the source mid-copy, the server killed mid-table, and values or
types PostgreSQL cannot take. Each task ends `failed` with a message naming
the cause (and the table and column where there is one), never showing the
password, and what was committed before the failure is exact: the rows are
those of the source up to the table's catalog position, which is the
largest key copied. A failed task resumes to an exact copy.

The mid-copy failures are made deterministic with a gate on the target: a
trigger holds the worker's insert of one row until the test opens it, so
the test knows that batches were committed and the source is still
streaming when it drops a table or kills the server.

A read that the source holds back (another session's LOCK TABLES ... WRITE
makes the worker's SELECT wait for a metadata lock) is interruptible: the
worker waits on its latch, so pg_terminate_backend ends it at once rather
than after the 600 s read timeout; and a statement time limit of the
MariaDB account (MAX_STATEMENT_TIME) does not kill that SELECT, since the
worker's session resets it.
"""
import os
import signal
import socket
import subprocess
import time

import psycopg2
import pymysql
import pytest

from conftest import REPO, env, wait_state, drop_task_if_exists

PASSWORD = "mysql_secret_pw"


def mysql_connect(**kw):
    return pymysql.connect(host="127.0.0.1", port=int(env("APE_MYSQL_PORT")), user="ape",
                           password=PASSWORD, charset="utf8mb4", autocommit=True, **kw)


def server_log_path():
    return os.path.join(env("APE_TESTBED"), "local", "server.log")


def read_from(path, offset):
    with open(path, errors="replace") as f:
        f.seek(offset)
        return f.read()


def log_dir_of(task):
    return os.path.join(env("APE_SHARED_DIR"), task)


def start(local, task, url, dbs, batch_size=10, extra=""):
    drop_task_if_exists(local, task)
    log_dir = log_dir_of(task)
    subprocess.run(["rm", "-rf", log_dir], check=True)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, f"""
[extractor]
db_type=mysql
url={url}
[sinker]
batch_size={batch_size}
[filter]
do_dbs={dbs}
[runtime]
log_dir={log_dir}
{extra}
"""))
    return log_dir


def task_row(local, task):
    with local.cursor() as cur:
        cur.execute("SELECT state, last_error, source_url, row_to_json(t)::text"
                    " FROM ape_resume.tasks t WHERE name = %s", (task,))
        return cur.fetchone()


def progress(local, task):
    with local.cursor() as cur:
        cur.execute("SELECT tb, state, order_col, value, rows_copied"
                    " FROM ape_resume.progress(%s)", (task,))
        return {r[0]: r[1:] for r in cur.fetchall()}


def assert_secret_nowhere(local, task, secrets, log_start):
    """No secret in the task row (all columns), its progress rows, its
    default.log and what the server logged since log_start."""
    with local.cursor() as cur:
        cur.execute("SELECT row_to_json(t)::text FROM ape_resume.tasks t WHERE name = %s", (task,))
        texts = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT row_to_json(p)::text FROM ape_resume.progress(%s) p", (task,))
        texts += [r[0] for r in cur.fetchall()]
    default = os.path.join(log_dir_of(task), "default.log")
    if os.path.exists(default):
        texts.append(open(default, errors="replace").read())
    texts.append(read_from(server_log_path(), log_start))
    for secret in secrets:
        for t in texts:
            assert secret not in t, (secret, t[-500:])


def closed_port():
    """A TCP port on 127.0.0.1 where nothing listens."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def gate_target(local, db, tb, at_id):
    """Create the target table db.tb with a trigger that holds the worker's
    insert of row at_id until open_gate(): the rows before it are committed
    batches, and the source keeps streaming meanwhile."""
    with local.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{db}" CASCADE')
        cur.execute(f'CREATE SCHEMA "{db}"')
        cur.execute(f'CREATE TABLE "{db}"."{tb}" (id int PRIMARY KEY, v text)')
        cur.execute(f'CREATE TABLE "{db}".gate (open boolean)')
        cur.execute(f"""CREATE FUNCTION "{db}".hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id = {int(at_id)} THEN
    WHILE NOT EXISTS (SELECT 1 FROM "{db}".gate) LOOP PERFORM pg_sleep(0.02); END LOOP;
  END IF;
  RETURN NEW;
END $$""")
        cur.execute(f'CREATE TRIGGER hold BEFORE INSERT ON "{db}"."{tb}" '
                    f'FOR EACH ROW EXECUTE FUNCTION "{db}".hold()')


def wait_held(local, timeout=30):
    """Wait until a worker sleeps in the gate's trigger."""
    deadline = time.time() + timeout
    with local.cursor() as cur:
        while time.time() < deadline:
            cur.execute("SELECT 1 FROM pg_stat_activity WHERE backend_type = 'ape_resume task'"
                        " AND wait_event = 'PgSleep'")
            if cur.fetchone():
                return
            time.sleep(0.02)
    raise AssertionError(f"no worker waited at the gate within {timeout}s")


def open_gate(local, db):
    with local.cursor() as cur:
        cur.execute(f'INSERT INTO "{db}".gate VALUES (true)')


def drop_gate(local, db, tb):
    with local.cursor() as cur:
        cur.execute(f'DROP TRIGGER hold ON "{db}"."{tb}"')


def create_db(db, tables):
    """tables: {name: nrows}; each table (id int primary key, v varchar)."""
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {db}")
        cur.execute(f"CREATE DATABASE {db}")
        for tb, n in tables.items():
            cur.execute(f"CREATE TABLE {db}.{tb} (id int NOT NULL PRIMARY KEY, v varchar(40))")
            cur.executemany(f"INSERT INTO {db}.{tb} VALUES (%s, %s)",
                            [(i, f"{tb}-{i}-\u00e9\U0001F600") for i in range(1, n + 1)])
    conn.close()


def source_rows(db, tb):
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute(f"SELECT id, v FROM {db}.{tb} ORDER BY id")
        rows = [tuple(r) for r in cur.fetchall()]
    conn.close()
    return rows


def target_rows(local, db, tb):
    with local.cursor() as cur:
        cur.execute(f'SELECT id, v FROM "{db}"."{tb}" ORDER BY id')
        return [tuple(r) for r in cur.fetchall()]


def assert_committed_exact(local, task, db, tb, src):
    """The rows of db.tb in the target are exactly the source rows up to the
    catalog position, and the position is the largest key copied."""
    p = progress(local, task)[tb]
    dst = target_rows(local, db, tb)
    assert dst, (tb, p)
    assert p[1] == "id" and p[2] == str(dst[-1][0]), (tb, p, dst[-1])
    assert p[3] == len(dst), (tb, p, len(dst))
    assert dst == [r for r in src if r[0] <= int(p[2])], tb
    return len(dst)


def assert_other_tables(local, task, db, tables):
    """Tables other than the failing one are copied whole or not at all
    (the task copies its biggest tables first, by the source's estimate)."""
    p = progress(local, task)
    for tb in tables:
        src = source_rows(db, tb)
        if p[tb][0] == "finished":
            assert p[tb][1:] == ("id", str(len(src)), len(src)), (tb, p[tb])
            assert target_rows(local, db, tb) == src, tb
        else:
            assert p[tb][0] == "pending" and p[tb][3] == 0, (tb, p[tb])
            with local.cursor() as cur:
                cur.execute(f"SELECT count(*) FROM pg_class WHERE oid = to_regclass(%s)"
                            f" AND reltuples > 0", (f"{db}.{tb}",))
                if cur.fetchone()[0]:
                    assert target_rows(local, db, tb) == [], tb


def test_unreachable_host(local):
    task, secret = "it_fail_unreach", "Unreach_Pw_7a3"
    port = closed_port()
    log_start = os.path.getsize(server_log_path())
    t0 = time.time()
    start(local, task, f"mysql://ape:{secret}@127.0.0.1:{port}", "it_fail_x")
    assert wait_state(local, task, 60) == "failed"
    assert time.time() - t0 < 30
    state, error, url, _ = task_row(local, task)
    assert state == "failed"
    assert f'could not connect to MySQL server "127.0.0.1:{port}"' in error, error
    assert "Can't connect" in error, error
    assert url == f"mysql://ape:*****@127.0.0.1:{port}"
    assert f'task "{task}" failed' in read_from(server_log_path(), log_start)
    assert_secret_nowhere(local, task, [secret], log_start)


def test_wrong_password(local):
    task = "it_fail_pw"
    secret = "Wrong_Pw_91x@:/"  # percent-encoded in the URL
    encoded = "Wrong_Pw_91x%40%3A%2F"
    log_start = os.path.getsize(server_log_path())
    start(local, task, f"mysql://ape:{encoded}@127.0.0.1:{env('APE_MYSQL_PORT')}", "it_fail_x")
    assert wait_state(local, task, 60) == "failed"
    state, error, url, _ = task_row(local, task)
    assert state == "failed"
    assert f'could not connect to MySQL server "127.0.0.1:{env("APE_MYSQL_PORT")}"' in error
    assert "Access denied for user 'ape'" in error, error
    assert url == f"mysql://ape:*****@127.0.0.1:{env('APE_MYSQL_PORT')}"
    assert_secret_nowhere(local, task, [secret, encoded, "Wrong_Pw_91x"], log_start)


def test_table_dropped_mid_copy(local):
    """A source table dropped while the task runs: the table being read is
    protected by its query (MySQL's metadata lock waits for it), so the drop
    hits the table copied next, and the task fails naming it, with what was
    committed exact; once the table is back, a resume completes the copy."""
    task, db = "it_fail_drop", "it_fail_drop"
    create_db(db, {"t_a": 25, "t_b": 100, "t_c": 5})
    src_a, src_b, src_c = source_rows(db, "t_a"), source_rows(db, "t_b"), source_rows(db, "t_c")
    gate_target(local, db, "t_b", 11)
    start(local, task, env("APE_MYSQL_URL"), db, batch_size=10)
    # t_b, the largest, goes first: its first batch is committed, the worker
    # waits at row 11 while t_c is dropped at the source
    wait_held(local)
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE {db}.t_c")
    conn.close()
    open_gate(local, db)
    assert wait_state(local, task, 60) == "failed"

    state, error, _, _ = task_row(local, task)
    assert '"it_fail_drop"."t_c"' in error and "doesn't exist" in error, error
    assert PASSWORD not in error
    p = progress(local, task)
    assert p["t_b"] == ("finished", "id", "100", 100), p["t_b"]
    assert target_rows(local, db, "t_b") == src_b
    assert p["t_c"][0] == "copying" and p["t_c"][3] == 0, p["t_c"]
    assert_other_tables(local, task, db, ["t_a"])
    with open(os.path.join(log_dir_of(task), "position.log")) as f:
        last_b = [l for l in f if '"tb":"t_b"' in l][-1]
    assert '"order_col":"id","value":"100"}' in last_b, last_b

    # the table comes back: the failed task resumes to an exact copy
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {db}.t_c (id int NOT NULL PRIMARY KEY, v varchar(40))")
        cur.executemany(f"INSERT INTO {db}.t_c VALUES (%s, %s)", src_c)
    conn.close()
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
    assert wait_state(local, task, 60) == "finished", task_row(local, task)
    assert target_rows(local, db, "t_b") == src_b
    assert target_rows(local, db, "t_a") == src_a
    assert target_rows(local, db, "t_c") == src_c
    assert progress(local, task)["t_c"] == ("finished", "id", "5", 5)


# t_b of the kill tests: more than the socket buffers hold (about 65 MB,
# where Linux allows 6 MB by default), so that the server is still sending
# it when it dies
BIG_T_B = 300000


def mariadb_pid():
    with open(os.path.join(env("APE_TESTBED"), "mariadb", "pid")) as f:
        return int(f.read().split()[0])


def start_mariadb():
    subprocess.run(["bash", os.path.join(REPO, "test", "testbed.sh"), "start", "mariadb"],
                   check=True, capture_output=True)


def kill_mariadb_mid_table(local, task, db, batch_size=10):
    """Start task on db (tables t_a, t_b; t_b large enough that the source
    is still sending it) and SIGKILL MariaDB while the worker is held at row
    batch_size + 1 of t_b; then let it go on.  MariaDB stays down."""
    gate_target(local, db, "t_b", batch_size + 1)
    start(local, task, env("APE_MYSQL_URL"), db, batch_size=batch_size)
    wait_held(local)
    pid = mariadb_pid()
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 30
    while os.path.exists(f"/proc/{pid}") and time.time() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}")
    open_gate(local, db)


def grow_t_b(db, rows):
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute(f"USE {db}")
        cur.execute(f"ALTER TABLE {db}.t_b MODIFY v varchar(300)")
        cur.execute(f"INSERT INTO {db}.t_b SELECT seq, concat('t_b-', seq, '-', repeat('x', 200)) "
                    f"FROM seq_101_to_{rows}")
    conn.close()


def retry_lines(task):
    path = os.path.join(log_dir_of(task), "default.log")
    with open(path, errors="replace") as f:
        return [l for l in f if "retrying in" in l]


def test_server_killed_and_back_within_retries(local):
    """The source is lost mid-table and comes back while the worker retries
    with backoff: the task finishes, every row exactly once."""
    task, db = "it_fail_kill_back", "it_fail_kill_back"
    create_db(db, {"t_a": 12, "t_b": 100})
    grow_t_b(db, BIG_T_B)
    src_a, src_b = source_rows(db, "t_a"), source_rows(db, "t_b")
    log_start = os.path.getsize(server_log_path())
    try:
        kill_mariadb_mid_table(local, task, db)
        # the worker notices and waits to retry
        deadline = time.time() + 20
        while not retry_lines(task) and time.time() < deadline:
            time.sleep(0.1)
        assert retry_lines(task), "no retry logged"
    finally:
        start_mariadb()
    assert wait_state(local, task, 90) == "finished", task_row(local, task)
    lines = retry_lines(task)
    assert any('"it_fail_kill_back"."t_b"' in l for l in lines), lines
    assert target_rows(local, db, "t_a") == src_a
    assert target_rows(local, db, "t_b") == src_b
    assert progress(local, task)["t_b"] == ("finished", "id", str(BIG_T_B), BIG_T_B)
    log = read_from(server_log_path(), log_start)
    assert "terminated by signal" not in log and PASSWORD not in log


def test_server_killed_and_gone(local):
    """The source is lost mid-table and stays away: after its retries the
    task fails; what was committed is exact, and a resume once the server is
    back completes the copy exactly."""
    task, db = "it_fail_kill", "it_fail_kill"
    create_db(db, {"t_a": 12, "t_b": 100})
    grow_t_b(db, BIG_T_B)
    src_a, src_b = source_rows(db, "t_a"), source_rows(db, "t_b")
    log_start = os.path.getsize(server_log_path())
    try:
        kill_mariadb_mid_table(local, task, db)
        t0 = time.time()
        state = wait_state(local, task, 120)
        elapsed = time.time() - t0
    finally:
        start_mariadb()
    assert state == "failed", task_row(local, task)
    error = task_row(local, task)[1]
    assert elapsed < 90
    assert "MySQL server \"127.0.0.1:" in error, error
    assert PASSWORD not in error
    assert 'while copying table "it_fail_kill"."t_b"' in error, error
    lines = retry_lines(task)
    assert lines and all('"it_fail_kill"."t_b"' in l for l in lines), lines
    # what the worker had received when the server died was committed, in
    # whole batches; nothing after it
    committed = assert_committed_exact(local, task, db, "t_b", src_b)
    assert 10 <= committed < BIG_T_B and committed % 10 == 0, committed
    assert_other_tables(local, task, db, ["t_a"])
    log = read_from(server_log_path(), log_start)
    assert "terminated by signal" not in log and PASSWORD not in log

    # the server is back: the failed task resumes to an exact copy
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
    assert wait_state(local, task, 60) == "finished", task_row(local, task)
    assert target_rows(local, db, "t_a") == src_a
    assert target_rows(local, db, "t_b") == src_b
    assert progress(local, task)["t_b"] == ("finished", "id", str(BIG_T_B), BIG_T_B)


BAD_VALUES = [
    # (table DDL, rows, column, what the message says)
    ("(id int PRIMARY KEY, j json)",
     [(1, '{"a": 1}'), (2, '[]'), (3, '"\\u0000"'), (4, '{}')],
     "j", "unsupported Unicode escape sequence"),
    ("(id int PRIMARY KEY, t text)",
     [(1, "a"), (2, "b"), (3, "nul\x00byte"), (4, "d")],
     "t", "a value holds a NUL character or invalid UTF-8"),
    ("(id int PRIMARY KEY, d date)",
     [(1, "2020-01-01"), (2, "2020-02-28"), (3, "2020-02-31"), (4, "2020-03-01")],
     "d", "out of range"),
]


@pytest.mark.parametrize("case", range(len(BAD_VALUES)))
def test_value_postgres_cannot_take(local, case):
    """A value PostgreSQL rejects fails the task with the table and column
    in the message; the batches before it stay committed, exactly."""
    ddl, rows, col, what = BAD_VALUES[case]
    task, db = f"it_fail_value_{case}", f"it_fail_value_{case}"
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'")
        cur.execute(f"DROP DATABASE IF EXISTS {db}")
        cur.execute(f"CREATE DATABASE {db}")
        cur.execute(f"CREATE TABLE {db}.bad {ddl}")
        cur.executemany(f"INSERT INTO {db}.bad VALUES (%s, %s)", rows)
    conn.close()
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {db} CASCADE")
    start(local, task, env("APE_MYSQL_URL"), db, batch_size=2)
    assert wait_state(local, task, 60) == "failed"
    error = task_row(local, task)[1]
    assert f'table "{db}"."bad" column "{col}"' in error, error
    assert what in error, error
    with local.cursor() as cur:
        cur.execute(f"SELECT id FROM {db}.bad ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == [1, 2]
    assert progress(local, task)["bad"][2:] == ("2", 2)


def test_unsupported_type(local):
    """A column type without a mapping fails the task before anything is
    copied, naming table, column and type."""
    task, db = "it_fail_type", "it_fail_type"
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {db}")
        cur.execute(f"CREATE DATABASE {db}")
        cur.execute(f"CREATE TABLE {db}.a_ok (id int PRIMARY KEY)")
        cur.execute(f"INSERT INTO {db}.a_ok VALUES (1)")
        cur.execute(f"CREATE TABLE {db}.geo (id int PRIMARY KEY, `the place` point)")
    conn.close()
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {db} CASCADE")
    start(local, task, env("APE_MYSQL_URL"), db)
    assert wait_state(local, task, 60) == "failed"
    error = task_row(local, task)[1]
    assert error == (f'column "the place" of table "{db}"."geo" has type "point",'
                     f' which cannot be copied'), error
    with local.cursor() as cur:
        cur.execute(f"SELECT to_regclass('{db}.a_ok')")
        assert cur.fetchone()[0] is None


def test_nullable_unique_key_with_nulls(local):
    """A table whose only key is a nullable unique column holding NULLs has
    no resume position for its NULL rows: it is copied whole, in one
    transaction, with every row (earlier, rows after the first NULLs were
    lost or the task failed on an empty position)."""
    task, db = "it_fail_nulluk", "it_fail_nulluk"
    conn = mysql_connect()
    rows = [(None, 1), (None, 2), (None, 3), ("", 4), ("a", 5), ("b", 6), (None, 7)]
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {db}")
        cur.execute(f"CREATE DATABASE {db}")
        cur.execute(f"CREATE TABLE {db}.with_nulls (k varchar(5) NULL, v int, UNIQUE KEY (k))")
        cur.executemany(f"INSERT INTO {db}.with_nulls VALUES (%s, %s)", rows)
        cur.execute(f"CREATE TABLE {db}.no_nulls (k int NULL, v int, UNIQUE KEY (k))")
        cur.executemany(f"INSERT INTO {db}.no_nulls VALUES (%s, %s)", [(i, i) for i in range(5)])
    conn.close()
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {db} CASCADE")
    start(local, task, env("APE_MYSQL_URL"), db, batch_size=2)
    assert wait_state(local, task, 60) == "finished", task_row(local, task)
    with local.cursor() as cur:
        cur.execute(f"SELECT k, v FROM {db}.with_nulls ORDER BY v")
        assert [tuple(r) for r in cur.fetchall()] == rows
        cur.execute(f"SELECT count(*) FROM {db}.no_nulls")
        assert cur.fetchone()[0] == 5
    p = progress(local, task)
    assert p["with_nulls"] == ("finished", None, None, 7), p
    assert p["no_nulls"] == ("finished", "k", "4", 5), p


def mariadb_root(sql):
    """Run sql as MariaDB's root, over the unix socket (root@localhost
    authenticates by unix_socket: the tests run as root, see testbed.sh);
    ape may not GRANT."""
    subprocess.run(["mariadb", "--no-defaults", "--socket=" + env("APE_MYSQL_SOCKET"), "-uroot",
                    "-e", sql], check=True, capture_output=True)


def lock_for_write(db, tb):
    """A MariaDB session holding LOCK TABLES db.tb WRITE: a SELECT of the
    table by any other session waits for the metadata lock until
    UNLOCK TABLES (or the session's end)."""
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute(f"LOCK TABLES {db}.{tb} WRITE")
    return conn


def unlock(conn):
    try:
        with conn.cursor() as cur:
            cur.execute("UNLOCK TABLES")
    finally:
        conn.close()


def wait_lock_waiter(db, user="ape", timeout=30):
    """The MariaDB processlist id of a statement of user on db that waits
    for a table lock (the worker's SELECT of the locked table)."""
    conn = mysql_connect()
    try:
        deadline = time.time() + timeout
        with conn.cursor() as cur:
            while time.time() < deadline:
                cur.execute("SELECT ID FROM information_schema.PROCESSLIST"
                            " WHERE USER = %s AND ID <> CONNECTION_ID()"
                            " AND STATE LIKE 'Waiting for table%%' AND INFO LIKE %s",
                            (user, f"%{db}%"))
                row = cur.fetchone()
                if row:
                    return row[0]
                time.sleep(0.05)
    finally:
        conn.close()
    raise AssertionError(f"no statement of {user} on {db} waited for the lock within {timeout}s")


def lock_waiter_still_there(pid):
    conn = mysql_connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = %s", (pid,))
            row = cur.fetchone()
            return row is not None and (row[0] or "").startswith("Waiting for table")
    finally:
        conn.close()


def task_worker_pids(local, task):
    with local.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'ape_resume task'"
                    " AND (application_name = %s OR application_name LIKE %s)",
                    (f"ape_resume {task}", f"ape_resume {task} %"))
        return [r[0] for r in cur.fetchall()]


def test_blocked_read_is_interruptible(local):
    """The worker's SELECT waits at the source behind another session's
    LOCK TABLES ... WRITE: the worker waits on its latch (wait event
    Extension, not a recv() that only the 600 s read timeout ends), so
    pg_terminate_backend ends it within seconds while the lock is still
    held.  Once the lock is released, a resume copies every row exactly."""
    task, db = "it_fail_blocked", "it_fail_blocked"
    n = 3000
    create_db(db, {"t": n})
    src = source_rows(db, "t")
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {db} CASCADE")
    locker = lock_for_write(db, "t")
    try:
        start(local, task, env("APE_MYSQL_URL"), db, batch_size=100)
        wait_lock_waiter(db)
        pids = task_worker_pids(local, task)
        assert pids, "no worker of the task in pg_stat_activity"
        # the worker sits in the latch wait of the MySQL source
        deadline = time.time() + 20
        with local.cursor() as cur:
            while True:
                cur.execute("SELECT wait_event_type, wait_event FROM pg_stat_activity"
                            " WHERE pid = %s", (pids[0],))
                row = cur.fetchone()
                if row == ("Extension", "Extension") or time.time() > deadline:
                    break
                time.sleep(0.05)
        assert row == ("Extension", "Extension"), row
        assert task_row(local, task)[0] == "running"

        t0 = time.time()
        with local.cursor() as cur:
            for pid in pids:
                cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
        while task_worker_pids(local, task) and time.time() - t0 < 20:
            time.sleep(0.05)
        elapsed = time.time() - t0
        # the lock was held all along: the worker left while its read was
        # still held back (MariaDB drops the waiting SELECT of a client that
        # went away, so the waiter itself need not be there any more)
        assert not task_worker_pids(local, task), "the worker outlived pg_terminate_backend by 20 s"
        assert elapsed < 20, elapsed
        state = wait_state(local, task, 60)
        assert state == "interrupted", task_row(local, task)
    finally:
        unlock(locker)

    # nothing was committed; the resumed task copies the table exactly
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
    assert wait_state(local, task, 60) == "finished", task_row(local, task)
    assert target_rows(local, db, "t") == src
    assert progress(local, task)["t"] == ("finished", "id", str(n), n)


MST_USER, MST_PASSWORD = "ape_mst", "Mst_Pw_5521"


def test_account_statement_time_limit_is_reset(local):
    """A MariaDB account with MAX_STATEMENT_TIME 0.5 (its sessions start
    with max_statement_time = 0.5): a SELECT of its own that waits for a
    lock is killed after half a second, but the worker's SELECT, which waits
    for the same lock for seconds, is not (the worker's session sets
    max_statement_time = 0), and the task copies every row once the lock is
    released.  A lock wait is used because its length is set by the test;
    the MariaDB kill of a statement waiting for a metadata lock is prompt."""
    task, db = "it_fail_mst", "it_fail_mst"
    n = 500
    create_db(db, {"t": n})
    src = source_rows(db, "t")
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {db} CASCADE")
    mariadb_root(f"CREATE OR REPLACE USER '{MST_USER}'@'127.0.0.1' IDENTIFIED BY '{MST_PASSWORD}'"
                 f" WITH MAX_STATEMENT_TIME 0.5;"
                 f" GRANT SELECT ON {db}.* TO '{MST_USER}'@'127.0.0.1'")
    locker = None
    try:
        limited = pymysql.connect(host="127.0.0.1", port=int(env("APE_MYSQL_PORT")),
                                  user=MST_USER, password=MST_PASSWORD, charset="utf8mb4",
                                  autocommit=True, read_timeout=60)
        try:
            with limited.cursor() as cur:
                cur.execute("SELECT @@max_statement_time")
                assert float(cur.fetchone()[0]) == 0.5
                locker = lock_for_write(db, "t")
                # the control: the account's limit kills a SELECT waiting for the lock
                t0 = time.time()
                with pytest.raises(pymysql.err.OperationalError) as e:
                    cur.execute(f"SELECT count(*) FROM {db}.t")
                # ER_STATEMENT_TIMEOUT (ER_QUERY_INTERRUPTED on other versions)
                assert e.value.args[0] in (1969, 1317), e.value.args
                assert time.time() - t0 < 30
        finally:
            limited.close()

        url = f"mysql://{MST_USER}:{MST_PASSWORD}@127.0.0.1:{env('APE_MYSQL_PORT')}"
        start(local, task, url, db, batch_size=50)
        waiter = wait_lock_waiter(db, user=MST_USER)
        time.sleep(3)  # six times the account's limit
        assert lock_waiter_still_there(waiter), "the worker's SELECT was killed"
        state, error, _, _ = task_row(local, task)
        assert state == "running" and error is None, (state, error)
        unlock(locker)
        locker = None
        assert wait_state(local, task, 60) == "finished", task_row(local, task)
        assert target_rows(local, db, "t") == src
        assert progress(local, task)["t"] == ("finished", "id", str(n), n)
        error = task_row(local, task)[1]
        assert error is None, error
        default = os.path.join(log_dir_of(task), "default.log")
        if os.path.exists(default):
            with open(default, errors="replace") as f:
                assert "retrying in" not in f.read()
    finally:
        if locker is not None:
            unlock(locker)
        mariadb_root(f"DROP USER IF EXISTS '{MST_USER}'@'127.0.0.1'")


KG_USER, KG_PASSWORD = "ape_keygone", "Keygone_Pw_3c"


def test_helper_refuses_a_position_on_a_key_the_table_lost(local):
    """A helper worker lists the tables itself, after the coordinator.  The
    order key of nk is its nullable unique column u, which holds no NULL
    when the coordinator lists the tables and one when the helper does
    (the helper waits for the source meanwhile: its account may open one
    connection, the coordinator's).  The helper must not read nk on
    another key than its committed position's (it would copy the whole
    table again onto its rows): the task fails with an error naming both
    keys, nk's committed rows stay as they were, and once the NULL is gone
    the task resumes and copies every row of both tables once."""
    task, db = "it_fail_keygone", "it_fail_keygone"

    def nk_rows():
        with local.cursor() as cur:
            cur.execute(f"SELECT u, v FROM {db}.nk ORDER BY u")
            return [tuple(r) for r in cur.fetchall()]
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {db}")
        cur.execute(f"CREATE DATABASE {db}")
        cur.execute(f"USE {db}")
        cur.execute(f"CREATE TABLE {db}.big (id int PRIMARY KEY, v int)")
        cur.execute(f"INSERT INTO {db}.big SELECT seq, seq FROM seq_1_to_3000")
        cur.execute(f"CREATE TABLE {db}.nk (u int NULL, v int, UNIQUE KEY (u))")
        cur.execute(f"INSERT INTO {db}.nk SELECT seq, seq FROM seq_1_to_1000")
        cur.execute(f"ANALYZE TABLE {db}.big, {db}.nk")
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {db} CASCADE")
        cur.execute(f"CREATE SCHEMA {db}")
        cur.execute(f"CREATE FUNCTION {db}.slow() RETURNS trigger LANGUAGE plpgsql"
                    f" AS $$BEGIN PERFORM pg_sleep(0.02); RETURN NULL; END$$")
        for tb in ("big", "nk"):
            cur.execute(f"CREATE TABLE {db}.{tb} ({'id' if tb == 'big' else 'u'} int, v int)")
            cur.execute(f"CREATE TRIGGER slow AFTER INSERT ON {db}.{tb}"
                        f" FOR EACH STATEMENT EXECUTE FUNCTION {db}.slow()")
    mariadb_root(f"CREATE OR REPLACE USER '{KG_USER}'@'127.0.0.1' IDENTIFIED BY '{KG_PASSWORD}';"
                 f" GRANT SELECT ON {db}.* TO '{KG_USER}'@'127.0.0.1'")
    try:
        url = f"mysql://{KG_USER}:{KG_PASSWORD}@127.0.0.1:{env('APE_MYSQL_PORT')}"
        start(local, task, url, db, batch_size=10, extra="[parallelizer]\nparallel_size=2")
        # the coordinator takes big (more rows), the helper nk
        deadline = time.time() + 60
        while (progress(local, task).get("nk") or (0, 0, 0, 0))[3] < 200:
            assert time.time() < deadline, progress(local, task)
            time.sleep(0.01)
        with local.cursor() as cur:
            cur.execute("SELECT ape_resume.stop_task(%s)", (task,))
        assert wait_state(local, task, 60) == "stopped"
        p = progress(local, task)
        assert p["nk"][:2] == ("copying", "u") and 0 < p["nk"][3] < 1000, p
        assert p["big"][3] < 2500, p
        committed = p["nk"][3]
        assert nk_rows() == [(i, i) for i in range(1, committed + 1)]

        mariadb_root(f"ALTER USER '{KG_USER}'@'127.0.0.1' WITH MAX_USER_CONNECTIONS 1")
        with local.cursor() as cur:
            cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
        deadline = time.time() + 60
        while not [l for l in retry_lines(task) if "while connecting" in l]:
            assert time.time() < deadline, "the helper did not wait for the source"
            time.sleep(0.01)
        with conn.cursor() as cur:
            cur.execute(f"INSERT INTO {db}.nk VALUES (NULL, 0)")
        mariadb_root(f"ALTER USER '{KG_USER}'@'127.0.0.1' WITH MAX_USER_CONNECTIONS 0")
        assert wait_state(local, task, 120) == "failed", task_row(local, task)
        error = task_row(local, task)[1]
        assert f'the order key of table "{db}"."nk" changed at the source during the task' in error, error
        # the task stops there, as on a NULL found mid-copy; nk as it was
        p = progress(local, task)
        assert p["nk"] == ("copying", "u", str(committed), committed), p
        assert nk_rows() == [(i, i) for i in range(1, committed + 1)]
        # the NULL removed, the task resumes on u and copies every row once
        with conn.cursor() as cur:
            cur.execute(f"DELETE FROM {db}.nk WHERE u IS NULL")
        with local.cursor() as cur:
            cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
        assert wait_state(local, task, 120) == "finished", task_row(local, task)
        p = progress(local, task)
        assert p == {"big": ("finished", "id", "3000", 3000),
                     "nk": ("finished", "u", "1000", 1000)}, p
        assert nk_rows() == [(i, i) for i in range(1, 1001)]
        assert target_rows(local, db, "big") == [(i, i) for i in range(1, 3001)]
    finally:
        conn.close()
        mariadb_root(f"DROP USER IF EXISTS '{KG_USER}'@'127.0.0.1'")
