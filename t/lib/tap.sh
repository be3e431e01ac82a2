# t/lib/tap.sh — TAP output for the shell tests (t/admin/run.sh, t/package/run.sh), sourced:
# a counter and ok / is / like / unlike / diag. Each check prints one "ok N - ..." or
# "not ok N - ..." line; $failures counts the failed ones; ok returns 1 on failure.
n=0
failures=0
ok() {   # ok STATUS DESCRIPTION  (STATUS 0 = pass)
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failures=$((failures + 1))
        return 1
    fi
}
is() {   # is GOT WANT DESCRIPTION
    if [ "$1" = "$2" ]; then
        ok 0 "$3"
    else
        ok 1 "$3"
        printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
    fi
}
like() { # like TEXT PATTERN DESCRIPTION  (grep -E pattern)
    if grep -Eq -- "$2" <<<"$1"; then
        ok 0 "$3"
    else
        ok 1 "$3"
        printf '#   no match for /%s/ in:\n' "$2"
        printf '%s\n' "$1" | sed 's/^/#     /'
    fi
}
unlike() {
    if grep -Eq -- "$2" <<<"$1"; then
        ok 1 "$3"
        printf '#   unexpected match for /%s/\n' "$2"
    else
        ok 0 "$3"
    fi
}
diag() { sed 's/^/# /'; }   # diag <FILE: the text as TAP comments
