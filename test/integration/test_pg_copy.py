"""PostgreSQL source: every type compared value by value, NULL vs empty
string, every Unicode plane, timestamptz across time zones, keys and
partitions, quoted names, and the target's column types.

Rows are compared as their canonical text (ROW(...)::text) in sessions of
both clusters with the same settings, ordered by key."""
import os

import psycopg2
import pytest

from conftest import env, fresh_dir, wait_state, drop_task_if_exists

SCHEMA = "it_pg_types"

# same output settings on both sides, on purpose not UTC
SESSION = ("SET TimeZone = 'Asia/Kathmandu'; SET DateStyle = 'ISO, YMD'; "
           "SET IntervalStyle = postgres; SET extra_float_digits = 3; "
           "SET bytea_output = hex; SET lc_monetary = 'C.UTF-8'")

SOURCE_DDL = f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
SET search_path = {SCHEMA};
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'wow "q"');
CREATE TYPE pair AS (x int, y text);
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN short AS varchar(8);
CREATE TABLE all_types (
    id integer PRIMARY KEY,
    c_smallint smallint, c_int integer NOT NULL, c_bigint bigint,
    c_num numeric, c_num_huge numeric(1000,500), c_num_ps numeric(12,2),
    c_real real, c_double double precision, c_money money, c_bool boolean,
    c_char char(5), c_varchar varchar(10), c_text text, c_qchar "char", c_name name,
    c_bytea bytea,
    c_date date, c_time time(3), c_timetz timetz, c_ts timestamp(6), c_tstz timestamptz,
    c_tstz3 timestamptz(3), c_interval interval, c_interval_ym interval year to month,
    c_uuid uuid UNIQUE, c_inet inet, c_cidr cidr, c_macaddr macaddr, c_macaddr8 macaddr8,
    c_bit bit(5), c_varbit varbit(16),
    c_json json, c_jsonb jsonb, c_xml xml,
    c_int4range int4range, c_numrange numrange, c_tstzrange tstzrange, c_daterange daterange,
    c_int4multirange int4multirange,
    c_int_arr integer[], c_text_arr text[], c_2d_arr integer[][], c_num_arr numeric(5,2)[],
    c_tstz_arr timestamptz[],
    c_point point, c_box box, c_tsvector tsvector, c_tsquery tsquery, c_oid oid, c_pglsn pg_lsn,
    c_enum mood, c_enum_arr mood[],
    c_domain posint, c_domain_short short, c_domain_arr short[],
    c_pair pair,
    c_gen integer GENERATED ALWAYS AS (id * 10) STORED
);
INSERT INTO all_types (id, c_smallint, c_int, c_bigint, c_num, c_num_huge, c_num_ps, c_real,
    c_double, c_money, c_bool, c_char, c_varchar, c_text, c_qchar, c_name, c_bytea, c_date,
    c_time, c_timetz, c_ts, c_tstz, c_tstz3, c_interval, c_interval_ym, c_uuid, c_inet, c_cidr,
    c_macaddr, c_macaddr8, c_bit, c_varbit, c_json, c_jsonb, c_xml, c_int4range, c_numrange,
    c_tstzrange, c_daterange, c_int4multirange, c_int_arr, c_text_arr, c_2d_arr, c_num_arr,
    c_tstz_arr, c_point, c_box, c_tsvector, c_tsquery, c_oid, c_pglsn, c_enum, c_enum_arr,
    c_domain, c_domain_short, c_domain_arr, c_pair)
VALUES
(1, -32768, -2147483648, -9223372036854775808,
 -123456789012345678901234567890.123456789012345678901234567890,
 ('9' || repeat('8', 498) || '.' || repeat('7', 499) || '1')::numeric(1000,500),
 -9999999999.99, -3.4028235e+38, 1.7976931348623157e+308, -92233720368547758.08, true,
 'ab', 'tab	nl
\\\\', E'quote '' dq " bs \\\\ \\\\N', 'q', 'name with space',
 '\\x00ff5c0a09', '4713-01-01 BC', '23:59:59.999', '00:00:01+14:59', '0001-01-01 00:00:00',
 '2024-03-31 01:59:59.999999+01', '1999-12-31 23:59:59.9995+00',
 '-178000000 years -1 mons +3 days -04:05:06.000001', '-7 years -11 mons',
 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2001:db8::ff00:42:8329/64', '10.1.0.0/16',
 '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', B'10101', B'1', '{{"a" : 1, "a": 2}}',
 '{{"b": [1, 2.50, "x\\u00e9"], "a": null}}', '<r a="1">t&amp;<![CDATA[<x>]]></r>',
 '[1,10)', '(-1.5,2.25]', '[2024-01-01 00:00+00,infinity)', '[-infinity,2024-02-29)',
 '{{[1,3),[5,8)}}', '{{1,NULL,-3}}', '{{"",NULL,"NULL","a,b","\\\\N","{{x}}"}}',
 '{{{{1,2}},{{3,4}}}}', '{{1.5,-999.99}}', '{{"2024-01-01 00:00:00+05:30",infinity}}',
 '(1.5,-2)', '((0,0),(1,1))', 'a:1A fat:2B cat', 'fat & !rat', 4294967295, 'FFFFFFFF/FFFFFFFF',
 'wow "q"', '{{sad,"wow \\"q\\""}}', 2147483647, '12345678', '{{abc,NULL}}', '(7,"a ""b"", c")'),
(2, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(3, 32767, 2147483647, 9223372036854775807, 'NaN', 0, 0.01, '-0', 'NaN', 0, false,
 '', '', '', ' ', '', '\\x', 'infinity', '00:00', '24:00:00-15:59', '294276-12-31 23:59:59.999999',
 '-infinity', 'infinity', '0', '0', '00000000-0000-0000-0000-000000000000', '::1', '::/0',
 '00:00:00:00:00:00', '00:00:00:00:00:00:00:00', B'00000', B'', '""', '""', '',
 'empty', '[0.000001,)', 'empty', 'empty', '{{}}', '{{}}', '{{}}', '{{}}', '{{}}', '{{}}',
 '(0,0)', '((0,0),(0,0))', '', '!a', 0, '0/0', 'sad', '{{}}', 1, '', '{{}}', '(,)'),
(4, 1, 1, 1, '1e-300', ('-0.' || repeat('0', 499) || '1')::numeric, -0.5, 'Infinity', '-Infinity', -0.01,
 NULL, 'abcde', 'ünïcødé', E'\\x01\\x1f\\x7f ctrl', E'\\\\', 'x', '\\x5c4e', '2000-02-29',
 '12:00', '12:00-00:30', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00', '2262-04-11 23:47:16.854775+00',
 '1 day -24:00:00', '1 year', NULL, '0.0.0.0', '0.0.0.0/0', NULL, NULL, B'11111', B'1111111111111111',
 '[]', '[]', '<?xml version="1.0"?><a/>', '(,)', '(,)', '(,)', '(,)', '{{(,)}}', '{{NULL}}',
 '{{NULL}}', '{{}}', '{{NULL}}', '{{NULL}}', '(1e-300,-1e+300)', '((-1,-1),(1,1))', '''q'':1',
 'a <-> b', 1, '1/1', 'happy', '{{ok,ok}}', 42, 'x', '{{"a b",""}}', '(,"")');
"""

# target column types: the source's, enums and composites as text, domains as their base
EXPECTED_TYPES = {
    "id": "integer", "c_smallint": "smallint", "c_int": "integer", "c_bigint": "bigint",
    "c_num": "numeric", "c_num_huge": "numeric(1000,500)", "c_num_ps": "numeric(12,2)",
    "c_real": "real", "c_double": "double precision", "c_money": "money", "c_bool": "boolean",
    "c_char": "character(5)", "c_varchar": "character varying(10)", "c_text": "text",
    "c_qchar": '"char"', "c_name": "name", "c_bytea": "bytea", "c_date": "date",
    "c_time": "time(3) without time zone", "c_timetz": "time with time zone",
    "c_ts": "timestamp(6) without time zone", "c_tstz": "timestamp with time zone",
    "c_tstz3": "timestamp(3) with time zone", "c_interval": "interval",
    "c_interval_ym": "interval year to month", "c_uuid": "uuid", "c_inet": "inet",
    "c_cidr": "cidr", "c_macaddr": "macaddr", "c_macaddr8": "macaddr8", "c_bit": "bit(5)",
    "c_varbit": "bit varying(16)", "c_json": "json", "c_jsonb": "jsonb", "c_xml": "xml",
    "c_int4range": "int4range", "c_numrange": "numrange", "c_tstzrange": "tstzrange",
    "c_daterange": "daterange", "c_int4multirange": "int4multirange",
    "c_int_arr": "integer[]", "c_text_arr": "text[]", "c_2d_arr": "integer[]",
    "c_num_arr": "numeric(5,2)[]", "c_tstz_arr": "timestamp with time zone[]",
    "c_point": "point", "c_box": "box", "c_tsvector": "tsvector", "c_tsquery": "tsquery",
    "c_oid": "oid", "c_pglsn": "pg_lsn",
    # the source's own types, made at the target before the table
    "c_enum": f"{SCHEMA}.mood", "c_enum_arr": f"{SCHEMA}.mood[]",
    "c_domain": f"{SCHEMA}.posint", "c_domain_short": f"{SCHEMA}.short",
    "c_domain_arr": f"{SCHEMA}.short[]", "c_pair": f"{SCHEMA}.pair",
}

# every Unicode plane, controls, and the strings COPY could confuse with NULL
TEXTS = [
    "", " ", "NULL", "\\N", "\\", "\\\\N", "a\tb", "a\nb", "a\r\nb", "\x01\x08\x0b\x0c\x1b\x7f",
    "A", "é", "中文", "\U0001F600 emoji (plane 1)", "\U00020000 (plane 2)", "\U00030000 (plane 3)",
    "\U000E0001 (plane 14)", "\U000F0000 (plane 15)", "\U0010FFFD (plane 16)", "\ufeff BOM", "\u2028",
    "".join(chr(c) for c in range(0x20, 0x7f)),
    "".join(chr(c) for c in (0x80, 0x7ff, 0x800, 0xfffd, 0xffff, 0x10000, 0x10ffff)),
    "long " + "x\ty\\z\n" * 5000,
]

# instants written with offsets from everywhere (and DST edges)
TIMESTAMPS = [
    "2024-03-10 01:59:59.999999-08", "2024-03-10 03:00:00-07", "2024-11-03 01:30:00-07",
    "2024-11-03 01:30:00-08", "2024-06-30 23:59:59+14", "2024-06-30 23:59:59-12",
    "2024-01-01 00:00:00+05:45", "2024-01-01 00:00:00+05:30", "1900-01-01 00:00:00+01:39:49",
    "0044-03-15 12:00:00+00 BC", "1970-01-01 00:00:00+00", "2038-01-19 03:14:08+00",
    "infinity", "-infinity", "294276-12-31 23:59:59.999999+00", "4713-01-01 00:00:00+00 BC",
]


def pg_exec(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)


def row_texts(conn, schema, tb, cols, key, only=False):
    """Canonical text of every row, ordered by key, under SESSION."""
    with conn.cursor() as cur:
        cur.execute(SESSION)
        cur.execute("SELECT format('SELECT ROW(%%s)::text FROM %%s %%I.%%I ORDER BY %%s', "
                    "(SELECT string_agg(format('%%I', c), ', ') FROM unnest(%s::text[]) c), "
                    "%s::text, %s::text, %s::text, %s::text)",
                    (cols, "ONLY" if only else "", schema, tb, key))
        cur.execute(cur.fetchone()[0])
        return [r[0] for r in cur.fetchall()]


def source_columns(pgsrc, schema, tb):
    with pgsrc.cursor() as cur:
        cur.execute("SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute "
                    "WHERE attrelid = format('%%I.%%I', %s::text, %s::text)::regclass "
                    "AND attnum > 0 AND NOT attisdropped AND attgenerated = ''", (schema, tb))
        return cur.fetchone()[0]


def run_task(local, task, do_tbs, batch=2, extra="", url=None, timeout=120):
    log_dir = fresh_dir(task)
    drop_task_if_exists(local, task)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, f"""
[extractor]
db_type=pg
url={url or env('APE_PGSRC_URL')}
[sinker]
batch_size={batch}
[filter]
do_tbs={do_tbs}
[runtime]
log_dir={log_dir}
{extra}
"""))
        state = wait_state(local, task, timeout)
        cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))
        return state, cur.fetchone()[0], log_dir


@pytest.fixture(scope="module")
def types_source():
    conn = psycopg2.connect(env("APE_PGSRC_URL").replace("postgres://", "postgresql://"))
    conn.autocommit = True
    pg_exec(conn, SOURCE_DDL)
    pg_exec(conn, f"""
SET search_path = {SCHEMA};
CREATE TABLE texts (id int PRIMARY KEY, t text, v varchar(60000), c char(3), b bytea);
CREATE TABLE stamps (id int PRIMARY KEY, ts timestamptz NOT NULL, local_ts timestamp);
CREATE TABLE unique_nn (u text NOT NULL UNIQUE, n int UNIQUE, v text);
CREATE TABLE unique_nullable (n int UNIQUE, v text);
CREATE TABLE unique_nullable_no_null (n int UNIQUE, v text);
CREATE TABLE composite_pk (a int, b text, v text, PRIMARY KEY (a, b));
CREATE TABLE no_key (v text, n numeric);
CREATE TABLE parted (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (100) TO (200)
    PARTITION BY RANGE (id);
CREATE TABLE parted_2_low PARTITION OF parted_2 FOR VALUES FROM (100) TO (150);
CREATE TABLE parted_2_high PARTITION OF parted_2 FOR VALUES FROM (150) TO (200);
CREATE TABLE parted_default PARTITION OF parted DEFAULT;
CREATE TABLE inh_parent (id int PRIMARY KEY, v text);
CREATE TABLE inh_child (extra int) INHERITS (inh_parent);
CREATE TABLE "we""ird.tb*" ("p.k" text PRIMARY KEY, "a""b" int, "Mixed Case" text);
CREATE TABLE enum_key (m mood PRIMARY KEY, v int);
CREATE TABLE ts_key (ts timestamptz PRIMARY KEY, v int);
CREATE TABLE only_generated (id int GENERATED ALWAYS AS (1) STORED);
INSERT INTO unique_nn SELECT 'u' || i, CASE WHEN i % 2 = 0 THEN i END, 'v' || i
    FROM generate_series(1, 7) i;
INSERT INTO unique_nullable SELECT CASE WHEN i % 3 <> 0 THEN i END, 'v' || i
    FROM generate_series(1, 7) i;
INSERT INTO unique_nullable_no_null SELECT i, 'v' || i FROM generate_series(1, 5) i;
INSERT INTO composite_pk SELECT i % 3, 'b' || i, 'v' || i FROM generate_series(1, 7) i;
INSERT INTO no_key SELECT 'v' || (i % 2), i / 3.0 FROM generate_series(1, 7) i;
INSERT INTO no_key VALUES ('v0', 1 / 3.0);
INSERT INTO parted SELECT i, 'p' || i FROM generate_series(0, 250, 5) i;
INSERT INTO inh_parent VALUES (1, 'parent'), (2, 'parent');
INSERT INTO inh_child VALUES (3, 'child', 30), (4, 'child', 40);
INSERT INTO "we""ird.tb*" VALUES ('k''1', 1, 'x'), ('k"2', 2, NULL), ('k.3', NULL, '');
INSERT INTO enum_key VALUES ('happy', 3), ('sad', 1), ('wow "q"', 4), ('ok', 2);
""")
    with conn.cursor() as cur:
        for i, t in enumerate(TEXTS):
            cur.execute(f"INSERT INTO {SCHEMA}.texts VALUES (%s, %s, %s, %s, %s)",
                        (i + 1, t, t, t[:3], t.encode()))
        cur.execute(f"INSERT INTO {SCHEMA}.texts VALUES (100, NULL, NULL, NULL, NULL)")
        for i, t in enumerate(TIMESTAMPS):
            cur.execute(f"INSERT INTO {SCHEMA}.stamps VALUES (%s, %s, %s::timestamptz AT TIME ZONE 'America/New_York')",
                        (i + 1, t, t))
        cur.execute(f"INSERT INTO {SCHEMA}.ts_key SELECT t::timestamptz, i "
                    f"FROM unnest(%s::text[]) WITH ORDINALITY u(t, i)", (TIMESTAMPS,))
        cur.execute(f"ANALYZE {SCHEMA}.all_types")
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def copied(types_source):
    """The whole schema copied once, checkpointed every 2 rows."""
    conn = psycopg2.connect(host=env("PGHOST"), port=env("PGPORT"),
                            user=env("PGUSER"), dbname=env("PGDATABASE"))
    conn.autocommit = True
    pg_exec(conn, "CREATE EXTENSION IF NOT EXISTS ape_resume")
    pg_exec(conn, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    conn.notices.clear()
    state, error, log_dir = run_task(conn, "it_pg_types", f"{SCHEMA}.*")
    assert state == "finished", error
    yield conn, log_dir
    conn.close()


def test_every_type_value_by_value(types_source, copied):
    local, _ = copied
    cols = source_columns(types_source, SCHEMA, "all_types")
    assert "c_gen" not in cols and len(cols) == len(EXPECTED_TYPES)
    want = row_texts(types_source, SCHEMA, "all_types", cols, "id")
    got = row_texts(local, SCHEMA, "all_types", cols, "id")
    assert len(want) == 4
    for w, g in zip(want, got):
        assert g == w
    assert got == want
    # a few values checked against literals, not only against the source
    with local.cursor() as cur:
        cur.execute(SESSION)
        cur.execute(f"SELECT c_num_huge::text, c_text, c_bytea, c_tstz::text, c_enum, c_pair, "
                    f"c_real::text, c_interval::text, c_money::numeric::text "
                    f"FROM {SCHEMA}.all_types WHERE id = 1")
        huge, text, bytea, tstz, enum, pair, real, interval, money = cur.fetchone()
        assert huge == "9" + "8" * 498 + "." + "7" * 499 + "1"
        assert text == "quote ' dq \" bs \\ \\N"
        assert bytes(bytea) == b"\x00\xff\x5c\x0a\x09"
        assert tstz == "2024-03-31 06:44:59.999999+05:45"
        assert enum == 'wow "q"' and pair == '(7,"a ""b"", c")'
        assert real == "-3.4028235e+38"
        assert interval == "-178000000 years -1 mons +3 days -04:05:06.000001"
        assert money == "-92233720368547758.08"


def test_a_check_of_the_copy_is_clean(types_source, copied):
    """A check task of the copied schema finds every value of every type
    equal, whatever the key (merged in order, or looked up)."""
    local, _ = copied
    state, error, log_dir = run_task(local, "it_pg_types_check", f"{SCHEMA}.*", batch=3,
                                     extra="[sinker]\nsink_type=check")
    with local.cursor() as cur:
        cur.execute("SELECT tb, state, rows_copied, rows_missing, rows_different, rows_extra, error "
                    "FROM ape_resume.progress('it_pg_types_check') ORDER BY tb")
        found = cur.fetchall()
    assert "all_types" in [tb for tb, *_ in found]
    for tb, st, n, m, d, e, err in found:
        assert (st, m, d, e, err) == ("finished", 0, 0, 0, None), (tb, st, m, d, e, err)
    assert state == "finished", error
    with open(os.path.join(log_dir, "check", "diff.log")) as f:
        assert f.read() == ""
    drop_task_if_exists(local, "it_pg_types_check")


def test_target_types_keys_and_not_null(copied):
    local, _ = copied
    with local.cursor() as cur:
        cur.execute("SELECT attname::text, format_type(atttypid, atttypmod), attnotnull "
                    "FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                    "AND NOT attisdropped ORDER BY attnum", (f"{SCHEMA}.all_types",))
        rows = cur.fetchall()
        # the generated column follows the data, last, computed by the target
        assert rows[-1][0] == "c_gen"
        assert {r[0]: r[1] for r in rows[:-1]} == EXPECTED_TYPES
        assert [r[0] for r in rows if r[2]] == ["id", "c_int"]
        cur.execute("SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = %s::regclass",
                    (f"{SCHEMA}.all_types",))
        assert cur.fetchall() == [("(id * 10)",)]
        cur.execute(f"SELECT count(*) FROM {SCHEMA}.all_types WHERE c_gen IS DISTINCT FROM id * 10")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT indisprimary, pg_get_indexdef(indexrelid) FROM pg_index "
                    "WHERE indrelid = %s::regclass ORDER BY indisprimary DESC",
                    (f"{SCHEMA}.all_types",))
        idx = cur.fetchall()
        assert [(p, d.split(" USING ")[1]) for p, d in idx] == [(True, "btree (id)"),
                                                                 (False, "btree (c_uuid)")]


def test_null_empty_and_unicode_planes(types_source, copied):
    local, _ = copied
    with local.cursor() as cur:
        cur.execute(f"SELECT id, t, v, c, b FROM {SCHEMA}.texts ORDER BY id")
        got = cur.fetchall()
    want = [(i + 1, t, t, None, t.encode()) for i, t in enumerate(TEXTS)]
    assert len(got) == len(TEXTS) + 1
    for (gid, gt, gv, gc, gb), (wid, wt, wv, _, wb) in zip(got, want):
        assert (gid, gt, gv, bytes(gb)) == (wid, wt, wv, wb)
        assert gc.rstrip(" ") == wt[:3].rstrip(" ")
    assert got[-1] == (100, None, None, None, None)
    assert [r for r in got if r[1] == ""] and [r for r in got if r[1] is None]
    cols = ["id", "t", "v", "c", "b"]
    assert row_texts(local, SCHEMA, "texts", cols, "id") == \
        row_texts(types_source, SCHEMA, "texts", cols, "id")


def test_timestamptz_across_time_zones(types_source, copied):
    local, _ = copied
    for tz in ["UTC", "America/Los_Angeles", "Pacific/Kiritimati", "Asia/Kathmandu"]:
        got = []
        want = []
        for conn, out in ((local, got), (types_source, want)):
            with conn.cursor() as cur:
                cur.execute("SET TimeZone = %s", (tz,))
                cur.execute(f"SELECT id, ts::text, extract(epoch FROM ts)::text, local_ts::text "
                            f"FROM {SCHEMA}.stamps ORDER BY id")
                out.extend(cur.fetchall())
        assert len(got) == len(TIMESTAMPS) and got == want, tz
    with local.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        cur.execute(f"SELECT ts::text FROM {SCHEMA}.stamps WHERE id IN (1, 10, 13) ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == [
            "2024-03-10 09:59:59.999999+00", "0044-03-15 12:00:00+00 BC", "infinity"]


def test_order_columns_keys_partitions_and_names(types_source, copied):
    local, log_dir = copied
    with local.cursor() as cur:
        cur.execute("SELECT tb, state, order_col, rows_copied FROM ape_resume.progress('it_pg_types') "
                    "ORDER BY tb COLLATE \"C\"")
        progress = {r[0]: r[1:] for r in cur.fetchall()}
    assert progress == {
        "all_types": ("finished", "id", 4),
        "composite_pk": ("finished", '["a","b"]', 7),
        "enum_key": ("finished", "m", 4),
        "inh_child": ("finished", None, 2),
        "inh_parent": ("finished", "id", 2),
        "no_key": ("finished", None, 8),
        "parted": ("finished", "id", 51),
        "stamps": ("finished", "id", len(TIMESTAMPS)),
        "texts": ("finished", "id", len(TEXTS) + 1),
        "ts_key": ("finished", "ts", len(TIMESTAMPS)),
        "unique_nn": ("finished", "u", 7),
        "unique_nullable": ("finished", None, 7),
        "unique_nullable_no_null": ("finished", "n", 5),
        'we"ird.tb*': ("finished", "p.k", 3),
    }
    # partitions are copied through their root only
    with local.cursor() as cur:
        cur.execute("SELECT relname::text FROM pg_class WHERE relnamespace = %s::regnamespace "
                    "AND relkind IN ('r', 'p') ORDER BY 1", (SCHEMA,))
        assert [r[0] for r in cur.fetchall()] == sorted(list(progress), key=lambda s: s.encode())
    for tb, key in [("parted", "id"), ("inh_parent", "id"), ("inh_child", "id"),
                    ("unique_nn", "u"), ("unique_nullable", "n, v"),
                    ("unique_nullable_no_null", "n"), ("composite_pk", "a, b"),
                    ("no_key", "v, n"), ('we"ird.tb*', '"p.k"'), ("enum_key", "v"),
                    ("ts_key", "ts")]:
        cols = source_columns(types_source, SCHEMA, tb)
        want = row_texts(types_source, SCHEMA, tb, cols, key, only=tb == "inh_parent")
        assert want, tb
        assert row_texts(local, SCHEMA, tb, cols, key) == want, tb
    # enum keys are read in the enum's order: positions follow it
    with open(os.path.join(log_dir, "position.log")) as f:
        positions = f.read()
    assert '"tb":"enum_key","order_col":"m","value":"ok"' in positions
    assert '"tb":"enum_key","order_col":"m","value":"wow \\"q\\""' in positions
    assert '"tb":"we\\"ird.tb*","order_col":"p.k","value":"k.3"' in positions
    assert '"tb":"ts_key","order_col":"ts","value":"-infinity"' not in positions
    # a composite key: ape-dts's order_key form, its last row (2, 'b5')
    assert ('"tb":"composite_pk","order_key":{"composite":[["a","2"],["b","b5"]]}}\n'
            in positions)
    assert '"tb":"ts_key","order_col":"ts","value":"4713-01-01 00:00:00+00 BC"' in positions
    # a table without a column to copy is left out with a WARNING
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    assert "only_generated" not in progress
    assert "pgsrc_secret_pw" not in default + positions


def test_resume_on_enum_text_and_timestamptz_keys(types_source, local):
    """resume.config values for non-integer keys, compared at the source."""
    work = fresh_dir("it_pg_resume_keys_input")
    rc = os.path.join(work, "resume.config")
    with open(rc, "w") as f:
        for tb, col, value in [("enum_key", "m", "ok"), ('we\\"ird.tb*', "p.k", "k'1"),
                               ("ts_key", "ts", "2024-01-01 00:00:00+05:30")]:
            f.write('{"type":"RdbSnapshot","db_type":"pg","schema":"%s","tb":"%s",'
                    '"order_col":"%s","value":"%s"}\n' % (SCHEMA, tb, col, value))
    os.chmod(rc, 0o644)
    pg_exec(local, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    state, error, _ = run_task(local, "it_pg_resume_keys",
                               f'{SCHEMA}.enum_key,{SCHEMA}."we""ird.tb*",{SCHEMA}.ts_key',
                               extra=f"[resumer]\nresume_config_file={rc}")
    assert state == "finished", error
    for tb, col, value in [("enum_key", "m", "ok"), ('we"ird.tb*', "p.k", "k'1"),
                           ("ts_key", "ts", "2024-01-01 00:00:00+05:30")]:
        cols = source_columns(types_source, SCHEMA, tb)
        with types_source.cursor() as cur:
            cur.execute(SESSION)
            cur.execute("SELECT format('SELECT ROW(%%s)::text FROM %%I.%%I WHERE %%I > %%L "
                        "ORDER BY %%I', (SELECT string_agg(format('%%I', c), ', ') "
                        "FROM unnest(%s::text[]) c), %s::text, %s::text, %s::text, %s::text, %s::text)",
                        (cols, SCHEMA, tb, col, value, col))
            cur.execute(cur.fetchone()[0])
            want = [r[0] for r in cur.fetchall()]
        assert want, tb
        assert row_texts(local, SCHEMA, tb, cols, f'"{col}"') == want, tb


def test_existing_target_table_is_used_as_is(types_source, local):
    pg_exec(local, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}; "
                   f"CREATE TABLE {SCHEMA}.unique_nn (extra int DEFAULT 7, v text, n bigint, u text)")
    state, error, _ = run_task(local, "it_pg_existing", f"{SCHEMA}.unique_nn")
    assert state == "finished", error
    with local.cursor() as cur:
        cur.execute(f"SELECT ROW(u, n, v, extra)::text FROM {SCHEMA}.unique_nn ORDER BY u")
        got = [r[0] for r in cur.fetchall()]
    assert got == [f"(u{i},{i if i % 2 == 0 else ''},v{i},7)" for i in range(1, 8)]


def test_extension_type_needs_the_extension_on_the_target(pgsrc, local):
    """A type from an extension keeps its name; a target without the
    extension fails naming the table, and a resume after CREATE EXTENSION
    copies it."""
    pg_exec(pgsrc, "CREATE EXTENSION IF NOT EXISTS citext; "
                   "DROP SCHEMA IF EXISTS it_pg_ext CASCADE; CREATE SCHEMA it_pg_ext; "
                   "CREATE TABLE it_pg_ext.t (id int PRIMARY KEY, c public.citext NOT NULL, "
                   "  a public.citext[]); "
                   "INSERT INTO it_pg_ext.t VALUES (1, 'AbC', '{X,y}'), (2, 'é\t\\', NULL)")
    pg_exec(local, "DROP SCHEMA IF EXISTS it_pg_ext CASCADE; DROP EXTENSION IF EXISTS citext")
    try:
        state, error, _ = run_task(local, "it_pg_ext", "it_pg_ext.t")
        assert state == "failed"
        assert error == ('could not create target table it_pg_ext.t for source table '
                         '"it_pg_ext"."t": type "public.citext" does not exist'), error
        pg_exec(local, "CREATE EXTENSION citext SCHEMA public")
        with local.cursor() as cur:
            cur.execute("SELECT ape_resume.resume_task('it_pg_ext')")
        assert wait_state(local, "it_pg_ext", 60) == "finished"
        with local.cursor() as cur:
            cur.execute("SELECT id, c::text, a::text, c = 'abc', "
                        "format_type('it_pg_ext.t'::regclass::oid, NULL) IS NOT NULL "
                        "FROM it_pg_ext.t ORDER BY id")
            assert cur.fetchall() == [(1, "AbC", "{X,y}", True, True), (2, "é\t\\", None, False, True)]
            cur.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                        "WHERE attrelid = 'it_pg_ext.t'::regclass AND attnum > 0 ORDER BY attnum")
            assert [r[0] for r in cur.fetchall()] == ["integer", "citext", "citext[]"]
    finally:
        pg_exec(local, "DROP SCHEMA IF EXISTS it_pg_ext CASCADE; DROP EXTENSION IF EXISTS citext")


def test_missing_table_named_in_do_tbs(types_source, local):
    """A table do_tbs names without a wildcard must exist (a partition is
    copied through its root, so it is not a table of its own here)."""
    for name, tb in [("it_pg_missing", "no_such_table"), ("it_pg_partition", "parted_1")]:
        state, error, _ = run_task(local, name, f"{SCHEMA}.unique_nn,{SCHEMA}.{tb}")
        assert state == "failed"
        assert error == (f'table "{SCHEMA}"."{tb}" named in do_tbs of section [filter] does not '
                         f'exist on PostgreSQL server "127.0.0.1:55433"'), error
        with local.cursor() as cur:
            cur.execute("SELECT count(*) FROM ape_resume.progress(%s)", (name,))
            assert cur.fetchone()[0] == 0
    # ignored anyway: no error
    pg_exec(local, f"DROP TABLE IF EXISTS {SCHEMA}.unique_nn")
    state, error, _ = run_task(local, "it_pg_missing", f"{SCHEMA}.unique_nn,{SCHEMA}.no_such_table",
                               extra="[filter]\nignore_tbs=" + f"{SCHEMA}.no_such_table")
    assert state == "finished", error
