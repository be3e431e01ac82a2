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
sql_file() {     # sql_file PARAMS FILE: runs a file of SQL (the fixture encoder's)
    if [ "$DRIVER" = sqlite3 ]; then
        sqlite3 -batch "$1" <"$2"
    else
        psql "$1" -XAtq -v ON_ERROR_STOP=1 -f "$2" >/dev/null
    fi
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
is "$rc" 1 "verify: the edit undone, the chain fits again, but the triggers are still off: exit 1"
like "$out" "^audit trail: the trigger audit_log_no_update on audit_log is missing( or disabled)?: the trail is not append-only$" \
     "verify: names the trigger taken out of the way"
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
adm "$ODB" init --schema-dir "$(schema_before 11)"
is "$rc" 0 "an older schema (10) for the upgrade case"
sql "$ODB" "INSERT INTO audit_log (at, username, action, result) VALUES (1, 'admin', 'client.view', 'ok'), (2, 'admin', 'client.view', 'ok')" >/dev/null
adm "$ODB" init --schema-dir "$SCHEMA"
is "$rc" 0 "upgrade to the chained trail"
adm "$ODB" staff add alice
adm "$ODB" clients sync "$T/audit1.csv"
adm "$ODB" audit verify
is "$rc" 0 "verify after an upgrade exits 0"
like "$out" "^ok: 2 rows \(and 2 older rows from before the chain, without hashes\); head " \
     "verify: the older rows are counted apart (staff add's row and the sync's)"
untrigger "$ODB"
sql "$ODB" "DELETE FROM audit_log WHERE at = 1" >/dev/null
adm "$ODB" audit verify
is "$rc" 1 "verify: an older row removed exits 1"
is "$out" "audit trail: 1 rows from before the chain, 2 expected: some were removed" \
   "verify: says older rows are missing"

# ---- export and prune ----------------------------------------------------------------------
# an old trail: two rows from before the chain (2017, and one of this year), then chain
# rows from 2018 and late 2019 made by the independent encoder, then one by the tool now
RDB=$(new_db audit_prune); register_db audit_prune
adm "$RDB" init --schema-dir "$(schema_before 11)"
sql "$RDB" "INSERT INTO audit_log (at, username, action, result) VALUES (1500000000, 'archivist', 'client.view', 'ok'), ($(date +%s), 'admin', 'client.view', 'ok')" >/dev/null
adm "$RDB" init --schema-dir "$SCHEMA"
# 2018-01-01 … 2018-01-05, 2019-12-01, 2019-12-02
python3 "$top/t/lib/audit_chain_fixture.py" 1 "$(printf '%064d' 0)" 1514764800 1514851200 1514937600 \
    1515024000 1515110400 1575158400 1575244800 >"$T/old-chain.sql"
sql_file "$RDB" "$T/old-chain.sql"
adm "$RDB" clients sync "$T/audit1.csv"
adm "$RDB" audit verify
is "$rc" 0 "prune: the old trail verifies"
like "$out" "^ok: 8 rows \(and 2 older rows from before the chain, without hashes\)" "prune: 7 old chain rows, 1 new, 2 older"
adm "$RDB" --help
like "$out" "^  audit export --before YYYY-MM-DD FILE" "--help documents 'audit export'"
like "$out" "^  audit prune --before YYYY-MM-DD FILE" "--help documents 'audit prune'"
adm "$RDB" audit export "$T/x.jsonl"
is "$rc" 2 "export without --before: usage error"
adm "$RDB" audit export --before 2099-01-01 "$T/x.jsonl"
is "$rc" 2 "export --before a future day: usage error"
adm "$RDB" audit export --before 2019-01-01 "$T/2019.jsonl"
is "$rc" 0 "export --before 2019-01-01"
is "$out" "exported 1 rows from before the chain and 5 chain rows (places 1-5) older than 2019-01-01 to $T/2019.jsonl; last hash $(sql "$RDB" "SELECT row_hash FROM audit_log WHERE chain_seq = 5")" \
   "export: says what it wrote, with the hash place 6 links to"
is "$(stat -c %a "$T/2019.jsonl")" 600 "export: the file is the owner's only (PHI)"
is "$(wc -l <"$T/2019.jsonl")" 7 "export: six rows and the summary line"
like "$(tail -n1 "$T/2019.jsonl")" '"pm_audit_export":1' "export: the summary line is last"
adm "$RDB" audit export --before 2019-01-01 "$T/2019.jsonl"
is "$rc" 1 "export: an existing file is never overwritten"
before_rows=$(sql "$RDB" "SELECT count(*) FROM audit_log")
adm "$RDB" audit prune --before 2025-01-01 "$T/2019.jsonl"
is "$rc" 1 "prune: a day within audit_retention_days is refused"
like "$err" "less than audit_retention_days \(2190\) ago; nothing pruned" "prune: says why"
adm "$RDB" audit prune --before 2018-06-01 "$T/2019.jsonl"
is "$rc" 1 "prune: another day than the export's is refused"
sed 's/"username":"archivist"/"username":"someone"/' "$T/2019.jsonl" | sed '3s/.*/&/' >"$T/edited.jsonl"
sed -i '3s/"someone"/"archivist2"/' "$T/edited.jsonl"
adm "$RDB" audit prune --before 2019-01-01 "$T/edited.jsonl"
is "$rc" 1 "prune: an export edited after the fact is refused"
head -n 3 "$T/2019.jsonl" >"$T/short.jsonl"; tail -n 1 "$T/2019.jsonl" >>"$T/short.jsonl"
adm "$RDB" audit prune --before 2019-01-01 "$T/short.jsonl"
is "$rc" 1 "prune: an export missing rows is refused"
is "$(sql "$RDB" "SELECT count(*) FROM audit_log")" "$before_rows" "prune: refused ones removed nothing"
h3=$(sql "$RDB" "SELECT row_hash FROM audit_log WHERE chain_seq = 3")
h5=$(sql "$RDB" "SELECT row_hash FROM audit_log WHERE chain_seq = 5")
h6=$(sql "$RDB" "SELECT row_hash FROM audit_log WHERE chain_seq = 6")
adm "$RDB" audit prune --before 2019-01-01 "$T/2019.jsonl"
is "$rc" 0 "prune: the export checks out"
like "$out" "^pruned 6 rows older than 2019-01-01; the chain now starts after place 5 \(anchor [0-9a-f]{64}\)$" \
     "prune: says what it removed and the new anchor"
is "$(sql "$RDB" "SELECT count(*) FROM audit_log")" "$((before_rows - 6 + 1))" "prune: six rows gone, its own audit row added"
is "$(sql "$RDB" "SELECT count(*) FROM audit_log WHERE action = 'audit.prune' AND username = 'portal-manager-admin'")" 1 \
   "prune: audited"
adm "$RDB" audit verify
is "$rc" 0 "verify after a prune exits 0"
like "$out" "^ok: 4 rows \(and 1 older rows from before the chain, without hashes\), from the anchor at chain place 5; head " \
     "verify: starts at the anchor"
fails sql "$RDB" "DELETE FROM audit_log WHERE chain_seq = 6"
ok $? "after a prune the trail is append-only again"
adm "$RDB" audit prune --before 2019-01-01 "$T/2019.jsonl"
is "$rc" 1 "prune: the same export again is refused (already pruned)"

# ---- anchors: heads kept outside the database (the error log's PM00625 lines) ------------
# after a legitimate prune: an anchor it removed is counted, not checked; the prune's own
# anchor and the rows after it are checked
adm "$RDB" audit verify --anchor "3:$h3" --anchor "5:$h5" --anchor "6:$h6"
is "$rc" 0 "anchors after a prune: exit 0"
like "$out" "; anchors: 2 held, 1 before the prune's anchor \(not checked\)$" \
     "anchors after a prune: the pruned one is counted apart"
adm "$RDB" audit verify --anchor "5:$(printf '%064d' 5)"
is "$rc" 1 "anchors after a prune: a wrong hash at the prune's anchor exits 1"
like "$out" "^audit trail: the anchor at chain place 5 says hash 0+5, the chain has $h5: the trail was rewritten$" \
     "anchors after a prune: says the hash differs"
adm "$RDB" audit verify --anchor "3:$(printf '%064d' 3)"
is "$rc" 0 "anchors after a prune: a place the prune removed is not checked, whatever its hash (documented)"

# a prune faked by hand: the gate opened, the first rows deleted, the start moved, no record
FDB=$(chained_db audit_fake_prune)
h2=$(sql "$FDB" "SELECT row_hash FROM audit_log WHERE chain_seq = 2")
sql "$FDB" "UPDATE audit_chain SET prune_upto = 2; DELETE FROM audit_log WHERE chain_seq <= 2; UPDATE audit_chain SET prune_upto = -1, anchor_seq = 2, anchor_hash = '$h2'" >/dev/null
adm "$FDB" audit verify
is "$rc" 1 "a prune faked by hand (no audit.prune row) exits 1, with no anchor given"
is "$out" "audit trail: the chain starts after place 2 but no audit prune recorded that: rows at its beginning were removed" \
   "a faked prune: says the chain's beginning was removed"

# the privacy officer's finding: the chain shortened at its end through the prune gate,
# without dropping a trigger or computing a hash
ADB2=$(new_db audit_anchor); register_db audit_anchor
adm "$ADB2" init --schema-dir "$SCHEMA"
now=$(date +%s)
python3 "$top/t/lib/audit_chain_fixture.py" 1 "$(printf '%064d' 0)" $(seq "$((now - 29))" "$((now - 1))") >"$T/anchor-chain.sql"
sql_file "$ADB2" "$T/anchor-chain.sql"
h20=$(sql "$ADB2" "SELECT row_hash FROM audit_log WHERE chain_seq = 20")
h27=$(sql "$ADB2" "SELECT row_hash FROM audit_log WHERE chain_seq = 27")
h29=$(sql "$ADB2" "SELECT row_hash FROM audit_log WHERE chain_seq = 29")
is "$(sql "$ADB2" "SELECT count(*) FROM audit_log WHERE id = chain_seq")" 29 "anchors: 29 chained rows, ids 1-29"
adm "$ADB2" audit verify --anchor "29:$h29"
is "$rc" 0 "anchors: the untouched chain holds its head"
like "$out" "^ok: 29 rows; head $h29; anchors: 1 held$" "anchors: ok line counts the anchor held"
cat >"$T/error.log" <<LOG
[Mon Dec 07 03:00:00.000001 2026] [portal_manager:notice] [pid 41:tid 42] PM00625: audit chain head: seq 20, hash $h20
[Mon Dec 07 03:10:00.000001 2026] [core:notice] [pid 40:tid 40] AH00094: Command line: '/usr/sbin/apache2'
[Mon Dec 07 04:00:00.000001 2026] [portal_manager:notice] [pid 41:tid 42] PM00625: audit chain head: seq 29, hash $h29
LOG
sql "$ADB2" "UPDATE audit_chain SET prune_upto=29; DELETE FROM audit_log WHERE id IN (28,29); UPDATE audit_chain SET prune_upto=-1, seq=27, hash=(SELECT row_hash FROM audit_log WHERE id=27);" >/dev/null
adm "$ADB2" audit verify
is "$rc" 0 "truncated at its end, no anchor given: still exit 0 (a shorter chain is a chain; documented)"
is "$out" "ok: 27 rows; head $h27" "truncated, no anchor: reports the shorter chain"
adm "$ADB2" audit verify --anchor "29:$h29"
is "$rc" 1 "truncated: an anchor at place 29 exits 1"
is "$out" "audit trail: the anchor at chain place 29 is past the chain's end (place 27): rows at its end were removed" \
   "truncated: one line saying the end was removed"
adm "$ADB2" audit verify --anchors-from "$T/error.log"
is "$rc" 1 "truncated: --anchors-from the error log exits 1"
is "$out" "audit trail: the anchor at chain place 29 is past the chain's end (place 27): rows at its end were removed" \
   "truncated: the error log's later head is the one that no longer holds"
adm "$ADB2" audit verify --anchor "20:$h20"
is "$rc" 0 "truncated: an anchor older than the removed rows does not see it (documented)"
like "$out" "; anchors: 1 held$" "truncated: that anchor still holds"
# the chain grown again over the removed places: the anchor's place holds another hash
adm "$ADB2" clients sync "$T/audit1.csv"
adm "$ADB2" clients sync "$T/audit2.csv"
ok "$([ "$(sql "$ADB2" "SELECT max(chain_seq) FROM audit_log")" -ge 29 ]; echo $?)" "regrown: new rows took places 28, 29 and on"
adm "$ADB2" audit verify --anchors-from "$T/error.log"
is "$rc" 1 "regrown: exits 1"
like "$out" "^audit trail: the anchor at chain place 29 says hash $h29, the chain has [0-9a-f]{64}: the trail was rewritten$" \
     "regrown: says the hash at the anchor's place differs"
adm "$ADB2" audit verify --anchor 29
is "$rc" 2 "--anchor without a hash: usage error"
like "$err" "--anchor 29: expected SEQ:HASH" "--anchor without a hash: says the form"
adm "$ADB2" audit verify --anchor "x:$h29"
is "$rc" 2 "--anchor with a bad place: usage error"
printf 'nothing here\n' >"$T/empty.log"
adm "$ADB2" audit verify --anchors-from "$T/empty.log"
is "$rc" 1 "--anchors-from a file without a head line: exit 1"
like "$err" "holds no \"audit chain head: seq N, hash H\" line \(PM00625\)" "and says so"
adm "$ADB2" audit export --before 2019-01-01 --anchor "29:$h29" "$T/never.jsonl"
is "$rc" 2 "--anchor applies to verify only"

# the append-only triggers: each one missing (or, on PostgreSQL, disabled) is named
GDB=$(chained_db audit_guard)
adm "$GDB" audit verify
is "$rc" 0 "guards: all there, exit 0"
if [ "$DRIVER" = sqlite3 ]; then
    for trg in audit_log_no_delete audit_log_no_replace audit_log_no_update; do
        cp "$GDB" "$T/guard-$trg.db"
        sql "$T/guard-$trg.db" "DROP TRIGGER $trg" >/dev/null
        adm "$T/guard-$trg.db" audit verify
        is "$rc" 1 "guards: $trg dropped exits 1"
        is "$out" "audit trail: the trigger $trg on audit_log is missing: the trail is not append-only" \
           "guards: names $trg"
    done
else
    sql "$GDB" "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate" >/dev/null
    adm "$GDB" audit verify
    is "$rc" 1 "guards: audit_log_no_truncate disabled exits 1"
    is "$out" "audit trail: the trigger audit_log_no_truncate on audit_log is missing or disabled: the trail is not append-only" \
       "guards: names audit_log_no_truncate"
    sql "$GDB" "ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate; DROP TRIGGER audit_log_no_update ON audit_log" >/dev/null
    adm "$GDB" audit verify
    is "$rc" 1 "guards: audit_log_no_update dropped exits 1"
    is "$out" "audit trail: the trigger audit_log_no_update on audit_log is missing or disabled: the trail is not append-only" \
       "guards: names audit_log_no_update"
fi
