#!/bin/bash
# t/mta/run.sh — mail through a real MTA (t/mta/run.pl: a private loopback Postfix with
# STARTTLS and a throwaway CA, PortalMailTLS required and PortalMailCAFile, SpamAssassin's
# score and Python's email parser on the delivered messages); prints TAP.
# Installs what it needs when missing (postfix, spamassassin, openssl): Postfix with the
# debconf answer "No configuration", so no system-wide instance is set up or started;
# the test's own instance has its config and queue under a temp dir, and stops at the end.
# Needs root and a built module (make).
#   bash t/mta/run.sh        (PM_MTA_KEEP=1 keeps the temp dir)
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)

need=()
for p in postfix spamassassin openssl; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || need+=("$p")
done
if ((${#need[@]})); then
    echo "# installing ${need[*]}"
    if [ "$(id -u)" != 0 ]; then echo "Bail out! missing ${need[*]} (run as root)"; exit 1; fi
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"; } \
         >/tmp/pm-mta-apt.$$.log 2>&1; then
        sed 's/^/# /' /tmp/pm-mta-apt.$$.log | tail -n 30
        rm -f /tmp/pm-mta-apt.$$.log
        echo "Bail out! apt-get install ${need[*]} failed"
        exit 1
    fi
    rm -f /tmp/pm-mta-apt.$$.log
fi
if [ ! -f "$top/.libs/mod_portal_manager.so" ]; then
    echo "Bail out! build the module first (make)"
    exit 1
fi
exec perl "$top/t/mta/run.pl"
