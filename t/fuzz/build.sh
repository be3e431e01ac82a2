#!/usr/bin/env bash
# t/fuzz/build.sh — builds the libFuzzer harnesses (t/fuzz/fuzz_*.c) with clang-14:
# libpmcore's sources (the list is read from Makefile.am), pm_json.c and httpd_stub.c
# (what pm_json.c logs through) compiled with -fsanitize=fuzzer-no-link,address,undefined
# into t/fuzz/build/, each harness linked with -fsanitize=fuzzer,address,undefined.
# Nothing of the autotools (gcc) build is read or written. Prints the path of each
# binary built.
#
#   t/fuzz/build.sh [TARGET...]      (TARGET: csv, text, header, ... ; default: all)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$here/build
CC=${CC:-clang-14}
mkdir -p "$out/obj"

deps="jansson libcurl libcrypto apr-1 apr-util-1 icu-uc icu-i18n"
cflags="-g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined -I$top/src/core -I$top/src/httpd -I$here $(pkg-config --cflags $deps) -I$(apxs -q INCLUDEDIR)"
libs=$(pkg-config --libs $deps)
sources=$(sed -n '/^libpmcore_la_SOURCES/,/^$/p' "$top/Makefile.am" | grep -o 'src/core/[a-z0-9_]*\.c')
sources="$sources src/httpd/pm_json.c t/fuzz/httpd_stub.c"

objs=()
for src in $sources; do
    obj=$out/obj/$(basename "$src" .c).o
    if [[ ! -f $obj || $top/$src -nt $obj || $top/${src%.c}.h -nt $obj || $0 -nt $obj ]]; then
        $CC $cflags -fsanitize=fuzzer-no-link,address,undefined -c "$top/$src" -o "$obj"
    fi
    objs+=("$obj")
done

if (($# == 0)); then
    set -- $(cd "$here" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
fi
for t in "$@"; do
    src=$here/fuzz_$t.c
    [[ -f $src ]] || { echo "build.sh: no harness $src" >&2; exit 2; }
    $CC $cflags -fsanitize=fuzzer,address,undefined "$src" "${objs[@]}" $libs -o "$out/fuzz_$t"
    echo "$out/fuzz_$t"
done
