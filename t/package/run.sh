#!/bin/bash
# t/package/run.sh — the Debian package as an IT admin meets it; prints TAP. Builds
# libapache2-mod-portal-manager with `dpkg-buildpackage -us -uc -b` in a copy of the tree,
# runs lintian (no errors), installs it with `dpkg -i` into this machine's Apache, enables
# it with `a2enmod portal_manager`, checks that configtest refuses the unedited sample
# with one line per EDIT value, fills them in, creates the database and a staff login
# with portal-manager-admin, starts apache2 on a free loopback port, asks GET
# /portal-manager/api/me, stops it, and purges the package: nothing it installed is
# left but the data directory /var/lib/portal-manager (its database).
#
# Needs root (dpkg -i) and the packages of scripts/lib/install-deps.sh; refuses to run
# while the package is installed or a system apache2 runs. Leaves the machine as found:
# /etc/apache2 and /var/lib/apache2 (a2enmod's state) are restored from a copy, the
# package purged, the data directory removed when this test made it.
#   bash t/package/run.sh        (PM_PACKAGE_KEEP=1 keeps the build directory)
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
PKG=libapache2-mod-portal-manager
DATA=/var/lib/portal-manager
CONF=/etc/apache2/mods-available/portal_manager.conf
T=$(mktemp -d /tmp/pm-package-test.XXXXXX)
chmod 755 "$T"
USER_NAME=pkgcheck
USER_PASS=pkgcheck-pass-$$

. "$top/t/lib/tap.sh"   # ok / is / like / diag
lap=$SECONDS
timing() { echo "# time: $1 $((SECONDS - lap)) s"; lap=$SECONDS; }   # for the README, never asserted
bail() { echo "Bail out! $*"; exit 1; }

# ---- restore the machine whatever happens -----------------------------------------------
made_policy=0 made_data=0 snapshot=0 apache_started=0 system_apache=""
apache_env() {   # Debian's envvars, with the runtime, lock and log directories in $T
    set +u
    . /etc/apache2/envvars
    export APACHE_RUN_DIR=$T/run APACHE_PID_FILE=$T/run/apache2.pid
    export APACHE_LOCK_DIR=$T/lock APACHE_LOG_DIR=$T/log
}
stop_apache() {
    local pid
    [ -f "$T/run/apache2.pid" ] || return 0
    pid=$(cat "$T/run/apache2.pid")
    (apache_env; /usr/sbin/apache2 -k stop) >/dev/null 2>&1
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    return 1
}
cleanup() {
    ((apache_started)) && stop_apache
    if dpkg-query -W -f='${db:Status-Abbrev}' "$PKG" 2>/dev/null | grep -q '^[a-z]i'; then
        dpkg --purge "$PKG" >/dev/null 2>&1
    fi
    if ((snapshot)); then
        rm -rf /etc/apache2 /var/lib/apache2
        cp -a "$T/snap/etc-apache2" /etc/apache2
        cp -a "$T/snap/var-lib-apache2" /var/lib/apache2
    fi
    ((made_data)) && rm -rf "$DATA"
    ((made_policy)) && rm -f /usr/sbin/policy-rc.d
    start_system_apache
    if [ "${PM_PACKAGE_KEEP:-0}" = 1 ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
# The machine's own apache2 (a fresh Debian starts it when the package is installed) is
# stopped for the test, which edits /etc/apache2, and started again afterwards.
system_apache_running() {
    [ -f /var/run/apache2/apache2.pid ] && kill -0 "$(cat /var/run/apache2/apache2.pid)" 2>/dev/null
}
stop_system_apache() {
    if command -v systemctl >/dev/null && systemctl is-active --quiet apache2 2>/dev/null; then
        system_apache=systemctl; systemctl stop apache2
    else
        system_apache=apache2ctl; apache2ctl stop >/dev/null 2>&1
    fi
    for _ in $(seq 1 100); do system_apache_running || return 0; sleep 0.1; done
    return 1
}
start_system_apache() {
    case $system_apache in
        systemctl) systemctl start apache2 ;;
        apache2ctl) apache2ctl start >/dev/null 2>&1 ;;
    esac
}
trap cleanup EXIT

# ---- preconditions ------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || bail "needs root (dpkg -i into this machine's Apache)"
for tool in dpkg-buildpackage dh dh_apache2 fakeroot lintian a2enmod apache2ctl htpasswd curl runuser; do
    command -v "$tool" >/dev/null || bail "$tool is missing (run scripts/lib/install-deps.sh as root)"
done
dpkg-query -W -f='${db:Status-Abbrev}' "$PKG" 2>/dev/null | grep -q '^[a-z]i' \
    && bail "$PKG is installed on this machine; this test installs and purges it"
[ -e "$DATA" ] && bail "$DATA exists (a real installation's data?); this test would remove it"
if system_apache_running; then
    echo "# the machine's apache2 is running: stopped for this test, started again after it"
    stop_system_apache || bail "the machine's apache2 did not stop"
fi

version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$top/configure.ac")
deb_version=$(cd "$top" && dpkg-parsechangelog -S Version)
[ "$version" = "$deb_version" ]
ok $? "debian/changelog's version ($deb_version) is configure.ac's ($version)"

# ---- build (in a copy: dpkg-buildpackage cleans the tree it builds in) ----------------------
mkdir -p "$T/build/src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) \
    | tar -xf - -C "$T/build/src" || bail "cannot copy the tree (a git checkout is needed)"
(cd "$T/build/src" && DEB_BUILD_OPTIONS="nocheck noddebs parallel=$(nproc)" \
    dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1
rc=$?
deb=$T/build/${PKG}_${version}_$(dpkg --print-architecture).deb
[ "$rc" -eq 0 ] && [ -f "$deb" ]
ok $? "dpkg-buildpackage -us -uc -b builds $(basename "$deb")" || { tail -n 40 "$T/build.log" | diag; exit 1; }
timing build

lintian --fail-on error --display-info --show-overrides "$deb" >"$T/lintian.log" 2>&1
ok $? "lintian: no errors" || diag <"$T/lintian.log"
grep -E '^[EWIO]: ' "$T/lintian.log" | diag   # every tag, the overridden ones (O:) too
! grep -q '^E: ' "$T/lintian.log"
ok $? "lintian: no E: line"
timing lintian

fields=$(dpkg-deb -f "$deb" Depends Recommends)
echo "$fields" | grep -q 'libjansson4' && echo "$fields" | grep -q 'apache2-api-'
ok $? "Depends computed (\${shlibs:Depends}: libjansson4 ...; dh_apache2: apache2-api)" || echo "$fields" | diag
echo "$fields" | grep -q '^Recommends: libaprutil1-dbd-sqlite3 | libaprutil1-dbd-pgsql$'
ok $? "the DBD drivers are Recommends" || echo "$fields" | diag

# ---- install ------------------------------------------------------------------------------
mkdir -p "$T/snap"
cp -a /etc/apache2 "$T/snap/etc-apache2" && cp -a /var/lib/apache2 "$T/snap/var-lib-apache2" \
    && snapshot=1 || bail "cannot copy /etc/apache2 and /var/lib/apache2 aside"
if [ ! -e /usr/sbin/policy-rc.d ]; then   # maintainer scripts must not start the system apache2
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made_policy=1
fi
made_data=1
dpkg -i "$deb" >"$T/install.log" 2>&1
ok $? "dpkg -i installs the package" || diag <"$T/install.log"
dpkg -L "$PKG" >"$T/files.list"

for f in /usr/lib/apache2/modules/mod_portal_manager.so /etc/apache2/mods-available/portal_manager.load \
         "$CONF" /usr/sbin/portal-manager-admin /usr/share/mod_portal_manager/schema/sqlite.sql \
         /usr/share/mod_portal_manager/schema/migrations/sqlite3 /usr/share/mod_portal_manager/htdocs/staff/index.html \
         /usr/share/man/man8/portal-manager-admin.8.gz; do
    [ -e "$f" ]; ok $? "installed: $f"
done
# the documentation the man page's SEE ALSO, the log lines' "(README, ...)" and README's
# links name: README.md and docs/*.md (dh_compress gzips the larger ones)
doc=/usr/share/doc/$PKG
missing=
for f in README.md $(cd "$top" && ls docs/*.md); do
    [ -f "$doc/$f" ] || [ -f "$doc/$f.gz" ] || missing="$missing $f"
done
[ -z "$missing" ]
ok $? "README.md and docs/*.md are in $doc${missing:+ (missing:$missing)}"
for f in $(zcat /usr/share/man/man8/portal-manager-admin.8.gz | sed -n '/^\.SH SEE ALSO/,$p' \
           | sed 's/\\-/-/g; s/\\%//g' | grep -o '/usr/share/doc/[^ ,;()]*\|docs/[a-z]*\.md[.gz]*' | sort -u); do
    case $f in /*) [ -f "$f" ] ;; *) [ -f "$doc/$f" ] ;; esac
    ok $? "the man page's SEE ALSO names a file the package has: $f"
done
[ "$(stat -c '%U:%G %a' "$DATA" 2>/dev/null)" = "www-data:www-data 750" ]
ok $? "$DATA is www-data's, mode 0750" || stat "$DATA" 2>&1 | diag
[ ! -e /etc/apache2/mods-enabled/portal_manager.load ]
ok $? "installing does not enable the module (its sample is unedited)"
[ ! -e "$DATA/portal.db" ]
ok $? "no database made by the maintainer scripts (portal-manager-admin init does that)"

a2enmod portal_manager >"$T/a2enmod.log" 2>&1
ok $? "a2enmod portal_manager" || diag <"$T/a2enmod.log"
missing=
for m in portal_manager dbd headers alias dir mime auth_basic authn_file authz_user authz_groupfile authz_host; do
    [ -e "/etc/apache2/mods-enabled/$m.load" ] || missing="$missing $m"
done
[ -z "$missing" ]
ok $? "a2enmod enabled the modules of the Depends line too${missing:+ (missing:$missing)}"

# ---- configtest: unedited sample refused, one line per EDIT value -------------------------------
out=$(apache2ctl configtest 2>&1); rc=$?
[ "$rc" -ne 0 ]
ok $? "apachectl configtest fails on the unedited sample" || echo "$out" | diag
for d in PortalInvitationURL PortalLoginURL PortalMailServer PortalMailFrom; do
    [ "$(echo "$out" | grep -c "PM00300: mod_portal_manager: $d is unedited: [a-z.]*example\.org is a reserved example domain")" -eq 1 ]
    ok $? "configtest names the unedited $d on one line" || echo "$out" | diag
done
! echo "$out" | grep -q 'Syntax OK'
ok $? "unedited: no Syntax OK"

# ---- fill in the values, the logins and the database ----------------------------------------
sed -i 's/example\.org/riverside-counseling.com/g' "$CONF"
htpasswd -cbB /etc/apache2/portal-staff.htpasswd "$USER_NAME" "$USER_PASS" >/dev/null 2>&1
printf 'portal-admins: %s\n' "$USER_NAME" >/etc/apache2/portal-staff.groups
admin() { runuser -u www-data -- portal-manager-admin --driver sqlite3 --params "$DATA/portal.db" "$@"; }
admin init >"$T/admin.log" 2>&1
ok $? "portal-manager-admin init (as www-data) with the package's schema" || diag <"$T/admin.log"
admin staff add "$USER_NAME" --name "Package Check" --all-clients >>"$T/admin.log" 2>&1
ok $? "portal-manager-admin staff add" || diag <"$T/admin.log"

out=$(apache2ctl configtest 2>&1)
ok $? "apachectl configtest passes once the values are filled in" || echo "$out" | diag
echo "$out" | grep -q 'Syntax OK'
ok $? "filled in: Syntax OK"

# ---- serve: apache2 on a free loopback port, its own run/log directories ---------------------------
port=$(bash "$top/scripts/lib/free-port.sh")
printf 'Listen 127.0.0.1:%s\n' "$port" >/etc/apache2/ports.conf
mkdir -p "$T/run" "$T/lock" "$T/log"
(apache_env; /usr/sbin/apache2 -k start) >"$T/start.log" 2>&1
rc=$?
apache_started=1
ok "$rc" "apache2 starts on 127.0.0.1:$port" || cat "$T/start.log" "$T/log/error.log" 2>/dev/null | diag
body=
for _ in $(seq 1 50); do
    body=$(curl -sS --max-time 5 -u "$USER_NAME:$USER_PASS" -w '\n%{http_code}' \
           "http://127.0.0.1:$port/portal-manager/api/me" 2>/dev/null) && break
    sleep 0.2
done
[ "$(echo "$body" | tail -n 1)" = 200 ] && echo "$body" | head -n -1 | grep -q "\"$USER_NAME\""
ok $? "GET /portal-manager/api/me answers 200 for the staff login" || { echo "$body"; tail -n 20 "$T/log/error.log"; } | diag
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/portal-manager/api/me")
[ "$code" = 401 ]
ok $? "without a login: 401 ($code)"
code=$(curl -sS --max-time 5 -u "$USER_NAME:$USER_PASS" -D "$T/page.headers" -o "$T/page.html" \
       -w '%{http_code}' "http://127.0.0.1:$port/portal-manager/")
[ "$code" = 200 ] && grep -qi '^Content-Security-Policy: ' "$T/page.headers" \
    && cmp -s "$T/page.html" /usr/share/mod_portal_manager/htdocs/staff/index.html
ok $? "the staff page is served from /usr/share/mod_portal_manager/htdocs with its CSP" \
    || cat "$T/page.headers" | diag
stop_apache
ok $? "apache2 stops"
apache_started=0
[ -s "$T/log/error.log" ] && ! grep -E 'PM[0-9]{5}' "$T/log/error.log" | grep -qE '\[portal_manager:(error|crit|alert|emerg)\]'
ok $? "the error log has no module error" || grep PM "$T/log/error.log" 2>&1 | diag

# ---- purge: nothing left but the data directory -------------------------------------------------
dpkg --purge "$PKG" >"$T/purge.log" 2>&1
ok $? "dpkg --purge" || diag <"$T/purge.log"
left=
while read -r f; do
    [ -d "$f" ] && continue
    [ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done <"$T/files.list"
[ -z "$left" ]
ok $? "every file the package installed is gone${left:+ (left:$left)}"
[ ! -e /usr/share/mod_portal_manager ] && [ ! -e /usr/share/doc/$PKG ]
ok $? "the package's own directories are gone"
left=$(ls /etc/apache2/mods-enabled/portal_manager.* /etc/apache2/mods-available/portal_manager.* 2>/dev/null)
[ -z "$left" ]
ok $? "no portal_manager file in mods-available or mods-enabled" || echo "$left" | diag
[ -f "$DATA/portal.db" ]
ok $? "the data directory and its database are kept ($DATA)"
timing "install, configtest, serve, purge"
grep -q "$DATA kept" "$T/purge.log"
ok $? "purge says the data directory is kept" || diag <"$T/purge.log"

echo "1..$n"
[ "$failures" -eq 0 ]
