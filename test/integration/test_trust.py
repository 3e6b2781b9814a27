"""Trust: a role with EXECUTE on ape_resume gains nothing through it, and
none of its functions runs in ape_resume's statements, whatever its
search_path (the CVE-2018-1058 pattern): every SQL entry point is called by
a role whose first schema shadows the operators and functions that
statements use, and by its workers, which inherit ALTER ROLE ... SET."""
import os

import psycopg2
import pytest

from conftest import env, fresh_dir, drop_task_if_exists

ROLE = "ape_trust_evil"
TASK = "it_trust_evil"
DB = "it_trust_db"

# Every function of the role's schema counts its calls in a sequence (not
# rolled back with an error) and tries to make the role a superuser.
EVIL_SETUP = f"""
CREATE SCHEMA evil AUTHORIZATION {ROLE};
SET ROLE {ROLE};
CREATE SEQUENCE evil.hits;
CREATE FUNCTION evil.hit() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_catalog.nextval('evil.hits');
  BEGIN
    EXECUTE 'ALTER ROLE {ROLE} SUPERUSER';
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
END $$;
"""

OPS = {"=": "eq", "<": "lt", ">": "gt", "<>": "ne"}
TYPES = {"text": "text", "bigint": "int8", "integer": "int4"}


def evil_objects():
    sql = []
    for op, name in OPS.items():
        for typ, short in TYPES.items():
            fn = f"evil.{short}{name}"
            sql.append(f"""
CREATE FUNCTION {fn}(a {typ}, b {typ}) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.hit(); RETURN a OPERATOR(pg_catalog.{op}) b; END $$;
CREATE OPERATOR evil.{op} (LEFTARG = {typ}, RIGHTARG = {typ}, FUNCTION = {fn});""")
    sql.append("""
CREATE FUNCTION evil.count_sf(s bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.hit(); RETURN s + 1; END $$;
CREATE AGGREGATE evil.count(*) (SFUNC = evil.count_sf, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION evil.count_any_sf(s bigint, v anyelement) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.hit(); RETURN s + 1; END $$;
CREATE AGGREGATE evil.count(anyelement) (SFUNC = evil.count_any_sf, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION evil.max_sf(s bigint, v bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.hit(); RETURN pg_catalog.int8larger(s, v); END $$;
CREATE AGGREGATE evil.max(bigint) (SFUNC = evil.max_sf, STYPE = bigint);
CREATE FUNCTION evil.coalesce(a text, b text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.hit(); RETURN b; END $$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.hit(); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION evil.lower(a text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.hit(); RETURN pg_catalog.lower(a); END $$;
""")
    return "\n".join(sql)


def hits(cur):
    cur.execute("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM evil.hits")
    return cur.fetchone()[0]


def is_superuser(cur):
    cur.execute("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = %s", (ROLE,))
    return cur.fetchone()[0]


def config(log_dir):
    return f"""
[extractor]
db_type=mysql
url={env('APE_MYSQL_URL')}
batch_size=10
[filter]
do_dbs={DB}
[runtime]
log_dir={log_dir}
"""


@pytest.fixture
def evil(local, mysql_admin):
    with mysql_admin.cursor() as my:
        my.execute(f"DROP DATABASE IF EXISTS {DB}")
        my.execute(f"CREATE DATABASE {DB}")
        my.execute(f"USE {DB}")
        my.execute(f"CREATE TABLE {DB}.t (id int PRIMARY KEY, v varchar(20))")
        my.execute(f"INSERT INTO {DB}.t SELECT seq, concat('v', seq) FROM seq_1_to_95")
    with local.cursor() as cur:
        drop_task_if_exists(local, TASK)
        cur.execute(f"DROP SCHEMA IF EXISTS evil, {DB} CASCADE")
        cur.execute(f"DROP ROLE IF EXISTS {ROLE}")
        cur.execute(f"CREATE ROLE {ROLE} LOGIN")
        cur.execute(f"GRANT USAGE ON SCHEMA ape_resume TO {ROLE}")
        cur.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ape_resume TO {ROLE}")
        cur.execute(f"GRANT pg_read_server_files, pg_write_server_files TO {ROLE}")
        cur.execute(f"GRANT CREATE ON DATABASE {env('PGDATABASE')} TO {ROLE}")
        cur.execute(EVIL_SETUP + evil_objects())
        cur.execute("RESET ROLE")
        # the workers start with the role's defaults
        cur.execute(f"ALTER ROLE {ROLE} SET search_path = evil, pg_catalog")
    conn = psycopg2.connect(host=env("PGHOST"), port=env("PGPORT"), user=ROLE,
                            dbname=env("PGDATABASE"))
    conn.autocommit = True
    yield conn
    conn.close()
    with local.cursor() as cur:
        drop_task_if_exists(local, TASK)
        cur.execute(f"DROP SCHEMA IF EXISTS evil, {DB} CASCADE")
        cur.execute(f"REVOKE ALL ON SCHEMA ape_resume FROM {ROLE}")
        cur.execute(f"REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ape_resume FROM {ROLE}")
        cur.execute(f"REVOKE CREATE ON DATABASE {env('PGDATABASE')} FROM {ROLE}")
        cur.execute(f"DROP ROLE {ROLE}")


def test_no_entry_point_runs_the_callers_functions(local, evil):
    log_dir = fresh_dir("it_trust_evil")
    with evil.cursor() as cur:
        cur.execute("SHOW search_path")
        assert cur.fetchone()[0] == "evil, pg_catalog"
        # the shadowing works: plain SQL of the role's own runs its operators
        cur.execute("SELECT 'a'::text = 'a'::text, 1::bigint < 2::bigint, lower('A')")
        assert cur.fetchone() == (True, True, "a")
        assert hits(cur) == 3
        cur.execute("SELECT pg_catalog.setval('evil.hits', 1, false)")
        assert hits(cur) == 0

        calls = [
            ("SELECT ape_resume.start_task(%s, %s)", (TASK, config(log_dir))),
            ("SELECT ape_resume.wait_task(%s, 60)", (TASK,)),
            ("SELECT * FROM ape_resume.progress(%s)", (TASK,)),
            ("SELECT * FROM ape_resume.progress", None),
            ("SELECT * FROM ape_resume.tasks", None),
            ("SELECT ape_resume.stop_task(%s)", (TASK,)),
            ("SELECT * FROM ape_resume.parse_config(%s, %s)", (config(log_dir), TASK)),
            ("SELECT * FROM ape_resume.resume_plan(%s)", (TASK,)),
            ("SELECT * FROM ape_resume.resume_plan(%s, %s)", ("other", config(log_dir))),
            ("SELECT * FROM ape_resume.load_resume_config(%s)",
             (os.path.join(log_dir, "position.log"),)),
            ("SELECT ape_resume.resume_task(%s)", (TASK,)),
            ("SELECT ape_resume.drop_task(%s)", (TASK,)),
        ]
        results = {}
        for sql, args in calls:
            try:
                cur.execute(sql, args)
                results[sql] = cur.fetchall()
            except psycopg2.Error as e:
                results[sql] = e.pgerror
            assert hits(cur) == 0, f"the role's functions ran in: {sql}"
            assert not is_superuser(cur), f"the role became a superuser through: {sql}"

    # the calls did their work (the worker, as the role, copied every row)
    assert results["SELECT ape_resume.wait_task(%s, 60)"] == [("finished",)]
    assert [r[1:3] for r in results["SELECT * FROM ape_resume.progress(%s)"]] == [(DB, "t")]
    assert results["SELECT ape_resume.stop_task(%s)"] == [(False,)]
    assert "has already finished" in results["SELECT ape_resume.resume_task(%s)"]
    assert results["SELECT ape_resume.drop_task(%s)"] == [("",)]
    assert [r[5] for r in results["SELECT * FROM ape_resume.resume_plan(%s, %s)"]] == ["full"]
    with local.cursor() as cur:
        cur.execute(f'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM "{DB}".t')
        assert cur.fetchone() == (95, 95, 1, 95)
        cur.execute(f"SELECT tableowner FROM pg_catalog.pg_tables WHERE schemaname = '{DB}'")
        assert cur.fetchone()[0] == ROLE
        cur.execute("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM evil.hits")
        assert cur.fetchone()[0] == 0


def test_views_show_a_role_only_the_tasks_it_may_manage(local, evil):
    with local.cursor() as cur:
        cur.execute("DROP ROLE IF EXISTS ape_trust_other")
        cur.execute("CREATE ROLE ape_trust_other")
        try:
            for name, owner in (("it_trust_mine", ROLE), ("it_trust_theirs", "ape_trust_other")):
                cur.execute("DELETE FROM ape_resume.task WHERE name = %s", (name,))
                cur.execute("INSERT INTO ape_resume.task (name, config, db_type, source_url, log_dir, "
                            "owner, database, state) VALUES (%s, '', 'mysql', 'mysql://u@h', '/tmp/x', "
                            "%s::regrole, 0, 'stopped')", (name, owner))
            with evil.cursor() as ecur:
                ecur.execute("SELECT name FROM ape_resume.tasks WHERE name LIKE 'it_trust_%' ORDER BY 1")
                assert ecur.fetchall() == [("it_trust_mine",)]
                # a leaky function of the caller's never sees the rows filtered out
                ecur.execute("CREATE FUNCTION evil.peek(t text) RETURNS boolean LANGUAGE plpgsql "
                             "COST 0.0000001 AS $$ BEGIN RAISE NOTICE 'saw %', t; RETURN true; END $$")
                ecur.execute("SELECT name FROM ape_resume.tasks WHERE evil.peek(name)")
                assert "it_trust_theirs" not in " ".join(evil.notices)
                assert any("it_trust_mine" in n for n in evil.notices)
            # a member of the other role sees its tasks too; a superuser all
            cur.execute(f"GRANT ape_trust_other TO {ROLE}")
            with evil.cursor() as ecur:
                ecur.execute("SELECT name FROM ape_resume.tasks WHERE name LIKE 'it_trust_%' ORDER BY 1")
                assert ecur.fetchall() == [("it_trust_mine",), ("it_trust_theirs",)]
            cur.execute("SELECT count(*) FROM ape_resume.tasks WHERE name LIKE 'it_trust_%'")
            assert cur.fetchone()[0] == 2
        finally:
            cur.execute("DELETE FROM ape_resume.task WHERE name LIKE 'it_trust_%'")
            cur.execute("DROP ROLE ape_trust_other")


def test_from_target_takes_positions_only_of_tasks_the_role_may_manage(local, evil):
    """resume_type=from_target with a [global] task_id resumes from the newest
    task of that task_id; only from one the role may manage (as the views
    show), or a role could read another's positions (key values of its
    rows) through resume_plan by naming its task_id."""
    cfg = "[global]\ntask_id=it_trust_tid\n" + config(fresh_dir("it_trust_tid")) + \
        "[resumer]\nresume_type=from_target\n"
    with local.cursor() as cur:
        cur.execute("DROP ROLE IF EXISTS ape_trust_other")
        cur.execute("CREATE ROLE ape_trust_other")
        try:
            cur.execute("DELETE FROM ape_resume.task WHERE name = 'it_trust_theirs'")
            cur.execute("INSERT INTO ape_resume.task (name, config, db_type, source_url, log_dir, "
                        "owner, database, state, task_id) VALUES ('it_trust_theirs', '', 'mysql', "
                        "'mysql://u@h', '/tmp/x', 'ape_trust_other'::regrole, 0, 'stopped', "
                        "'it_trust_tid') RETURNING id")
            tid = cur.fetchone()[0]
            cur.execute("INSERT INTO ape_resume.position (task_id, schema, tb, dst_schema, dst_tb, "
                        "state, key_cols, key_values, rows_copied) VALUES "
                        "(%s, %s, 't', %s, 't', 'copying', '{id}', '{42}', 42)", (tid, DB, DB))
            plan = "SELECT action, value, decided_by FROM ape_resume.resume_plan('it_trust_plan', %s)"
            with evil.cursor() as ecur:
                ecur.execute(plan, (cfg,))
                assert ecur.fetchall() == [("full", None, None)]
            cur.execute(f"GRANT ape_trust_other TO {ROLE}")
            with evil.cursor() as ecur:
                ecur.execute(plan, (cfg,))
                assert ecur.fetchall() == [("resume", "42", "catalog")]
            assert hits(cur) == 0
        finally:
            cur.execute("DELETE FROM ape_resume.task WHERE name = 'it_trust_theirs'")
            cur.execute("DROP ROLE ape_trust_other")
