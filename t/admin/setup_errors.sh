# t/admin/setup_errors.sh — sourced by t/admin/run.sh: what the tool says to an admin
# whose installation is half done: a database still to be migrated (between dpkg -i
# and init) or newer than the tool, a database file the user cannot reach, and a
# bounce pipe that cannot read the token secret (issue 13).

# ---- a database that still needs init -------------------------------------------------
OLD=$(new_db old_schema); register_db old_schema
adm "$OLD" init --schema-dir "$(schema_before 11)"
sql "$OLD" "INSERT INTO audit_log (at, username, action, result) VALUES (1, 'admin', 'client.view', 'ok')" >/dev/null
adm "$OLD" init --schema-dir "$(schema_before 21)"
is "$rc" 0 "a schema 20 database (installed, not yet migrated), a row from before the chain"
printf 'external_id,first_name,last_name,date_of_birth,email\nE1,Ann,Old,1980-01-01,\n' >"$T/old-sync.csv"
printf 'first_name,last_name,date_of_birth,email\nAnn,Old,1980-01-01,\n' >"$T/old-import.csv"
for c in "staff add bob" "staff list" "clients sync $T/old-sync.csv" "clients import $T/old-import.csv" \
         "clients list" "audit prune --before 2000-01-01 $T/old-prune.jsonl" "demo-data"; do
    # shellcheck disable=SC2086
    adm "$OLD" $c
    is "$rc" 1 "schema 20: '${c%% /*}' exits 1"
    is "$err" "portal-manager-admin: the database is at schema 20 and this tool needs $NEWEST: run portal-manager-admin init (back the database up first: README, Upgrades)" \
       "schema 20: '${c%% /*}' says to run init, in one line (no SQL error)"
done
is "$(sql "$OLD" 'SELECT count(*) FROM clients') $(sql "$OLD" 'SELECT count(*) FROM staff')" "0 0" \
   "schema 20: nothing was added"
adm "$OLD" audit verify
is "$rc" 0 "schema 20: audit verify still checks the older trail (a restored backup, before init)"
like "$out" "^ok: 0 rows \(and 1 older rows from before the chain" "schema 20: and counts its rows"
adm "$OLD" audit export --before 2000-01-01 "$T/old-export.jsonl"
is "$rc" 0 "schema 20: audit export still reads the older trail"
adm "$OLD" staff --help
is "$rc" 0 "schema 20: staff --help needs no database"
ANCIENT=$(new_db ancient_schema); register_db ancient_schema
adm "$ANCIENT" init --schema-dir "$(schema_before 11)"
adm "$ANCIENT" audit verify
is "$rc" 1 "schema 10 (no chained trail): audit verify refuses"
like "$err" "^portal-manager-admin: the database is at schema 10 and this tool needs $NEWEST: run " \
     "schema 10: and says to run init"
adm "$OLD" init --schema-dir "$SCHEMA"
is "$rc" 0 "init migrates it"
adm "$OLD" staff add bob
is "$rc" 0 "then staff add works"

# ---- a database newer than the tool (the package was downgraded) ------------------------
sql "$OLD" "UPDATE schema_version SET version = $((NEWEST + 1))" >/dev/null
adm "$OLD" staff list
is "$rc" 1 "a newer schema: staff list exits 1"
is "$err" "portal-manager-admin: the database is at schema $((NEWEST + 1)), newer than this tool's $NEWEST (was the package downgraded?): use the portal-manager-admin of the release that upgraded it" \
   "a newer schema: says so in one line"
adm "$OLD" audit verify
is "$rc" 1 "a newer schema: audit verify refuses too"

# ---- a user who cannot reach the database; a bounce pipe that cannot read the secret -------
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v runuser >/dev/null; then
    # nobody needs a way to $T's parts it may use, and a copy of the tool it may run
    chmod 0711 "$T"
    install -m 0755 "$ADMIN" "$T/admin-copy"
    # nb_adm PARAMS ARGS...: the tool as nobody, standard input empty; sets rc, out, err
    nb_adm() {
        local params=$1
        shift
        runuser -u nobody -- env PM_DB_DRIVER="$DRIVER" PM_DB_PARAMS="$params" \
            "$T/admin-copy" "$@" </dev/null >"$T/out" 2>"$T/err"
        rc=$?
        out=$(cat "$T/out")
        err=$(cat "$T/err")
    }
    if [ "$DRIVER" = sqlite3 ]; then
        mkdir -m 0700 "$T/locked"
        adm "$T/locked/portal.db" init --schema-dir "$SCHEMA"
        nb_adm "$T/locked/portal.db" staff list
        is "$rc" 1 "a database in a 0700 directory of another user: exit 1"
        is "$err" "portal-manager-admin: cannot access $T/locked/portal.db: permission denied (run the tool as the user httpd runs as, e.g. sudo -u www-data)" \
           "and says permission denied, not that the file does not exist"
        nb_adm "$T/locked/portal.db" init --schema-dir "$SCHEMA"
        like "$err" "cannot access $T/locked/portal.db: permission denied" "init says the same"
        nb_adm "$T/locked/portal.db" bounce --secret-file /dev/null
        is "$rc" 75 "bounce that cannot reach the database: exit 75 (the MTA retries)"
        mkdir -m 0700 "$T/nb" && chown nobody "$T/nb"
        BDB=$T/nb/portal.db
        runuser -u nobody -- "$T/admin-copy" --params "$BDB" init --schema-dir "$SCHEMA" >/dev/null 2>&1
    else
        BDB=$(new_db bounce_setup); register_db bounce_setup
        adm "$BDB" init --schema-dir "$SCHEMA"
    fi
    head -c 48 /dev/urandom | base64 >"$T/token.secret" && chmod 0600 "$T/token.secret"
    nb_adm "$BDB" staff list
    is "$rc" 0 "nobody may use the bounce test's database"
    nb_adm "$BDB" bounce --secret-file "$T/token.secret"
    is "$rc" 75 "bounce run as a user that cannot read the 0600 secret: exit 75 (EX_TEMPFAIL), not 1"
    like "$err" "cannot read $T/token.secret: Permission denied \(the MTA keeps the bounce and retries; run the pipe as a user that may read it: README, Bounces\)" \
         "and says why and what to do"
    nb_adm "$BDB" bounce
    is "$rc" 75 "bounce without --secret-file: exit 75 (the admin's fix, then the retry)"
    nb_adm "$BDB" bounce --secret-file "$T/token.secret" --bogus
    is "$rc" 75 "bounce with an unknown option: exit 75"
    adm "$BDB" bounce --secret-file "$T/token.secret" --recipient someone@example.org </dev/null
    is "$rc" 0 "the user who may read the secret: exit 0 (not a bounce of ours: dropped)"
    chmod 0700 "$T"
fi
