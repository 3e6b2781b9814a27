#!/usr/bin/env bash
# The whole test suite: build and install the extension, start the test bed,
# run the pg_regress tests and the integration tests against real servers,
# and print one summary line "N passed, N failed".
#
#   bash test/run_tests.sh            (as root; installs what it needs)
#   KEEP_TESTBED=1 bash test/run_tests.sh   leaves the servers running
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

bash test/install_deps.sh
make -s clean >/dev/null
make -s
make -s install >/dev/null

bash test/testbed.sh start
if [ -z "${KEEP_TESTBED:-}" ]; then
  trap 'bash "$repo/test/testbed.sh" stop >/dev/null 2>&1 || true' EXIT
fi
# shellcheck disable=SC1091
source "$(bash test/testbed.sh path)/env.sh"

passed=0
failed=0

# 1. pg_regress: everything that needs no source server
export APE_REGRESS_DIR="$APE_SHARED_DIR/regress"
rm -rf "$APE_REGRESS_DIR"
mkdir -p "$APE_REGRESS_DIR"
# ape-dts's own resume tests live outside the repository (CI has them)
export APE_PEER_CASES=${APE_PEER_CASES:-$(dirname "$repo")/shared/peer-cases/ape-dts}
extra_regress=""
if [ -f "$APE_PEER_CASES/EXPECTED.md" ]; then
  cp -r "$APE_PEER_CASES" "$APE_REGRESS_DIR/peer-cases"
  extra_regress=peer_files
else
  mkdir -p "$APE_REGRESS_DIR/peer-cases"
  echo "ape-dts peer cases not found at $APE_PEER_CASES: their tests do not run (put them there, or set APE_PEER_CASES)"
fi
chown -R postgres "$APE_REGRESS_DIR"
regress_log=$(mktemp)
if make -s installcheck EXTRA_REGRESS="$extra_regress" >"$regress_log" 2>&1; then :; fi
cat "$regress_log"
if grep -qE "All [0-9]+ tests passed" "$regress_log"; then
  n=$(grep -oE "All [0-9]+ tests passed" "$regress_log" | grep -oE "[0-9]+")
  passed=$((passed + n))
else
  total=$(grep -cE "^(not )?ok [0-9]+|^test .* \.\.\. " "$regress_log" || true)
  bad=$(grep -oE "[0-9]+ of [0-9]+ tests failed" "$regress_log" | head -1 | grep -oE "^[0-9]+" || echo 1)
  [ "$total" -ge "$bad" ] || total=$bad
  passed=$((passed + total - bad))
  failed=$((failed + bad))
  [ -f regression.diffs ] && head -200 regression.diffs
fi
rm -f "$regress_log"

# 2. integration tests against the real source servers
if [ -z "${APE_CITUS_PORT:-}" ]; then
  echo "Citus is not in the test bed (no archive at ${APE_CITUS_ARCHIVE:-$(dirname "$repo")/shared/vendor/citus-12.1.6.tar.gz} when test/install_deps.sh ran): its tests do not run"
fi
pytest_log=$(mktemp)
set +e
"$APE_PYTHON" -m pytest -q -p no:cacheprovider test/integration 2>&1 | tee "$pytest_log"
set -e
p=$(grep -oE "[0-9]+ passed" "$pytest_log" | tail -1 | grep -oE "[0-9]+" || echo 0)
f=$(grep -oE "[0-9]+ (failed|errors?)" "$pytest_log" | awk '{s += $1} END {print s + 0}' || true)
if [ "$p" = 0 ] && [ "$f" = 0 ]; then
  echo "integration tests did not run" >&2
  f=1
fi
passed=$((passed + p))
failed=$((failed + f))
rm -f "$pytest_log"

if [ -z "${KEEP_TESTBED:-}" ]; then
  bash test/testbed.sh stop >/dev/null 2>&1 || true
  trap - EXIT
fi
echo
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
