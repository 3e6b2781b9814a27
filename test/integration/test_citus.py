"""ape_resume on a Citus coordinator (the test bed's Citus cluster: a
coordinator preloading citus and ape_resume, two worker nodes; built from
../shared/vendor's archive by test/install_deps.sh).

So far: the extension installs on the coordinator and Citus propagates it
to the worker nodes; the launcher and a copy into a plain table work; a
distributed or reference target gets its rows through Citus's COPY path
(COPY FROM a file of the batch, run through SPI in the batch's
transaction), in its shards."""
import os

import psycopg2
import pytest

from conftest import env, execute, fresh_dir, one, wait_state

PORT = os.environ.get("APE_CITUS_PORT", "")
pytestmark = pytest.mark.skipif(
    not PORT, reason="no Citus in the test bed: its archive (../shared/vendor/citus-12.1.6.tar.gz, "
                     "or APE_CITUS_ARCHIVE) was not there when test/install_deps.sh ran")

DB = "it_citus"
WORKER_PORTS = (55441, 55442)


def connect(port):
    conn = psycopg2.connect(host=env("PGHOST"), port=port, user="postgres", dbname="postgres")
    conn.autocommit = True
    return conn


@pytest.fixture
def coord(mysql_admin):
    conn = connect(PORT)
    execute(conn, "DROP EXTENSION IF EXISTS ape_resume CASCADE", "CREATE EXTENSION ape_resume",
            f"DROP SCHEMA IF EXISTS {DB} CASCADE")
    execute(mysql_admin, f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}", f"USE {DB}",
            "CREATE TABLE plain (id int PRIMARY KEY, v varchar(20))",
            "INSERT INTO plain SELECT seq, concat('p', seq) FROM seq_1_to_2000",
            "CREATE TABLE dist (id int PRIMARY KEY, tenant int, v varchar(20))",
            "INSERT INTO dist SELECT seq, seq % 7, concat('d', seq) FROM seq_1_to_2000",
            "CREATE TABLE ref (id int PRIMARY KEY, v varchar(20))",
            "INSERT INTO ref SELECT seq, 'r' FROM seq_1_to_30")
    yield conn
    execute(conn, f"DROP SCHEMA IF EXISTS {DB} CASCADE")
    conn.close()


def config(log_dir, tables):
    return f"""
[extractor]
db_type=mysql
url={env('APE_MYSQL_URL')}
[filter]
do_tbs={tables}
[runtime]
log_dir={log_dir}
"""


def test_extension_on_the_coordinator_and_its_nodes(coord):
    """CREATE EXTENSION on the coordinator: Citus creates it on the worker
    nodes too, where ape_resume is not preloaded, and that works."""
    version = one(coord, "SELECT extversion FROM pg_extension WHERE extname = 'ape_resume'")[0]
    for port in WORKER_PORTS:
        node = connect(port)
        try:
            assert one(node, "SELECT extversion FROM pg_extension WHERE extname = 'ape_resume'") == \
                (version,)
        finally:
            node.close()


def test_copy_into_plain_distributed_and_reference_tables(coord, mysql_admin):
    """A plain table on the coordinator is copied as anywhere; distributed
    and reference targets get their rows through Citus's COPY path, in the
    shards (the coordinator's shell tables stay empty), every row once,
    batch by batch with the checkpoints."""
    execute(coord, f"CREATE SCHEMA {DB}",
            f"CREATE TABLE {DB}.dist (id int PRIMARY KEY, tenant int, v text)",
            f"SELECT create_distributed_table('{DB}.dist', 'id', shard_count => 8)",
            f"CREATE TABLE {DB}.ref (id int PRIMARY KEY, v text)",
            f"SELECT create_reference_table('{DB}.ref')")
    task = "it_citus_copy"
    with coord.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)",
                    (task, config(fresh_dir(task), f"{DB}.*").replace("[filter]", "[sinker]\nbatch_size=300\n[filter]")))
    assert wait_state(coord, task, 120) == "finished", \
        one(coord, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))
    for tb, n in (("plain", 2000), ("dist", 2000), ("ref", 30)):
        with mysql_admin.cursor() as cur:
            cur.execute(f"SELECT * FROM {DB}.{tb} ORDER BY id")
            want = [tuple(r) for r in cur.fetchall()]
        with coord.cursor() as cur:
            cur.execute(f"SELECT * FROM {DB}.{tb} ORDER BY id")
            got = [tuple(r) for r in cur.fetchall()]
        assert len(got) == n and got == want, tb
    # the rows are in the shards, on both worker nodes; none in the shells
    for tb in ("dist", "ref"):
        assert one(coord, "SELECT pg_relation_size(%s)", (f"{DB}.{tb}",)) == (0,)
    assert one(coord, "SELECT count(DISTINCT nodeport) FROM citus_shards "
                      "WHERE table_name = %s::regclass", (f"{DB}.dist",)) == (2,)
    assert one(coord, "SELECT rows_copied FROM ape_resume.progress(%s) WHERE tb = 'dist'", (task,)) == (2000,)
    execute(coord, f"SELECT ape_resume.drop_task('{task}')")
