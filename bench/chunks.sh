#!/usr/bin/env bash
# bench/chunks.sh: one big table, many workers.  In one run, on the source
# tables of bench/mysql_copy.sh (MariaDB ape_bench.t) and bench/pg_copy.sh
# (PostgreSQL ape_bench, bench_pg.t), both made here when missing:
#
#   MariaDB:
#   (a) ape_resume, one worker (parallel_type=table)
#   (b) ape_resume, parallel_type=chunk, parallel_size=2,
#       split_tables_larger_than=ROWS/2 rows (two chunks)
#   (c) (b) stopped at about half its rows, then resume_task: the time of
#       the resumed run
#   (d) the source read alone: mariadb --quick SELECT of every row, in key
#       order, to /dev/null
#   (e) the target's COPY alone: COPY FROM a file (written by the server from
#       (a)'s table) into an empty table without keys, then its primary key
#   PostgreSQL:
#   (f) ape_resume, parallel_type=chunk, parallel_size=2,
#       split_tables_larger_than = half the table's size
#   (g) pgcopydb clone --split-tables-larger-than (the same size)
#       --table-jobs 2 --index-jobs 2
#   (h) ape_resume, one worker
#   (i) the source read alone: COPY (SELECT ... ORDER BY id) TO STDOUT > /dev/null
#   (j) the target's COPY alone from a file, then the primary key
#
# Every copy is checked: row count and sum(id) against the source, and the
# same whole-row checksum on every target table.  Prints wall times and the
# ratios the issue asks for; never asserts a time.
#
# Environment:
#   ROWS=2000000   rows of the source tables
#   KEEP=0         1: keep the target tables and tasks
#   BENCH_DIR      work files (default $APE_SHARED_DIR/bench_chunks)
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
export PGCLIENTENCODING=UTF8 PGTZ=UTC PGDATESTYLE=ISO
export PGOPTIONS="-c client_min_messages=warning -c extra_float_digits=3"

BENCH_DIR=${BENCH_DIR:-$APE_SHARED_DIR/bench_chunks}
mkdir -p "$BENCH_DIR"
chmod 0777 "$BENCH_DIR"

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { echo "chunks.sh: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t ? "met" : "NOT met") }'; }

if [[ $APE_MYSQL_URL =~ ^mysql://([^:@/]+):([^@/]*)@([^:/]+):([0-9]+) ]]; then
    export MYSQL_PWD=${BASH_REMATCH[2]}
    MY=(mariadb --no-defaults -h "${BASH_REMATCH[3]}" -P "${BASH_REMATCH[4]}" -u "${BASH_REMATCH[1]}"
        --default-character-set=utf8mb4)
else
    fail "cannot parse APE_MYSQL_URL"
fi
PG_SRC_URL=${APE_PGSRC_URL%/*}/ape_bench
SRC=(psql -X -q -At -v ON_ERROR_STOP=1 -d "$PG_SRC_URL")
TGT=(psql -X -q -At -v ON_ERROR_STOP=1)
TGT_URL=postgres://$PGUSER@127.0.0.1:$PGPORT
COLS="id, k, c, pad, amount, created, note"

command -v pgcopydb >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y pgcopydb >/dev/null

# ---------------------------------------------------------------------------
# Sources: those of the other benches, made by them when missing or stale
# ---------------------------------------------------------------------------
if [ "$("${MY[@]}" -N -e "SELECT nrows FROM ape_bench.meta" 2>/dev/null || true)" != "$ROWS" ]; then
    log "making MariaDB ape_bench.t ($ROWS rows) with bench/mysql_copy.sh"
    GEN_ONLY=1 KEEP=1 ROWS=$ROWS bash bench/mysql_copy.sh
fi
if [ "$("${SRC[@]}" -c "SELECT nrows FROM bench_pg.meta" 2>/dev/null || true)" != "$ROWS" ]; then
    log "making PostgreSQL bench_pg.t ($ROWS rows) with bench/pg_copy.sh"
    GEN_ONLY=1 ROWS=$ROWS bash bench/pg_copy.sh
fi
"${TGT[@]}" -c "CREATE EXTENSION IF NOT EXISTS ape_resume"
MY_SUM=$("${MY[@]}" -N -e "SELECT CONCAT(COUNT(*), ' ', SUM(id)) FROM ape_bench.t")
PG_SUM=$("${SRC[@]}" -c "SELECT count(*) || ' ' || sum(id) FROM bench_pg.t")
PG_BYTES=$("${SRC[@]}" -c "SELECT pg_table_size('bench_pg.t')")
HALF_MB=$((PG_BYTES / 2 / 1048576))

# the whole-row checksum of a target table (the same query on every one)
checksum() {
    "${TGT[@]}" -d "${2:-$PGDATABASE}" -c "SELECT count(*) || ' ' || sum(id) || ' ' ||
        sum(('x' || left(md5(concat_ws('|', $COLS)), 8))::bit(32)::bigint) FROM $1"
}
check() { # LABEL TABLE EXPECTED_COUNT_SUM [DB]
    local got
    got=$(checksum "$2" "${4:-}")
    [ "${got% *}" = "$3" ] || fail "$1: $2 has '${got% *}' (rows, sum(id)), the source '$3'"
    echo "$got"
}

settle() { "${TGT[@]}" -c "CHECKPOINT" && "${SRC[@]}" -c "CHECKPOINT" && sleep 1; }

# ape_start TASK DB_TYPE TABLE SCHEMA EXTRA: a task copying TABLE into SCHEMA
ape_start() {
    local task=$1 db_type=$2 table=$3 schema=$4 extra=$5 url logdir=$BENCH_DIR/$1
    url=$([ "$db_type" = mysql ] && echo "$APE_MYSQL_URL" || echo "$PG_SRC_URL")
    "${TGT[@]}" -c "DROP SCHEMA IF EXISTS $schema CASCADE" \
        -c "SELECT ape_resume.drop_task(name) FROM ape_resume.tasks WHERE name = '$task'" >/dev/null
    rm -rf "$logdir" && mkdir -p "$logdir" && chmod 0777 "$logdir"
    "${TGT[@]}" -c "SELECT ape_resume.start_task('$task', \$cfg\$
[extractor]
db_type=$db_type
url=$url
$extra
[sinker]
batch_size=10000
[filter]
do_tbs=$table
[router]
db_map=${table%%.*}:$schema
[runtime]
log_dir=$logdir
\$cfg\$)" >/dev/null
}
ape_wait() { # TASK
    local state
    state=$("${TGT[@]}" -c "SELECT ape_resume.wait_task('$1', 7200)")
    [ "$state" = finished ] ||
        fail "task $1 ended $state: $("${TGT[@]}" -c "SELECT last_error FROM ape_resume.tasks WHERE name = '$1'")"
}
# ape_run TASK DB_TYPE TABLE SCHEMA EXTRA: sets WALL
ape_run() {
    local t0
    settle
    t0=$(now)
    ape_start "$@"
    ape_wait "$1"
    WALL=$(elapsed "$t0" "$(now)")
}

# copy_alone LABEL FROM_TABLE: COPY of FROM_TABLE's rows from a server file
# into an empty table without keys (COPY_WALL), then its key (KEY_WALL)
copy_alone() {
    local file=$BENCH_DIR/$1.copy t0
    rm -f "$file"
    "${TGT[@]}" -c "COPY $2 ($COLS) TO '$file'"
    "${TGT[@]}" -c "DROP SCHEMA IF EXISTS bench_ch_file CASCADE" -c "CREATE SCHEMA bench_ch_file" \
        -c "CREATE TABLE bench_ch_file.t (LIKE $2)"
    settle
    t0=$(now)
    "${TGT[@]}" -c "COPY bench_ch_file.t ($COLS) FROM '$file'"
    COPY_WALL=$(elapsed "$t0" "$(now)")
    t0=$(now)
    "${TGT[@]}" -c "ALTER TABLE bench_ch_file.t ADD PRIMARY KEY (id)"
    KEY_WALL=$(elapsed "$t0" "$(now)")
    "${TGT[@]}" -c "DROP SCHEMA bench_ch_file CASCADE"
    rm -f "$file"
}

CHUNK_MY="parallel_type=chunk
parallel_size=2
split_tables_larger_than=$((ROWS / 2))"
CHUNK_PG="parallel_type=chunk
parallel_size=2
split_tables_larger_than=${HALF_MB}MB"

# ---------------------------------------------------------------------------
# MariaDB
# ---------------------------------------------------------------------------
log "(a) MariaDB, one worker"
ape_run bench_ch_my1 mysql ape_bench.t bench_ch_my1 "parallel_size=1"
A_WALL=$WALL; A_SUM=$(check "(a)" bench_ch_my1.t "$MY_SUM")
log "  $A_WALL s"

log "(b) MariaDB, chunks, parallel_size=2"
ape_run bench_ch_my2 mysql ape_bench.t bench_ch_my2 "$CHUNK_MY"
B_WALL=$WALL; B_SUM=$(check "(b)" bench_ch_my2.t "$MY_SUM")
[ "$B_SUM" = "$A_SUM" ] || fail "(b) differs from (a): $B_SUM / $A_SUM"
B_CHUNKS=$("${TGT[@]}" -c "SELECT chunks FROM ape_resume.progress('bench_ch_my2')")
log "  $B_WALL s, $B_CHUNKS chunks"

log "(c) MariaDB, chunks, stopped at half, then resumed"
settle
ape_start bench_ch_my3 mysql ape_bench.t bench_ch_my3 "$CHUNK_MY"
while :; do
    n=$("${TGT[@]}" -c "SELECT coalesce(sum(rows_copied), 0) FROM ape_resume.progress('bench_ch_my3')")
    [ "$n" -ge $((ROWS / 2)) ] && break
    sleep 0.05
done
"${TGT[@]}" -c "SELECT ape_resume.stop_task('bench_ch_my3')" >/dev/null
[ "$("${TGT[@]}" -c "SELECT ape_resume.wait_task('bench_ch_my3', 600)")" = stopped ] || fail "(c) did not stop"
C_DONE=$("${TGT[@]}" -c "SELECT round(100.0 * sum(rows_copied) / $ROWS, 1) FROM ape_resume.progress('bench_ch_my3')")
settle
t0=$(now)
"${TGT[@]}" -c "SELECT ape_resume.resume_task('bench_ch_my3')" >/dev/null
ape_wait bench_ch_my3
C_WALL=$(elapsed "$t0" "$(now)")
C_SUM=$(check "(c)" bench_ch_my3.t "$MY_SUM")
[ "$C_SUM" = "$A_SUM" ] || fail "(c) differs from (a): $C_SUM / $A_SUM"
log "  stopped at $C_DONE %, resumed in $C_WALL s"

log "(d) MariaDB, the source read alone"
t0=$(now)
"${MY[@]}" --quick -N -e "SELECT $COLS FROM ape_bench.t ORDER BY id" >/dev/null
D_WALL=$(elapsed "$t0" "$(now)")
log "  $D_WALL s"

log "(e) the target's COPY alone, from a file"
copy_alone my bench_ch_my1.t
E_WALL=$COPY_WALL E_KEY=$KEY_WALL
log "  COPY $E_WALL s, primary key $E_KEY s"

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------
log "(f) PostgreSQL, chunks, parallel_size=2, split above ${HALF_MB}MB"
ape_run bench_ch_pg2 pg bench_pg.t bench_ch_pg2 "$CHUNK_PG"
F_WALL=$WALL; F_SUM=$(check "(f)" bench_ch_pg2.t "$PG_SUM")
F_CHUNKS=$("${TGT[@]}" -c "SELECT chunks FROM ape_resume.progress('bench_ch_pg2')")
log "  $F_WALL s, $F_CHUNKS chunks"

log "(g) pgcopydb clone --split-tables-larger-than ${HALF_MB}MB --table-jobs 2"
printf '[include-only-table]\nbench_pg.t\n' >"$BENCH_DIR/pgcopydb_filters.ini"
"${TGT[@]}" -c "DROP DATABASE IF EXISTS bench_ch_pgcopydb" -c "CREATE DATABASE bench_ch_pgcopydb"
rm -rf "$BENCH_DIR/pgcopydb"
settle
t0=$(now)
pgcopydb clone --source "$PG_SRC_URL" --target "$TGT_URL/bench_ch_pgcopydb" \
    --dir "$BENCH_DIR/pgcopydb" --table-jobs 2 --index-jobs 2 --no-owner --no-acl \
    --skip-extensions --split-tables-larger-than "${HALF_MB}MB" \
    --filters "$BENCH_DIR/pgcopydb_filters.ini" >"$BENCH_DIR/pgcopydb.log" 2>&1 ||
    { tail -20 "$BENCH_DIR/pgcopydb.log" >&2; fail "pgcopydb failed"; }
G_WALL=$(elapsed "$t0" "$(now)")
G_SUM=$(check "(g)" bench_pg.t "$PG_SUM" bench_ch_pgcopydb)
[ "$G_SUM" = "$F_SUM" ] || fail "(g) differs from (f): $G_SUM / $F_SUM"
G_PARTS=$(grep -ci "split\|part" "$BENCH_DIR/pgcopydb.log" || true)
log "  $G_WALL s"

log "(h) PostgreSQL, one worker"
ape_run bench_ch_pg1 pg bench_pg.t bench_ch_pg1 "parallel_size=1"
H_WALL=$WALL; H_SUM=$(check "(h)" bench_ch_pg1.t "$PG_SUM")
[ "$H_SUM" = "$F_SUM" ] || fail "(h) differs from (f): $H_SUM / $F_SUM"
log "  $H_WALL s"

log "(i) PostgreSQL, the source read alone"
t0=$(now)
psql -X -q -d "$PG_SRC_URL" -c "COPY (SELECT $COLS FROM bench_pg.t ORDER BY id) TO STDOUT" >/dev/null
I_WALL=$(elapsed "$t0" "$(now)")
log "  $I_WALL s"

log "(j) the target's COPY alone, from a file"
copy_alone pg bench_ch_pg1.t
J_WALL=$COPY_WALL J_KEY=$KEY_WALL
log "  COPY $J_WALL s, primary key $J_KEY s"

if [ "$KEEP" != 1 ]; then
    for s in bench_ch_my1 bench_ch_my2 bench_ch_my3 bench_ch_pg1 bench_ch_pg2; do
        "${TGT[@]}" -c "DROP SCHEMA IF EXISTS $s CASCADE" \
            -c "SELECT ape_resume.drop_task(name) FROM ape_resume.tasks WHERE name = '$s'" >/dev/null
    done
    "${TGT[@]}" -c "DROP DATABASE IF EXISTS bench_ch_pgcopydb"
fi

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
R_B=$(ratio "$B_WALL" "$A_WALL") R_C=$(ratio "$C_WALL" "$B_WALL") R_F=$(ratio "$F_WALL" "$G_WALL")
cat <<REPORT

bench/chunks.sh: $ROWS rows, $(nproc) cores, every copy checked
                                                   wall (s)
MariaDB  (a) ape_resume, one worker                 $A_WALL
         (b) ape_resume, $B_CHUNKS chunks, 2 workers          $B_WALL
         (c) (b) resumed after a stop at $C_DONE %     $C_WALL
         (d) source read alone                      $D_WALL
         (e) target COPY from a file alone          $E_WALL  (+ primary key $E_KEY)
PostgreSQL (f) ape_resume, $F_CHUNKS chunks, 2 workers        $F_WALL
         (g) pgcopydb --split-tables-larger-than    $G_WALL
         (h) ape_resume, one worker                 $H_WALL
         (i) source read alone                      $I_WALL
         (j) target COPY from a file alone          $J_WALL  (+ primary key $J_KEY)

ratio                                    value   target  verdict
(b) chunks / (a) one worker              $R_B    <= 0.8   $(verdict "$R_B" 0.8)
(f) ape chunks / (g) pgcopydb            $R_F    <= 1.0   $(verdict "$R_F" 1.0)
(c) resumed at $C_DONE % / (b) full          $R_C    <= 0.55  $(verdict "$R_C" 0.55)
REPORT
