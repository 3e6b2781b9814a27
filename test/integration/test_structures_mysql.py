"""Structures after the data, from MariaDB (catalog 0.5.0, src/structure.c,
src/mysql/mysql_structure.c): once a created table's rows are copied, its
secondary indexes, foreign keys, CHECKs, ENUM checks, defaults,
AUTO_INCREMENT identities and comments follow, each a row of
ape_resume.structures; views, triggers, routines, events and what does not
translate are rows in state not_copied.  [filter] do_structures chooses the
kinds, [sinker] conflict_policy what a failed object does to the task.

Every test asserts what exists at the target (pg_indexes, pg_constraint,
pg_attrdef, comments, the behaviour of INSERTs) against the source's
information_schema, not only the rows of the view."""
import datetime
import os
import time
from decimal import Decimal

import psycopg2
import psycopg2.errors
import pymysql
import pytest

from conftest import connect_local, drop_task_if_exists, env, fresh_dir, one, start, wait_state
from conftest import rows as all_rows


# --- helpers ------------------------------------------------------------------

def mysql_conn(db=None):
    return pymysql.connect(host="127.0.0.1", port=int(env("APE_MYSQL_PORT")), user="ape",
                           password="mysql_secret_pw", charset="utf8mb4", autocommit=True,
                           database=db)


def fresh_mysql(db, statements):
    """A new, empty MariaDB database db, then statements (a list: a routine's
    body holds semicolons) run in it."""
    conn = mysql_conn()
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {db}")
            cur.execute(f"CREATE DATABASE {db}")
            cur.execute(f"USE {db}")
            for stmt in statements:
                cur.execute(stmt)
    finally:
        conn.close()


def my_rows(db, sql, args=None):
    conn = mysql_conn(db)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        conn.close()


def my_insert(db, sql, args=None):
    """Run an INSERT at the source; its AUTO_INCREMENT id."""
    conn = mysql_conn(db)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.lastrowid
    finally:
        conn.close()


def run(local, sql, args=None):
    with local.cursor() as cur:
        cur.execute(sql, args)


def fails_with(local, sql, args=None):
    """Run sql in a transaction that is rolled back; the psycopg2 error class
    it raised, None if it succeeded."""
    with local.cursor() as cur:
        cur.execute("BEGIN")
        try:
            cur.execute(sql, args)
            return None
        except psycopg2.Error as e:
            return type(e)
        finally:
            cur.execute("ROLLBACK")


def drop_target(local, schema):
    run(local, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def config(db, task, extra="", filt=None):
    filt = filt if filt is not None else f"do_dbs={db}"
    return f"""
[extractor]
db_type=mysql
url={env("APE_MYSQL_URL")}
[filter]
{filt}
{extra}
[runtime]
log_dir={fresh_dir(task)}
"""


def structures(local, task):
    """The task's structure rows as {(tb, kind, name): (state, error, ddl)}."""
    return {(tb, kind, name): (state, error, ddl) for tb, kind, name, state, error, ddl in all_rows(
        local, "SELECT tb, kind, name, state, error, ddl FROM ape_resume.structures"
               " WHERE task_name = %s", (task,))}


def task_row(local, task):
    return one(local, "SELECT state, last_error, structures_failed, structures_not_copied"
                      " FROM ape_resume.tasks WHERE name = %s", (task,))


def indexes(local, schema, tb):
    """{indexname: indexdef} of a target table."""
    return dict(all_rows(local, "SELECT indexname, indexdef FROM pg_indexes"
                                " WHERE schemaname = %s AND tablename = %s", (schema, tb)))


def constraints(local, schema, tb, contype):
    return {r[0]: r[1:] for r in all_rows(
        local, "SELECT conname, pg_get_constraintdef(c.oid), convalidated, confdeltype, confupdtype"
               " FROM pg_constraint c WHERE conrelid = %s::regclass AND contype = %s",
        (f"{schema}.{tb}", contype))}


def defaults(local, schema, tb):
    """{column: default expression} of a target table."""
    return dict(all_rows(local, "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d"
                                " JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
                                " WHERE d.adrelid = %s::regclass", (f"{schema}.{tb}",)))


def identities(local, schema, tb):
    return [r[0] for r in all_rows(local, "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass"
                                          " AND attnum > 0 AND attidentity <> '' ORDER BY attnum",
                                   (f"{schema}.{tb}",))]


def comments(local, schema, tb):
    """The table's comment and {column: comment} of the commented columns."""
    table = one(local, "SELECT obj_description(%s::regclass, 'pg_class')", (f"{schema}.{tb}",))[0]
    cols = dict(all_rows(local, "SELECT attname, col_description(attrelid, attnum) FROM pg_attribute"
                                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
                                " AND col_description(attrelid, attnum) IS NOT NULL",
                         (f"{schema}.{tb}",)))
    return table, cols


def source_indexes(db, tb):
    """Secondary indexes of a source table, as information_schema.STATISTICS
    lists them: {name: (non_unique, index_type, [(column, sub_part, collation)])}."""
    out = {}
    for name, non_unique, col, sub, coll, itype in my_rows(
            db, "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, COLLATION, INDEX_TYPE"
                " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
                " ORDER BY INDEX_NAME, SEQ_IN_INDEX", (db, tb)):
        if name == "PRIMARY":
            continue
        out.setdefault(name, (int(non_unique), itype, []))[2].append((col, sub, coll))
    return out


def is_whole_unique_key(ix):
    non_unique, itype, parts = ix
    return non_unique == 0 and itype != "FULLTEXT" and all(sub is None for _, sub, _ in parts)


def expected_index_parts(ix, text_cols):
    """What pg_indexes.indexdef must show of a source index translated."""
    non_unique, itype, parts = ix
    if itype == "FULLTEXT":
        return ["USING gin", "to_tsvector('simple'::regconfig"] + \
            [f"COALESCE({c if c in text_cols else '(' + c + ')::text'}, ''::text)" for c, _, _ in parts]
    want = []
    for col, sub, coll in parts:
        expr = col
        if sub is not None:
            expr = f'"left"({col}, {sub})' if col in text_cols else f'"left"(({col})::text, {sub})'
        want.append(expr + (" DESC" if coll == "D" else ""))
    return ["USING btree (" + ", ".join(want) + ")"] + (["UNIQUE"] if non_unique == 0 else [])


# --- the rich schema of tests 1 to 3 ------------------------------------------

def rich_schema(db):
    fresh_mysql(db, [
        """CREATE TABLE parent (
             id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
             code varchar(20) NOT NULL COMMENT 'the code, unique',
             UNIQUE KEY uq_code (code)
           ) AUTO_INCREMENT=1000 COMMENT='the parents: it''s a \\\\ table'""",
        "INSERT INTO parent (id, code) VALUES (1, 'p1'), (2, 'p2'), (3, 'p3')",
        """CREATE TABLE child (
             id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
             parent_id int NOT NULL,
             name varchar(100) NOT NULL DEFAULT 'anon' COMMENT 'a name, it''s',
             qty int NOT NULL DEFAULT 7,
             price decimal(10,2) DEFAULT 1.50,
             status enum('new','done','it''s') NOT NULL DEFAULT 'new' COMMENT 'the state',
             created datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
             ts timestamp NULL DEFAULT CURRENT_TIMESTAMP,
             updated timestamp NULL DEFAULT NULL ON UPDATE CURRENT_TIMESTAMP,
             flags bit(3) DEFAULT b'101',
             body text,
             note varchar(50),
             doc varchar(200),
             KEY idx_parent (parent_id),
             KEY idx_name_qty (name, qty DESC),
             KEY idx_prefix (name(10)),
             UNIQUE KEY uq_note_prefix (note(8)),
             FULLTEXT KEY ft_body (body, note),
             CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id)
                 ON DELETE CASCADE ON UPDATE RESTRICT,
             CONSTRAINT chk_qty CHECK (qty >= 0 AND qty < 1000),
             CONSTRAINT chk_weird CHECK (note <=> 'x' OR qty > 0),
             CONSTRAINT chk_json CHECK (json_length(doc) < 5)
           ) COMMENT='the children'""",
        """INSERT INTO child (parent_id, name, qty, status, body, note, doc) VALUES
             (1, 'alpha', 1, 'new', 'the first body', 'note1-aa', '[1, 2]'),
             (1, 'beta', 2, 'done', 'the second body', 'note2-aa', NULL),
             (2, 'gamma', 3, 'it''s', NULL, NULL, '{"a": 1}'),
             (2, 'delta', 4, 'new', 'the fourth', 'note4-aa', NULL),
             (3, 'epsilon', 5, 'new', 'the fifth', 'note5-aa', NULL)""",
        # the counter stays at 6 while the maximum is 3
        "DELETE FROM child WHERE id IN (4, 5)",
        """CREATE TABLE plain (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, v int)""",
        "INSERT INTO plain (v) VALUES (10), (20), (30)",
        "CREATE VIEW v_child AS SELECT id, name FROM child",
        "CREATE TRIGGER trg_child BEFORE INSERT ON child FOR EACH ROW SET NEW.qty = NEW.qty",
        "CREATE PROCEDURE p_count() BEGIN SELECT count(*) FROM child; END",
        "CREATE EVENT ev_purge ON SCHEDULE EVERY 1 DAY DO DELETE FROM child WHERE qty < 0",
    ])


def schema_objects(db):
    """The source's views, triggers, routines and events:
    {(tb, kind, name)} as the structures view lists them."""
    out = set()
    for (name,) in my_rows(db, "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s", (db,)):
        out.add((None, "view", name))
    for name, tb in my_rows(db, "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS"
                                " WHERE TRIGGER_SCHEMA = %s", (db,)):
        out.add((tb, "trigger", name))
    for (name,) in my_rows(db, "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s", (db,)):
        out.add((None, "routine", name))
    for (name,) in my_rows(db, "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s", (db,)):
        out.add((None, "event", name))
    return out


# --- 1. everything ------------------------------------------------------------

def test_every_structure_of_a_mysql_schema_follows_the_data(local):
    db = task = "st_mysql_full"
    rich_schema(db)
    drop_target(local, db)
    start(local, task, config(db, task))
    assert wait_state(local, task) == "finished", task_row(local, task)

    rows = structures(local, task)
    # the data
    assert one(local, f"SELECT count(*), sum(id) FROM {db}.parent") == (3, 6)
    assert one(local, f"SELECT count(*), sum(id) FROM {db}.child") == (3, 6)
    assert one(local, f"SELECT count(*), sum(v) FROM {db}.plain") == (3, 60)

    # every object created or listed; nothing failed or left pending
    states = {k: v[0] for k, v in rows.items()}
    assert set(states.values()) <= {"done", "not_copied"}, states
    not_copied = {k: v for k, v in rows.items() if v[0] == "not_copied"}
    assert task_row(local, task) == ("finished", None, 0, len(not_copied))

    # --- secondary indexes, compared with the source's
    text_cols = {"body"}
    for tb in ("parent", "child", "plain"):
        src = source_indexes(db, tb)
        got = indexes(local, db, tb)
        for name, ix in src.items():
            if is_whole_unique_key(ix):
                # a key: added with the table, no structure of its own
                assert (tb, "index", f"{tb}_{name}_idx") not in rows
                continue
            # "<table>_<index>_idx": PostgreSQL's ChooseRelationName, never a key's name
            pg_name = f"{tb}_{name}_idx"
            assert rows[(tb, "index", pg_name)][0] == "done", rows.get((tb, "index", pg_name))
            assert pg_name in got, (pg_name, got)
            for part in expected_index_parts(ix, text_cols):
                assert part in got[pg_name], (pg_name, part, got[pg_name])
    child_ix = indexes(local, db, "child")
    assert child_ix["child_idx_parent_idx"].endswith("USING btree (parent_id)")
    assert child_ix["child_idx_name_qty_idx"].endswith("USING btree (name, qty DESC)")
    assert child_ix["child_idx_prefix_idx"].endswith('USING btree ("left"((name)::text, 10))')
    assert child_ix["child_uq_note_prefix_idx"].startswith("CREATE UNIQUE INDEX child_uq_note_prefix_idx")
    assert child_ix["child_uq_note_prefix_idx"].endswith('USING btree ("left"((note)::text, 8))')
    assert "USING gin (to_tsvector('simple'::regconfig" in child_ix["child_ft_body_idx"]
    assert "COALESCE(body, ''::text)" in child_ix["child_ft_body_idx"]
    assert "COALESCE((note)::text, ''::text)" in child_ix["child_ft_body_idx"]
    assert set(child_ix) == {"child_pkey", "child_note_key", "child_idx_parent_idx", "child_idx_name_qty_idx",
                             "child_idx_prefix_idx", "child_uq_note_prefix_idx", "child_ft_body_idx"}
    # the primary and unique keys are the table's
    assert set(constraints(local, db, "parent", "u")) == {"parent_code_key"}
    assert "child_pkey" in child_ix and "parent_pkey" in indexes(local, db, "parent")
    # the unique prefix index holds: same first 8 characters
    assert fails_with(local, f"INSERT INTO {db}.child (id, parent_id, note) VALUES (100, 1, 'note1-aa-other')") \
        is psycopg2.errors.UniqueViolation
    # the full text index is usable
    run(local, "SET enable_seqscan = off")
    plan = "\n".join(r[0] for r in all_rows(
        local, f"EXPLAIN SELECT id FROM {db}.child WHERE to_tsvector('simple'::regconfig,"
               f" COALESCE(body, '') || ' ' || COALESCE(note::text, '')) @@ 'fourth'::tsquery"))
    run(local, "RESET enable_seqscan")
    assert "child_ft_body_idx" in plan, plan

    # --- the foreign key, as the source's
    (upd, dele), = my_rows(db, "SELECT UPDATE_RULE, DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS"
                                " WHERE CONSTRAINT_SCHEMA = %s AND CONSTRAINT_NAME = 'fk_parent'", (db,))
    assert (upd, dele) == ("RESTRICT", "CASCADE")
    fks = constraints(local, db, "child", "f")
    assert set(fks) == {"fk_parent"}
    fkdef, validated, deltype, updtype = fks["fk_parent"]
    assert (validated, deltype, updtype) == (True, "c", "r")
    assert fkdef.startswith(f"FOREIGN KEY (parent_id) REFERENCES {db}.parent(id)"), fkdef
    assert rows[("child", "foreign_key", "fk_parent")][0] == "done"
    assert fails_with(local, f"INSERT INTO {db}.child (id, parent_id) VALUES (301, 424242)") \
        is psycopg2.errors.ForeignKeyViolation
    assert fails_with(local, f"UPDATE {db}.parent SET id = 50 WHERE id = 1") \
        is psycopg2.errors.ForeignKeyViolation

    # --- checks: the translatable one exists, the others are listed with why
    checks = constraints(local, db, "child", "c")
    # a MySQL CHECK is "<table>_<name>_check", an ENUM's "<table>_<column>_enum"
    assert set(checks) == {"child_chk_qty_check", "child_status_enum"}, checks
    assert checks["child_chk_qty_check"][0] == "CHECK (((qty >= 0) AND (qty < 1000)))"
    assert checks["child_chk_qty_check"][1] is True
    assert fails_with(local, f"INSERT INTO {db}.child (id, parent_id, qty) VALUES (302, 1, -1)") \
        is psycopg2.errors.CheckViolation
    assert fails_with(local, f"INSERT INTO {db}.child (id, parent_id, qty) VALUES (303, 1, 1000)") \
        is psycopg2.errors.CheckViolation
    src_checks = dict(my_rows(db, "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS"
                                  " WHERE CONSTRAINT_SCHEMA = %s AND TABLE_NAME = 'child'", (db,)))
    state, error, ddl = rows[("child", "check", "child_chk_weird_check")]
    assert state == "not_copied" and 'operator "<=>" has no translation' in error, error
    assert ddl == src_checks["chk_weird"]
    state, error, ddl = rows[("child", "check", "child_chk_json_check")]
    assert state == "not_copied" and '"json_length" has no translation' in error, error
    assert ddl == src_checks["chk_json"]
    # the enum's labels, a quote among them
    assert rows[("child", "check", "child_status_enum")][0] == "done"
    assert ("child", "check", "child_status_check") not in rows
    assert fails_with(local, f"INSERT INTO {db}.child (id, parent_id, status) VALUES (304, 1, 'bogus')") \
        is psycopg2.errors.CheckViolation
    run(local, f"INSERT INTO {db}.child (id, parent_id, status) VALUES (200, 1, 'it''s')")
    run(local, f"DELETE FROM {db}.child WHERE id = 200")
    # and '', MySQL's value for an invalid label outside strict mode
    run(local, f"INSERT INTO {db}.child (id, parent_id, status) VALUES (201, 1, '')")
    run(local, f"DELETE FROM {db}.child WHERE id = 201")

    # --- defaults and identities: an INSERT at both ends gives the same row
    for tb in ("parent", "child", "plain"):
        assert identities(local, db, tb) == ["id"], tb
    src_parent = my_insert(db, "INSERT INTO parent (code) VALUES ('p-new')")
    src_child = my_insert(db, "INSERT INTO child (parent_id) VALUES (1)")
    src_plain = my_insert(db, "INSERT INTO plain (v) VALUES (40)")
    assert (src_parent, src_child, src_plain) == (1000, 6, 4)
    assert one(local, f"INSERT INTO {db}.parent (code) VALUES ('p-new') RETURNING id") == (src_parent,)
    assert one(local, f"INSERT INTO {db}.plain (v) VALUES (40) RETURNING id") == (src_plain,)
    got = one(local, f"INSERT INTO {db}.child (parent_id) VALUES (1) RETURNING id, name, qty, price, status,"
                     f" flags, updated, created, ts, localtimestamp, now()")
    (src,) = my_rows(db, "SELECT id, name, qty, price, status, flags + 0, updated, created, ts, now(3)"
                         " FROM child WHERE id = %s", (src_child,))
    assert got[:5] == src[:5] == (6, "anon", 7, Decimal("1.50"), "new"), (got, src)
    assert got[5] == format(src[5], "03b") == "101"
    assert got[6] is None and src[6] is None
    assert abs(got[7] - got[9]) < datetime.timedelta(seconds=10), got
    assert got[7].microsecond % 1000 == 0  # datetime(3)
    assert abs(got[8] - got[10]) < datetime.timedelta(seconds=10), got
    assert got[8].microsecond == 0  # timestamp(0)
    assert defaults(local, db, "child")["created"] == "LOCALTIMESTAMP(3)"
    assert defaults(local, db, "child")["ts"] == "CURRENT_TIMESTAMP(0)"
    # the ON DELETE CASCADE: parent 2's children go with it
    run(local, f"DELETE FROM {db}.parent WHERE id = 2")
    assert one(local, f"SELECT count(*) FROM {db}.child WHERE parent_id = 2") == (0,)

    # --- comments, as the source's
    for tb in ("parent", "child", "plain"):
        (tcomment,), = my_rows(db, "SELECT TABLE_COMMENT FROM information_schema.TABLES"
                                   " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (db, tb))
        ccomments = dict(my_rows(db, "SELECT COLUMN_NAME, COLUMN_COMMENT FROM information_schema.COLUMNS"
                                     " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND COLUMN_COMMENT <> ''",
                                 (db, tb)))
        assert comments(local, db, tb) == (tcomment or None, ccomments), tb
    assert comments(local, db, "parent")[0] == "the parents: it's a \\ table"
    assert comments(local, db, "child")[1] == {"name": "a name, it's", "status": "the state"}

    # --- what is not copied, each with why
    want = schema_objects(db) | {("child", "trigger", "updated on update"),
                                 ("child", "check", "child_chk_weird_check"),
                                 ("child", "check", "child_chk_json_check")}
    assert want >= {(None, "view", "v_child"), ("child", "trigger", "trg_child"),
                    (None, "routine", "p_count"), (None, "event", "ev_purge")}
    assert set(not_copied) == want, set(not_copied) ^ want
    assert "views are not copied" in not_copied[(None, "view", "v_child")][1]
    assert "select" in not_copied[(None, "view", "v_child")][2].lower()
    assert "triggers are not copied" in not_copied[("child", "trigger", "trg_child")][1]
    assert "functions and procedures are not copied" in not_copied[(None, "routine", "p_count")][1]
    assert "events are not copied" in not_copied[(None, "event", "ev_purge")][1]
    assert "ON UPDATE CURRENT_TIMESTAMP" in not_copied[("child", "trigger", "updated on update")][1]
    assert "updated" not in defaults(local, db, "child")
    # schema objects have no target; the table's own have their table
    assert all_rows(local, "SELECT DISTINCT dst_schema, dst_tb FROM ape_resume.structures"
                           " WHERE task_name = %s AND tb IS NULL", (task,)) == [(None, None)]
    assert all_rows(local, "SELECT count(*) FROM ape_resume.structures WHERE task_name = %s AND tb IS NOT NULL"
                           " AND kind <> 'trigger' AND (dst_schema IS DISTINCT FROM schema"
                           " OR dst_tb IS DISTINCT FROM tb)", (task,)) == [(0,)]
    drop_task_if_exists(local, task)


# --- 2, 3. do_structures -------------------------------------------------------

def test_do_structures_table_creates_only_the_tables_with_their_keys(local):
    db = task = "st_mysql_tbl"
    rich_schema(db)
    drop_target(local, db)
    start(local, task, config(db, task, "do_structures=table"))
    assert wait_state(local, task) == "finished", task_row(local, task)

    # rows of a kind left out are not recorded; the schema's objects always are
    rows = structures(local, task)
    assert set(rows) == schema_objects(db), rows
    assert {v[0] for v in rows.values()} == {"not_copied"}
    assert task_row(local, task) == ("finished", None, 0, len(rows))

    assert one(local, f"SELECT count(*) FROM {db}.child") == (3,)
    assert set(indexes(local, db, "parent")) == {"parent_pkey", "parent_code_key"}
    # the unique prefix key is a unique key on the whole column, with the table
    assert set(indexes(local, db, "child")) == {"child_pkey", "child_note_key"}
    assert set(indexes(local, db, "plain")) == {"plain_pkey"}
    for tb in ("parent", "child", "plain"):
        assert constraints(local, db, tb, "f") == {}
        assert constraints(local, db, tb, "c") == {}
        assert defaults(local, db, tb) == {}
        assert identities(local, db, tb) == []
        assert comments(local, db, tb) == (None, {})
    # no default, no identity: an INSERT must name them
    assert fails_with(local, f"INSERT INTO {db}.plain (v) VALUES (1)") is psycopg2.errors.NotNullViolation
    drop_task_if_exists(local, task)


def test_do_structures_index_and_comment_creates_only_those(local):
    db = task = "st_mysql_ixc"
    rich_schema(db)
    drop_target(local, db)
    start(local, task, config(db, task, "do_structures= index , comment"))
    assert wait_state(local, task) == "finished", task_row(local, task)

    rows = structures(local, task)
    kinds = {k[1] for k in rows if k[0] is not None and k not in schema_objects(db)}
    assert kinds == {"index", "comment"}, rows
    assert {k for k in rows if k[0] is None or k in schema_objects(db)} == schema_objects(db)
    assert all(v[0] == "done" for k, v in rows.items() if k[1] in ("index", "comment")), rows
    assert task_row(local, task) == ("finished", None, 0, len(schema_objects(db)))

    child_ix = indexes(local, db, "child")
    assert set(child_ix) == {"child_pkey", "child_note_key", "child_idx_parent_idx", "child_idx_name_qty_idx",
                             "child_idx_prefix_idx", "child_uq_note_prefix_idx", "child_ft_body_idx"}
    assert child_ix["child_idx_name_qty_idx"].endswith("(name, qty DESC)")
    assert comments(local, db, "child") == ("the children", {"name": "a name, it's", "status": "the state"})
    assert comments(local, db, "parent") == ("the parents: it's a \\ table", {"code": "the code, unique"})
    for tb in ("parent", "child", "plain"):
        assert constraints(local, db, tb, "f") == {}
        assert constraints(local, db, tb, "c") == {}
        assert defaults(local, db, tb) == {}
        assert identities(local, db, tb) == []
    drop_task_if_exists(local, task)


def test_parse_config_shows_do_structures_and_conflict_policy(local):
    def parse(filt="", sinker=""):
        with local.cursor() as cur:
            cur.execute("SELECT section, key, value FROM ape_resume.parse_config(%s)",
                        (f"[extractor]\ndb_type=mysql\nurl={env('APE_MYSQL_URL')}\n"
                         f"[filter]\ndo_dbs=st_mysql_full\n{filt}\n[sinker]\n{sinker}\n",))
            return {(s, k): v for s, k, v in cur.fetchall()}

    everything = "table,default,constraint,index,sequence,comment,type"
    rows = parse()
    assert rows[("filter", "do_structures")] == everything
    assert rows[("sinker", "conflict_policy")] == "interrupt"
    rows = parse("do_structures=Comment,index", "conflict_policy=ignore")
    assert rows[("filter", "do_structures")] == "table,index,comment"
    assert rows[("sinker", "conflict_policy")] == "ignore"
    assert parse("do_structures=*")[("filter", "do_structures")] == everything
    assert parse("do_structures=")[("filter", "do_structures")] == everything
    assert parse("do_structures=table")[("filter", "do_structures")] == "table"
    with pytest.raises(psycopg2.Error) as e:
        parse("do_structures=table,view")
    assert '"view" is not a kind of structure' in str(e.value)
    with pytest.raises(psycopg2.Error) as e:
        parse(sinker="conflict_policy=replace")
    assert 'invalid value "replace" for key "conflict_policy" in section [sinker]' in str(e.value)


# --- 4. conflict_policy -----------------------------------------------------------

def conflict_schema(db):
    # MariaDB compares 'A' IN ('a', 'b') under its case-insensitive
    # collation: true; PostgreSQL's VALIDATE finds the row violating
    fresh_mysql(db, [
        """CREATE TABLE t1 (id int PRIMARY KEY, code varchar(5) NOT NULL, KEY idx_code (code),
             CONSTRAINT chk_code CHECK (code IN ('a', 'b')))""",
        "INSERT INTO t1 VALUES (1, 'a'), (2, 'A'), (3, 'b')",
        "CREATE TABLE t2 (id int PRIMARY KEY, v int NOT NULL, KEY idx_v (v))",
        "INSERT INTO t2 SELECT seq, seq * 2 FROM seq_1_to_500",
    ])


def test_conflict_policy_interrupt_fails_the_task_after_the_data_and_a_resume_retries(local):
    db = task = "st_mysql_conflict"
    conflict_schema(db)
    drop_target(local, db)
    start(local, task, config(db, task, "[sinker]\nconflict_policy=interrupt\nbatch_size=100"))
    assert wait_state(local, task) == "failed"

    state, last_error, failed, not_copied = task_row(local, task)
    assert (failed, not_copied) == (1, 0)
    assert "t1_chk_code_check" in last_error and f"{db}.t1" in last_error, last_error
    assert "violated by some row" in last_error, last_error
    # every table's rows are copied all the same
    assert one(local, f"SELECT count(*) FROM {db}.t1") == (3,)
    assert one(local, f"SELECT count(*), sum(v) FROM {db}.t2") == (500, 500 * 501)
    assert all_rows(local, "SELECT tb, state FROM ape_resume.progress(%s) ORDER BY tb", (task,)) == \
        [("t1", "finished"), ("t2", "finished")]
    rows = structures(local, task)
    st, error, _ = rows[("t1", "check", "t1_chk_code_check")]
    assert st == "failed"
    assert error == 'check constraint "t1_chk_code_check" of relation "t1" is violated by some row'
    assert {k: v[0] for k, v in rows.items() if k[2] != "t1_chk_code_check"} == \
        {("t1", "index", "t1_idx_code_idx"): "done", ("t2", "index", "t2_idx_v_idx"): "done"}
    # rolled back whole: no NOT VALID constraint left behind
    assert constraints(local, db, "t1", "c") == {}

    # fix the row at the target, resume: the object is made, the task finishes
    run(local, f"UPDATE {db}.t1 SET code = 'a' WHERE code = 'A'")
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
    assert wait_state(local, task) == "finished", task_row(local, task)
    assert task_row(local, task) == ("finished", None, 0, 0)
    st, error, _ = structures(local, task)[("t1", "check", "t1_chk_code_check")]
    assert (st, error) == ("done", None)
    checks = constraints(local, db, "t1", "c")
    assert set(checks) == {"t1_chk_code_check"} and checks["t1_chk_code_check"][1] is True
    assert fails_with(local, f"INSERT INTO {db}.t1 VALUES (9, 'c')") is psycopg2.errors.CheckViolation
    # each object once, the rows not copied again
    assert set(indexes(local, db, "t1")) == {"t1_pkey", "t1_idx_code_idx"}
    assert one(local, f"SELECT count(*) FROM {db}.t2") == (500,)
    drop_task_if_exists(local, task)


def test_conflict_policy_ignore_finishes_with_the_object_failed(local):
    db = "st_mysql_conflict"
    task = "st_mysql_conflict_ign"
    conflict_schema(db)
    drop_target(local, db)
    start(local, task, config(db, task, "[sinker]\nconflict_policy=ignore"))
    assert wait_state(local, task) == "finished", task_row(local, task)
    assert task_row(local, task) == ("finished", None, 1, 0)
    st, error, _ = structures(local, task)[("t1", "check", "t1_chk_code_check")]
    assert st == "failed" and "violated by some row" in error, error
    assert constraints(local, db, "t1", "c") == {}
    assert one(local, f"SELECT count(*) FROM {db}.t1") == (3,)
    assert one(local, f"SELECT count(*) FROM {db}.t2") == (500,)
    assert "t2_idx_v_idx" in indexes(local, db, "t2")
    log_dir = one(local, "SELECT log_dir FROM ape_resume.tasks WHERE name = %s", (task,))[0]
    with open(os.path.join(log_dir, "default.log")) as f:
        log = f.read()
    assert 'could not create check "t1_chk_code_check" of table "st_mysql_conflict"."t1"' in log, log
    drop_task_if_exists(local, task)


# --- 5. a stop and a resume ---------------------------------------------------------

def test_a_stopped_task_resumes_and_creates_each_object_once(local):
    db = task = "st_mysql_stop"
    n = 2000
    fresh_mysql(db, [
        """CREATE TABLE a (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, v int NOT NULL DEFAULT 1,
             name varchar(20) COMMENT 'a''s name', KEY idx_v (v), KEY idx_name (name(5)),
             CONSTRAINT chk_v CHECK (v >= 0)) COMMENT='table a'""",
        f"INSERT INTO a (v, name) SELECT seq % 100, CONCAT('name', seq) FROM seq_1_to_{n}",
        """CREATE TABLE b (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, a_id int NOT NULL,
             kind enum('x','y') NOT NULL DEFAULT 'x', KEY idx_a (a_id),
             CONSTRAINT fk_b_a FOREIGN KEY (a_id) REFERENCES a (id) ON DELETE CASCADE) COMMENT='table b'""",
        f"INSERT INTO b (a_id, kind) SELECT seq, IF(seq % 2, 'x', 'y') FROM seq_1_to_{n}",
        """CREATE TABLE c (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, b_id int,
             w decimal(6,2) DEFAULT 2.50, KEY idx_bw (b_id, w DESC),
             CONSTRAINT fk_c_b FOREIGN KEY (b_id) REFERENCES b (id) ON DELETE SET NULL,
             CONSTRAINT chk_w CHECK (w BETWEEN 0 AND 1000)) COMMENT='table c'""",
        f"INSERT INTO c (b_id, w) SELECT seq, seq % 1000 FROM seq_1_to_{n}",
    ])
    drop_target(local, db)
    start(local, task, config(db, task, "[sinker]\nbatch_size=100\n[extractor]\nmax_rps=2000"))

    # stop while b is copied: a is finished, its objects made
    deadline = time.time() + 60
    while time.time() < deadline:
        row = one(local, "SELECT rows_copied, state FROM ape_resume.progress(%s) WHERE tb = 'b'", (task,))
        if row and row[0] >= 200:
            assert row[1] != "finished"
            break
        time.sleep(0.01)
    else:
        raise AssertionError("table b did not start")
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.stop_task(%s)", (task,))
    assert wait_state(local, task) == "stopped"

    before = structures(local, task)
    assert {k for k, v in before.items() if k[0] == "a" and v[0] == "done"} == \
        {k for k in before if k[0] == "a"}, before
    pending = {k for k, v in before.items() if v[0] == "pending"}
    assert ("b", "foreign_key", "fk_b_a") in pending, before
    # c's table is not created yet: no plan for it
    assert not any(k[0] == "c" for k in before)
    assert one(local, f"SELECT count(*) FROM pg_indexes WHERE schemaname = '{db}' AND indexname = 'b_idx_a_idx'") == (0,)
    # b's AUTO_INCREMENT counter was read when its target was created; a row
    # written at the source since then, past it, is copied by the resume:
    # the identity restarts past the copied maximum, not at that counter
    (counter_b,), = all_rows(local, "SELECT s.args[2]::bigint FROM ape_resume.structure s"
                                    " JOIN ape_resume.task t ON t.id = s.task_id"
                                    " WHERE t.name = %s AND s.tb = 'b' AND s.kind = 'identity'", (task,))
    assert n < counter_b < 5000, counter_b
    my_insert(db, "INSERT INTO b (id, a_id) VALUES (5000, 1)")

    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
    assert wait_state(local, task, 120) == "finished", task_row(local, task)
    assert task_row(local, task) == ("finished", None, 0, 0)

    rows = structures(local, task)
    assert {v[0] for v in rows.values()} == {"done"}, rows
    assert len(rows) == 19, sorted(rows)
    for (tb, kind, name), _ in rows.items():
        rel = f"{db}.{tb}"
        if kind == "index":
            got = one(local, "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
                      (db, name))
        elif kind in ("check", "foreign_key"):
            got = one(local, "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass AND conname = %s",
                      (rel, name))
        elif kind == "identity":
            got = one(local, "SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s"
                             " AND attidentity = 'd'", (rel, name))
        elif kind == "default":
            got = (int(name in defaults(local, db, tb)),)
        elif kind == "comment":
            table_comment, col_comments = comments(local, db, tb)
            got = (int(table_comment is not None if name == tb else name.split(".", 1)[1] in col_comments),)
        else:
            raise AssertionError(f"unexpected kind {kind}")
        assert got == (1,), (tb, kind, name)
    assert one(local, "SELECT count(*) FROM pg_constraint WHERE connamespace = %s::regnamespace"
                      " AND contype IN ('c', 'f')", (db,)) == (5,)
    assert one(local, "SELECT count(*) FROM pg_indexes WHERE schemaname = %s", (db,)) == (3 + 4,)
    assert one(local, f"SELECT count(*), count(DISTINCT id), max(id) FROM {db}.b") == (n + 1, n + 1, 5000)
    assert one(local, f"INSERT INTO {db}.b (a_id) VALUES (1) RETURNING id") == (5001,)
    for tb in ("a", "c"):
        assert one(local, f"SELECT count(*), count(DISTINCT id) FROM {db}.{tb}") == (n, n)
        # INSERT ... SELECT reserves AUTO_INCREMENT values in blocks (with
        # innodb_autoinc_lock_mode 1): the source's counter may be past
        # n + 1, and the target follows it
        (counter,), = my_rows(db, "SELECT AUTO_INCREMENT FROM information_schema.TABLES"
                                  " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (db, tb))
        assert one(local, f"INSERT INTO {db}.{tb} DEFAULT VALUES RETURNING id") == (max(n + 1, counter),)
    drop_task_if_exists(local, task)


def test_a_stop_while_the_objects_are_built_leaves_the_rest_for_the_resume(local):
    """The table has no key, so that nothing but its objects takes a lock
    after its rows: a transaction of the test holding ROW EXCLUSIVE on the
    target (which the copy's inserts share) makes the first CREATE INDEX
    wait; stop_task meanwhile, then the lock released: that object is made,
    the others stay pending, and the resume makes them, each once."""
    db = task = "st_mysql_stop_objects"
    n = 2000
    fresh_mysql(db, [
        """CREATE TABLE t (id int NOT NULL, v int NOT NULL DEFAULT 5, name varchar(20) COMMENT 'the name',
             KEY i1 (id), KEY i2 (v), KEY i3 (name(4)), CONSTRAINT chk_v CHECK (v < 100)) COMMENT='no key'""",
        f"INSERT INTO t SELECT seq, seq % 50, CONCAT('n', seq) FROM seq_1_to_{n}",
    ])
    drop_target(local, db)
    start(local, task, config(db, task, "[sinker]\nbatch_size=100\n[extractor]\nmax_rps=1000"))
    deadline = time.time() + 60
    while one(local, "SELECT to_regclass(%s)", (f"{db}.t",)) == (None,):
        assert time.time() < deadline, "the target table was not created"
        time.sleep(0.01)
    blocker = connect_local()
    try:
        with blocker.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute(f"LOCK TABLE {db}.t IN ROW EXCLUSIVE MODE")
        assert one(local, "SELECT state FROM ape_resume.progress(%s)", (task,)) != ("finished",)
        while True:
            waiting = one(local, "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                 " AND query LIKE %s", (f"CREATE INDEX t_i1_idx ON {db}.t %",))
            if waiting:
                break
            assert time.time() < deadline, "no CREATE INDEX waited for the lock"
            time.sleep(0.01)
        run(local, "SELECT ape_resume.stop_task(%s)", (task,))
    finally:
        blocker.rollback()
        blocker.close()
    assert wait_state(local, task) == "stopped", task_row(local, task)
    assert one(local, "SELECT state, rows_copied FROM ape_resume.progress(%s)", (task,)) == ("finished", n)
    before = {k: v[0] for k, v in structures(local, task).items()}
    assert before == {("t", "index", "t_i1_idx"): "done", ("t", "index", "t_i2_idx"): "pending",
                      ("t", "index", "t_i3_idx"): "pending", ("t", "default", "v"): "pending",
                      ("t", "comment", "t"): "pending", ("t", "comment", "t.name"): "pending",
                      ("t", "check", "t_chk_v_check"): "pending"}, before
    assert set(indexes(local, db, "t")) == {"t_i1_idx"}

    run(local, "SELECT ape_resume.resume_task(%s)", (task,))
    assert wait_state(local, task) == "finished", task_row(local, task)
    assert {v[0] for v in structures(local, task).values()} == {"done"}
    ix = indexes(local, db, "t")
    assert set(ix) == {"t_i1_idx", "t_i2_idx", "t_i3_idx"}
    assert ix["t_i3_idx"].endswith('USING btree ("left"((name)::text, 4))')
    assert set(constraints(local, db, "t", "c")) == {"t_chk_v_check"}
    assert defaults(local, db, "t") == {"v": "5"}
    assert comments(local, db, "t") == ("no key", {"name": "the name"})
    assert one(local, f"SELECT count(*), count(DISTINCT id) FROM {db}.t") == (n, n)
    drop_task_if_exists(local, task)


# --- 6. a foreign key to a table the task does not copy -------------------------------

def test_a_foreign_key_to_a_table_left_out_is_not_copied(local):
    db = task = "st_mysql_fkout"
    fresh_mysql(db, [
        "CREATE TABLE parent (id int PRIMARY KEY, code varchar(10))",
        "INSERT INTO parent VALUES (1, 'a'), (2, 'b')",
        """CREATE TABLE child (id int PRIMARY KEY, parent_id int, KEY idx_parent (parent_id),
             CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE SET NULL)""",
        "INSERT INTO child VALUES (1, 1), (2, 2), (3, NULL)",
    ])
    drop_target(local, db)
    start(local, task, config(db, task, filt=f"do_tbs={db}.child"))
    assert wait_state(local, task) == "finished", task_row(local, task)
    assert one(local, f"SELECT count(*) FROM {db}.child") == (3,)
    assert one(local, "SELECT to_regclass(%s)", (f"{db}.parent",)) == (None,)
    rows = structures(local, task)
    assert rows == {
        ("child", "index", "child_idx_parent_idx"): ("done", None,
                                                     f"CREATE INDEX child_idx_parent_idx ON {db}.child (parent_id)"),
        ("child", "foreign_key", "fk_child_parent"): (
            "not_copied", f'it references table "{db}"."parent", which the task does not copy', None),
    }, rows
    assert constraints(local, db, "child", "f") == {}
    assert task_row(local, task) == ("finished", None, 0, 1)
    drop_task_if_exists(local, task)


# --- 7. index names ------------------------------------------------------------------

def test_index_names_are_unique_in_the_schema(local):
    """"<table>_<index>_idx", digits appended on a clash: t with KEY x_y and
    t_x with KEY y both make t_x_y_idx; the one planned second is t_x_y_idx1."""
    db = task = "st_mysql_ixname"
    fresh_mysql(db, [
        "CREATE TABLE t (id int PRIMARY KEY, v int, KEY x_y (v))",
        "INSERT INTO t VALUES (1, 10), (2, 20)",
        "CREATE TABLE t_x (id int PRIMARY KEY, w int, KEY y (w))",
        "INSERT INTO t_x VALUES (1, 30)",
    ])
    drop_target(local, db)
    start(local, task, config(db, task))
    assert wait_state(local, task) == "finished", task_row(local, task)
    assert task_row(local, task) == ("finished", None, 0, 0)
    rows = structures(local, task)
    names = {tb: name for (tb, kind, name), v in rows.items() if kind == "index"}
    assert sorted(names.values()) == ["t_x_y_idx", "t_x_y_idx1"], rows
    assert all(v[0] == "done" for k, v in rows.items() if k[1] == "index"), rows
    ix_t, ix_tx = indexes(local, db, "t"), indexes(local, db, "t_x")
    assert set(ix_t) == {"t_pkey", names["t"]}, ix_t
    assert set(ix_tx) == {"t_x_pkey", names["t_x"]}, ix_tx
    assert ix_t[names["t"]].endswith("USING btree (v)")
    assert ix_tx[names["t_x"]].endswith("USING btree (w)")
    drop_task_if_exists(local, task)


# --- edge cases of the translation (each once a bug) ------------------------------------

EDGE_DB = "st_mysql_edge"
EDGE_TASK = "st_mysql_edge"


@pytest.fixture(scope="module")
def edge_copy():
    """A table with the cases below, copied once with conflict_policy=ignore."""
    fresh_mysql(EDGE_DB, [
        r"""CREATE TABLE e (
              id int PRIMARY KEY,
              h enum('a','b','c') NOT NULL DEFAULT 'a' CHECK (h <> 'c'),
              nl varchar(20) DEFAULT 'a\nb',
              f bit(8) DEFAULT b'101',
              e2 enum('x\\y','z'),
              qty int,
              code varchar(10),
              UNIQUE KEY (code),
              KEY code_key (code, id),
              CONSTRAINT c_div CHECK (qty / 2 <= 2))""",
        r"INSERT INTO e (id, e2, qty, code) VALUES (1, 'x\\y', 4, 'k')",
    ])
    local = connect_local()
    drop_target(local, EDGE_DB)
    start(local, EDGE_TASK, config(EDGE_DB, EDGE_TASK, "[sinker]\nconflict_policy=ignore"))
    assert wait_state(local, EDGE_TASK) == "finished"
    yield local
    drop_task_if_exists(local, EDGE_TASK)
    local.close()


def test_edge_nothing_fails(edge_copy):
    local = edge_copy
    rows = structures(local, EDGE_TASK)
    assert {k: v for k, v in rows.items() if v[0] not in ("done", "not_copied")} == {}, rows
    assert {k for k, v in rows.items() if v[0] == "not_copied"} == {("e", "check", "e_c_div_check")}, rows
    assert task_row(local, EDGE_TASK) == ("finished", None, 0, 1)


def test_edge_column_check_on_an_enum_column_is_kept(edge_copy):
    """MariaDB names a column-level CHECK after its column (h): e_h_check,
    next to the ENUM's own e_h_enum."""
    local = edge_copy
    rows = structures(local, EDGE_TASK)
    assert rows[("e", "check", "e_h_check")][0] == "done", rows.get(("e", "check", "e_h_check"))
    assert rows[("e", "check", "e_h_enum")][0] == "done", rows.get(("e", "check", "e_h_enum"))
    checks = constraints(local, EDGE_DB, "e", "c")
    assert {"e_h_check", "e_h_enum"} <= set(checks), checks
    assert checks["e_h_check"][1] is True and checks["e_h_enum"][1] is True
    with pytest.raises(pymysql.err.MySQLError):
        my_insert(EDGE_DB, "INSERT INTO e (id, h) VALUES (90, 'c')")
    assert fails_with(local, f"INSERT INTO {EDGE_DB}.e (id, h) VALUES (90, 'c')") is psycopg2.errors.CheckViolation
    assert fails_with(local, f"INSERT INTO {EDGE_DB}.e (id, h) VALUES (90, 'zz')") is psycopg2.errors.CheckViolation
    assert fails_with(local, f"INSERT INTO {EDGE_DB}.e (id, h) VALUES (90, 'b')") is None


def test_edge_default_with_a_newline(edge_copy):
    local = edge_copy
    assert my_rows(EDGE_DB, "SELECT nl FROM e WHERE id = 1") == (("a\nb",),)
    copied = one(local, f"SELECT nl FROM {EDGE_DB}.e WHERE id = 1")[0]
    assert copied == "a\nb"
    assert structures(local, EDGE_TASK)[("e", "default", "nl")][0] == "done"
    assert one(local, f"INSERT INTO {EDGE_DB}.e (id) VALUES (91) RETURNING nl") == (copied,)
    run(local, f"DELETE FROM {EDGE_DB}.e WHERE id = 91")


def test_edge_bit_default_shorter_than_the_column(edge_copy):
    """BIT(8) DEFAULT b'101' is 00000101 (= 5), padded on the left."""
    local = edge_copy
    copied = one(local, f"SELECT f::text FROM {EDGE_DB}.e WHERE id = 1")[0]
    assert copied == "00000101"
    assert my_rows(EDGE_DB, "SELECT f + 0 FROM e WHERE id = 1") == ((5,),)
    assert structures(local, EDGE_TASK)[("e", "default", "f")][0] == "done"
    assert one(local, f"INSERT INTO {EDGE_DB}.e (id) VALUES (92) RETURNING f::text") == (copied,)
    run(local, f"DELETE FROM {EDGE_DB}.e WHERE id = 92")


def test_edge_enum_label_with_a_backslash(edge_copy):
    local = edge_copy
    st = structures(local, EDGE_TASK)[("e", "check", "e_e2_enum")]
    assert st[0] == "done", st
    assert one(local, f"SELECT e2 FROM {EDGE_DB}.e WHERE id = 1") == ("x\\y",)
    checks = constraints(local, EDGE_DB, "e", "c")
    assert checks["e_e2_enum"][1] is True, checks
    assert fails_with(local, f"INSERT INTO {EDGE_DB}.e (id, e2) VALUES (94, 'x\\\\y')") \
        is psycopg2.errors.CheckViolation
    assert fails_with(local, f"INSERT INTO {EDGE_DB}.e (id, e2) VALUES (94, 'xy')") is psycopg2.errors.CheckViolation
    assert fails_with(local, f"INSERT INTO {EDGE_DB}.e (id, e2) VALUES (94, 'x\\y')") is None
    assert fails_with(local, f"INSERT INTO {EDGE_DB}.e (id, e2) VALUES (94, 'z')") is None


def test_edge_index_named_like_a_unique_constraint(edge_copy):
    """KEY code_key next to UNIQUE (code), which PostgreSQL names e_code_key:
    the index is e_code_key_idx."""
    local = edge_copy
    rows = structures(local, EDGE_TASK)
    st = rows[("e", "index", "e_code_key_idx")]
    assert st[0] == "done", st
    assert ("e", "index", "e_code_key") not in rows
    ix = indexes(local, EDGE_DB, "e")
    assert set(ix) == {"e_pkey", "e_code_key", "e_code_key_idx"}, ix
    assert ix["e_code_key"].startswith("CREATE UNIQUE INDEX e_code_key ")
    assert ix["e_code_key_idx"].endswith("USING btree (code, id)"), ix["e_code_key_idx"]
    assert not ix["e_code_key_idx"].startswith("CREATE UNIQUE")


def test_edge_check_with_a_division_is_not_copied(edge_copy):
    """MySQL's / divides exactly, PostgreSQL's truncates integers: qty / 2 <= 2
    would accept qty = 5 at the target, which the source rejects."""
    local = edge_copy
    with pytest.raises(pymysql.err.MySQLError):
        my_insert(EDGE_DB, "INSERT INTO e (id, qty) VALUES (93, 5)")
    (src_clause,), = my_rows(EDGE_DB, "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS"
                                      " WHERE CONSTRAINT_SCHEMA = %s AND CONSTRAINT_NAME = 'c_div'", (EDGE_DB,))
    state, error, ddl = structures(local, EDGE_TASK)[("e", "check", "e_c_div_check")]
    assert state == "not_copied", (state, error, ddl)
    assert error == 'its expression does not translate: "/" has no translation', error
    assert ddl == src_clause
    assert "e_c_div_check" not in constraints(local, EDGE_DB, "e", "c")


def test_resume_plan_of_a_first_start_shows_the_objects(local):
    """The dry run before a first start, its target schema not made yet:
    every object the tables would get, with its DDL, and what is not
    copied; nothing is written."""
    db = "st_mysql_plan"
    fresh_mysql(db, ["CREATE TABLE p (id int PRIMARY KEY)",
                     "CREATE TABLE c (id int AUTO_INCREMENT PRIMARY KEY, p_id int NOT NULL, "
                     "v varchar(20) DEFAULT 'x', KEY v_ix (v), FOREIGN KEY fk_p (p_id) REFERENCES p (id))",
                     "CREATE VIEW w AS SELECT id FROM c"])
    drop_target(local, db)
    got = all_rows(local, "SELECT tb, kind, name, action, ddl FROM ape_resume.resume_plan('st_mysql_plan', %s) "
                          "WHERE kind <> 'table' ORDER BY kind, name", (config(db, "st_mysql_plan"),))
    fk = [r for r in got if r[1] == "foreign_key"]
    assert fk and fk[0][3] == "create" and f"REFERENCES {db}.p (id)" in fk[0][4], got
    assert (None, "view", "w", "not_copied") in [r[:4] for r in got], got
    assert ("c", "index", "c_v_ix_idx", "create", f"CREATE INDEX c_v_ix_idx ON {db}.c (v)") in got
    assert ("c", "identity", "id", "create",
            f"ALTER TABLE {db}.c ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY") in got
    assert ("c", "default", "v", "create",
            f"ALTER TABLE {db}.c ALTER COLUMN v SET DEFAULT 'x'::varchar(20)") in got
    assert one(local, "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (db,)) == (0,)
    assert one(local, "SELECT count(*) FROM ape_resume.tasks WHERE name = 'st_mysql_plan'") == (0,)


def test_a_task_taking_up_another_makes_its_objects(local):
    """Task a fails on an object after its data; task b resumes from a's
    log dir (resume_from_log): it takes a up, with a's objects, and makes
    the one a could not; a's rows are b's now, each object made once."""
    db = "st_mysql_takeup"
    conflict_schema(db)
    drop_target(local, db)
    log_dir = fresh_dir("st_mysql_takeup")
    cfg = f"""
[extractor]
db_type=mysql
url={env("APE_MYSQL_URL")}
[filter]
do_dbs={db}
[runtime]
log_dir={log_dir}
"""
    start(local, "st_mysql_takeup_a", cfg)
    assert wait_state(local, "st_mysql_takeup_a") == "failed"
    assert structures(local, "st_mysql_takeup_a")[("t1", "check", "t1_chk_code_check")][0] == "failed"
    run(local, f"UPDATE {db}.t1 SET code = 'a' WHERE code = 'A'")
    start(local, "st_mysql_takeup_b", cfg + "[resumer]\nresume_from_log=true\n")
    assert wait_state(local, "st_mysql_takeup_b") == "finished", task_row(local, "st_mysql_takeup_b")
    assert structures(local, "st_mysql_takeup_a") == {}
    assert {k: v[0] for k, v in structures(local, "st_mysql_takeup_b").items()} == {
        ("t1", "check", "t1_chk_code_check"): "done", ("t1", "index", "t1_idx_code_idx"): "done",
        ("t2", "index", "t2_idx_v_idx"): "done"}
    assert set(constraints(local, db, "t1", "c")) == {"t1_chk_code_check"}
    assert set(indexes(local, db, "t1")) == {"t1_pkey", "t1_idx_code_idx"}
    assert one(local, f"SELECT count(*) FROM {db}.t2") == (500,)
    for task in ("st_mysql_takeup_a", "st_mysql_takeup_b"):
        drop_task_if_exists(local, task)
