#!/usr/bin/env bash
# pg-cluster.sh — a throwaway PostgreSQL 15 cluster for the tests.
#
#   eval "$(scripts/lib/pg-cluster.sh start)"   # prints export lines (see below)
#   scripts/lib/pg-cluster.sh stop "$PM_PG_DIR"  # stops it and removes its directory
#
# start: initdb in a fresh temp dir, listen on 127.0.0.1 only, on a free port, unix
# socket inside the temp dir; create role and database `portal` (password auth over
# TCP). Uses Debian's binaries in /usr/lib/postgresql/15/bin (never whatever pg_ctl is
# on PATH). As root, the cluster runs as user `postgres` (runuser); otherwise as the
# current user. Prints, for eval:
#   PM_PG_DIR PM_PG_PORT PM_DB_DRIVER=pgsql PM_DB_PARAMS="host=127.0.0.1 port=N dbname=portal user=portal password=..."
# The system cluster that Debian's postgresql package creates is neither used nor touched.
# The tests' cluster does not flush (fsync, synchronous_commit and full_page_writes off);
# PM_PG_DURABLE=1 keeps PostgreSQL's durable defaults, as a practice runs it (the
# benchmarks that compare commits use it).
set -euo pipefail

PGBIN=${PM_PGBIN:-/usr/lib/postgresql/15/bin}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

as_owner() {
    if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
    [[ -x $PGBIN/initdb ]] || { echo "pg-cluster: $PGBIN/initdb not found (apt-get install postgresql)" >&2; exit 1; }
    local dir port password
    dir=$(mktemp -d "${PM_TMP:-/tmp}/pm-pg.XXXXXX")
    chmod 755 "$dir"
    if ((EUID == 0)); then chown postgres: "$dir"; fi
    port=$("$here/free-port.sh")
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' )

    if ! as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1
    fi
    local durability='fsync = off
synchronous_commit = off
full_page_writes = off'
    if [[ ${PM_PG_DURABLE:-0} == 1 ]]; then
        durability='# durable: fsync, synchronous_commit and full_page_writes at their defaults (on)'
    fi
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
unix_socket_permissions = 0700
$durability
max_connections = 200
shared_buffers = 64MB
log_min_messages = warning
log_min_error_statement = error
CONF
    if ! as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
        cat "$dir/server.log" >&2; rm -rf "$dir"; exit 1
    fi
    as_owner "$PGBIN/psql" -h "$dir" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE portal LOGIN PASSWORD '$password'" \
        -c "CREATE DATABASE portal OWNER portal ENCODING 'UTF8' TEMPLATE template0" >/dev/null
    echo "$port" >"$dir/port"
    printf 'export PM_PG_DIR=%q PM_PG_PORT=%q PM_DB_DRIVER=pgsql PM_DB_PARAMS=%q\n' \
        "$dir" "$port" "host=127.0.0.1 port=$port dbname=portal user=portal password=$password"
}

stop() {
    local dir=${1:-${PM_PG_DIR:-}}
    [[ -n $dir && -d $dir ]] || return 0
    [[ $(basename "$dir") == pm-pg.* ]] || { echo "pg-cluster: refusing to remove $dir" >&2; exit 1; }
    if [[ -f $dir/data/postmaster.pid ]]; then
        as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) shift; stop "$@" ;;
    *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
