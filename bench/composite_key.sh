#!/usr/bin/env bash
# bench/composite_key.sh: a copy ordered by a composite primary key against
# the same copy ordered by a single-column key, and a copy resumed at 90% of
# the table against the full copy, for the MariaDB and the PostgreSQL
# source.  Run by hand (see bench/README.md); it prints numbers and never
# asserts times.  It fails only when a copy is wrong (row count or checksum
# differs from the source) or a task fails.
#
# The source tables have the columns and content of bench/mysql_copy.sh's
# table t: t_single keeps `id bigint primary key`, t_comp has `a int, b
# bigint, primary key (a, b)` instead (a = id div 1000, so that a thousand
# rows share each leading value; b = id), the same rows.
#
# Environment:
#   ROWS=2000000   rows of each source table
#   SOURCES="mysql pg"
#   RUNS=1         timed runs of each copy; the best (shortest) is reported
#   BENCH_DIR      work files (default $APE_SHARED_DIR/bench_composite_key)
set -euo pipefail

ROWS=${ROWS:-2000000}
SOURCES=${SOURCES:-mysql pg}
RUNS=${RUNS:-1}
SRC=ape_bench_ck                   # MariaDB database / PostgreSQL schema of the sources

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
if ! grep -q ': up' <<<"$(bash test/testbed.sh status 2>/dev/null || true)"; then
    bash test/testbed.sh start
fi
# shellcheck disable=SC1091
. .testbed/env.sh
export PGCLIENTENCODING=UTF8 PGTZ=UTC PGOPTIONS="-c client_min_messages=warning"
BENCH_DIR=${BENCH_DIR:-$APE_SHARED_DIR/bench_composite_key}
mkdir -p "$BENCH_DIR" && chmod 0777 "$BENCH_DIR"

[[ $APE_MYSQL_URL =~ ^mysql://([^:@/]+):([^@/]*)@([^:/]+):([0-9]+) ]] ||
    { echo "composite_key.sh: cannot parse APE_MYSQL_URL" >&2; exit 1; }
export MYSQL_PWD=${BASH_REMATCH[2]}
MY=(mariadb --no-defaults -h "${BASH_REMATCH[3]}" -P "${BASH_REMATCH[4]}" -u "${BASH_REMATCH[1]}"
    --default-character-set=utf8mb4 -N)
PSRC=(psql -X -q -At -v ON_ERROR_STOP=1 -d "$APE_PGSRC_URL")
TGT=(psql -X -q -At -v ON_ERROR_STOP=1)
COLS="k, c, pad, amount, created, note"

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

gen_mysql() {
    log "mysql: generating $SRC.t_single and $SRC.t_comp ($ROWS rows each)"
    "${MY[@]}" <<SQL
DROP DATABASE IF EXISTS $SRC;
CREATE DATABASE $SRC CHARACTER SET utf8mb4;
USE $SRC;
CREATE TABLE t_single (id bigint PRIMARY KEY, k int NOT NULL, c varchar(120) NOT NULL,
    pad char(60) NOT NULL, amount decimal(12,2), created datetime, note text NULL) ENGINE=InnoDB;
SET SESSION unique_checks = 0;
INSERT INTO t_single
SELECT seq, CRC32(seq) % 1000000,
       CASE WHEN seq % 1000 = 7
            THEN CONCAT('tab\there back\\\\slash cr\rnl\nend ünïcødé € ', MD5(seq))
            ELSE LEFT(CONCAT(MD5(seq), ' ', SHA1(seq), ' ', MD5(seq * 7)), 20 + CRC32(seq * 3) % 100) END,
       CONCAT_WS('-', LPAD(CRC32(seq * 5), 11, '0'), LPAD(CRC32(seq * 17), 11, '0'),
                 LPAD(CRC32(seq * 19), 11, '0'), LPAD(CRC32(seq * 23), 11, '0'),
                 LPAD(CRC32(seq * 29), 11, '0')),
       IF(seq % 13 = 0, NULL, (CRC32(seq * 11) % 1000000000) / 100),
       IF(seq % 17 = 0, NULL, TIMESTAMP '2015-01-01 00:00:00' + INTERVAL (CRC32(seq * 13) % 315360000) SECOND),
       CASE WHEN seq % 5 = 0 THEN NULL
            ELSE REPEAT(CONCAT(MD5(seq * 31), ' '), 1 + CRC32(seq * 37) % 6) END
  FROM seq_1_to_$ROWS;
CREATE TABLE t_comp (a int NOT NULL, b bigint NOT NULL, k int NOT NULL, c varchar(120) NOT NULL,
    pad char(60) NOT NULL, amount decimal(12,2), created datetime, note text NULL,
    PRIMARY KEY (a, b)) ENGINE=InnoDB;
INSERT INTO t_comp SELECT id DIV 1000, id, $COLS FROM t_single ORDER BY id;
ANALYZE TABLE t_single, t_comp;
SQL
}

gen_pg() {
    log "pg: generating $SRC.t_single and $SRC.t_comp ($ROWS rows each)"
    "${PSRC[@]}" <<SQL
DROP SCHEMA IF EXISTS $SRC CASCADE;
CREATE SCHEMA $SRC;
CREATE TABLE $SRC.t_single (id bigint PRIMARY KEY, k int NOT NULL, c varchar(120) NOT NULL,
    pad char(60) NOT NULL, amount numeric(12,2), created timestamp, note text);
INSERT INTO $SRC.t_single
SELECT i, (hashint4(i) & 2147483647) % 1000000,
       CASE WHEN i % 1000 = 7 THEN E'tab\there back\\\\slash cr\rnl\nend ünïcødé € ' || md5(i::text)
            ELSE left(md5(i::text) || ' ' || md5((i * 3)::text) || ' ' || md5((i * 7)::text),
                      20 + (hashint4(i * 3) & 2147483647) % 100) END,
       concat_ws('-', lpad((hashint4(i * 5) & 2147483647)::text, 11, '0'),
                 lpad((hashint4(i * 17) & 2147483647)::text, 11, '0'),
                 lpad((hashint4(i * 19) & 2147483647)::text, 11, '0'),
                 lpad((hashint4(i * 23) & 2147483647)::text, 11, '0'),
                 lpad((hashint4(i * 29) & 2147483647)::text, 11, '0')),
       CASE WHEN i % 13 = 0 THEN NULL ELSE ((hashint4(i * 11) & 2147483647) % 1000000000) / 100.0 END,
       CASE WHEN i % 17 = 0 THEN NULL
            ELSE timestamp '2015-01-01' + ((hashint4(i * 13) & 2147483647) % 315360000) * interval '1 second' END,
       CASE WHEN i % 5 = 0 THEN NULL
            ELSE repeat(md5((i * 31)::text) || ' ', 1 + (hashint4(i * 37) & 2147483647) % 6) END
  FROM generate_series(1, $ROWS) i;
CREATE TABLE $SRC.t_comp (a int NOT NULL, b bigint NOT NULL, k int NOT NULL, c varchar(120) NOT NULL,
    pad char(60) NOT NULL, amount numeric(12,2), created timestamp, note text, PRIMARY KEY (a, b));
INSERT INTO $SRC.t_comp SELECT id / 1000, id, $COLS FROM $SRC.t_single ORDER BY id;
VACUUM ANALYZE $SRC.t_single, $SRC.t_comp;
SQL
}

# rows and a checksum of (key, the other columns), the same on every side:
# the key of t_comp is (id div 1000, id), so id alone identifies a row
checksum_sql() { # TABLE ID_EXPR
    echo "SELECT concat_ws(' ', count(*), sum($2), sum(k), coalesce(sum(amount), 0),
       count(*) - count(note), sum(char_length(c)), sum(char_length(coalesce(note, ''))))
  FROM $1"
}
source_sum() { # KIND TABLE ID_EXPR
    if [ "$1" = mysql ]; then "${MY[@]}" -e "$(checksum_sql "$SRC.$2" "$3")"
    else "${PSRC[@]}" -c "$(checksum_sql "$SRC.$2" "$3")"; fi
}

# ape_run KIND TASK TABLE [RESUME_CONFIG]: one copy into schema TASK; sets R_WALL
ape_run() {
    local kind=$1 task=$2 tb=$3 rc=${4:-} logdir=$BENCH_DIR/$2 url t0 state
    url=$([ "$kind" = mysql ] && echo "$APE_MYSQL_URL" || echo "$APE_PGSRC_URL")
    "${TGT[@]}" -c "SELECT ape_resume.drop_task(name) FROM ape_resume.tasks WHERE name = '$task'" >/dev/null
    "${TGT[@]}" -c "DROP SCHEMA IF EXISTS $task CASCADE"
    rm -rf "$logdir" && mkdir -p "$logdir" && chmod 0777 "$logdir"
    "${TGT[@]}" -c "CHECKPOINT" && sleep 1
    t0=$(now)
    "${TGT[@]}" -c "SELECT ape_resume.start_task('$task', \$cfg\$
[extractor]
db_type=$kind
url=$url
[sinker]
batch_size=10000
[filter]
do_tbs=$SRC.$tb
[router]
db_map=$SRC:$task
[runtime]
log_dir=$logdir
[resumer]
${rc:+resume_config_file=$rc}
\$cfg\$)" >/dev/null
    state=$("${TGT[@]}" -c "SELECT ape_resume.wait_task('$task', 3600)")
    R_WALL=$(elapsed "$t0" "$(now)")
    [ "$state" = finished ] || { echo "task $task ended $state" >&2; exit 1; }
}

verify() { # LABEL TARGET_TABLE ID_EXPR EXPECTED
    local got
    got=$("${TGT[@]}" -c "$(checksum_sql "$2" "$3")")
    [ "$got" = "$4" ] || { echo "$1: $2 differs: $got, want $4" >&2; exit 1; }
    log "$1: verified ($(cut -d' ' -f1 <<<"$got") rows)"
}

best() { local cur=${!1:-}; if [ -z "$cur" ] || awk -v a="$2" -v b="$cur" 'BEGIN { exit !(a < b) }'; then printf -v "$1" '%s' "$2"; fi; }

"${TGT[@]}" -c "CREATE EXTENSION IF NOT EXISTS ape_resume"
REPORT=""
AT=$((ROWS * 9 / 10))              # the resume position: row AT of the key order
for kind in $SOURCES; do
    "gen_$kind"
    SUM_SINGLE=$(source_sum "$kind" t_single id)
    SUM_COMP=$(source_sum "$kind" t_comp b)
    [ "$(cut -d' ' -f1 <<<"$SUM_SINGLE")" = "$ROWS" ] || { echo "source has not $ROWS rows" >&2; exit 1; }
    [ "$(cut -d' ' -f3- <<<"$SUM_SINGLE")" = "$(cut -d' ' -f3- <<<"$SUM_COMP")" ] ||
        { echo "t_single and t_comp differ" >&2; exit 1; }
    # the rows after (AT div 1000, AT): the resumed copy must bring exactly these
    if [ "$kind" = mysql ]; then
        SUM_REST=$("${MY[@]}" -e "$(checksum_sql "(SELECT * FROM $SRC.t_comp WHERE b > $AT) x" b)")
    else
        SUM_REST=$("${PSRC[@]}" -c "$(checksum_sql "(SELECT * FROM $SRC.t_comp WHERE b > $AT) x" b)")
    fi
    rc=$BENCH_DIR/resume_$kind.config
    printf '{"type":"RdbSnapshot","db_type":"%s","schema":"%s","tb":"t_comp","order_key":{"composite":[["a","%s"],["b","%s"]]}}\n' \
        "$kind" "$SRC" $((AT / 1000)) "$AT" >"$rc"
    chmod 0644 "$rc"
    S="" C="" R=""
    for run in $(seq 1 "$RUNS"); do
        log "$kind run $run/$RUNS: single-column key"
        ape_run "$kind" "bck_${kind}_single" t_single
        verify "$kind single" "bck_${kind}_single.t_single" id "$SUM_SINGLE"; best S "$R_WALL"
        log "  $R_WALL s"
        log "$kind run $run/$RUNS: composite key (a, b)"
        ape_run "$kind" "bck_${kind}_comp" t_comp
        verify "$kind composite" "bck_${kind}_comp.t_comp" b "$SUM_COMP"; best C "$R_WALL"
        log "  $R_WALL s"
        log "$kind run $run/$RUNS: composite key, resumed at row $AT (90%)"
        ape_run "$kind" "bck_${kind}_rest" t_comp "$rc"
        verify "$kind resumed" "bck_${kind}_rest.t_comp" b "$SUM_REST"; best R "$R_WALL"
        log "  $R_WALL s"
    done
    for t in single comp rest; do
        "${TGT[@]}" -c "SELECT ape_resume.drop_task('bck_${kind}_$t')" >/dev/null
        "${TGT[@]}" -c "DROP SCHEMA IF EXISTS bck_${kind}_$t CASCADE"
    done
    if [ "$kind" = mysql ]; then "${MY[@]}" -e "DROP DATABASE $SRC"; else "${PSRC[@]}" -c "DROP SCHEMA $SRC CASCADE"; fi
    REPORT+=$(printf '%-6s %10s %12s %14s %12s %14s' "$kind" "$S" "$C" "$(ratio "$C" "$S")" "$R" "$(ratio "$R" "$C")")$'\n'
done

cat <<EOF

=== composite order key: $ROWS rows, $(nproc) CPUs, best of $RUNS run(s), wall seconds ===
source  single s  composite s  comp/single    resumed s  resumed/full
${REPORT}
targets: composite within 1.1x of single; a copy resumed at 90% at most 0.2x of the full copy
load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
EOF
