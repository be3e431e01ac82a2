#!/usr/bin/env bash
# t/browser/run.sh — the browser tests against a real httpd + mod_portal_manager.
#
# Installs what is missing (chromium, nodejs, npm; `npm ci` when node_modules is absent
# or older than package-lock.json), builds the module if needed, then starts on free
# loopback ports:
#   - an SMTP catcher (aiosmtpd's Mailbox handler writing a maildir),
#   - httpd with the one config (conf/httpd-portal.conf.in, as scripts/demo runs it) over
#     a fresh SQLite database (portal-manager-admin init + demo-data), Basic-auth staff
#     users (admin in portal-admins), plus a page at /portal/account (the client portal,
#     whose login mod_authn_dbd checks against portal_accounts),
# and runs every test in t/browser/ (the stand-in tests and, with PM_BASE_URL set, the
# end-to-end ones) with node's test runner, TAP reporter.
#
#   bash t/browser/run.sh [node --test args...]   e.g. t/browser/e2e.test.js
#
# Environment:
#   PM_TAP_SUMMARY=FILE     write passed=N / failed=N / skipped=N there (scripts/check)
#   PM_BROWSER_KEEP=1       keep the temporary directory (logs, database, mail)
#   PM_BROWSER_ALLOW_SKIP=1 don't count skipped tests as a failure
#   PM_SKIP_DEPS=1          don't run scripts/lib/install-deps.sh
#
# Output: TAP in t/logs/browser/tap.log, httpd logs copied to t/logs/browser/,
# screenshots in t/browser/screenshots/. Exit status 0 only when nothing failed and
# nothing was skipped.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
started=$SECONDS
logs=$top/t/logs/browser
mkdir -p "$logs"

HTTPD=/usr/sbin/apache2
STAFF_USER=clinician1 STAFF_PASS=browser-clinician1-pass
ADMIN_USER=admin ADMIN_PASS=browser-admin-pass
OTHER_USER=clinician2 OTHER_PASS=browser-clinician2-pass

say() { echo "browser: $*"; }
die() { echo "browser: $*" >&2; exit 1; }

summary() {   # summary PASSED FAILED SKIPPED
    [[ -n ${PM_TAP_SUMMARY:-} ]] || return 0
    printf 'passed=%s\nfailed=%s\nskipped=%s\n' "$1" "$2" "$3" >"$PM_TAP_SUMMARY"
}

# ---- processes we start, stopped by the trap ---------------------------------------------
WORK="" HTTPD_PID="" SMTP_PID="" RUN_OK=0
# shellcheck disable=SC2317  # (called from the trap)
stop_all() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $HTTPD_PID ]] && kill -0 "$HTTPD_PID" 2>/dev/null; then
        kill -TERM "$HTTPD_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$HTTPD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$HTTPD_PID" 2>/dev/null || true
    fi
    if [[ -n $SMTP_PID ]] && kill -0 "$SMTP_PID" 2>/dev/null; then
        kill -TERM "$SMTP_PID" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    if [[ -n $WORK && -d $WORK ]]; then
        cp "$WORK"/logs/*.log "$WORK/httpd.conf" "$logs/" 2>/dev/null || true
        if [[ ${PM_BROWSER_KEEP:-0} == 1 ]]; then
            say "kept $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    # died before counting: scripts/check counts a missing summary as one failure
    if ((RUN_OK == 0)) && [[ -n ${PM_TAP_SUMMARY:-} && ! -s $PM_TAP_SUMMARY ]]; then
        summary 0 1 0
    fi
    exit "$rc"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# ---- 1. dependencies -----------------------------------------------------------------------
if [[ ${PM_SKIP_DEPS:-0} != 1 ]]; then
    bash scripts/lib/install-deps.sh --browser
fi
for tool in "$HTTPD" /usr/bin/chromium node npm htpasswd /usr/bin/python3; do
    command -v "$tool" >/dev/null || die "missing $tool (run scripts/lib/install-deps.sh --browser as root)"
done
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    say "npm ci"
    npm ci --no-audit --no-fund >"$logs/npm.log" 2>&1 || { cat "$logs/npm.log" >&2; die "npm ci failed"; }
fi

# ---- 2. build (scripts/check has built already; a standalone run builds if needed) ---------
if [[ ! -f Makefile ]]; then
    say "building"
    { autoreconf -fi && ./configure --with-apxs=/usr/bin/apxs; } >"$logs/build.log" 2>&1 \
        || { tail -n 40 "$logs/build.log" >&2; die "configure failed"; }
fi
make -j"$(nproc)" >>"$logs/build.log" 2>&1 || { tail -n 40 "$logs/build.log" >&2; die "the build failed"; }
[[ -f .libs/mod_portal_manager.so && -x portal-manager-admin ]] || die "no module or admin tool after the build"

# ---- 3. files: a temp dir httpd's children (www-data when root) can read and write ----------
WORK=$(mktemp -d /tmp/pm-browser.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/logs" "$WORK/runtime" "$WORK/db" "$WORK/mail/cur" "$WORK/mail/new" "$WORK/mail/tmp" \
         "$WORK/docroot" "$WORK/account"
cp -R htdocs "$WORK/htdocs"
cp .libs/mod_portal_manager.so "$WORK/mod_portal_manager.so"
echo '<!doctype html><html lang="en"><meta charset="utf-8"><title>Client portal</title><h1>Client portal</h1></html>' \
    >"$WORK/account/index.html"
DB=$WORK/db/portal.db
admin_tool() { ./portal-manager-admin --driver sqlite3 --params "$DB" "$@"; }
admin_tool init --schema-dir conf/schema >/dev/null
admin_tool demo-data >/dev/null

: >"$WORK/htpasswd"
htpasswd -bB "$WORK/htpasswd" "$ADMIN_USER" "$ADMIN_PASS" 2>/dev/null
htpasswd -bB "$WORK/htpasswd" "$STAFF_USER" "$STAFF_PASS" 2>/dev/null
htpasswd -bB "$WORK/htpasswd" "$OTHER_USER" "$OTHER_PASS" 2>/dev/null
echo "portal-admins: $ADMIN_USER" >"$WORK/groups"

CHILD_USER=""
if ((EUID == 0)); then
    CHILD_USER=www-data
    chown -R www-data:www-data "$WORK/db"
    chgrp www-data "$WORK/htpasswd" "$WORK/groups"
    chmod 640 "$WORK/htpasswd" "$WORK/groups"
fi

# ---- 4. ports, mail catcher -------------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for_port() {   # PORT PID
    for _ in $(seq 150); do
        port_open "$1" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
PORT=$(scripts/lib/free-port.sh)
MAIL_PORT=$(scripts/lib/free-port.sh)
[[ $PORT != "$MAIL_PORT" ]] || MAIL_PORT=$(scripts/lib/free-port.sh)
BASE=http://127.0.0.1:$PORT

/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$MAIL_PORT" -c aiosmtpd.handlers.Mailbox "$WORK/mail" \
    >"$WORK/logs/smtp.log" 2>&1 &
SMTP_PID=$!
wait_for_port "$MAIL_PORT" "$SMTP_PID" || { cat "$WORK/logs/smtp.log" >&2; die "the mail catcher did not start"; }

# ---- 5. httpd -----------------------------------------------------------------------------------
# the one configuration (conf/httpd-portal.conf.in), then what only these tests need
scripts/lib/httpd-conf.py --caller t/browser/run.sh --extra - \
    MODULE="$WORK/mod_portal_manager.so" PORT="$PORT" RUNTIME_DIR="$WORK/runtime" \
    ERROR_LOG="$WORK/logs/error.log" ACCESS_LOG="$WORK/logs/access.log" \
    CHILD_USER="$CHILD_USER" DOCROOT="$WORK/docroot" HTDOCS="$WORK/htdocs" \
    DB_DRIVER=sqlite3 DB_PARAMS="$DB" BASE_URL="$BASE" MAIL_SERVER="smtp://127.0.0.1:$MAIL_PORT" \
    AUTH_USER_FILE="$WORK/htpasswd" AUTH_GROUP_FILE="$WORK/groups" \
    >"$WORK/httpd.conf" <<CONF || die "could not render the config"
# mail goes out (and is retried) quickly
PortalOutboxInterval 100
PortalOutboxRetryDelay 1
# every page load is a lookup from 127.0.0.1: the recipient rate limits are tested in
# t/recipient_ratelimit.t, not here
PortalRecipientIPLimit 100000
PortalRecipientTokenLimit 100000

# the client portal's page behind PortalLoginURL (the e2e test lands there after accepting)
Alias /portal/account "$WORK/account"
<Directory "$WORK/account">
    Options None
</Directory>
CONF
"$HTTPD" -t -f "$WORK/httpd.conf" >"$WORK/logs/configtest.log" 2>&1 \
    || { cat "$WORK/logs/configtest.log" >&2; die "httpd rejected the generated config"; }
: >"$WORK/logs/error.log"
"$HTTPD" -f "$WORK/httpd.conf" -DFOREGROUND &
HTTPD_PID=$!
wait_for_port "$PORT" "$HTTPD_PID" || { tail -n 20 "$WORK/logs/error.log" >&2; die "httpd did not start"; }
say "httpd on $BASE (pid $HTTPD_PID), SMTP on 127.0.0.1:$MAIL_PORT, files in $WORK"

# ---- 6. the tests ---------------------------------------------------------------------------------
export PM_BASE_URL=$BASE PM_MAIL_DIR=$WORK/mail
# the live access log, which audit.test.js reads: no search text may reach a URL
export PM_ACCESS_LOG=$WORK/logs/access.log
export PM_STAFF_USER=$STAFF_USER PM_STAFF_PASS=$STAFF_PASS
export PM_ADMIN_USER=$ADMIN_USER PM_ADMIN_PASS=$ADMIN_PASS
export PM_OTHER_USER=$OTHER_USER PM_OTHER_PASS=$OTHER_PASS
tap=$logs/tap.log
rm -f "$tap"
[[ $# -gt 0 ]] || set -- t/browser/
node_rc=0
timeout -k 10 900 node --test --test-concurrency=1 --test-reporter=tap "$@" 2>&1 | tee "$tap" || node_rc=$?

# Count leaf tests from the TAP: an "ok"/"not ok" line whose YAML block says type: 'suite'
# is a describe() and is not counted; "# SKIP" and "# TODO" directives are skips.
read -r passed failed skipped < <(awk '
    function flush() {
        if (pending == "") return
        if (!suite) {
            if (pending ~ /# (SKIP|TODO)/) s++
            else if (pending ~ /^not ok/) f++
            else p++
        }
        pending = ""; suite = 0
    }
    { line = $0; sub(/^[ \t]+/, "", line) }
    line ~ /^(not )?ok [0-9]+/ { flush(); pending = line; next }
    line ~ /^type: .suite./ { suite = 1 }
    END { flush(); printf "%d %d %d\n", p, f, s }
' "$tap")
if ((node_rc != 0 && failed == 0)); then
    failed=1
    say "node --test exited with $node_rc without a failed test; counted as 1 failure"
fi
if ((skipped > 0)) && [[ ${PM_BROWSER_ALLOW_SKIP:-0} != 1 ]]; then
    say "$skipped test(s) skipped: every browser test must run here (PM_BROWSER_ALLOW_SKIP=1 to allow)"
fi
summary "$passed" "$failed" "$skipped"
RUN_OK=1
say "$passed passed, $failed failed, $skipped skipped in $((SECONDS - started)) s"
if ((failed > 0)); then
    say "httpd error log (last lines):"
    tail -n 30 "$WORK/logs/error.log" || true
    exit 1
fi
if ((skipped > 0)) && [[ ${PM_BROWSER_ALLOW_SKIP:-0} != 1 ]]; then
    exit 1
fi
exit 0
