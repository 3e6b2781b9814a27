"""Harness for ape-dts's own resume tests (../shared/peer-cases/ape-dts).

A case folder holds src_prepare.sql, src_test.sql, task_config.ini,
resume.config and resume_logs/; EXPECTED.md holds, per case, a table of
target tables and their row counts after the task.  The harness copies the
case where the server can read it, rewrites only the placeholders and the
relative paths of task_config.ini, loads the source with the loader of the
case's kind, runs the task through start_task and returns the counts.
"""
import os
import re
import shutil
import warnings

from conftest import PEER_CASES, env, wait_state, drop_task_if_exists

EXPECTED_MD = os.path.join(PEER_CASES, "EXPECTED.md")


def expected_counts(case):
    """{(schema, tb): rows} from the case's section of EXPECTED.md."""
    with open(EXPECTED_MD) as f:
        text = f.read()
    m = re.search(r"^## " + re.escape(case) + r"\b.*?$(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not m:
        raise AssertionError(f"no section for {case} in {EXPECTED_MD}")
    section = m.group(1)
    default_schema = None
    header = re.search(r"\| target table \(schema ([^)]+)\)", section)
    if header:
        default_schema = header.group(1)
    counts = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[1].isdigit():
            continue
        counts[split_table_name(cells[0], default_schema)] = int(cells[1])
    if not counts:
        raise AssertionError(f"no rows in the table of {case} in {EXPECTED_MD}")
    return counts


def split_table_name(name, default_schema):
    """schema.tb where either part may be double-quoted (and hold dots)."""
    parts = re.findall(r'"((?:[^"]|"")*)"|([^.]+)', name)
    names = [q.replace('""', '"') if q else p for q, p in parts]
    if len(names) == 1:
        return (default_schema, names[0])
    if len(names) != 2:
        raise AssertionError(f"cannot split table name {name!r}")
    return tuple(names)


def rewrite_config(text, case_dir, log_dir, url):
    """Substitute the URL placeholders, point the resumer's relative paths at
    the case folder and the runtime log_dir at a fresh folder."""
    out = []
    section = None
    for line in text.splitlines():
        s = line.strip()
        m = re.fullmatch(r"\[([^\]]+)\]", s)
        if m:
            section = m.group(1)
            out.append(line)
            continue
        if "=" in s and not s.startswith(("#", ";")):
            key, value = (x.strip() for x in s.split("=", 1))
            value = re.sub(r"\{[a-z_]+_url\}", url, value)
            if section == "runtime" and key == "log_dir":
                value = log_dir
            elif section == "resumer" and key in ("resume_log_dir", "log_dir"):
                value = os.path.join(case_dir, "resume_logs")
            elif section == "resumer" and key in ("resume_config_file", "config_file"):
                value = os.path.join(case_dir, "resume.config")
            line = f"{key}={value}"
        out.append(line)
    return "\n".join(out) + "\n"


def run_case(local, case, task, url, load_source, target_schemas, skipped=None):
    """Run one peer case end to end; returns (expected, actual, log_dir).

    With skipped (a list), the tables whose rows the source server refused
    to store (the loader's SKIPPED-TYPE lines; EXPECTED.md allows this for
    BSON types a Mongo-compatible server lacks) are printed, left out of
    expected and actual, and appended to skipped as (schema, tb). Without
    it, any refused row fails the case."""
    src = os.path.join(PEER_CASES, case)
    work = os.path.join(env("APE_SHARED_DIR"), task)
    shutil.rmtree(work, ignore_errors=True)
    case_dir = os.path.join(work, "case")
    shutil.copytree(src, case_dir)
    log_dir = os.path.join(work, "logs")
    for root, dirs, files in os.walk(work):
        os.chmod(root, 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)
    os.mkdir(log_dir)
    os.chmod(log_dir, 0o777)  # written by the server's OS user

    refused = []
    for script in ("src_prepare.sql", "src_test.sql"):
        refused += load_source(os.path.join(case_dir, script)) or []

    with open(os.path.join(case_dir, "task_config.ini")) as f:
        config = rewrite_config(f.read(), case_dir, log_dir, url)
    drop_task_if_exists(local, task)
    expected = expected_counts(case)
    if refused and skipped is None:
        raise AssertionError(f"the source server refused rows of {case}: {refused}")
    for line in refused:
        m = re.match(r"SKIPPED-TYPE ([^.]+)\.(.+?): (.*)", line)
        if not m:
            raise AssertionError(f"unexpected loader line: {line}")
        table = (m.group(1), m.group(2))
        if table not in skipped:
            # in pytest's summary as well as in the captured output
            note = (f"{case}: {table[0]}.{table[1]} not compared: the source server "
                    f"cannot store its rows ({m.group(3)})")
            print(note)
            warnings.warn(note)
            skipped.append(table)
            expected.pop(table, None)
    with local.cursor() as cur:
        for schema in target_schemas:
            cur.execute("SELECT format('DROP SCHEMA IF EXISTS %%I CASCADE', %s::text)", (schema,))
            cur.execute(cur.fetchone()[0])
        cur.execute("SELECT ape_resume.start_task(%s, %s)", (task, config))
        state = wait_state(local, task, 120)
        cur.execute("SELECT last_error FROM ape_resume.tasks WHERE name = %s", (task,))
        assert state == "finished", cur.fetchone()
        actual = {}
        for schema, tb in expected:
            cur.execute("SELECT to_regclass(format('%%I.%%I', %s::text, %s::text))", (schema, tb))
            if cur.fetchone()[0] is None:
                actual[(schema, tb)] = 0  # skipped as finished: never created
                continue
            cur.execute("SELECT format('SELECT count(*) FROM %%I.%%I', %s::text, %s::text)",
                        (schema, tb))
            cur.execute(cur.fetchone()[0])
            actual[(schema, tb)] = cur.fetchone()[0]
    return expected, actual, log_dir
