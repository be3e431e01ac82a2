# t/admin/audit.sh — `audit verify` and the audit trail's hash chain (issue 15), sourced
# by t/admin/run.sh: its helpers (new_db, sql, adm, ok/is/like), its TAP counter, its
# driver (every case runs on SQLite and on PostgreSQL). Tampering needs the append-only
# triggers out of the way first, as a person editing the database by hand would do.

# a chain of audit rows written by the tool itself: a sync adds, a second one updates
chained_db() {   # chained_db NAME: prints the params of a database with a few chained rows
    local d
    d=$(new_db "$1"); register_db "$1"
    adm "$d" init --schema-dir "$SCHEMA"
    printf 'external_id,first_name,last_name,date_of_birth,email\nC-1,Ana,Lopez,1990-01-02,ana@example.org\nC-2,Bo,Chen,1980-03-04,\nC-3,Cy,Díaz,1975-05-06,cy@example.org\n' >"$T/audit1.csv"
    printf 'external_id,first_name,last_name,date_of_birth,email\nC-1,Ana,Lopez,1990-01-02,ana2@example.org\nC-2,Bo,Chen,1980-03-05,\nC-3,Cy,Díaz,1975-05-06,cy@example.org\n' >"$T/audit2.csv"
    adm "$d" clients sync "$T/audit1.csv"
    adm "$d" clients sync "$T/audit2.csv"
    echo "$d"
}
untrigger() {    # untrigger PARAMS: lets UPDATE and DELETE through on audit_log
    if [ "$DRIVER" = sqlite3 ]; then
        sql "$1" "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete" >/dev/null
    else
        sql "$1" "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update" >/dev/null
    fi
}

ADB=$(chained_db audit)
adm "$ADB" --help
like "$out" "^  audit verify" "--help documents 'audit verify'"
nrows=$(sql "$ADB" "SELECT count(*) FROM audit_log")
ok "$([ "$nrows" -ge 4 ]; echo $?)" "audit: the syncs wrote audit rows ($nrows)"
is "$(sql "$ADB" "SELECT count(*) FROM audit_log WHERE chain_seq IS NULL OR length(row_hash) <> 64")" 0 \
   "audit: every row has a chain place and a SHA-256"
is "$(sql "$ADB" "SELECT min(chain_seq) || '-' || max(chain_seq) FROM audit_log")" "1-$nrows" \
   "audit: chain places 1 to $nrows"
adm "$ADB" audit verify
is "$rc" 0 "verify: an untouched trail exits 0"
like "$out" "^ok: $nrows rows; head [0-9a-f]{64}$" "verify: ok, the row count and the head hash"
head1=$(sed -n 's/.*head //p' <<<"$out")
is "$head1" "$(sql "$ADB" "SELECT row_hash FROM audit_log WHERE chain_seq = $nrows")" \
   "verify: the head hash is the last row's"
adm "$ADB" audit verify --dry-run
is "$rc" 2 "verify takes no options"

# an edit: the row's content no longer matches its hash
EDB=$(chained_db audit_edit)
untrigger "$EDB"
mid=$(sql "$EDB" "SELECT id FROM audit_log WHERE chain_seq = 2")
sql "$EDB" "UPDATE audit_log SET username = 'someone' WHERE id = $mid" >/dev/null
adm "$EDB" audit verify
is "$rc" 1 "verify: an edited row exits 1"
is "$out" "audit row $mid: its content does not match its hash: the row was changed" \
   "verify: names the edited row"
# the same edit with the row's hash made to fit: the next row no longer follows it
sql "$EDB" "UPDATE audit_log SET username = (SELECT username FROM audit_log WHERE chain_seq = 1) WHERE id = $mid" >/dev/null
adm "$EDB" audit verify
is "$rc" 0 "verify: the edit undone, the trail verifies again"
sql "$EDB" "UPDATE audit_log SET row_hash = '$(printf '%064d' 0)' WHERE id = $mid" >/dev/null
adm "$EDB" audit verify
is "$rc" 1 "verify: a replaced hash exits 1"
like "$out" "^audit row $mid: " "verify: names the row whose hash was replaced"

# a row removed in the middle, and rows removed at the end
DDB=$(chained_db audit_delete)
untrigger "$DDB"
gone=$(sql "$DDB" "SELECT id FROM audit_log WHERE chain_seq = 2")
next=$(sql "$DDB" "SELECT id FROM audit_log WHERE chain_seq = 3")
sql "$DDB" "DELETE FROM audit_log WHERE id = $gone" >/dev/null
adm "$DDB" audit verify
is "$rc" 1 "verify: a removed row exits 1"
is "$out" "audit row $next: chain place 2 expected, 3 found: the row before it was removed" \
   "verify: names the row after the gap"
TDB=$(chained_db audit_tail)
untrigger "$TDB"
last=$(sql "$TDB" "SELECT max(chain_seq) FROM audit_log")
sql "$TDB" "DELETE FROM audit_log WHERE chain_seq = $last" >/dev/null
adm "$TDB" audit verify
is "$rc" 1 "verify: the last row removed exits 1"
is "$out" "audit trail: the chain ends at place $((last - 1)) but its head says $last: rows at its end were removed" \
   "verify: says the end of the chain is missing"

# rows added by hand: without a place, and past the head
IDB=$(chained_db audit_insert)
sql "$IDB" "INSERT INTO audit_log (at, username, action, result) VALUES (1, 'admin', 'client.view', 'ok')" >/dev/null
added=$(sql "$IDB" "SELECT max(id) FROM audit_log")
adm "$IDB" audit verify
is "$rc" 1 "verify: a row inserted by hand exits 1"
is "$out" "audit row $added: it has no place in the chain: the row was added by hand" \
   "verify: names the inserted row"
PDB=$(chained_db audit_past)
last=$(sql "$PDB" "SELECT max(chain_seq) FROM audit_log")
sql "$PDB" "INSERT INTO audit_log (at, username, action, result, chain_seq, row_hash) VALUES (1, 'admin', 'client.view', 'ok', $((last + 1)), '$(printf '%064d' 0)')" >/dev/null
added=$(sql "$PDB" "SELECT max(id) FROM audit_log")
adm "$PDB" audit verify
is "$rc" 1 "verify: a row added past the head exits 1"
is "$out" "audit row $added: it is past the chain's head: the row was added by hand" \
   "verify: names the row past the head"

# a trail that began before schema 11: its older rows are counted, not hashed
ODB=$(new_db audit_old); register_db audit_old
mkdir -p "$T/schema10/migrations/$DRIVER"
cp "$SCHEMA"/sqlite.sql "$SCHEMA"/postgresql.sql "$T/schema10/"
for f in "$SCHEMA/migrations/$DRIVER"/*.sql; do
    v=$(basename "$f"); v=${v%%-*}
    [ "$((10#$v))" -lt 11 ] && cp "$f" "$T/schema10/migrations/$DRIVER/"
done
adm "$ODB" init --schema-dir "$T/schema10"
is "$rc" 0 "an older schema (10) for the upgrade case"
sql "$ODB" "INSERT INTO audit_log (at, username, action, result) VALUES (1, 'admin', 'client.view', 'ok'), (2, 'admin', 'client.view', 'ok')" >/dev/null
adm "$ODB" init --schema-dir "$SCHEMA"
is "$rc" 0 "upgrade to the chained trail"
adm "$ODB" staff add alice
adm "$ODB" clients sync "$T/audit1.csv"
adm "$ODB" audit verify
is "$rc" 0 "verify after an upgrade exits 0"
like "$out" "^ok: 1 row \(and 2 older rows from before the chain, without hashes\); head " \
     "verify: the older rows are counted apart"
untrigger "$ODB"
sql "$ODB" "DELETE FROM audit_log WHERE at = 1" >/dev/null
adm "$ODB" audit verify
is "$rc" 1 "verify: an older row removed exits 1"
is "$out" "audit trail: 1 rows from before the chain, 2 expected: some were removed" \
   "verify: says older rows are missing"
