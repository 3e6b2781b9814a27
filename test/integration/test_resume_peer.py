"""ape-dts's own resume tests, run against ape_resume through start_task,
with the row counts of ../shared/peer-cases/ape-dts/EXPECTED.md."""
import os

import pytest

from conftest import env, run_mongo_file, run_mysql_file, run_pgsrc_file
from peer_harness import run_case


@pytest.mark.peer_cases
def test_mysql_resume_peer_case(local):
    expected, actual, log_dir = run_case(
        local, "mysql_resume_test", "peer_mysql_resume", env("APE_MYSQL_URL"),
        run_mysql_file, ["test_db_1", "test_db_@"])
    assert len(expected) == 11
    assert actual == expected

    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    # the resumer's decisions, in ape-dts's words
    for line in [
        'resumer, get resume value, schema: test_db_1, tb: one_pk_no_uk, col: f_0, result: Some("5")',
        'resumer, get resume value, schema: test_db_@, tb: resume_table_*$4, col: p.k, result: Some("1")',
        'resumer, get resume value, schema: test_db_@, tb: in_position_log_table_*$1, col: p.k, result: Some("1")',
        "resumer, check finished: schema: test_db_@, tb: finished_table_*$1, result: true",
        "resumer, check finished: schema: test_db_@, tb: in_finished_log_table_*$2, result: true",
        "resumer, check finished: schema: test_db_1, tb: one_pk_no_uk, result: false",
    ]:
        assert line in default, line
    # skipped tables are recorded as finished in this task's own finished.log
    with open(os.path.join(log_dir, "finished.log")) as f:
        finished = f.read()
    for tb in ["finished_table_*$1", "finished_table_*$2",
               "in_finished_log_table_*$1", "in_finished_log_table_*$2"]:
        assert f'"schema":"test_db_@","tb":"{tb}"' in finished, tb

    with local.cursor() as cur:
        # resumed tables hold exactly the rows after the position
        cur.execute("SELECT array_agg(f_0 ORDER BY f_0) FROM test_db_1.one_pk_no_uk")
        assert cur.fetchone()[0] == [6, 7, 8, 9]
        cur.execute("SELECT state, order_col, value FROM ape_resume.progress('peer_mysql_resume') "
                    "WHERE schema = 'test_db_@' ORDER BY tb")
        rows = cur.fetchall()
        assert ("skipped", None, None) in [(r[0], None, None) for r in rows]
        states = {r[0] for r in rows}
        assert states == {"skipped", "finished"}


# the PostgreSQL case's tables in the target's public schema (the schema
# itself is the local server's and stays)
PG_PEER_PUBLIC_TABLES = ["resume_table_1", "resume_table_2", "resume_table_3", "resume_table_*$4"]


@pytest.mark.peer_cases
def test_pg_resume_peer_case(local):
    with local.cursor() as cur:
        for tb in PG_PEER_PUBLIC_TABLES:
            cur.execute("SELECT format('DROP TABLE IF EXISTS public.%%I', %s::text)", (tb,))
            cur.execute(cur.fetchone()[0])
    expected, actual, log_dir = run_case(
        local, "pg_resume_test", "peer_pg_resume", env("APE_PGSRC_URL"),
        run_pgsrc_file, ["test_db_*.*"])
    assert len(expected) == 10
    assert actual == expected

    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    for line in [
        'resumer, get resume value, schema: public, tb: resume_table_1, col: pk, result: Some("1")',
        'resumer, get resume value, schema: public, tb: resume_table_2, col: p.k, result: Some("1")',
        'resumer, get resume value, schema: test_db_*.*, tb: resume_table_*$5, col: p.k, result: Some("1")',
        'resumer, get resume value, schema: test_db_*.*, tb: in_position_log_table_*$1, col: p.k, result: Some("1")',
        "resumer, check finished: schema: test_db_*.*, tb: finished_table_*$1, result: true",
        "resumer, check finished: schema: test_db_*.*, tb: in_finished_log_table_*$2, result: true",
        "resumer, check finished: schema: public, tb: resume_table_3, result: false",
    ]:
        assert line in default, line
    assert "pgsrc_secret_pw" not in default

    with local.cursor() as cur:
        # resumed tables hold exactly the rows after the position, with their values
        for tb, key in [("resume_table_1", "pk"), ("resume_table_2", "p.k"),
                        ("resume_table_*$4", "p.k")]:
            cur.execute("SELECT format('SELECT array_agg(ROW(%%I, val)::text ORDER BY %%I) FROM public.%%I',"
                        " %s::text, %s::text, %s::text)", (key, key, tb))
            cur.execute(cur.fetchone()[0])
            assert cur.fetchone()[0] == ["(2,30.00000000)"], tb
        # composite key: no order column, the whole table
        cur.execute("SELECT array_agg(ROW(f_0, f_1)::text ORDER BY f_0) FROM public.resume_table_3")
        assert cur.fetchone()[0] == ["(1,30)", "(2,30)"]
        cur.execute('SELECT array_agg(ROW("p.k", val)::text ORDER BY "p.k") FROM "test_db_*.*"."resume_table_*$5"')
        assert cur.fetchone()[0] == ["(2,30.00000000)"]
        # the target keeps the source's types and keys
        cur.execute("SELECT format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
                    "WHERE attrelid = 'public.resume_table_1'::regclass AND attnum > 0 ORDER BY attnum")
        assert cur.fetchall() == [("integer", True), ("numeric(20,8)", False)]
        cur.execute("SELECT pg_get_indexdef(indexrelid) FROM pg_index "
                    "WHERE indrelid = 'public.resume_table_3'::regclass AND indisprimary")
        assert cur.fetchone()[0].endswith("USING btree (f_0, f_1)")
        cur.execute("SELECT tb, state, order_col FROM ape_resume.progress('peer_pg_resume') ORDER BY tb")
        progress = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
        # a composite key now orders the copy; the file's f_0 entry is not its key
        assert progress["resume_table_3"] == ("finished", '["f_0","f_1"]')
        assert progress["resume_table_2"] == ("finished", "p.k")
        assert progress["finished_table_*$1"][0] == "skipped"


# the Mongo case: collections FerretDB cannot store documents of
MONGO_UNSTORABLE = {("test_db_1", "resume_decimal_tb_1"),        # Decimal128
                    ("test_db_1", "resume_minmax_in_log_tb_1")}  # MinKey, MaxKey


@pytest.mark.peer_cases
def test_mongo_resume_peer_case(local, mongo):
    skipped = []
    expected, actual, log_dir = run_case(
        local, "mongo_resume_log_test", "peer_mongo_resume", env("APE_MONGO_URL"),
        run_mongo_file, ["test_db_1"], skipped)
    # exactly the collections whose BSON types the server lacks are skipped
    assert set(skipped) <= MONGO_UNSTORABLE
    if "ferretdbVersion" in mongo.admin.command("buildInfo"):
        assert set(skipped) == MONGO_UNSTORABLE
    assert len(expected) + len(skipped) == 13
    assert actual == expected

    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    for line in [
        'resumer, get resume value, schema: test_db_1, tb: resume_tb_1, col: _id, '
        'result: Some("{"ObjectId":"648195af9aa9cadd41a9dcb2"}")',
        'resumer, get resume value, schema: test_db_1, tb: resume_int64_in_log_tb_1, col: _id, '
        'result: Some("{"Int64":2}")',
        'resumer, get resume value, schema: test_db_1, tb: non_resume_tb_1, col: _id, result: None',
        "resumer, check finished: schema: test_db_1, tb: finish_tb_1, result: true",
        "resumer, check finished: schema: test_db_1, tb: finish_tb_in_log_1, result: true",
    ]:
        assert line in default, line

    oid = '{"$oid": "648195af9aa9cadd41a9dcb%s"}'
    want = {
        # after ObjectId ...dcb2 (resume.config, then position.log)
        "resume_tb_1": [(oid % 3, {"_id": {"$oid": "648195af9aa9cadd41a9dcb3"}, "name": "a", "age": "1"})],
        "resume_tb_in_log_1": [(oid % 3, {"_id": {"$oid": "648195af9aa9cadd41a9dcb3"}, "name": "a", "age": "1"})],
        "non_resume_tb_1": [(oid % i, {"_id": {"$oid": "648195af9aa9cadd41a9dcb%d" % i}, "name": "a", "age": "1"})
                            for i in (1, 2, 3)],
        "resume_string_tb_1": [('"c"', {"_id": "c", "name": "string_3"})],
        "resume_int32_tb_1": [("3", {"_id": 3, "name": "int32_3"})],
        "resume_int64_in_log_tb_1": [("3", {"_id": 3, "name": "int64_3"})],
        "resume_datetime_in_log_tb_1": [('{"$date": "2024-01-03T00:00:00Z"}',
                                         {"_id": {"$date": "2024-01-03T00:00:00Z"}, "name": "datetime_3"})],
        "resume_binary_tb_1": [('{"$binary": {"base64": "Aw==", "subType": "00"}}',
                                {"_id": {"$binary": {"base64": "Aw==", "subType": "00"}}, "name": "binary_3"})],
        "resume_document_tb_1": [('{"k": 3}', {"_id": {"k": 3}, "name": "document_3"})],
    }
    with local.cursor() as cur:
        for tb, rows in want.items():
            cur.execute("SELECT format('SELECT _id::text, doc FROM test_db_1.%%I ORDER BY _id', %s::text)", (tb,))
            cur.execute(cur.fetchone()[0])
            assert cur.fetchall() == rows, tb
        cur.execute("SELECT tb, state, value FROM ape_resume.progress('peer_mongo_resume') ORDER BY tb")
        progress = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
    assert progress["finish_tb_1"][0] == "skipped"
    assert progress["finish_tb_in_log_1"][0] == "skipped"
    # positions: hex for an ObjectId, ape-dts's tagged JSON otherwise
    assert progress["resume_tb_1"] == ("finished", "648195af9aa9cadd41a9dcb3")
    assert progress["resume_string_tb_1"] == ("finished", '{"String":"c"}')
    assert progress["resume_int32_tb_1"] == ("finished", '{"Int32":3}')
    assert progress["resume_int64_in_log_tb_1"] == ("finished", '{"Int64":3}')
    assert progress["resume_datetime_in_log_tb_1"] == (
        "finished", '{"CanonicalExtJson":{"$date":{"$numberLong":"1704240000000"}}}')
    assert progress["resume_binary_tb_1"] == (
        "finished", '{"CanonicalExtJson":{"$binary":{"base64":"Aw==","subType":"00"}}}')
    assert progress["resume_document_tb_1"] == (
        "finished", '{"CanonicalExtJson":{"k":{"$numberInt":"3"}}}')
