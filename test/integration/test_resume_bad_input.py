"""Bad resume input: each a clear message, nothing lost."""
import os

import psycopg2
import pytest

from conftest import env, wait_state, drop_task_if_exists
from test_resume_exactly_once import (DB, ROWS, config, fresh_dir, fresh_target, source,  # noqa: F401
                                      source_rows, start, target_rows)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)


def test_value_that_does_not_fit_the_order_column(local, source):
    fresh_target(local)
    work = fresh_dir("it_bad_value")
    rc = os.path.join(work, "resume.config")
    write(rc, '{"type":"RdbSnapshot","db_type":"mysql","schema":"it_once","tb":"t",'
              '"order_col":"id","value":"abc"}\n')
    start(local, "it_bad_value", config(os.path.join(work, "logs"), f"resume_config_file={rc}",
                                        tables="t"))
    assert wait_state(local, "it_bad_value", 60) == "failed"
    with local.cursor() as cur:
        cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = 'it_bad_value'")
        error = cur.fetchone()[0]
    assert 'invalid resume value "abc" for column "id" of table "it_once"."t"' in error
    assert target_rows(local, "t") == []


def test_unknown_table_and_bad_lines_are_reported(local, source):
    fresh_target(local)
    work = fresh_dir("it_bad_table")
    rc = os.path.join(work, "resume.config")
    write(rc, '{"type":"RdbSnapshot","db_type":"mysql","schema":"it_once","tb":"no_such",'
              '"order_col":"id","value":"5"}\n'
              '{"type":"RdbSnapshot","db_type":"mysql","schema":"it_once","tb":"t",\n'
              '{"type":"RdbSnapshot","db_type":"mysql","schema":"it_once","tb":"t",'
              '"order_col":"id","value":"59990"}\n')
    log_dir = os.path.join(work, "logs")
    cfg = config(log_dir, f"resume_config_file={rc}", tables="t")
    drop_task_if_exists(local, "it_bad_table")
    local.notices.clear()
    with local.cursor() as cur:
        cur.execute("SELECT tb, action, value, decided_by, line_no FROM ape_resume.resume_plan('it_bad_table', %s)",
                    (cfg,))
        assert cur.fetchall() == [("t", "resume", "59990", "resume.config", 3)]
    notices = "".join(local.notices)
    assert f'skipping line 2 of file "{rc}"' in notices
    assert 'table "it_once"."no_such" named at line 1 of resume.config is not copied by this task' in notices
    start(local, "it_bad_table", cfg)
    assert wait_state(local, "it_bad_table", 60) == "finished"
    assert target_rows(local, "t") == [r for r in source_rows(source, "t") if r[0] > 59990]
    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    assert f'WARN - [' in default and f'skipping line 2 of file "{rc}"' in default
    assert 'table "it_once"."no_such" named at line 1 of resume.config is not copied' in default


def test_resume_config_file_that_is_a_directory(local):
    work = fresh_dir("it_bad_dir")
    drop_task_if_exists(local, "it_bad_dir")
    with local.cursor() as cur:
        with pytest.raises(psycopg2.errors.WrongObjectType) as e:
            cur.execute("SELECT ape_resume.start_task('it_bad_dir', %s)",
                        (config(os.path.join(work, "logs"), f"resume_config_file={work}"),))
        assert f'resume_config_file "{work}" of section [resumer] is a directory' in str(e.value)
        cur.execute("SELECT count(*) FROM ape_resume.tasks WHERE name = 'it_bad_dir'")
        assert cur.fetchone()[0] == 0
        with pytest.raises(psycopg2.errors.UndefinedFile) as e:
            cur.execute("SELECT ape_resume.start_task('it_bad_dir', %s)",
                        (config(os.path.join(work, "logs"),
                                f"resume_config_file={work}/missing.config"),))
        assert "missing.config" in str(e.value)


def test_two_running_tasks_cannot_share_a_log_dir(local, source):
    fresh_target(local)
    log_dir = fresh_dir("it_bad_shared")
    drop_task_if_exists(local, "it_bad_shared2")
    start(local, "it_bad_shared1", config(log_dir, batch=100))
    with local.cursor() as cur:
        with pytest.raises(psycopg2.Error) as e:
            cur.execute("SELECT ape_resume.start_task('it_bad_shared2', %s)",
                        (config(log_dir, "resume_from_log=true"),))
        assert log_dir in str(e.value) and "it_bad_shared1" in str(e.value)
        cur.execute("SELECT count(*) FROM ape_resume.tasks WHERE name = 'it_bad_shared2'")
        assert cur.fetchone()[0] == 0
    assert wait_state(local, "it_bad_shared1", 120) == "finished"
    assert len(target_rows(local, "t")) == ROWS
