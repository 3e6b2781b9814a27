"""Check tasks ([sinker] sink_type=check): after a copy, the target is
changed behind its back (rows deleted, changed, added) and a source row
changes; the check must report exactly those rows, with their keys and
values, in ape-dts's log formats, and sql.log must repair the target."""
import json
import os
import signal
import subprocess
import time

import psycopg2
import pytest

from conftest import (connect_local, drop_task_if_exists, env, execute, fresh_dir, one, rows,
                      start, wait_state)

DB = "it_check"


def task_config(db_type, log_dir, check=False, extra="", tables=None):
    url = {"mysql": env("APE_MYSQL_URL"), "pg": env("APE_PGSRC_URL"), "mongo": env("APE_MONGO_URL")}[db_type]
    filt = f"do_tbs={tables}" if tables else f"do_dbs={DB}"
    sink = "[sinker]\nsink_type=check\nbatch_size=100\n" if check else "[sinker]\nbatch_size=100\n"
    return f"""
[extractor]
db_type={db_type}
url={url}
{sink}
[filter]
{filt}
[runtime]
log_dir={log_dir}
{extra}
"""


def read_log(log_dir, name):
    path = os.path.join(log_dir, "check", name)
    with open(path) as f:
        return [l for l in f.read().splitlines() if l]


def read_json(log_dir, name):
    return [json.loads(l) for l in read_log(log_dir, name)]


@pytest.fixture
def mysql_source(mysql_admin):
    """s: a single-column key; m: a composite key; n: no key."""
    execute(mysql_admin,
            f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}", f"USE {DB}",
            "CREATE TABLE s (id int PRIMARY KEY, v varchar(40), f double, d datetime(6), "
            "j json, b varbinary(10), n decimal(12,3))",
            "INSERT INTO s SELECT seq, concat('v', seq), seq / 7, "
            "'2024-01-01' + interval seq second, json_object('k', seq), unhex(hex(seq)), seq / 8 "
            "FROM seq_1_to_1000",
            # a quote, a backslash, a newline and a tab: sql.log keeps each statement on a line
            "UPDATE s SET v = CONCAT('q''uo', CHAR(92), 'te', CHAR(10), 'line', CHAR(9), 'end') "
            "WHERE id = 5",
            "CREATE TABLE m (a int, b bigint, x text, PRIMARY KEY (a, b))",
            "INSERT INTO m SELECT seq % 5, seq, concat('m', seq) FROM seq_1_to_700",
            "CREATE TABLE n (a int, t varchar(10))",
            "INSERT INTO n SELECT seq % 10, 'z' FROM seq_1_to_50")
    return mysql_admin


def copy_then_tamper(local, db_type, source_conn):
    """Copy, then: 3 target rows deleted, 2 changed, 1 extra, 1 source row
    changed, in s and in m; one extra row in n."""
    log_dir = fresh_dir("it_check_copy")
    execute(local, f"DROP SCHEMA IF EXISTS {DB} CASCADE")
    start(local, "it_check_copy", task_config(db_type, log_dir))
    assert wait_state(local, "it_check_copy", 120) == "finished"
    execute(local,
            f"DELETE FROM {DB}.s WHERE id IN (5, 500, 1000)",
            f"UPDATE {DB}.s SET v = 'changed' WHERE id = 7",
            f"UPDATE {DB}.s SET n = n + 1, f = -0.0 WHERE id = 8",
            f"INSERT INTO {DB}.s (id, v) VALUES (2000, 'extra')",
            f"DELETE FROM {DB}.m WHERE (a, b) IN ((1, 1), (2, 2), (4, 699))",
            f"UPDATE {DB}.m SET x = 'changed' WHERE (a, b) IN ((3, 3), (0, 5))",
            f"INSERT INTO {DB}.m VALUES (9, 1, 'extra')",
            f"INSERT INTO {DB}.n VALUES (1, 'extra')")
    execute(source_conn, f"UPDATE {DB}.s SET v = 'source changed' WHERE id = 9",
            f"UPDATE {DB}.m SET x = 'source changed' WHERE a = 4 AND b = 4")
    drop_task_if_exists(local, "it_check_copy")


def assert_found(local, task, log_dir):
    got = {tb: (c, m, d, e) for tb, c, m, d, e in rows(
        local, "SELECT tb, rows_copied, rows_missing, rows_different, rows_extra "
               "FROM ape_resume.progress(%s)", (task,))}
    assert got == {"s": (1000, 3, 3, 1), "m": (700, 3, 3, 1), "n": (50, 0, 0, 1)}
    miss = read_json(log_dir, "miss.log")
    assert sorted((l["tb"], json.dumps(l["id_col_values"], sort_keys=True)) for l in miss) == sorted([
        ("s", '{"id": "5"}'), ("s", '{"id": "500"}'), ("s", '{"id": "1000"}'),
        ("m", '{"a": "1", "b": "1"}'), ("m", '{"a": "2", "b": "2"}'), ("m", '{"a": "4", "b": "699"}')])
    assert all(l["schema"] == DB for l in miss)
    diff = {(l["tb"], json.dumps(l["id_col_values"], sort_keys=True)): l["diff_col_values"]
            for l in read_json(log_dir, "diff.log")}
    assert diff[("s", '{"id": "7"}')] == {"v": {"src": "v7", "dst": "changed"}}
    assert diff[("s", '{"id": "9"}')] == {"v": {"src": "source changed", "dst": "v9"}}
    assert set(diff[("s", '{"id": "8"}')]) == {"n", "f"}
    assert diff[("m", '{"a": "3", "b": "3"}')] == {"x": {"src": "m3", "dst": "changed"}}
    assert diff[("m", '{"a": "4", "b": "4"}')] == {"x": {"src": "source changed", "dst": "m4"}}
    assert len(diff) == 6
    extra = read_json(log_dir, "extra.log")
    assert sorted((l["tb"], json.dumps(l["id_col_values"], sort_keys=True)) for l in extra) == \
        [("m", '{"a": "9", "b": "1"}'), ("s", '{"id": "2000"}')]
    summary = read_json(log_dir, "summary.log")
    assert len(summary) == 1
    s = summary[0]
    assert (s["is_consistent"], s["miss_count"], s["diff_count"], s["extra_count"]) == (False, 6, 6, 3)
    assert s["notes"] and s["notes"][0]["tb"] == "n" and "multisets" in s["notes"][0]["note"]


def test_mysql_check_finds_each_row_and_sql_log_repairs(local, mysql_source):
    copy_then_tamper(local, "mysql", mysql_source)
    task = "it_check_mysql"
    log_dir = fresh_dir(task)
    start(local, task, task_config("mysql", log_dir, check=True,
                                   extra="[checker_output]\noutput_revise_sql=true\noutput_full_row=true"))
    assert wait_state(local, task, 120) == "finished"
    assert_found(local, task, log_dir)
    # output_full_row: the rows of both sides
    line = [l for l in read_json(log_dir, "diff.log") if l["id_col_values"] == {"id": "7"}][0]
    assert line["src_row"]["v"] == "v7" and line["dst_row"]["v"] == "changed"
    # nothing was written to the target, and no position file
    assert not os.path.exists(os.path.join(log_dir, "position.log"))
    # sql.log, applied with psql, makes the keyed tables equal to the source
    sql = read_log(log_dir, "sql.log")
    assert sql[0] == "SET client_encoding = 'UTF8';"
    assert len(sql) == 15 and all(l.endswith(";") for l in sql)
    assert any("E'q''uo\\\\te\\nline\\tend'" in l for l in sql), sql
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", env("PGHOST"), "-p", env("PGPORT"),
                    "-U", env("PGUSER"), "-d", env("PGDATABASE"), "-f", os.path.join(log_dir, "check", "sql.log")],
                   check=True, capture_output=True)
    execute(local, f"DELETE FROM {DB}.n WHERE t = 'extra'")
    task2 = "it_check_mysql2"
    log_dir2 = fresh_dir(task2)
    start(local, task2, task_config("mysql", log_dir2, check=True))
    assert wait_state(local, task2, 120) == "finished"
    assert rows(local, "SELECT sum(rows_missing + rows_different + rows_extra)::int, sum(rows_copied)::int "
                       "FROM ape_resume.progress(%s)", (task2,)) == [(0, 1750)]
    assert read_json(log_dir2, "summary.log")[0]["is_consistent"] is True
    assert read_log(log_dir2, "miss.log") == [] and read_log(log_dir2, "diff.log") == []
    drop_task_if_exists(local, task)
    drop_task_if_exists(local, task2)


@pytest.fixture
def pg_source(pgsrc):
    execute(pgsrc, f"DROP SCHEMA IF EXISTS {DB} CASCADE", f"CREATE SCHEMA {DB}",
            f"CREATE TABLE {DB}.s (id bigint PRIMARY KEY, v text, f float8, d timestamptz, "
            f"j jsonb, b bytea, n numeric(12,3))",
            f"INSERT INTO {DB}.s SELECT g, 'v' || g, g / 7.0, '2024-01-01'::timestamptz + g * interval '1 s', "
            f"jsonb_build_object('k', g), int4send(g), g / 8.0 FROM generate_series(1, 1000) g",
            f"CREATE TABLE {DB}.m (a int, b bigint, x text, PRIMARY KEY (a, b))",
            f"INSERT INTO {DB}.m SELECT g % 5, g, 'm' || g FROM generate_series(1, 700) g",
            f"CREATE TABLE {DB}.n (a int, t text)",
            f"INSERT INTO {DB}.n SELECT g % 10, 'z' FROM generate_series(1, 50) g")
    return pgsrc


def test_pg_check_finds_each_row(local, pg_source):
    copy_then_tamper(local, "pg", pg_source)
    task = "it_check_pg"
    log_dir = fresh_dir(task)
    start(local, task, task_config("pg", log_dir, check=True))
    assert wait_state(local, task, 120) == "finished"
    assert_found(local, task, log_dir)
    assert not os.path.exists(os.path.join(log_dir, "check", "sql.log"))
    drop_task_if_exists(local, task)


def test_check_killed_mid_table_counts_once(local, mysql_source):
    """A check whose worker is SIGKILLed mid-table resumes from its catalog
    position with the same counts and log lines as an uninterrupted one."""
    copy_then_tamper(local, "mysql", mysql_source)
    task = "it_check_kill"
    log_dir = fresh_dir(task)
    # max_rps: the check reads 1000 rows in about 2 s
    start(local, task, task_config("mysql", log_dir, check=True, tables=f"{DB}.s")
          .replace("[sinker]", "max_rps=500\n[sinker]"))
    deadline = time.time() + 60
    while True:
        n = one(local, "SELECT coalesce(sum(rows_copied), 0) FROM ape_resume.progress(%s)", (task,))[0]
        if n >= 300:
            break
        assert time.time() < deadline
        time.sleep(0.002)
    pid = one(local, "SELECT worker_pid FROM ape_resume.tasks WHERE name = %s", (task,))[0]
    assert one(local, "SELECT state FROM ape_resume.progress(%s)", (task,))[0] == "copying"
    os.kill(pid, signal.SIGKILL)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            one(local, "SELECT 1")
            time.sleep(0.01)
        raise AssertionError("the server did not restart after the worker was killed")
    except psycopg2.Error:
        pass
    conn = connect_local()
    try:
        assert wait_state(conn, task, 120) == "finished"
        assert rows(conn, "SELECT rows_copied, rows_missing, rows_different, rows_extra "
                          "FROM ape_resume.progress(%s)", (task,)) == [(1000, 3, 3, 1)]
        assert len(read_log(log_dir, "miss.log")) == 3
        assert len(read_log(log_dir, "diff.log")) == 3
        assert len(read_log(log_dir, "extra.log")) == 1
    finally:
        drop_task_if_exists(conn, task)
        conn.close()


def test_check_log_max_rows_and_sample(local, mysql_source):
    """check_log_max_rows caps each log while the counts stay exact;
    sample_percent compares the same rows in every run."""
    copy_then_tamper(local, "mysql", mysql_source)
    execute(local, f"DELETE FROM {DB}.s WHERE id BETWEEN 100 AND 399")
    task = "it_check_cap"
    log_dir = fresh_dir(task)
    start(local, task, task_config("mysql", log_dir, check=True, tables=f"{DB}.s",
                                   extra="[checker_output]\ncheck_log_max_rows=10"))
    assert wait_state(local, task, 120) == "finished"
    assert rows(local, "SELECT rows_missing FROM ape_resume.progress(%s)", (task,)) == [(303,)]
    assert len(read_log(log_dir, "miss.log")) == 10
    assert read_json(log_dir, "summary.log")[0]["miss_count"] == 303
    drop_task_if_exists(local, task)
    counts = []
    for run in range(2):
        task = f"it_check_sample{run}"
        log_dir = fresh_dir(task)
        start(local, task, task_config("mysql", log_dir, check=True, tables=f"{DB}.s",
                                       extra="[checker]\nsample_percent=30"))
        assert wait_state(local, task, 120) == "finished"
        counts.append(one(local, "SELECT rows_copied, rows_missing FROM ape_resume.progress(%s)", (task,)))
        drop_task_if_exists(local, task)
    assert counts[0] == counts[1]
    assert 200 < counts[0][0] < 400 and 0 < counts[0][1] < 303


def test_check_refuses_what_it_cannot_do(local):
    def err(extra, db_type="mysql"):
        with pytest.raises(psycopg2.Error) as e:
            with local.cursor() as cur:
                cur.execute("SELECT * FROM ape_resume.parse_config(%s)",
                            (task_config(db_type, "/tmp/x", check=True) + extra,))
        return str(e.value)
    assert "does not resume from log files" in err("[resumer]\nresume_from_log=true")
    assert "revise_match_full_row in section [checker_output] is not supported" in \
        err("[checker_output]\nrevise_match_full_row=true")
    assert "sample_interval in section [extractor] is not supported" in err("[extractor]\nsample_interval=3")
    assert 'invalid value "0" for key "sample_percent" in section [checker]' in \
        err("[checker]\nsample_percent=0")
    assert "a check task does not take up another task's positions" in \
        err("[global]\ntask_id=t1\n[resumer]\nresume_type=from_target")


def test_text_keys_are_looked_up(local, mysql_admin):
    """Keys with text (MySQL's case-insensitive collation, a composite key
    led by text) order differently at the source and the target: their
    rows are looked up by key, and the target's rows the source lacks found
    at the table's end, across batches.  (PostgreSQL's text keys: the type
    tests of test_pg_copy.py.)"""
    execute(mysql_admin, f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}", f"USE {DB}",
            "CREATE TABLE k (name varchar(20) PRIMARY KEY, v int) COLLATE utf8mb4_general_ci",
            "INSERT INTO k SELECT concat(IF(seq % 2, 'Name', 'name'), seq, IF(seq % 3, '', 'é')), seq "
            "FROM seq_1_to_250",
            "CREATE TABLE c (t varchar(10), n int, v text, PRIMARY KEY (t, n))",
            "INSERT INTO c SELECT concat('T', seq % 4), seq, concat('v', seq) FROM seq_1_to_120")
    log_dir = fresh_dir("it_check_copy")
    execute(local, f"DROP SCHEMA IF EXISTS {DB} CASCADE")
    start(local, "it_check_copy", task_config("mysql", log_dir))
    assert wait_state(local, "it_check_copy", 120) == "finished"
    execute(local, f"DELETE FROM {DB}.k WHERE name IN ('Name1', 'name250')",
            f"UPDATE {DB}.k SET v = -1 WHERE name = 'Name3é'",
            f"INSERT INTO {DB}.k VALUES ('NAME1', 1), ('zz', 2)",
            f"DELETE FROM {DB}.c WHERE t = 'T1' AND n = 5",
            f"INSERT INTO {DB}.c VALUES ('t1', 5, 'v5')")
    execute(mysql_admin, f"UPDATE {DB}.k SET v = 0 WHERE name = 'name2'")
    task = "it_check_text"
    log_dir = fresh_dir(task)
    start(local, task, task_config("mysql", log_dir, check=True))
    assert wait_state(local, task, 120) == "finished"
    assert rows(local, "SELECT tb, rows_copied, rows_missing, rows_different, rows_extra "
                       "FROM ape_resume.progress(%s) ORDER BY tb", (task,)) == \
        [("c", 120, 1, 0, 1), ("k", 250, 2, 2, 2)]
    assert sorted(l["id_col_values"]["name"] for l in read_json(log_dir, "extra.log")
                  if l["tb"] == "k") == ["NAME1", "zz"]
    assert sorted(l["id_col_values"]["name"] for l in read_json(log_dir, "miss.log")
                  if l["tb"] == "k") == ["Name1", "name250"]
    assert [l["id_col_values"] for l in read_json(log_dir, "extra.log") if l["tb"] == "c"] == \
        [{"t": "t1", "n": "5"}]
    # the keys it kept to find the extra rows are gone with the table
    assert one(local, "SELECT count(*) FROM ape_resume.check_key k JOIN ape_resume.task t "
                      "ON t.id = k.task_id WHERE t.name = %s", (task,)) == (0,)
    drop_task_if_exists(local, task)


def test_mongo_check(local, mongo):
    """A Mongo collection checked against its copy: documents compared as
    jsonb, _id looked up whatever its BSON type."""
    db = "it_check_mongo"
    mongo.drop_database(db)
    docs = [{"_id": i, "a": i, "s": "x" * (i % 5)} for i in range(1, 60)]
    docs += [{"_id": "s%d" % i, "a": i} for i in range(1, 20)]
    mongo[db]["c"].insert_many(docs)
    log_dir = fresh_dir("it_check_mcopy")
    execute(local, f"DROP SCHEMA IF EXISTS {db} CASCADE")
    start(local, "it_check_mcopy", task_config("mongo", log_dir, tables=f"{db}.c"))
    assert wait_state(local, "it_check_mcopy", 120) == "finished"
    execute(local, f"""DELETE FROM {db}.c WHERE _id IN ('7'::jsonb, '40'::jsonb, '"s9"'::jsonb)""",
            f"""UPDATE {db}.c SET doc = doc || '{{"a": -1}}' WHERE _id IN ('"s3"'::jsonb, '12'::jsonb)""",
            f"""INSERT INTO {db}.c VALUES ('"extra"', '{{"_id": "extra"}}')""")
    mongo[db]["c"].update_one({"_id": 8}, {"$set": {"a": 800}})
    task = "it_check_mongo"
    log_dir = fresh_dir(task)
    start(local, task, task_config("mongo", log_dir, check=True, tables=f"{db}.c"))
    assert wait_state(local, task, 120) == "finished"
    assert rows(local, "SELECT rows_copied, rows_missing, rows_different, rows_extra "
                       "FROM ape_resume.progress(%s)", (task,)) == [(78, 3, 3, 1)]
    assert sorted(l["id_col_values"]["_id"] for l in read_json(log_dir, "miss.log")) == \
        ['"s9"', "40", "7"]
    assert sorted(l["id_col_values"]["_id"] for l in read_json(log_dir, "diff.log")) == \
        ['"s3"', "12", "8"]
    assert [l["id_col_values"] for l in read_json(log_dir, "extra.log")] == [{"_id": '"extra"'}]
    drop_task_if_exists(local, task)
    drop_task_if_exists(local, "it_check_mcopy")
    mongo.drop_database(db)
    execute(local, f"DROP SCHEMA IF EXISTS {db} CASCADE")


def test_chunked_check(local, mysql_admin):
    """parallel_type=chunk: a check of big tables in key ranges, by two
    workers, merged (integer key) or looked up (text key): the same
    findings as a whole-table check, extra rows between and after the
    chunks included."""
    execute(mysql_admin, f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}", f"USE {DB}",
            "CREATE TABLE i (id int PRIMARY KEY, v int)",
            "INSERT INTO i SELECT seq * 2, seq FROM seq_1_to_3000",
            "CREATE TABLE t (k varchar(12) PRIMARY KEY, v int)",
            "INSERT INTO t SELECT concat('k', lpad(seq, 6, '0')), seq FROM seq_1_to_3000",
            "ANALYZE TABLE i, t")
    log_dir = fresh_dir("it_check_copy")
    execute(local, f"DROP SCHEMA IF EXISTS {DB} CASCADE")
    start(local, "it_check_copy", task_config("mysql", log_dir))
    assert wait_state(local, "it_check_copy", 120) == "finished"
    execute(local, f"DELETE FROM {DB}.i WHERE id IN (2, 3000, 6000)",
            f"UPDATE {DB}.i SET v = 0 WHERE id IN (1000, 5000)",
            # extra rows: before the first key, between two keys, after the last
            f"INSERT INTO {DB}.i VALUES (-5, 1), (3001, 1), (99999, 1)",
            f"DELETE FROM {DB}.t WHERE k IN ('k000001', 'k001500')",
            f"UPDATE {DB}.t SET v = 0 WHERE k = 'k002999'",
            f"INSERT INTO {DB}.t VALUES ('a', 1), ('k001500x', 1), ('zz', 1)")
    task = "it_check_chunks"
    log_dir = fresh_dir(task)
    start(local, task, task_config("mysql", log_dir, check=True).replace(
        "[sinker]", "parallel_type=chunk\nparallel_size=2\nsplit_tables_larger_than=1000\n[sinker]"))
    assert wait_state(local, task, 120) == "finished"
    assert rows(local, "SELECT tb, chunks >= 2, chunks = chunks_done, rows_copied, rows_missing, "
                       "rows_different, rows_extra FROM ape_resume.progress(%s) ORDER BY tb", (task,)) == \
        [("i", True, True, 3000, 3, 2, 3), ("t", True, True, 3000, 2, 1, 3)]
    assert sorted(l["id_col_values"]["id"] for l in read_json(log_dir, "extra.log")
                  if l["tb"] == "i") == ["-5", "3001", "99999"]
    assert sorted(l["id_col_values"]["k"] for l in read_json(log_dir, "extra.log")
                  if l["tb"] == "t") == ["a", "k001500x", "zz"]
    assert one(local, "SELECT count(*) FROM ape_resume.check_key k JOIN ape_resume.task t "
                      "ON t.id = k.task_id WHERE t.name = %s", (task,)) == (0,)
    drop_task_if_exists(local, task)


def test_failed_check_still_writes_its_logs(local, mysql_source):
    """A check that fails on a table (its target lacks a column) says so,
    naming table and column, and leaves the logs of what it compared."""
    copy_then_tamper(local, "mysql", mysql_source)
    execute(local, f"ALTER TABLE {DB}.s DROP COLUMN f")
    task = "it_check_fail"
    log_dir = fresh_dir(task)
    start(local, task, task_config("mysql", log_dir, check=True))
    assert wait_state(local, task, 120) == "failed"
    err = one(local, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))[0]
    assert f'target table "{DB}"."s" has no column "f"' in err
    summary = read_json(log_dir, "summary.log")[0]
    assert summary["is_consistent"] is False and summary["tables_total"] == 3
    drop_task_if_exists(local, task)


def test_target_without_key_duplicates_and_nulls(local, mysql_admin):
    """A target table without a unique key (created beforehand): a key held
    twice and a NULL key are extra rows, whichever way the key is read
    (merged: an integer; looked up: text), and their repair deletes them."""
    execute(mysql_admin, f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}", f"USE {DB}",
            "CREATE TABLE i (id int PRIMARY KEY, v int)",
            "INSERT INTO i SELECT seq, seq FROM seq_1_to_300",
            "CREATE TABLE t (k varchar(10) PRIMARY KEY, v int)",
            "INSERT INTO t SELECT concat('k', seq), seq FROM seq_1_to_300")
    execute(local, f"DROP SCHEMA IF EXISTS {DB} CASCADE", f"CREATE SCHEMA {DB}",
            f"CREATE TABLE {DB}.i (id int, v int)", f"CREATE TABLE {DB}.t (k varchar(10), v int)")
    log_dir = fresh_dir("it_check_copy")
    start(local, "it_check_copy", task_config("mysql", log_dir))
    assert wait_state(local, "it_check_copy", 120) == "finished"
    execute(local, f"INSERT INTO {DB}.i VALUES (150, 150), (NULL, 1)",
            f"INSERT INTO {DB}.t VALUES ('k150', 150), (NULL, 1)")
    task = "it_check_dups"
    log_dir = fresh_dir(task)
    start(local, task, task_config("mysql", log_dir, check=True,
                                   extra="[checker_output]\noutput_revise_sql=true"))
    assert wait_state(local, task, 120) == "finished"
    assert rows(local, "SELECT tb, rows_copied, rows_missing, rows_different, rows_extra "
                       "FROM ape_resume.progress(%s) ORDER BY tb", (task,)) == \
        [("i", 300, 0, 0, 2), ("t", 300, 0, 0, 2)]
    sql = read_log(log_dir, "sql.log")
    assert f"DELETE FROM {DB}.i WHERE id IS NULL;" in sql
    assert f"DELETE FROM {DB}.t WHERE k IS NULL;" in sql
    drop_task_if_exists(local, task)
