#!/usr/bin/env bash
# testbed.sh: run the test bed's servers (as root; see install_deps.sh).
#
#   bash test/testbed.sh start|stop|restart|status [SERVER] [MODE]
#   bash test/testbed.sh env          # prints export lines, also in $TESTBED/env.sh
#   bash test/testbed.sh path         # prints $TESTBED
#
# SERVER is one of the servers below (default: all). MODE is pg_ctl's stop
# mode for local and pgsrc: fast (default), immediate or smart.
# status exits 3 when one of the servers asked about is down.
#
#   local    127.0.0.1:55432  target PostgreSQL 15, user postgres, trust auth;
#            preloads ape_resume when it is installed; test/local_pg.conf is
#            added to its configuration at each start
#   pgsrc    127.0.0.1:55433  source PostgreSQL 15, ape_src/pgsrc_secret_pw
#            (scram over TCP, trust on the socket), database ape_src
#   mariadb  127.0.0.1:53306  source MariaDB, ape/mysql_secret_pw (all
#            privileges), ape_ro/mysql_ro_pw (SELECT only)
#   mongo    127.0.0.1:57017  source FerretDB, no auth
#   nopreload 127.0.0.1:55434 target PostgreSQL 15 like local, but never
#            preloads ape_resume: the extension loaded on demand
#   citus_w1, citus_w2  127.0.0.1:55441, 55442  Citus worker nodes (only when
#            Citus is installed, see install_deps.sh), preloading citus
#   citus    127.0.0.1:55440  a Citus coordinator preloading citus and
#            ape_resume, the two workers added as its nodes (database postgres)
#
# Data, logs and pid files are in $TESTBED/<server>/, unix sockets in
# $TESTBED/run, files the local server must read or write in $TESTBED/shared.
set -euo pipefail

# shellcheck source=test/lib/testbed_dir.sh
source "$(dirname "$0")/lib/testbed_dir.sh"
cd "$TESTBED" # a cwd the postgres user can enter

PGBIN=/usr/lib/postgresql/15/bin
RUN=$TESTBED/run
SHARED=$TESTBED/shared
TLS=$TESTBED/tls
FERRETDB=$TESTBED/bin/ferretdb-testbed
TIMEOUT=60
if [ -x "$TESTBED/venv/bin/python" ]; then PYTHON=$TESTBED/venv/bin/python; else PYTHON=/usr/bin/python3; fi

declare -A PORT=([local]=55432 [pgsrc]=55433 [mariadb]=53306 [mongo]=57017 [nopreload]=55434
                 [citus_w1]=55441 [citus_w2]=55442 [citus]=55440)
# Citus, when install_deps.sh built it: a coordinator and two worker nodes
HAVE_CITUS=""
[ -f "$($PGBIN/pg_config --pkglibdir)/citus.so" ] && HAVE_CITUS=1
MONGO_TLS_PORT=57018  # the Mongo source's TLS listener
MONGO_URL=mongodb://127.0.0.1:${PORT[mongo]}

usage() {
    sed -n '2,10p' "$REPO/test/testbed.sh" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# fail NAME LOG MESSAGE: print MESSAGE and the tail of LOG, then exit.
fail() {
    echo "testbed.sh: $1: $3; last lines of $2:" >&2
    tail -n 30 "$2" >&2 || true
    exit 1
}

# wait_until NAME LOG PID COMMAND...: retry COMMAND until it succeeds, for up
# to $TIMEOUT seconds while process PID lives.
wait_until() {
    local name=$1 log=$2 pid=$3 i
    shift 3
    for ((i = 0; i < TIMEOUT * 2; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || fail "$name" "$log" "server exited"
        sleep 0.5
    done
    fail "$name" "$log" "no answer within ${TIMEOUT}s"
}

# running_pid PIDFILE MATCH: print the pid in PIDFILE if that process runs
# with MATCH in its command line; remove the file if it is stale.
running_pid() {
    local pid
    [ -f "$1" ] || return 1
    pid=$(head -n 1 "$1")
    if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"; then
        echo "$pid"
    else
        rm -f "$1"
        return 1
    fi
}

# stop_pid NAME PIDFILE MATCH: SIGTERM, then SIGKILL after 30 s.
stop_pid() {
    local pid i
    pid=$(running_pid "$2" "$3") || { echo "$1: not running"; return 0; }
    kill -TERM "$pid"
    for ((i = 0; i < 60; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$1: still running after 30 s, sending SIGKILL" >&2
        kill -KILL "$pid"
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "$2"
    echo "$1: stopped"
}

as_pg() { runuser -u postgres -- "$@"; }

pg_running() {
    [ -f "$TESTBED/$1/data/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$TESTBED/$1/data" status >/dev/null &&
        ! stale_pid "$1"
}

# stale_pid NAME: is NAME's postmaster.pid a killed postmaster's, not reaped
# yet (a zombie: kill -0 still finds it, and pg_ctl and the postmaster take
# it for a live server)?
stale_pid() {
    local pidfile=$TESTBED/$1/data/postmaster.pid pid state
    [ -f "$pidfile" ] || return 1
    pid=$(head -n 1 "$pidfile")
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ "$state" = Z ]
}

# pg_settings NAME: the settings testbed.sh gives cluster NAME.
pg_settings() {
    echo "# Written by test/testbed.sh at each start; do not edit."
    echo "port = ${PORT[$1]}"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$RUN'"
    echo "logging_collector = off"
    [ "$1" = nopreload ] && echo "max_worker_processes = 16"
    case $1 in
        citus_w1 | citus_w2)
            echo "shared_preload_libraries = 'citus'"
            echo "max_prepared_transactions = 64"
            return 0
            ;;
        citus)
            # citus first, as it requires
            echo "shared_preload_libraries = 'citus,ape_resume'"
            echo "max_prepared_transactions = 64"
            echo "max_worker_processes = 24"
            return 0
            ;;
    esac
    if [ "$1" = pgsrc ]; then
        echo "ssl = on"
        echo "ssl_cert_file = 'server.pem'"
        echo "ssl_key_file = 'server.key'"
    fi
    [ "$1" = local ] || return 0
    echo "max_worker_processes = 16"
    if [ -f "$($PGBIN/pg_config --pkglibdir)/ape_resume.so" ]; then
        echo "shared_preload_libraries = 'ape_resume'"
    else
        echo "testbed.sh: warning: ape_resume.so is not installed (make install);" \
            "local starts without shared_preload_libraries" >&2
    fi
    if [ -f "$REPO/test/local_pg.conf" ]; then
        echo "# From test/local_pg.conf:"
        cat "$REPO/test/local_pg.conf"
    fi
}

# make_tls: a throw-away CA and a server certificate for 127.0.0.1 (the IP
# address only: a client that checks the host name fails for "localhost"),
# and a second CA that signed nothing, under $TLS (ca.pem, other-ca.pem
# readable by the workers; server.key copied for each server).
make_tls() {
    [ -f "$TLS/server.pem" ] && return 0
    install -d -m 0755 "$TLS"
    (
        cd "$TLS"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ape_resume test CA" \
            -keyout ca.key -out ca.pem
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ape_resume other CA" \
            -keyout other-ca.key -out other-ca.pem
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr
        printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
            -extfile server.ext -out server.pem
    ) >"$TESTBED/tls.log" 2>&1 || fail tls "$TESTBED/tls.log" "openssl failed"
    chmod 0644 "$TLS"/*.pem
    chmod 0600 "$TLS"/*.key
}

start_pg() {
    local name=$1 dir=$TESTBED/$1 auth
    if pg_running "$name"; then echo "$name: already running"; return 0; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        if [ "$name" != pgsrc ]; then auth=(--auth=trust); else auth=(--auth-local=trust --auth-host=scram-sha-256); fi
        install -d -o postgres -g postgres -m 0755 "$dir"
        as_pg "$PGBIN/initdb" -D "$dir/data" --encoding=UTF8 --locale=C.UTF-8 -U postgres "${auth[@]}" \
            >"$dir/initdb.log" 2>&1 || fail "$name" "$dir/initdb.log" "initdb failed"
        echo "include 'testbed.conf'" >>"$dir/data/postgresql.conf"
    fi
    if [ "$name" = pgsrc ]; then
        make_tls
        install -o postgres -g postgres -m 0600 "$TLS/server.key" "$dir/data/server.key"
        install -o postgres -g postgres -m 0644 "$TLS/server.pem" "$dir/data/server.pem"
    fi
    pg_settings "$name" >"$dir/data/testbed.conf"
    chown postgres:postgres "$dir/data/testbed.conf"
    # a SIGKILLed postmaster: its lock files go; its children still
    # attached to the old shared memory exit within a moment (start retries)
    if stale_pid "$name"; then
        rm -f "$dir/data/postmaster.pid" "$RUN/.s.PGSQL.${PORT[$name]}.lock"
    fi
    local try
    for try in 1 2 3 4 5 6 7 8 9 10; do
        as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -c -w -t "$TIMEOUT" start >/dev/null && break
        [ "$try" -lt 10 ] && tail -n 5 "$dir/server.log" | grep -q "is still in use" \
            || fail "$name" "$dir/server.log" "pg_ctl start failed"
        sleep 1
    done
    wait_until "$name" "$dir/server.log" "$(head -n 1 "$dir/data/postmaster.pid")" \
        "$PGBIN/pg_isready" -h "$RUN" -p "${PORT[$name]}" -U postgres -d postgres
    if [ "$name" = pgsrc ]; then
        "$PGBIN/psql" -h "$RUN" -p "${PORT[pgsrc]}" -U postgres -d postgres -q -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'CREATE ROLE ape_src' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ape_src') \gexec
ALTER ROLE ape_src LOGIN SUPERUSER PASSWORD 'pgsrc_secret_pw';
SELECT 'CREATE DATABASE ape_src OWNER ape_src' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ape_src') \gexec
SQL
    fi
    case $name in
        citus_w1 | citus_w2) "$PGBIN/psql" -h "$RUN" -p "${PORT[$name]}" -U postgres -d postgres -q \
            -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS citus" >/dev/null ;;
        citus) citus_cluster ;;
    esac
    echo "$name: started on port ${PORT[$name]}"
}

# The coordinator's metadata: itself and the two worker nodes.
citus_cluster() {
    "$PGBIN/psql" -h "$RUN" -p "${PORT[citus]}" -U postgres -d postgres -q -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE EXTENSION IF NOT EXISTS citus;
SELECT pg_catalog.citus_set_coordinator_host('127.0.0.1', ${PORT[citus]});
SELECT pg_catalog.citus_add_node('127.0.0.1', p) FROM unnest(ARRAY[${PORT[citus_w1]}, ${PORT[citus_w2]}]) p
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_dist_node n WHERE n.nodeport = p);
SQL
}

stop_pg() {
    if ! pg_running "$1"; then echo "$1: not running"; return 0; fi
    as_pg "$PGBIN/pg_ctl" -D "$TESTBED/$1/data" -m "$2" -w -t "$TIMEOUT" stop >/dev/null
    echo "$1: stopped ($2)"
}

start_mariadb() {
    local dir=$TESTBED/mariadb
    if running_pid "$dir/pid" "$dir/data" >/dev/null; then echo "mariadb: already running"; return 0; fi
    if [ ! -d "$dir/data/mysql" ]; then
        install -d -o mysql -g mysql -m 0755 "$dir"
        mariadb-install-db --no-defaults --user=mysql --datadir="$dir/data" \
            --auth-root-authentication-method=socket >"$dir/install.log" 2>&1 \
            || fail mariadb "$dir/install.log" "mariadb-install-db failed"
    fi
    make_tls
    install -o mysql -g mysql -m 0600 "$TLS/server.key" "$dir/server.key"
    install -o mysql -g mysql -m 0644 "$TLS/server.pem" "$dir/server.pem"
    nohup setsid mariadbd --no-defaults --user=mysql --datadir="$dir/data" \
        --port="${PORT[mariadb]}" --bind-address=127.0.0.1 --socket="$RUN/mysql.sock" \
        --ssl-cert="$dir/server.pem" --ssl-key="$dir/server.key" --ssl-ca="$TLS/ca.pem" \
        --pid-file="$dir/pid" --log-error="$dir/server.log" --skip-name-resolve \
        --innodb-buffer-pool-size=256M --max-allowed-packet=64M \
        --character-set-server=utf8mb4 </dev/null >/dev/null 2>&1 &
    wait_until mariadb "$dir/server.log" $! mariadb-admin --no-defaults --socket="$RUN/mysql.sock" -uroot ping
    mariadb --no-defaults --socket="$RUN/mysql.sock" -uroot <<'SQL'
CREATE USER IF NOT EXISTS 'ape'@'127.0.0.1' IDENTIFIED BY 'mysql_secret_pw';
CREATE USER IF NOT EXISTS 'ape'@'localhost' IDENTIFIED BY 'mysql_secret_pw';
CREATE USER IF NOT EXISTS 'ape_ro'@'127.0.0.1' IDENTIFIED BY 'mysql_ro_pw';
GRANT ALL PRIVILEGES ON *.* TO 'ape'@'127.0.0.1', 'ape'@'localhost';
GRANT SELECT ON *.* TO 'ape_ro'@'127.0.0.1';
SQL
    echo "mariadb: started on port ${PORT[mariadb]}"
}

start_mongo() {
    local dir=$TESTBED/mongo
    if running_pid "$dir/pid" "$dir/data" >/dev/null; then echo "mongo: already running"; return 0; fi
    [ -x "$FERRETDB" ] || { echo "testbed.sh: no $FERRETDB; run test/install_deps.sh" >&2; exit 1; }
    mkdir -p "$dir"
    make_tls
    install -m 0600 "$TLS/server.key" "$dir/server.key"
    install -m 0644 "$TLS/server.pem" "$dir/server.pem"
    nohup setsid "$FERRETDB" -listen "127.0.0.1:${PORT[mongo]}" -data "$dir/data" \
        -listen-tls "127.0.0.1:$MONGO_TLS_PORT" -tls-cert "$dir/server.pem" -tls-key "$dir/server.key" \
        </dev/null >/dev/null 2>>"$dir/server.log" &
    echo $! >"$dir/pid"
    wait_until mongo "$dir/server.log" $! "$PYTHON" -c \
        "import pymongo; pymongo.MongoClient('$MONGO_URL', serverSelectionTimeoutMS=1000).admin.command('ping')"
    echo "mongo: started on port ${PORT[mongo]}"
}

# status_of NAME: print whether NAME is up; false if down.
status_of() {
    local pid=""
    case $1 in
        local | pgsrc | nopreload | citus*) pg_running "$1" && pid=$(head -n 1 "$TESTBED/$1/data/postmaster.pid") ;;
        *) pid=$(running_pid "$TESTBED/$1/pid" "$TESTBED/$1/data") || true ;;
    esac
    if [ -n "$pid" ]; then echo "$1: up (pid $pid, port ${PORT[$1]})"; else echo "$1: down"; return 1; fi
}

env_lines() {
    local name value
    while read -r name value; do
        printf 'export %s=%q\n' "$name" "$value"
    done <<EOF
APE_TESTBED $TESTBED
PGHOST $RUN
PGPORT ${PORT[local]}
PGUSER postgres
PGDATABASE postgres
APE_PGSRC_PORT ${PORT[pgsrc]}
APE_PGSRC_URL postgres://ape_src:pgsrc_secret_pw@127.0.0.1:${PORT[pgsrc]}/ape_src
APE_MYSQL_PORT ${PORT[mariadb]}
APE_MYSQL_SOCKET $RUN/mysql.sock
APE_MYSQL_URL mysql://ape:mysql_secret_pw@127.0.0.1:${PORT[mariadb]}
APE_MONGO_PORT ${PORT[mongo]}
APE_MONGO_URL $MONGO_URL
APE_PYTHON $PYTHON
APE_SHARED_DIR $SHARED
APE_NOPRELOAD_PORT ${PORT[nopreload]}
APE_CITUS_PORT ${HAVE_CITUS:+${PORT[citus]}}
APE_TLS_DIR $TLS
APE_MONGO_TLS_PORT $MONGO_TLS_PORT
EOF
}

write_env() { env_lines >"$TESTBED/env.sh"; }

start() {
    [ "$(id -u)" = 0 ] || { echo "testbed.sh: must run as root" >&2; exit 1; }
    mkdir -p "$RUN"
    chmod 1777 "$RUN"
    install -d -o postgres -g postgres -m 0777 "$SHARED"
    write_env
    case $1 in
        local | pgsrc | nopreload | citus*) start_pg "$1" ;;
        *) "start_$1" ;;
    esac
}

stop() {
    case $1 in
        local | pgsrc | nopreload | citus*) stop_pg "$1" "$MODE" ;;
        *) stop_pid "$1" "$TESTBED/$1/pid" "$TESTBED/$1/data" ;;
    esac
}

CMD=${1:-}
SERVERS=(local pgsrc mariadb mongo nopreload)
# the worker nodes before their coordinator, which adds them
[ -z "$HAVE_CITUS" ] || SERVERS+=(citus_w1 citus_w2 citus)
case ${2:-all} in
    all) ;;
    local | pgsrc | mariadb | mongo | nopreload) SERVERS=("$2") ;;
    citus_w1 | citus_w2 | citus) [ -n "$HAVE_CITUS" ] || { echo "testbed.sh: Citus is not installed" >&2; exit 1; }
        SERVERS=("$2") ;;
    *) usage ;;
esac
MODE=${3:-fast}
case $MODE in fast | immediate | smart) ;; *) usage ;; esac

case $CMD in
    start) for s in "${SERVERS[@]}"; do start "$s"; done ;;
    stop) for s in "${SERVERS[@]}"; do stop "$s"; done ;;
    restart) for s in "${SERVERS[@]}"; do stop "$s"; start "$s"; done ;;
    status)
        rc=0
        for s in "${SERVERS[@]}"; do status_of "$s" || rc=3; done
        exit "$rc"
        ;;
    env)
        write_env
        env_lines
        ;;
    path) echo "$TESTBED" ;;
    *) usage ;;
esac
