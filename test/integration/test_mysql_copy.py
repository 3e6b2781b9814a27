"""MySQL source: a whole copy of ape-dts's MySQL peer tables into the local
server, checkpointed every 2 rows, with its log files."""
import os
import re
import shutil

import pytest

from conftest import (PEER_CASES, env, run_mysql_file, wait_state,
                      drop_task_if_exists)

TABLES = {
    ("test_db_1", "no_pk_no_uk"): 9,
    ("test_db_1", "one_pk_no_uk"): 9,
    ("test_db_1", "no_pk_one_uk"): 9,
    ("test_db_1", "no_pk_multi_uk"): 9,
    ("test_db_1", "one_pk_multi_uk"): 9,
    ("test_db_@", "resume_table_*$4"): 2,
    ("test_db_@", "finished_table_*$1"): 2,
    ("test_db_@", "finished_table_*$2"): 2,
    ("test_db_@", "in_finished_log_table_*$1"): 2,
    ("test_db_@", "in_finished_log_table_*$2"): 2,
    ("test_db_@", "in_position_log_table_*$1"): 2,
}

LINE_TS = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}"


@pytest.mark.peer_cases
def test_mysql_full_copy(local):
    case = os.path.join(PEER_CASES, "mysql_resume_test")
    run_mysql_file(os.path.join(case, "src_prepare.sql"))
    run_mysql_file(os.path.join(case, "src_test.sql"))
    log_dir = os.path.join(env("APE_SHARED_DIR"), "it_mysql_full")
    shutil.rmtree(log_dir, ignore_errors=True)
    drop_task_if_exists(local, "it_mysql_full")
    with local.cursor() as cur:
        cur.execute('DROP SCHEMA IF EXISTS test_db_1 CASCADE; DROP SCHEMA IF EXISTS "test_db_@" CASCADE')
        cur.execute("SELECT ape_resume.start_task('it_mysql_full', %s)", (f"""
[extractor]
db_type=mysql
url={env('APE_MYSQL_URL')}
[sinker]
batch_size=2
[filter]
do_tbs=test_db_1.*,`test_db_@`.*
[runtime]
log_dir={log_dir}
""",))
        state = wait_state(local, "it_mysql_full", 120)
        cur.execute("SELECT state, last_error, tables_total, tables_finished, rows_copied "
                    "FROM ape_resume.tasks WHERE name = 'it_mysql_full'")
        row = cur.fetchone()
        assert state == "finished", row
        assert row[2] == len(TABLES) and row[3] == len(TABLES)
        assert row[4] == sum(TABLES.values())
        for (db, tb), n in TABLES.items():
            cur.execute(f'SELECT count(*) FROM "{db}"."{tb}"')
            assert cur.fetchone()[0] == n, (db, tb)
        cur.execute("SELECT f_8::text, encode(f_16, 'hex'), f_9::text, f_13 AT TIME ZONE 'UTC', "
                    "f_10::text, f_12, f_26, f_27, f_5::text "
                    "FROM test_db_1.one_pk_no_uk WHERE f_0 = 2")
        bit, binary, dt, ts, tm, year, enum, st, dec = cur.fetchone()
        assert bit == format(3045, "064b")
        assert binary == "33" + "00" * 254
        assert dt == "2021-02-01 04:05:06.654321"
        assert str(ts) == "2021-02-01 04:05:06.654321"
        assert tm == "04:05:06.654321"
        assert year == 2021 and enum == "small" and st == "b" and dec == "654321.4321"
        cur.execute("SELECT * FROM ape_resume.progress('it_mysql_full') "
                    "WHERE schema = 'test_db_1' AND tb = 'one_pk_no_uk'")
        cols = [d[0] for d in cur.description]
        p = dict(zip(cols, cur.fetchone()))
        assert p["state"] == "finished" and p["order_col"] == "f_0" and p["value"] == "9"
        assert p["rows_copied"] == 9

    with open(os.path.join(log_dir, "position.log")) as f:
        lines = f.read().splitlines()
    current = [l for l in lines if "| current_position |" in l]
    assert all(re.fullmatch(LINE_TS + r" \| (current_position \| \{\"type\":\"RdbSnapshot\","
                            r"\"db_type\":\"mysql\",\"schema\":\"[^\"]+\",\"tb\":\"[^\"]+\","
                            r"\"order_col\":\"[^\"]+\",\"value\":\"[^\"]*\"\}|"
                            r"checkpoint_position \| \{\"type\":\"None\"\})", l) for l in lines), lines
    one_pk = [l for l in current if '"tb":"one_pk_no_uk"' in l]
    assert [re.search(r'"value":"(\d+)"', l).group(1) for l in one_pk] == ["2", "4", "6", "8", "9"]
    assert any('"schema":"test_db_@","tb":"resume_table_*$4","order_col":"p.k","value":"2"' in l
               for l in current)
    with open(os.path.join(log_dir, "finished.log")) as f:
        finished = f.read().splitlines()
    assert len(finished) == len(TABLES)
    for l in finished:
        assert re.fullmatch(LINE_TS + r' \| \{"type":"RdbSnapshotFinished","db_type":"mysql",'
                            r'"schema":"[^"]+","tb":"[^"]+"\}', l), l
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    assert "resumer, get resume value, schema: test_db_1, tb: one_pk_no_uk, col: f_0, result: None" in default
    assert "mysql_secret_pw" not in default


def test_router_maps_schemas_and_tables(local, mysql_admin):
    """[router] db_map / tb_map send rows to other schemas and tables;
    positions and finished lines keep the source names."""
    with mysql_admin.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS it_route")
        cur.execute("CREATE DATABASE it_route")
        cur.execute("CREATE TABLE it_route.a (id int PRIMARY KEY, v text)")
        cur.execute("INSERT INTO it_route.a VALUES (1, 'a1'), (2, 'a2'), (3, 'a3')")
        cur.execute("CREATE TABLE it_route.b (id int PRIMARY KEY, v text)")
        cur.execute("INSERT INTO it_route.b VALUES (10, 'b10')")
    log_dir = os.path.join(env("APE_SHARED_DIR"), "it_route")
    shutil.rmtree(log_dir, ignore_errors=True)
    drop_task_if_exists(local, "it_route")
    with local.cursor() as cur:
        cur.execute('DROP SCHEMA IF EXISTS routed CASCADE; DROP SCHEMA IF EXISTS "Other.Schema" CASCADE')
        cur.execute("SELECT ape_resume.start_task('it_route', %s)", (f"""
[extractor]
db_type=mysql
url={env('APE_MYSQL_URL')}
[sinker]
batch_size=2
[filter]
do_dbs=it_route
[router]
db_map=it_route:routed
tb_map=it_route.b:`Other.Schema`.renamed_b
[runtime]
log_dir={log_dir}
""",))
        assert wait_state(local, "it_route", 60) == "finished"
        cur.execute("SELECT id, v FROM routed.a ORDER BY id")
        assert cur.fetchall() == [(1, "a1"), (2, "a2"), (3, "a3")]
        cur.execute("SELECT schema, tb, dst_schema, dst_tb FROM ape_resume.progress('it_route') ORDER BY tb")
        rows = cur.fetchall()
    assert rows[0] == ("it_route", "a", "routed", "a")
    dst_b = rows[1][2:]
    assert dst_b == ("Other.Schema", "renamed_b")
    with local.cursor() as cur:
        cur.execute("SELECT format('SELECT id, v FROM %%I.%%I', %s::text, %s::text)", dst_b)
        cur.execute(cur.fetchone()[0])
        assert cur.fetchall() == [(10, "b10")]
    with open(os.path.join(log_dir, "position.log")) as f:
        text = f.read()
    assert '"schema":"it_route","tb":"a","order_col":"id","value":"3"' in text
    assert "routed" not in text
