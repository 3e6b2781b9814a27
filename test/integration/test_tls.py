"""TLS to the sources (issue 13): [extractor] ssl_mode / ssl_ca_path and
the URLs' own options.  The test bed serves TLS on MariaDB and on the
PostgreSQL source with a throw-away CA (test/testbed.sh make_tls) whose
server certificate names 127.0.0.1 only, so "localhost" is the wrong host
name.  Whether a worker's session is encrypted is asked by the session
itself: the table's where_conditions selects its rows only if so."""
import json
import os

import pytest

from conftest import drop_task_if_exists, env, fresh_dir, start, wait_state
from test_config_current import mysql_exec, one, pgsrc_exec
from test_pg_copy import pg_exec

DB = "it_tls"
MYSQL_ENCRYPTED = ("(SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS"
                   " WHERE VARIABLE_NAME = 'Ssl_cipher') <> ''")
PG_ENCRYPTED = "EXISTS (SELECT 1 FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid() AND ssl)"


def ca(name="ca.pem"):
    return os.path.join(env("APE_TLS_DIR"), name)


@pytest.fixture(scope="module", autouse=True)
def tables():
    mysql_exec(f"""
DROP DATABASE IF EXISTS {DB};
CREATE DATABASE {DB};
CREATE TABLE {DB}.t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO {DB}.t VALUES (1, 10), (2, 20), (3, 30)
""")
    pgsrc_exec(f"""
DROP SCHEMA IF EXISTS {DB} CASCADE;
CREATE SCHEMA {DB};
CREATE TABLE {DB}.t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO {DB}.t VALUES (1, 10), (2, 20), (3, 30);
""")


def run(local, kind, url=None, extractor="", task="it_tls"):
    """Copy table t through a connection made as the config says; returns
    (state, last_error, rows): rows 3 only if the session was encrypted."""
    if kind == "mysql":
        url = url or env("APE_MYSQL_URL")
        cond = MYSQL_ENCRYPTED
    else:
        url = url or env("APE_PGSRC_URL")
        cond = PG_ENCRYPTED
    where = json.dumps([{"db": DB, "tb": "t", "condition": cond}])
    pg_exec(local, f"DROP SCHEMA IF EXISTS {DB} CASCADE")
    start(local, task, f"""
[extractor]
db_type={kind}
url={url}
{extractor}
[filter]
do_tbs={DB}.t
where_conditions=json:{where}
[runtime]
log_dir={fresh_dir(task)}
""")
    state = wait_state(local, task)
    err = one(local, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))[0]
    rows = None
    if state == "finished":
        rows = one(local, f"SELECT count(*) FROM {DB}.t")[0]
    drop_task_if_exists(local, task)
    return state, err, rows


@pytest.mark.parametrize("kind", ["mysql", "pg"])
def test_without_tls_the_session_is_plaintext(local, kind):
    extractor = "ssl_mode=disable" if kind == "pg" else ""
    assert run(local, kind, extractor=extractor) == ("finished", None, 0)


@pytest.mark.parametrize("kind", ["mysql", "pg"])
@pytest.mark.parametrize("mode", ["require", "verify_ca", "verify_full"])
def test_ssl_mode_encrypts_the_session(local, kind, mode):
    extractor = f"ssl_mode={mode}" + (f"\nssl_ca_path={ca()}" if mode != "require" else "")
    assert run(local, kind, extractor=extractor) == ("finished", None, 3)


@pytest.mark.parametrize("kind", ["mysql", "pg"])
@pytest.mark.parametrize("mode", ["verify_ca", "verify_full"])
def test_a_certificate_of_another_ca_fails(local, kind, mode):
    state, err, _ = run(local, kind, extractor=f"ssl_mode={mode}\nssl_ca_path={ca('other-ca.pem')}")
    assert state == "failed"
    assert "could not connect to" in err and "certificate" in err.lower(), err


@pytest.mark.parametrize("kind", ["mysql", "pg"])
def test_verify_full_checks_the_host_name_and_verify_ca_does_not(local, kind):
    if kind == "mysql":
        url = env("APE_MYSQL_URL").replace("127.0.0.1", "localhost")
    else:
        url = env("APE_PGSRC_URL").replace("127.0.0.1", "localhost")
    state, err, _ = run(local, kind, url=url, extractor=f"ssl_mode=verify_full\nssl_ca_path={ca()}")
    assert state == "failed"
    assert "could not connect to" in err, err
    assert run(local, kind, url=url, extractor=f"ssl_mode=verify_ca\nssl_ca_path={ca()}") == \
        ("finished", None, 3)


def test_require_against_a_server_without_tls_fails(local):
    url = f"postgres://postgres@127.0.0.1:{env('APE_NOPRELOAD_PORT')}/postgres"
    state, err, _ = run(local, "pg", url=url, extractor="ssl_mode=require")
    assert state == "failed"
    assert "SSL" in err and "could not connect to PostgreSQL server" in err, err


def test_url_options_secure_the_connection_too(local):
    # MySQL: ape-dts's (sqlx's) names, case-insensitive values
    url = env("APE_MYSQL_URL") + "/?ssl-mode=REQUIRED"
    assert run(local, "mysql", url=url) == ("finished", None, 3)
    url = env("APE_MYSQL_URL") + f"/?ssl-mode=verify_identity&ssl-ca={ca('other-ca.pem')}"
    state, err, _ = run(local, "mysql", url=url)
    assert state == "failed" and "certificate" in err.lower(), err
    # preferred: TLS, since the server has it; the URL's CA is kept (the
    # wrong one fails even so)
    assert run(local, "mysql", url=env("APE_MYSQL_URL") + "/?ssl-mode=preferred") == ("finished", None, 3)
    # the config's key beats the URL's option, as in ape-dts
    url = env("APE_MYSQL_URL") + "/?ssl-mode=disabled"
    assert run(local, "mysql", url=url, extractor="ssl_mode=require") == ("finished", None, 3)
    # libpq's own
    url = env("APE_PGSRC_URL") + f"?sslmode=verify-full&sslrootcert={ca()}"
    assert run(local, "pg", url=url) == ("finished", None, 3)


@pytest.mark.parametrize("kind, url, message", [
    ("mysql", "/?sslmode=require", 'Option "sslmode" is not supported'),
    ("mysql", "/?ssl-mode=sometimes", 'Option ssl-mode is "sometimes"'),
    ("pg", "?sslmod=require", "invalid URI query parameter"),
    ("mongo", "/?tlss=true", "tlss"),
])
def test_an_option_the_client_library_does_not_know_is_an_error(local, kind, url, message):
    base = {"mysql": env("APE_MYSQL_URL"), "pg": env("APE_PGSRC_URL"), "mongo": env("APE_MONGO_URL")}[kind]
    task = "it_tls_opt"
    start(local, task, f"""
[extractor]
db_type={kind}
url={base}{url}
[filter]
do_tbs={DB}.t
[runtime]
log_dir={fresh_dir(task)}
""")
    assert wait_state(local, task) == "failed"
    err = one(local, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))[0]
    assert message in err, err
    assert "secret" not in err
    drop_task_if_exists(local, task)


# --- Mongo: the test bed's FerretDB also listens with TLS on its own port ----

def mongo_tls_url(host="127.0.0.1", options=""):
    return f"mongodb://{host}:{env('APE_MONGO_TLS_PORT')}/{options}"


@pytest.fixture
def mongo_rows(mongo):
    mongo[DB].t.drop()
    mongo[DB].t.insert_many([{"_id": i, "v": i * 10} for i in (1, 2, 3)])
    yield
    mongo.drop_database(DB)


def run_mongo(local, url, extractor=""):
    """Copy collection t through the TLS listener, which speaks nothing
    but TLS: rows 3 means the session was encrypted."""
    task = "it_tls_mongo"
    pg_exec(local, f"DROP SCHEMA IF EXISTS {DB} CASCADE")
    start(local, task, f"""
[extractor]
db_type=mongo
url={url}
{extractor}
[filter]
do_tbs={DB}.t
[runtime]
log_dir={fresh_dir(task)}
""")
    state = wait_state(local, task)
    err = one(local, "SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))[0]
    rows = one(local, f"SELECT count(*) FROM {DB}.t")[0] if state == "finished" else None
    drop_task_if_exists(local, task)
    return state, err, rows


def test_mongo_verify_full_overrides_the_urls_insecure_options(local, mongo_rows):
    state, err, _ = run_mongo(local, mongo_tls_url(options="?tls=true&tlsInsecure=true"),
                              f"ssl_mode=verify_full\nssl_ca_path={ca('other-ca.pem')}")
    assert state == "failed" and "certificate verify failed" in err, err
    state, err, _ = run_mongo(local, mongo_tls_url("localhost", options="?tls=true&tlsAllowInvalidHostnames=true"),
                              f"ssl_mode=verify_full\nssl_ca_path={ca()}")
    assert state == "failed" and "hostname mismatch" in err, err


@pytest.mark.parametrize("extractor", [
    "ssl_mode=require",
    f"ssl_mode=verify_ca\nssl_ca_path=CA",
    f"ssl_mode=verify_full\nssl_ca_path=CA",
])
def test_mongo_ssl_mode_connects_over_tls(local, mongo_rows, extractor):
    assert run_mongo(local, mongo_tls_url(), extractor.replace("CA", ca())) == ("finished", None, 3)


def test_mongo_tls_checks_the_ca_and_the_host_name(local, mongo_rows):
    # plaintext to a TLS listener, the wrong CA, the wrong host name: each fails
    for url, extractor, why in (
            (mongo_tls_url(), "", "closed connection"),
            (mongo_tls_url(), f"ssl_mode=verify_full\nssl_ca_path={ca('other-ca.pem')}",
             "certificate verify failed"),
            (mongo_tls_url("localhost"), f"ssl_mode=verify_full\nssl_ca_path={ca()}", "hostname mismatch")):
        state, err, _ = run_mongo(local, url, extractor)
        assert state == "failed" and "could not connect to MongoDB server" in err and why in err, \
            (extractor, err)
    # verify_ca does not check the host name
    assert run_mongo(local, mongo_tls_url("localhost"), f"ssl_mode=verify_ca\nssl_ca_path={ca()}") == \
        ("finished", None, 3)
    # the URL's own options
    assert run_mongo(local, mongo_tls_url(options=f"?tls=true&tlsCAFile={ca()}")) == ("finished", None, 3)
