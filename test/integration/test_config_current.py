"""ape-dts's current config generation (issue 13): credentials, row and
column filters, column renames, extractor parallelism, rate limits,
resume_type, task_id and the rule that every key with an effect is
implemented or refused.  Each test asserts the rows copied, not only that
a task ran."""
import json
import os
import time

import psycopg2
import pymysql
import pytest

from conftest import drop_task_if_exists, env, fresh_dir, start, wait_state
from test_pg_copy import pg_exec

DB = "it_cfg"
ROWS = 20000


def mysql_conn():
    return pymysql.connect(host="127.0.0.1", port=int(env("APE_MYSQL_PORT")), user="ape",
                           password="mysql_secret_pw", charset="utf8mb4", autocommit=True)


def mysql_exec(sql):
    conn = mysql_conn()
    try:
        with conn.cursor() as cur:
            for stmt in [s for s in sql.split(";\n") if s.strip()]:
                cur.execute(stmt)
    finally:
        conn.close()


def fresh_mysql(sql):
    """Run sql in a new, empty MariaDB database DB."""
    mysql_exec(f"DROP DATABASE IF EXISTS {DB};\nCREATE DATABASE {DB};\nUSE {DB};\n" + sql)


def pgsrc_exec(sql):
    conn = psycopg2.connect(env("APE_PGSRC_URL").replace("postgres://", "postgresql://"))
    conn.autocommit = True
    try:
        pg_exec(conn, sql)
    finally:
        conn.close()


def parse(local, text):
    """parse_config's rows as {(section, key): value} and the NOTICEs."""
    del local.notices[:]
    with local.cursor() as cur:
        cur.execute("SELECT section, key, value FROM ape_resume.parse_config(%s)", (text,))
        rows = {(s, k): v for s, k, v in cur.fetchall()}
    return rows, [n.strip().split("\n")[0] for n in local.notices]


def parse_error(local, text):
    with pytest.raises(psycopg2.Error) as e:
        parse(local, text)
    return str(e.value)


def base(db_type="mysql", url=None, extra=""):
    url = url or {"mysql": env("APE_MYSQL_URL"), "pg": env("APE_PGSRC_URL"),
                  "mongo": env("APE_MONGO_URL")}[db_type]
    return f"""
[extractor]
db_type={db_type}
url={url}
[filter]
do_dbs={DB}
{extra}
"""


def one(local, sql, args=()):
    with local.cursor() as cur:
        cur.execute(sql, args or None)
        return cur.fetchone()


def all_rows(local, sql, args=()):
    with local.cursor() as cur:
        cur.execute(sql, args or None)
        return cur.fetchall()


def target_columns(local, schema, tb):
    return [r[0] for r in all_rows(
        local, "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass"
        " AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (f'"{schema}"."{tb}"',))]


# --- the config itself ------------------------------------------------------

def test_parse_config_shows_every_current_key_with_its_effective_value(local):
    rows, notices = parse(local, f"""
[global]
task_id=orders-2026
[extractor]
db_type=mysql
url=mysql://old:old_pw@127.0.0.1:3306
username=ape user
password=p@ss/w:rd
ssl_mode=verify_full
ssl_ca_path=/etc/ssl/ca.pem
parallel_type=table
parallel_size=3
max_rps=5000
max_mbps=20
heartbeat_tb=hb
[runtime]
tb_parallel_size=7
log4rs_file=./log4rs.yaml
[filter]
do_dbs={DB}
where_conditions=json:[{{"db":"{DB}","tb":"t","condition":"v > 1 AND name <> ';'"}}]
ignore_cols=json:[{{"db":"{DB}","tb":"t","ignore_cols":["secret","pin"]}}]
[router]
col_map=json:[{{"db":"{DB}","tb":"t","col_map":{{"name":"full_name"}}}}]
[resumer]
resume_type=from_target
table_full_name=apecloud_metadata.apedts_task_position
[checker]
batch_size=3
[nosuch]
thing=1
""")
    assert rows[("global", "task_id")] == "orders-2026"
    # the keys win over the URL's user info, percent-encoded; the password masked
    assert rows[("extractor", "url")] == "mysql://ape%20user:*****@127.0.0.1:3306"
    assert rows[("extractor", "username")] == "ape user"
    assert rows[("extractor", "password")] == "*****"
    assert rows[("extractor", "ssl_mode")] == "verify_full"
    assert rows[("extractor", "ssl_ca_path")] == "/etc/ssl/ca.pem"
    assert rows[("extractor", "parallel_type")] == "table"
    # [extractor] parallel_size beats the legacy [runtime] tb_parallel_size
    assert rows[("extractor", "parallel_size")] == "3"
    assert rows[("parallelizer", "parallel_size")] == "3"
    assert rows[("extractor", "max_rps")] == "5000"
    assert rows[("extractor", "max_mbps")] == "20"
    assert rows[("filter", "where_conditions")] == f"{DB}.t: (v > 1 AND name <> ';')"
    assert rows[("filter", "ignore_cols")] == f"{DB}.t: secret, pin"
    assert rows[("router", "col_map")] == f"{DB}.t: name -> full_name"
    assert rows[("resumer", "resume_type")] == "from_target"
    assert rows[("resumer", "resume_from_log")] == "false"
    assert all("p@ss" not in n and "w:rd" not in n for n in notices)
    assert 'NOTICE:  key "heartbeat_tb" in section [extractor] has no effect in ape_resume' in notices
    assert 'NOTICE:  key "log4rs_file" in section [runtime] has no effect in ape_resume' in notices
    assert 'NOTICE:  key "table_full_name" in section [resumer] has no effect in ape_resume' in notices
    assert 'NOTICE:  key "batch_size" in section [checker] has no effect in ape_resume' in notices
    assert 'NOTICE:  unknown key "thing" in section [nosuch] is ignored' in notices
    assert len(notices) == 5, notices


def test_parallel_size_precedence_as_ape_dts(local):
    def size(extra):
        rows, _ = parse(local, base(extra=extra))
        return rows[("parallelizer", "parallel_size")]
    assert size("") == "1"
    assert size("[parallelizer]\nparallel_size=4") == "4"
    assert size("[parallelizer]\nparallel_size=4\n[runtime]\ntb_parallel_size=5") == "5"
    assert size("[runtime]\ntb_parallel_size=5\n[extractor]\nparallel_size=6") == "6"
    # present but empty, [extractor] parallel_size still wins: 1, as in ape-dts
    assert size("[runtime]\ntb_parallel_size=5\n[extractor]\nparallel_size=") == "1"


def test_check_task_keys(local):
    """sink_type=check and both generations of the checker's keys."""
    rows, _ = parse(local, base(extra="[sinker]\nsink_type=check\n[checker]\nbatch_size=50\n"
                                      "sample_percent=20\noutput_full_row=true\ncheck_log_max_rows=7"))
    assert rows[("sinker", "sink_type")] == "check"
    assert rows[("checker", "batch_size")] == "50"
    assert rows[("checker", "sample_percent")] == "20"
    assert rows[("checker_output", "output_full_row")] == "true"
    assert rows[("checker_output", "output_revise_sql")] == "false"
    assert rows[("checker_output", "check_log_max_rows")] == "7"
    assert rows[("checker_output", "check_log_dir")].endswith("/check")
    rows, _ = parse(local, base(extra="[sinker]\nsink_type=check\n[checker_output]\n"
                                      "output_revise_sql=true\ncheck_log_dir=/tmp/chk"))
    assert rows[("checker_output", "output_revise_sql")] == "true"
    assert rows[("checker_output", "check_log_dir")] == "/tmp/chk"
    rows, _ = parse(local, base())
    assert rows[("sinker", "sink_type")] == "write"
    assert ("checker", "batch_size") not in rows
    rows, _ = parse(local, base("mongo", extra="[sinker]\nsink_type=check"))
    assert rows[("sinker", "sink_type")] == "check"


def test_parallel_type_chunk(local):
    """parallel_type=chunk and the threshold, in rows (default 100000) or
    with a size unit; parallel_type=table turns chunks off again."""
    rows, _ = parse(local, base(extra="[extractor]\nparallel_type=chunk"))
    assert rows[("extractor", "parallel_type")] == "chunk"
    assert rows[("extractor", "split_tables_larger_than")] == "100000"
    rows, _ = parse(local, base(extra="[extractor]\nparallel_type=chunk\nsplit_tables_larger_than=2500000"))
    assert rows[("extractor", "split_tables_larger_than")] == "2500000"
    rows, _ = parse(local, base(extra="[extractor]\nparallel_type=chunk\nsplit_tables_larger_than=2GB"))
    assert rows[("extractor", "split_tables_larger_than")] == "2097152kB"
    rows, _ = parse(local, base(extra="[extractor]\nparallel_type=chunk\nsplit_tables_larger_than=64 kB"))
    assert rows[("extractor", "split_tables_larger_than")] == "64kB"
    rows, _ = parse(local, base(extra="[extractor]\nparallel_type=table\nsplit_tables_larger_than=10"))
    assert rows[("extractor", "parallel_type")] == "table"
    _, notices = parse(local, base("mongo", extra="[extractor]\nparallel_type=chunk"))
    assert 'NOTICE:  parallel_type "chunk" in section [extractor] does not split MongoDB collections' \
        in notices


def test_resume_type_from_target_keeps_to_the_catalog(local):
    rows, _ = parse(local, base(extra="[resumer]\nresume_type=from_db\nurl=mysql://x:y@h:1\nmax_connections=3"))
    assert rows[("resumer", "resume_type")] == "from_target"
    assert rows[("resumer", "resume_from_log")] == "false"
    rows, _ = parse(local, base(extra="[resumer]\nresume_type=from_log"))
    assert rows[("resumer", "resume_from_log")] == "true"
    err = parse_error(local, base(extra="[resumer]\nresume_type=from_target\nresume_from_log=true"))
    assert 'keys "resume_from_log" and "resume_type" in section [resumer] contradict each other' in err


@pytest.mark.parametrize("extra, message", [
    ("[extractor]\nparallel_type=rows", 'invalid value "rows" for key "parallel_type" in section [extractor]'),
    ("[extractor]\nsplit_tables_larger_than=0", 'invalid value "0" for key "split_tables_larger_than" in section [extractor]'),
    ("[extractor]\nsplit_tables_larger_than=5 PB", 'invalid value "5 PB" for key "split_tables_larger_than" in section [extractor]'),
    ("[extractor]\nsplit_tables_larger_than=-3", 'invalid value "-3" for key "split_tables_larger_than" in section [extractor]'),
    ("[extractor]\nsplit_tables_larger_than=99999999999TB", 'invalid value "99999999999TB" for key "split_tables_larger_than" in section [extractor]'),
    ("[extractor]\nssl_mode=prefer", 'invalid value "prefer" for key "ssl_mode" in section [extractor]'),
    ("[extractor]\nmax_mbps=5000", 'invalid value "5000" for key "max_mbps" in section [extractor]'),
    ("[checker_output]\noutput_type=s3", 'invalid value "s3" for key "output_type" in section [checker_output]'),
    ("[sinker]\nsink_type=dummy", 'invalid value "dummy" for key "sink_type" in section [sinker]'),
    ("[processor]\nlua_code_file=./a.lua", 'key "lua_code_file" in section [processor] is not supported'),
    ("[filter]\nwhere_conditions=json:[{\"db\":\"d\",\"tb\":\"t\",\"condition\":\"1=1; DROP TABLE t\"}]",
     'the condition of table "d"."t" is not one SQL expression: it holds a ";" (a second statement)'),
    ("[filter]\nwhere_conditions=json:[{\"db\":\"d\",\"tb\":\"t\",\"condition\":\"1=1) OR (1=1\"}]",
     'a ")" closes a parenthesis it did not open'),
    ("[filter]\nwhere_conditions=json:[{\"db\":\"d\",\"tb\":\"t\",\"condition\":\"id > 1 -- \"}]",
     "it holds a comment"),
    ("[filter]\nwhere_conditions=json:[{\"db\":\"d\",\"tb\":\"t\",\"condition\":\"id > 1 /* x */\"}]",
     "it holds a comment"),
    ("[filter]\nwhere_conditions=json:[{\"db\":\"d\",\"tb\":\"t\",\"condition\":\"name = 'a\"}]",
     "a string is not terminated"),
    ("[filter]\nwhere_conditions=json:[{\"db\":\"d\",\"tb\":\"t\",\"condition\":\"  \"}]", "it is empty"),
    # MariaDB ends the dashes of a comment with any control character
    ("[filter]\nwhere_conditions=json:[{\"db\":\"d\",\"tb\":\"t\",\"condition\":\"1 --\\u000b(\\n) OR (1 --\\u000b)\\n\"}]",
     "it holds a control character"),
    ("[filter]\nwhere_conditions=json:[{\"db\":\"d\",\"tb\":\"t\",\"cond\":\"x\"}]",
     'entry 1 (table "d"."t") has an unknown field "cond"'),
    ("[filter]\nwhere_conditions=json:{\"db\":\"d\"}", "it is not a JSON array"),
    ("[filter]\nignore_cols=json:[{\"db\":\"d\",\"tb\":\"t\",\"ignore_cols\":\"f\"}]",
     'ignore_cols of table "d"."t" is not a JSON array'),
    ("[router]\ncol_map=json:[{\"db\":\"d\",\"tb\":\"t\",\"col_map\":{\"a\":\"x\",\"b\":\"x\"}}]",
     'col_map of table "d"."t" maps both "a" and "b" to "x"'),
])
def test_keys_with_an_effect_are_implemented_or_refused(local, extra, message):
    err = parse_error(local, base(extra=extra))
    assert message in err, err


def test_backslash_in_a_mysql_string_does_not_hide_a_second_statement(local):
    # MySQL strings take backslash escapes: 'a\\' is the string a\, so the
    # ';' after it is outside any string
    cond = "name = 'a\\\\' ; DROP TABLE t; SELECT 'x'"
    err = parse_error(local, base(extra="[filter]\nwhere_conditions=" + json.dumps(
        [{"db": "d", "tb": "t", "condition": cond}])))
    assert 'it holds a ";"' in err, err
    # PostgreSQL strings do not (standard_conforming_strings): 'a\' ends there
    err = parse_error(local, base("pg", extra="[filter]\nwhere_conditions=" + json.dumps(
        [{"db": "d", "tb": "t", "condition": "name = 'a\\' ; DROP TABLE t; SELECT ''"}])))
    assert 'it holds a ";"' in err, err
    # a ';' inside a string, a dollar quote or a quoted name is fine
    rows, _ = parse(local, base("pg", extra="[filter]\nwhere_conditions=" + json.dumps(
        [{"db": "d", "tb": "t", "condition": "\"a;b\" = $x$;$x$ AND c = ';'"}])))
    assert rows[("filter", "where_conditions")] == "d.t: (\"a;b\" = $x$;$x$ AND c = ';')"


def test_row_and_column_rules_are_refused_for_mongo(local):
    err = parse_error(local, base("mongo", extra="[filter]\nwhere_conditions=json:[{\"db\":\"d\",\"tb\":\"t\",\"condition\":\"x\"}]"))
    assert "are not supported for a MongoDB source" in err


def test_mongo_credentials_are_merged_into_the_url(local):
    rows, _ = parse(local, base("mongo", url="mongodb://127.0.0.1:27017/?authSource=admin",
                                extra="[extractor]\nusername=u@x\npassword=s/cret"))
    assert rows[("extractor", "url")] == "mongodb://u%40x:*****@127.0.0.1:27017/?authSource=admin"


# --- credentials ------------------------------------------------------------

def plain_table_mysql():
    fresh_mysql(f"""
CREATE TABLE {DB}.t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO {DB}.t SELECT seq, seq * 2 FROM seq_1_to_300
""")


def plain_table_pg():
    pgsrc_exec(f"""
DROP SCHEMA IF EXISTS {DB} CASCADE;
CREATE SCHEMA {DB};
CREATE TABLE {DB}.t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO {DB}.t SELECT i, i * 2 FROM generate_series(1, 300) i;
""")


@pytest.mark.parametrize("kind", ["mysql", "pg"])
def test_username_and_password_keys_authenticate_and_beat_the_url(local, kind):
    if kind == "mysql":
        plain_table_mysql()
        url = f"mysql://ape:wrong_pw@127.0.0.1:{env('APE_MYSQL_PORT')}"
        creds = "username=ape\npassword=mysql_secret_pw"
    else:
        plain_table_pg()
        # libpq reads a '?' of the user info as the password's
        url = f"postgres://nobody:wrong?pw@127.0.0.1:{env('APE_PGSRC_PORT')}/ape_src"
        creds = "username=ape_src\npassword=pgsrc_secret_pw"
    pg_exec(local, f"DROP SCHEMA IF EXISTS {DB} CASCADE")
    task = f"it_cfg_creds_{kind}"
    cfg = base(kind, url=url) + f"[extractor]\n{creds}\n[runtime]\nlog_dir={fresh_dir(task)}\n"
    start(local, task, cfg)
    assert wait_state(local, task) == "finished"
    assert one(local, f"SELECT count(*), sum(v) FROM {DB}.t") == (300, 300 * 301)
    source_url = one(local, "SELECT source_url FROM ape_resume.tasks WHERE name = %s", (task,))[0]
    assert "secret" not in source_url and "wrong" not in source_url and ":*****@" in source_url
    # the source of the copy's definition: server and database, no credentials
    want = (f"mysql://127.0.0.1:{env('APE_MYSQL_PORT')}" if kind == "mysql"
            else f"pg://127.0.0.1:{env('APE_PGSRC_PORT')}/ape_src")
    assert one(local, "SELECT p.definition[1] FROM ape_resume.position p JOIN ape_resume.task t"
                      " ON t.id = p.task_id WHERE t.name = %s", (task,)) == (want,)
    # the URL's wrong password alone fails
    drop_task_if_exists(local, task)
    pg_exec(local, f"DROP SCHEMA IF EXISTS {DB} CASCADE")
    start(local, task, base(kind, url=url) + f"[runtime]\nlog_dir={fresh_dir(task)}\n")
    assert wait_state(local, task) == "failed"
    err = one(local, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))[0]
    assert "wrong" not in err and ("denied" in err or "authentication failed" in err), err
    drop_task_if_exists(local, task)


# --- where_conditions, ignore_cols, col_map -----------------------------------

def slow_target(local, ddl):
    """The target of table t, made beforehand, with a slow statement trigger
    so that a test can stop the copy mid-table."""
    pg_exec(local, f"""
DROP SCHEMA IF EXISTS {DB} CASCADE; CREATE SCHEMA {DB};
CREATE TABLE {DB}.t ({ddl});
CREATE FUNCTION {DB}.slow() RETURNS trigger LANGUAGE plpgsql
    AS $$BEGIN PERFORM pg_sleep(0.02); RETURN NULL; END$$;
CREATE TRIGGER slow AFTER INSERT ON {DB}.t FOR EACH STATEMENT EXECUTE FUNCTION {DB}.slow();
""")


def stop_mid_table(local, task, low=300):
    deadline = time.time() + 60
    while time.time() < deadline:
        row = one(local, "SELECT rows_copied, state FROM ape_resume.progress(%s) WHERE tb = 't'", (task,))
        if row and row[0] >= low:
            assert row[1] != "finished"
            break
        time.sleep(0.01)
    else:
        raise AssertionError("the copy did not start")
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.stop_task(%s)", (task,))
    assert wait_state(local, task) == "stopped"


def rules(cond_t):
    """where_conditions, ignore_cols and col_map for tables t and c."""
    where = [{"db": DB, "tb": "t", "condition": cond_t},
             {"db": DB, "tb": "c", "condition": "id <= 100"}]
    ignore = [{"db": DB, "tb": "t", "ignore_cols": ["secret"]},
              {"db": DB, "tb": "c", "ignore_cols": ["secret"]}]
    col_map = [{"db": DB, "tb": "t", "col_map": {"id": "dst_id", "name": "full_name"}},
               {"db": DB, "tb": "c", "col_map": {"name": "full_name"}}]
    return (f"[filter]\nwhere_conditions=json:{json.dumps(where)}\n"
            f"ignore_cols=json:{json.dumps(ignore)}\n"
            f"[router]\ncol_map=json:{json.dumps(col_map)}\n")


@pytest.mark.parametrize("kind", ["mysql", "pg"])
def test_where_ignore_cols_and_col_map_through_a_stop_and_resume(local, kind):
    """t: only the rows of the condition (an OR, which must stay apart from
    the resume predicate), without its secret column, into an existing
    target matched on the new names, whose own secret column keeps its
    default; stopped mid-table and resumed: every selected row once.
    c: a created target has the new names and no secret column, and its
    rows_estimated is the condition's."""
    cond = "v % 3 = 0 OR v < 50"
    if kind == "mysql":
        fresh_mysql(f"""
CREATE TABLE {DB}.t (id int PRIMARY KEY, v int NOT NULL, name varchar(20), secret varchar(20));
INSERT INTO {DB}.t SELECT seq, seq % 1000, CONCAT('n', seq), CONCAT('s', seq) FROM seq_1_to_{ROWS};
CREATE TABLE {DB}.c (id int PRIMARY KEY, name varchar(20), secret varchar(20));
INSERT INTO {DB}.c SELECT seq, CONCAT('n', seq), 'pii' FROM seq_1_to_1000;
ANALYZE TABLE {DB}.t, {DB}.c
""")
    else:
        pgsrc_exec(f"""
DROP SCHEMA IF EXISTS {DB} CASCADE;
CREATE SCHEMA {DB};
CREATE TABLE {DB}.t (id int PRIMARY KEY, v int NOT NULL, name varchar(20), secret varchar(20));
INSERT INTO {DB}.t SELECT i, i % 1000, 'n' || i, 's' || i FROM generate_series(1, {ROWS}) i;
CREATE TABLE {DB}.c (id int PRIMARY KEY, name varchar(20), secret varchar(20));
INSERT INTO {DB}.c SELECT i, 'n' || i, 'pii' FROM generate_series(1, 1000) i;
ANALYZE {DB}.t, {DB}.c;
""")
    slow_target(local, "dst_id int, v int, full_name text, secret text DEFAULT 'hidden'")
    task = f"it_cfg_rules_{kind}"
    log_dir = fresh_dir(task)
    cfg = base(kind) + "[sinker]\nbatch_size=50\n" + rules(cond) + f"[runtime]\nlog_dir={log_dir}\n"
    start(local, task, cfg)
    stop_mid_table(local, task)
    assert one(local, "SELECT order_col FROM ape_resume.progress(%s) WHERE tb = 't'", (task,)) == ("id",)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
    assert wait_state(local, task, 180) == "finished"

    want = [i for i in range(1, ROWS + 1) if (i % 1000) % 3 == 0 or (i % 1000) < 50]
    assert one(local, f"SELECT count(*), count(DISTINCT dst_id), sum(dst_id) FROM {DB}.t") == \
        (len(want), len(want), sum(want))
    assert one(local, f"SELECT count(*) FROM {DB}.t WHERE full_name = 'n' || dst_id"
                      f" AND v = dst_id % 1000 AND secret = 'hidden'") == (len(want),)
    # positions keep the source's column names
    with open(os.path.join(log_dir, "position.log")) as f:
        lines = [l for l in f if '"tb":"t"' in l]
    assert lines and all('"order_col":"id"' in l for l in lines), lines[:3]

    assert target_columns(local, DB, "c") == ["id", "full_name"]
    assert one(local, f"SELECT count(*), sum(id), min(full_name) FROM {DB}.c") == (100, 5050, "n1")
    est = one(local, "SELECT rows_estimated FROM ape_resume.progress(%s) WHERE tb = 'c'", (task,))[0]
    assert 50 <= est <= 200, est
    drop_task_if_exists(local, task)


@pytest.mark.parametrize("kind", ["mysql", "pg"])
def test_an_ignored_key_column_orders_by_another_key_or_copies_whole(local, kind):
    sql = f"""
CREATE TABLE {DB}.k (id int PRIMARY KEY, u int NOT NULL UNIQUE, v int NOT NULL);
CREATE TABLE {DB}.w (id int PRIMARY KEY, v int NOT NULL)"""
    if kind == "mysql":
        mysql_exec(f"DROP DATABASE IF EXISTS {DB};\nCREATE DATABASE {DB};\nUSE {DB};\n" + sql + f""";
INSERT INTO {DB}.k SELECT seq, 1000 - seq, seq FROM seq_1_to_500;
INSERT INTO {DB}.w SELECT seq, seq FROM seq_1_to_500""")
    else:
        pgsrc_exec(f"DROP SCHEMA IF EXISTS {DB} CASCADE; CREATE SCHEMA {DB};" + sql + f""";
INSERT INTO {DB}.k SELECT i, 1000 - i, i FROM generate_series(1, 500) i;
INSERT INTO {DB}.w SELECT i, i FROM generate_series(1, 500) i;""")
    pg_exec(local, f"DROP SCHEMA IF EXISTS {DB} CASCADE")
    task = f"it_cfg_ignkey_{kind}"
    ignore = [{"db": DB, "tb": "k", "ignore_cols": ["id"]}, {"db": DB, "tb": "w", "ignore_cols": ["id"]}]
    start(local, task, base(kind) + f"[filter]\nignore_cols=json:{json.dumps(ignore)}\n"
          f"[runtime]\nlog_dir={fresh_dir(task)}\n")
    assert wait_state(local, task) == "finished"
    assert all_rows(local, "SELECT tb, order_col FROM ape_resume.progress(%s) ORDER BY tb", (task,)) == \
        [("k", "u"), ("w", None)]
    assert target_columns(local, DB, "k") == ["u", "v"]
    assert target_columns(local, DB, "w") == ["v"]
    assert one(local, f"SELECT count(*), sum(u), sum(v) FROM {DB}.k") == (500, 500 * 1000 - 125250, 125250)
    assert one(local, f"SELECT count(*), sum(v) FROM {DB}.w") == (500, 125250)
    # the target keeps the key that is left: u's unique constraint
    assert one(local, f"SELECT count(*) FROM pg_constraint WHERE conrelid = '{DB}.k'::regclass AND contype = 'u'") == (1,)
    drop_task_if_exists(local, task)


@pytest.mark.parametrize("kind", ["mysql", "pg"])
def test_rules_naming_what_the_source_lacks_fail_naming_it(local, kind):
    plain_table_mysql() if kind == "mysql" else plain_table_pg()
    pg_exec(local, f"DROP SCHEMA IF EXISTS {DB} CASCADE")
    task = f"it_cfg_bad_{kind}"
    cases = [
        ("[filter]\nignore_cols=json:" + json.dumps([{"db": DB, "tb": "t", "ignore_cols": ["nope"]}]),
         f'column "nope" named in ignore_cols of section [filter] does not exist in source table "{DB}"."t"'),
        ("[router]\ncol_map=json:" + json.dumps([{"db": DB, "tb": "t", "col_map": {"nope": "x"}}]),
         f'column "nope" named in col_map of section [router] does not exist in source table "{DB}"."t"'),
        ("[router]\ncol_map=json:" + json.dumps([{"db": DB, "tb": "t", "col_map": {"v": "id"}}]),
         f'columns "id" and "v" of source table "{DB}"."t" would both be target column "id"'),
        ("[filter]\nwhere_conditions=json:" + json.dumps([{"db": DB, "tb": "t", "condition": "nope > 1"}]),
         f'where_conditions of section [filter] for table "{DB}"."t"'),
        # names are exact: a rule for "T" would leave t copied whole
        ("[filter]\nignore_cols=json:" + json.dumps([{"db": DB, "tb": "T", "ignore_cols": ["v"]}]),
         f'table "{DB}"."T" named in ignore_cols does not exist at the source'),
    ]
    for extra, message in cases:
        start(local, task, base(kind) + extra + f"\n[runtime]\nlog_dir={fresh_dir(task)}\n")
        assert wait_state(local, task) == "failed"
        err = one(local, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))[0]
        assert message in err, err
        assert one(local, f"SELECT count(*) FROM pg_namespace WHERE nspname = '{DB}'") == (0,)
    # a rule for a table the filters leave out: a WARNING, the copy goes on
    del local.notices[:]
    rule = json.dumps([{"db": DB, "tb": "t", "condition": "id > 100"}])
    rows = all_rows(local, "SELECT tb, action FROM ape_resume.resume_plan(%s, %s)",
                    (task, base(kind) + f"[filter]\nignore_tbs={DB}.t\nwhere_conditions=json:{rule}\n"))
    assert rows == []
    assert any(f'table "{DB}"."t" named in where_conditions is not copied by this task' in n
               for n in local.notices), local.notices
    drop_task_if_exists(local, task)


# --- rate limits --------------------------------------------------------------

def test_max_rps_limits_the_rows_read_from_the_source(local):
    fresh_mysql(f"""
CREATE TABLE {DB}.t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO {DB}.t SELECT seq, seq FROM seq_1_to_{ROWS}
""")
    pg_exec(local, f"DROP SCHEMA IF EXISTS {DB} CASCADE")
    task = "it_cfg_rps"
    start(local, task, base() + f"[extractor]\nmax_rps=5000\n[runtime]\nlog_dir={fresh_dir(task)}\n")
    assert wait_state(local, task) == "finished"
    secs = one(local, "SELECT extract(epoch FROM finished_at - started_at) FROM ape_resume.tasks"
                      " WHERE name = %s", (task,))[0]
    assert secs >= 3.5, secs
    assert one(local, f"SELECT count(*), sum(v) FROM {DB}.t") == (ROWS, ROWS * (ROWS + 1) // 2)
    drop_task_if_exists(local, task)


# --- a resume must not mix two copies -----------------------------------------

def test_a_resume_under_changed_table_settings_is_refused(local):
    """A task stopped mid-table under where_conditions v < 500: resume_plan
    with a config that changes the condition, ignore_cols, col_map, the
    target or the source says refuse and names the setting; a new task that
    resumes from its log dir with another condition fails naming the table
    and the setting, and writes nothing; with the same settings it resumes,
    every selected row once."""
    fresh_mysql(f"""
CREATE TABLE {DB}.t (id int PRIMARY KEY, v int NOT NULL, w int);
INSERT INTO {DB}.t SELECT seq, seq % 1000, seq FROM seq_1_to_{ROWS}
""")
    slow_target(local, "id int, v int, w int")
    task = "it_cfg_mix"
    log_dir = fresh_dir(task)

    def cfg(where="v < 500", extra="", url=None, log=log_dir, resume=""):
        w = json.dumps([{"db": DB, "tb": "t", "condition": where}])
        return (base(url=url) + f"[sinker]\nbatch_size=50\n[filter]\nwhere_conditions=json:{w}\n"
                + extra + f"[runtime]\nlog_dir={log}\n" + resume)

    start(local, task, cfg())
    stop_mid_table(local, task)
    copied = one(local, f"SELECT count(*) FROM {DB}.t")[0]

    def plan(text):
        return one(local, "SELECT action, note FROM ape_resume.resume_plan(%s, %s) WHERE tb = 't'",
                   (task, text))

    assert plan(cfg())[0] == "resume"
    changes = [
        (cfg(where="v < 600"), 'where_conditions of section [filter] changed since its rows were copied: was "v < 500", is "v < 600"'),
        (cfg(extra="ignore_cols=json:" + json.dumps([{"db": DB, "tb": "t", "ignore_cols": ["w"]}]) + "\n"),
         'ignore_cols of section [filter] changed since its rows were copied: was "", is "w"'),
        (cfg(extra="[router]\ncol_map=json:" + json.dumps([{"db": DB, "tb": "t", "col_map": {"w": "w2"}}]) + "\n"),
         'col_map of section [router] changed'),
        (cfg(extra=f"[router]\ndb_map={DB}:{DB}_b\n"),
         f'target table ([router] db_map, tb_map) changed since its rows were copied: was "{DB}.t", is "{DB}_b.t"'),
        (cfg(url=env("APE_MYSQL_URL").replace("127.0.0.1", "localhost")),
         "source server or database ([extractor] url) changed"),
    ]
    for text, message in changes:
        action, note = plan(text)
        assert action == "refuse" and f'table "{DB}"."t" cannot resume: its ' in note and message in note, note

    # a new task resuming from this one's log dir (and catalog) with another condition
    task2 = "it_cfg_mix2"
    resume = f"[resumer]\nresume_type=from_log\nlog_dir={log_dir}\n"
    start(local, task2, cfg(where="v < 600", log=fresh_dir(task2), resume=resume))
    assert wait_state(local, task2) == "failed"
    err = one(local, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task2,))[0]
    assert f'table "{DB}"."t" cannot resume: its where_conditions of section [filter] changed' in err, err
    assert one(local, f"SELECT count(*) FROM {DB}.t")[0] == copied
    drop_task_if_exists(local, task2)

    # the same settings: it resumes, every selected row once
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
    assert wait_state(local, task, 180) == "finished"
    want = [i for i in range(1, ROWS + 1) if i % 1000 < 500]
    assert one(local, f"SELECT count(*), count(DISTINCT id), sum(id) FROM {DB}.t") == \
        (len(want), len(want), sum(want))
    drop_task_if_exists(local, task)


def test_from_target_resumes_a_new_task_from_the_catalog_of_its_task_id(local):
    """ape-dts keeps positions by [global] task_id with resume_type=
    from_target: a new task of the same task_id (another name, another
    log_dir) takes up where the stopped one left off, from the catalog, and
    copies each remaining row once.  Without from_target, or with another
    task_id, it starts from the beginning (and finds the target not empty)."""
    fresh_mysql(f"""
CREATE TABLE {DB}.t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO {DB}.t SELECT seq, seq FROM seq_1_to_{ROWS}
""")
    slow_target(local, "id int, v int")

    def cfg(task, task_id="orders", resume="[resumer]\nresume_type=from_target\n"):
        return (f"[global]\ntask_id={task_id}\n" + base() + "[sinker]\nbatch_size=50\n"
                + f"[runtime]\nlog_dir={fresh_dir(task)}\n" + resume)

    start(local, "it_cfg_tid_a", cfg("it_cfg_tid_a"))
    stop_mid_table(local, "it_cfg_tid_a")
    value = one(local, "SELECT value FROM ape_resume.progress('it_cfg_tid_a') WHERE tb = 't'")[0]
    assert one(local, "SELECT task_id FROM ape_resume.tasks WHERE name = 'it_cfg_tid_a'") == ("orders",)

    def plan(text):
        return one(local, "SELECT action, value, decided_by FROM ape_resume.resume_plan('it_cfg_tid_b', %s)"
                          " WHERE tb = 't'", (text,))

    assert plan(cfg("it_cfg_tid_b")) == ("resume", value, "catalog")
    assert plan(cfg("it_cfg_tid_b", task_id="other")) == ("full", None, None)
    assert plan(cfg("it_cfg_tid_b", resume="")) == ("full", None, None)

    start(local, "it_cfg_tid_b", cfg("it_cfg_tid_b"))
    # two tasks of one task_id at once would copy the same rows
    with pytest.raises(psycopg2.errors.ObjectInUse) as e:
        start(local, "it_cfg_tid_c", cfg("it_cfg_tid_c"))
    assert 'task "it_cfg_tid_b" of task_id "orders" is running' in str(e.value)
    assert wait_state(local, "it_cfg_tid_b", 180) == "finished"
    assert one(local, f"SELECT count(*), count(DISTINCT id), sum(v) FROM {DB}.t") == \
        (ROWS, ROWS, ROWS * (ROWS + 1) // 2)
    # the older task was taken up: resuming it too would copy rows twice
    with pytest.raises(psycopg2.errors.ObjectNotInPrerequisiteState) as e:
        with local.cursor() as cur:
            cur.execute("SELECT ape_resume.resume_task('it_cfg_tid_a')")
    assert 'the task was taken up by task "it_cfg_tid_b", which resumed from its positions' in str(e.value)
    assert one(local, f"SELECT count(*) FROM {DB}.t") == (ROWS,)
    drop_task_if_exists(local, "it_cfg_tid_b")
    drop_task_if_exists(local, "it_cfg_tid_a")


def test_a_dropped_tasks_log_dir_keeps_the_settings_its_rows_were_copied_under(local):
    """The catalog forgets a dropped task; its log dir's definitions.log
    (one JSON line a table a run) still says what made the rows, so a new
    task resuming from position.log under another where_conditions is
    refused, and under the same one resumes exactly.  A bad line of the
    file is skipped with a WARNING."""
    fresh_mysql(f"""
CREATE TABLE {DB}.t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO {DB}.t SELECT seq, seq % 1000 FROM seq_1_to_{ROWS}
""")
    slow_target(local, "id int, v int")
    log_dir = fresh_dir("it_cfg_defs")

    def cfg(where, resume=""):
        w = json.dumps([{"db": DB, "tb": "t", "condition": where}])
        return (base() + f"[sinker]\nbatch_size=50\n[filter]\nwhere_conditions=json:{w}\n"
                + f"[runtime]\nlog_dir={log_dir}\n" + resume)

    start(local, "it_cfg_defs", cfg("v < 500"))
    stop_mid_table(local, "it_cfg_defs")
    drop_task_if_exists(local, "it_cfg_defs")
    with open(os.path.join(log_dir, "definitions.log")) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    assert lines == [{"schema": DB, "tb": "t", "source": f"mysql://127.0.0.1:{env('APE_MYSQL_PORT')}",
                      "where_conditions": "v < 500", "ignore_cols": "", "col_map": "",
                      "target": f"{DB}.t"}]
    with open(os.path.join(log_dir, "definitions.log"), "a") as f:
        f.write('{"schema": "x", "tb": \n')
    resume = "[resumer]\nresume_type=from_log\n"
    del local.notices[:]
    action, decided_by, note = one(
        local, "SELECT action, decided_by, note FROM ape_resume.resume_plan('it_cfg_defs', %s)"
               " WHERE tb = 't'", (cfg("v < 600", resume),))
    assert (action, decided_by) == ("refuse", "position.log")
    assert f'table "{DB}"."t" cannot resume: its where_conditions of section [filter] changed' in note
    assert any("line 2 of" in n and "definitions.log" in n and "skipped" in n for n in local.notices), local.notices

    start(local, "it_cfg_defs", cfg("v < 600", resume))
    assert wait_state(local, "it_cfg_defs") == "failed"
    err = one(local, "SELECT last_error FROM ape_resume.tasks WHERE name = 'it_cfg_defs'")[0]
    assert "cannot resume: its where_conditions" in err, err
    # a run under the new condition that does not resume fails on the
    # target's rows: its settings are not those of the rows, and a resume
    # under them is still refused
    start(local, "it_cfg_defs", cfg("v < 600"))
    assert wait_state(local, "it_cfg_defs") == "failed"
    err = one(local, "SELECT last_error FROM ape_resume.tasks WHERE name = 'it_cfg_defs'")[0]
    assert f'target table "{DB}"."t" is not empty' in err, err
    start(local, "it_cfg_defs", cfg("v < 600", resume))
    assert wait_state(local, "it_cfg_defs") == "failed"
    err = one(local, "SELECT last_error FROM ape_resume.tasks WHERE name = 'it_cfg_defs'")[0]
    assert "cannot resume: its where_conditions" in err, err

    start(local, "it_cfg_defs", cfg("v < 500", resume))
    assert wait_state(local, "it_cfg_defs", 180) == "finished"
    want = [i for i in range(1, ROWS + 1) if i % 1000 < 500]
    assert one(local, f"SELECT count(*), count(DISTINCT id), sum(id) FROM {DB}.t") == \
        (len(want), len(want), sum(want))
    drop_task_if_exists(local, "it_cfg_defs")


def test_max_rps_is_the_sum_over_the_tasks_workers(local):
    """Two tables copied at once by two workers: together they read no
    faster than max_rps (each alone at the limit would take half the time)."""
    half = ROWS // 2
    fresh_mysql(f"""
CREATE TABLE {DB}.a (id int PRIMARY KEY, v int NOT NULL);
CREATE TABLE {DB}.b (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO {DB}.a SELECT seq, seq FROM seq_1_to_{half};
INSERT INTO {DB}.b SELECT seq, seq FROM seq_1_to_{half}
""")
    pg_exec(local, f"DROP SCHEMA IF EXISTS {DB} CASCADE")
    task = "it_cfg_rps2"
    start(local, task, base() + f"[extractor]\nmax_rps=5000\nparallel_size=2\n"
          f"[runtime]\nlog_dir={fresh_dir(task)}\n")
    assert wait_state(local, task) == "finished"
    secs = one(local, "SELECT extract(epoch FROM finished_at - started_at) FROM ape_resume.tasks"
                      " WHERE name = %s", (task,))[0]
    assert secs >= 3.5, secs
    for tb in ("a", "b"):
        assert one(local, f"SELECT count(*), sum(v) FROM {DB}.{tb}") == (half, half * (half + 1) // 2)
    drop_task_if_exists(local, task)


def test_a_task_another_resumed_from_does_not_resume_too(local):
    """b resumes from a's log dir, and so from a's catalog positions; a's
    own positions are then behind the target's rows: resume_task(a) is
    refused naming b, and the target keeps every row once."""
    fresh_mysql(f"""
CREATE TABLE {DB}.t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO {DB}.t SELECT seq, seq FROM seq_1_to_{ROWS}
""")
    slow_target(local, "id int, v int")
    log_a = fresh_dir("it_cfg_take_a")
    start(local, "it_cfg_take_a", base() + f"[sinker]\nbatch_size=50\n[runtime]\nlog_dir={log_a}\n")
    stop_mid_table(local, "it_cfg_take_a")
    start(local, "it_cfg_take_b", base() + f"[sinker]\nbatch_size=50\n[runtime]\n"
          f"log_dir={fresh_dir('it_cfg_take_b')}\n[resumer]\nresume_type=from_log\nlog_dir={log_a}\n")
    assert wait_state(local, "it_cfg_take_b", 180) == "finished"
    with pytest.raises(psycopg2.errors.ObjectNotInPrerequisiteState) as e:
        with local.cursor() as cur:
            cur.execute("SELECT ape_resume.resume_task('it_cfg_take_a')")
    assert 'the task was taken up by task "it_cfg_take_b"' in str(e.value)
    assert one(local, f"SELECT count(*), count(DISTINCT id), sum(v) FROM {DB}.t") == \
        (ROWS, ROWS, ROWS * (ROWS + 1) // 2)
    drop_task_if_exists(local, "it_cfg_take_b")
    drop_task_if_exists(local, "it_cfg_take_a")


def test_stop_task_ends_a_rate_limited_wait(local):
    """At max_rps=100 a 10,000-row batch takes 100 s; stop_task does not wait
    for it: the wait ends, the batch commits what it read, and the resumed
    task (without the limit) copies every row once."""
    fresh_mysql(f"""
CREATE TABLE {DB}.t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO {DB}.t SELECT seq, seq FROM seq_1_to_{ROWS}
""")
    pg_exec(local, f"DROP SCHEMA IF EXISTS {DB} CASCADE")
    task = "it_cfg_rps_stop"
    start(local, task, base() + f"[extractor]\nmax_rps=100\n[runtime]\nlog_dir={fresh_dir(task)}\n")
    deadline = time.time() + 30
    while one(local, "SELECT state FROM ape_resume.tasks WHERE name = %s", (task,))[0] != "running":
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(1)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.stop_task(%s)", (task,))
    assert wait_state(local, task, 60) == "stopped"
    copied = one(local, f"SELECT count(*) FROM {DB}.t")[0]
    assert 0 < copied < 10000, copied
    with local.cursor() as cur:
        cur.execute("UPDATE ape_resume.task SET config = replace(config, 'max_rps=100', 'max_rps=0')"
                    " WHERE name = %s", (task,))
        cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
    assert wait_state(local, task, 120) == "finished"
    assert one(local, f"SELECT count(*), count(DISTINCT id), sum(v) FROM {DB}.t") == \
        (ROWS, ROWS, ROWS * (ROWS + 1) // 2)
    drop_task_if_exists(local, task)
