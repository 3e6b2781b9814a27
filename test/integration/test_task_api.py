"""Task API against a real (unreachable) source: the task is recorded,
its worker runs and fails, the failure is visible, the password is not."""
import os

import psycopg2
import pytest

from conftest import env, wait_state, drop_task_if_exists

SECRET = "hunter2_Secret"


def config(url, extra=""):
    return f"""
[extractor]
db_type=mysql
url={url}
[filter]
do_dbs=nothing_here
[runtime]
log_dir=/tmp/ape_resume_it_unreachable
{extra}
"""


def test_unreachable_source_fails_without_showing_password(local):
    drop_task_if_exists(local, "it_unreachable")
    with local.cursor() as cur:
        cur.execute("SELECT ape_resume.start_task(%s, %s)",
                    ("it_unreachable", config(f"mysql://ape:{SECRET}@127.0.0.1:1")))
        task_id = cur.fetchone()[0]
        assert task_id > 0
        assert wait_state(local, "it_unreachable") == "failed"
        cur.execute("SELECT id, state, source_url, last_error, finished_at IS NOT NULL "
                    "FROM ape_resume.tasks WHERE name = 'it_unreachable'")
        row = cur.fetchone()
        assert row[0] == task_id and row[1] == "failed"
        assert row[2] == "mysql://ape:*****@127.0.0.1:1"
        assert row[3] and SECRET not in row[3]
        assert row[4] is True
        # a failed task can be neither started twice nor dropped while running
        with pytest.raises(psycopg2.errors.DuplicateObject):
            cur.execute("SELECT ape_resume.start_task(%s, %s)",
                        ("it_unreachable", config("mysql://ape@127.0.0.1:1")))
        with open(os.path.join(env("APE_TESTBED"), "local", "server.log"), errors="replace") as log:
            assert SECRET not in log.read()
        cur.execute("SELECT ape_resume.drop_task('it_unreachable')")
        cur.execute("SELECT count(*) FROM ape_resume.tasks WHERE name = 'it_unreachable'")
        assert cur.fetchone()[0] == 0


def test_wait_task_times_out_on_unknown_task(local):
    with local.cursor() as cur:
        with pytest.raises(psycopg2.errors.UndefinedObject):
            cur.execute("SELECT ape_resume.wait_task('no_such_task', 1)")
