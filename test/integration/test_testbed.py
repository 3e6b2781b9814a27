"""The test bed itself: every source server is reachable and ape-dts's
peer cases load into it with their values and key types intact."""
import datetime
import os

import bson
import pytest

from conftest import PEER_CASES, run_mysql_file, run_pgsrc_file, run_mongo_file


@pytest.mark.peer_cases
def test_mysql_peer_case_loads(mysql_admin):
    case = os.path.join(PEER_CASES, "mysql_resume_test")
    run_mysql_file(os.path.join(case, "src_prepare.sql"))
    run_mysql_file(os.path.join(case, "src_test.sql"))
    with mysql_admin.cursor() as cur:
        counts = {}
        for db, tb in [("test_db_1", "no_pk_no_uk"), ("test_db_1", "one_pk_no_uk"),
                       ("test_db_1", "no_pk_one_uk"), ("test_db_1", "no_pk_multi_uk"),
                       ("test_db_1", "one_pk_multi_uk"), ("test_db_@", "resume_table_*$4"),
                       ("test_db_@", "in_position_log_table_*$1")]:
            cur.execute(f"SELECT count(*) FROM `{db}`.`{tb}`")
            counts[(db, tb)] = cur.fetchone()[0]
        assert counts[("test_db_1", "one_pk_no_uk")] == 9
        assert counts[("test_db_1", "no_pk_no_uk")] == 9
        assert counts[("test_db_@", "resume_table_*$4")] == 2
        cur.execute("SELECT f_8, f_16, f_28 FROM test_db_1.one_pk_no_uk WHERE f_0 = 2")
        bit, binary, js = cur.fetchone()
        assert bit == (3045).to_bytes(8, "big")
        assert binary[:1] == b"3" and len(binary) == 255 and binary[1:] == b"\0" * 254


@pytest.mark.peer_cases
def test_pg_peer_case_loads(pgsrc):
    case = os.path.join(PEER_CASES, "pg_resume_test")
    run_pgsrc_file(os.path.join(case, "src_prepare.sql"))
    run_pgsrc_file(os.path.join(case, "src_test.sql"))
    with pgsrc.cursor() as cur:
        cur.execute('SELECT count(*) FROM "test_db_*.*"."in_position_log_table_*$1"')
        assert cur.fetchone()[0] == 2
        cur.execute('SELECT count(*) FROM public."resume_table_*$4"')
        assert cur.fetchone()[0] == 2


@pytest.mark.peer_cases
def test_mongo_peer_case_loads(mongo):
    case = os.path.join(PEER_CASES, "mongo_resume_log_test")
    skipped = run_mongo_file(os.path.join(case, "src_prepare.sql"))
    skipped += run_mongo_file(os.path.join(case, "src_test.sql"))
    db = mongo["test_db_1"]
    ids = {name: [d["_id"] for d in db[name].find({}, {"_id": 1})]
           for name in db.list_collection_names()}
    assert sorted(ids["resume_tb_1"]) == [bson.ObjectId("648195af9aa9cadd41a9dcb" + c) for c in "123"]
    assert sorted(ids["resume_string_tb_1"]) == ["a", "b", "c"]
    assert sorted(ids["resume_int32_tb_1"]) == [1, 2, 3]
    assert all(type(i) is int for i in ids["resume_int32_tb_1"])
    assert sorted(ids["resume_int64_in_log_tb_1"]) == [1, 2, 3]
    assert all(isinstance(i, bson.int64.Int64) for i in ids["resume_int64_in_log_tb_1"])
    assert sorted(ids["resume_datetime_in_log_tb_1"]) == [
        datetime.datetime(2024, 1, d) for d in (1, 2, 3)]
    assert sorted(ids["resume_binary_tb_1"]) == [b"\x01", b"\x02", b"\x03"]
    assert sorted(i["k"] for i in ids["resume_document_tb_1"]) == [1, 2, 3]
    # what the server cannot store is reported, never silently dropped
    skipped_colls = {line.split()[1].split(".", 1)[1].rstrip(":") for line in skipped}
    for coll in ("resume_decimal_tb_1", "resume_minmax_in_log_tb_1"):
        if coll not in skipped_colls:
            assert len(ids[coll]) == 3, coll
    print("collections the test server could not store:", sorted(skipped_colls) or "none")
