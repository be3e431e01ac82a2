#!/bin/bash
# t/admin/run.sh — integration test of portal-manager-admin against a real
# database; prints TAP. SQLite by default (temporary files); for PostgreSQL:
#   PM_DB_DRIVER=pgsql PM_DB_PARAMS='host=127.0.0.1 port=5433 dbname=portal user=portal' \
#       bash t/admin/run.sh
# On PostgreSQL every scenario runs in its own throwaway schema (the role needs
# CREATE on the database), dropped at the end, so the database is left as found.
# PM_ADMIN overrides the binary (default: the build tree's portal-manager-admin).
set -uo pipefail
unset SUDO_USER   # the audit rows' detail names it; the tests set it where they check it

top=$(cd "$(dirname "$0")/../.." && pwd)
ADMIN=${PM_ADMIN:-$top/portal-manager-admin}
SCHEMA=$top/conf/schema
DRIVER=${PM_DB_DRIVER:-sqlite3}
BASE_PARAMS=${PM_DB_PARAMS:-}
T=$(mktemp -d /tmp/pm-admin-test.XXXXXX)
PG_SCHEMAS=()

cleanup() {
    local s
    for s in "${PG_SCHEMAS[@]}"; do
        psql "$BASE_PARAMS" -XAtq -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1
    done
    rm -rf "$T"
}
trap cleanup EXIT

if [ ! -x "$ADMIN" ]; then
    echo "Bail out! $ADMIN is not built (run make first)"
    exit 1
fi
case $DRIVER in
    sqlite3) command -v sqlite3 >/dev/null || { echo "Bail out! the sqlite3 CLI is missing"; exit 1; } ;;
    pgsql)
        command -v psql >/dev/null || { echo "Bail out! psql is missing"; exit 1; }
        [ -n "$BASE_PARAMS" ] || { echo "Bail out! PM_DB_PARAMS is required for pgsql"; exit 1; }
        psql "$BASE_PARAMS" -XAtq -c "SELECT 1" >/dev/null \
            || { echo "Bail out! cannot connect to PostgreSQL with PM_DB_PARAMS"; exit 1; } ;;
    *) echo "Bail out! PM_DB_DRIVER must be sqlite3 or pgsql"; exit 1 ;;
esac

# ---- TAP helpers: ok / is / like / unlike / diag ------------------------------------
. "$top/t/lib/tap.sh"

# ---- databases ----------------------------------------------------------------
# new_db NAME: prints the parameter string of a fresh, empty database
new_db() {
    if [ "$DRIVER" = sqlite3 ]; then
        echo "$T/$1.db"
    else
        local s="pm_admin_t$$_$1"
        PGOPTIONS="-c client_min_messages=warning" psql "$BASE_PARAMS" -XAtq \
            -c "DROP SCHEMA IF EXISTS $s CASCADE" -c "CREATE SCHEMA $s" >/dev/null
        echo "$BASE_PARAMS options='-c search_path=$s'"
    fi
}
register_db() { [ "$DRIVER" = pgsql ] && PG_SCHEMAS+=("pm_admin_t$$_$1"); return 0; }
# schema_before N: prints a schema directory whose migrations stop before version N (an
# older database for an upgrade case: init --schema-dir it, then init)
schema_before() {
    local dir="$T/schema-before-$1" f v
    mkdir -p "$dir/migrations/$DRIVER"
    cp "$SCHEMA"/sqlite.sql "$SCHEMA"/postgresql.sql "$dir/"
    for f in "$SCHEMA/migrations/$DRIVER"/*.sql; do
        v=$(basename "$f"); v=${v%%-*}
        [ "$((10#$v))" -lt "$1" ] && cp "$f" "$dir/migrations/$DRIVER/"
    done
    echo "$dir"
}
# sql PARAMS QUERY: runs QUERY, prints the result (one row per line, '|' between columns)
sql() {
    if [ "$DRIVER" = sqlite3 ]; then
        sqlite3 -batch -noheader "$1" "$2"
    else
        psql "$1" -XAtq -v ON_ERROR_STOP=1 -c "$2"
    fi
}
# adm PARAMS ARGS...: runs the tool; sets rc, out, err
adm() {
    local params=$1
    shift
    PM_DB_DRIVER=$DRIVER PM_DB_PARAMS=$params "$ADMIN" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    out=$(cat "$T/out")
    err=$(cat "$T/err")
}

echo "# portal-manager-admin on $DRIVER"

# ---- command line ---------------------------------------------------------------
DB=$(new_db main); register_db main
adm "$DB" --help
is "$rc" 0 "--help exits 0"
for c in "init" "staff add" "staff update" "staff grant" "staff revoke" "staff disable" \
         "staff enable" "staff list" "clients import" "clients list" "demo-data" "copy"; do
    like "$out" "^  $c" "--help documents '$c'"
done
for g in staff init; do
    adm "$DB" $g --help
    is "$rc" 0 "$g --help exits 0"
    like "$out" "^  $g" "$g --help documents the $g commands"
    unlike "$out" "^  (clients|audit|bounce|demo-data)" "$g --help leaves the other groups out"
    ok "$([ "$(printf '%s\n' "$out" | wc -l)" -lt 60 ]; echo $?)" "$g --help is short ($(printf '%s\n' "$out" | wc -l) lines)"
done
adm "$DB"
is "$rc" 2 "no command: exit 2"
like "$err" "no command" "no command: says so on stderr"
adm "$DB" frobnicate
is "$rc" 2 "unknown command: exit 2"
adm "$DB" staff grant alice
is "$rc" 2 "missing argument: exit 2"
like "$err" "usage: portal-manager-admin staff grant USER CLIENT_ID" "missing argument: shows usage"
adm "$DB" init --name x --schema-dir "$SCHEMA"
is "$rc" 2 "option that does not apply: exit 2"
adm "$DB" staff add x --bogus
is "$rc" 2 "unknown option: exit 2"
out=$(PM_DB_PARAMS='' "$ADMIN" --driver "$DRIVER" staff list 2>&1); rc=$?
is "$rc" 2 "no database parameters: exit 2"
adm "$DB" --driver mysql staff list
is "$rc" 2 "unsupported driver: exit 2"

# ---- init -------------------------------------------------------------------------
if [ "$DRIVER" = sqlite3 ]; then
    adm "$DB" staff list
    is "$rc" 1 "staff list before init fails"
    ok "$([ ! -e "$DB" ]; echo $?)" "the sqlite file is not created by a failing command"
fi
adm "$DB" init --schema-dir "$T/no-such-dir"
is "$rc" 1 "init with a wrong --schema-dir fails"
like "$err" "no schema file" "and says which file is missing"
adm "$DB" init --schema-dir "$SCHEMA"
is "$rc" 0 "init creates the schema"
like "$out" "created the schema" "init reports the creation"
# the newest version the shipped files make: 1 plus one per shipped migration
NEWEST=$((1 + $(find "$SCHEMA/migrations/$DRIVER" -name '[0-9][0-9][0-9]-*.sql' 2>/dev/null | wc -l)))
is "$(sql "$DB" 'SELECT version FROM schema_version')" "$NEWEST" "schema_version is the newest ($NEWEST)"
if [ "$DRIVER" = sqlite3 ]; then
    objects="SELECT type || ' ' || name FROM sqlite_master ORDER BY 1"
else
    objects="SELECT 'table ' || tablename FROM pg_tables WHERE schemaname = current_schema()
             UNION ALL SELECT 'index ' || indexname FROM pg_indexes WHERE schemaname = current_schema()
             UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                       JOIN pg_namespace s ON s.oid = c.relnamespace
                       WHERE s.nspname = current_schema() AND NOT t.tgisinternal ORDER BY 1"
fi
before=$(sql "$DB" "$objects")
like "$before" "table audit_log" "audit_log table created"
like "$before" "trigger audit_log_no_update" "audit_log trigger created whole"
adm "$DB" init --schema-dir "$SCHEMA"
is "$rc" 0 "second init succeeds"
like "$out" "up to date \(version $NEWEST\); nothing to do" "second init says it is up to date"
is "$(sql "$DB" "$objects")" "$before" "second init changes no tables, indexes or triggers"
is "$(sql "$DB" 'SELECT count(*) FROM schema_version')" 1 "schema_version still has one row"
sql "$DB" "INSERT INTO audit_log (at, username, action, result) VALUES (1, 't', 'test', 'ok')" >/dev/null
fails() { ! "$@" >/dev/null 2>&1; }   # fails CMD...: status 0 when CMD fails
fails sql "$DB" "UPDATE audit_log SET result = 'changed'"
ok $? "audit_log is append-only (trigger body loaded intact)"

# ---- staff --------------------------------------------------------------------------
adm "$DB" staff add alice --name "Alice Ängström"
is "$rc" 0 "staff add"
is "$(sql "$DB" "SELECT display_name || '|' || all_clients || '|' || active FROM staff WHERE username = 'alice'")" \
   "Alice Ängström|0|1" "staff row: display name, not all clients, active"
adm "$DB" staff add alice
is "$rc" 1 "adding an existing staff member fails"
like "$err" "already exists" "and says so"
adm "$DB" staff add carol --all-clients
is "$rc" 0 "staff add --all-clients"
is "$(sql "$DB" "SELECT display_name || '|' || all_clients FROM staff WHERE username = 'carol'")" \
   "carol|1" "display name defaults to the user name; all_clients 1"
adm "$DB" staff add "$(printf 'bad\tname')"
is "$rc" 1 "user name with a control character refused"

# ---- clients import: a good file ----------------------------------------------------
{
    printf '\xef\xbb\xbffirst_name,last_name,date_of_birth,email\r\n'
    printf '"Mary ""Molly""",O'"'"'Neil,1980-02-29,molly.oneil@example.org\r\n'
    printf '"Núñez, Zoë",Smith,1990-01-01,\r\n'
    printf '"Anne\r\nMarie",Ødegaard,2000-12-31,anne@example.net\r\n'
    printf '太郎,山田,1975-06-15,taro@example.com\r\n'
    printf '\r\n'
    printf 'Νίκος, Παπαδόπουλος ,1960-03-03,Nikos@Example.COM'
} >"$T/good.csv"
adm "$DB" clients import "$T/good.csv"
is "$rc" 0 "good CSV imports"
like "$out" "imported 5 clients" "import reports 5 clients"
is "$(sql "$DB" 'SELECT count(*) FROM clients')" 5 "5 rows in clients"
is "$(sql "$DB" "SELECT first_name FROM clients WHERE last_name = 'O''Neil'")" 'Mary "Molly"' \
   "doubled quotes unescaped"
is "$(sql "$DB" "SELECT count(*) FROM clients WHERE first_name = 'Núñez, Zoë' AND email IS NULL")" 1 \
   "comma inside quotes; empty email stored as NULL"
is "$(sql "$DB" "SELECT first_name FROM clients WHERE last_name = 'Ødegaard'")" "Anne Marie" \
   "line break inside quotes becomes a space"
is "$(sql "$DB" "SELECT first_name || '|' || last_name FROM clients WHERE last_name = '山田'")" \
   "太郎|山田" "CJK name"
is "$(sql "$DB" "SELECT first_name || '|' || last_name || '|' || email FROM clients WHERE first_name = 'Νίκος'")" \
   "Νίκος|Παπαδόπουλος|Nikos@Example.COM" "Greek name: spaces trimmed, email kept as typed"
is "$(sql "$DB" "SELECT count(*) FROM clients WHERE sort_key IS NULL OR sort_key = '' OR sort_locale <> 'en'")" 0 \
   "import: every client has its ICU sort key (collation_locale en)"
is "$(sql "$DB" "SELECT count(*) FROM client_name_prefixes k JOIN clients c ON c.id = k.client_id WHERE c.last_name = 'Ødegaard'")" 51 \
   "import: one search key per prefix of each name word (Anne Marie Ødegaard: 4 + 5 + 8, and each with the two other words' initials: 51)"
is "$(sql "$DB" "SELECT count(*) FROM clients WHERE created_at > 1700000000 AND updated_at = created_at")" 5 \
   "created_at/updated_at set to now"

# ---- clients import: the same people again, or twice in one file ----------------------------
adm "$DB" clients import "$T/good.csv"
is "$rc" 1 "the same file again: exit 1"
like "$err" "good.csv line 2: Mary \"Molly\" O'Neil, born 1980-02-29, is already client [0-9]+" \
   "the same file again: each row names the client already there"
like "$err" "5 rows of clients already there in .*good.csv; nothing was imported" \
   "the same file again: nothing imported, and says how namesakes come in"
is "$(sql "$DB" 'SELECT count(*) FROM clients')" 5 "the same file again: still 5 clients"
printf 'first_name,last_name,date_of_birth,email\nTwin,Row,1999-09-09,\nOther,Row,1999-09-09,\ntwin,ROW,1999-09-09,\n' >"$T/twice.csv"
adm "$DB" clients import "$T/twice.csv"
is "$rc" 1 "one person twice in a file: exit 1"
like "$err" "twice.csv line 4: is the same name and date of birth as line 2" "one person twice: names both lines"
is "$(sql "$DB" "SELECT count(*) FROM clients WHERE last_name = 'Row'")" 0 "one person twice: nothing imported"
is "$(sql "$DB" "SELECT date_of_birth FROM clients WHERE last_name = 'O''Neil'")" 1980-02-29 \
   "Feb 29 of a leap year accepted"
adm "$DB" clients list
like "$out" "山田	太郎	1975-06-15	taro@example.com" "clients list shows imported clients"

# ---- staff grant / revoke / disable --------------------------------------------------
cid=$(sql "$DB" "SELECT id FROM clients WHERE last_name = '山田'")
adm "$DB" staff grant alice "$cid"
is "$rc" 0 "staff grant"
is "$(sql "$DB" "SELECT count(*) FROM staff_clients WHERE username = 'alice' AND client_id = $cid")" 1 \
   "grant row written"
adm "$DB" staff grant alice "$cid"
is "$rc" 0 "granting twice is fine"
like "$out" "already" "and says it was already granted"
adm "$DB" staff grant alice 999999
is "$rc" 1 "grant of an unknown client fails"
like "$err" "unknown client id 999999" "and names the client id"
adm "$DB" staff grant ghost "$cid"
is "$rc" 1 "grant to an unknown staff member fails"
like "$err" "unknown staff member 'ghost'" "and names the user"
adm "$DB" staff grant alice 12abc
is "$rc" 1 "non-numeric client id fails"
adm "$DB" staff list
like "$out" "alice	Alice Ängström	0	1	1" "staff list shows alice with one grant"
adm "$DB" staff revoke alice "$cid"
is "$rc" 0 "staff revoke"
is "$(sql "$DB" "SELECT count(*) FROM staff_clients WHERE username = 'alice'")" 0 "grant row removed"
adm "$DB" staff revoke alice "$cid"
is "$rc" 0 "revoking again is fine"
like "$out" "nothing to do" "and says there was nothing to do"
adm "$DB" staff revoke ghost "$cid"
is "$rc" 1 "revoke for an unknown staff member fails"
adm "$DB" staff disable alice
is "$rc" 0 "staff disable"
is "$(sql "$DB" "SELECT active FROM staff WHERE username = 'alice'")" 0 "alice inactive"
adm "$DB" staff disable ghost
is "$rc" 1 "disabling an unknown staff member fails"
adm "$DB" staff enable alice
is "$(sql "$DB" "SELECT active FROM staff WHERE username = 'alice'")" 1 "staff enable"
adm "$DB" staff update alice --all-clients --name "Alice A."
is "$(sql "$DB" "SELECT display_name || '|' || all_clients FROM staff WHERE username = 'alice'")" \
   "Alice A.|1" "staff update changes name and all_clients"

# ---- staff update --email / --no-email (staff notices) -----------------------------------
is "$(sql "$DB" "SELECT coalesce(email, 'NULL') || '|' || notify FROM staff WHERE username = 'alice'")" \
   "NULL|daily" "a new staff member has no email and notify daily"
adm "$DB" staff update alice --email alice.notices@example.org
is "$rc" 0 "staff update --email"
like "$out" "alice's notices go to alice.notices@example.org" "--email: says where notices go"
is "$(sql "$DB" "SELECT email || '|' || display_name || '|' || all_clients FROM staff WHERE username = 'alice'")" \
   "alice.notices@example.org|Alice A.|1" "--email stores the address and leaves the rest alone"
sql "$DB" "UPDATE staff SET last_seen_at = 1796634000 WHERE username = 'alice'" >/dev/null
adm "$DB" staff list
like "$out" "^username	display_name	all_clients	active	granted_clients	email	notify	last_seen$" \
     "staff list: header names email, notify and last_seen"
like "$out" "^alice	Alice A.	1	1	0	alice.notices@example.org	daily	2026-12-07T09:00Z$" \
     "staff list shows the email, notify and when the server last saw them (UTC)"
like "$out" "^carol	carol	1	1	0		daily	never$" "staff list: no email is an empty column; never seen"

# ---- migration 030: everyone on staff at the upgrade counts as seen then ---------------------
UDB=$(new_db seen_upgrade); register_db seen_upgrade
adm "$UDB" init --schema-dir "$(schema_before 30)"
is "$rc" 0 "a schema 29 database"
sql "$UDB" "INSERT INTO staff (username, display_name, created_at) VALUES ('olga', 'Olga', 1)" >/dev/null
before=$(date +%s)
adm "$UDB" init --schema-dir "$SCHEMA"
is "$rc" 0 "upgraded to 30"
seen=$(sql "$UDB" "SELECT last_seen_at FROM staff WHERE username = 'olga'")
[ -n "$seen" ] && [ "$seen" -ge "$((before - 1))" ] && [ "$seen" -le "$(($(date +%s) + 1))" ]
ok $? "a staff member of before the upgrade counts as seen at the upgrade ($seen)"
adm "$UDB" staff add pia
is "$(sql "$UDB" "SELECT coalesce(last_seen_at, -1) FROM staff WHERE username = 'pia'")" -1 \
   "one added after it: never seen (notices count from created_at)"
for bad in "not-an-email" "two@@example.org" "a b@example.org" "x@nodot" ""; do
    adm "$DB" staff update alice --email "$bad"
    is "$rc" 1 "--email '$bad': exit 1"
    is "$(printf '%s\n' "$err" | wc -l)" 1 "--email '$bad': one error line"
    like "$err" "^portal-manager-admin: email '$bad' " "--email '$bad': says what is wrong"
done
is "$(sql "$DB" "SELECT email FROM staff WHERE username = 'alice'")" "alice.notices@example.org" \
   "a refused address changes nothing"
adm "$DB" staff update alice --name "Alice B." --email "not-an-email"
is "$rc" 1 "--name with a bad --email: exit 1"
is "$(sql "$DB" "SELECT display_name FROM staff WHERE username = 'alice'")" "Alice A." \
   "--name with a bad --email: the name is not changed either"
adm "$DB" staff update ghost --email ghost@example.org
is "$rc" 1 "--email for an unknown staff member: exit 1"
like "$err" "unknown staff member 'ghost'" "and names the user"
adm "$DB" staff update alice --email a@example.org --no-email
is "$rc" 2 "--email and --no-email together: usage error"
like "$err" "exclude each other" "and says so"
adm "$DB" staff add dave --email dave@example.org
is "$rc" 2 "--email does not apply to staff add"
adm "$DB" staff update alice
is "$rc" 2 "staff update without options: usage error"
like "$err" "--email or --no-email" "and names --email and --no-email"
adm "$DB" staff update alice --no-email
is "$rc" 0 "staff update --no-email"
like "$out" "alice has no email address now" "--no-email: says so"
is "$(sql "$DB" "SELECT coalesce(email, 'NULL') FROM staff WHERE username = 'alice'")" "NULL" \
   "--no-email stores NULL"
adm "$DB" staff update alice --email=Alice.Notices@Example.ORG --no-all-clients
is "$rc" 0 "--email=ADDRESS with --no-all-clients"
is "$(sql "$DB" "SELECT email || '|' || all_clients FROM staff WHERE username = 'alice'")" \
   "Alice.Notices@Example.ORG|0" "both stored; the address kept as typed"
adm "$DB" staff update alice --all-clients --no-email
is "$(sql "$DB" "SELECT coalesce(email, 'NULL') || '|' || all_clients FROM staff WHERE username = 'alice'")" \
   "NULL|1" "--all-clients with --no-email"

# ---- clients import: a bad file --------------------------------------------------------
long=$(printf 'x%.0s' $(seq 1 101))
{
    printf 'first_name,last_name,date_of_birth,email\n'         # 1
    printf 'Good,Row,1990-01-01,good.row@example.org\n'        # 2
    printf 'Feb,Twentyninth,2023-02-29,\n'                     # 3 not a real date
    printf '"",Empty,1990-01-01,\n'                             # 4 empty first name
    printf 'Future,Person,2999-01-01,\n'                       # 5 in the future
    printf 'Bad,Email,1990-01-01,not-an-email\n'               # 6 invalid email
    printf 'Too,Few,1990-01-01\n'                              # 7 3 fields
    printf '"Multi\nLine",Good,1991-01-01,\n'                   # 8-9 good, two lines
    printf 'Ctl\a,Char,1990-01-01,\n'                           # 10 control character
    printf '\xc3\x28,Utf,1990-01-01,\n'                         # 11 invalid UTF-8
    printf '%s,Long,1990-01-01,\n' "$long"                      # 12 101 characters
    printf 'Bad"Quote,X,1990-01-01,\n'                          # 13 stray quote
    printf 'Month,Thirteen,1990-13-01,\n'                       # 14 month 13
    printf 'Slash,Date,01/02/1990,\n'                           # 15 not YYYY-MM-DD
    printf 'Too,Many,1990-01-01,a@example.org,extra\n'          # 16 5 fields
    printf 'Old,Leap,1900-02-29,\n'                             # 17 1900 not a leap year
} >"$T/bad.csv"
count_before=$(sql "$DB" 'SELECT count(*) FROM clients')
adm "$DB" clients import "$T/bad.csv"
is "$rc" 1 "bad CSV: exit 1"
for line in 3 4 5 6 7 10 11 12 13 14 15 16 17; do
    like "$err" "bad.csv line $line: " "bad CSV: line $line reported"
done
for line in 1 2 8 9; do
    unlike "$err" "bad.csv line $line: " "bad CSV: good line $line not reported"
done
like "$err" "line 3: date_of_birth '2023-02-29' is not a real date" "reason: not a real date"
like "$err" "line 4: first_name is empty" "reason: empty name"
like "$err" "line 5: .*in the future" "reason: future date"
like "$err" "line 6: email 'not-an-email'" "reason: invalid email"
like "$err" "line 7: has 3 fields, expected 4" "reason: field count"
like "$err" "line 10: first_name is not valid UTF-8 or contains control characters" "reason: control character"
like "$err" "line 11: first_name is not valid UTF-8" "reason: invalid UTF-8"
like "$err" "line 12: first_name is longer than 100 characters" "reason: name too long"
like "$err" "line 13: quote inside a field" "reason: stray quote"
like "$err" "13 bad rows .*nothing was imported" "bad CSV: summary says nothing was imported"
is "$(sql "$DB" 'SELECT count(*) FROM clients')" "$count_before" "bad CSV: clients unchanged"
is "$(sql "$DB" "SELECT count(*) FROM clients WHERE last_name IN ('Row', 'Good')")" 0 \
   "bad CSV: not even its good rows were imported"

printf 'first,last,dob,email\nA,B,1990-01-01,\n' >"$T/header.csv"
adm "$DB" clients import "$T/header.csv"
is "$rc" 1 "wrong header: exit 1"
like "$err" "header must be exactly first_name,last_name,date_of_birth,email" "wrong header: says what it must be"
: >"$T/empty.csv"
adm "$DB" clients import "$T/empty.csv"
is "$rc" 1 "empty file: exit 1"
adm "$DB" clients import "$T/missing.csv"
is "$rc" 1 "missing file: exit 1"
printf 'first_name,last_name,date_of_birth,email\n"never closed,X,1990-01-01,\nA,B,1990-01-01,\n' >"$T/open.csv"
adm "$DB" clients import "$T/open.csv"
is "$rc" 1 "unterminated quote: exit 1"
like "$err" "open.csv line 2: quoted field is never closed" "unterminated quote: line of the opening quote"
# a stray quote that closes two lines later before a comma makes one record of the right width
# (the first name held the next line, a client of its own): refused, nothing imported
printf 'first_name,last_name,date_of_birth,email\n"Stray,Quote,1990-01-01,\nLost,Row,1990-02-02,\nTook",Lines,1990-03-03,t@example.org\n' >"$T/took.csv"
adm "$DB" clients import "$T/took.csv"
is "$rc" 1 "a stray quote that makes one record of three lines: exit 1"
like "$err" "took.csv line 2: this row runs over lines 2 to 4, and its value 1 in double quotes holds line breaks and commas" \
     "the stray quote's record is reported with its lines"
is "$(sql "$DB" 'SELECT count(*) FROM clients')" "$count_before" "a stray quote's record: nothing imported"

# a database error in the middle of an import rolls everything back
if [ "$DRIVER" = sqlite3 ]; then
    sql "$DB" "CREATE TRIGGER t_explode BEFORE INSERT ON clients WHEN NEW.last_name = 'Explode'
               BEGIN SELECT RAISE(ABORT, 'boom'); END;"
else
    sql "$DB" "CREATE FUNCTION t_explode() RETURNS trigger LANGUAGE plpgsql AS \$\$
               BEGIN IF NEW.last_name = 'Explode' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END \$\$;
               CREATE TRIGGER t_explode BEFORE INSERT ON clients FOR EACH ROW EXECUTE FUNCTION t_explode();"
fi
printf 'first_name,last_name,date_of_birth,email\nOne,Fine,1990-01-01,\nTwo,Fine,1990-01-02,\nThree,Explode,1990-01-03,\n' >"$T/explode.csv"
adm "$DB" clients import "$T/explode.csv"
is "$rc" 1 "database error during import: exit 1"
like "$err" "boom" "database error is shown"
like "$err" "rolled back; nothing was imported" "and the import is rolled back"
is "$(sql "$DB" "SELECT count(*) FROM clients WHERE last_name = 'Fine'")" 0 "rows before the error are gone too"
if [ "$DRIVER" = sqlite3 ]; then
    sql "$DB" "DROP TRIGGER t_explode"
else
    sql "$DB" "DROP TRIGGER t_explode ON clients; DROP FUNCTION t_explode();"
fi

adm "$DB" demo-data
is "$rc" 1 "demo-data refuses a database that holds other data"
like "$err" "only fills an empty database" "and says why"

# ---- migrations ------------------------------------------------------------------------
MIG=$(new_db mig); register_db mig
# fake migrations numbered after the shipped ones: V1 applies, V2 breaks, V3 leaves a gap
V1=$(printf %03d $((NEWEST + 1))) V2=$(printf %03d $((NEWEST + 2))) V3=$(printf %03d $((NEWEST + 3)))
mkdir -p "$T/schema1/migrations/$DRIVER"
cp "$SCHEMA"/sqlite.sql "$SCHEMA"/postgresql.sql "$T/schema1/"
cp "$SCHEMA"/migrations/"$DRIVER"/*.sql "$T/schema1/migrations/$DRIVER/" 2>/dev/null || true
if [ "$DRIVER" = sqlite3 ]; then
    cat >"$T/schema1/migrations/$DRIVER/$V1-fake-table.sql" <<'SQL'
-- a fake migration: a table, a trigger with ';' inside its body, a row
CREATE TABLE pm_fake_migration (
    id   INTEGER PRIMARY KEY,
    note TEXT NOT NULL DEFAULT 'a;b'
);
CREATE TRIGGER pm_fake_no_delete BEFORE DELETE ON pm_fake_migration
BEGIN
    SELECT RAISE(ABORT, 'no; deletes');
END;
INSERT INTO pm_fake_migration (note) VALUES ('migrated');
SQL
else
    cat >"$T/schema1/migrations/$DRIVER/$V1-fake-table.sql" <<'SQL'
-- a fake migration: a table, a function with ';' inside its body, a trigger, a row
CREATE TABLE pm_fake_migration (
    id   integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    note text NOT NULL DEFAULT 'a;b'
);
CREATE FUNCTION pm_fake_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'no; deletes';
END;
$$;
CREATE TRIGGER pm_fake_no_delete BEFORE DELETE ON pm_fake_migration
    FOR EACH ROW EXECUTE FUNCTION pm_fake_no_delete();
INSERT INTO pm_fake_migration (note) VALUES ('migrated');
SQL
fi
adm "$MIG" init --schema-dir "$SCHEMA"
adm "$MIG" staff add keeper
adm "$MIG" init --schema-dir "$T/schema1"
is "$rc" 0 "init applies a pending migration"
like "$out" "applied migration $V1-fake-table.sql \(schema version $((10#$V1))\)" "and reports it"
if [ "$DRIVER" = sqlite3 ]; then
    # mod_authn_dbd's prepared login query fails on SQLite after a schema change until a reload
    is "$(printf '%s\n' "$out" | tail -n 1)" \
       "now reload Apache (systemctl reload apache2): until then the client portal's login answers 500 (README, Upgrades)" \
       "SQLite: its last line says to reload Apache, and why"
else
    unlike "$out" "reload Apache" "PostgreSQL: no reload line (its login query is prepared again)"
fi
is "$(sql "$MIG" 'SELECT version FROM schema_version')" "$((10#$V1))" "schema_version is $((10#$V1))"
is "$(sql "$MIG" 'SELECT note FROM pm_fake_migration')" migrated "the migration's statements ran"
is "$(sql "$MIG" "SELECT count(*) FROM staff WHERE username = 'keeper'")" 1 "existing data kept"
fails sql "$MIG" "DELETE FROM pm_fake_migration"
ok $? "the migration's trigger body arrived whole"
adm "$MIG" init --schema-dir "$T/schema1"
is "$rc" 0 "init after the migration"
like "$out" "up to date \(version $((10#$V1))\)" "is a no-op"
unlike "$out" "reload Apache" "and asks for no reload"

cp -r "$T/schema1" "$T/schema2"
printf 'CREATE TABLE pm_fake_three (id integer);\nINSERT INTO pm_no_such_table VALUES (1);\n' \
    >"$T/schema2/migrations/$DRIVER/$V2-broken.sql"
adm "$MIG" init --schema-dir "$T/schema2"
is "$rc" 1 "a failing migration: exit 1"
like "$err" "$V2-broken.sql line 2: " "names the file and line of the failing statement"
like "$err" "stays at version $((10#$V1))" "says the version is unchanged"
is "$(sql "$MIG" 'SELECT version FROM schema_version')" "$((10#$V1))" "schema_version still $((10#$V1))"
if [ "$DRIVER" = sqlite3 ]; then
    is "$(sql "$MIG" "SELECT count(*) FROM sqlite_master WHERE name = 'pm_fake_three'")" 0 \
       "the failing migration's first statement was rolled back"
else
    is "$(sql "$MIG" "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'pm_fake_three'")" 0 \
       "the failing migration's first statement was rolled back"
fi

cp -r "$T/schema1" "$T/schema3"
printf 'SELECT 1;\n' >"$T/schema3/migrations/$DRIVER/$V3-gap.sql"
adm "$MIG" init --schema-dir "$T/schema3"
is "$rc" 1 "a gap in the migration numbers: exit 1"
like "$err" "out of sequence" "and says so"
printf 'SELECT 1;\n' >"$T/schema3/migrations/$DRIVER/bad_name.sql"
rm "$T/schema3/migrations/$DRIVER/$V3-gap.sql"
adm "$MIG" init --schema-dir "$T/schema3"
is "$rc" 1 "a badly named migration: exit 1"
adm "$MIG" init --schema-dir "$SCHEMA"
is "$rc" 1 "a database newer than the schema files: exit 1"
like "$err" "newer than the newest" "and says so"

FRESH=$(new_db fresh); register_db fresh
adm "$FRESH" init --schema-dir "$T/schema1"
is "$rc" 0 "init on an empty database with migrations"
is "$(sql "$FRESH" 'SELECT version FROM schema_version')" "$((10#$V1))" "creates version 1 and migrates to $((10#$V1))"

# ---- init computes the name keys of clients that have none ----------------------------
# Migration 004 nulls every sort key; init, not the module's first list request,
# computes them again (src/core/pm_client_keys.c, the module's code).
KEYS=$(new_db keys); register_db keys
rm -rf "$T/schema003"
cp -r "$SCHEMA" "$T/schema003"
for f in "$T/schema003/migrations/"*/[0-9][0-9][0-9]-*.sql; do   # keep 002 and 003
    v=$(basename "$f"); [ "$((10#${v%%-*}))" -gt 3 ] && rm -f "$f"
done
adm "$KEYS" init --schema-dir "$T/schema003"
is "$rc" 0 "init to schema version 3"
adm "$KEYS" staff add keys-admin --all-clients
sql "$KEYS" "INSERT INTO clients (first_name, last_name, first_name_key, last_name_key, date_of_birth, sort_key, sort_locale) VALUES ('Zoë', 'Núñez', 'zoë', 'núñez', '1987-03-14', 'x', 'en'), ('Anne Marie', 'Ødegaard', 'anne marie', 'ødegaard', '1990-01-01', 'y', 'en'), ('Sam', 'Rivera', 'sam', 'rivera', '1980-05-05', NULL, NULL)" >/dev/null
adm "$KEYS" init --schema-dir "$SCHEMA"
is "$rc" 0 "init applies migration 004 to a database with clients"
like "$out" "applied migration 004-name-prefixes.sql" "and says so"
like "$out" "^computed the name keys of 3 clients$" "and computes the keys 004 nulled (one line, with the count)"
is "$(sql "$KEYS" "SELECT count(*) FROM clients WHERE sort_key IS NULL OR sort_locale <> 'en'")" 0 \
   "afterwards no client is without a sort key"
is "$(sql "$KEYS" "SELECT count(*) FROM client_name_prefixes k JOIN clients c ON c.id = k.client_id WHERE c.last_name = 'Ødegaard'")" 51 \
   "and client_name_prefixes holds every name-word prefix (Anne Marie Ødegaard: 4 + 5 + 8, and each with the two other words' initials: 51)"
is "$(sql "$KEYS" "SELECT count(DISTINCT client_id) FROM client_name_prefixes")" 3 "for every client"
sql "$KEYS" "UPDATE clients SET sort_key = NULL WHERE last_name = 'Rivera'" >/dev/null
adm "$KEYS" init --schema-dir "$SCHEMA"
is "$rc" 0 "init on an up-to-date database with one client without keys"
like "$out" "up to date" "has no migration to apply"
like "$out" "^computed the name keys of 1 client$" "and computes that client's keys"
adm "$KEYS" init --schema-dir "$SCHEMA"
unlike "$out" "computed the name keys" "nothing to compute: no such line"

# ---- demo-data ---------------------------------------------------------------------------
DEMO=$(new_db demo); register_db demo
adm "$DEMO" init --schema-dir "$SCHEMA"
adm "$DEMO" demo-data
is "$rc" 0 "demo-data on an empty database"
is "$(sql "$DEMO" "SELECT username || '|' || display_name || '|' || all_clients || '|' || active FROM staff ORDER BY username")" \
   "$(printf 'admin|Ada Admin|1|1\nclinician1|Casey Morgan|1|1\nclinician2|Sam Rivera|0|1')" \
   "demo staff: admin and clinician1 see all clients, clinician2 does not"
nclients=$(sql "$DEMO" 'SELECT count(*) FROM clients')
ok "$([ "$nclients" -ge 45 ] && [ "$nclients" -le 60 ]; echo $?)" "about 50 demo clients ($nclients)"
ngrants=$(sql "$DEMO" "SELECT count(*) FROM staff_clients WHERE username = 'clinician2'")
ok "$([ "$ngrants" -ge 10 ] && [ "$ngrants" -le 20 ]; echo $?)" "clinician2 has a caseload of about 15 ($ngrants)"
is "$(sql "$DEMO" "SELECT count(*) FROM staff_clients WHERE username <> 'clinician2'")" 0 "only clinician2 has grants"
for name in "Zoë|Núñez" "José|Álvarez" "Søren|Kierkegaard-Ødegaard" "Łucja|Żółkiewska" "Νίκος|Παπαδόπουλος" \
            "Анна|Иванова" "太郎|山田" "Siobhán|O'Brien"; do
    f=${name%%|*}; l=${name#*|}
    is "$(sql "$DEMO" "SELECT count(*) FROM clients WHERE first_name = '$f' AND last_name = '${l//\'/\'\'}'")" 1 \
       "demo client $f $l"
done
like "$(sql "$DEMO" "SELECT last_name FROM clients")" "Nguyễn" "demo client Nguyễn"
like "$(sql "$DEMO" "SELECT first_name FROM clients")" "^Ólafur$" "demo client Ólafur"
is "$(sql "$DEMO" "SELECT count(*) FROM clients WHERE email IS NOT NULL AND email NOT LIKE '%@example.org'
                   AND email NOT LIKE '%@example.com' AND email NOT LIKE '%@example.net'")" 0 \
   "demo emails use reserved domains only"
noemail=$(sql "$DEMO" "SELECT count(*) FROM clients WHERE email IS NULL")
ok "$([ "$noemail" -ge 1 ] && [ "$noemail" -le 10 ]; echo $?)" "a few demo clients have no email ($noemail)"
is "$(sql "$DEMO" "SELECT count(*) FROM clients WHERE first_name = '' OR date_of_birth > '2025' OR date_of_birth < '1920'")" 0 \
   "demo names and dates of birth are plausible"
is "$(sql "$DEMO" "SELECT count(*) FROM clients c WHERE sort_key IS NULL OR NOT EXISTS (SELECT 1 FROM client_name_prefixes k WHERE k.client_id = c.id)")" 0 \
   "demo: every client has a sort key and name-prefix keys"
adm "$DEMO" demo-data
is "$rc" 0 "demo-data again succeeds"
like "$out" "already there; nothing to do" "and changes nothing"
is "$(sql "$DEMO" 'SELECT count(*) FROM clients')" "$nclients" "client count unchanged"

# ---- SQLite: where the file is and who owns it ------------------------------------------
if [ "$DRIVER" = sqlite3 ]; then
    adm "$T/no/such/dir/portal.db" init --schema-dir "$SCHEMA"
    is "$rc" 1 "a database in a directory that does not exist: exit 1"
    like "$err" "cannot open the sqlite3 database $T/no/such/dir/portal.db: .*directory exist" \
         "the error names the file and what to check"
    if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
        mkdir -p "$T/www" && chown nobody "$T/www"
        adm "$T/www/portal.db" init --schema-dir "$SCHEMA"
        is "$rc" 0 "root runs init in a directory httpd's user owns: it works"
        like "$err" "warning: $T/www/portal.db belongs to root, but its directory does not: httpd cannot write it" \
             "and warns that httpd could not write the file root made"
        chown -R nobody "$T/www"
        adm "$T/www/portal.db" staff list
        unlike "$err" "warning:" "no warning once the file belongs to the directory's owner"
    fi
fi

# ---- a database that needs init or is newer, one out of reach, the bounce pipe's secret ----
. "$top/t/admin/setup_errors.sh"

# ---- clients sync, staff sync-caseloads ------------------------------------------------
. "$top/t/admin/roster.sh"

# ---- what EHR exports hold besides Patients, and their shapes ---------------------------
. "$top/t/admin/roster_formats.sh"
# ---- clients sync: who a chart number is (old identifiers, MR not SSN, leading zeros) ----
. "$top/t/admin/roster_ids.sh"

# ---- who may see whom, and who printed the clients: the admin tool's audit rows ----------
. "$top/t/admin/access_audit.sh"

# ---- audit verify ------------------------------------------------------------------------
. "$top/t/admin/audit.sh"

# ---- copy: SQLite into PostgreSQL (the PostgreSQL run) -------------------------------------
. "$top/t/admin/copy.sh"

echo "1..$n"
[ "$failures" -eq 0 ]
