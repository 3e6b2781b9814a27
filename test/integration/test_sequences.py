"""Hostile sequences of events and hostile files (issue 11, items k, n, p,
q, s): each test fails on the code before its fix."""
import json
import os
import re
import stat
import subprocess
import threading
import time

import psycopg2
import pytest

import conftest
from conftest import connect_local, env, fresh_dir, start, wait_state, drop_task_if_exists
from test_pg_copy import pg_exec

SCHEMA = "it_seq"
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \| ")


@pytest.fixture
def source(pgsrc):
    pg_exec(pgsrc, f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.t (id int PRIMARY KEY, v text NOT NULL);
INSERT INTO {SCHEMA}.t SELECT i, 'v' || i FROM generate_series(1, 500) i;
CREATE TABLE {SCHEMA}."evil
2026-01-01 00:00:00.000000 - ERROR - forged" (id int PRIMARY KEY);
INSERT INTO {SCHEMA}."evil
2026-01-01 00:00:00.000000 - ERROR - forged" VALUES (1), (2);
""")
    return pgsrc


def config(log_dir, tables=None):
    do = f"do_tbs={SCHEMA}.t" if tables is None else f"do_dbs={SCHEMA}"
    return f"""
[extractor]
db_type=pg
url={env('APE_PGSRC_URL')}
[sinker]
batch_size=100
[filter]
{do}
[runtime]
log_dir={log_dir}
"""


def fresh_target(local):
    pg_exec(local, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")

def wait_mid_table(local, task, total=20000):
    """Wait until the task's one table is mid-copy."""
    def copied():
        with local.cursor() as cur:
            cur.execute("SELECT rows_copied FROM ape_resume.progress(%s)", (task,))
            row = cur.fetchone()
            return row[0] if row else 0

    conftest.wait_mid_table(copied, total, task)


def stop_mid_table(local, task, total=20000):
    """Wait until the task's one table is mid-copy, then stop the task."""
    wait_mid_table(local, task, total)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.stop_task(%s)", (task,))
    assert wait_state(local, task) == "stopped"



def test_wait_task_in_the_starting_transaction_fails_at_once(local, source):
    """k: the worker waits for the transaction that started the task, so a
    wait_task in it would wait until its timeout."""
    fresh_target(local)
    drop_task_if_exists(local, "it_seq_k")
    conn = connect_local()
    try:
        conn.autocommit = False
        with conn.cursor() as cur:
            cur.execute("SELECT ape_resume.start_task('it_seq_k', %s)",
                        (config(fresh_dir("it_seq_k")),))
            cur.execute("SET LOCAL statement_timeout = '20s'")
            with pytest.raises(psycopg2.errors.ActiveSqlTransaction) as e:
                cur.execute("SELECT ape_resume.wait_task('it_seq_k', 600)")
            assert "in the transaction that started" in str(e.value)
        conn.rollback()
    finally:
        conn.close()
    with local.cursor() as cur:  # rolled back with its transaction: no task
        cur.execute("SELECT count(*) FROM ape_resume.tasks WHERE name = 'it_seq_k'")
        assert cur.fetchone()[0] == 0
    # committed first, the same wait works
    start(local, "it_seq_k", config(fresh_dir("it_seq_k")))
    assert wait_state(local, "it_seq_k") == "finished"


def test_resume_task_refuses_a_log_dir_in_use(local, source):
    """n: task a failed, task b started on the same log_dir; resuming a
    while b runs would have two tasks append to one position.log."""
    fresh_target(local)
    drop_task_if_exists(local, "it_seq_nb")
    d = fresh_dir("it_seq_n")
    bad = config(d).replace(env("APE_PGSRC_URL"), "postgres://nobody:wrong@127.0.0.1:1/x")
    start(local, "it_seq_na", bad)
    assert wait_state(local, "it_seq_na") == "failed"
    pg_exec(local, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}; "
                   f"CREATE TABLE {SCHEMA}.t (id int, v text)")
    # task b's worker blocks on the target table we hold locked: it stays running
    blocker = connect_local()
    try:
        blocker.autocommit = False
        with blocker.cursor() as cur:
            cur.execute(f"LOCK TABLE {SCHEMA}.t IN ACCESS EXCLUSIVE MODE")
        with local.cursor() as cur:
            cur.execute("SELECT ape_resume.start_task('it_seq_nb', %s)", (config(d),))
            with pytest.raises(psycopg2.errors.ObjectInUse) as e:
                cur.execute("SELECT ape_resume.resume_task('it_seq_na')")
            assert f'log directory "{d}" is in use by running task "it_seq_nb"' in str(e.value)
            cur.execute("SELECT state FROM ape_resume.tasks WHERE name = 'it_seq_na'")
            assert cur.fetchone()[0] == "failed"
    finally:
        blocker.rollback()
        blocker.close()
    assert wait_state(local, "it_seq_nb") == "finished"
    drop_task_if_exists(local, "it_seq_na")


def test_torn_last_line_does_not_swallow_the_next(local, source):
    """p: a crash mid-write leaves a line without its newline; the next
    append starts a new line, so only the torn line is bad."""
    fresh_target(local)
    d = fresh_dir("it_seq_p")
    torn = '2026-01-01 00:00:00.000000 | {"type":"RdbSnapshot","db_type":"pg","schema":"x'
    with open(os.path.join(d, "position.log"), "w") as f:
        f.write(torn)
    os.chmod(os.path.join(d, "position.log"), 0o666)
    start(local, "it_seq_p", config(d))
    assert wait_state(local, "it_seq_p") == "finished"
    with open(os.path.join(d, "position.log")) as f:
        lines = f.read().split("\n")
    assert lines[0] == torn
    assert lines[-1] == ""
    assert len(lines) > 2
    for line in lines[1:-1]:
        assert LINE.match(line), line
        json.loads(line.split(" | ")[-1])
    with local.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {SCHEMA}.t")
        assert cur.fetchone()[0] == 500


def test_symlink_in_log_dir_redirects_nothing(local, source):
    """s: a symlink planted as position.log must not redirect the
    worker's appends to the file it points at."""
    fresh_target(local)
    d = fresh_dir("it_seq_s")
    victim = os.path.join(env("APE_SHARED_DIR"), "it_seq_victim")
    with open(victim, "w") as f:
        f.write("precious\n")
    os.chmod(victim, 0o666)
    os.symlink(victim, os.path.join(d, "position.log"))
    start(local, "it_seq_s", config(d))
    assert wait_state(local, "it_seq_s") == "failed"
    with local.cursor() as cur:
        cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = 'it_seq_s'")
        err = cur.fetchone()[0]
    assert "position.log" in err and "symbolic link" in err, err
    with open(victim) as f:
        assert f.read() == "precious\n"
    drop_task_if_exists(local, "it_seq_s")


def test_control_characters_in_names_forge_no_log_line(local, source):
    """s: a source table whose name holds a newline and a fake log line is
    copied, and default.log gets one line per message, the name escaped."""
    fresh_target(local)
    d = fresh_dir("it_seq_ctl")
    start(local, "it_seq_ctl", config(d, tables="all"))
    assert wait_state(local, "it_seq_ctl") == "finished"
    with open(os.path.join(d, "default.log")) as f:
        text = f.read()
    assert "forged" in text
    for line in text.splitlines():
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} - [A-Z]+ - \[\d+\] - ", line), line
        assert not line.startswith("2026-01-01 00:00:00.000000")
    assert 'evil\\n2026-01-01 00:00:00.000000 - ERROR - forged' in text
    with open(os.path.join(env("APE_TESTBED"), "local", "server.log"), errors="replace") as f:
        assert not any(l.startswith("2026-01-01 00:00:00.000000 - ERROR - forged") for l in f)
    with local.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM {SCHEMA}."evil\n2026-01-01 00:00:00.000000 - ERROR - forged"')
        assert cur.fetchone()[0] == 2


@pytest.mark.parametrize("path", ["/dev/zero", "fifo", "dir"])
def test_load_resume_config_refuses_what_is_not_a_regular_file(local, path):
    """q: /dev/zero spun for ever, a FIFO blocked the backend."""
    if path == "fifo":
        path = os.path.join(fresh_dir("it_seq_q"), "fifo")
        os.mkfifo(path)
        os.chmod(path, 0o666)
    elif path == "dir":
        path = fresh_dir("it_seq_q")
    with local.cursor() as cur:
        cur.execute("SET statement_timeout = '20s'")
        with pytest.raises(psycopg2.errors.WrongObjectType) as e:
            cur.execute("SELECT * FROM ape_resume.load_resume_config(%s)", (path,))
        assert f'could not read file "{path}"' in str(e.value)
        assert "directory" in str(e.value) if path.endswith("it_seq_q") else "not a regular file" in str(e.value)
        cur.execute("RESET statement_timeout")


JROLE = "ape_seq_role"


@pytest.fixture
def role(local, source):
    """A role with the file roles and a target schema of its own."""
    for t in ("it_seq_j", "it_seq_e", "it_seq_r", "it_seq_b"):
        drop_task_if_exists(local, t)
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (JROLE,))
        if cur.fetchone():  # left by an interrupted run
            cur.execute(f"DROP OWNED BY {JROLE}")
            cur.execute(f"DROP ROLE {JROLE}")
        cur.execute(f"CREATE ROLE {JROLE} LOGIN IN ROLE pg_read_server_files, pg_write_server_files")
        cur.execute(f"GRANT USAGE ON SCHEMA ape_resume TO {JROLE}")
        cur.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ape_resume TO {JROLE}")
        cur.execute(f"CREATE SCHEMA {SCHEMA} AUTHORIZATION {JROLE}")
    with source.cursor() as cur:
        for i in range(4):
            cur.execute(f"CREATE TABLE {SCHEMA}.m{i} (id int PRIMARY KEY, v text)")
            cur.execute(f"INSERT INTO {SCHEMA}.m{i} SELECT g, 'm{i}-' || g FROM generate_series(1, 3000) g")
    yield JROLE
    for t in ("it_seq_j", "it_seq_e", "it_seq_r", "it_seq_b"):
        drop_task_if_exists(local, t)
    with local.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        cur.execute(f"DROP OWNED BY {JROLE}")
        cur.execute(f"DROP ROLE {JROLE}")


def start_as(local, role, task, cfg):
    with local.cursor() as cur:
        cur.execute(f"SET ROLE {role}")
        try:
            cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, cfg))
        finally:
            cur.execute("RESET ROLE")


def assert_tables_copied(local, source):
    names = ["t"] + [f"m{i}" for i in range(4)]
    for name in names:
        with source.cursor() as cur:
            cur.execute(f"SELECT id, v FROM {SCHEMA}.{name} ORDER BY id")
            want = cur.fetchall()
        with local.cursor() as cur:
            cur.execute(f"SELECT id, v FROM {SCHEMA}.{name} ORDER BY id")
            assert cur.fetchall() == want, name


def test_helpers_dying_at_start_up_leave_the_task_finished(local, role, source):
    """j: the role is made NOLOGIN in the transaction that starts the
    task: the coordinator, connected already, waits for it to commit, and
    every helper it launches then dies at start-up (FATAL).  The
    coordinator copies every table alone, and the task ends finished, not
    running or interrupted."""
    conn = connect_local()
    poll = connect_local()
    poll.autocommit = True
    try:
        conn.autocommit = False
        with conn.cursor() as cur:
            cur.execute(f"SET ROLE {role}")
            cur.execute("SELECT ape_resume.start_task('it_seq_j', %s)",
                        (config(fresh_dir("it_seq_j"), tables="all")
                         + "[parallelizer]\nparallel_size=3\n",))
            cur.execute("RESET ROLE")
            cur.execute(f"ALTER ROLE {role} NOLOGIN")
            # the coordinator is connected once it waits for this transaction
            with poll.cursor() as pcur:
                for _ in range(600):
                    pcur.execute("SELECT count(*) FROM pg_stat_activity "
                                 "WHERE backend_type = 'ape_resume task' AND wait_event_type = 'Lock' "
                                 "AND usename = %s", (role,))
                    if pcur.fetchone()[0] == 1:
                        break
                    time.sleep(0.05)
                else:
                    raise AssertionError("the coordinator did not connect")
        conn.commit()
    finally:
        conn.close()
        poll.close()
    assert wait_state(local, "it_seq_j", 120) == "finished"
    with local.cursor() as cur:
        cur.execute("SELECT state, last_error FROM ape_resume.tasks WHERE name = 'it_seq_j'")
        assert cur.fetchone() == ("finished", None)
        cur.execute("SELECT count(*) FROM ape_resume.worker w JOIN ape_resume.task t "
                    "ON t.id = w.task_id WHERE t.name = 'it_seq_j'")
        assert cur.fetchone()[0] == 0
    assert_tables_copied(local, source)
    with open(os.path.join(env("APE_TESTBED"), "local", "server.log"), errors="replace") as f:
        assert f'role "{role}" is not permitted to log in' in f.read()


def test_role_defaults_do_not_reach_the_workers(local, role, source):
    """e: ALTER ROLE ... SET puts REPEATABLE READ, a statement timeout and
    a search_path in the workers' sessions; four workers copy exactly."""
    with local.cursor() as cur:
        cur.execute(f"ALTER ROLE {role} SET default_transaction_isolation = 'repeatable read'")
        cur.execute(f"ALTER ROLE {role} SET statement_timeout = '1ms'")
        cur.execute(f"ALTER ROLE {role} SET lock_timeout = '1ms'")
        cur.execute(f"ALTER ROLE {role} SET search_path = nowhere")
        cur.execute(f"ALTER ROLE {role} SET DateStyle = 'SQL, DMY'")
    start_as(local, role, "it_seq_e",
             config(fresh_dir("it_seq_e"), tables="all") + "[parallelizer]\nparallel_size=4\n")
    assert wait_state(local, "it_seq_e", 120) == "finished"
    assert_tables_copied(local, source)
    with local.cursor() as cur:
        cur.execute("SELECT pg_catalog.count(*), pg_catalog.sum(rows_copied) "
                    "FROM ape_resume.progress('it_seq_e')")
        assert cur.fetchone() == (6, 500 + 2 + 4 * 3000)


@pytest.mark.parametrize("how", ["no password", "server asks none"])
def test_pg_source_without_password_refused_for_non_superuser(local, role, source, how):
    """r: over the unix socket the source trusts everyone: a role that is
    not a superuser must not connect as the server's user without a
    password (dblink's rule); the superuser may."""
    run = env("PGHOST")
    port = env("APE_PGSRC_PORT")
    if how == "no password":
        url = f"postgres://ape_src@/ape_src?host={run}&port={port}"
        detail = "not a superuser, so its source URL or [extractor] password must give the password"
    else:
        url = f"postgres://ape_src:anything@/ape_src?host={run}&port={port}"
        detail = "not a superuser, and the server did not ask for the password"
    cfg = config(fresh_dir("it_seq_r")).replace(env("APE_PGSRC_URL"), url)
    start_as(local, role, "it_seq_r", cfg)
    assert wait_state(local, "it_seq_r") == "failed"
    with local.cursor() as cur:
        cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = 'it_seq_r'")
        err = cur.fetchone()[0]
    assert "password is required" in err and detail in err and "anything" not in err, err
    with local.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM pg_tables WHERE schemaname = '{SCHEMA}'")
        assert cur.fetchone()[0] == 0
    drop_task_if_exists(local, "it_seq_r")
    # the superuser's task connects the same way
    start(local, "it_seq_r", cfg)
    assert wait_state(local, "it_seq_r") == "finished"
    with local.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {SCHEMA}.t")
        assert cur.fetchone()[0] == 500
    drop_task_if_exists(local, "it_seq_r")


def test_null_in_a_nullable_unique_order_column_is_an_error(local, source):
    """f: the check for NULLs and the copy see different rows (a row
    security policy at the source shows the NULL to COPY only, as a NULL
    inserted between the two would be seen).  The NULL used to become
    position '' (WHERE u > '' copies everything again on a resume); now
    the table fails naming its column, and after the NULL is removed a
    resume finishes it exactly."""
    port = env("APE_PGSRC_PORT")
    pg_exec(source, f"""
DROP ROLE IF EXISTS ape_seq_rls;
CREATE ROLE ape_seq_rls LOGIN PASSWORD 'rls_pw';
GRANT USAGE ON SCHEMA {SCHEMA} TO ape_seq_rls;
CREATE TABLE {SCHEMA}.f (u text UNIQUE, v int NOT NULL);
INSERT INTO {SCHEMA}.f SELECT 'u' || lpad(i::text, 5, '0'), i FROM generate_series(1, 1000) i;
INSERT INTO {SCHEMA}.f VALUES (NULL, 0);
ALTER TABLE {SCHEMA}.f ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_copy_sees_null ON {SCHEMA}.f
    USING (u IS NOT NULL OR pg_catalog.current_query() LIKE 'COPY%');
GRANT SELECT ON {SCHEMA}.f TO ape_seq_rls;
""")
    try:
        fresh_target(local)
        url = f"postgres://ape_seq_rls:rls_pw@127.0.0.1:{port}/ape_src"
        cfg = (config(fresh_dir("it_seq_f")).replace(env("APE_PGSRC_URL"), url)
               .replace(f"do_tbs={SCHEMA}.t", f"do_tbs={SCHEMA}.f"))
        start(local, "it_seq_f", cfg)
        assert wait_state(local, "it_seq_f") == "failed"
        with local.cursor() as cur:
            cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = 'it_seq_f'")
            err = cur.fetchone()[0]
            assert f'order column "u" of table "{SCHEMA}"."f" holds a NULL' in err, err
            cur.execute("SELECT order_col, value, rows_copied, state FROM ape_resume.progress('it_seq_f')")
            assert cur.fetchone() == ("u", "u01000", 1000, "copying")
            cur.execute(f"SELECT count(*), count(DISTINCT u), min(u), max(u) FROM {SCHEMA}.f")
            assert cur.fetchone() == (1000, 1000, "u00001", "u01000")
        pg_exec(source, f"DELETE FROM {SCHEMA}.f WHERE u IS NULL; "
                        f"INSERT INTO {SCHEMA}.f VALUES ('u01001', 1001)")
        with local.cursor() as cur:
            cur.execute("SELECT ape_resume.resume_task('it_seq_f')")
        assert wait_state(local, "it_seq_f") == "finished"
        with local.cursor() as cur:
            cur.execute(f"SELECT count(*), count(DISTINCT u), sum(v) FROM {SCHEMA}.f")
            assert cur.fetchone() == (1001, 1001, 1001 * 1002 // 2)
        drop_task_if_exists(local, "it_seq_f")
    finally:
        pg_exec(source, f"DROP TABLE IF EXISTS {SCHEMA}.f; DROP OWNED BY ape_seq_rls; DROP ROLE ape_seq_rls")


def test_order_column_changed_while_stopped_starts_over_not_mid_range(local, source):
    """a: stopped mid-table while a unique key u orders the copy; a primary
    key on id is added at the source (the task keeps u, still a key), then
    u's unique constraint is dropped, so the next run orders by id.  The
    catalog kept u's value: the worker ran WHERE id > <u's value> (u runs
    backwards to id: rows lost), while resume_plan said full.  Now the old
    position is dropped with the old column: the copy starts over and,
    the target holding rows, refuses with a clear error; truncated, the
    target gets every row once."""
    pg_exec(source, f"""
CREATE TABLE {SCHEMA}.a (id int NOT NULL, u int NOT NULL UNIQUE, v text NOT NULL);
INSERT INTO {SCHEMA}.a SELECT i, 100000 - i, 'a' || i FROM generate_series(1, 20000) i;
ANALYZE {SCHEMA}.a;
""")
    pg_exec(local, f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.a (id int, u int, v text);
CREATE FUNCTION {SCHEMA}.slow() RETURNS trigger LANGUAGE plpgsql
    AS $$BEGIN PERFORM pg_sleep(0.01); RETURN NULL; END$$;
CREATE TRIGGER slow AFTER INSERT ON {SCHEMA}.a FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.slow();
""")
    cfg = config(fresh_dir("it_seq_a")).replace(f"do_tbs={SCHEMA}.t", f"do_tbs={SCHEMA}.a")
    start(local, "it_seq_a", cfg)
    stop_mid_table(local, "it_seq_a")
    with local.cursor() as cur:
        cur.execute("SELECT order_col, value FROM ape_resume.progress('it_seq_a')")
        oc, value = cur.fetchone()
    assert oc == "u" and 80000 < int(value) < 100000
    pg_exec(source, f"ALTER TABLE {SCHEMA}.a ADD PRIMARY KEY (id)")
    with local.cursor() as cur:
        # u is still a usable key: the task keeps the key its catalog holds
        # a position on rather than starting over on the new primary key
        cur.execute("SELECT action, order_col, value FROM ape_resume.resume_plan('it_seq_a')")
        assert cur.fetchall() == [("resume", "u", value)]
    pg_exec(source, f"ALTER TABLE {SCHEMA}.a DROP CONSTRAINT a_u_key")
    with local.cursor() as cur:
        cur.execute("SELECT action, value FROM ape_resume.resume_plan('it_seq_a')")
        assert cur.fetchall() == [("full", None)]
        cur.execute("SELECT ape_resume.resume_task('it_seq_a')")
    assert wait_state(local, "it_seq_a") == "failed"
    with local.cursor() as cur:
        cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = 'it_seq_a'")
        assert f'target table "{SCHEMA}"."a" is not empty' in cur.fetchone()[0]
        cur.execute("SELECT order_col, value, rows_copied FROM ape_resume.progress('it_seq_a')")
        assert cur.fetchone() == ("id", None, 0)
        cur.execute(f"TRUNCATE {SCHEMA}.a")
        cur.execute("SELECT ape_resume.resume_task('it_seq_a')")
    assert wait_state(local, "it_seq_a", 120) == "finished"
    with local.cursor() as cur:
        cur.execute(f"SELECT count(*), count(DISTINCT id), sum(id), sum(u) FROM {SCHEMA}.a")
        assert cur.fetchone() == (20000, 20000, 20000 * 20001 // 2, 20000 * 100000 - 20000 * 20001 // 2)
        cur.execute("SELECT rows_copied FROM ape_resume.progress('it_seq_a')")
        assert cur.fetchone()[0] == 20000
    drop_task_if_exists(local, "it_seq_a")


def test_hostile_source_type_names_run_nothing_on_the_target(local, pgsrc):
    """h: a PostgreSQL source whose format_type() answers SQL (a hostile
    server, or a man in the middle) instead of a type name.  Its text used
    to go into CREATE TABLE run as several statements; now it is parsed as
    a type name only, and the table fails naming it."""
    port = env("APE_PGSRC_PORT")
    admin = f"postgres://ape_src:pgsrc_secret_pw@127.0.0.1:{port}"
    subprocess.run(["psql", "-X", "-q", f"{admin}/ape_src", "-c", "DROP DATABASE IF EXISTS it_seq_hostile",
                    "-c", "CREATE DATABASE it_seq_hostile"], check=True, capture_output=True)
    try:
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", f"{admin}/it_seq_hostile"], input="""
SET allow_system_table_mods = on;
CREATE SCHEMA h;
CREATE TABLE h.t (id int PRIMARY KEY, v text);
INSERT INTO h.t VALUES (1, 'one');
CREATE FUNCTION pg_catalog.format_type_real(oid, int) RETURNS text
    LANGUAGE internal STABLE AS 'format_type';
CREATE OR REPLACE FUNCTION pg_catalog.format_type(oid, int) RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT CASE WHEN $1 = 25
                 THEN 'text); CREATE TABLE public.it_seq_pwned (a int); CREATE TABLE public.it_seq_pwned2 (b text'
                 WHEN $1 = 1043 THEN 'public.it_seq_dom'
                 ELSE pg_catalog.format_type_real($1, $2) END $$;
CREATE TABLE h.u (id int PRIMARY KEY, w varchar(10));
INSERT INTO h.u VALUES (1, 'one');
""", text=True, check=True, capture_output=True)
        with local.cursor() as cur:
            cur.execute("DROP SCHEMA IF EXISTS h CASCADE")
            cur.execute("DROP TABLE IF EXISTS public.it_seq_pwned, public.it_seq_pwned2")
        cfg = f"""
[extractor]
db_type=pg
url={admin}/it_seq_hostile
[filter]
do_dbs=h
[runtime]
log_dir={fresh_dir("it_seq_h")}
"""
        start(local, "it_seq_h", cfg)
        assert wait_state(local, "it_seq_h") == "failed"
        with local.cursor() as cur:
            cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = 'it_seq_h'")
            err = cur.fetchone()[0]
            assert 'could not create target table h.t for source table "h"."t"' in err, err
            cur.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'it_seq_pwned%' "
                        "OR schemaname = 'h'")
            assert cur.fetchone()[0] == 0
        drop_task_if_exists(local, "it_seq_h")
        # a domain of the target, whose CHECK would run a function of its owner's
        pg_exec(local, """
DROP DOMAIN IF EXISTS public.it_seq_dom; DROP SEQUENCE IF EXISTS public.it_seq_spied;
CREATE SEQUENCE public.it_seq_spied;
CREATE FUNCTION public.it_seq_spy(v text) RETURNS boolean LANGUAGE sql
    AS $$ SELECT pg_catalog.nextval('public.it_seq_spied') > 0 $$;
CREATE DOMAIN public.it_seq_dom AS text CHECK (public.it_seq_spy(VALUE));
""")
        start(local, "it_seq_h", cfg.replace("do_dbs=h", "do_tbs=h.u"))
        assert wait_state(local, "it_seq_h") == "failed"
        with local.cursor() as cur:
            cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = 'it_seq_h'")
            err = cur.fetchone()[0]
            assert 'type public.it_seq_dom of column "w" is not a base type' in err, err
            cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'h'")
            assert cur.fetchone()[0] == 0
            cur.execute("SELECT last_value, is_called FROM public.it_seq_spied")
            assert cur.fetchone() == (1, False)
            cur.execute("DROP DOMAIN public.it_seq_dom; DROP FUNCTION public.it_seq_spy(text); "
                        "DROP SEQUENCE public.it_seq_spied")
        drop_task_if_exists(local, "it_seq_h")
    finally:
        subprocess.run(["psql", "-X", "-q", f"{admin}/ape_src", "-c", "DROP DATABASE IF EXISTS it_seq_hostile"],
                       check=True, capture_output=True)


@pytest.mark.parametrize("table_replaced", [False, True])
def test_keys_of_a_created_target_survive_drop_task(local, source, table_replaced):
    """m: ape_resume creates the target without its keys and adds them when
    the table is complete.  The keys were remembered only with the task
    that created the table: after drop_task, a new task resuming from the
    same log_dir completed the table and never added them.  A table the
    user created since under the same names is not ours: it gets none."""
    pg_exec(source, f"""
CREATE TABLE {SCHEMA}.k (id int PRIMARY KEY, code text NOT NULL UNIQUE, v text);
INSERT INTO {SCHEMA}.k SELECT i, 'c' || i, 'v' || i FROM generate_series(1, 20000) i;
ANALYZE {SCHEMA}.k;
""")
    fresh_target(local)
    # every table created in the schema gets a slow insert trigger, so the
    # copy can be stopped mid-table
    pg_exec(local, f"""
DROP EVENT TRIGGER IF EXISTS it_seq_slow_tables;
CREATE OR REPLACE FUNCTION public.it_seq_slow() RETURNS trigger LANGUAGE plpgsql
    AS $$BEGIN PERFORM pg_sleep(0.01); RETURN NULL; END$$;
CREATE OR REPLACE FUNCTION public.it_seq_slow_tables() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_ddl_commands()
           WHERE command_tag = 'CREATE TABLE' AND schema_name = '{SCHEMA}' LOOP
    EXECUTE format('CREATE TRIGGER slow AFTER INSERT ON %s FOR EACH STATEMENT '
                   'EXECUTE FUNCTION public.it_seq_slow()', r.object_identity);
  END LOOP;
END $$;
CREATE EVENT TRIGGER it_seq_slow_tables ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
    EXECUTE FUNCTION public.it_seq_slow_tables();
""")
    try:
        d = fresh_dir("it_seq_m")
        cfg = config(d).replace(f"do_tbs={SCHEMA}.t", f"do_tbs={SCHEMA}.k")
        drop_task_if_exists(local, "it_seq_m2")
        start(local, "it_seq_m1", cfg)
        stop_mid_table(local, "it_seq_m1")
        with local.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_catalog.pg_constraint "
                        f"WHERE conrelid = '{SCHEMA}.k'::regclass")
            assert cur.fetchone()[0] == 0  # not yet: added when the table is complete
            cur.execute("SELECT ape_resume.drop_task('it_seq_m1')")
            cur.execute("DROP EVENT TRIGGER it_seq_slow_tables")
            if table_replaced:
                cur.execute(f"DROP TABLE {SCHEMA}.k")
                cur.execute(f"CREATE TABLE {SCHEMA}.k (id int, code text, v text)")
        start(local, "it_seq_m2", config(d).replace(f"do_tbs={SCHEMA}.t", f"do_tbs={SCHEMA}.k")
              + "[resumer]\nresume_from_log=true\n")
        assert wait_state(local, "it_seq_m2") == "finished"
        with local.cursor() as cur:
            cur.execute("SELECT contype, pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint "
                        f"WHERE conrelid = '{SCHEMA}.k'::regclass ORDER BY contype")
            if table_replaced:
                assert cur.fetchall() == []
                drop_task_if_exists(local, "it_seq_m2")
                return
            assert cur.fetchall() == [("p", "PRIMARY KEY (id)"), ("u", "UNIQUE (code)")]
            cur.execute(f"SELECT count(*), count(DISTINCT id), sum(id) FROM {SCHEMA}.k")
            assert cur.fetchone() == (20000, 20000, 20000 * 20001 // 2)
            cur.execute("SELECT count(*) FROM ape_resume.target_keys "
                        f"WHERE dst_schema = '{SCHEMA}' AND dst_tb = 'k'")
            assert cur.fetchone()[0] == 0
        drop_task_if_exists(local, "it_seq_m2")
    finally:
        pg_exec(local, "DROP EVENT TRIGGER IF EXISTS it_seq_slow_tables")


def launcher_pid(local):
    with local.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'ape_resume launcher'")
        row = cur.fetchone()
        return row[0] if row else None


def wait_launcher(local, other_than=None):
    deadline = time.time() + 60
    while time.time() < deadline:
        pid = launcher_pid(local)
        if pid and pid != other_than:
            return pid
        time.sleep(0.1)
    raise AssertionError("no launcher")


def slow_source_task(local, source, task):
    """A task on a 20000-row table whose target is slow; returns when it is
    mid-table."""
    pg_exec(source, f"""
DROP TABLE IF EXISTS {SCHEMA}.o;
CREATE TABLE {SCHEMA}.o (id int PRIMARY KEY, v text NOT NULL);
INSERT INTO {SCHEMA}.o SELECT i, 'o' || i FROM generate_series(1, 20000) i;
""")
    pg_exec(local, f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.o (id int, v text);
CREATE FUNCTION {SCHEMA}.slow() RETURNS trigger LANGUAGE plpgsql
    AS $$BEGIN PERFORM pg_sleep(0.01); RETURN NULL; END$$;
CREATE TRIGGER slow AFTER INSERT ON {SCHEMA}.o FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.slow();
""")
    start(local, task, config(fresh_dir(task)).replace(f"do_tbs={SCHEMA}.t", f"do_tbs={SCHEMA}.o"))
    wait_mid_table(local, task)


def test_launcher_restart_does_not_resume_terminated_tasks(local, source):
    """o: the launcher resumes the tasks a server restart interrupted, once
    per server start.  A launcher that restarted alone (terminated here)
    used to resume as well the tasks whose workers had been terminated on
    purpose; now they stay interrupted."""
    first = wait_launcher(local)
    slow_source_task(local, source, "it_seq_o")
    with local.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (first,))
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE backend_type = 'ape_resume task'")
    wait_launcher(local, other_than=first)
    assert wait_state(local, "it_seq_o") == "interrupted"
    with local.cursor() as cur:
        cur.execute("SELECT rows_copied FROM ape_resume.progress('it_seq_o')")
        copied = cur.fetchone()[0]
    time.sleep(3)  # a few passes of the new launcher: it resumes nothing
    with local.cursor() as cur:
        cur.execute("SELECT state FROM ape_resume.tasks WHERE name = 'it_seq_o'")
        assert cur.fetchone()[0] == "interrupted"
        cur.execute("SELECT rows_copied FROM ape_resume.progress('it_seq_o')")
        assert cur.fetchone()[0] == copied
        cur.execute("SELECT ape_resume.resume_task('it_seq_o')")
    assert wait_state(local, "it_seq_o", 120) == "finished"
    with local.cursor() as cur:
        cur.execute(f"SELECT count(*), count(DISTINCT id) FROM {SCHEMA}.o")
        assert cur.fetchone() == (20000, 20000)
    drop_task_if_exists(local, "it_seq_o")


def test_launcher_survives_an_error_in_a_pass(local):
    """o: an ERROR in a pass of the launcher (here: the catalog of its
    database claims another version) used to kill it; now it logs the
    error and goes on, the same process."""
    pid = wait_launcher(local)
    log = os.path.join(env("APE_TESTBED"), "local", "server.log")
    size = os.path.getsize(log)
    with local.cursor() as cur:
        cur.execute("UPDATE pg_catalog.pg_extension SET extversion = '0.1.0' WHERE extname = 'ape_resume'")
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(log, errors="replace") as f:
                f.seek(size)
                if f"is at version 0.1.0, the library needs {conftest.CATALOG_VERSION}" in f.read():
                    break
            time.sleep(0.2)
        else:
            raise AssertionError("the launcher logged no error")
    finally:
        with local.cursor() as cur:
            cur.execute("UPDATE pg_catalog.pg_extension SET extversion = %s WHERE extname = 'ape_resume'",
                        (conftest.CATALOG_VERSION,))
    time.sleep(1)
    assert launcher_pid(local) == pid


def test_concurrent_starts_respect_max_workers(local, source):
    """t: six sessions start a task each at the same moment, with
    ape_resume.max_workers = 2.  Slots were counted in pg_stat_activity,
    where a worker appears only once connected, so concurrent launches all
    saw free slots.  Now launches are serialized until the new worker is
    counted: never more than two run; the others wait in the queue and
    every task finishes exactly."""
    n = 6
    pg_exec(source, "".join(
        f"DROP TABLE IF EXISTS {SCHEMA}.w{i}; CREATE TABLE {SCHEMA}.w{i} (id int PRIMARY KEY); "
        f"INSERT INTO {SCHEMA}.w{i} SELECT generate_series(1, 5000);" for i in range(n)))
    pg_exec(local, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}; "
                   f"CREATE FUNCTION {SCHEMA}.slow() RETURNS trigger LANGUAGE plpgsql "
                   f"AS $$BEGIN PERFORM pg_sleep(0.01); RETURN NULL; END$$;" + "".join(
        f"CREATE TABLE {SCHEMA}.w{i} (id int); CREATE TRIGGER slow AFTER INSERT ON {SCHEMA}.w{i} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.slow();" for i in range(n)))
    for i in range(n):
        drop_task_if_exists(local, f"it_seq_t{i}")
    with conftest.server_setting("ape_resume.max_workers", "2"):
        barrier = threading.Barrier(n)
        errors = []

        def go(i):
            conn = connect_local()
            try:
                with conn.cursor() as cur:
                    cfg = config(fresh_dir(f"it_seq_t{i}")).replace(f"do_tbs={SCHEMA}.t", f"do_tbs={SCHEMA}.w{i}")
                    barrier.wait()
                    cur.execute("SELECT ape_resume.start_task(%s, %s)", (f"it_seq_t{i}", cfg))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            finally:
                conn.close()

        threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        most = 0
        deadline = time.time() + 120
        with local.cursor() as cur:
            while time.time() < deadline:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'ape_resume task'")
                most = max(most, cur.fetchone()[0])
                cur.execute("SELECT count(*) FROM ape_resume.tasks WHERE name LIKE 'it\\_seq\\_t_' "
                            "AND state = 'finished'")
                if cur.fetchone()[0] == n:
                    break
                time.sleep(0.01)
        for t in threads:
            t.join()
        assert errors == []
        assert most == 2, most
    with local.cursor() as cur:
        for i in range(n):
            assert wait_state(local, f"it_seq_t{i}") == "finished"
            cur.execute(f"SELECT count(*), count(DISTINCT id) FROM {SCHEMA}.w{i}")
            assert cur.fetchone() == (5000, 5000)
    for i in range(n):
        drop_task_if_exists(local, f"it_seq_t{i}")


def test_superuser_resuming_a_roles_task_lends_it_nothing(local, role, source):
    """b: resume_task launched the coordinator as the caller; a superuser
    resuming another role's task ran it as superuser.  The worker is the
    task's owner, whoever resumes."""
    pg_exec(source, f"""
DROP TABLE IF EXISTS {SCHEMA}.o;
CREATE TABLE {SCHEMA}.o (id int PRIMARY KEY, v text NOT NULL);
INSERT INTO {SCHEMA}.o SELECT i, 'o' || i FROM generate_series(1, 20000) i;
""")
    pg_exec(local, f"""
SET ROLE {role};
CREATE TABLE {SCHEMA}.o (id int, v text);
CREATE FUNCTION {SCHEMA}.slow() RETURNS trigger LANGUAGE plpgsql
    AS $$BEGIN PERFORM pg_sleep(0.01); RETURN NULL; END$$;
CREATE TRIGGER slow AFTER INSERT ON {SCHEMA}.o FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.slow();
RESET ROLE;
""")
    drop_task_if_exists(local, "it_seq_b")
    start_as(local, role, "it_seq_b",
             config(fresh_dir("it_seq_b")).replace(f"do_tbs={SCHEMA}.t", f"do_tbs={SCHEMA}.o"))
    stop_mid_table(local, "it_seq_b")
    with local.cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone()[0] is True
        cur.execute("SELECT ape_resume.resume_task('it_seq_b')")
    users = set()
    with local.cursor() as cur:
        deadline = time.time() + 60
        while time.time() < deadline:
            cur.execute("SELECT usename FROM pg_stat_activity WHERE backend_type = 'ape_resume task' "
                        "AND application_name LIKE 'ape_resume it_seq_b%'")
            users |= {r[0] for r in cur.fetchall()}
            cur.execute("SELECT state FROM ape_resume.tasks WHERE name = 'it_seq_b'")
            if cur.fetchone()[0] not in ("pending", "running"):
                break
            time.sleep(0.02)
    assert users == {role}
    assert wait_state(local, "it_seq_b") == "finished"
    with local.cursor() as cur:
        cur.execute(f"SELECT count(*), count(DISTINCT id) FROM {SCHEMA}.o")
        assert cur.fetchone() == (20000, 20000)
    drop_task_if_exists(local, "it_seq_b")


def test_a_triggers_set_does_not_outlive_its_batch(local, source):
    """Review of issue 11: the worker pinned its settings at a level below
    SET's, so a trigger of a target table running SET changed them for the
    rest of the run (REPEATABLE READ for every later batch).  Each batch
    now starts with the pinned settings again."""
    pg_exec(local, f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.t (id int, v text);
CREATE TABLE {SCHEMA}.seen (n serial, iso text, datestyle text);
CREATE FUNCTION {SCHEMA}.meddle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {SCHEMA}.seen (iso, datestyle)
    VALUES (current_setting('transaction_isolation'), current_setting('DateStyle'));
  PERFORM set_config('default_transaction_isolation', 'repeatable read', false);
  PERFORM set_config('DateStyle', 'SQL, DMY', false);
  RETURN NULL;
END $$;
CREATE TRIGGER meddle AFTER INSERT ON {SCHEMA}.t FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.meddle();
""")
    start(local, "it_seq_set", config(fresh_dir("it_seq_set")))
    assert wait_state(local, "it_seq_set") == "finished"
    with local.cursor() as cur:
        cur.execute(f"SELECT iso, datestyle, count(*) >= 5 FROM {SCHEMA}.seen GROUP BY 1, 2")
        assert cur.fetchall() == [("read committed", "ISO, MDY", True)]
        cur.execute(f"SELECT count(*), count(DISTINCT id) FROM {SCHEMA}.t")
        assert cur.fetchone() == (500, 500)
    drop_task_if_exists(local, "it_seq_set")
