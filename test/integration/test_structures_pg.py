"""PostgreSQL source: the schema after the data.  A schema with every kind
of object pg_dump recreates (indexes of every access method, partial,
expression and INCLUDE indexes, checks, exclusion and foreign-key
constraints, defaults, serial and shared sequences, identity and generated
columns, comments) is copied; then pg_dump --schema-only of the copied
tables on both sides is the same (owners and column order aside), the
sequences are where the source's are, and the target behaves like the
source: an INSERT without the id gets the source's next value, a row that
breaks a foreign key, a CHECK or an exclusion constraint is refused, a
generated column is computed.  Then what is not copied (views, routines,
triggers, types) is listed, and a worker killed during an index build
leaves the object for the resume, which makes every object once."""
import os
import re
import signal
import subprocess
import time

import psycopg2
import pytest

from conftest import env, fresh_dir, wait_state, drop_task_if_exists, connect_local, one, rows

SCHEMA = "it_st_pg"

SOURCE_DDL = f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
SET search_path = {SCHEMA};
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE parent (id serial PRIMARY KEY, code text NOT NULL UNIQUE,
                     note text DEFAULT 'n/a', born date DEFAULT CURRENT_DATE);
COMMENT ON TABLE parent IS 'the parents, it''s "quoted"';
COMMENT ON COLUMN parent.code IS 'a code';
CREATE TABLE child (
  id bigint GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 5) PRIMARY KEY,
  parent_id int NOT NULL REFERENCES parent(id) ON DELETE CASCADE ON UPDATE RESTRICT,
  qty int NOT NULL DEFAULT 1 CONSTRAINT qty_positive CHECK (qty >= 0),
  price numeric(10,2),
  total numeric GENERATED ALWAYS AS (qty * price) STORED,
  tags text[] DEFAULT '{{}}',
  body jsonb,
  created timestamptz NOT NULL DEFAULT now(),
  period tsrange,
  m mood,
  EXCLUDE USING gist (period WITH &&)
);
CREATE INDEX child_qty_partial ON child (qty) WHERE qty > 10;
CREATE INDEX child_lower_expr ON child (lower(body ->> 'name') DESC NULLS FIRST);
CREATE INDEX child_body_gin ON child USING gin (body jsonb_path_ops);
CREATE INDEX child_brin ON child USING brin (created);
CREATE INDEX child_hash ON child USING hash (price);
CREATE INDEX child_incl ON child (parent_id) INCLUDE (qty);
CREATE INDEX child_coll ON child ((body ->> 'name') COLLATE "C" text_pattern_ops);
CREATE UNIQUE INDEX child_uq_partial ON child (parent_id, qty) WHERE qty > 100;
CREATE SEQUENCE shared_seq START 1000 INCREMENT 10;
CREATE TABLE other (id int PRIMARY KEY DEFAULT nextval('shared_seq'), v text,
                    parent_code text REFERENCES parent(code));
INSERT INTO parent (code) SELECT 'p' || g FROM generate_series(1, 5) g;
INSERT INTO child (parent_id, qty, price, body, period, m)
SELECT 1 + g % 5, g, g / 4.0, jsonb_build_object('name', 'n' || g),
       tsrange('2024-01-01'::timestamp + g * interval '1 day', '2024-01-01'::timestamp + (g + 1) * interval '1 day'),
       'ok'
  FROM generate_series(1, 200) g;
INSERT INTO other (v, parent_code) VALUES ('x', 'p1'), ('y', 'p2');
SELECT setval('shared_seq', 5000);
ALTER TABLE child ADD CONSTRAINT child_price_check CHECK (price IS NULL OR price < 1000) NOT VALID;
CREATE VIEW v_child AS SELECT id, qty FROM child;
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION trgf() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER trg BEFORE INSERT ON child FOR EACH ROW EXECUTE FUNCTION trgf();
"""

TABLES = ("parent", "child", "other")


def config(log_dir, extra=""):
    return f"""
[extractor]
db_type=pg
url={env('APE_PGSRC_URL')}
batch_size=50
[filter]
do_dbs={SCHEMA}
{extra}
[runtime]
log_dir={log_dir}
"""


def dump(url_args, tb):
    """pg_dump --schema-only of one table, as comparable lines: no owners,
    comments, SET lines or \\restrict keys, a column's trailing comma
    dropped (a generated column is added last at the target), sorted."""
    out = subprocess.run(["pg_dump", "--schema-only", "--no-owner", "--no-privileges",
                          "-t", f"{SCHEMA}.{tb}", *url_args],
                         check=True, capture_output=True, text=True).stdout
    lines = []
    for line in out.splitlines():
        if (not line.strip() or line.startswith("--") or line.startswith("SET ")
                or line.startswith("SELECT pg_catalog.set_config") or line.startswith("\\")):
            continue
        lines.append(line.rstrip(","))
    return sorted(lines)


SOURCE_DUMP_ARGS = [env("APE_PGSRC_URL")] if os.environ.get("APE_PGSRC_URL") else []


def target_dump_args():
    return ["-h", env("PGHOST"), "-p", env("PGPORT"), "-U", env("PGUSER"), env("PGDATABASE")]


@pytest.fixture(scope="module")
def copied():
    src = psycopg2.connect(env("APE_PGSRC_URL").replace("postgres://", "postgresql://"))
    src.autocommit = True
    with src.cursor() as cur:
        cur.execute(SOURCE_DDL)
    local = connect_local()
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    drop_task_if_exists(local, "it_st_pg")
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task('it_st_pg', %s)", (config(fresh_dir("it_st_pg")),))
    assert wait_state(local, "it_st_pg", 120) == "finished", rows(
        local, "SELECT last_error FROM ape_resume.tasks WHERE name = 'it_st_pg'")
    yield src, local
    local.close()
    src.close()
    # a later test may have restarted the server (a crash)
    local = connect_local()
    drop_task_if_exists(local, "it_st_pg")
    local.close()


def test_pg_dump_of_the_copied_tables_is_the_sources(copied):
    src, local = copied
    for tb in TABLES:
        source = dump([env("APE_PGSRC_URL")], tb)
        target = dump(target_dump_args(), tb)
        # the trigger is listed, not created
        source = [l for l in source if not l.startswith("CREATE TRIGGER")]
        assert target == source, (tb, sorted(set(source) ^ set(target)))


def test_every_object_is_done_or_listed(copied):
    src, local = copied
    got = {(r[0], r[1], r[2]): r[3] for r in rows(
        local, "SELECT coalesce(tb, ''), kind, name, state FROM ape_resume.structures "
               "WHERE task_name = 'it_st_pg'")}
    done = {k for k, v in got.items() if v == "done"}
    assert done == {
        ("parent", "sequence", "parent_id_seq"), ("parent", "default", "id"),
        ("parent", "default", "note"), ("parent", "default", "born"),
        ("parent", "comment", "parent"), ("parent", "comment", "parent.code"),
        ("parent", "sequence_value", "parent_id_seq"),
        ("child", "identity", "id"), ("child", "sequence_value", "child_id_seq"), ("child", "default", "qty"), ("child", "generated", "total"),
        ("child", "default", "tags"), ("child", "default", "created"),
        ("child", "index", "child_qty_partial"), ("child", "index", "child_lower_expr"),
        ("child", "index", "child_body_gin"), ("child", "index", "child_brin"),
        ("child", "index", "child_hash"), ("child", "index", "child_incl"),
        ("child", "index", "child_coll"), ("child", "index", "child_uq_partial"),
        ("child", "check", "qty_positive"), ("child", "check", "child_price_check"),
        ("child", "exclusion", "child_period_excl"), ("child", "foreign_key", "child_parent_id_fkey"),
        ("other", "sequence", "shared_seq"), ("other", "default", "id"),
        ("other", "sequence_value", "shared_seq"), ("other", "foreign_key", "other_parent_code_fkey"),
        ("", "type", "mood"),
    }, sorted(set(got) - done)
    not_copied = {k for k, v in got.items() if v == "not_copied"}
    assert not_copied == {("", "view", "v_child"), ("", "function", "f()"),
                          ("", "function", "trgf()"), ("child", "trigger", "trg")}
    assert one(local, "SELECT state, structures_failed, structures_not_copied FROM ape_resume.tasks "
                      "WHERE name = 'it_st_pg'") == ("finished", 0, 4)
    # the source's NOT VALID check stays not validated, the others are
    assert rows(local, "SELECT conname, convalidated FROM pg_constraint WHERE contype = 'c' "
                       "AND conrelid = %s::regclass ORDER BY 1", (f"{SCHEMA}.child",)) == \
        [("child_price_check", False), ("qty_positive", True)]


def test_sequences_are_where_the_sources_are(copied):
    src, local = copied
    q = ("SELECT sequencename, last_value, start_value, increment_by, min_value, max_value, cache_size, cycle "
         "FROM pg_sequences WHERE schemaname = %s ORDER BY 1")
    assert rows(local, q, (SCHEMA,)) == rows(src, q, (SCHEMA,))
    # the next INSERT without an id gets what the source would give
    for tb, cols, vals in (("parent", "code", "'new'"), ("other", "v", "'z'"),
                           ("child", "parent_id, qty, price", "1, 3, 1.5")):
        sql = f"INSERT INTO {SCHEMA}.{tb} ({cols}) VALUES ({vals}) RETURNING id"
        with src.cursor() as s, local.cursor() as t:
            s.execute("BEGIN")
            s.execute(sql)
            want = s.fetchone()
            s.execute("ROLLBACK")
            t.execute("BEGIN")
            t.execute(sql)
            assert t.fetchone() == want, tb
            t.execute("ROLLBACK")


def test_the_target_behaves_like_the_source(copied):
    src, local = copied
    with local.cursor() as cur:
        # generated column computed
        cur.execute(f"SELECT total FROM {SCHEMA}.child WHERE qty = 8")
        assert cur.fetchone()[0] == 16
        for sql, err in (
                (f"INSERT INTO {SCHEMA}.child (parent_id, qty) VALUES (999, 1)",
                 psycopg2.errors.ForeignKeyViolation),
                (f"INSERT INTO {SCHEMA}.child (parent_id, qty) VALUES (1, -1)",
                 psycopg2.errors.CheckViolation),
                (f"INSERT INTO {SCHEMA}.child (parent_id, qty, period) VALUES "
                 f"(1, 1, '[2024-01-02 12:00,2024-01-03)')", psycopg2.errors.ExclusionViolation),
                (f"INSERT INTO {SCHEMA}.child (id, parent_id, qty) VALUES (1, 1, 1)",
                 psycopg2.errors.GeneratedAlways),
                (f"INSERT INTO {SCHEMA}.other (v, parent_code) VALUES ('q', 'nope')",
                 psycopg2.errors.ForeignKeyViolation)):
            cur.execute("BEGIN")
            with pytest.raises(err):
                cur.execute(sql)
            cur.execute("ROLLBACK")
        # ON DELETE CASCADE
        cur.execute("BEGIN")
        cur.execute(f"DELETE FROM {SCHEMA}.parent WHERE id = 2 AND NOT EXISTS "
                    f"(SELECT 1 FROM {SCHEMA}.other WHERE parent_code = 'p2')")
        cur.execute(f"DELETE FROM {SCHEMA}.other WHERE parent_code = 'p2'")
        cur.execute(f"DELETE FROM {SCHEMA}.parent WHERE id = 2")
        cur.execute(f"SELECT count(*) FROM {SCHEMA}.child WHERE parent_id = 2")
        assert cur.fetchone()[0] == 0
        cur.execute("ROLLBACK")
    # the data is the source's, the generated column too
    q = f"SELECT id, parent_id, qty, price, total, body::text FROM {SCHEMA}.child ORDER BY id"
    assert rows(local, q) == rows(src, q)


def test_resume_plan_shows_the_objects_with_their_ddl(copied):
    src, local = copied
    plan = rows(local, "SELECT tb, kind, name, action, decided_by, ddl FROM ape_resume.resume_plan('it_st_pg') "
                       "WHERE kind = 'index' AND name = 'child_incl'")
    assert plan == [("child", "index", "child_incl", "done", "catalog",
                     f"CREATE INDEX child_incl ON {SCHEMA}.child USING btree (parent_id) INCLUDE (qty)")]
    # a new task into another schema: planned from the source, on the routed names
    plan = rows(local, "SELECT tb, kind, name, action, ddl FROM ape_resume.resume_plan('it_st_pg_plan', %s) "
                       "WHERE kind IN ('index', 'foreign_key') AND tb = 'other' OR name = 'child_hash' "
                       "ORDER BY name",
                (config(fresh_dir("it_st_pg_plan"), f"[router]\ndb_map={SCHEMA}:it_st_pg_routed"),))
    assert plan == [
        ("child", "index", "child_hash", "create",
         "CREATE INDEX child_hash ON it_st_pg_routed.child USING hash (price)"),
        ("other", "foreign_key", "other_parent_code_fkey", "create",
         "ALTER TABLE it_st_pg_routed.other ADD CONSTRAINT other_parent_code_fkey FOREIGN KEY (parent_code) "
         "REFERENCES it_st_pg_routed.parent(code) NOT VALID;\n"
         "ALTER TABLE it_st_pg_routed.other VALIDATE CONSTRAINT other_parent_code_fkey")]


KILL_SCHEMA = "it_st_pg_kill"


def test_a_worker_killed_during_an_index_build_resumes_and_makes_every_object_once():
    """A table big enough that its index builds take a while: the worker is
    SIGKILLed while it builds one (the server restarts after the crash),
    the launcher resumes the task, and every object exists once."""
    src = psycopg2.connect(env("APE_PGSRC_URL").replace("postgres://", "postgresql://"))
    src.autocommit = True
    with src.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {KILL_SCHEMA} CASCADE")
        cur.execute(f"CREATE SCHEMA {KILL_SCHEMA}")
        cur.execute(f"CREATE TABLE {KILL_SCHEMA}.big (id int PRIMARY KEY, a int, b text, j jsonb)")
        cur.execute(f"INSERT INTO {KILL_SCHEMA}.big SELECT g, g % 1000, md5(g::text), "
                    f"jsonb_build_object('k', g, 'v', md5(g::text)) FROM generate_series(1, 300000) g")
        for n, d in (("big_a", "(a)"), ("big_b", "(b)"), ("big_j", "USING gin (j)"), ("big_ab", "(a, b)")):
            cur.execute(f"CREATE INDEX {n} ON {KILL_SCHEMA}.big {d}")
    src.close()
    local = connect_local()
    task = "it_st_pg_kill"
    drop_task_if_exists(local, task)
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {KILL_SCHEMA} CASCADE")
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, f"""
[extractor]
db_type=pg
url={env('APE_PGSRC_URL')}
[filter]
do_dbs={KILL_SCHEMA}
[runtime]
log_dir={fresh_dir(task)}
"""))
    deadline = time.time() + 120
    pid = None
    while time.time() < deadline and pid is None:
        with local.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'ape_resume task' "
                        "AND query LIKE 'CREATE INDEX big_%%'")
            r = cur.fetchone()
            pid = r[0] if r else None
        time.sleep(0.01)
    assert pid is not None, "no index build was seen"
    with local.cursor() as cur:
        cur.execute("SELECT count(*) FROM ape_resume.structures WHERE task_name = %s AND state = 'done'",
                    (task,))
        done_before = cur.fetchone()[0]
    os.kill(pid, signal.SIGKILL)
    local.close()
    time.sleep(1)
    local = connect_local()
    state = wait_state(local, task, 180)
    assert state == "finished", rows(local, "SELECT state, last_error FROM ape_resume.tasks WHERE name = %s",
                                     (task,))
    assert done_before < 4
    assert rows(local, "SELECT name, state FROM ape_resume.structures WHERE task_name = %s ORDER BY 1",
                (task,)) == [(n, "done") for n in ("big_a", "big_ab", "big_b", "big_j")]
    # every index exists once, valid
    assert rows(local, "SELECT indexrelid::regclass::text, indisvalid FROM pg_index "
                       "WHERE indrelid = %s::regclass ORDER BY 1", (f"{KILL_SCHEMA}.big",)) == [
        (f"{KILL_SCHEMA}.{n}", True) for n in ("big_a", "big_ab", "big_b", "big_j", "big_pkey")]
    assert one(local, f"SELECT count(*), sum(id), sum(a) FROM {KILL_SCHEMA}.big") == \
        (300000, 45000150000, sum(g % 1000 for g in range(1, 300001)))
    drop_task_if_exists(local, task)
    local.close()


HOSTILE = "it_st_pg_hostile"


def run_task_on(local, task, schema, extra="", timeout=120):
    drop_task_if_exists(local, task)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, f"""
[extractor]
db_type=pg
url={env('APE_PGSRC_URL')}
[filter]
do_dbs={schema}
{extra}
[runtime]
log_dir={fresh_dir(task)}
"""))
    state = wait_state(local, task, timeout)
    return state, one(local, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))[0]


def objects(local, task):
    return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows(
        local, "SELECT coalesce(tb, ''), kind, name, state, error FROM ape_resume.structures "
               "WHERE task_name = %s", (task,))}


def test_what_a_source_cannot_make_the_target_run(pgsrc, local):
    """Expressions from the source's catalog run as the task's owner: only
    pg_catalog's functions that are not volatile may be in them.  A check
    calling a volatile function (lo_from_bytea writes a large object), one
    calling a function of the source's schema, an index on such a function
    are listed as not copied, and run nothing; a sequence of the target
    that the task did not make is neither taken over nor set; a foreign
    key to a table the task does not copy (a partition) is not copied and
    the task finishes."""
    with pgsrc.cursor() as cur:
        cur.execute(f"""
DROP SCHEMA IF EXISTS {HOSTILE} CASCADE;
CREATE SCHEMA {HOSTILE};
CREATE FUNCTION {HOSTILE}.f(i int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT i';
CREATE SEQUENCE {HOSTILE}.victim_seq;
CREATE TABLE {HOSTILE}.parts (id int, k int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE {HOSTILE}.p1 PARTITION OF {HOSTILE}.parts FOR VALUES IN (1);
CREATE TABLE {HOSTILE}.t (id int PRIMARY KEY, v int DEFAULT nextval('{HOSTILE}.victim_seq'),
    pid int, pk int,
    CONSTRAINT c_volatile CHECK (CASE WHEN current_setting('port') = '{env('APE_PGSRC_PORT')}' THEN 1
                                      ELSE lo_from_bytea(0, 'planted')::int END > 0),
    CONSTRAINT c_user CHECK ({HOSTILE}.f(id) > 0),
    CONSTRAINT c_fine CHECK (pg_catalog.abs(id) < 1000),
    CONSTRAINT fk_partition FOREIGN KEY (pid, pk) REFERENCES {HOSTILE}.p1 (id, k));
CREATE INDEX t_user ON {HOSTILE}.t ({HOSTILE}.f(v));
INSERT INTO {HOSTILE}.p1 VALUES (1, 1);
INSERT INTO {HOSTILE}.t (id, pid, pk) SELECT g, 1, 1 FROM generate_series(1, 10) g;
""")
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {HOSTILE} CASCADE")
        # the target has a sequence of that name, not the task's
        cur.execute(f"CREATE SCHEMA {HOSTILE}")
        cur.execute(f"CREATE SEQUENCE {HOSTILE}.victim_seq")
        cur.execute(f"SELECT setval('{HOSTILE}.victim_seq', 1000000)")
        cur.execute("SELECT count(*) FROM pg_largeobject_metadata")
        large_objects = cur.fetchone()[0]
    # p1 is a partition: the task copies parts, not p1
    state, error = run_task_on(local, HOSTILE, HOSTILE)
    assert state == "finished", error
    got = objects(local, HOSTILE)
    assert got[("t", "check", "c_volatile")][0] == "not_copied"
    assert "volatile function lo_from_bytea" in got[("t", "check", "c_volatile")][1]
    assert got[("t", "check", "c_user")][0] == "not_copied"
    assert f"function {HOSTILE}.f, which is not one of pg_catalog's" in got[("t", "check", "c_user")][1]
    assert got[("t", "index", "t_user")][0] == "not_copied"
    assert got[("t", "check", "c_fine")] == ("done", None)
    assert got[("t", "foreign_key", "fk_partition")][0] == "not_copied"
    assert f'references table "{HOSTILE}"."p1", which the task does not copy' in \
        got[("t", "foreign_key", "fk_partition")][1]
    for kind in ("sequence", "sequence_value"):
        assert got[("t", kind, "victim_seq")][0] == "not_copied", got
        assert "is there already, and this task did not make it" in got[("t", kind, "victim_seq")][1]
    assert got[("t", "default", "v")][0] == "not_copied"
    with local.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_largeobject_metadata")
        assert cur.fetchone()[0] == large_objects
        cur.execute(f"SELECT last_value, is_called FROM {HOSTILE}.victim_seq")
        assert cur.fetchone() == (1000000, True)
        cur.execute(f"SELECT conname FROM pg_constraint WHERE conrelid = '{HOSTILE}.t'::regclass "
                    f"ORDER BY 1")
        assert [r[0] for r in cur.fetchall()] == ["c_fine", "t_pkey"]
    drop_task_if_exists(local, HOSTILE)


SEQS = "it_st_pg_seqs"


def test_sequences_follow_the_data_routed_and_descending(pgsrc, local):
    """A serial whose source sequence is behind the column's data (rows
    inserted with explicit ids) is set past the data; an identity counting
    down gets the source's next value; with tb_map into another schema the
    table's sequences go with it; do_structures=table,index still makes the
    generated column (part of the table) and leaves the serial's default
    out (it needs the sequence kind)."""
    with pgsrc.cursor() as cur:
        cur.execute(f"""
DROP SCHEMA IF EXISTS {SEQS} CASCADE;
CREATE SCHEMA {SEQS};
CREATE TABLE {SEQS}.up (id serial PRIMARY KEY, g int GENERATED ALWAYS AS (id * 2) STORED);
INSERT INTO {SEQS}.up DEFAULT VALUES;
INSERT INTO {SEQS}.up (id) SELECT generate_series(2, 51);
CREATE TABLE {SEQS}.down (id int GENERATED BY DEFAULT AS IDENTITY (START WITH -1 INCREMENT BY -1
    MAXVALUE -1) PRIMARY KEY, v text);
INSERT INTO {SEQS}.down (v) SELECT 'x' FROM generate_series(1, 5);
""")
        cur.execute(f"SELECT last_value FROM {SEQS}.up_id_seq")
        assert cur.fetchone()[0] == 1    # behind the data: the next INSERT would collide
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {SEQS} CASCADE")
        cur.execute(f"DROP SCHEMA IF EXISTS {SEQS}_moved CASCADE")
        cur.execute(f"CREATE SCHEMA {SEQS}_moved")
    state, error = run_task_on(local, SEQS, SEQS,
                               f"[router]\ntb_map={SEQS}.up:{SEQS}_moved.up,{SEQS}.down:{SEQS}_moved.down")
    assert state == "finished", error
    with local.cursor() as cur:
        cur.execute(f"INSERT INTO {SEQS}_moved.up DEFAULT VALUES RETURNING id, g")
        assert cur.fetchone() == (52, 104)
        cur.execute(f"INSERT INTO {SEQS}_moved.down (v) VALUES ('y') RETURNING id")
        assert cur.fetchone()[0] == -6
        cur.execute(f"SELECT pg_get_serial_sequence('{SEQS}_moved.up', 'id'), "
                    f"pg_get_serial_sequence('{SEQS}_moved.down', 'id')")
        assert cur.fetchone() == (f"{SEQS}_moved.up_id_seq", f"{SEQS}_moved.down_id_seq")
    # table and index only: the generated column is still made, the serial's default is not
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {SEQS} CASCADE")
    state, error = run_task_on(local, SEQS + "_ti", SEQS, "do_structures=table,index")
    assert state == "finished", error
    assert {(k[1], k[2]) for k, v in objects(local, SEQS + "_ti").items()} == {("generated", "g")}
    with local.cursor() as cur:
        cur.execute(f"SELECT g FROM {SEQS}.up WHERE id = 7")
        assert cur.fetchone()[0] == 14
        cur.execute(f"SELECT column_default FROM information_schema.columns "
                    f"WHERE table_schema = '{SEQS}' AND table_name = 'up' AND column_name = 'id'")
        assert cur.fetchone()[0] is None
    for task in (SEQS, SEQS + "_ti"):
        drop_task_if_exists(local, task)


TYPES = "it_st_pg_types"


def test_the_sources_types_are_made_before_their_tables(pgsrc, local):
    """Enums, domains (with their checks, default and NOT NULL), composite
    and range types the copied tables use are made at the target, in the
    order they need, before the tables, which then have them: pg_dump of
    the schema is the source's, the values are the same, and the target
    refuses what the source refuses.  Two tables on two workers share a
    type, made once.  A type of that name already at the target that the
    task did not make is not used: its column keeps the mapping."""
    with pgsrc.cursor() as cur:
        cur.execute(f"""
DROP SCHEMA IF EXISTS {TYPES} CASCADE;
CREATE SCHEMA {TYPES};
SET search_path = {TYPES};
CREATE TYPE mood AS ENUM ('sad', 'ok', 'it''s "fine"');
CREATE DOMAIN happy AS mood DEFAULT 'ok' NOT NULL CONSTRAINT not_sad CHECK (VALUE <> 'sad');
CREATE DOMAIN short AS varchar(8) CHECK (char_length(VALUE) > 1);
CREATE TYPE pair AS (m mood, s short, n numeric(5,2));
CREATE TYPE floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
CREATE TYPE taken AS ENUM ('x', 'y');
CREATE TABLE a (id int PRIMARY KEY, m mood, h happy, p pair, r floatrange, ms mood[], k taken);
CREATE COLLATION only_here (provider = icu, locale = 'de-u-ks-level2');
CREATE TABLE b (id int PRIMARY KEY, m mood DEFAULT 'ok', s short, c text COLLATE "C",
                u text COLLATE only_here);
INSERT INTO a SELECT g, (ARRAY['sad','ok','it''s "fine"'])[1 + g % 3]::mood, 'ok',
    ROW('ok', 'ab' || g, g / 7.0)::pair, floatrange(g, g + 0.5), ARRAY['ok', 'sad']::mood[], 'x'
  FROM generate_series(1, 300) g;
INSERT INTO b SELECT g, 'sad', 'xy' || g, 'c' || g, 'u' || g FROM generate_series(1, 300) g;
SET search_path = DEFAULT;
""")
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {TYPES} CASCADE")
        cur.execute(f"CREATE SCHEMA {TYPES}")
        cur.execute(f"CREATE TYPE {TYPES}.taken AS ENUM ('x', 'y', 'z')")
    state, error = run_task_on(local, TYPES, TYPES, "[parallelizer]\nparallel_size=2")
    assert state == "finished", error
    got = objects(local, TYPES)
    for name in ("mood", "happy", "short", "pair", "floatrange"):
        assert got[("", "type", name)] == ("done", None), (name, got)
    # a column collation the target has is kept, one it lacks is listed
    assert got[("b", "collation", "u")][0] == "not_copied"
    assert f"collation {TYPES}.only_here is not at the target" in got[("b", "collation", "u")][1]
    assert rows(local, "SELECT attname, collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation "
                       "WHERE attrelid = %s::regclass AND attname IN ('c', 'u') ORDER BY 1",
                (f"{TYPES}.b",)) == [("c", "C"), ("u", "default")]
    assert got[("", "type", "taken")][0] == "not_copied"
    assert "is there already, and this task did not make it" in got[("", "type", "taken")][1]
    with local.cursor() as cur:
        cur.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                    "WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum", (f"{TYPES}.a",))
        assert cur.fetchall() == [("id", "integer"), ("m", f"{TYPES}.mood"), ("h", f"{TYPES}.happy"),
                                  ("p", f"{TYPES}.pair"), ("r", f"{TYPES}.floatrange"),
                                  ("ms", f"{TYPES}.mood[]"), ("k", "text")]
    # the types' definitions are the source's
    def types_dump(args):
        out = subprocess.run(["pg_dump", "--schema-only", "--no-owner", "-n", TYPES, *args],
                             check=True, capture_output=True, text=True).stdout
        blocks = [b.strip() for b in out.split(";") if "CREATE TYPE" in b or "CREATE DOMAIN" in b]
        return sorted(b[b.index("CREATE"):] for b in blocks if "taken" not in b)
    assert types_dump(target_dump_args()) == types_dump([env("APE_PGSRC_URL")])
    for tb in ("a", "b"):
        q = f"SELECT t::text FROM {TYPES}.{tb} t ORDER BY id"
        assert rows(local, q) == rows(pgsrc, q)
    with local.cursor() as cur:
        for sql, err in ((f"INSERT INTO {TYPES}.a (id, m) VALUES (1000, 'angry')",
                          psycopg2.errors.InvalidTextRepresentation),
                         (f"INSERT INTO {TYPES}.a (id, h) VALUES (1000, 'sad')", psycopg2.errors.CheckViolation),
                         (f"INSERT INTO {TYPES}.b (id, s) VALUES (1000, 'x')", psycopg2.errors.CheckViolation)):
            cur.execute("BEGIN")
            with pytest.raises(err):
                cur.execute(sql)
            cur.execute("ROLLBACK")
        cur.execute("BEGIN")
        cur.execute(f"INSERT INTO {TYPES}.a (id) VALUES (1000) RETURNING h")
        assert cur.fetchone()[0] == "ok"      # the domain's default
        cur.execute(f"INSERT INTO {TYPES}.b (id) VALUES (1000) RETURNING m")
        assert cur.fetchone()[0] == "ok"      # the column's default, a cast to the type made
        cur.execute("ROLLBACK")
    drop_task_if_exists(local, TYPES)


def test_a_resumed_run_knows_the_types_its_task_made(pgsrc, local):
    """The types are made by the first run; the table's default, a cast to
    one of them, is made by a later run (after a stop), in another worker
    process: it knows the types its task made."""
    schema = TYPES + "_resume"
    task = schema
    with pgsrc.cursor() as cur:
        cur.execute(f"""
DROP SCHEMA IF EXISTS {schema} CASCADE;
CREATE SCHEMA {schema};
CREATE TYPE {schema}.mood AS ENUM ('sad', 'ok');
CREATE TABLE {schema}.t (id int PRIMARY KEY, m {schema}.mood DEFAULT 'ok');
INSERT INTO {schema}.t SELECT g, 'sad' FROM generate_series(1, 600) g;
""")
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    drop_task_if_exists(local, task)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, f"""
[extractor]
db_type=pg
url={env('APE_PGSRC_URL')}
max_rps=300
[sinker]
batch_size=50
[filter]
do_dbs={schema}
[runtime]
log_dir={fresh_dir(task)}
"""))
    deadline = time.time() + 30
    while time.time() < deadline:
        r = one(local, "SELECT rows_copied FROM ape_resume.progress WHERE task_name = %s", (task,))
        if r and r[0] >= 100:
            break
        time.sleep(0.05)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.stop_task(%s)", (task,))
    assert wait_state(local, task) == "stopped"
    got = objects(local, task)
    assert got[("", "type", "mood")] == ("done", None)
    assert got[("t", "default", "m")] == ("pending", None)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
    assert wait_state(local, task) == "finished"
    assert objects(local, task)[("t", "default", "m")] == ("done", None)
    with local.cursor() as cur:
        cur.execute(f"INSERT INTO {schema}.t (id) VALUES (1000) RETURNING m")
        assert cur.fetchone()[0] == "ok"
    assert one(local, f"SELECT count(*) FROM {schema}.t") == (601,)
    drop_task_if_exists(local, task)


def test_types_made_only_of_safe_parts(pgsrc, local):
    """A type made of a domain that is at the target already, and not the
    task's (its check could call anything), is not made, nor are the
    types made of it: their columns keep the mapping and nothing of the
    target's domain runs.  A domain over an array stays that domain; a
    domain's NOT VALID check is listed, the domain made without it."""
    schema = TYPES + "_safe"
    other = TYPES + "_other"
    task = schema
    with pgsrc.cursor() as cur:
        cur.execute(f"""
DROP SCHEMA IF EXISTS {schema} CASCADE;
DROP SCHEMA IF EXISTS {other} CASCADE;
CREATE SCHEMA {schema};
CREATE SCHEMA {other};
CREATE DOMAIN {other}.dom AS int;
CREATE TYPE {schema}.c AS (v {other}.dom);
CREATE DOMAIN {schema}.d AS {other}.dom;
CREATE DOMAIN {schema}.ints AS int[];
CREATE DOMAIN {schema}.pos AS int;
CREATE TABLE {schema}.t (id int PRIMARY KEY, c {schema}.c, d {schema}.d, i {schema}.ints, p {schema}.pos);
INSERT INTO {schema}.t VALUES (1, ROW(5), 6, ARRAY[1, 2], -3);
ALTER DOMAIN {schema}.pos ADD CONSTRAINT pos_check CHECK (VALUE > 0) NOT VALID;
""")
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        cur.execute(f"DROP SCHEMA IF EXISTS {other} CASCADE")
        # the target's own domain of that name, whose check counts its calls
        cur.execute(f"CREATE SCHEMA {other}")
        cur.execute(f"CREATE TABLE {other}.calls (n int)")
        cur.execute(f"CREATE FUNCTION {other}.f(i int) RETURNS bool LANGUAGE sql "
                    f"AS 'INSERT INTO {other}.calls VALUES (1) RETURNING true'")
        cur.execute(f"CREATE DOMAIN {other}.dom AS int CHECK ({other}.f(VALUE))")
    state, error = run_task_on(local, task, schema)
    assert state == "finished", error
    got = objects(local, task)
    assert got[("", "type", "c")][0] == "not_copied" and "neither a base type" in got[("", "type", "c")][1]
    assert got[("", "type", "d")][0] == "not_copied"
    assert got[("", "type", "ints")] == ("done", None)
    assert got[("", "type", "pos")] == ("done", None)
    assert got[("", "check", f"{schema}.pos.pos_check")][0] == "not_copied"
    assert rows(local, "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                       "WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum", (f"{schema}.t",)) == [
        ("id", "integer"), ("c", "text"), ("d", "integer"), ("i", f"{schema}.ints"), ("p", f"{schema}.pos")]
    assert one(local, f"SELECT count(*) FROM {other}.calls") == (0,)
    assert one(local, f"SELECT c, d, i, p FROM {schema}.t") == ("(5)", 6, [1, 2], -3)
    drop_task_if_exists(local, task)
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {other} CASCADE")
