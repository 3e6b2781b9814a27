"""PostgreSQL source: exactly once across a stop, a lagging log, a lost
source; and bad input (wrong password, a resume value that does not fit,
permission denied on one table), each a clear message, nothing lost.

The target tables of the resume tests are created beforehand WITHOUT keys,
so a row copied twice shows as a duplicate instead of failing on an index."""
import os
import subprocess
import threading
import time

import psycopg2
import pytest

import conftest
from conftest import REPO, env, fresh_dir, start, wait_state, drop_task_if_exists
from test_pg_copy import pg_exec

SCHEMA = "it_pg_once"
ROWS = 60000


@pytest.fixture
def source(pgsrc):
    pg_exec(pgsrc, f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.t (id int PRIMARY KEY, v varchar(40) NOT NULL, n int NULL, ts timestamptz,
    pad text);
INSERT INTO {SCHEMA}.t SELECT i, 'v' || i || repeat(E'x\\t', i % 17), CASE WHEN i % 5 <> 0 THEN i * 7 END,
    timestamptz '2020-01-01 00:00:00+00' + i * interval '1.5 seconds', repeat(md5(i::text), 1 + i % 12)
    FROM generate_series(1, {ROWS}) i;
CREATE TABLE {SCHEMA}.s (k text PRIMARY KEY, x int NOT NULL);
INSERT INTO {SCHEMA}.s SELECT 'k''' || lpad(i::text, 6, '0'), i FROM generate_series(1, 3000) i;
ANALYZE {SCHEMA}.t, {SCHEMA}.s;
""")
    return pgsrc


def source_rows(pgsrc, table, after=None):
    with pgsrc.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        if table == "t":
            cur.execute(f"SELECT id, v, n, ts::text, pad FROM {SCHEMA}.t "
                        f"WHERE id > %s ORDER BY id", (after or 0,))
        else:
            cur.execute(f"SELECT k, x FROM {SCHEMA}.s WHERE k > %s ORDER BY k", (after or "",))
        return cur.fetchall()


def target_rows(local, table):
    with local.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        if table == "t":
            cur.execute(f"SELECT id, v, n, ts::text, pad FROM {SCHEMA}.t ORDER BY id")
        else:
            cur.execute(f'SELECT k, x FROM {SCHEMA}.s ORDER BY k COLLATE "C"')
        return cur.fetchall()


def fresh_target(local, identity=False):
    """Target tables without keys; every batch into t takes 10 ms more (a
    statement trigger), so that a test can catch the copy mid-table.  With
    identity, t's id is GENERATED ALWAYS AS IDENTITY."""
    id_type = "int GENERATED ALWAYS AS IDENTITY" if identity else "int"
    pg_exec(local, f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.t (id {id_type}, v varchar(40), n int, ts timestamptz, pad text);
CREATE TABLE {SCHEMA}.s (k text, x int);
CREATE FUNCTION {SCHEMA}.slow() RETURNS trigger LANGUAGE plpgsql
    AS $$BEGIN PERFORM pg_sleep(0.01); RETURN NULL; END$$;
CREATE TRIGGER slow AFTER INSERT ON {SCHEMA}.t FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.slow();
""")


def config(log_dir, resumer="", batch=200, tables="t,s", url=None, schema=SCHEMA):
    do_tbs = ",".join(f"{schema}.{t}" for t in tables.split(","))
    return f"""
[extractor]
db_type=pg
url={url or env('APE_PGSRC_URL')}
[sinker]
batch_size={batch}
[filter]
do_tbs={do_tbs}
[runtime]
log_dir={log_dir}
[resumer]
{resumer}
"""


def progress(local, task, tb="t"):
    with local.cursor() as cur:
        cur.execute("SELECT rows_copied, value, state FROM ape_resume.progress(%s) WHERE tb = %s",
                    (task, tb))
        row = cur.fetchone()
        return row if row else (0, None, None)


def last_error(local, task):
    with local.cursor() as cur:
        cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))
        return cur.fetchone()[0]


def wait_mid_table(local, task, low=2000):
    return conftest.wait_mid_table(lambda: progress(local, task)[0], ROWS, task, low)


def assert_prefix(local, pgsrc, value):
    """The target holds exactly the source rows up to value, once each."""
    got = target_rows(local, "t")
    want = [r for r in source_rows(pgsrc, "t") if r[0] <= int(value)]
    assert len(got) == len(want) and got == want


def assert_complete(local, pgsrc):
    for tb in ("t", "s"):
        got = target_rows(local, tb)
        want = source_rows(pgsrc, tb)
        assert len(got) == len(want), (tb, len(got), len(want))
        assert got == want, tb


def stop_mid_table(local, task):
    wait_mid_table(local, task)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.stop_task(%s)", (task,))
    assert wait_state(local, task, 60) == "stopped"
    n, value, _ = progress(local, task)
    assert 0 < n < ROWS and int(value) == n
    return value


def test_stop_then_resume_task(local, source):
    fresh_target(local)
    log_dir = fresh_dir("it_pg_once_a")
    start(local, "it_pg_once_a", config(log_dir))
    value = stop_mid_table(local, "it_pg_once_a")
    assert_prefix(local, source, value)
    with local.cursor() as cur:
        cur.execute("SELECT tb, action, value, decided_by FROM ape_resume.resume_plan('it_pg_once_a') "
                    "ORDER BY tb")
        # the largest table goes first (both are analyzed): s is not started yet
        assert cur.fetchall() == [("s", "full", None, None), ("t", "resume", value, "catalog")]
        cur.execute("SELECT ape_resume.resume_task('it_pg_once_a')")
    assert wait_state(local, "it_pg_once_a", 120) == "finished"
    assert_complete(local, source)
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    assert (f'resumer, get resume value, schema: {SCHEMA}, tb: t, col: id, result: Some("{value}")'
            in default)
    # the text key's positions are the key's text, quote and all
    with open(os.path.join(log_dir, "position.log")) as f:
        positions = f.read()
    assert f'"schema":"{SCHEMA}","tb":"s","order_col":"k","value":"k\'000200"' in positions


def test_ten_concurrent_resumes_make_one_run(local, source):
    """Issue 11 c: ten sessions resume one stopped task at the same moment.
    One resume wins; the others fail, launch nothing, and the copy holds
    every row once (the target has no key, so a duplicate would show)."""
    fresh_target(local)
    start(local, "it_pg_once_ten", config(fresh_dir("it_pg_once_ten")) + "[parallelizer]\nparallel_size=2\n")
    stop_mid_table(local, "it_pg_once_ten")
    barrier = threading.Barrier(10)
    results = []

    def resume():
        conn = conftest.connect_local()
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                barrier.wait()
                try:
                    cur.execute("SELECT ape_resume.resume_task('it_pg_once_ten')")
                    results.append("ok")
                except psycopg2.Error as e:
                    results.append(e.pgcode + " " + e.pgerror.splitlines()[0])
        finally:
            conn.close()

    threads = [threading.Thread(target=resume) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1, results
    for r in results:
        assert r == "ok" or (r.startswith("55000 ") and "already" in r), r
    assert wait_state(local, "it_pg_once_ten", 120) == "finished"
    assert_complete(local, source)
    with local.cursor() as cur:
        cur.execute("SELECT rows_copied FROM ape_resume.progress('it_pg_once_ten') ORDER BY tb")
        assert [r[0] for r in cur.fetchall()] == [3000, ROWS]
    drop_task_if_exists(local, "it_pg_once_ten")


def test_table_vanished_while_stopped_fails_alone(local, source):
    """Issue 11 g: a table that vanished at the source while the task was
    stopped used to fail every resume.  Now it fails alone (state failed,
    with the reason), the others are copied, and once it is back a resume
    copies it and the task finishes, every row once."""
    fresh_target(local)
    start(local, "it_pg_once_g", config(fresh_dir("it_pg_once_g")))
    stop_mid_table(local, "it_pg_once_g")
    pg_exec(source, f"ALTER TABLE {SCHEMA}.s RENAME TO s_away")
    try:
        with local.cursor() as cur:
            cur.execute("SELECT ape_resume.resume_task('it_pg_once_g')")
        assert wait_state(local, "it_pg_once_g", 120) == "failed"
        with local.cursor() as cur:
            cur.execute("SELECT tb, state, error FROM ape_resume.progress('it_pg_once_g') ORDER BY tb")
            assert cur.fetchall() == [
                ("s", "failed", "the source table no longer exists (an earlier run found it)"),
                ("t", "finished", None)]
            cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = 'it_pg_once_g'")
            assert cur.fetchone()[0] == (f"table {SCHEMA}.s failed: "
                                         "the source table no longer exists (an earlier run found it)")
    finally:
        pg_exec(source, f"ALTER TABLE {SCHEMA}.s_away RENAME TO s")
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.resume_task('it_pg_once_g')")
    assert wait_state(local, "it_pg_once_g", 120) == "finished"
    assert_complete(local, source)
    with local.cursor() as cur:
        cur.execute("SELECT tb, state, error, rows_copied FROM ape_resume.progress('it_pg_once_g') "
                    "ORDER BY tb")
        assert cur.fetchall() == [("s", "finished", None, 3000), ("t", "finished", None, ROWS)]
        cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = 'it_pg_once_g'")
        assert cur.fetchone()[0] is None
    drop_task_if_exists(local, "it_pg_once_g")


def cut_position_log(log_dir, keep_fraction=0.5):
    path = os.path.join(log_dir, "position.log")
    with open(path) as f:
        lines = f.read().splitlines(True)
    current = [i for i, l in enumerate(lines) if "current_position" in l and '"tb":"t"' in l]
    assert len(current) >= 4
    cut = current[int(len(current) * keep_fraction)]
    with open(path, "w") as f:
        f.writelines(lines[:cut])
        f.write(lines[cut][:30])  # a torn line, as a crash mid-write leaves it
    kept = [l for l in lines[:cut] if "current_position" in l and '"tb":"t"' in l]
    return kept[-1].split('"value":"')[1].split('"')[0]


@pytest.mark.parametrize("identity", [False, True])
def test_new_task_resumes_from_lagging_log_files_alone(local, source, identity):
    """position.log lags the committed rows and the first task's catalog is
    gone: the rows past the logged position are replaced, not duplicated;
    (identity) also into a column GENERATED ALWAYS AS IDENTITY, whose source
    values COPY takes and the replacing INSERT must take too."""
    drop_task_if_exists(local, "it_pg_once_c2")
    fresh_target(local, identity)
    log_dir = fresh_dir("it_pg_once_ten")
    start(local, "it_pg_once_c1", config(log_dir))
    value = stop_mid_table(local, "it_pg_once_c1")
    logged = cut_position_log(log_dir)
    assert int(logged) < int(value)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.drop_task('it_pg_once_c1')")
    start(local, "it_pg_once_c2", config(log_dir, "resume_from_log=true"))
    assert wait_state(local, "it_pg_once_c2", 120) == "finished"
    assert_complete(local, source)
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    assert f'replaced {int(value) - int(logged)} rows of "{SCHEMA}"."t"' in default


def test_replace_goes_on_past_rows_added_inside_the_copied_range(local, pgsrc):
    """Issue 11 d: a new task resumes from a lagging position.log, so the
    rows after the logged position are replaced; meanwhile rows were added
    at the source between the logged position and the last copied row.
    Replace mode used to end at the first batch holding a row new to the
    target, and the later batches inserted rows already there (duplicates
    here, the target has no key).  Now it replaces up to the highest key
    the target holds: every row once."""
    gap = "it_pg_gap"
    pg_exec(pgsrc, f"""
DROP SCHEMA IF EXISTS {gap} CASCADE; CREATE SCHEMA {gap};
CREATE TABLE {gap}.t (id int PRIMARY KEY, v text NOT NULL);
INSERT INTO {gap}.t SELECT 2 * i, 'v' || i FROM generate_series(1, 30000) i;
ANALYZE {gap}.t;
""")
    pg_exec(local, f"""
DROP SCHEMA IF EXISTS {gap} CASCADE; CREATE SCHEMA {gap};
CREATE TABLE {gap}.t (id int, v text);
CREATE FUNCTION {gap}.slow() RETURNS trigger LANGUAGE plpgsql
    AS $$BEGIN PERFORM pg_sleep(0.01); RETURN NULL; END$$;
CREATE TRIGGER slow AFTER INSERT ON {gap}.t FOR EACH STATEMENT EXECUTE FUNCTION {gap}.slow();
""")
    log_dir = fresh_dir("it_pg_gap")
    drop_task_if_exists(local, "it_pg_gap2")
    start(local, "it_pg_gap1", config(log_dir, tables="t", schema=gap))
    conftest.wait_mid_table(lambda: progress(local, "it_pg_gap1")[0], 30000, "it_pg_gap1", low=4000)
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.stop_task('it_pg_gap1')")
    assert wait_state(local, "it_pg_gap1") == "stopped"
    with local.cursor() as cur:
        cur.execute("SELECT value FROM ape_resume.progress('it_pg_gap1')")
        value = int(cur.fetchone()[0])
        cur.execute("SELECT ape_resume.drop_task('it_pg_gap1')")
    logged = int(cut_position_log(log_dir, keep_fraction=0.3))
    assert logged + 400 < value
    # odd ids inside (logged, value): the first replaced batch holds new rows
    pg_exec(pgsrc, f"INSERT INTO {gap}.t SELECT i, 'new' || i FROM generate_series({logged + 1}, "
                   f"{logged + 99}, 2) i")
    start(local, "it_pg_gap2", config(log_dir, "resume_from_log=true", tables="t", schema=gap))
    assert wait_state(local, "it_pg_gap2", 120) == "finished"
    with pgsrc.cursor() as cur:
        cur.execute(f"SELECT id, v FROM {gap}.t ORDER BY id")
        want = cur.fetchall()
    with local.cursor() as cur:
        cur.execute(f"SELECT id, v FROM {gap}.t ORDER BY id")
        got = cur.fetchall()
    assert len(got) == len(want) == 30050
    assert got == want
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    assert f'replaced {(value - logged) // 2} rows of "{gap}"."t"' in default
    drop_task_if_exists(local, "it_pg_gap2")


def test_resume_config_value_mid_table(local, source):
    fresh_target(local)
    work = fresh_dir("it_pg_once_d_input")
    rc = os.path.join(work, "resume.config")
    with open(rc, "w") as f:
        f.write('{"type":"RdbSnapshot","db_type":"pg","schema":"it_pg_once","tb":"t",'
                '"order_col":"id","value":"41234"}\n')
        f.write('{"type":"RdbSnapshot","db_type":"pg","schema":"it_pg_once","tb":"s",'
                '"order_key":{"single":["k","k\'002990"]}}\n')
    os.chmod(rc, 0o644)
    start(local, "it_pg_once_d", config(fresh_dir("it_pg_once_d"), f"resume_config_file={rc}",
                                        batch=5000))
    assert wait_state(local, "it_pg_once_d", 120) == "finished", last_error(local, "it_pg_once_d")
    assert target_rows(local, "t") == source_rows(source, "t", 41234)
    assert target_rows(local, "s") == source_rows(source, "s", "k'002990")
    assert [r[0] for r in target_rows(local, "s")] == [f"k'{i:06d}" for i in range(2991, 3001)]


def test_batches_ended_by_time_go_on_with_the_same_query(local, source):
    """Batches that end by checkpoint_interval_secs, not by batch_size: the
    next batch takes the source's query up where the last one ended."""
    fresh_target(local)
    pg_exec(local, f"CREATE FUNCTION {SCHEMA}.slow_row() RETURNS trigger LANGUAGE plpgsql "
                   f"AS $$BEGIN IF NEW.id % 100 = 0 THEN PERFORM pg_sleep(0.004); END IF; "
                   f"RETURN NEW; END$$; "
                   f"CREATE TRIGGER slow_row BEFORE INSERT ON {SCHEMA}.t FOR EACH ROW "
                   f"EXECUTE FUNCTION {SCHEMA}.slow_row()")
    log_dir = fresh_dir("it_pg_once_time")
    start(local, "it_pg_once_time",
          config(log_dir, batch=50000, tables="t") + "[pipeline]\ncheckpoint_interval_secs=1\n")
    assert wait_state(local, "it_pg_once_time", 120) == "finished", last_error(local, "it_pg_once_time")
    assert target_rows(local, "t") == source_rows(source, "t")
    with open(os.path.join(log_dir, "position.log")) as f:
        values = [int(l.split('"value":"')[1].split('"')[0]) for l in f if "current_position" in l]
    # several batches, ended by time (not at multiples of batch_size)
    assert len(values) >= 3 and values[-1] == ROWS, values
    assert values == sorted(values) and any(v % 50000 for v in values[:-1]), values


def test_value_that_does_not_fit_the_order_column(local, source):
    fresh_target(local)
    work = fresh_dir("it_pg_bad_value_input")
    rc = os.path.join(work, "resume.config")
    with open(rc, "w") as f:
        f.write('{"type":"RdbSnapshot","db_type":"pg","schema":"it_pg_once","tb":"t",'
                '"order_col":"id","value":"abc"}\n')
    os.chmod(rc, 0o644)
    start(local, "it_pg_bad_value", config(fresh_dir("it_pg_bad_value"),
                                           f"resume_config_file={rc}", tables="t"))
    assert wait_state(local, "it_pg_bad_value", 60) == "failed"
    error = last_error(local, "it_pg_bad_value")
    assert 'invalid resume value "abc" for column "id" of table "it_pg_once"."t"' in error
    assert target_rows(local, "t") == []


def test_wrong_password(local, source):
    url = env("APE_PGSRC_URL").replace("pgsrc_secret_pw", "wrong_pw_9431")
    assert "wrong_pw_9431" in url
    log_dir = fresh_dir("it_pg_bad_pw")
    start(local, "it_pg_bad_pw", config(log_dir, url=url, tables="t"))
    assert wait_state(local, "it_pg_bad_pw", 60) == "failed"
    with local.cursor() as cur:
        cur.execute("SELECT source_url, last_error FROM ape_resume.tasks WHERE name = 'it_pg_bad_pw'")
        source_url, error = cur.fetchone()
    assert 'could not connect to PostgreSQL server "127.0.0.1:55433"' in error
    assert 'password authentication failed for user "ape_src"' in error
    assert source_url == "postgres://ape_src:*****@127.0.0.1:55433/ape_src"
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    for text in (error, source_url, default):
        assert "wrong_pw_9431" not in text and "pgsrc_secret_pw" not in text
    with local.cursor() as cur:
        # resume_plan connects too: the same message, no password
        with pytest.raises(psycopg2.Error) as e:
            cur.execute("SELECT * FROM ape_resume.resume_plan('it_pg_bad_pw')")
        assert "password authentication failed" in str(e.value)
        assert "wrong_pw_9431" not in str(e.value)


def test_wrong_password_in_the_query_string(local, source):
    """libpq URLs may carry the password as a parameter: masked too."""
    url = "postgres://ape_src@127.0.0.1:%s/ape_src?connect_timeout=5&password=wrong_pw_7719" % \
        env("APE_PGSRC_PORT")
    log_dir = fresh_dir("it_pg_bad_pw_query")
    start(local, "it_pg_bad_pw_query", config(log_dir, url=url, tables="t"))
    assert wait_state(local, "it_pg_bad_pw_query", 60) == "failed"
    with local.cursor() as cur:
        cur.execute("SELECT source_url, last_error FROM ape_resume.tasks "
                    "WHERE name = 'it_pg_bad_pw_query'")
        source_url, error = cur.fetchone()
        cur.execute("SELECT value FROM ape_resume.parse_config(%s) "
                    "WHERE section = 'extractor' AND key = 'url'", (config(log_dir, url=url),))
        shown = cur.fetchone()[0]
    assert 'password authentication failed for user "ape_src"' in error
    assert source_url == shown == ("postgres://ape_src@127.0.0.1:%s/ape_src?connect_timeout=5&password=*****"
                                   % env("APE_PGSRC_PORT"))
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    for text in (error, default):
        assert "wrong_pw_7719" not in text


def test_permission_denied_on_one_table(local, source):
    """A role without SELECT on table b: a is copied, b fails naming the
    table; after the GRANT a resume copies b and c, a stays as it was."""
    pg_exec(source, f"""
DROP SCHEMA IF EXISTS it_pg_perm CASCADE;
CREATE SCHEMA it_pg_perm;
CREATE TABLE it_pg_perm.a (id int PRIMARY KEY, v text);
CREATE TABLE it_pg_perm.b (id int PRIMARY KEY, v text);
CREATE TABLE it_pg_perm.c (v text);
INSERT INTO it_pg_perm.a SELECT i, 'a' || i FROM generate_series(1, 500) i;
INSERT INTO it_pg_perm.b SELECT i, 'b' || i FROM generate_series(1, 300) i;
INSERT INTO it_pg_perm.c SELECT 'c' || i FROM generate_series(1, 10) i;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ape_pg_ro') THEN
    CREATE ROLE ape_pg_ro LOGIN PASSWORD 'ro_pg_pw_5521';
  END IF;
END $$;
GRANT USAGE ON SCHEMA it_pg_perm TO ape_pg_ro;
GRANT SELECT ON it_pg_perm.a TO ape_pg_ro;
""")
    pg_exec(local, "DROP SCHEMA IF EXISTS it_pg_perm CASCADE")
    url = "postgres://ape_pg_ro:ro_pg_pw_5521@127.0.0.1:%s/ape_src" % env("APE_PGSRC_PORT")
    log_dir = fresh_dir("it_pg_perm")
    start(local, "it_pg_perm", config(log_dir, url=url, tables="*", schema="it_pg_perm", batch=100))
    assert wait_state(local, "it_pg_perm", 60) == "failed"
    error = last_error(local, "it_pg_perm")
    assert error == ('reading table "it_pg_perm"."b" on PostgreSQL server "127.0.0.1:55433" '
                     'failed: permission denied for table b'), error
    with local.cursor() as cur:
        cur.execute("SELECT tb, state, rows_copied FROM ape_resume.progress('it_pg_perm') ORDER BY tb")
        states = cur.fetchall()
        assert states[0] == ("a", "finished", 500) and states[1][2] == 0, states
        cur.execute("SELECT array_agg(ROW(id, v)::text ORDER BY id) FROM it_pg_perm.a")
        assert cur.fetchone()[0] == [f"({i},a{i})" for i in range(1, 501)]
        cur.execute("SELECT count(*) FROM it_pg_perm.b")
        assert cur.fetchone()[0] == 0
    pg_exec(source, "GRANT SELECT ON it_pg_perm.b, it_pg_perm.c TO ape_pg_ro")
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.resume_task('it_pg_perm')")
    assert wait_state(local, "it_pg_perm", 60) == "finished", last_error(local, "it_pg_perm")
    with local.cursor() as cur:
        cur.execute("SELECT array_agg(ROW(id, v)::text ORDER BY id) FROM it_pg_perm.a")
        assert cur.fetchone()[0] == [f"({i},a{i})" for i in range(1, 501)]
        cur.execute("SELECT array_agg(ROW(id, v)::text ORDER BY id) FROM it_pg_perm.b")
        assert cur.fetchone()[0] == [f"({i},b{i})" for i in range(1, 301)]
        cur.execute("SELECT array_agg(v ORDER BY v) FROM it_pg_perm.c")
        assert cur.fetchone()[0] == sorted(f"c{i}" for i in range(1, 11))
    with open(os.path.join(log_dir, "default.log")) as f:
        assert "ro_pg_pw_5521" not in f.read()


def run_testbed(*args):
    subprocess.run(["bash", os.path.join(REPO, "test", "testbed.sh"), *args], check=True,
                   capture_output=True)


def pause_target(local, task):
    """Hold a lock on the target table so that the task's next batch waits:
    the task is then surely mid-table.  Returns the connection that holds
    the lock (close it to let the task go on)."""
    wait_mid_table(local, task, low=1000)
    blocker = psycopg2.connect(host=env("PGHOST"), port=env("PGPORT"),
                               user=env("PGUSER"), dbname=env("PGDATABASE"))
    with blocker.cursor() as cur:
        cur.execute(f"LOCK TABLE {SCHEMA}.t IN ACCESS EXCLUSIVE MODE")
    n1, _, _ = progress(local, task)
    time.sleep(0.3)
    assert progress(local, task)[0] == n1 and 0 < n1 < ROWS
    return blocker


def test_source_stopped_mid_table_comes_back(local, source):
    """The source server stops (immediate) mid-table and is back within the
    retries: the task reconnects and finishes by itself, exactly."""
    task = "it_pg_lost_back"
    fresh_target(local)
    log_dir = fresh_dir(task)
    src_url = env("APE_PGSRC_URL").replace("postgres://", "postgresql://")
    start(local, task, config(log_dir, batch=100))
    blocker = pause_target(local, task)
    try:
        n, value, _ = progress(local, task)
        assert 0 < n < ROWS and int(value) == n
        run_testbed("stop", "pgsrc", "immediate")
    finally:
        blocker.close()
    try:
        time.sleep(2)
    finally:
        run_testbed("start", "pgsrc")
    assert wait_state(local, task, 120) == "finished", last_error(local, task)
    src = psycopg2.connect(src_url)
    try:
        assert_complete(local, src)
    finally:
        src.close()
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    assert f'source lost while copying table "{SCHEMA}"."t": reading table "{SCHEMA}"."t"' in default
    assert "pgsrc_secret_pw" not in default


def test_source_lost_mid_table_fails_then_resumes(local, source):
    """The source connection is killed mid-table and the source refuses new
    ones (its role may no longer log in; a stopped server could be started
    again by other work on the test bed): after the retries the task fails
    naming the table, the committed rows are exact, and resume_task
    completes it."""
    task = "it_pg_lost_fail"
    pg_exec(source, f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ape_pg_lost') THEN
    CREATE ROLE ape_pg_lost LOGIN PASSWORD 'lost_pw_3317';
  END IF;
END $$;
ALTER ROLE ape_pg_lost LOGIN;
GRANT USAGE ON SCHEMA {SCHEMA} TO ape_pg_lost;
GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO ape_pg_lost;
""")
    url = "postgres://ape_pg_lost:lost_pw_3317@127.0.0.1:%s/ape_src" % env("APE_PGSRC_PORT")
    fresh_target(local)
    log_dir = fresh_dir(task)
    start(local, task, config(log_dir, batch=100, url=url))
    blocker = pause_target(local, task)
    try:
        n, value, _ = progress(local, task)
        assert 0 < n < ROWS and int(value) == n
        pg_exec(source, "ALTER ROLE ape_pg_lost NOLOGIN; "
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE usename = 'ape_pg_lost'")
    finally:
        blocker.close()
    try:
        # rows the source sent before it went are copied (the socket held
        # them); the rest fails
        assert wait_state(local, task, 120) == "failed"
        error = last_error(local, task)
        assert error.startswith(f'lost the source while copying table "{SCHEMA}"."t": '
                                'could not connect to PostgreSQL server "127.0.0.1:55433"'), error
        assert 'role "ape_pg_lost" is not permitted to log in' in error
        assert "lost_pw_3317" not in error
        # committed rows are exact: the prefix up to the position, once each
        n, value_now, _ = progress(local, task)
        assert int(value) <= int(value_now) < ROWS and int(value_now) == n
        assert_prefix(local, source, value_now)
    finally:
        pg_exec(source, "ALTER ROLE ape_pg_lost LOGIN")
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.resume_task(%s)", (task,))
    assert wait_state(local, task, 120) == "finished", last_error(local, task)
    assert_complete(local, source)
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    assert f'source lost while copying table "{SCHEMA}"."t": reading table "{SCHEMA}"."t"' in default
    assert default.count("retrying in") == 5
    assert "lost_pw_3317" not in default
