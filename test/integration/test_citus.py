"""ape_resume on a Citus coordinator (the test bed's Citus cluster: a
coordinator preloading citus and ape_resume, two worker nodes; built from
../shared/vendor's archive by test/install_deps.sh).

The extension installs on the coordinator and Citus propagates it to the
worker nodes; distributed and reference targets (the user's, or made by
[citus] distribution_columns / reference_tables) get their rows through
Citus (a temporary stage, INSERT ... SELECT), in their shards, from MySQL
and PostgreSQL sources, in chunks too; their keys and structures the Citus
way; exactly once through a worker node SIGKILLed and a coordinator
crash; the replace path; a check task; a non-superuser owner."""
import os
import signal
import subprocess
import time

import psycopg2
import pytest

from conftest import REPO, env, execute, fresh_dir, one, rows, wait_state

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
    if conn.closed:
        conn = connect(PORT)  # the test restarted the coordinator
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
            # an identity the user made: the rows keep the source's values
            f"CREATE TABLE {DB}.dist (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant int, v text)",
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
    # a check task proves the copy through Citus's queries; then finds what changed
    check = config(fresh_dir("it_citus_check"), f"{DB}.*").replace(
        "[filter]", "[sinker]\nsink_type=check\n[filter]")
    for damaged in (False, True):
        if damaged:
            execute(coord, f"DELETE FROM {DB}.dist WHERE id = 7", f"UPDATE {DB}.ref SET v = 'x' WHERE id = 3",
                    f"INSERT INTO {DB}.dist OVERRIDING SYSTEM VALUE VALUES (5000, 1, 'extra')",
                    "SELECT ape_resume.drop_task('it_citus_check')")
        with coord.cursor() as cur:
            cur.execute("SELECT ape_resume.start_task('it_citus_check', %s)", (check,))
        assert wait_state(coord, "it_citus_check", 120) == "finished"
        assert rows(coord, "SELECT tb, rows_copied, rows_missing, rows_different, rows_extra "
                           "FROM ape_resume.progress('it_citus_check') ORDER BY tb") == \
            ([("dist", 2000, 1, 0, 1), ("plain", 2000, 0, 0, 0), ("ref", 30, 0, 1, 0)] if damaged else
             [("dist", 2000, 0, 0, 0), ("plain", 2000, 0, 0, 0), ("ref", 30, 0, 0, 0)])
    execute(coord, "SELECT ape_resume.drop_task('it_citus_check')")


def run_testbed(*args):
    subprocess.run(["bash", os.path.join(REPO, "test", "testbed.sh"), *args], check=True,
                   capture_output=True)


def big_task(coord, mysql_admin, task, n=30000):
    """A task copying n rows into a distributed table without a key (a row
    copied twice would show) and a reference table, slowed down enough to be
    caught mid-copy; back once it committed a fifth of them."""
    execute(mysql_admin, f"USE {DB}", "CREATE TABLE big (id int PRIMARY KEY, v varchar(20))",
            f"INSERT INTO big SELECT seq, concat('b', seq) FROM seq_1_to_{n}",
            "CREATE TABLE bigref (id int PRIMARY KEY, v varchar(20))",
            f"INSERT INTO bigref SELECT seq, concat('r', seq) FROM seq_1_to_{n // 3}")
    execute(coord, f"CREATE SCHEMA {DB}", f"CREATE TABLE {DB}.big (id int, v text)",
            f"SELECT create_distributed_table('{DB}.big', 'id', shard_count => 8)",
            f"CREATE TABLE {DB}.bigref (id int, v text)",
            f"SELECT create_reference_table('{DB}.bigref')")
    with coord.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)",
                    (task, config(fresh_dir(task), f"{DB}.big,{DB}.bigref").replace(
                        "[filter]", "max_rps=6000\nparallel_size=2\n[sinker]\nbatch_size=200\n[filter]")))
    deadline = time.time() + 60
    while one(coord, "SELECT coalesce(sum(rows_copied), 0) FROM ape_resume.progress(%s)",
              (task,))[0] < n // 5:
        assert time.time() < deadline, "no progress"
        time.sleep(0.02)


def assert_big_exact(coord, mysql_admin, task, n=30000):
    for tb, want_n in (("big", n), ("bigref", n // 3)):
        with mysql_admin.cursor() as cur:
            cur.execute(f"SELECT id, v FROM {DB}.{tb} ORDER BY id")
            want = [tuple(r) for r in cur.fetchall()]
        with coord.cursor() as cur:
            cur.execute(f"SELECT id, v FROM {DB}.{tb} ORDER BY id")
            got = [tuple(r) for r in cur.fetchall()]
        assert len(got) == want_n and got == want, (tb, len(got))
        assert one(coord, "SELECT pg_relation_size(%s)", (f"{DB}.{tb}",)) == (0,)
    assert one(coord, "SELECT sum(rows_copied) FROM ape_resume.progress(%s)", (task,)) == \
        (n + n // 3,)
    # nothing left prepared on the nodes
    for port in WORKER_PORTS:
        node = connect(port)
        try:
            assert one(node, "SELECT count(*) FROM pg_prepared_xacts") == (0,)
        finally:
            node.close()


def test_worker_node_killed_mid_copy(coord, mysql_admin):
    """A worker node SIGKILLed mid-copy: the task fails naming the lost node
    (not retried as a lost source); the node restarts; the resume first has
    Citus settle the batches the crash left prepared on the nodes, then
    copies the rest: every row once."""
    task = "it_citus_kill"
    big_task(coord, mysql_admin, task)
    pid_file = os.path.join(env("APE_TESTBED"), "citus_w1", "data", "postmaster.pid")
    with open(pid_file) as f:
        os.kill(int(f.readline()), signal.SIGKILL)
    try:
        state = wait_state(coord, task, 120)
        assert state == "failed", state
        error = one(coord, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))[0]
        assert "55441" in error and "lost the source" not in error, error
    finally:
        run_testbed("start", "citus_w1")
    execute(coord, f"SELECT ape_resume.resume_task('{task}')")
    assert wait_state(coord, task, 180) == "finished", \
        one(coord, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))
    assert_big_exact(coord, mysql_admin, task)
    execute(coord, f"SELECT ape_resume.drop_task('{task}')")


def test_coordinator_immediate_shutdown_mid_copy(coord, mysql_admin):
    """The coordinator stopped with -m immediate mid-copy (its batches'
    shard writes prepared or committed on the nodes): started again, the
    launcher resumes the task, which has Citus recover the prepared
    transactions first: every row once."""
    task = "it_citus_crash"
    big_task(coord, mysql_admin, task)
    coord.close()
    run_testbed("stop", "citus", "immediate")
    run_testbed("start", "citus")
    conn = connect(PORT)
    try:
        assert wait_state(conn, task, 180) == "finished", \
            one(conn, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))
        assert_big_exact(conn, mysql_admin, task)
        execute(conn, f"SELECT ape_resume.drop_task('{task}')")
    finally:
        conn.close()


def test_citus_keys_distribute_created_tables_with_their_structures(coord, mysql_admin):
    """[citus] distribution_columns and reference_tables: the tables
    ape_resume creates are distributed (colocated by their tenant) or made
    reference tables before their rows come; their keys, indexes and the
    foreign keys Citus can enforce are made the Citus way; a foreign key
    between tables that are not colocated is not_copied with Citus's reason."""
    execute(mysql_admin, f"USE {DB}",
            "CREATE TABLE tenants (id int PRIMARY KEY, name varchar(20))",
            "INSERT INTO tenants SELECT seq, concat('t', seq) FROM seq_1_to_7",
            "CREATE TABLE orders (tenant_id int, id int, total int, PRIMARY KEY (tenant_id, id), "
            "KEY total_idx (total), FOREIGN KEY (tenant_id) REFERENCES tenants (id))",
            "INSERT INTO orders SELECT seq % 7 + 1, seq, seq * 3 FROM seq_1_to_3000",
            "CREATE TABLE items (tenant_id int, id int, order_id int, PRIMARY KEY (tenant_id, id), "
            "CONSTRAINT items_order FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id))",
            "INSERT INTO items SELECT o.tenant_id, o.id * 2 + k.seq, o.id FROM orders o, seq_0_to_1 k",
            "CREATE TABLE notes (id int PRIMARY KEY, tenant_id int, order_id int, "
            "CONSTRAINT notes_order FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id))",
            "INSERT INTO notes SELECT id, tenant_id, id FROM orders WHERE id % 10 = 0")
    dist = ('json:[{"db":"%s","tb":"orders","column":"tenant_id","shard_count":6},'
            '{"db":"%s","tb":"items","column":"tenant_id","colocate_with":"%s.orders"},'
            '{"db":"%s","tb":"notes","column":"id","shard_count":4}]') % (DB, DB, DB, DB)
    task = "it_citus_keys"
    cfg = config(fresh_dir(task), f"{DB}.tenants,{DB}.orders,{DB}.items,{DB}.notes").replace(
        "[filter]", f"[sinker]\nbatch_size=500\n[citus]\ndistribution_columns={dist}\n"
                    f"reference_tables={DB}.tenants\n[filter]")
    settings = dict(((s, k), v) for s, k, v in rows(coord, "SELECT section, key, value FROM ape_resume.parse_config(%s)", (cfg,)))
    assert settings[("citus", "reference_tables")] == f"{DB}.tenants"
    assert settings[("citus", "distribution_columns")].startswith(f"{DB}.orders: tenant_id, 6 shards")
    execute(coord, "SELECT 1")
    with coord.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, cfg))
    assert wait_state(coord, task, 180) == "finished", \
        one(coord, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))
    # how Citus holds each table
    assert rows(coord, "SELECT logicalrelid::text, partmethod, "
                       "column_to_column_name(logicalrelid, partkey) FROM pg_dist_partition "
                       "WHERE logicalrelid::text LIKE %s ORDER BY 1", (f"{DB}.%",)) == [
        (f"{DB}.items", "h", "tenant_id"), (f"{DB}.notes", "h", "id"),
        (f"{DB}.orders", "h", "tenant_id"), (f"{DB}.tenants", "n", None)]
    assert one(coord, "SELECT count(*) FROM citus_shards WHERE table_name = %s::regclass",
               (f"{DB}.orders",)) == (6,)
    assert one(coord, "SELECT (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = %s::regclass) = "
                      "(SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = %s::regclass)",
               (f"{DB}.items", f"{DB}.orders")) == (True,)
    for tb, key in (("tenants", "id"), ("orders", "tenant_id, id"), ("items", "tenant_id, id"),
                    ("notes", "id")):
        with mysql_admin.cursor() as cur:
            cur.execute(f"SELECT * FROM {DB}.{tb} ORDER BY {key}")
            want = [tuple(r) for r in cur.fetchall()]
        got = rows(coord, f"SELECT * FROM {DB}.{tb} ORDER BY {key}")
        assert got == want and len(got) > 0, tb
        assert one(coord, "SELECT pg_relation_size(%s)", (f"{DB}.{tb}",)) == (0,)
        # the primary key, on the coordinator's table and so on every shard
        assert one(coord, "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass "
                          "AND contype = 'p'", (f"{DB}.{tb}",)) == (1,)
    states = {(tb, kind, state) for tb, kind, state, _ in rows(
        coord, "SELECT tb, kind, state, error FROM ape_resume.structures WHERE task_name = %s", (task,))}
    assert ("orders", "index", "done") in states
    assert ("orders", "foreign_key", "done") in states      # to the reference table
    assert ("items", "foreign_key", "done") in states       # colocated
    not_copied = rows(coord, "SELECT tb, kind, error FROM ape_resume.structures "
                             "WHERE task_name = %s AND state = 'not_copied'", (task,))
    assert [(tb, kind) for tb, kind, _ in not_copied] == [("notes", "foreign_key")], not_copied
    assert "Citus" in not_copied[0][2] and "colocated" in not_copied[0][2]
    # Citus enforces what was made: a row of an unknown tenant is refused
    with pytest.raises(psycopg2.errors.ForeignKeyViolation):
        execute(coord, f"INSERT INTO {DB}.orders VALUES (99, 1, 1)")
    execute(coord, f"SELECT ape_resume.drop_task('{task}')")


def test_citus_keys_refused_without_citus_and_on_bad_keys(coord, mysql_admin, local):
    """The [citus] keys are refused where Citus is not installed, and a
    distribution column outside the table's primary key is refused before
    any row is copied, naming table, key and column."""
    cfg = config("/tmp/ape_citus_none", f"{DB}.dist").replace(
        "[filter]", f"[citus]\nreference_tables={DB}.dist\n[filter]")
    with pytest.raises(psycopg2.errors.FeatureNotSupported, match=r"\[citus\] need the Citus extension"):
        with local.cursor() as cur:
            cur.execute("SELECT ape_resume.start_task('it_citus_none', %s)", (cfg,))
    task = "it_citus_badkey"
    cfg = config(fresh_dir(task), f"{DB}.dist").replace(
        "[filter]", '[citus]\ndistribution_columns=json:[{"db":"%s","tb":"dist","column":"tenant"}]\n[filter]' % DB)
    with coord.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, cfg))
    assert wait_state(coord, task, 60) == "failed"
    error = one(coord, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))[0]
    assert f'primary key of source table "{DB}"."dist" does not hold its distribution column "tenant"' in error
    assert one(coord, "SELECT to_regclass(%s)", (f"{DB}.dist",)) == (None,)
    execute(coord, f"SELECT ape_resume.drop_task('{task}')")
    # a distribution column that may hold NULL (Citus refuses such a row)
    task = "it_citus_nullable"
    cfg = config(fresh_dir(task), f"{DB}.dist").replace(
        "[filter]", '[citus]\ndistribution_columns=json:[{"db":"%s","tb":"dist","column":"tenant"}]\n[filter]' % DB)
    execute(mysql_admin, f"ALTER TABLE {DB}.dist DROP PRIMARY KEY, ADD UNIQUE KEY (id)")
    with coord.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, cfg.replace('"column":"tenant"', '"column":"v"')))
    assert wait_state(coord, task, 60) == "failed"
    assert one(coord, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))[0] == \
        f'a unique key of source table "{DB}"."dist" does not hold its distribution column "v"'
    execute(coord, f"SELECT ape_resume.drop_task('{task}')")
    execute(mysql_admin, f"ALTER TABLE {DB}.dist DROP KEY id")
    with coord.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, cfg))
    assert wait_state(coord, task, 60) == "failed"
    assert one(coord, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))[0] == \
        f'distribution column "tenant" of source table "{DB}"."dist" may hold NULL'
    execute(coord, f"SELECT ape_resume.drop_task('{task}')")
    # colocated by columns of two types: refused before any table is made
    execute(mysql_admin, f"USE {DB}", "CREATE TABLE byname (v varchar(20) PRIMARY KEY)",
            "INSERT INTO byname VALUES ('a')")
    task = "it_citus_badtype"
    cfg = config(fresh_dir(task), f"{DB}.plain,{DB}.byname").replace(
        "[filter]", '[citus]\ndistribution_columns=json:[{"db":"%s","tb":"plain","column":"id"},'
                    '{"db":"%s","tb":"byname","column":"v","colocate_with":"%s.plain"}]\n[filter]' % (DB, DB, DB))
    with coord.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, cfg))
    assert wait_state(coord, task, 60) == "failed"
    assert one(coord, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,)) == (
        f'source table "{DB}"."byname" cannot be colocated with table "{DB}"."plain": '
        "their distribution columns are of different types",)
    assert one(coord, "SELECT to_regclass(%s), to_regclass(%s)", (f"{DB}.plain", f"{DB}.byname")) == \
        (None, None)
    execute(coord, f"SELECT ape_resume.drop_task('{task}')")


def pg_config(log_dir, tables, extra="", citus=""):
    return f"""
[extractor]
db_type=pg
url={env('APE_PGSRC_URL')}
{extra}
[sinker]
batch_size=200
[citus]
{citus}
[filter]
do_tbs={tables}
[runtime]
log_dir={log_dir}
"""


@pytest.fixture
def pg_source(pgsrc):
    execute(pgsrc, f"DROP SCHEMA IF EXISTS {DB} CASCADE", f"CREATE SCHEMA {DB}",
            f"CREATE TABLE {DB}.ev (tenant int, id bigint, payload text, PRIMARY KEY (tenant, id))",
            f"INSERT INTO {DB}.ev SELECT g % 13, g, repeat(chr(65 + g % 26), g % 40) "
            f"FROM generate_series(1, 20000) g",
            f"CREATE TABLE {DB}.kinds (id int PRIMARY KEY, name text)",
            f"INSERT INTO {DB}.kinds SELECT g, 'k' || g FROM generate_series(0, 12) g",
            f"CREATE TABLE {DB}.lag (id int PRIMARY KEY, v text)",
            f"INSERT INTO {DB}.lag SELECT g, 'l' || g FROM generate_series(1, 6000) g",
            f"ANALYZE {DB}.ev")
    yield pgsrc
    execute(pgsrc, f"DROP SCHEMA IF EXISTS {DB} CASCADE")


def assert_same(coord, pgsrc, tb, key):
    want = rows(pgsrc, f"SELECT * FROM {DB}.{tb} ORDER BY {key}")
    got = rows(coord, f"SELECT * FROM {DB}.{tb} ORDER BY {key}")
    assert len(got) == len(want) and got == want, tb
    assert one(coord, "SELECT pg_relation_size(%s)", (f"{DB}.{tb}",)) == (0,)


def test_pg_source_in_chunks_into_distributed_and_reference_tables(coord, pg_source):
    """A PostgreSQL source, its big table cut into chunks copied by two
    workers at once into one distributed table ape_resume created, a small
    one into a reference table: every row, in the shards (their counts add
    up), the keys made."""
    task = "it_citus_pg_chunks"
    cfg = pg_config(fresh_dir(task), f"{DB}.ev,{DB}.kinds",
                    "parallel_type=chunk\nparallel_size=2\nsplit_tables_larger_than=4000",
                    'distribution_columns=json:[{"db":"%s","tb":"ev","column":"tenant","shard_count":8}]\n'
                    'reference_tables=%s.kinds' % (DB, DB))
    with coord.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, cfg))
    assert wait_state(coord, task, 180) == "finished", \
        one(coord, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))
    chunks = one(coord, "SELECT count(*), sum(rows_copied), bool_and(state = 'finished') "
                        "FROM ape_resume.chunks WHERE task_name = %s AND tb = 'ev'", (task,))
    assert chunks[0] >= 5 and chunks[1:] == (20000, True), chunks
    assert_same(coord, pg_source, "ev", "tenant, id")
    assert_same(coord, pg_source, "kinds", "id")
    assert one(coord, f"SELECT sum(result::bigint) FROM run_command_on_shards('{DB}.ev', "
                      "'SELECT count(*) FROM %s')") == (20000,)
    assert one(coord, "SELECT count(*), count(DISTINCT nodeport) FROM citus_shards "
                      "WHERE table_name = %s::regclass", (f"{DB}.ev",)) == (8, 2)
    assert rows(coord, "SELECT logicalrelid::text, partmethod FROM pg_dist_partition "
                       "WHERE logicalrelid::text LIKE %s ORDER BY 1", (f"{DB}.%",)) == \
        [(f"{DB}.ev", "h"), (f"{DB}.kinds", "n")]
    assert one(coord, "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                      "WHERE conrelid = %s::regclass AND contype = 'p'", (f"{DB}.ev",)) == \
        ("PRIMARY KEY (tenant, id)",)
    execute(coord, f"SELECT ape_resume.drop_task('{task}')")


LAG_CITUS = 'distribution_columns=json:[{"db":"%s","tb":"lag","column":"id"}]' % DB


def stopped_lag_copy(coord, first, at_least):
    """A copy of the PostgreSQL table lag into a distributed table, stopped
    once it committed at_least rows; its log_dir and value."""
    log_dir = fresh_dir(first)
    with coord.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)",
                    (first, pg_config(log_dir, f"{DB}.lag", "max_rps=2000", LAG_CITUS)))
    deadline = time.time() + 60
    while one(coord, "SELECT coalesce(sum(rows_copied), 0) FROM ape_resume.progress(%s)",
              (first,))[0] < at_least:
        assert time.time() < deadline, "no progress"
        time.sleep(0.02)
    execute(coord, f"SELECT ape_resume.stop_task('{first}')")
    assert wait_state(coord, first, 60) == "stopped"
    return log_dir, one(coord, "SELECT value FROM ape_resume.progress(%s)", (first,))[0]


def test_pg_source_resumed_from_lagging_log_into_citus(coord, pg_source):
    """A copy into a distributed table stopped mid-table, its position.log
    cut back and its task dropped; a new task resumes from the files alone:
    the rows past the logged position, in the shards already, are replaced
    through Citus (DELETE ... USING the stage, INSERT), not duplicated."""
    first, second = "it_citus_lag1", "it_citus_lag2"
    citus = LAG_CITUS
    log_dir, copied = stopped_lag_copy(coord, first, 2400)
    path = os.path.join(log_dir, "position.log")
    with open(path) as f:
        lines = f.read().splitlines(True)
    current = [i for i, l in enumerate(lines) if "current_position" in l]
    assert len(current) >= 6
    cut = current[len(current) // 2]
    with open(path, "w") as f:
        f.writelines(lines[:cut])
    logged = lines[current[len(current) // 2 - 1]].split('"value":"')[1].split('"')[0]
    assert int(logged) < int(copied)
    execute(coord, f"SELECT ape_resume.drop_task('{first}')")
    with coord.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)",
                    (second, pg_config(log_dir, f"{DB}.lag", citus=citus) +
                     "[resumer]\nresume_from_log=true\n"))
    assert wait_state(coord, second, 120) == "finished", \
        one(coord, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (second,))
    assert_same(coord, pg_source, "lag", "id")
    with open(os.path.join(log_dir, "default.log")) as f:
        assert f'replaced {int(copied) - int(logged)} rows of "{DB}"."lag"' in f.read()
    assert one(coord, "SELECT partmethod FROM pg_dist_partition WHERE logicalrelid = %s::regclass",
               (f"{DB}.lag",)) == ("h",)
    execute(coord, f"SELECT ape_resume.drop_task('{second}')")


def test_non_superuser_owner_copies_into_citus(coord, mysql_admin):
    """A task owner who is no superuser (the grants README lists) copies into
    a distributed table it has ape_resume create: Citus's COPY from a file
    would need a superuser; the batches go through a temporary stage and
    INSERT ... SELECT, with INSERT on the target alone."""
    role = "it_citus_owner"
    execute(coord, f"DROP ROLE IF EXISTS {role}", f"CREATE ROLE {role} LOGIN",
            f"GRANT USAGE ON SCHEMA ape_resume TO {role}",
            f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ape_resume TO {role}",
            f"GRANT pg_read_server_files, pg_write_server_files TO {role}",
            f"GRANT CREATE ON DATABASE postgres TO {role}",
            f"CREATE SCHEMA {DB} AUTHORIZATION {role}")
    conn = psycopg2.connect(host=env("PGHOST"), port=PORT, user=role, dbname="postgres")
    conn.autocommit = True
    task = "it_citus_owner"
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT ape_resume.start_task(%s, %s)",
                        (task, config(fresh_dir(task), f"{DB}.dist").replace(
                            "[filter]", "[sinker]\nbatch_size=300\n[citus]\ndistribution_columns="
                                        'json:[{"db":"%s","tb":"dist","column":"id"}]\n[filter]' % DB)))
        assert wait_state(conn, task, 120) == "finished", \
            one(conn, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))
        with mysql_admin.cursor() as cur:
            cur.execute(f"SELECT * FROM {DB}.dist ORDER BY id")
            want = [tuple(r) for r in cur.fetchall()]
        assert rows(conn, f"SELECT * FROM {DB}.dist ORDER BY id") == want and len(want) == 2000
        assert one(coord, "SELECT relowner::regrole::text, partmethod FROM pg_class "
                          "JOIN pg_dist_partition ON logicalrelid = pg_class.oid "
                          "WHERE pg_class.oid = %s::regclass", (f"{DB}.dist",)) == (role, "h")
        assert one(coord, "SELECT pg_relation_size(%s)", (f"{DB}.dist",)) == (0,)
        execute(conn, f"SELECT ape_resume.drop_task('{task}')")
    finally:
        conn.close()
        execute(coord, f"DROP SCHEMA IF EXISTS {DB} CASCADE", f"DROP OWNED BY {role}", f"DROP ROLE {role}")


def test_replace_refused_while_a_node_is_down(coord, pg_source):
    """A resume that would replace rows already in a Citus target first has
    Citus recover what crashes left prepared on the nodes, and checks that
    nothing is left: with a node down, it cannot know (a prepared row there
    would hide from the replacing DELETE): refused with a clear error,
    nothing written; once the node is back, the same resume replaces and
    finishes."""
    first, second = "it_citus_pend1", "it_citus_pend2"
    log_dir, _ = stopped_lag_copy(coord, first, 2000)
    execute(coord, f"SELECT ape_resume.drop_task('{first}')")
    with open(os.path.join(log_dir, "position.log")) as f:
        lines = [l for l in f.read().splitlines(True) if "current_position" in l]
    with open(os.path.join(log_dir, "position.log"), "w") as f:
        f.writelines(lines[:2])
    before = one(coord, f"SELECT count(*) FROM {DB}.lag")[0]
    run_testbed("stop", "citus_w1")
    try:
        cfg = pg_config(log_dir, f"{DB}.lag", citus=LAG_CITUS) + "[resumer]\nresume_from_log=true\n"
        with coord.cursor() as cur:
            cur.execute("SELECT ape_resume.start_task(%s, %s)", (second, cfg))
        assert wait_state(coord, second, 120) == "failed"
        assert one(coord, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (second,)) == \
            (f"cannot replace rows already in Citus table {DB}.lag: a worker node cannot be reached",)
    finally:
        run_testbed("start", "citus_w1")
    assert one(coord, f"SELECT count(*) FROM {DB}.lag") == (before,)
    execute(coord, f"SELECT ape_resume.resume_task('{second}')")
    assert wait_state(coord, second, 120) == "finished", \
        one(coord, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (second,))
    assert_same(coord, pg_source, "lag", "id")
    execute(coord, f"SELECT ape_resume.drop_task('{second}')")


def test_mongo_collections_into_distributed_and_reference_tables(coord, mongo):
    """MongoDB collections into tables ape_resume creates and distributes:
    one by its _id (of mixed BSON types), one a reference table; every
    document once, in the shards."""
    db = "it_citus_mongo"
    mongo.drop_database(db)
    docs = [{"_id": i, "v": "n%d" % i} for i in range(600)] + \
        [{"_id": "s%04d" % i, "v": i} for i in range(600)]
    mongo[db]["events"].insert_many(docs)
    mongo[db]["kinds"].insert_many([{"_id": i, "name": "k%d" % i} for i in range(5)])
    task = "it_citus_mongo"
    cfg = f"""
[extractor]
db_type=mongo
url={env('APE_MONGO_URL')}
[sinker]
batch_size=250
[citus]
distribution_columns=json:[{{"db":"{db}","tb":"events","column":"_id","shard_count":4}}]
reference_tables={db}.kinds
[filter]
do_tbs={db}.events,{db}.kinds
[runtime]
log_dir={fresh_dir(task)}
"""
    try:
        execute(coord, f"DROP SCHEMA IF EXISTS {db} CASCADE")
        with coord.cursor() as cur:
            cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, cfg))
        assert wait_state(coord, task, 180) == "finished", \
            one(coord, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))
        assert rows(coord, "SELECT logicalrelid::text, partmethod FROM pg_dist_partition "
                           "WHERE logicalrelid::text LIKE %s ORDER BY 1", (f"{db}.%",)) == \
            [(f"{db}.events", "h"), (f"{db}.kinds", "n")]
        assert one(coord, f"SELECT count(*), count(DISTINCT _id), count(*) FILTER (WHERE doc ? 'v') "
                          f"FROM {db}.events") == (1200, 1200, 1200)
        assert one(coord, f"SELECT sum(result::int) FROM run_command_on_shards('{db}.events', "
                          "'SELECT count(*) FROM %s')") == (1200,)
        assert rows(coord, f"SELECT doc->>'name' FROM {db}.kinds ORDER BY 1") == \
            [("k%d" % i,) for i in range(5)]
        for tb in ("events", "kinds"):
            assert one(coord, "SELECT pg_relation_size(%s)", (f"{db}.{tb}",)) == (0,)
        execute(coord, f"SELECT ape_resume.drop_task('{task}')")
    finally:
        execute(coord, f"DROP SCHEMA IF EXISTS {db} CASCADE")
        mongo.drop_database(db)
