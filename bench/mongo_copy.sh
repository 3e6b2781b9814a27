#!/usr/bin/env bash
# bench/mongo_copy.sh: copy a MongoDB collection (FerretDB in the test bed)
# into the local PostgreSQL with ape_resume, and read the same collection
# with a plain pymongo find({}) cursor dumping it to a file, in the same run;
# then both again on a collection twice as large, to show the cost is linear.
# Run by hand; it prints numbers and never asserts times.  It fails only when
# a copy is wrong (document count or checksum differs from the source) or a
# tool fails.
#
# Environment:
#   DOCS=200000    documents of the first collection (the second has 2 x DOCS)
#   BATCH=10000    [extractor] and [sinker] batch_size of the ape_resume task
#   RUNS=2         timed runs of each method and size; the best (shortest) is
#                  reported, as the machine may be shared with other work
#   REGEN=0        1: rebuild the source collections even if they are current
#   KEEP=0         1: keep the target tables and dump files after the run
#   BENCH_DIR      work files (default $APE_SHARED_DIR/bench_mongo_copy)
set -euo pipefail

DOCS=${DOCS:-200000}
BATCH=${BATCH:-10000}
RUNS=${RUNS:-2}
REGEN=${REGEN:-0}
KEEP=${KEEP:-0}
SRC_DB=ape_bench_mongo               # MongoDB database of the source collections
GEN_VERSION=1                        # bump when the generated content changes

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
if ! bash test/testbed.sh status 2>/dev/null | grep -q ': up'; then
    bash test/testbed.sh start
fi
# shellcheck disable=SC1091
. .testbed/env.sh
export PGCLIENTENCODING=UTF8 PGTZ=UTC PGOPTIONS="-c client_min_messages=warning"
PY=${APE_PYTHON:-/usr/bin/python3}
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)

BENCH_DIR=${BENCH_DIR:-$APE_SHARED_DIR/bench_mongo_copy}
mkdir -p "$BENCH_DIR"
chmod 0777 "$BENCH_DIR"              # the worker (OS user postgres) writes logs here

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }

# generate COLL N: N documents of a typical shape, _id an ObjectId; field i
# runs 0..N-1 so that the sum checks a copy.  Kept when already current.
generate() {
    local coll=$1 n=$2
    "$PY" - "$APE_MONGO_URL" "$SRC_DB" "$coll" "$n" "$GEN_VERSION" "$REGEN" <<'EOF'
import datetime, sys
import pymongo
from bson import ObjectId
url, dbname, coll, n, version, regen = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
client = pymongo.MongoClient(url, serverSelectionTimeoutMS=10000)
db = client[dbname]
meta = db["meta"].find_one({"_id": coll})
if regen != "1" and meta and meta.get("version") == version and meta.get("n") == n \
        and db[coll].estimated_document_count() == n:
    sys.exit(0)
db[coll].drop()
base = datetime.datetime(2024, 1, 1)
batch = []
for i in range(n):
    batch.append({
        "_id": ObjectId("%08x%016x" % (0x65920080 + i // 100000, i)),
        "i": i,
        "name": "customer %07d" % i,
        "email": "user%d@example.com" % i,
        "score": i * 0.25,
        "active": i % 3 != 0,
        "created": base + datetime.timedelta(seconds=i),
        "tags": ["t%d" % (i % 7), "t%d" % (i % 11)],
        "address": {"street": "%d Main St" % (i % 1000), "city": "City %d" % (i % 97), "zip": "%05d" % (i % 99999)},
    })
    if len(batch) == 5000:
        db[coll].insert_many(batch, ordered=False)
        batch = []
if batch:
    db[coll].insert_many(batch, ordered=False)
db["meta"].replace_one({"_id": coll}, {"_id": coll, "version": version, "n": n}, upsert=True)
EOF
}

# ape COLL N: copy with ape_resume; prints seconds
ape() {
    local coll=$1 n=$2 task=bench_mongo_$1 t0 t1 got
    "${PSQL[@]}" -c "DROP SCHEMA IF EXISTS $SRC_DB CASCADE" \
        -c "SELECT ape_resume.drop_task(name) FROM ape_resume.tasks WHERE name = '$task'" >/dev/null
    rm -rf "${BENCH_DIR:?}/$task"
    mkdir -p "$BENCH_DIR/$task"
    chmod 0777 "$BENCH_DIR/$task"
    t0=$(now)
    "${PSQL[@]}" -c "SELECT ape_resume.start_task('$task', \$cfg\$
[extractor]
db_type=mongo
url=$APE_MONGO_URL
batch_size=$BATCH
[sinker]
batch_size=$BATCH
[filter]
do_tbs=$SRC_DB.$coll
[runtime]
log_dir=$BENCH_DIR/$task
\$cfg\$)" >/dev/null
    state=$("${PSQL[@]}" -c "SELECT ape_resume.wait_task('$task', 3600)")
    t1=$(now)
    if [ "$state" != finished ]; then
        echo "mongo_copy.sh: task $task ended $state: $("${PSQL[@]}" -c "SELECT last_error FROM ape_resume.tasks WHERE name = '$task'")" >&2
        return 1
    fi
    got=$("${PSQL[@]}" -c "SELECT count(*) || ' ' || sum((doc->>'i')::bigint) FROM $SRC_DB.$coll")
    if [ "$got" != "$n $((n * (n - 1) / 2))" ]; then
        echo "mongo_copy.sh: target $SRC_DB.$coll holds count/sum $got, expected $n $((n * (n - 1) / 2))" >&2
        return 1
    fi
    elapsed "$t0" "$t1"
}

# dump COLL N MODE: read with pymongo find({}) into a file, MODE json (one
# relaxed extended JSON line a document, as ape_resume writes them) or bson
# (the raw documents, no decoding: the server and the wire alone); prints seconds
dump() {
    local coll=$1 n=$2 mode=$3
    "$PY" - "$APE_MONGO_URL" "$SRC_DB" "$coll" "$n" "$mode" "$BENCH_DIR/$coll.$mode" "$BATCH" <<'EOF'
import sys, time
import pymongo
from bson import json_util
from bson.raw_bson import RawBSONDocument
url, dbname, coll, n, mode, path, batch = sys.argv[1:8]
raw = mode == "bson"
client = pymongo.MongoClient(url, serverSelectionTimeoutMS=10000,
                             **({"document_class": RawBSONDocument} if raw else {}))
t0 = time.time()
count = 0
total = 0
with open(path, "wb") as f:
    for doc in client[dbname][coll].find({}).batch_size(int(batch)):
        if raw:
            f.write(doc.raw)
        else:
            f.write(json_util.dumps(doc, json_options=json_util.RELAXED_JSON_OPTIONS).encode() + b"\n")
            total += doc["i"]
        count += 1
t1 = time.time()
n = int(n)
if count != n or (not raw and total != n * (n - 1) // 2):
    sys.exit(f"pymongo dump of {coll}: {count} documents, sum {total}")
print("%.2f" % (t1 - t0))
EOF
}

N1=$DOCS
N2=$((2 * DOCS))
log "generating $SRC_DB.d$N1 ($N1 documents) and $SRC_DB.d$N2 ($N2 documents) if needed"
generate "d$N1" "$N1"
generate "d$N2" "$N2"
DOC_BYTES=$("$PY" -c "import pymongo,sys; from bson.raw_bson import RawBSONDocument as R; print(len(pymongo.MongoClient(sys.argv[1], document_class=R)[sys.argv[2]][sys.argv[3]].find_one().raw))" "$APE_MONGO_URL" "$SRC_DB" "d$N1")

# best KEY SECONDS: keep the shortest time of a method
declare -A T
best() {
    if [ -z "${T[$1]:-}" ] || awk -v a="$2" -v b="${T[$1]}" 'BEGIN { exit !(a < b) }'; then
        T[$1]=$2
    fi
}
for run in $(seq "$RUNS"); do
    for n in "$N1" "$N2"; do
        log "run $run: ape_resume, $n documents"
        t=$(ape "d$n" "$n"); best "ape_$n" "$t"; log "  $t s"
        log "run $run: pymongo find({}) -> relaxed JSON file, $n documents"
        t=$(dump "d$n" "$n" json); best "json_$n" "$t"; log "  $t s"
        log "run $run: pymongo find({}) -> raw BSON file, $n documents"
        t=$(dump "d$n" "$n" bson); best "bson_$n" "$t"; log "  $t s"
    done
done

echo
echo "source: FerretDB of the test bed (SQLite backend); documents of $DOC_BYTES bytes of BSON;"
echo "batch_size $BATCH; best of $RUNS runs; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-46s %10s %10s %10s\n' method documents seconds docs/s
for n in "$N1" "$N2"; do
    printf '%-46s %10d %10s %10s\n' "ape_resume task (into jsonb, checkpointed)" "$n" "${T[ape_$n]}" "$(rate "$n" "${T[ape_$n]}")"
    printf '%-46s %10d %10s %10s\n' "pymongo find({}) -> relaxed JSON lines file" "$n" "${T[json_$n]}" "$(rate "$n" "${T[json_$n]}")"
    printf '%-46s %10d %10s %10s\n' "pymongo find({}) -> raw BSON file" "$n" "${T[bson_$n]}" "$(rate "$n" "${T[bson_$n]}")"
done
echo
awk -v a1="${T[ape_$N1]}" -v a2="${T[ape_$N2]}" -v j1="${T[json_$N1]}" -v j2="${T[json_$N2]}" \
    -v b1="${T[bson_$N1]}" -v b2="${T[bson_$N2]}" 'BEGIN {
    printf "ape_resume / pymongo JSON dump: %.2f at %d docs, %.2f at twice as many\n", a1 / j1, '"$N1"', a2 / j2
    printf "ape_resume / pymongo raw BSON dump: %.2f, %.2f\n", a1 / b1, a2 / b2
    printf "cost of 2x documents: ape_resume %.2fx, pymongo JSON %.2fx, pymongo raw %.2fx (2.00 = linear)\n", a2 / a1, j2 / j1, b2 / b1
}'

if [ "$KEEP" != 1 ]; then
    "${PSQL[@]}" -c "DROP SCHEMA IF EXISTS $SRC_DB CASCADE" >/dev/null
    rm -f "$BENCH_DIR"/*.json "$BENCH_DIR"/*.bson
fi
