#!/usr/bin/env bash
# bench/mysql_copy.sh: copy one MariaDB table into the local PostgreSQL with
# ape_resume, with a mariadb | psql COPY pipe and with pgloader, and compare.
# Run by hand (see bench/README.md); it prints numbers and never asserts
# times.  It fails only when a copy is wrong (row count or checksum differs
# from the source) or a tool fails.
#
# Environment:
#   ROWS=2000000   rows of the source table (t_quarter gets ROWS/4)
#   RUNS=1         timed runs of each method; the best (shortest) is reported
#   REGEN=0        1: rebuild the source tables even if they are current
#   KEEP=0         1: keep the target tables, the tasks and the source tables
#                  after the run (the next run then reuses the source)
#   GEN_ONLY=0     1: make the source tables (kept) and stop (bench/chunks.sh)
#   PERF=0         1: perf-record the ape_resume worker in its first run
#                  (slows that run down a little; the profile is printed last)
#   PGLOADER_PREFETCH=25000  pgloader's "prefetch rows" (its default, 100000,
#                  exhausts the 1 GB heap of Debian's pgloader on this table)
#   TRIES=5        attempts of a run that other work disturbed (a server of
#                  the test bed restarted while it ran)
#   QUIET=20       before a repeated attempt, wait until no server restarted
#                  for this many seconds (at most 10 minutes)
#   BENCH_DIR      work files (default $APE_SHARED_DIR/bench_mysql_copy)
set -euo pipefail

ROWS=${ROWS:-2000000}
RUNS=${RUNS:-1}
REGEN=${REGEN:-0}
KEEP=${KEEP:-0}
PERF=${PERF:-0}
PGLOADER_PREFETCH=${PGLOADER_PREFETCH:-25000}
TRIES=${TRIES:-5}
QUIET=${QUIET:-20}
QROWS=$((ROWS / 4))
GEN_VERSION=1                      # bump when the generated content changes
SRC_DB=ape_bench                   # MariaDB database of the source tables

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
# Start the test bed only when none of it runs.  When only part of it is
# down, someone else (the test suite) is restarting servers: wait for them
# (wait_ready) rather than start anything behind their back.
TESTBED_STATUS=$(bash test/testbed.sh status 2>/dev/null || true)
if ! grep -q ': up' <<<"$TESTBED_STATUS"; then
    bash test/testbed.sh start
fi
# shellcheck disable=SC1091
. .testbed/env.sh
export PGCLIENTENCODING=UTF8 PGTZ=UTC PGOPTIONS="-c client_min_messages=warning"

BENCH_DIR=${BENCH_DIR:-$APE_SHARED_DIR/bench_mysql_copy}
mkdir -p "$BENCH_DIR"
chmod 0777 "$BENCH_DIR"            # ape_resume's worker (OS user postgres) writes logs here

# mysql://user:pass@host:port[/...] -> client options
if [[ $APE_MYSQL_URL =~ ^mysql://([^:@/]+):([^@/]*)@([^:/]+):([0-9]+) ]]; then
    MY_USER=${BASH_REMATCH[1]} MY_PASS=${BASH_REMATCH[2]}
    MY_HOST=${BASH_REMATCH[3]} MY_PORT=${BASH_REMATCH[4]}
else
    echo "mysql_copy.sh: cannot parse APE_MYSQL_URL" >&2
    exit 1
fi
export MYSQL_PWD=$MY_PASS         # not on command lines
MY=(mariadb --no-defaults -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER"
    --default-character-set=utf8mb4)
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)
CLK_TCK=$(getconf CLK_TCK)

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { echo "mysql_copy.sh: $*" >&2; return 1; }
mysqld_pid() { cat "$APE_TESTBED/mariadb/pid" 2>/dev/null || echo 0; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# cpu_secs PID: user+system CPU seconds of a process (0 if it is gone)
cpu_secs() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    stat=${stat##*) }
    # fields after "(comm) ": state is $1, utime $12, stime $13
    awk -v t="$CLK_TCK" '{ printf "%.2f", ($12 + $13) / t }' <<<"$stat"
}

# ---------------------------------------------------------------------------
# Source tables
# ---------------------------------------------------------------------------
# t: (id bigint primary key, k, c, pad, amount, created, note) with md5/crc32
# driven content of varying length; NULL amounts (1/13), datetimes (1/17) and
# notes (1/5); every 1000th row carries tab, newline, CR, backslash and
# non-ASCII text, and notes that are the strings 'NULL' and '\N'.
generate_source() {
    local current
    current=$("${MY[@]}" -N -e "SELECT CONCAT(gen_version, ':', nrows) FROM $SRC_DB.meta" 2>/dev/null || true)
    if [ "$REGEN" != 1 ] && [ "$current" = "$GEN_VERSION:$ROWS" ]; then
        log "source $SRC_DB.t ($ROWS rows) is current, not regenerated (REGEN=1 forces)"
        return
    fi
    log "generating $SRC_DB.t with $ROWS rows and $SRC_DB.t_quarter with $QROWS rows"
    local t0
    t0=$(now)
    if ! "${MY[@]}" >/dev/null <<SQL
DROP DATABASE IF EXISTS $SRC_DB;
CREATE DATABASE $SRC_DB CHARACTER SET utf8mb4;
USE $SRC_DB;
CREATE TABLE t (
    id bigint PRIMARY KEY,
    k int NOT NULL,
    c varchar(120) NOT NULL,
    pad char(60) NOT NULL,
    amount decimal(12,2),
    created datetime,
    note text NULL
) ENGINE=InnoDB;
SET SESSION unique_checks = 0;
INSERT INTO t
SELECT seq,
       CRC32(seq) % 1000000,
       CASE WHEN seq % 1000 = 7
            THEN CONCAT('tab\there back\\\\slash cr\rnl\nend ünïcødé € ', MD5(seq))
            ELSE LEFT(CONCAT(MD5(seq), ' ', SHA1(seq), ' ', MD5(seq * 7)), 20 + CRC32(seq * 3) % 100)
       END,
       CONCAT_WS('-', LPAD(CRC32(seq * 5), 11, '0'), LPAD(CRC32(seq * 17), 11, '0'),
                 LPAD(CRC32(seq * 19), 11, '0'), LPAD(CRC32(seq * 23), 11, '0'),
                 LPAD(CRC32(seq * 29), 11, '0')),
       IF(seq % 13 = 0, NULL, (CRC32(seq * 11) % 1000000000) / 100),
       IF(seq % 17 = 0, NULL,
          TIMESTAMP '2015-01-01 00:00:00' + INTERVAL (CRC32(seq * 13) % 315360000) SECOND),
       CASE WHEN seq % 5 = 0 THEN NULL
            WHEN seq % 1000 = 1 THEN 'NULL'
            WHEN seq % 1000 = 11 THEN '\\\\N'
            WHEN seq % 1000 = 21 THEN ''
            WHEN seq % 1000 = 31 THEN CONCAT('multi\nline\ttabbed \\\\ note ', SHA1(seq))
            ELSE REPEAT(CONCAT(MD5(seq * 31), ' '), 1 + CRC32(seq * 37) % 6)
       END
  FROM seq_1_to_$ROWS;
CREATE TABLE t_quarter LIKE t;
INSERT INTO t_quarter SELECT * FROM t WHERE id <= $QROWS;
CREATE TABLE meta (gen_version int, nrows bigint);
INSERT INTO meta VALUES ($GEN_VERSION, $ROWS);
ANALYZE TABLE t, t_quarter;
SQL
    then
        fail "could not generate the source tables"
        return 1
    fi
    log "generated in $(elapsed "$t0" "$(now)") s"
}

# ---------------------------------------------------------------------------
# Checksums: rows, sum(id), sum(k), sum(amount), null notes, and the sum over
# ALL rows of the first 32 bits of md5(id|k|c|pad|amount|created|note) (NULL
# as \N), computed the same way on both sides.
# ---------------------------------------------------------------------------
source_checksum() { # TABLE
    "${MY[@]}" -N -e "SET time_zone = '+00:00';
SELECT CONCAT_WS(' ', COUNT(*), SUM(id), SUM(k), IFNULL(SUM(amount), 0), SUM(note IS NULL),
       SUM(CAST(CONV(LEFT(MD5(CONCAT_WS('|', id, k, c, pad, IFNULL(amount, '\\\\N'),
           IFNULL(created, '\\\\N'), IFNULL(note, '\\\\N'))), 8), 16, 10) AS UNSIGNED)))
  FROM $SRC_DB.$1"
}

target_checksum() { # SCHEMA.TABLE
    "${PSQL[@]}" -c "SELECT concat_ws(' ', count(*), sum(id), sum(k), coalesce(sum(amount), 0),
       count(*) - count(note),
       sum(('x' || left(md5(concat_ws('|', id, k, c, pad::text, coalesce(amount::text, '\\N'),
           coalesce(to_char(created, 'YYYY-MM-DD HH24:MI:SS'), '\\N'),
           coalesce(note, '\\N'))), 8))::bit(32)::bigint))
  FROM $1"
}

verify() { # LABEL SCHEMA.TABLE EXPECTED
    local got
    got=$(target_checksum "$2") || { fail "$1: cannot read $2"; return 1; }
    if [ "$got" != "$3" ]; then
        MISMATCH=1
        fail "$1: $2 differs from the source"
        echo "  source: $3" >&2
        echo "  target: $got" >&2
        echo "  (rows sum_id sum_k sum_amount null_notes row_md5_sum)" >&2
        return 1
    fi
    log "$1: $2 verified ($(cut -d' ' -f1 <<<"$got") rows, checksum equal)"
}

drop_target() { "${PSQL[@]}" -c "DROP SCHEMA IF EXISTS $1 CASCADE"; }
# after a run, unless KEEP=1 (a failure here is not fatal: the next run drops it again)
cleanup() { [ "$KEEP" = 1 ] || { wait_ready && drop_target "$1"; } || true; }

# Before each timed run: flush dirty buffers so that one run's writes do not
# slow the next one down.
settle() { "${PSQL[@]}" -c "CHECKPOINT" && sleep 1; }

# ---------------------------------------------------------------------------
# Other work on the machine (the test suite kills workers, which makes the
# postmaster restart every backend, and restarts servers) can break or slow a
# run.  disturb_mark changes when the local PostgreSQL or MariaDB restarted;
# attempt runs a method again (up to TRIES times) when that happened.
# ---------------------------------------------------------------------------
disturb_mark() {
    local pg my
    pg=$(grep -cE 'ready to accept connections|shutdown request|terminating any other active server' \
        "$APE_TESTBED/local/server.log" 2>/dev/null) || true
    my=$(grep -cE 'ready for connections|Normal shutdown|Shutdown complete' \
        "$APE_TESTBED/mariadb/server.log" 2>/dev/null) || true
    echo "$pg:$my:$(mysqld_pid)"
}

wait_ready() {
    local i
    for i in $(seq 1 600); do
        if pg_isready -q && "${MY[@]}" -N -e 'SELECT 1' >/dev/null 2>&1 &&
            "${PSQL[@]}" -c "SELECT 1" >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    fail "the test bed's servers did not come back"
}

# wait until no server restarted for QUIET seconds (at most 10 minutes)
wait_quiet() {
    local mark new waited=0 stable=0
    mark=$(disturb_mark)
    while ((stable < QUIET && waited < 600)); do
        sleep 2
        waited=$((waited + 2)) stable=$((stable + 2))
        new=$(disturb_mark)
        if [ "$new" != "$mark" ]; then stable=0 mark=$new; fi
    done
}

attempt() { # LABEL FUNCTION ARGS...: run FUNCTION until an undisturbed run
    local label=$1 try mark
    shift
    for try in $(seq 1 "$TRIES"); do
        wait_ready || exit 1
        if ((try > 1)); then
            wait_quiet
            wait_ready || exit 1
        fi
        mark=$(disturb_mark)
        MISMATCH=0
        if "$@"; then
            [ "$(disturb_mark)" = "$mark" ] && return 0
            log "$label: a server restarted during the run (other work on the machine); again"
            NOTES+="$label: run $try disturbed by a server restart and repeated"$'\n'
        elif sleep 3 && [ "$(disturb_mark)" != "$mark" ]; then
            log "$label: failed while a server restarted (other work on the machine); again"
            NOTES+="$label: run $try failed during a server restart and was repeated"$'\n'
        elif [ "$MISMATCH" = 1 ]; then
            exit 1                  # a wrong copy, with no restart to blame
        else
            # a tool failed without a restart we saw (a server may have been
            # down or starting): worth another try, and noted
            log "$label: failed; again"
            NOTES+="$label: run $try FAILED (see the log above) and was repeated"$'\n'
        fi
    done
    fail "$label: disturbed $TRIES times, giving up"
    exit 1
}

# ---------------------------------------------------------------------------
# (a), (d), (e): one ape_resume run.  Sets R_WALL (start_task to wait_task's
# return), R_WORKER (the copy inside the worker, from default.log), R_ANON / R_HWM /
# R_RSS (peak RssAnon, VmHWM, peak VmRSS of the worker, MB), R_WCPU (worker
# CPU s), R_MYCPU (mariadbd CPU s during the run), R_BATCH (batch times from
# position.log).  (The tasks view's started_at / finished_at are not used:
# in this build both hold the same transaction timestamp.)
# ---------------------------------------------------------------------------
sample_worker() { # PID OUT: sample /proc/PID/status every 0.1 s until OUT.stop exists or PID ends
    local pid=$1 out=$2 anon=0 rss=0 hwm=0 cpu=0 n=0 k v _
    while [ ! -e "$out.stop" ]; do
        local a="" r="" h=""
        while read -r k v _; do
            case $k in
                RssAnon:) a=$v ;;
                VmRSS:) r=$v ;;
                VmHWM:) h=$v ;;
            esac
        done 2>/dev/null <"/proc/$pid/status" || break
        [ -n "$a" ] || break
        ((a > anon)) && anon=$a
        ((r > rss)) && rss=$r
        ((h > hwm)) && hwm=$h
        cpu=$(cpu_secs "$pid")
        n=$((n + 1))
        echo "$anon $hwm $rss $cpu $n" >"$out.tmp" && mv "$out.tmp" "$out"
        echo "$(date +%T.%N) $anon $hwm $rss $cpu $n" >>"$out.log"
        sleep 0.1
    done
    echo "$(date +%T.%N) end: stop file $([ -e "$out.stop" ] && echo present || echo absent)" >>"$out.log"
}

# When the installed ape_resume.so was replaced after the server started (make
# install by someone else), the worker runs the old, deleted file: hand a copy
# of it to perf so that its symbols resolve.
perf_symbols() { # PID
    local range
    range=$(awk '/ape_resume\.so \(deleted\)/ { print $1; exit }' "/proc/$1/maps" 2>/dev/null) || return 0
    [ -n "$range" ] || return 0
    cp "/proc/$1/map_files/$range" "$BENCH_DIR/ape_resume.so.loaded" 2>/dev/null &&
        perf buildid-cache -a "$BENCH_DIR/ape_resume.so.loaded" 2>/dev/null || true
}

ape_run() { # TASK SOURCE_TABLE TARGET_SCHEMA BATCH_SIZE INTERVAL_SECS [perf]
    local task=$1 tb=$2 schema=$3 batch=$4 interval=$5 perf=${6:-}
    local logdir=$BENCH_DIR/$task memf=$BENCH_DIR/$task.mem pid="" t0 t1 my0 my1 state mypid
    # a task of an earlier, disturbed attempt may still run (the launcher
    # resumes interrupted tasks after a restart): stop it, then forget it
    "${PSQL[@]}" -c "SELECT ape_resume.stop_task(name) FROM ape_resume.tasks
                     WHERE name = '$task' AND state IN ('pending', 'running')" >/dev/null || return 1
    "${PSQL[@]}" -c "SELECT ape_resume.wait_task(name, 600) FROM ape_resume.tasks
                     WHERE name = '$task' AND state IN ('pending', 'running')" >/dev/null || return 1
    "${PSQL[@]}" -c "SELECT ape_resume.drop_task(name) FROM ape_resume.tasks WHERE name = '$task'" >/dev/null || return 1
    drop_target "$schema" || return 1
    rm -rf "$logdir" "$memf" "$memf.stop" "$memf.log"
    mkdir -p "$logdir" && chmod 0777 "$logdir"
    settle || return 1
    mypid=$(mysqld_pid)
    my0=$(cpu_secs "$mypid")
    t0=$(now)
    "${PSQL[@]}" -c "SELECT ape_resume.start_task('$task', \$cfg\$
[extractor]
db_type=mysql
url=$APE_MYSQL_URL
[sinker]
batch_size=$batch
[filter]
do_tbs=$SRC_DB.$tb
[router]
db_map=$SRC_DB:$schema
[pipeline]
checkpoint_interval_secs=$interval
[runtime]
log_dir=$logdir
\$cfg\$)" >/dev/null || return 1
    for _ in $(seq 1 200); do
        pid=$("${PSQL[@]}" -c "SELECT worker_pid FROM ape_resume.tasks
                               WHERE name = '$task' AND state IN ('pending', 'running')")
        [ -n "$pid" ] || [ "$("${PSQL[@]}" -c "SELECT state FROM ape_resume.tasks WHERE name = '$task'")" != pending ] && break
        sleep 0.05
    done
    local sampler="" perfpid=""
    if [ -n "$pid" ]; then
        sample_worker "$pid" "$memf" &
        sampler=$!
        if [ -n "$perf" ]; then
            perf_symbols "$pid"
            # DWARF unwinding: Debian's postgres has no frame pointers
            perf record -F 499 --call-graph dwarf,16384 -p "$pid" -o "$BENCH_DIR/perf.data" \
                >"$BENCH_DIR/perf.log" 2>&1 &
            perfpid=$!
        fi
    fi
    state=$("${PSQL[@]}" -c "SELECT ape_resume.wait_task('$task', 7200)") || state=error
    t1=$(now)
    my1=$(cpu_secs "$mypid")
    touch "$memf.stop"
    [ -z "$sampler" ] || wait "$sampler" || true
    if [ -n "$perfpid" ]; then kill -INT "$perfpid" 2>/dev/null || true; wait "$perfpid" || true; fi
    if [ "$state" != finished ]; then
        fail "task $task ended $state:"
        "${PSQL[@]}" -c "SELECT last_error FROM ape_resume.tasks WHERE name = '$task'" >&2
        return 1
    fi
    R_WALL=$(elapsed "$t0" "$t1")
    # the copy inside the worker: default.log's first line ("N tables
    # selected", after connecting) to its last ("task ... finished")
    R_WORKER=$(awk 'NR == 1 { a = $2 } END { b = $2; split(a, x, ":"); split(b, y, ":")
        printf "%.2f", (y[1] - x[1]) * 3600 + (y[2] - x[2]) * 60 + (y[3] - x[3]) }' "$logdir/default.log") || return 1
    R_MYCPU=$(awk -v a="$my0" -v b="$my1" 'BEGIN { printf "%.1f", b - a }')
    if [ -s "$memf" ]; then
        read -r R_ANON R_HWM R_RSS R_WCPU R_SAMPLES <"$memf"
        R_ANON=$((R_ANON / 1024)) R_HWM=$((R_HWM / 1024)) R_RSS=$((R_RSS / 1024))
        # the worker's CPU time is read at each sample: say so when the last
        # sample is well before the end of the run
        local last
        last=$(date -d "$(tail -n 2 "$memf.log" | head -n 1 | cut -d' ' -f1)" +%s.%N 2>/dev/null) || last=$t1
        if awk -v a="$last" -v b="$t1" 'BEGIN { exit !(b - a > 1) }'; then
            R_WCPU="$R_WCPU (sampling ended $(elapsed "$last" "$t1") s early)"
        fi
    else
        R_ANON=? R_HWM=? R_RSS=? R_WCPU=? R_SAMPLES=0
    fi
    # time between consecutive checkpoints (position.log lines), in ms
    R_BATCH=$(grep -h '| current_position |' "$logdir/position.log" 2>/dev/null | awk '
        { split($2, t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3]
          if (NR > 1) { d[++n] = (s - prev) * 1000 } prev = s }
        END { if (n == 0) { print "-"; exit }
              asort(d); printf "%d checkpoints, between them median %.0f ms, max %.0f ms", NR, d[int((n + 1) / 2)], d[n] }') || true
    return 0
}

# ---------------------------------------------------------------------------
# (b) mariadb --quick --batch --raw | psql COPY.  --raw disables the client's
# escaping, so the SELECT produces COPY text itself: backslash, tab, newline
# and CR escaped in string columns, NULL as \N (the client would print NULL,
# which COPY cannot tell from the string 'NULL').
# ---------------------------------------------------------------------------
copy_text() { # COLUMN: MariaDB expression giving the COPY text of a string column
    echo "REPLACE(REPLACE(REPLACE(REPLACE($1, '\\\\', '\\\\\\\\'), '\\t', '\\\\t'), '\\n', '\\\\n'), '\\r', '\\\\r')"
}
PIPE_SQL="SELECT id, k, $(copy_text c), $(copy_text pad), IFNULL(amount, '\\\\N'),
       IFNULL(created, '\\\\N'), IFNULL($(copy_text note), '\\\\N')
  FROM $SRC_DB.t"

pipe_run() { # TARGET_SCHEMA (its table t must exist and be empty)
    local t0 t1 my0 my1 mypid
    settle || return 1
    mypid=$(mysqld_pid)
    my0=$(cpu_secs "$mypid")
    t0=$(now)
    "${MY[@]}" --quick --batch --raw --skip-column-names -e "$PIPE_SQL" |
        "${PSQL[@]}" -c "COPY $1.t (id, k, c, pad, amount, created, note) FROM STDIN"
    local st=("${PIPESTATUS[@]}")
    t1=$(now)
    my1=$(cpu_secs "$mypid")
    if [ "${st[0]}" != 0 ] || [ "${st[1]}" != 0 ]; then
        fail "the mariadb | psql pipe failed (exit statuses ${st[*]})"
        return 1
    fi
    R_WALL=$(elapsed "$t0" "$t1")
    R_MYCPU=$(awk -v a="$my0" -v b="$my1" 'BEGIN { printf "%.1f", b - a }')
}

# ---------------------------------------------------------------------------
# (c) pgloader, workers = 2, with its usual flow (it creates the table, loads
# it, then builds the primary key).  datetime is cast to timestamp (pgloader's
# default is timestamptz) so the target has the types of the other methods.
# ---------------------------------------------------------------------------
PG_URL=postgresql://$PGUSER@127.0.0.1:$PGPORT/$PGDATABASE
pgloader_setup() {
    if ! command -v pgloader >/dev/null; then
        log "installing pgloader"
        apt-get install -y pgloader >/dev/null 2>&1 ||
            { apt-get update >/dev/null && apt-get install -y pgloader >/dev/null; }
    fi
    # pgloader connects over TCP; without trust auth there, give it a role with a password
    if ! PGPASSWORD='' psql -X -w -h 127.0.0.1 -p "$PGPORT" -U "$PGUSER" -d "$PGDATABASE" -c 'SELECT 1' >/dev/null 2>&1; then
        "${PSQL[@]}" <<'SQL'
SELECT 'CREATE ROLE ape_bench_loader' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ape_bench_loader') \gexec
ALTER ROLE ape_bench_loader LOGIN SUPERUSER PASSWORD 'ape_bench_loader_pw';
SQL
        PG_URL=postgresql://ape_bench_loader:ape_bench_loader_pw@127.0.0.1:$PGPORT/$PGDATABASE
    fi
}

pgloader_run() { # TARGET_SCHEMA
    local t0 t1 my0 my1 mypid dir=$BENCH_DIR/pgloader
    rm -rf "$dir" && mkdir -p "$dir"
    drop_target "$1" || return 1
    cat >"$dir/copy.load" <<LOAD
LOAD DATABASE
     FROM mysql://$MY_USER:$MY_PASS@$MY_HOST:$MY_PORT/$SRC_DB
     INTO $PG_URL
WITH create tables, create indexes, reset sequences, workers = 2, concurrency = 1,
     prefetch rows = $PGLOADER_PREFETCH
CAST type datetime to timestamp drop default drop not null using zero-dates-to-null
INCLUDING ONLY TABLE NAMES MATCHING 't'
ALTER SCHEMA '$SRC_DB' RENAME TO '$1';
LOAD
    settle || return 1
    mypid=$(mysqld_pid)
    my0=$(cpu_secs "$mypid")
    t0=$(now)
    # pgloader may exit 0 after an error (e.g. the source refused the connection)
    if ! pgloader --root-dir "$dir" --logfile "$dir/pgloader.log" "$dir/copy.load" >"$dir/output.txt" 2>&1 ||
        grep -qE '^[0-9TZ:.-]+ (ERROR|FATAL) ' "$dir/output.txt"; then
        fail "pgloader failed, see $dir/output.txt:"
        cut -c1-300 "$dir/output.txt" | grep -v '^ *[0-9]*: ' | tail -20 >&2
        return 1
    fi
    t1=$(now)
    my1=$(cpu_secs "$mypid")
    R_WALL=$(elapsed "$t0" "$t1")
    R_MYCPU=$(awk -v a="$my0" -v b="$my1" 'BEGIN { printf "%.1f", b - a }')
}

# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------
prepare_source() {
    generate_source || return 1
    log "source checksums (this also warms MariaDB's caches)"
    SRC_SUM=$(source_checksum t) && SRC_QSUM=$(source_checksum t_quarter) || return 1
    [ "$(cut -d' ' -f1 <<<"$SRC_SUM")" = "$ROWS" ] ||
        { fail "the source has $(cut -d' ' -f1 <<<"$SRC_SUM") rows, not $ROWS"; return 1; }
}

NOTES="" MISMATCH=0
wait_ready || exit 1
"${PSQL[@]}" -c "CREATE EXTENSION IF NOT EXISTS ape_resume"
pgloader_setup
attempt "source tables" prepare_source
# GEN_ONLY=1: the source tables only (for bench/chunks.sh), kept
[ "${GEN_ONLY:-0}" = 1 ] && exit 0
SRC_SIZE=$(du -sh "$APE_TESTBED/mariadb/data/$SRC_DB/t.ibd" 2>/dev/null | cut -f1) || SRC_SIZE=?

best() { # VAR VALUE: keep the smaller
    local cur=${!1:-}
    if [ -z "$cur" ] || awk -v a="$2" -v b="$cur" 'BEGIN { exit !(a < b) }'; then
        printf -v "$1" '%s' "$2"
    fi
}
most() { # VAR VALUE: keep the larger (integers; "?" is ignored)
    local cur=${!1:-}
    [[ $2 =~ ^[0-9]+$ ]] || return 0
    if [ -z "$cur" ] || [ "$cur" = "?" ] || (($2 > cur)); then printf -v "$1" '%s' "$2"; fi
}

# The methods: each copies, verifies, and returns non-zero on any failure.
run_ape_ckpt() {
    ape_run bench_ape_ckpt t bench_ape_ckpt 10000 3600 "$1" &&
        verify "ape_resume" bench_ape_ckpt.t "$SRC_SUM"
}
run_ape_single() {
    ape_run bench_ape_single t bench_ape_single $((ROWS < 10000000 ? ROWS * 10 : 100000000)) 86400 &&
        verify "ape_resume single checkpoint" bench_ape_single.t "$SRC_SUM"
}
run_pipe() {
    drop_target bench_pipe &&
        "${PSQL[@]}" -c "CREATE SCHEMA bench_pipe;
            CREATE TABLE bench_pipe.t (LIKE bench_ape_ckpt.t INCLUDING ALL)" &&
        pipe_run bench_pipe &&
        verify "mariadb | psql" bench_pipe.t "$SRC_SUM"
}
run_pgloader() {
    pgloader_run bench_pgloader &&
        verify "pgloader" bench_pgloader.t "$SRC_SUM"
}
run_ape_quarter() {
    ape_run bench_ape_quarter t_quarter bench_ape_quarter 10000 3600 &&
        verify "ape_resume quarter" bench_ape_quarter.t_quarter "$SRC_QSUM"
}

ALL_APE="" ALL_SINGLE="" ALL_PIPE="" ALL_PGL=""
for run in $(seq 1 "$RUNS"); do
    log "run $run/$RUNS: (a) ape_resume, batch_size=10000"
    attempt "(a) ape_resume" run_ape_ckpt "$([ "$PERF" = 1 ] && [ "$run" = 1 ] && echo perf || true)"
    best APE_WALL "$R_WALL"; best APE_WORKER "$R_WORKER"; ALL_APE+=" $R_WALL"
    most APE_ANON "$R_ANON"; most APE_HWM "$R_HWM"; most APE_RSS "$R_RSS"
    APE_WCPU=$R_WCPU APE_MYCPU=$R_MYCPU APE_BATCH=$R_BATCH
    log "  wall $R_WALL s, in worker $R_WORKER s, worker CPU $R_WCPU s, mariadbd CPU $R_MYCPU s; $R_BATCH; load $(cut -d' ' -f1 /proc/loadavg)"

    log "run $run/$RUNS: (d) ape_resume, one checkpoint at the end"
    attempt "(d) ape_resume single checkpoint" run_ape_single
    best SINGLE_WALL "$R_WALL"; best SINGLE_WORKER "$R_WORKER"; ALL_SINGLE+=" $R_WALL"
    most SINGLE_ANON "$R_ANON"; most SINGLE_HWM "$R_HWM"
    SINGLE_WCPU=$R_WCPU SINGLE_MYCPU=$R_MYCPU
    log "  wall $R_WALL s, in worker $R_WORKER s, worker CPU $R_WCPU s, mariadbd CPU $R_MYCPU s; load $(cut -d' ' -f1 /proc/loadavg)"
    cleanup bench_ape_single

    log "run $run/$RUNS: (b) mariadb | psql COPY"
    attempt "(b) mariadb | psql" run_pipe
    best PIPE_WALL "$R_WALL"; ALL_PIPE+=" $R_WALL"; PIPE_MYCPU=$R_MYCPU
    log "  wall $R_WALL s, mariadbd CPU $R_MYCPU s; load $(cut -d' ' -f1 /proc/loadavg)"
    cleanup bench_pipe
    cleanup bench_ape_ckpt

    log "run $run/$RUNS: (c) pgloader, workers = 2"
    attempt "(c) pgloader" run_pgloader
    best PGL_WALL "$R_WALL"; ALL_PGL+=" $R_WALL"; PGL_MYCPU=$R_MYCPU
    log "  wall $R_WALL s, mariadbd CPU $R_MYCPU s; load $(cut -d' ' -f1 /proc/loadavg)"
    cleanup bench_pgloader
done

log "(e) ape_resume on t_quarter ($QROWS rows), batch_size=10000"
attempt "(e) ape_resume quarter" run_ape_quarter
Q_WALL=$R_WALL Q_ANON=$R_ANON Q_HWM=$R_HWM Q_RSS=$R_RSS
log "  wall $R_WALL s, worker RssAnon peak $R_ANON MB"
cleanup bench_ape_quarter
# leave the shared test bed as it was: forget the tasks, drop the source
# (KEEP=1 keeps both; the next run then reuses the source tables)
if [ "$KEEP" != 1 ]; then
    wait_ready && "${PSQL[@]}" -c "SELECT ape_resume.drop_task(name) FROM ape_resume.tasks
        WHERE name IN ('bench_ape_ckpt', 'bench_ape_single', 'bench_ape_quarter')
          AND state NOT IN ('pending', 'running')" >/dev/null || true
    "${MY[@]}" -e "DROP DATABASE IF EXISTS $SRC_DB" || true
fi

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
so_info() { # which ape_resume.so the server runs
    local pm so dir
    pm=$(head -n 1 "$APE_TESTBED/local/data/postmaster.pid" 2>/dev/null)
    dir=$(pg_config --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/15/lib)
    so="installed $(date -r "$dir/ape_resume.so" '+%F %T' 2>/dev/null)"
    if grep -q 'ape_resume\.so (deleted)' "/proc/$pm/maps" 2>/dev/null; then
        so="an older build than the one $so (replaced after the server started)"
    fi
    echo "repo at $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null), server runs the ape_resume.so $so"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
    ok = (op == "<=") ? v <= t : (op == ">=") ? v >= t : v < t; print ok ? "met" : "NOT met" }'; }
OVERHEAD=$(awk -v a="$APE_WORKER" -v b="$SINGLE_WORKER" 'BEGIN { printf "%.1f", (a - b) / b * 100 }')
OVERHEAD_WALL=$(awk -v a="$APE_WALL" -v b="$SINGLE_WALL" 'BEGIN { printf "%.1f", (a - b) / b * 100 }')
APE_PIPE=$(ratio "$APE_WALL" "$PIPE_WALL")
PGL_APE=$(ratio "$PGL_WALL" "$APE_WALL")
PEAK=$APE_ANON
for v in $SINGLE_ANON $Q_ANON; do [[ $v =~ ^[0-9]+$ ]] && ((v > PEAK)) && PEAK=$v; done

cat <<EOF

=== MariaDB -> PostgreSQL copy benchmark: $ROWS rows, $(nproc) CPUs, best of $RUNS run(s) ===
source: $SRC_DB.t, $SRC_SIZE InnoDB file; every copy verified (rows and checksums equal the source)
ape_resume: $(so_info)

method                                   wall s   rows/s   mariadbd CPU s   all runs (wall s)
EOF
printf '%-38s %8s %8s %16s   %s\n' \
    "(a) ape_resume, batch_size=10000" "$APE_WALL" "$(rate "$ROWS" "$APE_WALL")" "$APE_MYCPU" "$ALL_APE" \
    "(d) ape_resume, 1 checkpoint" "$SINGLE_WALL" "$(rate "$ROWS" "$SINGLE_WALL")" "$SINGLE_MYCPU" "$ALL_SINGLE" \
    "(b) mariadb | psql COPY" "$PIPE_WALL" "$(rate "$ROWS" "$PIPE_WALL")" "$PIPE_MYCPU" "$ALL_PIPE" \
    "(c) pgloader, workers=2" "$PGL_WALL" "$(rate "$ROWS" "$PGL_WALL")" "$PGL_MYCPU" "$ALL_PGL"
cat <<EOF

ape_resume worker, run (a): $APE_WORKER s inside the worker, $APE_WCPU s worker CPU; $APE_BATCH
ape_resume worker, run (d): $SINGLE_WORKER s inside the worker, $SINGLE_WCPU s worker CPU

ratio                                  value     target    verdict
EOF
printf '%-38s %6s     %-8s  %s\n' \
    "ape / pipe (wall)" "$APE_PIPE" "<= 1.2" "$(verdict "$APE_PIPE" "<=" 1.2)" \
    "pgloader / ape (wall)" "$PGL_APE" ">= 4" "$(verdict "$PGL_APE" ">=" 4)" \
    "checkpoint overhead (in worker)" "$OVERHEAD%" "<= 5%" "$(verdict "$OVERHEAD" "<=" 5)" \
    "checkpoint overhead (wall)" "$OVERHEAD_WALL%" "<= 5%" "$(verdict "$OVERHEAD_WALL" "<=" 5)" \
    "peak worker memory (RssAnon)" "${PEAK} MB" "< 256 MB" "$(verdict "$PEAK" "<" 256)"
cat <<EOF

worker memory (MB)            rows      RssAnon peak   VmRSS peak   VmHWM
(a) batch_size=10000     $(printf '%9s %14s %12s %7s' "$ROWS" "$APE_ANON" "$APE_RSS" "$APE_HWM")
(d) one checkpoint       $(printf '%9s %14s %12s %7s' "$ROWS" "$SINGLE_ANON" "-" "$SINGLE_HWM")
(e) t_quarter            $(printf '%9s %14s %12s %7s' "$QROWS" "$Q_ANON" "$Q_RSS" "$Q_HWM")
(RssAnon is the worker's private memory, sampled every 0.1 s; VmRSS and VmHWM
also count the shared buffers the worker touched.)

Times are wall clock on a shared machine: other work running at the same time
makes them noisy; compare ratios from one run, and use RUNS=3 for steadier numbers.
load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
EOF
[ -z "$NOTES" ] || printf '%s' "$NOTES"

if [ "$PERF" = 1 ] && [ -s "$BENCH_DIR/perf.data" ]; then
    # Inclusive ("children") share of the worker's CPU samples per function,
    # grouped into the phases of a copy.  Static functions of postgres show as
    # addresses (no debug symbols); the COPY text parser is what
    # NextCopyFromRawFields spends outside ape_resume's data callback.
    perf report -i "$BENCH_DIR/perf.data" --stdio --children --sort symbol -g none 2>/dev/null |
        awk '$1 ~ /%$/ && $2 ~ /%$/ { sub(/%/, "", $1); sym = $4; if (!(sym in p)) p[sym] = $1 }
        function v(s) { return (s in p) ? p[s] : 0 }
        function row(label, x) { printf "  %-72s %5.1f%%\n", label, x }
        END {
            print ""
            print "perf profile of the ape_resume worker in run (a): share of its CPU samples"
            print "(run (a) was slowed down by the profiling itself)"
            row("COPY into the target, all (CopyFrom)", v("CopyFrom"))
            row("  source read: fetch + convert rows (batch_feed_next)", v("batch_feed_next"))
            row("    of which MySQL protocol and socket (mysql_fetch_row)", v("mysql_fetch_row"))
            row("    of which UTF-8 check of text values (pg_verify_mbstr)", v("pg_verify_mbstr"))
            row("    of which clock read per row (GetCurrentTimestamp)", v("GetCurrentTimestamp"))
            row("  rows -> COPY text (copy_read_cb minus the source read)", v("copy_read_cb") - v("batch_feed_next"))
            row("  COPY text parsing (NextCopyFromRawFields minus copy_read_cb)", v("NextCopyFromRawFields") - v("copy_read_cb"))
            row("  type input functions (InputFunctionCall)", v("InputFunctionCall"))
            row("    of which timestamp_in", v("timestamp_in"))
            row("    of which numeric_in", v("numeric_in"))
            row("  heap insert incl. WAL and relation extension (heap_multi_insert)", v("heap_multi_insert"))
            row("  primary key insert (ExecInsertIndexTuples)", v("ExecInsertIndexTuples"))
            ck = v("CommitTransactionCommand") + v("checkpoint_commit_position") + \
                 v("checkpoint_stop_requested") + v("checkpoint_log_position") + v("mysql_source_scan_begin")
            row("per-batch work (commit, catalog row, stop check, log line, new SELECT)", ck)
            row("  of which commit incl. WAL flush (CommitTransactionCommand)", v("CommitTransactionCommand"))
            row("  of which catalog position update (checkpoint_commit_position)", v("checkpoint_commit_position"))
            row("  of which stop check (checkpoint_stop_requested)", v("checkpoint_stop_requested"))
            row("  of which position.log line (checkpoint_log_position)", v("checkpoint_log_position"))
            row("  of which next batch SELECT (mysql_source_scan_begin)", v("mysql_source_scan_begin"))
        }' || true
    echo
    echo "top functions by self time:"
    perf report -i "$BENCH_DIR/perf.data" --stdio --no-children --sort dso,symbol -g none 2>/dev/null |
        grep '%' | head -25 || true
fi
