#!/usr/bin/env bash
# bench/check.sh: prove a copy.  In one run, on the source table of
# bench/mysql_copy.sh (MariaDB ape_bench.t, made here when missing):
#
#   (a) ape_resume copies it (one worker, batch_size=10000)
#   (b) a check task compares source and target (one worker); the target is
#       first changed behind the copy's back: 3 rows deleted, 2 changed,
#       1 added, which the check must report exactly
#   the worker's private memory (RssAnon) sampled every 0.1 s during (b)
#
# Prints wall times and the ratio check / copy (target at most 1.2); fails
# only when the copy or the check's findings are wrong.
#
# Environment:
#   ROWS=2000000   rows of the source table
#   KEEP=0         1: keep the target table and tasks
#   BENCH_DIR      work files (default $APE_SHARED_DIR/bench_check)
set -euo pipefail

ROWS=${ROWS:-2000000}
KEEP=${KEEP:-0}

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
if ! bash test/testbed.sh status 2>/dev/null | grep -q ': up'; then
    bash test/testbed.sh start
fi
# shellcheck disable=SC1091
. .testbed/env.sh
export PGCLIENTENCODING=UTF8 PGTZ=UTC PGOPTIONS="-c client_min_messages=warning"

BENCH_DIR=${BENCH_DIR:-$APE_SHARED_DIR/bench_check}
mkdir -p "$BENCH_DIR"
chmod 0777 "$BENCH_DIR"

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { echo "check.sh: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

if [[ $APE_MYSQL_URL =~ ^mysql://([^:@/]+):([^@/]*)@([^:/]+):([0-9]+) ]]; then
    export MYSQL_PWD=${BASH_REMATCH[2]}
    MY=(mariadb --no-defaults -h "${BASH_REMATCH[3]}" -P "${BASH_REMATCH[4]}" -u "${BASH_REMATCH[1]}")
else
    fail "cannot parse APE_MYSQL_URL"
fi
TGT=(psql -X -q -At -v ON_ERROR_STOP=1)

if [ "$("${MY[@]}" -N -e "SELECT nrows FROM ape_bench.meta" 2>/dev/null || true)" != "$ROWS" ]; then
    log "making MariaDB ape_bench.t ($ROWS rows) with bench/mysql_copy.sh"
    GEN_ONLY=1 KEEP=1 ROWS=$ROWS bash bench/mysql_copy.sh
fi
"${TGT[@]}" -c "CREATE EXTENSION IF NOT EXISTS ape_resume"

# run TASK EXTRA: a task on ape_bench.t into schema bench_check; sets WALL
run() {
    local task=$1 extra=$2 logdir=$BENCH_DIR/$1 t0 state
    "${TGT[@]}" -c "SELECT ape_resume.drop_task(name) FROM ape_resume.tasks WHERE name = '$task'" >/dev/null
    rm -rf "$logdir" && mkdir -p "$logdir" && chmod 0777 "$logdir"
    "${TGT[@]}" -c "CHECKPOINT"
    sleep 1
    t0=$(now)
    "${TGT[@]}" -c "SELECT ape_resume.start_task('$task', \$cfg\$
[extractor]
db_type=mysql
url=$APE_MYSQL_URL
[sinker]
batch_size=10000
$extra
[filter]
do_tbs=ape_bench.t
[router]
db_map=ape_bench:bench_check
[runtime]
log_dir=$logdir
\$cfg\$)" >/dev/null
    if [ "${SAMPLE_MEM:-0}" = 1 ]; then
        PEAK=0 FIRST=0
        while :; do
            pid=$("${TGT[@]}" -c "SELECT coalesce(worker_pid, 0) FROM ape_resume.tasks WHERE name = '$task' AND state = 'running'")
            [ -z "$pid" ] || [ "$pid" = 0 ] && { [ "$FIRST" = 0 ] && { sleep 0.05; continue; }; break; }
            kb=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
            [ "$FIRST" = 0 ] && [ "${kb:-0}" -gt 0 ] && FIRST=$kb
            [ "${kb:-0}" -gt "$PEAK" ] && PEAK=$kb
            sleep 0.1
        done
    fi
    state=$("${TGT[@]}" -c "SELECT ape_resume.wait_task('$task', 7200)")
    WALL=$(elapsed "$t0" "$(now)")
    [ "$state" = finished ] ||
        fail "task $task ended $state: $("${TGT[@]}" -c "SELECT last_error FROM ape_resume.tasks WHERE name = '$task'")"
}

log "(a) copy of ape_bench.t ($ROWS rows)"
"${TGT[@]}" -c "DROP SCHEMA IF EXISTS bench_check CASCADE"
run bench_check_copy ""
COPY_WALL=$WALL
log "  $COPY_WALL s"

"${TGT[@]}" -c "DELETE FROM bench_check.t WHERE id IN (7, $((ROWS / 2)), $ROWS)" \
    -c "UPDATE bench_check.t SET k = k + 1 WHERE id IN (11, $((ROWS / 3)))" \
    -c "INSERT INTO bench_check.t (id, k, c, pad) VALUES ($((ROWS + 5)), 1, 'extra', 'extra')"

log "(b) check of the copy"
SAMPLE_MEM=1 run bench_check_check "sink_type=check"
CHECK_WALL=$WALL
FOUND=$("${TGT[@]}" -c "SELECT rows_copied || ' ' || rows_missing || ' ' || rows_different || ' ' || rows_extra
    FROM ape_resume.progress('bench_check_check')")
[ "$FOUND" = "$ROWS 3 2 1" ] || fail "the check found '$FOUND' (compared missing different extra), not '$ROWS 3 2 1'"
log "  $CHECK_WALL s, found $FOUND; worker RssAnon $((FIRST / 1024)) MB at start, peak $((PEAK / 1024)) MB"

if [ "$KEEP" != 1 ]; then
    "${TGT[@]}" -c "DROP SCHEMA IF EXISTS bench_check CASCADE" \
        -c "SELECT ape_resume.drop_task(name) FROM ape_resume.tasks WHERE name IN ('bench_check_copy', 'bench_check_check')" >/dev/null
fi

RATIO=$(awk -v a="$CHECK_WALL" -v b="$COPY_WALL" 'BEGIN { printf "%.2f", a / b }')
cat <<REPORT

bench/check.sh: $ROWS rows, $(nproc) cores
(a) copy, one worker          $COPY_WALL s
(b) check, one worker         $CHECK_WALL s   (found: 3 missing, 2 different, 1 extra)
    worker RssAnon            $((FIRST / 1024)) MB at start, peak $((PEAK / 1024)) MB
check / copy                  $RATIO   (target <= 1.2: $(awk -v r="$RATIO" 'BEGIN { print (r <= 1.2 ? "met" : "NOT met") }'))
REPORT
