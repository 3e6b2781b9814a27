"""Fixtures of the integration tests: connections to the four servers of
the test bed (see test/testbed.sh), configured from its env.sh."""
import os
import shutil
import subprocess
import time

import psycopg2
import pymysql
import pymongo
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEER_CASES = os.environ.get("APE_PEER_CASES") or os.path.join(
    os.path.dirname(REPO), "shared", "peer-cases", "ape-dts")
HAVE_PEER_CASES = os.path.isfile(os.path.join(PEER_CASES, "EXPECTED.md"))


def _catalog_version():
    """The catalog version this checkout builds: default_version of the
    control file, the one the library checks the catalog against."""
    with open(os.path.join(REPO, "ape_resume.control")) as f:
        for line in f:
            key, _, value = line.partition("=")
            if key.strip() == "default_version":
                return value.strip().strip("'")
    raise RuntimeError("ape_resume.control has no default_version")


CATALOG_VERSION = _catalog_version()


def pytest_collection_modifyitems(config, items):
    """ape-dts's peer cases live outside the repository: without them, their
    tests are left out (not skipped) with one line saying so."""
    if HAVE_PEER_CASES:
        return
    left = [i for i in items if i.get_closest_marker("peer_cases")]
    if left:
        print(f"\nape-dts peer cases not found at {PEER_CASES}: {len(left)} tests that need "
              "them do not run (put them there, or set APE_PEER_CASES)")
        config.hook.pytest_deselected(items=left)
        items[:] = [i for i in items if not i.get_closest_marker("peer_cases")]


def pytest_configure(config):
    config.addinivalue_line("markers", "peer_cases: needs ape-dts's peer cases (APE_PEER_CASES)")


def env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run the tests through test/run_tests.sh")
    return value


def connect_local(wait_s=90):
    """A new autocommit connection to the target, with the extension; waits
    while the server restarts (after a crash test, say)."""
    deadline = time.time() + wait_s
    while True:
        try:
            conn = psycopg2.connect(host=env("PGHOST"), port=env("PGPORT"),
                                    user=env("PGUSER"), dbname=env("PGDATABASE"))
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("CREATE EXTENSION IF NOT EXISTS ape_resume")
            return conn
        except psycopg2.OperationalError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def local():
    """The target server, with the extension, autocommit."""
    conn = psycopg2.connect(host=env("PGHOST"), port=env("PGPORT"),
                            user=env("PGUSER"), dbname=env("PGDATABASE"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS ape_resume")
    yield conn
    conn.close()


@pytest.fixture
def mysql_admin():
    conn = pymysql.connect(host="127.0.0.1", port=int(env("APE_MYSQL_PORT")),
                           user="ape", password="mysql_secret_pw",
                           charset="utf8mb4", autocommit=True)
    yield conn
    conn.close()


@pytest.fixture
def pgsrc():
    conn = psycopg2.connect(env("APE_PGSRC_URL").replace("postgres://", "postgresql://"))
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture
def mongo():
    client = pymongo.MongoClient(env("APE_MONGO_URL"), serverSelectionTimeoutMS=5000)
    yield client
    client.close()


def run_mysql_file(path):
    """Load a SQL file into MariaDB with its command-line client."""
    with open(path, "rb") as f:
        subprocess.run(["mariadb", "-h127.0.0.1", "-P" + env("APE_MYSQL_PORT"),
                        "-uape", "-pmysql_secret_pw", "--default-character-set=utf8mb4"],
                       stdin=f, check=True, capture_output=True)


def run_pgsrc_file(path):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", path,
                    env("APE_PGSRC_URL")], check=True, capture_output=True)


def run_mongo_file(path):
    """Load a mongosh-style script; returns the SKIPPED-TYPE lines."""
    out = subprocess.run([env("APE_PYTHON"), os.path.join(REPO, "test", "lib", "mongo_load.py"),
                          env("APE_MONGO_URL"), path], check=True, capture_output=True, text=True)
    return [l for l in out.stdout.splitlines() if l.startswith("SKIPPED-TYPE")]


def one(conn, sql, args=None):
    """The first row of a query (a tuple), or None."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        row = cur.fetchone()
        return tuple(row) if row is not None else None


def rows(conn, sql, args=None):
    """Every row of a query, as tuples."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return [tuple(r) for r in cur.fetchall()]


def execute(conn, *sqls):
    """Run statements without parameters, in order (pymysql or psycopg2)."""
    with conn.cursor() as cur:
        for sql in sqls:
            cur.execute(sql)


def fresh_dir(name):
    """An empty log dir under the shared folder, writable by the workers."""
    d = os.path.join(env("APE_SHARED_DIR"), name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    os.chmod(d, 0o777)
    return d


def start(local, task, cfg):
    """Start a task with config text cfg, replacing an earlier one of that name."""
    drop_task_if_exists(local, task)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, cfg))


def wait_mid_table(rows_copied, total, task, low=2000):
    """Wait until rows_copied() (rows of the table the task committed) is at
    least low, the table not yet finished; returns it."""
    deadline = time.time() + 60
    while time.time() < deadline:
        n = rows_copied()
        if n >= low:
            assert n < total, "the table finished before it could be interrupted"
            return n
        time.sleep(0.01)
    raise AssertionError(f"task {task} copied nothing in 60 s")


def wait_state(local, task, timeout=60):
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.wait_task(%s, %s)", (task, timeout))
        return cur.fetchone()[0]


def drop_task_if_exists(local, task):
    with local.cursor() as cur:
        cur.execute("SELECT 1 FROM ape_resume.tasks WHERE name = %s", (task,))
        if cur.fetchone():
            deadline = time.time() + 30
            while True:
                try:
                    cur.execute("SELECT ape_resume.drop_task(%s)", (task,))
                    return
                except psycopg2.errors.ObjectInUse:
                    if time.time() > deadline:
                        raise
                    cur.execute("SELECT ape_resume.stop_task(%s)", (task,))
                    time.sleep(0.5)


class server_setting:
    """with server_setting("ape_resume.binary_copy", "off"): ... sets a
    server parameter with ALTER SYSTEM for the workers started inside the
    block (they inherit it from the postmaster once it has reloaded), and
    resets it afterwards."""

    def __init__(self, name, value):
        self.name, self.value = name, value

    def _apply(self, sql, args, want):
        conn = connect_local()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                cur.execute("SELECT pg_reload_conf()")
        finally:
            conn.close()
        deadline = time.time() + 30
        while True:  # a new backend is forked by a postmaster that has reloaded
            conn = connect_local()
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT current_setting(%s)", (self.name,))
                    if cur.fetchone()[0] == want:
                        return
            finally:
                conn.close()
            assert time.time() < deadline, f"{self.name} did not become {want}"
            time.sleep(0.05)

    def __enter__(self):
        conn = connect_local()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT current_setting(%s)", (self.name,))
                self.before = cur.fetchone()[0]
        finally:
            conn.close()
        from psycopg2 import sql
        self._apply(sql.SQL("ALTER SYSTEM SET {} = %s").format(sql.Identifier(*self.name.split("."))),
                    (self.value,), self.value)
        return self

    def __exit__(self, *exc):
        from psycopg2 import sql
        self._apply(sql.SQL("ALTER SYSTEM RESET {}").format(sql.Identifier(*self.name.split("."))),
                    None, self.before)
        return False
