#!/usr/bin/env bash
# apache-tests.sh — run the Apache::Test suite (t/TEST.PL) against one database driver.
#
#   scripts/lib/apache-tests.sh sqlite3|pgsql [t/TEST.PL options and test files...]
#
# Needs the module built in the tree (.libs/mod_portal_manager.so).
# pgsql: uses $PM_DB_PARAMS when set, otherwise starts a throwaway cluster
#        (scripts/lib/pg-cluster.sh) and removes it afterwards.
# As root: Apache::Test refuses root, and httpd's children could not read a tree under a
#        0700 home anyway, so the suite runs as the unprivileged user $PM_TEST_USER
#        (default pmtest, created if missing) on a copy of the tree in a temp dir; the
#        copy's t/logs are kept in t/logs/apache-test-DRIVER/ and the copy is removed.
# As another user: runs in place.
# Totals go to $PM_TAP_SUMMARY (passed=/failed=/skipped= lines) when set.
set -euo pipefail

driver=${1:-sqlite3}
shift || true
case $driver in sqlite3|pgsql) ;; *) echo "usage: $0 sqlite3|pgsql [TEST.PL args]" >&2; exit 2 ;; esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
perl=/usr/bin/perl
test_user=${PM_TEST_USER:-pmtest}
summary_out=${PM_TAP_SUMMARY:-}

pg_dir=""
copy=""
cleanup() {
    local rc=$?
    if [[ -n $copy && -d $copy ]]; then
        # anything the run left behind (killed by pid, never by name)
        for pidfile in "$copy/t/logs/httpd.pid" "$copy/t/logs/pm/smtp.pid"; do
            if [[ -f $pidfile ]]; then
                pid=$(cat "$pidfile" 2>/dev/null || true)
                if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
                    kill "$pid" 2>/dev/null || true
                    sleep 1
                    kill -9 "$pid" 2>/dev/null || true
                fi
            fi
        done
        rm -rf "$copy"
    fi
    if [[ -n $pg_dir ]]; then
        "$here/pg-cluster.sh" stop "$pg_dir" || true
    fi
    return $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ! -f $top/.libs/mod_portal_manager.so && -z ${PM_MODULE:-} ]]; then
    echo "apache-tests: warning: $top/.libs/mod_portal_manager.so is missing (build first)" >&2
fi

if [[ $driver == pgsql && -z ${PM_DB_PARAMS:-} ]]; then
    eval "$("$here/pg-cluster.sh" start)"
    pg_dir=$PM_PG_DIR
fi

# one clock for httpd and the tests (the emails name the server's zone when the
# practice sets none; t/delivery.t writes the same words)
env_vars=(PM_DB_DRIVER="$driver" TZ=UTC)
if [[ $driver == pgsql ]]; then env_vars+=(PM_DB_PARAMS="$PM_DB_PARAMS"); fi
for v in PM_MODULE PM_HTTPD PM_APXS APACHE_TEST_PORT APACHE_TEST_TRACE_LEVEL PM_FAULT_CASES; do
    if [[ -n ${!v:-} ]]; then env_vars+=("$v=${!v}"); fi
done
if [[ -n ${PM_SQLITE_INIT_SQL+set} ]]; then env_vars+=("PM_SQLITE_INIT_SQL=$PM_SQLITE_INIT_SQL"); fi

if ((EUID == 0)); then
    if ! id -u "$test_user" >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$test_user"
    fi
    copy=$(mktemp -d "${PM_TMP:-/tmp}/pm-apache-test.XXXXXX")
    chmod 755 "$copy"
    tar -C "$top" --exclude=./.git --exclude=./t/logs --exclude=./node_modules --exclude=./t/fuzz/build \
        --exclude='./t/conf/*.conf' --exclude=./t/conf/apache_test_config.pm -cf - . \
        | tar -C "$copy" -xf -
    chown -R "$test_user:" "$copy"
    rc=0
    (cd "$copy" && runuser -u "$test_user" -- env -i \
        PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME="$copy" LANG=C.UTF-8 \
        TMPDIR="$copy/tmp-run" PM_TAP_SUMMARY="$copy/summary.txt" "${env_vars[@]}" \
        sh -c 'mkdir -p "$TMPDIR" && exec "$@"' sh "$perl" t/TEST.PL "$@") || rc=$?
    mkdir -p "$top/t/logs"
    rm -rf "$top/t/logs/apache-test-$driver"
    if [[ -d $copy/t/logs ]]; then cp -a "$copy/t/logs" "$top/t/logs/apache-test-$driver"; fi
    if [[ -n $summary_out ]]; then
        if [[ -f $copy/summary.txt ]]; then cp "$copy/summary.txt" "$summary_out"; else rm -f "$summary_out"; fi
    fi
    exit $rc
else
    cd "$top"
    env "${env_vars[@]}" ${summary_out:+PM_TAP_SUMMARY="$summary_out"} "$perl" t/TEST.PL "$@"
fi
