"""Rows are ingested through COPY's binary format when every target column
has a fast encoder (src/copy_binary.c), else through COPY's text format.

These tests check which path a table takes, and that values in forms the
fast encoders leave to the types' input functions (existing target tables
whose column types differ from the source's) come out exactly as through
the text format, bad values failing with the same message naming table and
column. test_mysql_types.py compares every MySQL type both ways.
"""
import os
import re
import shutil

import pytest

from conftest import env, server_setting, wait_state, drop_task_if_exists

DB = "it_binary"

# (column, MySQL type, existing target type, MySQL values for ids 1..n)
ODD_COLUMNS = [
    ("dbl", "double", "numeric", ["1e300", "0.5", "-1.25e-7", "0"]),
    ("dt", "datetime(6)", "timestamp(6) with time zone",
     ["2020-01-01 10:00:00", "2020-06-30 23:59:59.999999", "1000-01-01 00:00:00", None]),
    ("i", "varchar(20)", "integer", [" 42 ", "-0", "+7", "2147483647"]),
    ("d", "varchar(20)", "date", ["infinity", "2020-02-29", "epoch", "0099-01-01"]),
    ("ts", "varchar(40)", "timestamp(3) without time zone",
     ["2020-01-01 10:00:00.1234567", "2020-01-01T10:00:00", "2020-01-01 23:59:59.9999",
      "2001-02-03 04:05:06"]),
    ("n", "varchar(40)", "numeric(12,2)", ["1.5e3", "  3.14159 ", "-0.005", "NaN"]),
    ("b", "varchar(10)", "boolean", ["true", "t", "off", "F"]),
    ("by", "varchar(20)", "bytea", ["\\x4142", "abc", "\\x41", "\\x"]),
    ("bits", "varchar(20)", "bit varying(8)", ["0101", "x0f", "B11", "1"]),
    ("iv", "varchar(40)", "interval", ["25:00:00", "1 day 02:00", "-00:00:01.5", "P1Y2M"]),
    ("f4", "varchar(20)", "real", ["1e-30", "3.5", "inf", "-0"]),
    ("js", "varchar(40)", "jsonb", ['{"b": 1, "a": 2}', "[1, 2.50]", '"x"', "null"]),
]


def mysql_connect():
    import pymysql
    return pymysql.connect(host="127.0.0.1", port=int(env("APE_MYSQL_PORT")), user="ape",
                           password="mysql_secret_pw", charset="utf8mb4", autocommit=True)


def make_source(tables):
    """tables: name -> (column DDL, rows)."""
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB}")
        cur.execute(f"CREATE DATABASE {DB} CHARACTER SET utf8mb4")
        for tb, (ddl, rows) in tables.items():
            cur.execute(f"CREATE TABLE {DB}.{tb} ({ddl})")
            if rows:
                marks = ", ".join(["%s"] * len(rows[0]))
                cur.executemany(f"INSERT INTO {DB}.{tb} VALUES ({marks})", rows)
    conn.close()


def start_copy(local, task, schema, batch_size):
    """Start task copying database DB into schema."""
    log_dir = os.path.join(env("APE_SHARED_DIR"), task)
    shutil.rmtree(log_dir, ignore_errors=True)
    drop_task_if_exists(local, task)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, f"""
[extractor]
db_type=mysql
url={env('APE_MYSQL_URL')}
[sinker]
batch_size={batch_size}
[filter]
do_dbs={DB}
[router]
db_map={DB}:{schema}
[runtime]
log_dir={log_dir}
"""))


def run_task(local, task, schema, batch_size=2, want="finished"):
    start_copy(local, task, schema, batch_size)
    state = wait_state(local, task, 120)
    with local.cursor() as cur:
        cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))
        error = cur.fetchone()[0]
    assert state == want, error
    return error


def server_log_since(offset):
    with open(os.path.join(env("APE_TESTBED"), "local", "server.log"), errors="replace") as f:
        f.seek(offset)
        return f.read()


def server_log_size():
    return os.path.getsize(os.path.join(env("APE_TESTBED"), "local", "server.log"))


def test_format_chosen_per_table(local):
    """A table whose target columns all have fast encoders goes through the
    binary format; a column of another type (a domain here) sends its table
    through the text format; ape_resume.binary_copy = off sends all through
    the text format.  Every way, the rows are the same."""
    rows = [(i, f"v{i}", i * 1.5) for i in range(1, 6)]
    make_source({"fast": ("id int PRIMARY KEY, v varchar(10), x double", rows),
                 "slow": ("id int PRIMARY KEY, v varchar(10), x double", rows)})
    expected = [(i, f"v{i}", i * 1.5) for i in range(1, 6)]
    for schema, setting in (("it_binary_on", "on"), ("it_binary_off", "off")):
        with local.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
            cur.execute(f"CREATE DOMAIN {schema}.label AS text CHECK (VALUE LIKE 'v%%')")
            cur.execute(f"CREATE TABLE {schema}.slow (id int PRIMARY KEY, v {schema}.label,"
                        f" x float8)")
        start = server_log_size()
        with server_setting("log_min_messages", "debug1"), \
                server_setting("ape_resume.binary_copy", setting):
            run_task(local, f"it_binary_{setting}", schema)
        log = server_log_since(start)
        formats = {tb: set(re.findall(rf'source table "{DB}"\."{tb}" goes into \S+ through '
                                      r"COPY's (\w+) format", log)) for tb in ("fast", "slow")}
        assert formats == {"fast": {"binary" if setting == "on" else "text"},
                           "slow": {"text"}}, (setting, formats)
        with local.cursor() as cur:
            for tb in ("fast", "slow"):
                cur.execute(f"SELECT id, v, x FROM {schema}.{tb} ORDER BY id")
                assert cur.fetchall() == expected, (setting, tb)


def test_values_left_to_input_functions(local):
    """Existing target tables whose column types differ from the source's
    get values in forms the fast encoders do not take (exponents, spaces,
    infinity, 7 fraction digits, escape-format bytea, ...): through the
    binary format they come out exactly as through the text format."""
    n = len(ODD_COLUMNS[0][3])
    ddl = "id int PRIMARY KEY, " + ", ".join(f"`{c}` {t}" for c, t, _, _ in ODD_COLUMNS)
    rows = [tuple([i + 1] + [vals[i] for _, _, _, vals in ODD_COLUMNS]) for i in range(n)]
    make_source({"odd": (ddl, rows)})
    target_ddl = "id int PRIMARY KEY, " + ", ".join(f'"{c}" {pg}' for c, _, pg, _ in ODD_COLUMNS)
    results = {}
    for schema, setting in (("it_binary_on", "on"), ("it_binary_off", "off")):
        with local.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
            cur.execute(f"CREATE TABLE {schema}.odd ({target_ddl})")
        with server_setting("ape_resume.binary_copy", setting):
            run_task(local, f"it_binary_{setting}", schema)
        with local.cursor() as cur:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute(f"SELECT to_jsonb(t)::text FROM {schema}.odd t ORDER BY id")
            results[setting] = [r[0] for r in cur.fetchall()]
    assert results["on"] == results["off"]
    assert len(results["on"]) == n
    with local.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        cur.execute('SELECT dbl::text, i, d::text, ts::text, n::text, b, encode(by, \'escape\'),'
                    ' bits::text, iv::text, f4::text, js::text'
                    ' FROM it_binary_on.odd ORDER BY id')
        got = cur.fetchall()
    assert got[0][:9] == ("1" + "0" * 300, 42, "infinity", "2020-01-01 10:00:00.123", "1500.00",
                          True, "AB", "0101", "25:00:00")
    assert got[1][:9] == ("0.5", 0, "2020-02-29", "2020-01-01 10:00:00", "3.14", True, "abc",
                          "00001111", "1 day 02:00:00")
    assert got[2][:9] == ("-0.000000125", 7, "1970-01-01", "2020-01-02 00:00:00", "-0.01", False,
                          "A", "11", "-00:00:01.5")
    assert got[3][:9] == ("0", 2147483647, "0099-01-01", "2001-02-03 04:05:06", "NaN", False, "",
                          "1", "1 year 2 mons")
    assert [g[9] for g in got] == ["1e-30", "3.5", "Infinity", "-0"]
    assert [g[10] for g in got] == ['{"a": 2, "b": 1}', "[1, 2.50]", '"x"', "null"]


BAD = [
    # (MySQL type, existing target type, value, what the message says)
    ("int", "smallint", "70000", 'value "70000" is out of range for type smallint'),
    ("varchar(20)", "integer", "12abc", 'invalid input syntax for type integer: "12abc"'),
    ("varchar(20)", "date", "2020-02-30", 'date/time field value out of range: "2020-02-30"'),
    ("varchar(20)", "numeric(4,2)", "123.456", "numeric field overflow"),
    ("varchar(20)", "character varying(3)", "abcd",
     "value too long for type character varying(3)"),
    ("varchar(20)", "bit(4)", "101", "bit string length 3 does not match type bit(4)"),
    ("varchar(20)", "bytea", "\\x4", "invalid hexadecimal data: odd number of digits"),
]


@pytest.mark.parametrize("case", range(len(BAD)))
@pytest.mark.parametrize("setting", ["on", "off"])
def test_bad_value_names_table_and_column(local, case, setting):
    """A value the target column's type rejects fails the task with the same
    message both ways, naming table and column; earlier batches stay."""
    mytype, pgtype, bad, what = BAD[case]
    good = {"int": "1", "smallint": "1", "integer": "1", "date": "2020-01-01",
            "numeric(4,2)": "1.5", "character varying(3)": "abc", "bit(4)": "1010",
            "bytea": "\\x41"}[pgtype]
    make_source({"bad": (f"id int PRIMARY KEY, `c.1` {mytype}",
                         [(1, good), (2, good), (3, bad), (4, good)])})
    schema = f"it_binary_{setting}"
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
        cur.execute(f'CREATE TABLE {schema}.bad (id int PRIMARY KEY, "c.1" {pgtype})')
    with server_setting("ape_resume.binary_copy", setting):
        error = run_task(local, f"it_binary_{setting}", schema, want="failed")
    assert error.startswith(f'table "{DB}"."bad" column "c.1": '), error
    assert what in error, error
    with local.cursor() as cur:
        cur.execute(f"SELECT id FROM {schema}.bad ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == [1, 2]


def test_wide_rows_are_not_buffered_by_the_thousand(local):
    """PostgreSQL 15's binary COPY buffers up to 1000 rows before inserting
    them when it is not told their size: 100 rows of 4 MB would take 400 MB
    of the worker's memory.  The worker tells it, so they are inserted a few
    at a time and its private memory stays far below that."""
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB}")
        cur.execute(f"CREATE DATABASE {DB}")
        cur.execute(f"CREATE TABLE {DB}.wide (id int PRIMARY KEY, body longtext)")
        cur.execute(f"USE {DB}")  # seq_1_to_100 is a table of the current database
        cur.execute(f"INSERT INTO {DB}.wide SELECT seq, repeat(md5(seq), 131072)"
                    f" FROM seq_1_to_100")
    conn.close()
    schema = "it_binary_on"
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    task = "it_binary_wide"
    start_copy(local, task, schema, batch_size=10000)
    peak_kb = 0
    with local.cursor() as cur:
        state = "pending"
        while state in ("pending", "running"):
            cur.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'ape_resume task'")
            for (pid,) in cur.fetchall():
                try:
                    with open(f"/proc/{pid}/status") as f:
                        for line in f:
                            if line.startswith("RssAnon:"):
                                peak_kb = max(peak_kb, int(line.split()[1]))
                except OSError:
                    pass
            cur.execute("SELECT state FROM ape_resume.tasks WHERE name = %s", (task,))
            state = cur.fetchone()[0]
        assert state == "finished"
        cur.execute(f"SELECT count(*), sum(length(body)), count(DISTINCT md5(body))"
                    f" FROM {schema}.wide")
        assert cur.fetchone() == (100, 100 * 4 << 20, 100)
    assert 0 < peak_kb < 150 << 10, f"worker RssAnon peaked at {peak_kb >> 10} MB"
