#!/usr/bin/env bash
# sanitize.sh — the sanitizer pass of scripts/check: build the module, the admin tool and
# the unit tests with AddressSanitizer + UndefinedBehaviorSanitizer (gcc, -O1 -g
# -fno-omit-frame-pointer -fno-sanitize-recover=undefined: any UB aborts) in a copy of the
# tree, then run the C unit tests, the admin tool tests and the Apache::Test suite with
# httpd started through t/sanitize/httpd-asan (the ASan runtime preloaded).
#
#   scripts/lib/sanitize.sh [--no-pool-shim] DRIVER...      (DRIVER: sqlite3, pgsql)
#
# Pool shim (on unless --no-pool-shim): ASan cannot see an overflow that stays inside an
# APR pool block, so t/sanitize/pool_shim.c is preloaded as well and gives every
# apr_palloc/apr_pcalloc its own malloc block; a self-check (t/sanitize/shim_selfcheck.c
# writes one byte past a pool allocation) must produce an ASan report, or the pass fails.
#
# Any sanitizer report fails the pass: t/sanitize/asan-run writes them to files, scanned
# after each part. Results: t/logs/sanitize/ (logs, the reports under */sanitizer/, and
# one passed=/failed=/skipped= file per part, *.summary, which scripts/check adds up).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$top/t/logs/sanitize
shim=1
if [[ ${1:-} == --no-pool-shim ]]; then shim=0; shift; fi
drivers=("$@")
((${#drivers[@]})) || drivers=(sqlite3)

rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d "${PM_TMP:-/tmp}/pm-sanitize.XXXXXX")
chmod 755 "$work"
pg_dir=""
cleanup() {
    if [[ -n $pg_dir ]]; then "$here/pg-cluster.sh" stop "$pg_dir" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '==> sanitize: %s\n' "$*"; }
summary() { printf 'passed=%s\nfailed=%s\nskipped=%s\n' "$2" "$3" "${4:-0}" >"$out/$1.summary"; }

# tap_count LOG: "PASSED FAILED SKIPPED" as automake counts them (not ok # TODO passes,
# ok # TODO fails, ok # SKIP is skipped)
tap_count() {
    awk '/^ok [0-9]/ { if (/# *SKIP/) s++; else if (/# *TODO/) f++; else p++ }
         /^not ok [0-9]/ { if (/# *TODO/) p++; else f++ }
         END { print p + 0, f + 0, s + 0 }' "$1"
}

# symbolize_report FILE: ASan writes raw frames ("#3 0x7f.. (/path/mod.so+0x1a2b)",
# t/sanitize/asan-run); print them with their function and file:line, from addr2line.
symbolize_report() {
    local line module offset where
    while IFS= read -r line; do
        if [[ $line =~ ^[[:space:]]*#[0-9]+\ 0x[0-9a-f]+\ +\((.+)\+(0x[0-9a-f]+)\)$ ]]; then
            module=${BASH_REMATCH[1]} offset=${BASH_REMATCH[2]}
            where=$(addr2line -f -C -p -e "$module" "$offset" 2>/dev/null || true)
            line="$line ${where:-?}"
        fi
        printf '%s\n' "$line"
    done <"$1"
}

# scan_reports NAME DIR...: every sanitizer report file, and any report that reached a log
# (stderr of a process that had no log_path), is one failure
scan_reports() {
    local name=$1 n=0 f
    shift
    while IFS= read -r -d '' f; do
        n=$((n + 1))
        echo "--- sanitizer report ${f#"$out"/}:"
        grep -E 'ERROR: AddressSanitizer|runtime error:|SUMMARY:|ERROR: LeakSanitizer' "$f" | head -n 4
        symbolize_report "$f" | head -n 40 || true
    done < <(find "$@" -path '*/sanitizer/*' -type f -size +0 -print0 2>/dev/null)
    while IFS= read -r f; do
        n=$((n + 1))
        echo "--- sanitizer output in ${f#"$out"/}:"
        grep -E '==[0-9]+==ERROR: |runtime error:' "$f" | head -n 4
    done < <(find "$@" -type f \( -name 'error_log*' -o -name '*.log' \) -not -path '*/sanitizer/*' \
                 -exec grep -lE '==[0-9]+==ERROR: (Address|Leak)Sanitizer|: runtime error: ' {} + 2>/dev/null)
    say "$name: $n sanitizer report(s)"
    summary "$name-reports" $((n == 0 ? 1 : 0)) "$n"
}

# --- build, in a copy of the tree (the plain build in the tree stays as it is) -----------
say "build (ASan+UBSan, shim=$shim) in $work"
tar -C "$top" --exclude=./.git --exclude=./t/logs --exclude=./node_modules -cf - . | tar -C "$work" -xf -
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
apr_cflags=$(pkg-config --cflags apr-1)
if ! (
    cd "$work" &&
    { [[ ! -f Makefile ]] || make distclean >/dev/null 2>&1 || true; } &&
    autoreconf -fi &&
    ./configure --with-apxs=/usr/bin/apxs --enable-werror CFLAGS="-O1 -g $san" LDFLAGS="$san" &&
    make -j"$(nproc)" &&
    make -j"$(nproc)" check TESTS= &&
    if ((shim)); then
        gcc -O1 -g -fno-omit-frame-pointer -fPIC -shared $apr_cflags -Wall -Werror \
            -o t/sanitize/pool-shim.so t/sanitize/pool_shim.c -ldl $(pkg-config --libs apr-1) &&
        gcc -O0 -g -fsanitize=address $apr_cflags -o t/sanitize/shim-selfcheck \
            t/sanitize/shim_selfcheck.c $(pkg-config --libs apr-1)
    fi
) >"$out/build.log" 2>&1; then
    tail -n 40 "$out/build.log"
    echo "sanitize: build failed (t/logs/sanitize/build.log)" >&2
    summary build 0 1
    exit 1
fi
summary build 1 0
asan_run=$work/t/sanitize/asan-run

# --- the shim must be active: one byte past a pool allocation is a report ----------------
if ((shim)); then
    rm -rf "$out/selfcheck"
    "$asan_run" "$out/selfcheck" "$work/t/sanitize/shim-selfcheck" >"$out/selfcheck.log" 2>&1
    if grep -qs 'heap-buffer-overflow' "$out"/selfcheck/asan.*; then
        say "pool shim self-check: the overflow inside a pool allocation was reported"
        summary shim-selfcheck 1 0
    else
        say "pool shim self-check FAILED: no ASan report for a write past a pool allocation"
        summary shim-selfcheck 0 1
    fi
    mv "$out/selfcheck" "$out/selfcheck-expected-report"   # not counted by scan_reports
fi

# --- C unit tests, each binary under asan-run (leak detection on) ------------------------
say "C unit tests"
u_pass=0 u_fail=0 u_skip=0
mkdir -p "$out/unit"
for t in "$work"/t/unit/test_*; do
    [[ -x $t && $(basename "$t") != *.* ]] || continue
    name=$(basename "$t")
    rc=0
    "$asan_run" "$out/unit/sanitizer" "$t" >"$out/unit/$name.log" 2>&1 || rc=$?
    read -r p f s < <(tap_count "$out/unit/$name.log")
    plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$out/unit/$name.log" | head -n 1)
    if ((rc != 0)) || [[ $plan != "$((p + f + s))" ]]; then
        echo "$name: exit $rc, plan ${plan:-none}, ran $((p + f + s))"
        f=$((f + 1))
    fi
    u_pass=$((u_pass + p)) u_fail=$((u_fail + f)) u_skip=$((u_skip + s))
done
summary unit "$u_pass" "$u_fail" "$u_skip"
say "C unit tests: $u_pass passed, $u_fail failed, $u_skip skipped"
scan_reports unit "$out/unit"

# --- per database: the admin tool tests and the Apache::Test suite -----------------------
printf '#!/bin/sh\nexec %q %q %q "$@"\n' "$asan_run" "$out/admin/sanitizer" "$work/portal-manager-admin" \
    >"$work/t/sanitize/admin-asan"
chmod 755 "$work/t/sanitize/admin-asan"
for driver in "${drivers[@]}"; do
    if [[ $driver == pgsql ]]; then
        eval "$("$here/pg-cluster.sh" start)" || { summary "apache-test-$driver" 0 1; continue; }
        pg_dir=$PM_PG_DIR
    fi
    say "admin tool on $driver"
    rm -rf "$out/admin"
    PM_ADMIN=$work/t/sanitize/admin-asan PM_DB_DRIVER=$driver timeout -k 10 900 \
        bash "$work/t/admin/run.sh" >"$out/admin-$driver.log" 2>&1
    rc=$?
    p=$(grep -cE '^ok [0-9]' "$out/admin-$driver.log") f=$(grep -cE '^not ok [0-9]' "$out/admin-$driver.log")
    ((rc == 0 || f > 0)) || f=1
    summary "admin-$driver" "$p" "$f"
    say "admin tool on $driver: $p passed, $f failed"
    [[ -d $out/admin ]] && mv "$out/admin" "$out/admin-$driver"
    scan_reports "admin-$driver" "$out/admin-$driver"

    say "Apache::Test suite on $driver (httpd: t/sanitize/httpd-asan)"
    rc=0
    PM_HTTPD=$work/t/sanitize/httpd-asan PM_TAP_SUMMARY=$out/apache-test-$driver.summary \
        timeout -k 30 2400 bash "$work/scripts/lib/apache-tests.sh" "$driver" \
        >"$out/apache-test-$driver.log" 2>&1 || rc=$?
    [[ -s $out/apache-test-$driver.summary ]] || summary "apache-test-$driver" 0 1
    if ((rc != 0)) && ! grep -qE '^failed=[1-9]' "$out/apache-test-$driver.summary"; then
        summary "apache-test-$driver" 0 1
    fi
    if ((rc != 0)); then
        # which test failed and its diagnostics (the harness's summary report)
        grep -E '^#|^not ok|^t/.*(Dubious|Failed|Wstat)|^Test Summary|^ +Failed test|^Result' \
            "$out/apache-test-$driver.log" | tail -n 60
    fi
    grep -E '^apache-test' "$out/apache-test-$driver.log" | tail -n 1
    rm -rf "$out/apache-test-$driver"
    if [[ -d $work/t/logs/apache-test-$driver ]]; then
        mv "$work/t/logs/apache-test-$driver" "$out/apache-test-$driver"
    fi
    if [[ ! -d $out/apache-test-$driver/sanitizer ]]; then   # made by asan-run
        echo "sanitize: httpd did not start through t/sanitize/httpd-asan; counted as 1 failure"
        summary "apache-test-$driver-wrapper" 0 1
    fi
    scan_reports "apache-test-$driver" "$out/apache-test-$driver"
    if [[ -n $pg_dir ]]; then
        "$here/pg-cluster.sh" stop "$pg_dir" >/dev/null 2>&1 || true
        pg_dir=""
        unset PM_DB_PARAMS PM_PG_DIR PM_PG_PORT
    fi
done
! grep -qsE '^failed=[1-9]' "$out"/*.summary
