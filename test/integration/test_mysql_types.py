"""MySQL source: every MySQL column type, at its extremes, copied and
compared value by value.

A MariaDB database holds one table with a column of every type of ape-dts's
mysql_resume_test tables (and more: signed and unsigned integers at their
limits, decimal(65,30), float and double extremes, zero dates, 4-byte UTF-8,
binary with NUL bytes, NULLs and empty strings), tables whose primary or
unique key is of each orderable type (so that batches resume after values of
every kind), a 16 MB longtext, and names that need quoting. It is copied
with a batch size of 2, then every value of every row is rendered as a
canonical string on both sides (from pymysql and from psycopg2) and
compared. The target column types and keys are checked against the mapping
documented in README.md.
"""
import datetime
import json
import os
import random
import re
import shutil
from decimal import Decimal

import pymysql
import pytest

from conftest import env, server_setting, wait_state, drop_task_if_exists

DB = "it_types_db"
TASK = "it_types_copy"
PASSWORD = "mysql_secret_pw"

# (name, MySQL type, target type as format_type() shows it)
ALL_TYPES_COLUMNS = [
    ("id", "int NOT NULL", "integer"),
    ("c_tinyint", "tinyint", "smallint"),
    ("c_tinyint_u", "tinyint unsigned", "smallint"),
    ("c_bool", "tinyint(1)", "smallint"),
    ("c_smallint", "smallint", "smallint"),
    ("c_smallint_u", "smallint unsigned", "integer"),
    ("c_mediumint", "mediumint", "integer"),
    ("c_mediumint_u", "mediumint unsigned", "integer"),
    ("c_int", "int", "integer"),
    ("c_int_u", "int unsigned", "bigint"),
    ("c_int_zf", "int(8) unsigned zerofill", "bigint"),
    ("c_bigint", "bigint", "bigint"),
    ("c_bigint_u", "bigint unsigned", "numeric(20,0)"),
    ("c_decimal", "decimal(10,4)", "numeric(10,4)"),
    ("c_decimal_max", "decimal(65,30)", "numeric(65,30)"),
    ("c_decimal_int", "decimal(65,0)", "numeric(65,0)"),
    ("c_decimal_u", "decimal(20,5) unsigned", "numeric(20,5)"),
    ("c_float", "float", "real"),
    ("c_float62", "float(6,2)", "real"),
    ("c_double", "double", "double precision"),
    ("c_double83", "double(8,3)", "double precision"),
    ("c_bit1", "bit(1)", "bit(1)"),
    ("c_bit5", "bit(5)", "bit(5)"),
    ("c_bit64", "bit(64)", "bit(64)"),
    ("c_year", "year", "smallint"),
    ("c_date", "date", "date"),
    ("c_time", "time", "interval"),
    ("c_time6", "time(6)", "interval"),
    ("c_datetime", "datetime", "timestamp(0) without time zone"),
    ("c_datetime6", "datetime(6)", "timestamp(6) without time zone"),
    ("c_timestamp", "timestamp NULL DEFAULT NULL", "timestamp(0) with time zone"),
    ("c_timestamp6", "timestamp(6) NULL DEFAULT NULL", "timestamp(6) with time zone"),
    ("c_char", "char(255)", "character(255)"),
    ("c_char10", "char(10)", "character(10)"),
    ("c_varchar", "varchar(255)", "character varying(255)"),
    ("c_latin1", "varchar(20) CHARACTER SET latin1", "character varying(20)"),
    ("c_binary", "binary(255)", "bytea"),
    ("c_binary4", "binary(4)", "bytea"),
    ("c_varbinary", "varbinary(255)", "bytea"),
    ("c_tinytext", "tinytext", "text"),
    ("c_text", "text", "text"),
    ("c_mediumtext", "mediumtext", "text"),
    ("c_longtext", "longtext", "text"),
    ("c_tinyblob", "tinyblob", "bytea"),
    ("c_blob", "blob", "bytea"),
    ("c_mediumblob", "mediumblob", "bytea"),
    ("c_longblob", "longblob", "bytea"),
    ("c_enum", "enum('x-small','small','medium','large','x-large')", "text"),
    ("c_set", "set('a','b','c','d','e')", "text"),
    ("c_json", "json", "jsonb"),
]

DEC65 = "9" * 35 + "." + "9" * 30
RNG = random.Random(20241010)


def rbytes(n):
    return bytes(RNG.getrandbits(8) for _ in range(n)) if n < 4096 else RNG.randbytes(n)


def all_types_rows():
    """Rows of all_types as {column: value}; missing columns are NULL."""
    rows = []
    # 1: minimum values
    rows.append(dict(
        id=1, c_tinyint=-128, c_tinyint_u=0, c_bool=0, c_smallint=-32768, c_smallint_u=0,
        c_mediumint=-8388608, c_mediumint_u=0, c_int=-2147483648, c_int_u=0, c_int_zf=0,
        c_bigint=-9223372036854775808, c_bigint_u=0,
        c_decimal=Decimal("-999999.9999"), c_decimal_max=Decimal("-" + DEC65),
        c_decimal_int=Decimal("-" + "9" * 65), c_decimal_u=Decimal("0"),
        c_float=-3.4028234663852886e38, c_float62=-9999.99,
        c_double=-1.7976931348623157e308, c_double83=-99999.999,
        c_bit1=0, c_bit5=0, c_bit64=0, c_year=1901,
        c_date="1000-01-01", c_time="-838:59:59", c_time6="-838:59:59.000000",
        c_datetime="1000-01-01 00:00:00", c_datetime6="1000-01-01 00:00:00.000000",
        c_timestamp="1970-01-01 00:00:01", c_timestamp6="1970-01-01 00:00:01.000000",
        c_char="a", c_char10=" lead", c_varchar="x", c_latin1="a",
        c_binary=b"\x00", c_binary4=b"\x00", c_varbinary=b"\x00",
        c_tinytext="t", c_text="t", c_mediumtext="m", c_longtext="l",
        c_tinyblob=b"\x00", c_blob=b"\x00\x00", c_mediumblob=b"\x00", c_longblob=b"\x00",
        c_enum="x-small", c_set="a", c_json="[]"))
    # 2: maximum values and sizes
    rows.append(dict(
        id=2, c_tinyint=127, c_tinyint_u=255, c_bool=1, c_smallint=32767, c_smallint_u=65535,
        c_mediumint=8388607, c_mediumint_u=16777215, c_int=2147483647, c_int_u=4294967295,
        c_int_zf=42, c_bigint=9223372036854775807, c_bigint_u=18446744073709551615,
        c_decimal=Decimal("999999.9999"), c_decimal_max=Decimal(DEC65),
        c_decimal_int=Decimal("9" * 65), c_decimal_u=Decimal("999999999999999.99999"),
        c_float=3.4028234663852886e38, c_float62=9999.99,
        c_double=1.7976931348623157e308, c_double83=99999.999,
        c_bit1=1, c_bit5=31, c_bit64=18446744073709551615, c_year=2155,
        c_date="9999-12-31", c_time="838:59:59", c_time6="838:59:59.000000",
        c_datetime="9999-12-31 23:59:59", c_datetime6="9999-12-31 23:59:59.999999",
        c_timestamp="2038-01-19 03:14:07", c_timestamp6="2038-01-19 03:14:07.999999",
        c_char="\U0001F600" * 255, c_char10="\u00e9" * 10, c_varchar="\U00020000" * 255,
        c_latin1="\u00ff" * 20,
        c_binary=b"\xff" * 255, c_binary4=b"\xff\xfe\xfd\xfc", c_varbinary=bytes(range(255)),
        c_tinytext="x" * 255, c_text="\u00e9" * 32767,
        c_mediumtext="\u4e2d" * 300000, c_longtext="\U0001F389" * 300000,
        c_tinyblob=rbytes(255), c_blob=rbytes(65535), c_mediumblob=rbytes(1 << 20),
        c_longblob=rbytes(3 << 20),
        c_enum="x-large", c_set="a,b,c,d,e",
        c_json='{"a": [1, 2.50, -3e2, true, false, null], "b": {"c": "x\\"y\\\\z"},'
               ' "big": 123456789012345678901234567890.000000000000000001,'
               ' "dup": 1, "dup": 2, "nested": [[[[{}]]]]}'))
    # 3: NULL in every nullable column
    rows.append(dict(id=3))
    # 4: empty strings, zeros and zero dates
    rows.append(dict(
        id=4, c_tinyint=0, c_tinyint_u=0, c_bool=0, c_smallint=0, c_smallint_u=0,
        c_mediumint=0, c_mediumint_u=0, c_int=0, c_int_u=0, c_int_zf=0, c_bigint=0, c_bigint_u=4,
        c_decimal=Decimal("0"), c_decimal_max=Decimal("0"), c_decimal_int=Decimal("0"),
        c_decimal_u=Decimal("0"), c_float=0.0, c_float62=0.0, c_double=0.0, c_double83=0.0,
        c_bit1=0, c_bit5=0, c_bit64=0, c_year=0,
        c_date="0000-00-00", c_time="00:00:00", c_time6="00:00:00",
        c_datetime="0000-00-00 00:00:00", c_datetime6="0000-00-00 00:00:00.000000",
        c_timestamp="0000-00-00 00:00:00", c_timestamp6="0000-00-00 00:00:00",
        c_char="", c_char10="", c_varchar="", c_latin1="",
        c_binary=b"", c_binary4=b"", c_varbinary=b"",
        c_tinytext="", c_text="", c_mediumtext="", c_longtext="",
        c_tinyblob=b"", c_blob=b"", c_mediumblob=b"", c_longblob=b"",
        c_enum="", c_set="", c_json='""'))
    # 5: 4-byte UTF-8, NUL bytes, COPY's special characters, year 0000,
    #    partial zero dates, tiny numbers
    rows.append(dict(
        id=5, c_tinyint=-1, c_tinyint_u=1, c_bool=1, c_smallint=-1, c_smallint_u=1,
        c_mediumint=-1, c_mediumint_u=1, c_int=-1, c_int_u=1, c_int_zf=7, c_bigint=-1, c_bigint_u=1,
        c_decimal=Decimal("-0.0001"), c_decimal_max=Decimal("0." + "0" * 29 + "1"),
        c_decimal_int=Decimal("-1"), c_decimal_u=Decimal("0.00001"),
        c_float=1.401298464324817e-45, c_float62=0.01, c_double=5e-324, c_double83=-0.001,
        c_bit1=1, c_bit5=21, c_bit64=1 << 63, c_year=2021,
        c_date="0000-01-01", c_time="-00:00:01", c_time6="-00:00:00.000001",
        c_datetime="0000-01-01 00:00:00", c_datetime6="0001-12-31 23:59:59.999999",
        c_timestamp="2000-02-29 12:00:00", c_timestamp6="2000-02-29 12:00:00.000001",
        c_char="\u4e2d\u6587 \U00020000\U0002070e\U000210c1\U0002a6a5",
        c_char10="\U0001F600\U0001F389\U0001F44D\U0001F3FD",
        c_varchar="tab\there\nnew\\back\rcr \\N end \"q\" 'a' `b`",
        c_latin1="caf\u00e9 \u00ff\u00a3",
        c_binary=b"\x00\x01\\\n\t\r\x00", c_binary4=b"\x00\x00\x00\x00",
        c_varbinary=b"\\N\x00\\.\n", c_tinytext="\\N", c_text="\\.",
        c_mediumtext="\U0001D518\U0001D52B\U0001D526\U0001D520\U0001D52C\U0001D521\U0001D522",
        c_longtext="\r\n\t\\\\ \U0001F468\u200D\U0001F469\u200D\U0001F467 e\u0301",
        c_tinyblob=b"\x00" * 255, c_blob=bytes(range(256)) * 4, c_mediumblob=b"\x00\xff" * 1000,
        c_longblob=b"\\x00",
        c_enum="small", c_set="b,d",
        c_json='{"emoji": "\U0001F600", "cjk": "\U00020000", "esc": "\\u00e9\\ud83d\\ude00\\n\\t",'
               ' "n": [1.0, 1E2, -0.5e-10, 0.1]}'))
    # 6: partial zero dates and other ordinary values
    rows.append(dict(
        id=6, c_tinyint=5, c_decimal=Decimal("1.5"), c_float=16777216.0, c_float62=1234.57,
        c_double=0.30000000000000004, c_double83=12345.678,
        c_bit64=3045, c_year=2000, c_date="2020-00-15", c_time="12:34:56",
        c_time6="-12:34:56.789012", c_datetime="2020-05-00 10:11:12",
        c_datetime6="2021-02-01 04:05:06.654321", c_timestamp6="2021-02-01 04:05:06.654321",
        c_varchar="plain", c_json="123", c_enum="medium", c_set="e,a"))
    # 7, 8: a few more rows so that the last batch is a full one
    rows.append(dict(id=7, c_float=0.1, c_double=0.1, c_text="seven", c_json="null",
                     c_time6="00:00:00.5", c_datetime6="2000-01-01 00:00:00.5"))
    rows.append(dict(id=8, c_float=-16777217.0, c_double=9007199254740993.0, c_text="eight",
                     c_json='"\\u20ac"', c_datetime="1970-01-01 00:00:00"))
    return rows


# Tables whose order column is of each orderable type: name -> (DDL, rows,
# expected order column, expected position value (PG text of the last key))
KEY_TABLES = {
    "uk_only": (
        "(`u` bigint unsigned NOT NULL, `a` int, `b` varchar(10), `n` int NULL,"
        " UNIQUE KEY uk_u (`u`), UNIQUE KEY uk_ab (`a`, `b`), UNIQUE KEY uk_n (`n`))",
        [(0, 1, "x", None), (1, 1, "y", None), (9223372036854775807, 2, None, 1),
         (9223372036854775808, 2, None, 2), (18446744073709551614, None, None, 3),
         (18446744073709551615, None, None, None)],
        "u", "18446744073709551615"),
    "pk_decimal": (
        "(`d` decimal(65,30) NOT NULL PRIMARY KEY, `v` int)",
        [(Decimal("-" + DEC65), 1), (Decimal("-0." + "0" * 29 + "1"), 2), (Decimal(0), 3),
         (Decimal("0." + "0" * 29 + "1"), 4), (Decimal(1), 5), (Decimal(DEC65), 6)],
        "d", DEC65),
    "pk_datetime": (
        "(`dt` datetime(6) NOT NULL PRIMARY KEY, `v` int)",
        [("0000-00-00 00:00:00", 1), ("0000-01-01 00:00:00", 2),
         ("0001-12-31 23:59:59.999999", 3), ("1000-01-01 00:00:00", 4),
         ("2021-02-01 04:05:06.654321", 5), ("9999-12-31 23:59:59.999999", 6)],
        "dt", "9999-12-31 23:59:59.999999"),
    "pk_date": (
        "(`d` date NOT NULL PRIMARY KEY, `v` int)",
        [("0000-00-00", 1), ("0000-01-01", 2), ("0000-12-31", 3), ("0001-01-01", 4),
         ("2020-02-29", 5)],
        "d", "2020-02-29"),
    "pk_timestamp": (
        "(`ts` timestamp(6) NOT NULL DEFAULT '2000-01-01 00:00:00', `v` int, PRIMARY KEY (`ts`))",
        [("0000-00-00 00:00:00", 1), ("1970-01-01 00:00:01", 2), ("2000-01-01 00:00:00.5", 3),
         ("2038-01-19 03:14:07.999999", 4)],
        "ts", "2038-01-19 03:14:07.999999+00"),
    "pk_time": (
        "(`t` time(6) NOT NULL PRIMARY KEY, `v` int)",
        [("-838:59:59", 1), ("-00:00:00.000001", 2), ("00:00:00", 3), ("00:00:00.5", 4),
         ("100:00:00", 5), ("838:59:59", 6)],
        "t", "838:59:59.000000"),
    "pk_varbinary": (
        "(`b` varbinary(16) NOT NULL PRIMARY KEY, `v` int)",
        [(b"", 1), (b"\x00", 2), (b"\x00\x00", 3), (b"\x00\x01", 4), (b"\\", 5), (b"\n", 6),
         (b"'", 7), (b"\xff" * 16, 8)],
        "b", "\\x" + "ff" * 16),
    "pk_bit": (
        "(`b` bit(64) NOT NULL PRIMARY KEY, `v` int)",
        [(0, 1), (1, 2), (1 << 63, 3), ((1 << 64) - 1, 4)],
        "b", "1" * 64),
    "pk_year": (
        "(`y` year NOT NULL PRIMARY KEY, `v` int)",
        [(0, 1), (1901, 2), (2000, 3), (2155, 4)],
        "y", "2155"),
    "pk_bigint": (
        "(`i` bigint NOT NULL PRIMARY KEY, `v` int)",
        [(-9223372036854775808, 1), (-1, 2), (0, 3), (9223372036854775807, 4)],
        "i", "9223372036854775807"),
    'q"t': (
        "(`p.k` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,"
        " `x\"y` int)",
        [("", 1), ("A", 2), ("a", 3), ("a\tb", 4), ("it's", 5), ("\u00e9", 6),
         ("\U0001F600", 7), ("\U00020000", 8), ("z\\", 9)],
        "p.k", "\U00020000"),
    "a`b": (
        "(`p.k` int NOT NULL PRIMARY KEY, `u.k` varchar(10) NOT NULL, `x\"y` text,"
        " UNIQUE KEY `uk``1` (`u.k`))",
        [(1, "one", "a\"b"), (2, "two", None), (3, "three", "")],
        "p.k", "3"),
    "pk_enum": (  # enum cannot order a copy: copied whole, in one transaction
        "(`e` enum('b','a') NOT NULL PRIMARY KEY, `v` float)",
        [("b", 0.5), ("a", None)],
        None, None),
    "no_keys": (
        "(`v` int, `w` text)",
        [(1, "a"), (1, "a"), (None, None)],
        None, None),
    "big_text": (
        "(`id` int NOT NULL PRIMARY KEY, `body` longtext, `bin` longblob)",
        None,  # filled by the test
        "id", "3"),
}

KEY_COLUMNS = {  # table -> (primary key, [unique keys])
    "all_types": (["id"], [["c_bigint_u"]]),
    "uk_only": (None, [["u"], ["a", "b"], ["n"]]),
    "pk_decimal": (["d"], []),
    "pk_datetime": (["dt"], []),
    "pk_date": (["d"], []),
    "pk_timestamp": (["ts"], []),
    "pk_time": (["t"], []),
    "pk_varbinary": (["b"], []),
    "pk_bit": (["b"], []),
    "pk_year": (["y"], []),
    "pk_bigint": (["i"], []),
    'q"t': (["p.k"], []),
    "a`b": (["p.k"], [["u.k"]]),
    "pk_enum": (["e"], []),
    "no_keys": (None, []),
    "big_text": (["id"], []),
}

BIG_TEXT = ("0123456789abcdef" * (1 << 20)) + "\u00e9\U0001F600 end"  # > 16 MiB


def mysql_connect(**kw):
    return pymysql.connect(host="127.0.0.1", port=int(env("APE_MYSQL_PORT")), user="ape",
                           password=PASSWORD, charset="utf8mb4", autocommit=True,
                           max_allowed_packet=256 << 20, **kw)


def qi(name):
    return "`" + name.replace("`", "``") + "`"


def pq(name):
    return '"' + name.replace('"', '""') + '"'


def create_source():
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.max_allowed_packet")
        if cur.fetchone()[0] < 64 << 20:
            cur.execute("SET GLOBAL max_allowed_packet = %s", (64 << 20,))
        conn.close()
    conn = mysql_connect()  # a new session sees the new global
    with conn.cursor() as cur:
        # zero dates and the invalid enum '' are only accepted without strict modes
        cur.execute("SET SESSION sql_mode = '', time_zone = '+00:00'")
        cur.execute(f"DROP DATABASE IF EXISTS {DB}")
        cur.execute(f"CREATE DATABASE {DB} CHARACTER SET utf8mb4")
        cols = ", ".join(f"{qi(n)} {t}" for n, t, _ in ALL_TYPES_COLUMNS)
        cur.execute(f"CREATE TABLE {DB}.all_types ({cols}, PRIMARY KEY (id),"
                    f" UNIQUE KEY uk_bigint_u (c_bigint_u))")
        names = [n for n, _, _ in ALL_TYPES_COLUMNS]
        for row in all_types_rows():
            cur.execute(f"INSERT INTO {DB}.all_types ({', '.join(names)}) VALUES "
                        f"({', '.join(['%s'] * len(names))})", [row.get(n) for n in names])
        for tb, (ddl, rows, _, _) in KEY_TABLES.items():
            cur.execute(f"CREATE TABLE {DB}.{qi(tb)} {ddl}")
            if rows:
                cur.executemany(f"INSERT INTO {DB}.{qi(tb)} VALUES "
                                f"({', '.join(['%s'] * len(rows[0]))})", rows)
        cur.execute(f"INSERT INTO {DB}.big_text VALUES (1, 'small', x'00'), (2, %s, %s), (3, NULL, '')",
                    (BIG_TEXT, rbytes(4 << 20)))
    conn.close()


# --- canonical renderings ------------------------------------------------

def _frac6(s):
    """'HH:MM:SS[.f]' -> 'HH:MM:SS.ffffff'"""
    if "." in s:
        whole, frac = s.split(".")
        return whole + "." + (frac + "000000")[:6]
    return s + ".000000"


def _is_zero_date(s):
    return s[5:7] == "00" or s[8:10] == "00"


def _pg_datetime(s, with_time):
    """PG text of a date or timestamp -> astronomical 'YYYY-MM-DD[ HH:MM:SS.ffffff]'."""
    if s in ("-infinity", "infinity"):
        return s
    bc = s.endswith(" BC")
    if bc:
        s = s[:-3]
    m = re.fullmatch(r"(\d{4,})-(\d\d)-(\d\d)(?: (\d\d:\d\d:\d\d(?:\.\d+)?))?(\+00)?", s)
    assert m, s
    year = int(m.group(1))
    if bc:
        year = 1 - year
    out = f"{year:04d}-{m.group(2)}-{m.group(3)}"
    if with_time:
        out += " " + _frac6(m.group(4))
    return out


def _my_datetime(s, with_time):
    """MySQL text of a date or datetime -> the same canonical form; zero dates
    (month or day 00) are documented to become -infinity."""
    if _is_zero_date(s):
        return "-infinity"
    if with_time:
        d, t = s.split(" ")
        return d + " " + _frac6(t)
    return s


def _time_us(s):
    neg = s.startswith("-")
    s = s.lstrip("-")
    h, m, sec = s.split(":")
    sec = Decimal(sec)
    us = (int(h) * 3600 + int(m) * 60) * 1000000 + int(sec * 1000000)
    return str(-us if neg else us)


def _json_norm(v):
    def norm(x):
        if isinstance(x, dict):
            return {k: norm(v) for k, v in x.items()}
        if isinstance(x, list):
            return [norm(v) for v in x]
        if isinstance(x, (Decimal, int)) and not isinstance(x, bool):
            d = Decimal(x)
            return "#num:" + ("0" if d == 0 else str(d.normalize()))
        return x
    return json.dumps(norm(json.loads(v, parse_float=Decimal, parse_int=int)),
                      sort_keys=True, ensure_ascii=False)


def _text(v):
    return v.decode("utf-8") if isinstance(v, (bytes, bytearray)) else v


def canon_mysql(kind, v, bits=None):
    if v is None:
        return None
    if kind in ("int", "year"):
        return str(int(_text(v)))  # zerofill columns are rendered with leading zeros
    if kind in ("decimal", "text"):
        return _text(v)
    if kind == "float":
        return repr(float(_text(v)))
    if kind == "bit":
        return format(int.from_bytes(v, "big"), f"0{bits}b")
    if kind == "date":
        return _my_datetime(_text(v), False)
    if kind in ("datetime", "timestamp"):
        return _my_datetime(_text(v), True)
    if kind == "time":
        return _time_us(_text(v))
    if kind == "binary":
        return bytes(v).hex()
    if kind == "json":
        return _json_norm(_text(v))
    raise AssertionError(kind)


def canon_pg(kind, v, bits=None):
    if v is None:
        return None
    if kind in ("int", "year", "decimal", "text", "time"):
        return v
    if kind == "float":
        return repr(float(v))
    if kind == "bit":
        assert len(v) == bits, v
        return v
    if kind == "date":
        return _pg_datetime(v, False)
    if kind in ("datetime", "timestamp"):
        return _pg_datetime(v, True)
    if kind == "binary":
        return v
    if kind == "json":
        return _json_norm(v)
    raise AssertionError(kind)


KIND = {
    "tinyint": "int", "smallint": "int", "mediumint": "int", "int": "int", "bigint": "int",
    "decimal": "decimal", "float": "float", "double": "float", "bit": "bit", "year": "year",
    "date": "date", "datetime": "datetime", "timestamp": "timestamp", "time": "time",
    "char": "text", "varchar": "text", "tinytext": "text", "text": "text",
    "mediumtext": "text", "longtext": "text", "enum": "text", "set": "text",
    "binary": "binary", "varbinary": "binary", "tinyblob": "binary", "blob": "binary",
    "mediumblob": "binary", "longblob": "binary", "json": "json",
}


def source_columns(my, tb):
    """[(name, kind, bits)] of a source table, json detected by its CHECK."""
    with my.cursor() as cur:
        cur.execute("SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS"
                    " WHERE CONSTRAINT_SCHEMA = %s AND TABLE_NAME = %s", (DB, tb))
        checks = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS"
                    " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
                    (DB, tb))
        out = []
        for name, dtype, ctype in cur.fetchall():
            name, dtype, ctype = _text(name), _text(dtype), _text(ctype)
            kind = KIND[dtype]
            if dtype == "longtext" and f"json_valid({qi(name)})" in checks:
                kind = "json"
            bits = int(re.match(r"bit\((\d+)\)", ctype).group(1)) if kind == "bit" else None
            out.append((name, kind, bits))
        return out


def source_rows(my, tb, cols):
    """Canonical rows of a source table; float values read as the double
    they are exactly (CAST AS DOUBLE), not as MySQL's 6-digit rendering."""
    exprs = []
    for name, kind, _ in cols:
        exprs.append(f"CAST({qi(name)} AS DOUBLE)" if kind == "float" else qi(name))
    with my.cursor() as cur:
        cur.execute(f"SELECT {', '.join(exprs)} FROM {DB}.{qi(tb)}")
        return [tuple(canon_mysql(k, v, b) for (_, k, b), v in zip(cols, row))
                for row in cur.fetchall()]


def target_rows(local, tb, cols):
    exprs = []
    for name, kind, _ in cols:
        c = pq(name)
        if kind == "binary":
            exprs.append(f"encode({c}, 'hex')")
        elif kind == "float":
            exprs.append(f"{c}::float8::text")
        elif kind == "time":
            exprs.append(f"(extract(epoch FROM {c}) * 1000000)::numeric(30,0)::text")
        else:
            exprs.append(f"{c}::text")
    with local.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        cur.execute(f"SELECT {', '.join(exprs)} FROM {pq(DB)}.{pq(tb)}")
        return [tuple(canon_pg(k, v, b) for (_, k, b), v in zip(cols, row))
                for row in cur.fetchall()]


def _sort_key(row):
    return tuple((v is None, v or "") for v in row)


def _short(v):
    if v is not None and len(v) > 120:
        return f"{v[:60]}...({len(v)} chars)...{v[-40:]}"
    return v


def assert_same_rows(tb, cols, src, dst):
    assert len(src) == len(dst), (tb, len(src), len(dst))
    src = sorted(src, key=_sort_key)
    dst = sorted(dst, key=_sort_key)
    bad = []
    for s, d in zip(src, dst):
        for (name, kind, _), sv, dv in zip(cols, s, d):
            if sv != dv:
                bad.append(f"{DB}.{tb} row {_short(s[0])!r} column {name} ({kind}):"
                           f" source {_short(sv)!r} != target {_short(dv)!r}")
    assert not bad, "\n".join(bad)


@pytest.fixture(scope="module", params=["binary", "text"])
def copied(request):
    """Create the source, copy it with batch_size=2, ingesting through COPY's
    binary format (the default) or, with ape_resume.binary_copy off, its text
    format; yields (local, task row, server log text, log_dir)."""
    with server_setting("ape_resume.binary_copy", "on" if request.param == "binary" else "off"):
        yield from copy_all_types()


def copy_all_types():
    import psycopg2
    create_source()
    log_dir = os.path.join(env("APE_SHARED_DIR"), TASK)
    shutil.rmtree(log_dir, ignore_errors=True)
    server_log = os.path.join(env("APE_TESTBED"), "local", "server.log")
    log_start = os.path.getsize(server_log)
    conn = psycopg2.connect(host=env("PGHOST"), port=env("PGPORT"),
                            user=env("PGUSER"), dbname=env("PGDATABASE"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS ape_resume")
    drop_task_if_exists(conn, TASK)
    with conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {pq(DB)} CASCADE")
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (TASK, f"""
[extractor]
db_type=mysql
url={env('APE_MYSQL_URL')}
[sinker]
batch_size=2
[filter]
do_dbs={DB}
[runtime]
log_dir={log_dir}
"""))
        state = wait_state(conn, TASK, 300)
        cur.execute("SELECT state, last_error, tables_total, tables_finished, rows_copied"
                    " FROM ape_resume.tasks WHERE name = %s", (TASK,))
        task = cur.fetchone()
    assert state == "finished", task
    with open(server_log, errors="replace") as f:
        f.seek(log_start)
        log = f.read()
    yield conn, task, log, log_dir
    conn.close()


def test_a_check_of_the_copy_is_clean(copied):
    """A check task ([sinker] sink_type=check) of the copy finds every value
    of every type equal, whatever the key (merged in order, or looked up):
    no row missing, different or extra."""
    local, _, _, log_dir = copied
    check = TASK + "_check"
    check_dir = log_dir + "_check"
    shutil.rmtree(check_dir, ignore_errors=True)
    os.makedirs(check_dir)
    os.chmod(check_dir, 0o777)
    drop_task_if_exists(local, check)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (check, f"""
[extractor]
db_type=mysql
url={env('APE_MYSQL_URL')}
[sinker]
sink_type=check
batch_size=3
[filter]
do_dbs={DB}
[runtime]
log_dir={check_dir}
"""))
        wait_state(local, check, 300)
        cur.execute("SELECT tb, state, rows_copied, rows_missing, rows_different, rows_extra, error "
                    "FROM ape_resume.progress(%s) ORDER BY tb", (check,))
        found = cur.fetchall()
    assert len(found) == 1 + len(KEY_TABLES)
    for tb, st, n, m, d, e, err in found:
        assert (st, m, d, e, err) == ("finished", 0, 0, 0, None), (tb, st, m, d, e, err)
        assert n > 0, tb
    with open(os.path.join(check_dir, "check", "diff.log")) as f:
        assert f.read() == ""
    drop_task_if_exists(local, check)


def test_every_value_of_every_row(copied):
    local, task, _, _ = copied
    my = mysql_connect(conv={})  # values as MySQL's text (bytes for binary types)
    try:
        tables = ["all_types"] + list(KEY_TABLES)
        assert task[2] == len(tables) and task[3] == len(tables), task
        total = 0
        for tb in tables:
            cols = source_columns(my, tb)
            src = source_rows(my, tb, cols)
            dst = target_rows(local, tb, cols)
            assert src, tb
            assert_same_rows(tb, cols, src, dst)
            total += len(src)
        assert task[4] == total
    finally:
        my.close()


def test_values_spot_checks(copied):
    """A few values checked against literals, independently of the canonical
    renderings above."""
    local, _, _, _ = copied
    with local.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        cur.execute(f"SELECT c_bigint_u, c_decimal_max::text, c_float::float8, c_double, c_bit64::text,"
                    f" c_time6::text, c_datetime6::text, c_timestamp6::text, c_year, length(c_char),"
                    f" c_char10, c_json->>'dup', length(c_longtext), octet_length(c_longblob)"
                    f" FROM {DB}.all_types WHERE id = 2")
        r = cur.fetchone()
        assert r[0] == Decimal("18446744073709551615")
        assert r[1] == DEC65
        assert r[2] == 3.4028234663852886e38 and r[3] == 1.7976931348623157e308
        assert r[4] == "1" * 64
        assert r[5] == "838:59:59"
        assert r[6] == "9999-12-31 23:59:59.999999"
        assert r[7] == "2038-01-19 03:14:07.999999+00"
        assert r[8] == 2155 and r[9] == 255 and r[10] == "\u00e9" * 10
        assert r[11] == "2" and r[12] == 300000 and r[13] == 3 << 20
        cur.execute(f"SELECT c_date::text, c_datetime::text, c_timestamp::text, c_year, c_varchar,"
                    f" c_text, c_tinytext IS NULL, c_enum, c_set, c_json::text, c_binary"
                    f" FROM {DB}.all_types WHERE id = 4")
        r = cur.fetchone()
        assert r[:4] == ("-infinity", "-infinity", "-infinity", 0)
        assert r[4] == "" and r[5] == "" and r[6] is False and r[7] == "" and r[8] == ""
        assert r[9] == '""'
        assert bytes(r[10]) == b"\x00" * 255  # binary(255) is padded with NUL bytes
        cur.execute(f"SELECT c_date::text, c_datetime::text, c_time::text, c_time6::text,"
                    f" c_varchar, c_tinytext, c_binary, c_varbinary, c_float::float8, c_double, c_char10"
                    f" FROM {DB}.all_types WHERE id = 5")
        r = cur.fetchone()
        assert r[0] == "0001-01-01 BC" and r[1] == "0001-01-01 00:00:00 BC"
        assert r[2] == "-00:00:01" and r[3] == "-00:00:00.000001"
        assert r[4] == "tab\there\nnew\\back\rcr \\N end \"q\" 'a' `b`"
        assert r[5] == "\\N"
        assert bytes(r[6]) == b"\x00\x01\\\n\t\r\x00" + b"\x00" * 248
        assert bytes(r[7]) == b"\\N\x00\\.\n"
        assert r[8] == 1.401298464324817e-45 and r[9] == 5e-324
        assert r[10] == "\U0001F600\U0001F389\U0001F44D\U0001F3FD" + " " * 6
        cur.execute(f"SELECT c_float::float8, c_float62::float8, c_date::text, c_datetime::text"
                    f" FROM {DB}.all_types WHERE id = 6")
        r = cur.fetchone()
        assert r[0] == 16777216.0  # not MySQL's 6-digit rendering 16777200
        assert abs(r[1] - 1234.57) < 1e-4
        assert r[2] == "-infinity" and r[3] == "-infinity"
        cur.execute(f"SELECT md5(body) = md5(%s), length(body) FROM {DB}.big_text WHERE id = 2",
                    (BIG_TEXT,))
        assert cur.fetchone() == (True, len(BIG_TEXT))
        cur.execute(f'SELECT "p.k", "u.k", "x""y" FROM {DB}."a`b" ORDER BY 1')
        assert cur.fetchall() == [(1, "one", 'a"b'), (2, "two", None), (3, "three", "")]
        cur.execute(f'SELECT "p.k" FROM {DB}."q""t" ORDER BY "p.k" COLLATE "C"')
        assert [r[0] for r in cur.fetchall()] == sorted(
            ["", "A", "a", "a\tb", "it's", "\u00e9", "\U0001F600", "\U00020000", "z\\"])


def test_target_types_and_keys(copied):
    local, _, _, _ = copied
    with local.cursor() as cur:
        cur.execute("SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull"
                    " FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0"
                    " AND NOT a.attisdropped ORDER BY a.attnum", (f"{pq(DB)}.all_types",))
        got = cur.fetchall()
        assert [(n, t) for n, t, _ in got] == [(n, pg) for n, _, pg in ALL_TYPES_COLUMNS]
        assert [n for n, _, nn in got if nn] == ["id"]
        more = {
            ("uk_only", "u"): "numeric(20,0)", ("pk_decimal", "d"): "numeric(65,30)",
            ("pk_datetime", "dt"): "timestamp(6) without time zone",
            ("pk_timestamp", "ts"): "timestamp(6) with time zone",
            ("pk_time", "t"): "interval", ("pk_varbinary", "b"): "bytea",
            ("pk_bit", "b"): "bit(64)", ("pk_year", "y"): "smallint",
            ('q"t', "p.k"): "character varying(20)", ('q"t', 'x"y'): "integer",
            ("a`b", "u.k"): "character varying(10)", ("pk_enum", "e"): "text",
            ("pk_enum", "v"): "real", ("big_text", "body"): "text",
        }
        for (tb, col), typ in more.items():
            cur.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                        " WHERE attrelid = %s::regclass AND attname = %s",
                        (f"{pq(DB)}.{pq(tb)}", col))
            assert cur.fetchone() == (typ,), (tb, col)

        for tb, (pk, uks) in KEY_COLUMNS.items():
            cur.execute("SELECT c.contype, array_agg(a.attname::text ORDER BY k.ord)"
                        " FROM pg_constraint c,"
                        " unnest(c.conkey) WITH ORDINALITY k(attnum, ord), pg_attribute a"
                        " WHERE c.conrelid = %s::regclass AND a.attrelid = c.conrelid"
                        " AND a.attnum = k.attnum AND c.contype IN ('p', 'u')"
                        " GROUP BY c.oid, c.contype", (f"{pq(DB)}.{pq(tb)}",))
            cons = cur.fetchall()
            assert sorted(c for t, c in cons if t == "p") == ([pk] if pk else []), tb
            assert sorted(c for t, c in cons if t == "u") == sorted(uks), tb


def test_progress_positions_and_logs(copied):
    local, _, log, log_dir = copied
    with local.cursor() as cur:
        cur.execute("SELECT tb, state, order_col, value, rows_copied FROM ape_resume.progress(%s)",
                    (TASK,))
        progress = {r[0]: r[1:] for r in cur.fetchall()}
    assert progress["all_types"] == ("finished", "id", "8", 8)
    for tb, (_, rows, order_col, value) in KEY_TABLES.items():
        n = 3 if tb == "big_text" else len(rows)
        assert progress[tb] == ("finished", order_col, value, n), tb

    # zero dates are never silent: one WARNING a column, with its count
    expected = {("all_types", "c_date"): 2, ("all_types", "c_datetime"): 2,
                ("all_types", "c_datetime6"): 1, ("all_types", "c_timestamp"): 1,
                ("all_types", "c_timestamp6"): 1, ("pk_datetime", "dt"): 1,
                ("pk_date", "d"): 1, ("pk_timestamp", "ts"): 1}
    found = {}
    for m in re.finditer(r'WARNING:  table "it_types_db"\."([^"]+)" column "([^"]+)": '
                         r'(\d+) zero dates? copied as -infinity', log):
        found[(m.group(1), m.group(2))] = found.get((m.group(1), m.group(2)), 0) + int(m.group(3))
    assert found == expected, found
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    assert re.search(r' - WARN - \[\d+\] - table "it_types_db"\."all_types" column "c_date": '
                     r'2 zero dates copied as -infinity', default), default[-2000:]
    assert PASSWORD not in default and PASSWORD not in log
    assert "terminated by signal" not in log


@pytest.mark.parametrize("value,after", [
    ("2000-01-01 00:00:00.5+00", 3),        # as ape_resume writes it
    ("2000-01-01 00:00:00.500000", 3),      # as MySQL shows it (UTC), ape-dts style
    ("-infinity", 1),                       # a zero date, as ape_resume writes it
    ("0000-00-00 00:00:00", 1),             # a zero date, as MySQL shows it
    ("2000-01-01T00:00:00", None),          # malformed: an error
])
def test_resume_from_timestamp_position(local, value, after):
    """A timestamp position from resume.config, with or without "+00":
    the copy starts after it; a malformed one fails the task naming table
    and column."""
    db, task = "it_types_pos", "it_types_pos"
    rows = [("0000-00-00 00:00:00", 1), ("1970-01-01 00:00:01", 2),
            ("2000-01-01 00:00:00.5", 3), ("2038-01-19 03:14:07.999999", 4)]
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = '', time_zone = '+00:00'")
        cur.execute(f"DROP DATABASE IF EXISTS {db}")
        cur.execute(f"CREATE DATABASE {db}")
        cur.execute(f"CREATE TABLE {db}.ts (ts timestamp(6) NOT NULL DEFAULT '2000-01-01',"
                    f" v int, PRIMARY KEY (ts))")
        cur.executemany(f"INSERT INTO {db}.ts VALUES (%s, %s)", rows)
    conn.close()
    log_dir = os.path.join(env("APE_SHARED_DIR"), task)
    shutil.rmtree(log_dir, ignore_errors=True)
    os.makedirs(log_dir)
    resume_config = os.path.join(log_dir, "resume.config")
    with open(resume_config, "w") as f:
        f.write(json.dumps({"type": "RdbSnapshot", "db_type": "mysql", "schema": db, "tb": "ts",
                            "order_col": "ts", "value": value}, separators=(",", ":")) + "\n")
    os.chmod(log_dir, 0o777)
    drop_task_if_exists(local, task)
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {db} CASCADE")
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, f"""
[extractor]
db_type=mysql
url={env('APE_MYSQL_URL')}
[sinker]
batch_size=1
[filter]
do_dbs={db}
[runtime]
log_dir={log_dir}
[resumer]
resume_config_file={resume_config}
"""))
        state = wait_state(local, task, 60)
        cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))
        error = cur.fetchone()[0]
        if after is None:
            assert state == "failed"
            assert error.startswith(f'invalid resume value "{value}" for column "ts" of table'
                                    f' "{db}"."ts"'), error
            return
        assert state == "finished", error
        cur.execute(f"SELECT v FROM {db}.ts ORDER BY ts")
        # rows are numbered in key order: those after the position's row
        assert [r[0] for r in cur.fetchall()] == [v for _, v in rows if v > after]
