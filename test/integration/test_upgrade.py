"""ALTER EXTENSION ape_resume UPDATE keeps users' tasks: a database on the
previous version (0.1.0) with a finished task and a failed one is updated,
and the tasks are intact, visible and the failed one resumes to an exact
copy."""
import psycopg2

from conftest import env, fresh_dir

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


def test_update_from_0_1_0_keeps_tasks_resumable(local, mysql_admin):
    with mysql_admin.cursor() as my:
        my.execute(f"DROP DATABASE IF EXISTS {SRC_DB}")
        my.execute(f"CREATE DATABASE {SRC_DB}")
        my.execute(f"USE {SRC_DB}")
        for tb in ("a", "b"):
            my.execute(f"CREATE TABLE {tb} (id int PRIMARY KEY, v varchar(10))")
            my.execute(f"INSERT INTO {tb} SELECT seq, concat('{tb}', seq) FROM seq_1_to_50")
    with local.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {DBNAME}")
    db = connect(DBNAME)
    try:
        with db.cursor() as cur:
            cur.execute("CREATE EXTENSION ape_resume VERSION '0.1.0'")
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
            cur.execute("SELECT name, id, state, tables_total, tables_finished, rows_copied "
                        "FROM ape_resume.tasks ORDER BY name")
            before = cur.fetchall()
            assert [(r[0], r[2]) for r in before] == [("up_a", "finished"), ("up_b", "failed")]

            cur.execute("ALTER EXTENSION ape_resume UPDATE")
            cur.execute("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'ape_resume'")
            assert cur.fetchone()[0] == "0.2.0"
            cur.execute("SELECT name, id, state, tables_total, tables_finished, rows_copied "
                        "FROM ape_resume.tasks ORDER BY name")
            assert cur.fetchall() == before
            cur.execute("SELECT schema, tb, state, rows_copied FROM ape_resume.progress('up_a')")
            assert cur.fetchall() == [(SRC_DB, "a", "finished", 50)]

            # the failed task resumes on the updated catalog
            cur.execute(f'DELETE FROM "{SRC_DB}".b')
            cur.execute("SELECT ape_resume.resume_task('up_b')")
            cur.execute("SELECT ape_resume.wait_task('up_b', 60)")
            assert cur.fetchone()[0] == "finished"
            for tb in ("a", "b"):
                cur.execute(f'SELECT id, v FROM "{SRC_DB}".{tb} ORDER BY id')
                assert cur.fetchall() == [(i, f"{tb}{i}") for i in range(1, 51)]
            cur.execute("SELECT name, state, tables_finished, rows_copied FROM ape_resume.tasks ORDER BY name")
            assert cur.fetchall() == [("up_a", "finished", 1, 50), ("up_b", "finished", 1, 50)]
    finally:
        db.close()
        with local.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")
