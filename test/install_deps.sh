#!/usr/bin/env bash
# install_deps.sh: install what the ape_resume build and test bed need.
#
#   sudo bash test/install_deps.sh
#
# Idempotent. As root:
#   1. apt-installs the missing Debian packages (apt-get update only if one is
#      missing) without letting Debian start its own PostgreSQL or MariaDB;
#   2. builds the FerretDB test server into $TESTBED/bin/ferretdb-testbed
#      (needs Go >= 1.24, looked up in PATH then /usr/local/go/bin);
#   3. checks that Debian's python3-pymongo works against that server, and
#      otherwise makes a venv $TESTBED/venv with pymongo, pymysql,
#      psycopg2-binary and pytest from PyPI (testbed.sh then uses its python);
#   4. when the Citus source archive is there ($APE_CITUS_ARCHIVE, default
#      ../shared/vendor/citus-12.1.6.tar.gz beside the repository), builds
#      and installs Citus into PostgreSQL 15 (testbed.sh then runs a Citus
#      cluster); without it, the Citus tests say why they do not run.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "install_deps.sh: must run as root" >&2; exit 1; }

PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-contrib
          mariadb-server mariadb-client default-libmysqlclient-dev
          libmongoc-dev libbson-dev libjson-c-dev pkg-config gcc make
          python3 python3-pytest python3-psycopg2 python3-pymysql
          python3-pymongo openssl)

# Prints one line per Debian-managed database server that is running.
distro_servers() {
    if command -v pg_lsclusters >/dev/null; then
        pg_lsclusters -h | awk '$4 == "online" { print "pg", $1, $2 }'
    fi
    if [ -f /run/mysqld/mysqld.pid ] && kill -0 "$(cat /run/mysqld/mysqld.pid)" 2>/dev/null; then
        echo mariadb
    fi
}

# Installs the given packages that are not installed yet.
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    echo "install_deps.sh: installing ${missing[*]}"

    # policy-rc.d exit 101 keeps package scripts from starting services.
    local own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    local before after
    before=$(distro_servers)
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
    [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d

    # Stop, with the distro's tools, what the install started anyway.
    after=$(distro_servers)
    comm -13 <(sort <<<"$before") <(sort <<<"$after") | while read -r kind ver name; do
        [ -n "$kind" ] || continue
        echo "install_deps.sh: stopping Debian's $kind server started by the install"
        if [ "$kind" = pg ]; then pg_ctlcluster "$ver" "$name" stop; else service mariadb stop; fi
    done
}

# True if python $1 can ping, insert into and read back from a scratch
# FerretDB started (and stopped) here.
pymongo_works() {
    local py=$1 dir pid ok=""
    dir=$(mktemp -d)
    "$FERRETDB" -listen 127.0.0.1:57099 -data "$dir/data" 2>"$dir/log" &
    pid=$!
    "$py" - <<'EOF' && ok=1
import bson, pymongo
c = pymongo.MongoClient("mongodb://127.0.0.1:57099", serverSelectionTimeoutMS=20000)
c.admin.command("ping")
oid = bson.ObjectId()
c.check.coll.insert_one({"_id": oid, "x": 1})
assert c.check.coll.find_one({"_id": oid})["x"] == 1
print("pymongo", pymongo.version, "works with FerretDB")
EOF
    kill "$pid"
    wait "$pid" || true
    rm -rf "$dir"
    [ -n "$ok" ]
}

apt_install "${PACKAGES[@]}"

# shellcheck source=test/lib/testbed_dir.sh
source "$(dirname "$0")/lib/testbed_dir.sh"

# FerretDB test server.
GO=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$GO" ] || { echo "install_deps.sh: Go (>= 1.24) not found" >&2; exit 1; }
FERRETDB=$TESTBED/bin/ferretdb-testbed
SRC=$REPO/test/ferretdb
if [ ! -x "$FERRETDB" ] || [ "$SRC/main.go" -nt "$FERRETDB" ] || [ "$SRC/go.mod" -nt "$FERRETDB" ] \
        || [ "$SRC/go.sum" -nt "$FERRETDB" ]; then
    echo "install_deps.sh: building $FERRETDB"
    (cd "$SRC" && "$GO" build -o "$FERRETDB" .)
fi

# Python for the tests: Debian's if its pymongo works, else a venv.
if [ -x "$TESTBED/venv/bin/python" ]; then
    PYTHON=$TESTBED/venv/bin/python
elif pymongo_works /usr/bin/python3; then
    PYTHON=/usr/bin/python3
else
    echo "install_deps.sh: Debian's pymongo does not work with FerretDB; making $TESTBED/venv"
    apt_install python3-venv
    /usr/bin/python3 -m venv "$TESTBED/venv"
    "$TESTBED/venv/bin/pip" install --quiet pymongo pymysql psycopg2-binary pytest
    PYTHON=$TESTBED/venv/bin/python
    pymongo_works "$PYTHON" || { echo "install_deps.sh: pymongo from PyPI fails too" >&2; exit 1; }
fi
# Citus, from its source archive, when it is there.
CITUS_ARCHIVE=${APE_CITUS_ARCHIVE:-$(dirname "$REPO")/shared/vendor/citus-12.1.6.tar.gz}
PGLIB=$(/usr/lib/postgresql/15/bin/pg_config --pkglibdir)
CITUS_STAMP=$TESTBED/citus-build/installed
if [ -f "$CITUS_ARCHIVE" ]; then
    if [ ! -f "$PGLIB/citus.so" ] || [ ! -f "$CITUS_STAMP" ] || \
            [ "$(cat "$CITUS_STAMP")" != "$(sha256sum <"$CITUS_ARCHIVE")" ]; then
        echo "install_deps.sh: building Citus from $CITUS_ARCHIVE"
        apt_install liblz4-dev libzstd-dev libkrb5-dev
        rm -rf "$TESTBED/citus-build"
        mkdir -p "$TESTBED/citus-build/src"
        tar -xzf "$CITUS_ARCHIVE" -C "$TESTBED/citus-build/src"
        # the sources at the archive's top, or in its one folder
        CITUS_SRC=$TESTBED/citus-build/src
        [ -f "$CITUS_SRC/configure" ] || CITUS_SRC=$(dirname "$(ls -d "$CITUS_SRC"/*/configure | head -1)")
        (
            cd "$CITUS_SRC"
            ./configure --without-libcurl PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
            make -s -j"$(nproc)"
            make -s install
        ) >"$TESTBED/citus-build/build.log" 2>&1 || {
            echo "install_deps.sh: building Citus failed; last lines of $TESTBED/citus-build/build.log:" >&2
            tail -n 30 "$TESTBED/citus-build/build.log" >&2
            exit 1
        }
        sha256sum <"$CITUS_ARCHIVE" >"$CITUS_STAMP"
    fi
else
    echo "install_deps.sh: no Citus archive at $CITUS_ARCHIVE: the Citus test cluster is not built"
fi
echo "install_deps.sh: done; tests use $PYTHON (test bed in $TESTBED)"
