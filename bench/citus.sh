#!/usr/bin/env bash
# bench/citus.sh: into a Citus cluster.  In one run, on the test bed's Citus
# coordinator (127.0.0.1:$APE_CITUS_PORT, two worker nodes on this machine),
# from the MariaDB bench table of bench/mysql_copy.sh (ape_bench.t, made
# here when missing):
#
#   (a) ape_resume into a plain local table of the coordinator (the baseline)
#   (b) ape_resume into a distributed table of 8 shards on the two worker
#       nodes, made by [citus] distribution_columns (by id)
#   (c) (b) with parallel_type=chunk, parallel_size=2 (two chunks, two
#       workers filling the one distributed table)
#   (d) the Citus COPY alone: COPY FROM a file of the same rows (written by
#       the server from (a)'s table) into an empty distributed table of 8
#       shards, then its primary key
#   (e) the local COPY alone: the same file into a plain table, then its key
#
# Every copy is checked: row count and sum(id) against the source, and the
# same whole-row checksum on every target table.  Prints wall times and the
# ratios (b)/(a), (c)/(a), (d)/(e); never asserts a time.
#
# Environment:
#   ROWS=2000000   rows of the source table
#   KEEP=0         1: keep the target tables and tasks
#   BENCH_DIR      work files (default $APE_SHARED_DIR/bench_citus)
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
[ -n "${APE_CITUS_PORT:-}" ] || { echo "citus.sh: no Citus in the test bed (see test/install_deps.sh)" >&2; exit 1; }
export PGCLIENTENCODING=UTF8 PGTZ=UTC PGDATESTYLE=ISO
export PGOPTIONS="-c client_min_messages=warning -c extra_float_digits=3"

BENCH_DIR=${BENCH_DIR:-$APE_SHARED_DIR/bench_citus}
mkdir -p "$BENCH_DIR"
chmod 0777 "$BENCH_DIR"

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { echo "citus.sh: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

if [[ $APE_MYSQL_URL =~ ^mysql://([^:@/]+):([^@/]*)@([^:/]+):([0-9]+) ]]; then
    export MYSQL_PWD=${BASH_REMATCH[2]}
    MY=(mariadb --no-defaults -h "${BASH_REMATCH[3]}" -P "${BASH_REMATCH[4]}" -u "${BASH_REMATCH[1]}"
        --default-character-set=utf8mb4)
else
    fail "cannot parse APE_MYSQL_URL"
fi
TGT=(psql -X -q -At -v ON_ERROR_STOP=1 -p "$APE_CITUS_PORT")
COLS="id, k, c, pad, amount, created, note"

if [ "$("${MY[@]}" -N -e "SELECT nrows FROM ape_bench.meta" 2>/dev/null || true)" != "$ROWS" ]; then
    log "making MariaDB ape_bench.t ($ROWS rows) with bench/mysql_copy.sh"
    GEN_ONLY=1 KEEP=1 ROWS=$ROWS bash bench/mysql_copy.sh
fi
"${TGT[@]}" -c "CREATE EXTENSION IF NOT EXISTS ape_resume"
MY_SUM=$("${MY[@]}" -N -e "SELECT CONCAT(COUNT(*), ' ', SUM(id)) FROM ape_bench.t")

checksum() {
    "${TGT[@]}" -c "SELECT count(*) || ' ' || sum(id) || ' ' ||
        sum(('x' || left(md5(concat_ws('|', $COLS)), 8))::bit(32)::bigint) FROM $1"
}
check() { # LABEL TABLE EXPECTED_COUNT_SUM
    local got
    got=$(checksum "$2")
    [ "${got% *}" = "$3" ] || fail "$1: $2 has '${got% *}' (rows, sum(id)), the source '$3'"
    echo "$got"
}
settle() {
    local p
    for p in "$APE_CITUS_PORT" 55441 55442; do psql -X -q -p "$p" -c CHECKPOINT; done
    sleep 1
}

# ape_run TASK SCHEMA EXTRA: ape_resume copies ape_bench.t into SCHEMA.t; sets WALL
ape_run() {
    local task=$1 schema=$2 extra=$3 logdir=$BENCH_DIR/$1 t0 state
    "${TGT[@]}" -c "DROP SCHEMA IF EXISTS $schema CASCADE" \
        -c "SELECT ape_resume.drop_task(name) FROM ape_resume.tasks WHERE name = '$task'" >/dev/null
    rm -rf "$logdir" && mkdir -p "$logdir" && chmod 0777 "$logdir"
    settle
    t0=$(now)
    "${TGT[@]}" -c "SELECT ape_resume.start_task('$task', \$cfg\$
[extractor]
db_type=mysql
url=$APE_MYSQL_URL
$extra
[sinker]
batch_size=10000
[filter]
do_tbs=ape_bench.t
[router]
db_map=ape_bench:$schema
[runtime]
log_dir=$logdir
\$cfg\$)" >/dev/null
    state=$("${TGT[@]}" -c "SELECT ape_resume.wait_task('$task', 7200)")
    [ "$state" = finished ] ||
        fail "task $task ended $state: $("${TGT[@]}" -c "SELECT last_error FROM ape_resume.tasks WHERE name = '$task'")"
    WALL=$(elapsed "$t0" "$(now)")
}
DIST="[citus]
distribution_columns=json:[{\"db\":\"ape_bench\",\"tb\":\"t\",\"column\":\"id\",\"shard_count\":8}]"

log "(a) ape_resume into a plain local table of the coordinator"
ape_run bench_ct_local bench_ct_local "parallel_size=1"
A_WALL=$WALL; A_SUM=$(check "(a)" bench_ct_local.t "$MY_SUM")
log "  $A_WALL s"

log "(b) ape_resume into a distributed table, 8 shards on 2 nodes"
ape_run bench_ct_dist bench_ct_dist "parallel_size=1
$DIST"
B_WALL=$WALL; B_SUM=$(check "(b)" bench_ct_dist.t "$MY_SUM")
[ "$B_SUM" = "$A_SUM" ] || fail "(b) differs from (a): $B_SUM / $A_SUM"
[ "$("${TGT[@]}" -c "SELECT count(*) FROM citus_shards WHERE table_name = 'bench_ct_dist.t'::regclass")" = 8 ] ||
    fail "(b): the target is not distributed in 8 shards"
[ "$("${TGT[@]}" -c "SELECT pg_relation_size('bench_ct_dist.t')")" = 0 ] || fail "(b): rows in the shell table"
log "  $B_WALL s"

log "(c) ape_resume into a distributed table, two chunks, two workers"
ape_run bench_ct_chunk bench_ct_chunk "parallel_type=chunk
parallel_size=2
split_tables_larger_than=$((ROWS / 2))
$DIST"
C_WALL=$WALL; C_SUM=$(check "(c)" bench_ct_chunk.t "$MY_SUM")
[ "$C_SUM" = "$A_SUM" ] || fail "(c) differs from (a): $C_SUM / $A_SUM"
log "  $C_WALL s"

# copy_alone LABEL DISTRIBUTED: COPY from a server file (COPY_WALL), then the key (KEY_WALL)
FILE=$BENCH_DIR/rows.copy
rm -f "$FILE"
"${TGT[@]}" -c "COPY bench_ct_local.t ($COLS) TO '$FILE'"
copy_alone() {
    local t0
    "${TGT[@]}" -c "DROP SCHEMA IF EXISTS bench_ct_file CASCADE" -c "CREATE SCHEMA bench_ct_file" \
        -c "CREATE TABLE bench_ct_file.t (LIKE bench_ct_local.t)"
    [ "$2" = 0 ] || "${TGT[@]}" -c "SELECT create_distributed_table('bench_ct_file.t', 'id', shard_count => 8)" >/dev/null
    settle
    t0=$(now)
    "${TGT[@]}" -c "COPY bench_ct_file.t ($COLS) FROM '$FILE'"
    COPY_WALL=$(elapsed "$t0" "$(now)")
    t0=$(now)
    "${TGT[@]}" -c "ALTER TABLE bench_ct_file.t ADD PRIMARY KEY (id)"
    KEY_WALL=$(elapsed "$t0" "$(now)")
    [ "$(check "$1" bench_ct_file.t "$MY_SUM")" = "$A_SUM" ] || fail "$1 differs from (a)"
    "${TGT[@]}" -c "DROP SCHEMA bench_ct_file CASCADE"
}
log "(d) the Citus COPY alone, from a file, then the key"
copy_alone "(d)" 1
D_COPY=$COPY_WALL; D_KEY=$KEY_WALL
log "  $D_COPY s + $D_KEY s"
log "(e) the local COPY alone, from a file, then the key"
copy_alone "(e)" 0
E_COPY=$COPY_WALL; E_KEY=$KEY_WALL
log "  $E_COPY s + $E_KEY s"
rm -f "$FILE"

if [ "$KEEP" != 1 ]; then
    for t in bench_ct_local bench_ct_dist bench_ct_chunk; do
        "${TGT[@]}" -c "SELECT ape_resume.drop_task('$t')" -c "DROP SCHEMA $t CASCADE" >/dev/null
    done
fi

cat <<EOF

bench/citus.sh: $ROWS rows of MariaDB ape_bench.t into the Citus coordinator (2 worker nodes, this machine: $(nproc) cores)
  (a) ape_resume, plain local table            $A_WALL s
  (b) ape_resume, distributed (8 shards)        $B_WALL s   (b)/(a) = $(ratio "$B_WALL" "$A_WALL")
  (c) ape_resume, distributed, 2 chunks          $C_WALL s   (c)/(a) = $(ratio "$C_WALL" "$A_WALL")
  (d) Citus COPY from a file + key              $D_COPY s + $D_KEY s
  (e) local COPY from a file + key              $E_COPY s + $E_KEY s   (d)/(e) = $(ratio "$(awk -v a="$D_COPY" -v b="$D_KEY" 'BEGIN{print a+b}')" "$(awk -v a="$E_COPY" -v b="$E_KEY" 'BEGIN{print a+b}')")
  every target: $A_SUM (rows, sum(id), row checksum)
EOF
