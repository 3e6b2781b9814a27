"""MongoDB source (FerretDB in the test bed): every BSON type the server can
store copied and read back document by document, typed target tables,
mixed-type _id order across resumes, and failures that lose nothing."""
import datetime
import json
import math
import os
import shutil
import time
import uuid

import psycopg2
import pytest
from bson import (Binary, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp, Decimal128,
                  json_util)
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from bson.json_util import CANONICAL_JSON_OPTIONS, JSONOptions

from conftest import env, fresh_dir, start, wait_state, drop_task_if_exists

UTC = datetime.timezone.utc
# names of this run's databases, schemas, tasks and log dirs: another
# session of the test suite may run at the same time
RUN = "_%d" % os.getpid()
READ_OPTIONS = CodecOptions(tz_aware=True, tzinfo=UTC)
# relaxed extended JSON back to BSON values, dates as aware UTC datetimes
JSON_READ = JSONOptions(tz_aware=True, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def cleanup():
    """Drop what this run made: Mongo databases, target schemas, tasks, log dirs."""
    yield
    import pymongo
    client = pymongo.MongoClient(env("APE_MONGO_URL"), serverSelectionTimeoutMS=5000)
    conn = psycopg2.connect(host=env("PGHOST"), port=env("PGPORT"), user=env("PGUSER"),
                            dbname=env("PGDATABASE"))
    conn.autocommit = True
    for db in client.list_database_names():
        if db.startswith("it_mongo_") and db.endswith(RUN):
            client.drop_database(db)
    client.close()
    with conn.cursor() as cur:
        cur.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'it\\_mongo\\_%%' AND nspname LIKE %s",
                    ("%" + RUN,))
        for (schema,) in cur.fetchall():
            drop_schema(conn, schema)
        cur.execute("SELECT name FROM ape_resume.tasks WHERE name LIKE 'it\\_mongo\\_%%' AND name LIKE %s",
                    ("%" + RUN,))
        for (task,) in cur.fetchall():
            drop_task_if_exists(conn, task)
    conn.close()
    for d in os.listdir(env("APE_SHARED_DIR")):
        if d.startswith("it_mongo_") and d.endswith(RUN):
            shutil.rmtree(os.path.join(env("APE_SHARED_DIR"), d), ignore_errors=True)


def config(log_dir, do_tbs, url=None, batch=2, extract_batch=None, resumer=""):
    return f"""
[extractor]
db_type=mongo
url={url or env('APE_MONGO_URL')}
{f'batch_size={extract_batch}' if extract_batch else ''}
[sinker]
batch_size={batch}
[filter]
do_tbs={do_tbs}
[runtime]
log_dir={log_dir}
[resumer]
{resumer}
"""


def task_row(local, task):
    with local.cursor() as cur:
        cur.execute("SELECT state, last_error, source_url FROM ape_resume.tasks WHERE name = %s",
                    (task,))
        return cur.fetchone()


def run_task(local, task, cfg, timeout=120):
    start(local, task, cfg)
    state = wait_state(local, task, timeout)
    row = task_row(local, task)
    assert state == "finished", row
    return row


def drop_schema(local, schema):
    with local.cursor() as cur:
        cur.execute("SELECT format('DROP SCHEMA IF EXISTS %%I CASCADE', %s::text)", (schema,))
        cur.execute(cur.fetchone()[0])


def target_rows(local, schema, tb):
    """(_id text, doc text) of a target table, in no particular order."""
    with local.cursor() as cur:
        cur.execute("SELECT format('SELECT _id::text, doc::text FROM %%I.%%I', %s::text, %s::text)",
                    (schema, tb))
        cur.execute(cur.fetchone()[0])
        return cur.fetchall()


def strict(v):
    """A value with its BSON-relevant type made part of it, so that 2 and
    2.0 (int vs double) differ; Int64 and int are one (relaxed JSON)."""
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int):
        return ("int", int(v))
    if isinstance(v, float):
        return ("float", v, math.copysign(1, v))
    if isinstance(v, dict):
        return ("doc", sorted((k, strict(x)) for k, x in v.items()))
    if isinstance(v, list):
        return ("array", [strict(x) for x in v])
    return (type(v).__name__, v)


def source_docs(mongo, db, coll):
    """The source documents in the server's _id order."""
    c = mongo[db].get_collection(coll, codec_options=READ_OPTIONS)
    return list(c.find({}).sort("_id", 1))


def id_key(value):
    """A canonical text of an _id, to compare sets of documents."""
    return json_util.dumps(value, json_options=CANONICAL_JSON_OPTIONS, sort_keys=True)


def decoded_target(local, schema, tb):
    """{id_key: doc} of a target table, the jsonb read back as BSON values;
    fails on a duplicate _id or an _id column that differs from doc._id."""
    out = {}
    for id_text, doc_text in target_rows(local, schema, tb):
        _id = json_util.loads(id_text, json_options=JSON_READ)
        doc = json_util.loads(doc_text, json_options=JSON_READ)
        assert strict(doc["_id"]) == strict(_id), (id_text, doc_text)
        k = id_key(_id)
        assert k not in out, f"duplicate _id {k}"
        out[k] = doc
    return out


def nest(n):
    d = {"leaf": "bottom"}
    for i in range(n):
        d = {f"l{i}": d}
    return d


# every BSON type FerretDB stores (it refuses Decimal128, MinKey, MaxKey,
# NaN and infinities, code, nested arrays, keys with ".", a leading "$", a
# quote, a backslash or a newline)
TYPE_DOCS = [
    {"_id": 1,
     "double": 1.5, "double_int": 2.0, "double_neg": -0.25, "tiny": 5e-324,
     "huge": 1.7976931348623157e308, "big": 1e20, "small": 1e-7, "pi": math.pi,
     "int32": 7, "int32_min": -2 ** 31, "int32_max": 2 ** 31 - 1,
     "int64_small": Int64(5), "int64_2_53": Int64(2 ** 53), "int64_big": Int64(2 ** 53 + 1),
     "int64_min": Int64(-2 ** 63), "int64_max": Int64(2 ** 63 - 1), "int64_wide": Int64(3 * 2 ** 31),
     "str": "plain", "str_escapes": 'q"uote\\back/slash\nnl\ttab\r\x01\x1f\x7f',
     "str_unicode": "h\u00e9llo \u2603 \U0001d11e \u65e5\u672c", "str_empty": "",
     "doc": {"a": {"b": {"c": 1}}}, "doc_empty": {},
     "arr": [1, "two", 3.0, None, {"x": [1, 2]}, True], "arr_empty": [],
     "bin": Binary(b"\x00\x01\xff", 0), "bin_empty": Binary(b"", 0),
     "bin_old": Binary(b"abc", 2),
     "bin_uuid": Binary.from_uuid(uuid.UUID("0123456789abcdef0123456789abcdef"),
                                  UuidRepresentation.STANDARD),
     "bin_uuid_old": Binary(bytes(range(16)), 3),
     "bin_md5": Binary(bytes(range(16, 32)), 5), "bin_user": Binary(b"z", 0x80),
     "oid": ObjectId("648195af9aa9cadd41a9dcb1"), "t": True, "f": False, "none": None,
     "date": datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
     "date_whole": datetime.datetime(2024, 1, 2, tzinfo=UTC),
     "date_epoch": datetime.datetime(1970, 1, 1, tzinfo=UTC),
     "date_pre_1970": datetime.datetime(1960, 5, 6, 7, 8, 9, 123000, tzinfo=UTC),
     "date_year1": datetime.datetime(1, 1, 1, tzinfo=UTC),
     "date_9999": datetime.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
     "regex": Regex("^a.*b$", "imsx"), "regex_plain": Regex("x/y\\d", ""),
     "ts": Timestamp(1700000000, 7), "ts0": Timestamp(0, 0), "ts_max": Timestamp(2 ** 32 - 1, 2 ** 32 - 1),
     "": "empty key", "\u043a\u043b\u044e\u0447": "unicode key", "with space": 1,
     "deep": nest(150)},
    {"_id": "string id", "v": 1},
    {"_id": "", "v": 2},
    {"_id": ObjectId("648195af9aa9cadd41a9dcb2"), "big_string": "x" * 1_000_000},
    {"_id": {"k": 1, "j": [1, "a"]}, "v": 3},
    {"_id": Binary(b"\x01\x02", 0), "v": 4},
    {"_id": datetime.datetime(2000, 2, 29, tzinfo=UTC), "v": 5},
    {"_id": Int64(2 ** 60), "v": 6},
    {"_id": -0.5, "v": 7},
    {"_id": None, "v": 8},
    {"_id": True, "v": 9},
    {"_id": Timestamp(1, 1), "v": 10},
]


def test_every_bson_type(local, mongo):
    db = task = "it_mongo_types" + RUN
    mongo.drop_database(db)
    mongo[db]["all"].insert_many(TYPE_DOCS)
    mongo[db]["empty"].insert_one({"_id": 0})
    mongo[db]["empty"].delete_many({})
    drop_schema(local, db)
    log_dir = fresh_dir(task)
    run_task(local, task, config(log_dir, f"{db}.*", batch=3))

    # document by document, every value with its type
    want = source_docs(mongo, db, "all")
    got = decoded_target(local, db, "all")
    assert len(got) == len(want) == len(TYPE_DOCS)
    for doc in want:
        assert strict(got[id_key(doc["_id"])]) == strict(doc), doc["_id"]
    assert target_rows(local, db, "empty") == []

    with local.cursor() as cur:
        # the JSON itself: numbers stay numbers of their kind, other types in $ form
        fields = ["double_int", "big", "small", "tiny", "int64_big", "int64_2_53", "date",
                  "date_pre_1970", "bin_user", "bin_uuid", "ts", "regex", "oid", "str_escapes"]
        cur.execute("SELECT " + ", ".join(f"(doc->'{f}')::text" for f in fields) +
                    f" FROM {db}.\"all\" WHERE _id = '1'")
        pre_1970 = TYPE_DOCS[0]["date_pre_1970"] - datetime.datetime(1970, 1, 1, tzinfo=UTC)
        assert dict(zip(fields, cur.fetchone())) == {
            "double_int": "2.0",
            "big": "100000000000000000000.0",
            "small": "0.0000001",
            "tiny": "0." + "0" * 323 + "5",
            "int64_big": '{"$numberLong": "9007199254740993"}',
            "int64_2_53": "9007199254740992",
            "date": '{"$date": "2024-01-02T03:04:05.678Z"}',
            "date_pre_1970": '{"$date": {"$numberLong": "%d"}}' % (pre_1970 // datetime.timedelta(milliseconds=1)),
            "bin_user": '{"$binary": {"base64": "eg==", "subType": "80"}}',
            "bin_uuid": '{"$binary": {"base64": "ASNFZ4mrze8BI0VniavN7w==", "subType": "04"}}',
            "ts": '{"$timestamp": {"i": 7, "t": 1700000000}}',
            "regex": '{"$regularExpression": {"options": "imsx", "pattern": "^a.*b$"}}',
            "oid": '{"$oid": "648195af9aa9cadd41a9dcb1"}',
            "str_escapes": '"q\\"uote\\\\back/slash\\nnl\\ttab\\r\\u0001\\u001f\x7f"'}
        # the table the extension made
        cur.execute(f"""SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute
                        WHERE attrelid = '{db}."all"'::regclass AND attnum > 0 ORDER BY attnum""")
        assert cur.fetchall() == [("_id", "jsonb", True), ("doc", "jsonb", True)]
        cur.execute(f"""SELECT pg_get_indexdef(indexrelid) FROM pg_index
                        WHERE indrelid = '{db}."all"'::regclass AND indisprimary""")
        assert cur.fetchone()[0].endswith("USING btree (_id)")
        cur.execute("SELECT tb, state, order_col, rows_copied, rows_estimated, value "
                    "FROM ape_resume.progress(%s) ORDER BY tb", (task,))
        assert cur.fetchall() == [
            ("all", "finished", "_id", len(TYPE_DOCS), len(TYPE_DOCS),
             '{"CanonicalExtJson":{"$timestamp":{"t":1,"i":1}}}'),
            ("empty", "finished", "_id", 0, 0, None)]
    with open(os.path.join(log_dir, "position.log")) as f:
        values = [json.loads(line.split(" | ")[2])["value"] for line in f
                  if "| current_position |" in line]
    # batches of 3 in _id order: null, numbers, strings, object, binData,
    # ObjectId, bool, date, timestamp
    assert values == ['{"Int32":1}', '{"String":"string id"}', "648195af9aa9cadd41a9dcb2",
                      '{"CanonicalExtJson":{"$timestamp":{"t":1,"i":1}}}']


def test_typed_target_table(local, mongo):
    """An existing target table with typed columns: top-level fields by
    column name, doc the whole document, _id the _id."""
    db = task = "it_mongo_typed" + RUN
    mongo.drop_database(db)
    u = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
    a = ObjectId("648195af9aa9cadd41a9dc01")
    b = ObjectId("648195af9aa9cadd41a9dc02")
    mongo[db]["people"].insert_many([
        {"_id": a, "name": "alice", "age": 30, "score": 12.5, "wide": Int64(2 ** 40),
         "born": datetime.datetime(1990, 5, 6, 7, 8, 9, 123000), "day": datetime.datetime(2024, 1, 2),
         "raw": Binary(b"\x00\xff", 0), "u": Binary.from_uuid(u, UuidRepresentation.STANDARD),
         "tags": ["a", {"b": 1}], "flag": True, "note": {"x": 1}, "extra": "not in the target"},
        {"_id": b, "name": "bob", "age": Int64(41), "score": 7, "born": None, "flag": False,
         "note": "text"},
    ])
    drop_schema(local, db)
    with local.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {db}")
        cur.execute(f"""CREATE TABLE {db}.people (_id text PRIMARY KEY, name text NOT NULL,
                        age integer, score numeric, wide bigint, born timestamptz, day date,
                        raw bytea, u uuid, tags jsonb, flag boolean, note text, doc jsonb,
                        missing text, gen int GENERATED ALWAYS AS (age * 2) STORED)""")
        cur.execute(f"ALTER TABLE {db}.people DROP COLUMN missing")
        cur.execute(f"ALTER TABLE {db}.people ADD COLUMN absent text")
    run_task(local, task, config(fresh_dir(task), f"{db}.people"))
    with local.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute(f"""SELECT _id, name, age, score::text, wide, born::text, day::text,
                               encode(raw, 'hex'), u::text, tags::text, flag, note,
                               doc->>'extra', absent, gen
                        FROM {db}.people ORDER BY _id""")
        assert cur.fetchall() == [
            (str(a), "alice", 30, "12.5", 2 ** 40, "1990-05-06 07:08:09.123+00", "2024-01-02",
             "00ff", str(u), '["a", {"b": 1}]', True, '{"x":1}', "not in the target", None, 60),
            (str(b), "bob", 41, "7", None, None, None, None, None, None, False, "text", None,
             None, 82)]
        cur.execute("SELECT value FROM ape_resume.progress(%s)", (task,))
        assert cur.fetchone()[0] == str(b)

    # a target table without the _id column cannot take the collection
    with local.cursor() as cur:
        cur.execute(f"DROP TABLE {db}.people")
        cur.execute(f"CREATE TABLE {db}.people (id text, doc jsonb)")
    start(local, task, config(fresh_dir(task), f"{db}.people"))
    assert wait_state(local, task, 60) == "failed"
    assert task_row(local, task)[1] == (
        f'target table {db}.people has no column "_id" for source table "{db}"."people"')


# _ids of every type FerretDB stores, in MongoDB's order
MIXED_IDS = [
    None,
    -1e300, -5, -0.5, 2, 2.5, Int64(2 ** 40),
    "", "a", "b", "\u00e9",
    {"a": 5}, {"k": 1}, {"k": 2},
    Binary(b"\x01", 0), Binary(b"\x02", 0), Binary(b"\x00\x00", 5),
    ObjectId("648195af9aa9cadd41a9dcb1"), ObjectId("648195af9aa9cadd41a9dcb2"),
    ObjectId("648195af9aa9cadd41a9dcb3"),
    False, True,
    datetime.datetime(1960, 1, 1, tzinfo=UTC), datetime.datetime(2024, 1, 1, tzinfo=UTC),
    Timestamp(4, 1), Timestamp(5, 1),
]


def rank(v):
    """MongoDB's type bracket of a value, as in canonicalizeBSONType."""
    if isinstance(v, MinKey):
        return 0
    if v is None:
        return 2
    if isinstance(v, bool):
        return 9
    if isinstance(v, (int, float, Decimal128)):
        return 3
    if isinstance(v, str):
        return 4
    if isinstance(v, dict):
        return 5
    if isinstance(v, (bytes, Binary)):
        return 7
    if isinstance(v, ObjectId):
        return 8
    if isinstance(v, datetime.datetime):
        return 10
    if isinstance(v, Timestamp):
        return 11
    if isinstance(v, MaxKey):
        return 16
    raise AssertionError(v)


def position_of(v):
    """The position text ape-dts writes for an _id value."""
    if isinstance(v, ObjectId):
        return str(v)
    if isinstance(v, str):
        return json.dumps({"String": v}, separators=(",", ":"), ensure_ascii=False)
    if isinstance(v, int) and not isinstance(v, (bool, Int64)):
        return json.dumps({"Int32": v}, separators=(",", ":"))
    if isinstance(v, Int64):
        return json.dumps({"Int64": int(v)}, separators=(",", ":"))
    return '{"CanonicalExtJson":%s}' % json_util.dumps(
        v, json_options=CANONICAL_JSON_OPTIONS, separators=(",", ":"))


def resume_line(db, coll, value):
    return json.dumps({"type": "RdbSnapshot", "db_type": "mongo", "schema": db, "tb": coll,
                       "order_key": {"single": ["_id", value]}}, separators=(",", ":"))


def test_mixed_id_positions(local, mongo):
    """A resume after a value of any type copies the later _ids of its own
    type and every _id of a later type, none before: one collection a
    position, all in one task through resume.config."""
    db = "it_mongo_mixed" + RUN
    mongo.drop_database(db)
    # the server's order is MongoDB's
    mongo[db]["order"].insert_many([{"_id": v, "i": i} for i, v in enumerate(reversed(MIXED_IDS))])
    assert [id_key(d["_id"]) for d in source_docs(mongo, db, "order")] == [id_key(v) for v in MIXED_IDS]

    cases = {}       # collection -> (position text, the _ids expected after it)
    for i, v in enumerate(MIXED_IDS):
        cases[f"after_{i:02d}"] = (position_of(v), MIXED_IDS[i + 1:])
    # a position written as tagged JSON instead of hex
    cases["after_oid_tagged"] = ('{"ObjectId":"648195af9aa9cadd41a9dcb1"}', MIXED_IDS[18:])
    # positions of types FerretDB cannot store: the server is never asked with them
    numbers_after_2_2 = [v for v in MIXED_IDS if rank(v) == 3 and v > 2.2]
    later = lambda r: [v for v in MIXED_IDS if rank(v) > r]  # noqa: E731
    cases["after_minkey"] = ('{"CanonicalExtJson":{"$minKey":1}}', MIXED_IDS)
    cases["after_maxkey"] = ('{"CanonicalExtJson":{"$maxKey":1}}', [])
    cases["after_decimal"] = ('{"CanonicalExtJson":{"$numberDecimal":"2.2"}}',
                              numbers_after_2_2 + later(3))
    cases["after_nan"] = ('{"CanonicalExtJson":{"$numberDouble":"NaN"}}',
                          [v for v in MIXED_IDS if rank(v) >= 3])
    cases["after_symbol"] = ('{"Symbol":"a"}', ["b", "\u00e9"] + later(4))
    cases["after_undefined"] = ('{"CanonicalExtJson":{"$undefined":true}}', MIXED_IDS)
    cases["after_code"] = ('{"JavaScriptCode":"x"}', [])
    for coll in cases:
        mongo[db][coll].insert_many([{"_id": v, "coll": coll} for v in MIXED_IDS])

    case_dir = fresh_dir("it_mongo_mixed_case" + RUN)
    with open(os.path.join(case_dir, "resume.config"), "w") as f:
        for coll, (value, _) in cases.items():
            f.write(resume_line(db, coll, value) + "\n")
    os.chmod(os.path.join(case_dir, "resume.config"), 0o644)
    drop_schema(local, db)
    run_task(local, "it_mongo_mixed" + RUN,
             config(fresh_dir("it_mongo_mixed" + RUN), f"{db}.after_*", batch=4,
                    resumer=f"resume_config_file={case_dir}/resume.config"))
    for coll, (value, after) in cases.items():
        got = decoded_target(local, db, coll)
        assert sorted(got) == sorted(id_key(v) for v in after), (coll, value)
        for doc in got.values():
            assert doc["coll"] == coll


def config_once(log_dir, db, resumer=""):
    return config(log_dir, f"{db}.c", batch=500, extract_batch=200, resumer=resumer)


def once_source(mongo, db, n_oids=20000):
    """Numbers and strings before 20000 ObjectIds, then dates and timestamps."""
    mongo.drop_database(db)
    docs = [{"_id": i, "v": "n%d" % i} for i in range(1000)]
    docs += [{"_id": "s%05d" % i, "v": i} for i in range(1000)]
    docs += [{"_id": ObjectId("%024x" % (0x648195af0000000000000000 + i)), "v": i} for i in range(n_oids)]
    docs += [{"_id": datetime.datetime(2000, 1, 1, tzinfo=UTC) + datetime.timedelta(minutes=i), "v": i}
             for i in range(1000)]
    docs += [{"_id": Timestamp(1000 + i, 1), "v": i} for i in range(1000)]
    for i in range(0, len(docs), 5000):
        mongo[db]["c"].insert_many(docs[i:i + 5000])
    return [id_key(d["_id"]) for d in source_docs(mongo, db, "c")]


def fresh_target(local, db):
    """The target without keys, so that a document copied twice shows."""
    drop_schema(local, db)
    with local.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {db}")
        cur.execute(f"CREATE TABLE {db}.c (_id jsonb, doc jsonb)")


def target_ids(local, db):
    """canonical _id keys of the target, sorted in the source's order by the caller."""
    rows = target_rows(local, db, "c")
    keys = [id_key(json_util.loads(r[0], json_options=JSON_READ)) for r in rows]
    return keys


def progress(local, task):
    with local.cursor() as cur:
        cur.execute("SELECT rows_copied, value, state FROM ape_resume.progress(%s)", (task,))
        return cur.fetchone()


def wait_rows(local, task, low, high):
    deadline = time.time() + 60
    while time.time() < deadline:
        row = progress(local, task)
        if row and row[0] >= low:
            assert row[0] < high, f"copied {row[0]} rows before it could be interrupted"
            return row[0]
        time.sleep(0.005)
    raise AssertionError(f"{task} did not copy {low} rows in 60 s")


def assert_prefix(local, db, order, value, n):
    """The target holds exactly the first n documents of the source, once each,
    the last of them at position value."""
    got = target_ids(local, db)
    assert len(got) == n == len(set(got))
    assert sorted(got, key=order.index) == order[:n]
    assert position_of(json_util.loads(order[n - 1])) == value


def test_stop_resume_after_objectid(local, mongo):
    """Stopped inside the ObjectIds, resumed from the catalog: the rest of the
    ObjectIds and the later types (dates, timestamps) are copied, none of
    the numbers and strings before them again."""
    db = "it_mongo_once" + RUN
    order = once_source(mongo, db)
    fresh_target(local, db)
    task = "it_mongo_once" + RUN
    start(local, task, config_once(fresh_dir(task), db))
    wait_rows(local, task, 3000, 21000)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.stop_task(%s)", (task,))
    assert wait_state(local, task, 60) == "stopped"
    n, value, _ = progress(local, task)
    assert 2000 < n < 22000 and len(value) == 24, (n, value)   # an ObjectId, as hex
    assert_prefix(local, db, order, value, n)

    with local.cursor() as cur:
        cur.execute("SELECT tb, action, value, decided_by FROM ape_resume.resume_plan(%s)", (task,))
        assert cur.fetchall() == [("c", "resume", value, "catalog")]
        cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
    assert wait_state(local, task, 120) == "finished"
    got = target_ids(local, db)
    assert len(got) == len(order) and sorted(got, key=order.index) == order
    assert progress(local, task)[:2] == (len(order), '{"CanonicalExtJson":{"$timestamp":{"t":1999,"i":1}}}')

    # the documents themselves
    want = source_docs(mongo, db, "c")
    with local.cursor() as cur:
        cur.execute(f"SELECT doc::text FROM {db}.c")
        docs = {id_key(d["_id"]): d for d in
                (json_util.loads(r[0], json_options=JSON_READ) for r in cur.fetchall())}
    for d in want:
        assert strict(docs[id_key(d["_id"])]) == strict(d)


def newest_cursor_id(mongo, db, coll):
    """Open and close a cursor: FerretDB numbers cursors with one counter."""
    probe = mongo[db][coll].find({}).batch_size(2)
    next(probe)
    newest = probe.cursor_id
    probe.close()
    return newest


def test_one_cursor_per_collection(local, mongo):
    """The batches of a collection read on one sorted cursor: 40
    checkpoints, one query."""
    db = task = "it_mongo_cursor" + RUN
    mongo.drop_database(db)
    mongo[db]["c"].insert_many([{"_id": i, "v": "x" * (i % 50)} for i in range(4000)])
    drop_schema(local, db)
    log_dir = fresh_dir(task)
    before = newest_cursor_id(mongo, db, "c")
    run_task(local, task, config(log_dir, f"{db}.c", batch=100, extract_batch=50))
    after = newest_cursor_id(mongo, db, "c")
    # the worker's find, and at most a stray one of another test session
    assert 1 <= after - before - 1 <= 2
    with open(os.path.join(log_dir, "position.log")) as f:
        values = [json.loads(line.split(" | ")[2])["value"] for line in f
                  if "| current_position |" in line]
    assert values == ['{"Int32":%d}' % (i * 100 + 99) for i in range(40)]
    got = decoded_target(local, db, "c")
    assert [strict(got[id_key(d["_id"])]) for d in source_docs(mongo, db, "c")] == \
        [strict(d) for d in source_docs(mongo, db, "c")]


def test_resume_from_lagging_log(local, mongo):
    """Resumed from a position.log that lags the copied rows, without a
    catalog: the documents after the position that are in the target
    already are replaced, not duplicated, whatever their _id type."""
    db = task = "it_mongo_lag" + RUN
    order = once_source(mongo, db, n_oids=3000)
    fresh_target(local, db)
    log_dir = fresh_dir(task)
    run_task(local, task, config_once(log_dir, db))
    drop_task_if_exists(local, task)
    path = os.path.join(log_dir, "position.log")
    with open(path) as f:
        lines = f.read().splitlines()
    assert len(lines) == 2 * (len(order) // 500)
    with open(path, "w") as f:
        f.write("\n".join(lines[:10]) + "\n")    # 5 checkpoints: 2500 documents
    os.remove(os.path.join(log_dir, "finished.log"))
    run_task(local, task, config_once(log_dir, db, resumer="resume_from_log=true"))
    got = target_ids(local, db)
    assert len(got) == len(order) and sorted(got, key=order.index) == order
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    assert (f'resumer, get resume value, schema: {db}, tb: c, col: _id, '
            f'result: Some("{position_of(json_util.loads(order[2499]))}")') in default
    assert f'replaced {len(order) - 2500} rows of "{db}"."c"' in default


def test_killed_cursor_and_dropped_collection(local, mongo):
    """The server kills the worker's cursor: the batch read from it is not
    kept, the copy goes on from the last checkpoint, every document once.
    The collection dropped mid-copy: the task fails saying so, keeping
    what was committed."""
    db = "it_mongo_kill" + RUN
    order = once_source(mongo, db)
    fresh_target(local, db)
    task = "it_mongo_kill" + RUN
    log_dir = fresh_dir(task)
    start(local, task, config_once(log_dir, db))
    wait_rows(local, task, 1000, 20000)
    # cursor ids are a counter: ours is the newest of the worker's; killCursors
    # only kills cursors of the namespace named, i.e. of this collection
    newest = newest_cursor_id(mongo, db, "c")
    killed = mongo[db].command("killCursors", "c", cursors=[Int64(newest - i) for i in range(1, 300)])
    assert len(killed["cursorsKilled"]) == 1, killed
    assert wait_state(local, task, 120) == "finished"
    got = target_ids(local, db)
    assert len(got) == len(order) and sorted(got, key=order.index) == order
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    # a getMore on the killed cursor fails and the worker retries; or, when the
    # kill races with a getMore, FerretDB ends the cursor as if it were done,
    # and the end check (a query after the last document) reads on
    if "source lost" in default:
        assert (f'source lost while copying table "{db}"."c": reading collection "{db}"."c" on MongoDB '
                f'server "127.0.0.1:{env("APE_MONGO_PORT")}" failed: cursor id '
                f'{killed["cursorsKilled"][0]} not found; retrying') in default

    fresh_target(local, db)
    # every batch takes 20 ms more: the drop comes while the copy runs
    with local.cursor() as cur:
        cur.execute(f"CREATE FUNCTION {db}.slow() RETURNS trigger LANGUAGE plpgsql "
                    f"AS $$BEGIN PERFORM pg_sleep(0.02); RETURN NULL; END$$")
        cur.execute(f"CREATE TRIGGER slow AFTER INSERT ON {db}.c FOR EACH STATEMENT "
                    f"EXECUTE FUNCTION {db}.slow()")
    start(local, task, config_once(fresh_dir(task), db))
    wait_rows(local, task, 1000, 20000)
    mongo.drop_database(db)
    assert wait_state(local, task, 120) == "failed"
    n, value, state = progress(local, task)
    assert task_row(local, task)[1] == (
        f'collection "{db}"."c" does not exist on MongoDB server "127.0.0.1:{env("APE_MONGO_PORT")}"')
    assert state == "copying"
    assert_prefix(local, db, order, value, n)


def test_bad_input(local, mongo):
    db = "it_mongo_bad" + RUN
    mongo.drop_database(db)
    mongo[db]["c"].insert_many([{"_id": 1, "s": "ok"}, {"_id": 2, "sub": {"s": "a\x00b"}},
                                {"_id": 3, "s": "ok"}])
    drop_schema(local, db)
    task = "it_mongo_bad" + RUN

    # a NUL in a string: the task fails naming collection, _id and field, keeps the batch before
    start(local, task, config(fresh_dir(task), f"{db}.c", batch=1))
    assert wait_state(local, task, 60) == "failed"
    assert task_row(local, task)[1] == (
        f'document with _id 2 of collection "{db}"."c" cannot be copied: field "sub.s" holds '
        f'a string with a NUL character, which PostgreSQL cannot store')
    assert sorted(r[0] for r in target_rows(local, db, "c")) == ["1"]
    # fixed at the source, the task resumes and copies the rest once
    mongo[db]["c"].update_one({"_id": 2}, {"$set": {"sub.s": "ab"}})
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
    assert wait_state(local, task, 60) == "finished"
    assert sorted(target_rows(local, db, "c")) == [
        ("1", '{"s": "ok", "_id": 1}'), ("2", '{"_id": 2, "sub": {"s": "ab"}}'),
        ("3", '{"s": "ok", "_id": 3}')]

    # a resume value that is no position: an error naming the collection
    case_dir = fresh_dir("it_mongo_bad_case" + RUN)
    for value, why in [
            ("nothex", "it is neither 24 hex digits nor a JSON object"),
            ('{"Int32":"2"}', "the value must be a JSON integer"),
            ('{"Int32":3000000000}', "the value is out of the range of Int32"),
            ('{"Float":2}', "its key is not ObjectId, String, Symbol, JavaScriptCode, Int32, "
                            "Int64, DateTime, Timestamp or CanonicalExtJson"),
            ('{"String":"a","Int32":1}', "the JSON object has more than one key"),
            ('{"CanonicalExtJson":{"$binary":1}}', None)]:
        with open(os.path.join(case_dir, "resume.config"), "w") as f:
            f.write(resume_line(db, "c", value) + "\n")
        os.chmod(os.path.join(case_dir, "resume.config"), 0o644)
        drop_schema(local, db)
        start(local, task, config(fresh_dir(task), f"{db}.c",
                                  resumer=f"resume_config_file={case_dir}/resume.config"))
        assert wait_state(local, task, 60) == "failed"
        msg = task_row(local, task)[1]
        assert msg.startswith(f'invalid resume value "{value}" for column "_id" of collection "{db}"."c": '), msg
        if why:
            assert msg.endswith(why), msg


def test_unreachable_server_and_password(local):
    task = "it_mongo_unreachable" + RUN
    log_dir = fresh_dir(task)
    url = "mongodb://ape:s3cret-Mongo-pw@127.0.0.1:1/?authSource=admin"
    t0 = time.time()
    start(local, task, config(log_dir, "d.c", url=url))
    assert wait_state(local, task, 60) == "failed"
    assert time.time() - t0 < 30
    state, error, source_url = task_row(local, task)
    assert error.startswith('could not connect to MongoDB server "127.0.0.1:1": '), error
    assert "s3cret-Mongo-pw" not in error and "s3cret-Mongo-pw" not in source_url
    assert source_url == "mongodb://ape:*****@127.0.0.1:1/?authSource=admin"
    with open(os.path.join(log_dir, "default.log")) as f:
        assert "s3cret-Mongo-pw" not in f.read()

    # a URL libmongoc cannot read: an error at once, masked
    with pytest.raises(psycopg2.Error) as e:
        with local.cursor() as cur:
            cur.execute("SELECT * FROM ape_resume.resume_plan('x', %s)",
                        (config(log_dir, "d.c", url="mongodb://ape:s3cret-Mongo-pw@/"),))
    assert "s3cret-Mongo-pw" not in str(e.value)
    assert "invalid MongoDB source url" in str(e.value)


def test_secondary_indexes_follow_the_data(local, mongo):
    """A collection's indexes on plain fields become btree expression
    indexes on doc, compound in order, descending parts kept, and the
    planner uses them; a unique index is listed as not copied with the
    reason."""
    db = "it_mongo_ix" + RUN
    task = "it_mongo_ix" + RUN
    mongo.drop_database(db)
    coll = mongo[db]["c"]
    coll.insert_many([{"_id": i, "a": i % 7, "b": {"c": "x%d" % i}, "t": "w%d" % i,
                       "at": datetime.datetime(2024, 1, 1, tzinfo=UTC)} for i in range(500)])
    coll.create_index([("a", 1)], name="a_1")
    coll.create_index([("a", 1), ("b.c", -1)], name="a_b")
    coll.create_index([("t", 1)], name="t_uq", unique=True)
    # FerretDB 1.24 creates no text, TTL or partial index (README)
    listed = {ix["name"] for ix in coll.list_indexes()}
    assert listed == {"_id_", "a_1", "a_b", "t_uq"}
    drop_schema(local, db)
    state, error, _ = run_task(local, task, config(fresh_dir(task), f"{db}.c"))
    assert state == "finished", error
    with local.cursor() as cur:
        cur.execute("SELECT name, state, ddl, error FROM ape_resume.structures WHERE task_name = %s "
                    "ORDER BY name", (task,))
        got = {r[0]: r[1:] for r in cur.fetchall()}
        assert got["c_a_1_idx"] == ("done", f'CREATE INDEX c_a_1_idx ON {db}.c ((doc OPERATOR(pg_catalog.->) \'a\'))', None)
        assert got["c_a_b_idx"][0] == "done"
        assert got["c_t_uq_idx"][0] == "not_copied" and "unique" in got["c_t_uq_idx"][2]
        assert set(got) == {"c_a_1_idx", "c_a_b_idx", "c_t_uq_idx"}
        cur.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 'c' "
                    "ORDER BY indexname", (db,))
        assert [r[0] for r in cur.fetchall()] == [
            f"CREATE INDEX c_a_1_idx ON {db}.c USING btree (((doc -> 'a'::text)))",
            f"CREATE INDEX c_a_b_idx ON {db}.c USING btree (((doc -> 'a'::text)), ((doc #> '{{b,c}}'::text[])) DESC)",
            f"CREATE UNIQUE INDEX c_pkey ON {db}.c USING btree (_id)"]
        cur.execute("SET enable_seqscan = off")
        cur.execute(f"EXPLAIN SELECT _id FROM {db}.c WHERE doc -> 'a' = '3'")
        plan = " ".join(r[0] for r in cur.fetchall())
        cur.execute("RESET enable_seqscan")
        assert "c_a_" in plan, plan
        cur.execute(f"SELECT count(*) FROM {db}.c WHERE doc -> 'a' = '3'")
        assert cur.fetchone()[0] == len([i for i in range(500) if i % 7 == 3])
