#!/usr/bin/env bash
# bench/pg_copy.sh: copy one table of the test bed's source PostgreSQL into
# the local PostgreSQL with ape_resume, with a psql COPY pipe and with
# pgcopydb clone, in one run, and compare wall times.  Run by hand; it prints
# numbers and never asserts times.  It fails only when a copy is wrong (row
# count or checksum differs from the source) or a tool fails.
#
#   (a) ape_resume, [sinker] batch_size=$BATCH (a checkpoint every $BATCH rows)
#   (b) psql -c "COPY (SELECT ...) TO STDOUT" | psql -c "COPY ... FROM STDIN"
#       into a table created beforehand with its primary key, as ape_resume's
#   (c) pgcopydb clone --table-jobs 2 --index-jobs 2 of that one table into a
#       fresh database (it creates the table, copies, then builds the index)
#
# Environment:
#   ROWS=2000000   rows of the source table bench_pg.t
#   BATCH=10000    ape_resume's batch_size (its default)
#   RUNS=1         timed runs of each method; the best (shortest) is reported
#   REGEN=0        1: rebuild the source table even if it is current
#   KEEP=0         1: keep the target tables after the run
#   GEN_ONLY=0     1: make the source table and stop (bench/chunks.sh)
#   BENCH_DIR      work files (default $APE_SHARED_DIR/bench_pg_copy)
set -euo pipefail

ROWS=${ROWS:-2000000}
BATCH=${BATCH:-10000}
RUNS=${RUNS:-1}
REGEN=${REGEN:-0}
KEEP=${KEEP:-0}
GEN_VERSION=1                      # bump when the generated content changes

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
if ! bash test/testbed.sh status >/dev/null 2>&1; then
    bash test/testbed.sh start
fi
# shellcheck disable=SC1091
. .testbed/env.sh
# the same output settings for every client of both servers
export PGCLIENTENCODING=UTF8 PGTZ=UTC PGDATESTYLE=ISO
export PGOPTIONS="-c client_min_messages=warning -c extra_float_digits=3"

BENCH_DIR=${BENCH_DIR:-$APE_SHARED_DIR/bench_pg_copy}
mkdir -p "$BENCH_DIR"
chmod 0777 "$BENCH_DIR"            # ape_resume's worker (OS user postgres) writes logs here

# the bench's source is a database of its own (ape_bench), so that pgcopydb
# sees nothing but its table
SRC_URL=${APE_PGSRC_URL%/*}/ape_bench
psql -X -q -At -v ON_ERROR_STOP=1 -d "$APE_PGSRC_URL" <<'SQL'
SELECT 'CREATE DATABASE ape_bench' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ape_bench') \gexec
SQL
SRC=(psql -X -q -At -v ON_ERROR_STOP=1 -d "$SRC_URL")
TGT=(psql -X -q -At -v ON_ERROR_STOP=1)
TGT_URL=postgres://$PGUSER@127.0.0.1:$PGPORT
COLS="id, k, c, pad, amount, created, note"

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { echo "pg_copy.sh: $*" >&2; return 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

if ! command -v pgcopydb >/dev/null; then
    log "installing pgcopydb"
    DEBIAN_FRONTEND=noninteractive apt-get install -y pgcopydb >/dev/null 2>&1 ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y pgcopydb >/dev/null; }
fi

# ---------------------------------------------------------------------------
# Source table: (id bigint primary key, k, c, pad, amount, created, note),
# hash-driven content of varying length; NULL amounts (1/13), timestamps
# (1/17) and notes (1/5); every 1000th row carries tab, newline, CR,
# backslash and non-ASCII text, and notes that are the strings 'NULL', '\N'
# and ''.
# ---------------------------------------------------------------------------
generate_source() {
    local current t0
    current=$("${SRC[@]}" -c "SELECT gen_version || ':' || nrows FROM bench_pg.meta" 2>/dev/null || true)
    if [ "$REGEN" != 1 ] && [ "$current" = "$GEN_VERSION:$ROWS" ]; then
        log "source bench_pg.t ($ROWS rows) is current, not regenerated (REGEN=1 forces)"
        return
    fi
    log "generating bench_pg.t with $ROWS rows"
    t0=$(now)
    "${SRC[@]}" <<SQL
DROP SCHEMA IF EXISTS bench_pg CASCADE;
CREATE SCHEMA bench_pg;
CREATE TABLE bench_pg.t (
    id bigint PRIMARY KEY,
    k int NOT NULL,
    c varchar(120) NOT NULL,
    pad char(60) NOT NULL,
    amount decimal(12,2),
    created timestamp,
    note text NULL
);
INSERT INTO bench_pg.t
SELECT i,
       (hashint4(i) & 2147483647) % 1000000,
       CASE WHEN i % 1000 = 7
            THEN E'tab\there back\\\\slash cr\rnl\nend ünïcødé € ' || md5(i::text)
            ELSE left(md5(i::text) || ' ' || md5((i * 3)::text) || ' ' || md5((i * 7)::text),
                      20 + (hashint4(i * 3) & 2147483647) % 100)
       END,
       concat_ws('-', lpad(((hashint4(i * 5) & 2147483647))::text, 11, '0'),
                 lpad(((hashint4(i * 17) & 2147483647))::text, 11, '0'),
                 lpad(((hashint4(i * 19) & 2147483647))::text, 11, '0'),
                 lpad(((hashint4(i * 23) & 2147483647))::text, 11, '0'),
                 lpad(((hashint4(i * 29) & 2147483647))::text, 11, '0')),
       CASE WHEN i % 13 = 0 THEN NULL
            ELSE ((hashint4(i * 11) & 2147483647) % 1000000000) / 100.0 END,
       CASE WHEN i % 17 = 0 THEN NULL
            ELSE timestamp '2015-01-01 00:00:00'
                 + ((hashint4(i * 13) & 2147483647) % 315360000) * interval '1 second' END,
       CASE WHEN i % 5 = 0 THEN NULL
            WHEN i % 1000 = 1 THEN 'NULL'
            WHEN i % 1000 = 11 THEN E'\\\\N'
            WHEN i % 1000 = 21 THEN ''
            WHEN i % 1000 = 31 THEN E'multi\nline\ttabbed \\\\ note ' || md5(i::text)
            ELSE repeat(md5((i * 31)::text) || ' ', 1 + (hashint4(i * 37) & 2147483647) % 6)
       END
  FROM generate_series(1, $ROWS) i;
VACUUM ANALYZE bench_pg.t;
CREATE TABLE bench_pg.meta (gen_version int, nrows bigint);
INSERT INTO bench_pg.meta VALUES ($GEN_VERSION, $ROWS);
SQL
    log "generated in $(elapsed "$t0" "$(now)") s"
}

# Checksum of a table, computed the same way on both servers: rows, sums,
# NULL notes, and the sum over all rows of the first 32 bits of the md5 of
# the row's text.
CHECKSUM_SQL() { # TABLE
    echo "SELECT concat_ws(' ', count(*), sum(id), sum(k), coalesce(sum(amount), 0),
       count(*) - count(note),
       sum(('x' || left(md5(ROW($COLS)::text), 8))::bit(32)::bigint)) FROM $1"
}

verify() { # LABEL TABLE EXPECTED [DB]
    local got
    got=$("${TGT[@]}" -d "${4:-$PGDATABASE}" -c "$(CHECKSUM_SQL "$2")") || { fail "$1: cannot read $2"; return 1; }
    if [ "$got" != "$3" ]; then
        fail "$1: $2 differs from the source"
        echo "  source: $3" >&2
        echo "  target: $got" >&2
        return 1
    fi
    log "$1: $2 verified ($(cut -d' ' -f1 <<<"$got") rows, checksum equal)"
}

drop_target() { "${TGT[@]}" -c "DROP SCHEMA IF EXISTS $1 CASCADE"; }

# Before each timed run: flush dirty buffers so that one run's writes do not
# slow the next one down.
settle() { "${TGT[@]}" -c "CHECKPOINT" && "${SRC[@]}" -c "CHECKPOINT" && sleep 1; }

# (a) ape_resume: start_task to wait_task's return.  Sets R_WALL, R_WORKER
# (default.log's first line to its last, inside the worker).
ape_run() { # TASK TARGET_SCHEMA BATCH_SIZE
    local task=$1 schema=$2 batch=$3 logdir=$BENCH_DIR/$1 t0 t1 state
    drop_target "$schema"
    "${TGT[@]}" -c "SELECT ape_resume.drop_task(name) FROM ape_resume.tasks WHERE name = '$task'" >/dev/null
    rm -rf "$logdir" && mkdir -p "$logdir" && chmod 0777 "$logdir"
    settle
    t0=$(now)
    "${TGT[@]}" -c "SELECT ape_resume.start_task('$task', \$cfg\$
[extractor]
db_type=pg
url=$SRC_URL
[sinker]
batch_size=$batch
[filter]
do_tbs=bench_pg.t
[router]
db_map=bench_pg:$schema
[runtime]
log_dir=$logdir
\$cfg\$)" >/dev/null
    state=$("${TGT[@]}" -c "SELECT ape_resume.wait_task('$task', 7200)") || state=error
    t1=$(now)
    if [ "$state" != finished ]; then
        fail "task $task ended $state: $("${TGT[@]}" -c "SELECT last_error FROM ape_resume.tasks WHERE name = '$task'")"
        return 1
    fi
    R_WALL=$(elapsed "$t0" "$t1")
    R_WORKER=$(awk 'NR == 1 { a = $2 } END { b = $2; split(a, x, ":"); split(b, y, ":")
        printf "%.2f", (y[1] - x[1]) * 3600 + (y[2] - x[2]) * 60 + (y[3] - x[3]) }' "$logdir/default.log")
}

# (b) the psql COPY pipe into bench_pg_pipe.t, created with its primary key.
pipe_run() {
    local t0 t1
    drop_target bench_pg_pipe
    "${TGT[@]}" -c "CREATE SCHEMA bench_pg_pipe;
        CREATE TABLE bench_pg_pipe.t (id bigint PRIMARY KEY, k int NOT NULL,
            c varchar(120) NOT NULL, pad char(60) NOT NULL, amount numeric(12,2),
            created timestamp, note text)"
    settle
    t0=$(now)
    psql -X -q -v ON_ERROR_STOP=1 -d "$SRC_URL" -c "COPY (SELECT $COLS FROM bench_pg.t) TO STDOUT" |
        psql -X -q -v ON_ERROR_STOP=1 -c "COPY bench_pg_pipe.t ($COLS) FROM STDIN"
    local st=("${PIPESTATUS[@]}")
    t1=$(now)
    if [ "${st[0]}" != 0 ] || [ "${st[1]}" != 0 ]; then
        fail "the psql | psql pipe failed (exit statuses ${st[*]})"
        return 1
    fi
    R_WALL=$(elapsed "$t0" "$t1")
}

# (c) pgcopydb clone of the one table into a fresh database bench_pgcopydb.
pgcopydb_run() {
    local t0 t1 dir=$BENCH_DIR/pgcopydb
    rm -rf "$dir" && mkdir -p "$dir"
    printf '[include-only-table]\nbench_pg.t\n' >"$BENCH_DIR/pgcopydb_filters.ini"
    "${TGT[@]}" -c "DROP DATABASE IF EXISTS bench_pgcopydb" -c "CREATE DATABASE bench_pgcopydb"
    settle
    t0=$(now)
    if ! pgcopydb clone --source "$SRC_URL" --target "$TGT_URL/bench_pgcopydb" \
        --dir "$dir" --table-jobs 2 --index-jobs 2 --no-owner --no-acl --skip-extensions \
        --filters "$BENCH_DIR/pgcopydb_filters.ini" >"$BENCH_DIR/pgcopydb.log" 2>&1; then
        fail "pgcopydb failed, see $BENCH_DIR/pgcopydb.log:"
        tail -20 "$BENCH_DIR/pgcopydb.log" >&2
        return 1
    fi
    t1=$(now)
    R_WALL=$(elapsed "$t0" "$t1")
}

# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------
"${TGT[@]}" -c "CREATE EXTENSION IF NOT EXISTS ape_resume"
generate_source
# GEN_ONLY=1: the source table only (for bench/chunks.sh)
[ "${GEN_ONLY:-0}" = 1 ] && exit 0
log "source checksum (this also warms the source's caches)"
SRC_SUM=$("${SRC[@]}" -c "$(CHECKSUM_SQL bench_pg.t)")
[ "$(cut -d' ' -f1 <<<"$SRC_SUM")" = "$ROWS" ] || { echo "source has $(cut -d' ' -f1 <<<"$SRC_SUM") rows, not $ROWS" >&2; exit 1; }
SRC_SIZE=$("${SRC[@]}" -c "SELECT pg_size_pretty(pg_table_size('bench_pg.t'))")

best() { # VAR VALUE: keep the smaller
    local cur=${!1:-}
    if [ -z "$cur" ] || awk -v a="$2" -v b="$cur" 'BEGIN { exit !(a < b) }'; then
        printf -v "$1" '%s' "$2"
    fi
}

ALL_APE="" ALL_PIPE="" ALL_PGC=""
for run in $(seq 1 "$RUNS"); do
    log "run $run/$RUNS: (a) ape_resume, batch_size=$BATCH"
    ape_run bench_pg_ape bench_pg_ape "$BATCH"
    verify "ape_resume" bench_pg_ape.t "$SRC_SUM"
    best APE_WALL "$R_WALL"; best APE_WORKER "$R_WORKER"; ALL_APE+=" $R_WALL"
    log "  wall $R_WALL s, in the worker $R_WORKER s"
    [ "$KEEP" = 1 ] || drop_target bench_pg_ape

    log "run $run/$RUNS: (b) psql COPY pipe"
    pipe_run
    verify "psql | psql" bench_pg_pipe.t "$SRC_SUM"
    best PIPE_WALL "$R_WALL"; ALL_PIPE+=" $R_WALL"
    log "  wall $R_WALL s"
    [ "$KEEP" = 1 ] || drop_target bench_pg_pipe

    log "run $run/$RUNS: (c) pgcopydb clone"
    pgcopydb_run
    verify "pgcopydb" bench_pg.t "$SRC_SUM" bench_pgcopydb
    best PGC_WALL "$R_WALL"; ALL_PGC+=" $R_WALL"
    log "  wall $R_WALL s"
    [ "$KEEP" = 1 ] || "${TGT[@]}" -c "DROP DATABASE IF EXISTS bench_pgcopydb"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "met" : "NOT met" }'; }
APE_PIPE=$(ratio "$APE_WALL" "$PIPE_WALL")
APE_PGC=$(ratio "$APE_WALL" "$PGC_WALL")

cat <<EOF

=== PostgreSQL -> PostgreSQL copy benchmark: $ROWS rows, $(nproc) CPUs, best of $RUNS run(s) ===
source: bench_pg.t in database ape_bench of the source cluster (port $APE_PGSRC_PORT), $SRC_SIZE; target: the local cluster (port $PGPORT)
every copy verified: rows and checksums equal the source

method                                   wall s   rows/s   all runs (wall s)
EOF
printf '%-38s %8s %8s   %s\n' \
    "(a) ape_resume, batch_size=$BATCH" "$APE_WALL" "$(rate "$ROWS" "$APE_WALL")" "$ALL_APE" \
    "(b) psql COPY | psql COPY" "$PIPE_WALL" "$(rate "$ROWS" "$PIPE_WALL")" "$ALL_PIPE" \
    "(c) pgcopydb clone (2 jobs)" "$PGC_WALL" "$(rate "$ROWS" "$PGC_WALL")" "$ALL_PGC"
cat <<EOF

ape_resume inside its worker (connect to finished): $APE_WORKER s

ratio                                  value     target    verdict
EOF
printf '%-38s %6s     %-8s  %s\n' \
    "ape_resume / psql pipe (wall)" "$APE_PIPE" "<= 1.2" "$(verdict "$APE_PIPE" 1.2)" \
    "ape_resume / pgcopydb (wall)" "$APE_PGC" "<= 1.0" "$(verdict "$APE_PGC" 1.0)"
cat <<EOF

Times are wall clock on a shared machine: other work running at the same time
makes them noisy; compare ratios from one run, and use RUNS=3 for steadier numbers.
load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
EOF
