#!/usr/bin/env bash
# install-deps.sh — install the Debian 12 packages the build and the test suites need.
#
# Installs only what is missing (checked with dpkg-query); runs `apt-get update`
# only when something is missing. Quiet and non-interactive. Needs root to install;
# as another user it only reports what is missing and fails if anything is.
#
# Usage: scripts/lib/install-deps.sh [--browser]
#   --browser (or PM_WITH_BROWSER=1): also install Chromium for the browser tests.
set -euo pipefail

packages=(
    # build
    build-essential autoconf automake libtool pkg-config
    apache2 apache2-dev libjansson-dev libcurl4-openssl-dev libssl-dev libicu-dev
    libsqlite3-dev   # the module (SQLite page memory); make check: t/unit/test_sql_columns
    # databases: mod_dbd drivers, servers and clients
    libaprutil1-dbd-sqlite3 libaprutil1-dbd-pgsql sqlite3 postgresql
    # Apache::Test (shipped in libapache2-mod-perl2) and the perl the tests use
    libapache2-mod-perl2 libwww-perl libdbi-perl libdbd-sqlite3-perl libdbd-pg-perl
    # mail catcher, htpasswd, load generator
    python3-aiosmtpd apache2-utils wrk
    # the slow-clients test: mod_qos's per-address connection cap (t/slow_clients.t)
    libapache2-mod-qos
    # the Debian package test (t/package/run.sh): dpkg-buildpackage, dh, lintian
    dpkg-dev debhelper fakeroot lintian
    # fuzzing (scripts/fuzz): clang with libFuzzer, ASan and UBSan runtimes
    clang-14 libclang-rt-14-dev
)

if [[ "${1:-}" == "--browser" || "${PM_WITH_BROWSER:-0}" == 1 ]]; then
    # hook for the browser tests (Playwright drives Debian's chromium). A node that is
    # already on PATH (e.g. NodeSource's nodejs, which bundles npm and conflicts with
    # Debian's npm package) is used as it is.
    packages+=(chromium)
    command -v node >/dev/null 2>&1 || packages+=(nodejs)
    command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    [[ "$status" == ii* ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

if ((EUID != 0)); then
    echo "install-deps: missing packages (run as root to install): ${missing[*]}" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Don't let the postgresql package start (or keep) a system cluster we don't use:
# policy-rc.d 101 stops invoke-rc.d from starting services during this install.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
fi
cleanup() { if ((created_policy)); then rm -f "$policy"; fi; }
trap cleanup EXIT

apt_opts=(-q -y -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
log=$(mktemp /tmp/install-deps.XXXXXX.log)
if ! apt-get "${apt_opts[@]}" update >"$log" 2>&1; then
    cat "$log" >&2; echo "install-deps: apt-get update failed" >&2; exit 1
fi
if ! apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    tail -n 60 "$log" >&2; echo "install-deps: apt-get install failed (log: $log)" >&2; exit 1
fi
rm -f "$log"
# Debian 12's libapache2-mod-qos enables itself in the system Apache, and its
# mod_qos.so does not load there without libpcre loaded first ("undefined symbol:
# pcre_free"), which breaks the system's `apachectl configtest`. The tests load
# mod_qos from their own configuration, so take it back out of the system one.
if [[ " ${missing[*]} " == *" libapache2-mod-qos "* && -e /etc/apache2/mods-enabled/qos.load ]]; then
    a2dismod -q -f qos >/dev/null
fi
echo "install-deps: done" >&2
