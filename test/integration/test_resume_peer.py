"""ape-dts's own resume tests, run against ape_resume through start_task,
with the row counts of ../shared/peer-cases/ape-dts/EXPECTED.md."""
import os

from conftest import env, run_mysql_file
from peer_harness import run_case


def test_mysql_resume_peer_case(local):
    expected, actual, log_dir = run_case(
        local, "mysql_resume_test", "peer_mysql_resume", env("APE_MYSQL_URL"),
        run_mysql_file, ["test_db_1", "test_db_@"])
    assert len(expected) == 11
    assert actual == expected

    with open(os.path.join(log_dir, "default.log")) as f:
        default = f.read()
    # the resumer's decisions, in ape-dts's words
    for line in [
        'resumer, get resume value, schema: test_db_1, tb: one_pk_no_uk, col: f_0, result: Some("5")',
        'resumer, get resume value, schema: test_db_@, tb: resume_table_*$4, col: p.k, result: Some("1")',
        'resumer, get resume value, schema: test_db_@, tb: in_position_log_table_*$1, col: p.k, result: Some("1")',
        "resumer, check finished: schema: test_db_@, tb: finished_table_*$1, result: true",
        "resumer, check finished: schema: test_db_@, tb: in_finished_log_table_*$2, result: true",
        "resumer, check finished: schema: test_db_1, tb: one_pk_no_uk, result: false",
    ]:
        assert line in default, line
    # skipped tables are recorded as finished in this task's own finished.log
    with open(os.path.join(log_dir, "finished.log")) as f:
        finished = f.read()
    for tb in ["finished_table_*$1", "finished_table_*$2",
               "in_finished_log_table_*$1", "in_finished_log_table_*$2"]:
        assert f'"schema":"test_db_@","tb":"{tb}"' in finished, tb

    with local.cursor() as cur:
        # resumed tables hold exactly the rows after the position
        cur.execute("SELECT array_agg(f_0 ORDER BY f_0) FROM test_db_1.one_pk_no_uk")
        assert cur.fetchone()[0] == [6, 7, 8, 9]
        cur.execute("SELECT state, order_col, value FROM ape_resume.progress('peer_mysql_resume') "
                    "WHERE schema = 'test_db_@' ORDER BY tb")
        rows = cur.fetchall()
        assert ("skipped", None, None) in [(r[0], None, None) for r in rows]
        states = {r[0] for r in rows}
        assert states == {"skipped", "finished"}
