#!/usr/bin/env bash
# bench/structures.sh: a copy with its schema after the data.  The bench
# table (ROWS rows) with two secondary indexes and a foreign key to a small
# table (1000 rows), from MariaDB and from the source PostgreSQL, in one run:
#
#   (a) ape_resume from MariaDB: data, keys, indexes, the foreign key
#   (b) pgloader's default run from MariaDB (create tables, indexes, foreign
#       keys, reset sequences; "prefetch rows" lowered, see mysql_copy.sh)
#   (c) ape_resume from PostgreSQL
#   (d) pgcopydb clone --table-jobs 2 --index-jobs 2 of the same two tables
#
# Times are start to end (ape_resume: start_task to wait_task's return).
# Every copy is checked: row counts and sums of both tables, and the target
# has both indexes and the foreign key.  Run by hand; it asserts no time.
#
#   ROWS=2000000   rows of the big table
#   REGEN=0        1: rebuild the sources even if they are current
#   PGLOADER_PREFETCH=25000
set -euo pipefail

ROWS=${ROWS:-2000000}
REGEN=${REGEN:-0}
PGLOADER_PREFETCH=${PGLOADER_PREFETCH:-25000}
GEN_VERSION=1

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
if ! bash test/testbed.sh status >/dev/null 2>&1; then
    bash test/testbed.sh start
fi
# shellcheck disable=SC1091
. .testbed/env.sh
export PGCLIENTENCODING=UTF8 PGTZ=UTC PGDATESTYLE=ISO
export PGOPTIONS="-c client_min_messages=warning"

BENCH_DIR=${BENCH_DIR:-$APE_SHARED_DIR/bench_structures}
mkdir -p "$BENCH_DIR"
chmod 0777 "$BENCH_DIR"

MY=(mariadb -h127.0.0.1 -P"$APE_MYSQL_PORT" -uape -pmysql_secret_pw --batch --skip-column-names)
PG_SRC_URL=${APE_PGSRC_URL%/*}/ape_bench_st
TGT=(psql -X -q -At -v ON_ERROR_STOP=1)
PG_URL=postgresql://$PGUSER@127.0.0.1:$PGPORT/$PGDATABASE

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { echo "structures.sh: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
settle() { "${TGT[@]}" -c "CHECKPOINT" && sleep 1; }

for tool in pgloader pgcopydb; do
    if ! command -v $tool >/dev/null; then
        log "installing $tool"
        DEBIAN_FRONTEND=noninteractive apt-get install -y $tool >/dev/null 2>&1 ||
            { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y $tool >/dev/null; }
    fi
done
# pgloader connects over TCP; without trust auth there, a role with a password
if ! PGPASSWORD='' psql -X -w -h 127.0.0.1 -p "$PGPORT" -U "$PGUSER" -d "$PGDATABASE" -c 'SELECT 1' >/dev/null 2>&1; then
    "${TGT[@]}" <<'SQL'
SELECT 'CREATE ROLE ape_bench_loader' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ape_bench_loader') \gexec
ALTER ROLE ape_bench_loader LOGIN SUPERUSER PASSWORD 'ape_bench_loader_pw';
SQL
    PG_URL=postgresql://ape_bench_loader:ape_bench_loader_pw@127.0.0.1:$PGPORT/$PGDATABASE
fi

# ---------------------------------------------------------------------------
# Sources: parent (1000 rows) and t (ROWS rows, KEY k, KEY created, a
# foreign key on parent_id), the same content in MariaDB and PostgreSQL.
# ---------------------------------------------------------------------------
generate() {
    local current
    current=$("${MY[@]}" -e "SELECT concat(v, ':', n) FROM ape_bench_st.meta" 2>/dev/null || true)
    if [ "$REGEN" = 1 ] || [ "$current" != "$GEN_VERSION:$ROWS" ]; then
        log "generating MariaDB ape_bench_st ($ROWS rows)"
        "${MY[@]}" <<SQL
DROP DATABASE IF EXISTS ape_bench_st;
CREATE DATABASE ape_bench_st;
USE ape_bench_st;
CREATE TABLE parent (id int PRIMARY KEY, name varchar(40) NOT NULL);
INSERT INTO parent SELECT seq, concat('parent ', seq) FROM seq_1_to_1000;
CREATE TABLE t (id bigint PRIMARY KEY, parent_id int NOT NULL, k int NOT NULL,
    c varchar(120) NOT NULL, amount decimal(12,2), created datetime, note text,
    KEY t_k (k), KEY t_created (created),
    CONSTRAINT t_parent FOREIGN KEY (parent_id) REFERENCES parent (id));
SET foreign_key_checks = 0;
INSERT INTO t SELECT seq, 1 + seq % 1000, crc32(seq) % 1000000,
    left(concat(md5(seq), ' ', sha1(seq)), 20 + seq % 100),
    IF(seq % 13 = 0, NULL, (crc32(seq * 11) % 1000000000) / 100),
    IF(seq % 17 = 0, NULL, '2015-01-01' + INTERVAL (crc32(seq * 13) % 315360000) SECOND),
    IF(seq % 5 = 0, NULL, repeat(md5(seq * 31), 1 + seq % 6))
  FROM seq_1_to_$ROWS;
CREATE TABLE meta (v int, n bigint);
INSERT INTO meta VALUES ($GEN_VERSION, $ROWS);
SQL
    fi
    psql -X -q -At -d "$APE_PGSRC_URL" >/dev/null <<'SQL'
SELECT 'CREATE DATABASE ape_bench_st' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ape_bench_st') \gexec
SQL
    current=$(psql -X -q -At -d "$PG_SRC_URL" -c "SELECT v || ':' || n FROM bench_st.meta" 2>/dev/null || true)
    if [ "$REGEN" = 1 ] || [ "$current" != "$GEN_VERSION:$ROWS" ]; then
        log "generating PostgreSQL ape_bench_st ($ROWS rows)"
        psql -X -q -v ON_ERROR_STOP=1 -d "$PG_SRC_URL" <<SQL
DROP SCHEMA IF EXISTS bench_st CASCADE;
CREATE SCHEMA bench_st;
CREATE TABLE bench_st.parent (id int PRIMARY KEY, name varchar(40) NOT NULL);
INSERT INTO bench_st.parent SELECT g, 'parent ' || g FROM generate_series(1, 1000) g;
CREATE TABLE bench_st.t (id bigint PRIMARY KEY, parent_id int NOT NULL REFERENCES bench_st.parent (id),
    k int NOT NULL, c varchar(120) NOT NULL, amount numeric(12,2), created timestamp, note text);
INSERT INTO bench_st.t SELECT g, 1 + g % 1000, (hashint4(g) & 2147483647) % 1000000,
    left(md5(g::text) || ' ' || md5((g * 3)::text), 20 + g % 100),
    CASE WHEN g % 13 = 0 THEN NULL ELSE ((hashint4(g * 11) & 2147483647) % 1000000000) / 100.0 END,
    CASE WHEN g % 17 = 0 THEN NULL ELSE timestamp '2015-01-01' + ((hashint4(g * 13) & 2147483647) % 315360000) * interval '1 second' END,
    CASE WHEN g % 5 = 0 THEN NULL ELSE repeat(md5((g * 31)::text), 1 + g % 6) END
  FROM generate_series(1, $ROWS) g;
CREATE INDEX t_k ON bench_st.t (k);
CREATE INDEX t_created ON bench_st.t (created);
VACUUM ANALYZE bench_st.t;
CREATE TABLE bench_st.meta (v int, n bigint);
INSERT INTO bench_st.meta VALUES ($GEN_VERSION, $ROWS);
SQL
    fi
}

# rows, sum(id), sum(parent_id), sum(k) of t, and rows of parent
sums() { # DB SCHEMA
    "${TGT[@]}" -d "$1" -c "SELECT concat_ws(' ', count(*), sum(id), sum(parent_id), sum(k),
        (SELECT count(*) FROM $2.parent)) FROM $2.t"
}

# the target has the secondary indexes and the foreign key
check_structure() { # LABEL DB SCHEMA
    local n
    n=$("${TGT[@]}" -d "$2" -c "SELECT (SELECT count(*) FROM pg_index WHERE indrelid = '$3.t'::regclass
            AND NOT indisprimary AND indisvalid)
        || ' ' || (SELECT count(*) FROM pg_constraint WHERE conrelid = '$3.t'::regclass AND contype = 'f'
            AND convalidated)")
    # MariaDB also has an index of its own on the foreign key's column
    [ "${n% *}" -ge 2 ] && [ "${n#* }" = 1 ] || fail "$1: expected 2 or 3 secondary indexes and 1 foreign key, found $n"
}

verify() { # LABEL DB SCHEMA
    local got want
    got=$(sums "$2" "$3")
    want="$ROWS $(awk -v n="$ROWS" 'BEGIN { printf "%.0f", n * (n + 1) / 2 }')"
    [ "${got%% *}" = "$ROWS" ] || fail "$1: $got rows, want $ROWS"
    case "$got" in "$want "*) ;; *) fail "$1: sums $got, want $want ...";; esac
    check_structure "$@"
    log "$1: verified ($got)"
}

ape_run() { # TASK DB_TYPE URL SRC_SCHEMA TARGET_SCHEMA
    local task=$1 logdir=$BENCH_DIR/$1 t0 t1 state
    "${TGT[@]}" -c "DROP SCHEMA IF EXISTS $5 CASCADE"
    "${TGT[@]}" -c "SELECT ape_resume.drop_task(name) FROM ape_resume.tasks WHERE name = '$task'" >/dev/null
    rm -rf "$logdir" && mkdir -p "$logdir" && chmod 0777 "$logdir"
    settle
    t0=$(now)
    "${TGT[@]}" -c "SELECT ape_resume.start_task('$task', \$cfg\$
[extractor]
db_type=$2
url=$3
[filter]
do_tbs=$4.t,$4.parent
[router]
db_map=$4:$5
[parallelizer]
parallel_size=2
[runtime]
log_dir=$logdir
\$cfg\$)" >/dev/null
    state=$("${TGT[@]}" -c "SELECT ape_resume.wait_task('$task', 7200)") || state=error
    t1=$(now)
    [ "$state" = finished ] || fail "task $task ended $state: $("${TGT[@]}" -c "SELECT last_error FROM ape_resume.tasks WHERE name = '$task'")"
    R_WALL=$(elapsed "$t0" "$t1")
    R_STRUCT=$("${TGT[@]}" -c "SELECT round(extract(epoch FROM max(updated_at) - (SELECT max(finished_at) FROM ape_resume.progress WHERE task_name = '$task' AND tb = 't')), 2)
        FROM ape_resume.structures WHERE task_name = '$task' AND state = 'done'")
}

pgloader_run() {
    local dir=$BENCH_DIR/pgloader t0 t1
    rm -rf "$dir" && mkdir -p "$dir"
    "${TGT[@]}" -c "DROP SCHEMA IF EXISTS bench_st_pgloader CASCADE"
    cat >"$dir/copy.load" <<LOAD
LOAD DATABASE
     FROM mysql://ape:mysql_secret_pw@127.0.0.1:$APE_MYSQL_PORT/ape_bench_st
     INTO $PG_URL
WITH prefetch rows = $PGLOADER_PREFETCH
INCLUDING ONLY TABLE NAMES MATCHING 't', 'parent'
ALTER SCHEMA 'ape_bench_st' RENAME TO 'bench_st_pgloader';
LOAD
    settle
    t0=$(now)
    if ! pgloader --root-dir "$dir" --logfile "$dir/pgloader.log" "$dir/copy.load" >"$dir/output.txt" 2>&1 ||
        grep -qE '^[0-9TZ:.-]+ (ERROR|FATAL) ' "$dir/output.txt"; then
        tail -20 "$dir/output.txt" >&2
        fail "pgloader failed, see $dir/output.txt"
    fi
    t1=$(now)
    R_WALL=$(elapsed "$t0" "$t1")
}

pgcopydb_run() {
    local dir=$BENCH_DIR/pgcopydb t0 t1
    rm -rf "$dir" && mkdir -p "$dir"
    printf '[include-only-table]\nbench_st.t\nbench_st.parent\n' >"$BENCH_DIR/filters.ini"
    "${TGT[@]}" -c "DROP DATABASE IF EXISTS bench_st_pgcopydb" -c "CREATE DATABASE bench_st_pgcopydb"
    settle
    t0=$(now)
    pgcopydb clone --source "$PG_SRC_URL" --target "postgres://$PGUSER@127.0.0.1:$PGPORT/bench_st_pgcopydb" \
        --dir "$dir" --table-jobs 2 --index-jobs 2 --no-owner --no-acl --skip-extensions \
        --filters "$BENCH_DIR/filters.ini" >"$BENCH_DIR/pgcopydb.log" 2>&1 ||
        { tail -20 "$BENCH_DIR/pgcopydb.log" >&2; fail "pgcopydb failed"; }
    t1=$(now)
    R_WALL=$(elapsed "$t0" "$t1")
}

generate

log "(a) ape_resume from MariaDB"
ape_run bench_st_my mysql "$APE_MYSQL_URL" ape_bench_st bench_st_ape_my
A_WALL=$R_WALL A_STRUCT=$R_STRUCT
verify "(a) ape_resume mysql" "$PGDATABASE" bench_st_ape_my

log "(b) pgloader (its defaults)"
pgloader_run
B_WALL=$R_WALL
verify "(b) pgloader" "$PGDATABASE" bench_st_pgloader

log "(c) ape_resume from PostgreSQL"
ape_run bench_st_pg pg "$PG_SRC_URL" bench_st bench_st_ape_pg
C_WALL=$R_WALL C_STRUCT=$R_STRUCT
verify "(c) ape_resume pg" "$PGDATABASE" bench_st_ape_pg

log "(d) pgcopydb clone"
pgcopydb_run
D_WALL=$R_WALL
verify "(d) pgcopydb" bench_st_pgcopydb bench_st

echo
printf '%-44s %10s\n' "method ($ROWS rows, 2 indexes, 1 foreign key)" "wall s"
printf '%-44s %10s   (after the big table: %s s)\n' "(a) ape_resume, MariaDB" "$A_WALL" "$A_STRUCT"
printf '%-44s %10s\n' "(b) pgloader, MariaDB" "$B_WALL"
printf '%-44s %10s   (after the big table: %s s)\n' "(c) ape_resume, PostgreSQL" "$C_WALL" "$C_STRUCT"
printf '%-44s %10s\n' "(d) pgcopydb clone, PostgreSQL" "$D_WALL"
printf '%-44s %10s   (target <= 0.4)\n' "ape / pgloader" "$(awk -v a="$A_WALL" -v b="$B_WALL" 'BEGIN { printf "%.2f", a / b }')"
printf '%-44s %10s   (target <= 1.0)\n' "ape / pgcopydb" "$(awk -v a="$C_WALL" -v b="$D_WALL" 'BEGIN { printf "%.2f", a / b }')"

"${TGT[@]}" -c "DROP SCHEMA IF EXISTS bench_st_ape_my CASCADE" -c "DROP SCHEMA IF EXISTS bench_st_ape_pg CASCADE" \
    -c "DROP SCHEMA IF EXISTS bench_st_pgloader CASCADE" -c "DROP DATABASE IF EXISTS bench_st_pgcopydb"
