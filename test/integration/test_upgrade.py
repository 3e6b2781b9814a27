"""ALTER EXTENSION ape_resume UPDATE keeps users' tasks, the way a user
upgrades: an earlier release (0.1.0 to 0.6.0, each built from this
repository's history) is installed and runs a finished task, a failed one
and one that failed mid-table with a committed position; then this build
is installed, the catalog is updated, and the tasks are intact, visible,
and the failed ones resume to exact copies (the mid-table one from its
position).  Before the update, this build refuses the old catalog with a
clear error."""
import os
import subprocess

import psycopg2
import pytest

from conftest import REPO, connect_local, env, fresh_dir

DBNAME = "it_upgrade"
SRC_DB = "it_upgrade_src"


def connect(dbname):
    conn = psycopg2.connect(host=env("PGHOST"), port=env("PGPORT"), user=env("PGUSER"),
                            dbname=dbname)
    conn.autocommit = True
    return conn


def config(log_dir, tb):
    return f"""
[extractor]
db_type=mysql
url={env('APE_MYSQL_URL')}
batch_size=7
[filter]
do_tbs={SRC_DB}.{tb}
[runtime]
log_dir={log_dir}
"""


def git(*args):
    return subprocess.run(["git", "-C", REPO, *args], check=True, capture_output=True,
                          text=True).stdout


CURRENT = "0.7.0"


def previous_release(version):
    """The last commit whose ape_resume.control has default_version version."""
    if git("rev-parse", "--is-shallow-repository").strip() == "true":
        # a shallow clone: its origin (often a local path) has the history
        subprocess.run(["git", "-C", REPO, "fetch", "-q", "--unshallow"], capture_output=True)
    newer = None
    for h in git("log", "--format=%H", "--", "ape_resume.control").split():
        if f"default_version = '{version}'" in git("show", f"{h}:ape_resume.control"):
            assert newer, f"the control file never left {version}"
            return git("rev-parse", f"{newer}^").strip()
        newer = h
    raise AssertionError(f"no commit with default_version {version}: the test needs the "
                         "repository's history (not a shallow clone)")


def install(src):
    """Install the build in src, the local server stopped meanwhile."""
    testbed = os.path.join(REPO, "test", "testbed.sh")
    subprocess.run(["bash", testbed, "stop", "local"], check=True, capture_output=True)
    try:
        subprocess.run(["make", "-s", "-C", src, "install"], check=True, capture_output=True)
    finally:
        subprocess.run(["bash", testbed, "start", "local"], check=True, capture_output=True)


@pytest.fixture(params=["0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0", "0.6.0"])
def old_release(request):
    """Build an earlier release once per test bed; after the test, this
    build is installed again whatever happened."""
    version = request.param
    rev = previous_release(version)
    src = os.path.join(env("APE_TESTBED"), f"release-{version}-{rev[:12]}")
    if not os.path.exists(os.path.join(src, "ape_resume.so")):
        os.makedirs(src, exist_ok=True)
        archive = subprocess.run(["git", "-C", REPO, "archive", rev], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", src], input=archive, check=True)
        subprocess.run(["make", "-s", "-j2", "-C", src], check=True, capture_output=True)
    yield version, src
    install(REPO)


def test_update_keeps_tasks_resumable(old_release, mysql_admin):
    version, old_src = old_release
    with mysql_admin.cursor() as my:
        my.execute(f"DROP DATABASE IF EXISTS {SRC_DB}")
        my.execute(f"CREATE DATABASE {SRC_DB}")
        my.execute(f"USE {SRC_DB}")
        for tb in ("a", "b"):
            my.execute(f"CREATE TABLE {tb} (id int PRIMARY KEY, v varchar(10))")
            my.execute(f"INSERT INTO {tb} SELECT seq, concat('{tb}', seq) FROM seq_1_to_50")
        my.execute("CREATE TABLE c (id int PRIMARY KEY, v varchar(10))")
        my.execute("INSERT INTO c SELECT seq, concat('c', seq) FROM seq_1_to_500")
        # d: the old releases order it by the nullable unique u (no NULL in
        # it); this one would choose the composite primary key, but must
        # keep the key the task's position is on
        my.execute("CREATE TABLE d (p int, q int, u int NULL UNIQUE, v varchar(10), "
                   "PRIMARY KEY (p, q))")
        my.execute("INSERT INTO d SELECT seq % 3, seq, seq, concat('d', seq) FROM seq_1_to_500")
        # e: copied after the update, with a secondary index to create
        my.execute("CREATE TABLE e (id int PRIMARY KEY, v varchar(10), KEY e_v (v))")
        my.execute("INSERT INTO e SELECT seq, concat('e', seq) FROM seq_1_to_50")
        # f: copied in chunks after the update
        my.execute("CREATE TABLE f (id int PRIMARY KEY, v varchar(10))")
        my.execute("INSERT INTO f SELECT seq, concat('f', seq) FROM seq_1_to_500")
        my.execute("ANALYZE TABLE f")
    install(old_src)
    local = connect_local()
    with local.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {DBNAME}")
    local.close()
    db = connect(DBNAME)
    try:
        with db.cursor() as cur:
            cur.execute("CREATE EXTENSION ape_resume")
            cur.execute("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'ape_resume'")
            assert cur.fetchone()[0] == version
            # a: finished; b: failed on a target that is not empty
            cur.execute(f'CREATE SCHEMA "{SRC_DB}"')
            cur.execute(f'CREATE TABLE "{SRC_DB}".b (id int, v text)')
            cur.execute(f"INSERT INTO \"{SRC_DB}\".b VALUES (-1, 'in the way')")
            cur.execute("SELECT ape_resume.start_task('up_a', %s)", (config(fresh_dir("it_up_a"), "a"),))
            cur.execute("SELECT ape_resume.wait_task('up_a', 60)")
            assert cur.fetchone()[0] == "finished"
            cur.execute("SELECT ape_resume.start_task('up_b', %s)", (config(fresh_dir("it_up_b"), "b"),))
            cur.execute("SELECT ape_resume.wait_task('up_b', 60)")
            assert cur.fetchone()[0] == "failed"
            # c: fails mid-table (a CHECK of the target) after committed batches
            cur.execute(f'CREATE TABLE "{SRC_DB}".c (id int CHECK (id < 200), v text)')
            cur.execute("SELECT ape_resume.start_task('up_c', %s)", (config(fresh_dir("it_up_c"), "c"),))
            cur.execute("SELECT ape_resume.wait_task('up_c', 60)")
            assert cur.fetchone()[0] == "failed"
            cur.execute("SELECT state, order_col, value, rows_copied FROM ape_resume.progress('up_c')")
            assert cur.fetchall() == [("copying", "id", "196", 196)]
            cur.execute(f'CREATE TABLE "{SRC_DB}".d (p int, q int, u int CHECK (u < 200), v text)')
            cur.execute("SELECT ape_resume.start_task('up_d', %s)", (config(fresh_dir("it_up_d"), "d"),))
            cur.execute("SELECT ape_resume.wait_task('up_d', 60)")
            assert cur.fetchone()[0] == "failed"
            cur.execute("SELECT state, order_col, value, rows_copied FROM ape_resume.progress('up_d')")
            # before 0.3.0 the nullable unique u orders d, from 0.3.0 its
            # composite primary key (p, q); either is kept across the update
            d_key, d_value, d_rows, d_last = (("u", "196", 196, "500") if version < "0.3.0" else
                                              ('["p","q"]', '["0","189"]', 63, '["2","500"]'))
            assert cur.fetchall() == [("copying", d_key, d_value, d_rows)]
            cur.execute("SELECT name, id, state, tables_total, tables_finished, rows_copied "
                        "FROM ape_resume.tasks ORDER BY name")
            before = cur.fetchall()
            assert [(r[0], r[2]) for r in before] == [
                ("up_a", "finished"), ("up_b", "failed"), ("up_c", "failed"), ("up_d", "failed")]
            # a grant of the user's on resume_plan, which 0.5.0 recreates
            cur.execute("DROP ROLE IF EXISTS it_upgrade_planner")
            cur.execute("CREATE ROLE it_upgrade_planner")
            cur.execute("GRANT EXECUTE ON FUNCTION ape_resume.resume_plan(text, text) TO it_upgrade_planner")
        db.close()

        # this build: the old catalog is refused until it is updated
        install(REPO)
        connect_local().close()
        db = connect(DBNAME)
        with db.cursor() as cur:
            with pytest.raises(psycopg2.errors.ObjectNotInPrerequisiteState) as e:
                cur.execute("SELECT ape_resume.resume_task('up_b')")
            assert (f'the ape_resume catalog of database "it_upgrade" is at version {version}, '
                    f'the library needs {CURRENT}') in str(e.value)
            assert "ALTER EXTENSION ape_resume UPDATE" in str(e.value)
            cur.execute("ALTER EXTENSION ape_resume UPDATE")
            cur.execute("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'ape_resume'")
            assert cur.fetchone()[0] == CURRENT
            cur.execute("SELECT name, id, state, tables_total, tables_finished, rows_copied "
                        "FROM ape_resume.tasks ORDER BY name")
            assert cur.fetchall() == before
            cur.execute("SELECT schema, tb, state, rows_copied FROM ape_resume.progress('up_a')")
            assert cur.fetchall() == [(SRC_DB, "a", "finished", 50)]
            cur.execute("SELECT state, order_col, value, rows_copied FROM ape_resume.progress('up_c')")
            assert cur.fetchall() == [("copying", "id", "196", 196)]
            cur.execute("SELECT pg_catalog.has_function_privilege('it_upgrade_planner', "
                        "'ape_resume.resume_plan(text, text)', 'EXECUTE'), "
                        "pg_catalog.has_function_privilege('public', "
                        "'ape_resume.resume_plan(text, text)', 'EXECUTE')")
            assert cur.fetchone() == (True, False)
            cur.execute("SELECT schema, tb, order_col, action, value, decided_by "
                        "FROM ape_resume.resume_plan('up_c')")
            assert cur.fetchall() == [(SRC_DB, "c", "id", "resume", "196", "catalog")]
            cur.execute("SELECT schema, tb, order_col, action, value, decided_by "
                        "FROM ape_resume.resume_plan('up_d')")
            assert cur.fetchall() == [(SRC_DB, "d", d_key, "resume", d_value, "catalog")]

            # the failed task resumes on the updated catalog
            cur.execute(f'DELETE FROM "{SRC_DB}".b')
            cur.execute("SELECT ape_resume.resume_task('up_b')")
            cur.execute("SELECT ape_resume.wait_task('up_b', 60)")
            assert cur.fetchone()[0] == "finished"
            # the mid-table one from its position: rows 197.. only, once
            cur.execute(f'ALTER TABLE "{SRC_DB}".c DROP CONSTRAINT c_id_check')
            cur.execute("SELECT ape_resume.resume_task('up_c')")
            cur.execute("SELECT ape_resume.wait_task('up_c', 60)")
            assert cur.fetchone()[0] == "finished"
            # on the key of its position, though the rules now choose (p, q)
            cur.execute(f'ALTER TABLE "{SRC_DB}".d DROP CONSTRAINT d_u_check')
            cur.execute("SELECT ape_resume.resume_task('up_d')")
            cur.execute("SELECT ape_resume.wait_task('up_d', 60)")
            assert cur.fetchone()[0] == "finished"
            cur.execute("SELECT order_col, value, rows_copied FROM ape_resume.progress('up_d')")
            assert cur.fetchall() == [(d_key, d_last, 500)]
            for tb, n in (("a", 50), ("b", 50), ("c", 500)):
                cur.execute(f'SELECT id, v FROM "{SRC_DB}".{tb} ORDER BY id')
                assert cur.fetchall() == [(i, f"{tb}{i}") for i in range(1, n + 1)]
            cur.execute(f'SELECT p, q, u, v FROM "{SRC_DB}".d ORDER BY u')
            assert cur.fetchall() == [(i % 3, i, i, f"d{i}") for i in range(1, 501)]
            cur.execute("SELECT name, state, tables_finished, rows_copied FROM ape_resume.tasks ORDER BY name")
            assert cur.fetchall() == [("up_a", "finished", 1, 50), ("up_b", "finished", 1, 50),
                                      ("up_c", "finished", 1, 500), ("up_d", "finished", 1, 500)]
            # 0.4.0: the tasks of before have no [global] task_id; a new one shows its own
            cur.execute("SELECT count(*) FROM ape_resume.tasks WHERE task_id IS NULL")
            assert cur.fetchone()[0] == 4
            cur.execute("SELECT ape_resume.start_task('up_e', %s)",
                        ("[global]\ntask_id=upgrade-e\n" + config(fresh_dir("it_up_e"), "a"),))
            cur.execute("SELECT task_id FROM ape_resume.tasks WHERE name = 'up_e'")
            assert cur.fetchone()[0] == "upgrade-e"
            cur.execute("SELECT ape_resume.wait_task('up_e', 60)")
            assert cur.fetchone()[0] == "failed"   # up_a's target holds the rows
            # 0.5.0: a table created after the update gets its structures
            cur.execute("SELECT ape_resume.start_task('up_f', %s)", (config(fresh_dir("it_up_f"), "e"),))
            cur.execute("SELECT ape_resume.wait_task('up_f', 60)")
            assert cur.fetchone()[0] == "finished"
            cur.execute("SELECT kind, name, state FROM ape_resume.structures WHERE task_name = 'up_f'")
            assert cur.fetchall() == [("index", "e_e_v_idx", "done")]
            cur.execute("SELECT indexdef FROM pg_catalog.pg_indexes WHERE indexname = 'e_e_v_idx'")
            assert cur.fetchone()[0] == f'CREATE INDEX e_e_v_idx ON {SRC_DB}.e USING btree (v)'
            cur.execute("SELECT structures_failed, structures_not_copied FROM ape_resume.tasks "
                        "WHERE name IN ('up_a', 'up_f') ORDER BY name")
            assert cur.fetchall() == [(0, 0), (0, 0)]
            # 0.6.0: a big table in chunks; the tasks of before have none
            cur.execute("SELECT count(*), count(chunks) FROM ape_resume.progress")
            assert cur.fetchone() == (6, 0)
            cur.execute("SELECT ape_resume.start_task('up_g', %s)",
                        (config(fresh_dir("it_up_g"), "f").replace(
                            "batch_size=7", "batch_size=7\nparallel_type=chunk\nparallel_size=2\n"
                            "split_tables_larger_than=100"),))
            cur.execute("SELECT ape_resume.wait_task('up_g', 60)")
            assert cur.fetchone()[0] == "finished"
            cur.execute("SELECT chunks = chunks_done, chunks >= 4, rows_copied "
                        "FROM ape_resume.progress('up_g')")
            assert cur.fetchall() == [(True, True, 500)]
            cur.execute(f'SELECT id, v FROM "{SRC_DB}".f ORDER BY id')
            assert cur.fetchall() == [(i, f"f{i}") for i in range(1, 501)]
            # 0.7.0: a check task; the tasks of before are copies
            cur.execute("SELECT count(*) FILTER (WHERE kind = 'copy'), count(rows_missing) "
                        "FROM ape_resume.tasks")
            assert cur.fetchone() == (7, 0)
            cur.execute(f'DELETE FROM "{SRC_DB}".f WHERE id = 7')
            cur.execute("SELECT ape_resume.start_task('up_h', %s)",
                        (config(fresh_dir("it_up_h"), "f").replace(
                            "[filter]", "[sinker]\nsink_type=check\n[filter]"),))
            cur.execute("SELECT ape_resume.wait_task('up_h', 60)")
            assert cur.fetchone()[0] == "finished"
            cur.execute("SELECT kind, rows_missing, rows_different, rows_extra FROM ape_resume.tasks "
                        "WHERE name = 'up_h'")
            assert cur.fetchone() == ("check", 1, 0, 0)
    finally:
        db.close()
        local = connect_local()
        with local.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")
            cur.execute("DROP ROLE IF EXISTS it_upgrade_planner")
        local.close()
