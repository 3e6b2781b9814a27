"""Issue 11 u: the extension loaded on demand, in a cluster that does not
preload it (the test bed's nopreload server).  CREATE EXTENSION used to
kill the session (FATAL: cannot create PGC_POSTMASTER variables after
startup); now everything but the launcher works: parse_config,
load_resume_config, a task started with start_task on dynamic workers,
wait_task, resume_plan."""
import os

import psycopg2
import pytest

from conftest import CATALOG_VERSION, env, fresh_dir
from test_pg_copy import pg_exec

SCHEMA = "it_nopre"


@pytest.fixture
def nopreload():
    conn = psycopg2.connect(host=env("PGHOST"), port=env("APE_NOPRELOAD_PORT"),
                            user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SHOW shared_preload_libraries")
        assert cur.fetchone()[0] == ""
        cur.execute("DROP EXTENSION IF EXISTS ape_resume CASCADE")
        cur.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    yield conn
    conn.close()


def config(log_dir):
    return f"""
[extractor]
db_type=pg
url={env('APE_PGSRC_URL')}
[filter]
do_dbs={SCHEMA}
[runtime]
log_dir={log_dir}
"""


def test_extension_loaded_on_demand(nopreload, pgsrc):
    pg_exec(pgsrc, f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.a (id bigint PRIMARY KEY, v text);
INSERT INTO {SCHEMA}.a SELECT i, 'a' || i FROM generate_series(1, 1000) i;
CREATE TABLE {SCHEMA}.b (id int PRIMARY KEY);
INSERT INTO {SCHEMA}.b SELECT generate_series(1, 10);
""")
    cur = nopreload.cursor()
    cur.execute("CREATE EXTENSION ape_resume")
    cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'ape_resume'")
    assert cur.fetchone()[0] == CATALOG_VERSION
    # the server-start setting exists only where the library is preloaded
    cur.execute("SELECT count(*) FROM pg_settings WHERE name = 'ape_resume.database'")
    assert cur.fetchone()[0] == 0
    cur.execute("SELECT current_setting('ape_resume.max_workers')")
    assert cur.fetchone()[0] == "4"

    log_dir = fresh_dir("it_nopre")
    cur.execute("SELECT key, value FROM ape_resume.parse_config(%s, 'it_nopre') "
                "WHERE key IN ('db_type', 'log_dir') ORDER BY key", (config(log_dir),))
    assert cur.fetchall() == [("db_type", "pg"), ("log_dir", log_dir)]

    resume = os.path.join(log_dir, "resume.config")
    with open(resume, "w") as f:
        f.write(f'{{"type":"RdbSnapshot","db_type":"pg","schema":"{SCHEMA}","tb":"a","order_col":"id","value":"400"}}\n')
    os.chmod(resume, 0o644)
    cur.execute("SELECT line_no, schema, tb, order_col, value, error "
                "FROM ape_resume.load_resume_config(%s)", (resume,))
    assert cur.fetchall() == [(1, SCHEMA, "a", "id", "400", None)]

    cur.execute("SELECT ape_resume.start_task('it_nopre', %s)", (config(log_dir),))
    cur.execute("SELECT ape_resume.wait_task('it_nopre', 120)")
    assert cur.fetchone()[0] == "finished"
    cur.execute(f"SELECT count(*), sum(id) FROM {SCHEMA}.a")
    assert cur.fetchone() == (1000, 500500)
    cur.execute(f"SELECT count(*) FROM {SCHEMA}.b")
    assert cur.fetchone()[0] == 10

    resumer = f"[resumer]\nresume_config_file={resume}\n"
    cur.execute("SELECT tb, action, value, decided_by FROM ape_resume.resume_plan('it_nopre2', %s) "
                "ORDER BY tb", (config(fresh_dir("it_nopre2")) + resumer,))
    assert cur.fetchall() == [("a", "resume", "400", "resume.config"), ("b", "full", None, None)]
    cur.execute("SELECT ape_resume.drop_task('it_nopre')")
    cur.execute("DROP EXTENSION ape_resume CASCADE")
