# t/admin/copy.sh — portal-manager-admin copy: a SQLite database with real activity
# into a fresh PostgreSQL database (sourced by run.sh; needs both databases, so it runs
# in the PostgreSQL run: the source is a SQLite file, the target a throwaway schema).

if [ "$DRIVER" != pgsql ]; then
    echo "# copy: runs in the PostgreSQL run (PM_DB_DRIVER=pgsql), which has both databases"
    return 0
fi

SRC="$T/copy-source.db"
# sadm_run ARGS...: the tool on the SQLite source; cadm TARGET: copy into TARGET
sadm_run() {
    PM_DB_DRIVER=sqlite3 PM_DB_PARAMS=$SRC "$ADMIN" "$@" >"$T/out" 2>"$T/err"
    rc=$?; out=$(cat "$T/out"); err=$(cat "$T/err")
}
cadm() { sadm_run copy --to-driver pgsql --to-params "$1"; }
ssql() { sqlite3 -batch -noheader "$SRC" "$1"; }

# the source: the demo, staff changes, settings, invitations with outbox rows, accepted
# accounts (whose home grants the trigger writes), a reset link naming its account,
# a superseded token, audit rows
sadm_run init --schema-dir "$SCHEMA"
sadm_run demo-data
sadm_run staff add copier --name "Co Pier"
sadm_run staff grant copier 3
sadm_run staff update clinician2 --email c2@example.org
now=$(date +%s)
ssql "INSERT INTO settings (name, value, updated_at, updated_by) VALUES
        ('invitation_expiry_days', '10', $now, 'admin'), ('default_language', '\"es\"', $now, 'admin');
      INSERT INTO representatives (id, client_id, email, first_name, last_name, relationship,
        created_by, created_at, scopes) VALUES (1, 2, 'rep@example.org', 'Rae', 'Parent',
        'parent', 'admin', $now, 'messages billing');
      INSERT INTO invitations (id, client_id, email, token_hash, status, created_by, created_at,
        expires_at, sent_at, send_count) VALUES
        (1, 1, 'c1@example.org', 'aa01', 'accepted', 'admin', $now, $now + 86400, $now, 1),
        (2, 2, 'c2@example.org', 'aa02', 'pending', 'admin', $now, $now + 86400, $now, 1);
      INSERT INTO invitations (id, client_id, representative_id, email, token_hash, status,
        created_by, created_at, expires_at, send_count) VALUES
        (3, 2, 1, 'rep@example.org', 'aa03', 'accepted', 'admin', $now, $now + 86400, 1);
      INSERT INTO superseded_tokens (token_hash, invitation_id, superseded_at)
        VALUES ('aa00', 2, $now);
      INSERT INTO outbox (id, invitation_id, purpose, to_address, message_id, status,
        next_attempt_at, created_at, client_id) VALUES
        (1, 1, 'invitation', 'c1@example.org', '<m1@x>', 'sent', $now, $now, 1),
        (2, 2, 'invitation', 'c2@example.org', '<m2@x>', 'queued', $now, $now, 2);
      INSERT INTO portal_accounts (id, username, password_hash, client_id, invitation_id,
        created_at) VALUES (1, 'c1@example.org', 'x', 1, 1, $now);
      INSERT INTO portal_accounts (id, username, password_hash, client_id, representative_id,
        invitation_id, created_at) VALUES (2, 'rep@example.org', 'x', 2, 1, 3, $now);
      INSERT INTO account_grants (account_id, client_id, representative_id, created_at)
        VALUES (2, 5, 1, $now);
      INSERT INTO invitations (id, client_id, email, token_hash, status, created_by, created_at,
        expires_at, kind, account_id) VALUES
        (4, 1, 'c1@example.org', 'aa04', 'pending', 'portal', $now, $now + 3600, 'reset', 1);"
is "$?" 0 "copy: the source has invitations, outbox rows, accounts, grants, settings"
sadm_run audit verify
src_head=$(printf '%s' "$out" | sed -n 's/^ok: \([0-9]*\) rows*; head \([0-9a-f]*\)$/\1:\2/p')
ok "$([ -n "$src_head" ] && [ "${src_head%%:*}" -ge 3 ]; echo $?)" "copy: the source's audit chain verifies ($src_head)"

DST=$(new_db copy); register_db copy
adm "$DST" init --schema-dir "$SCHEMA"
is "$(sql "$DST" "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" f \
    "copy: the target's owner is no superuser"

# a failure mid-copy (outbox refuses every row) leaves the target as init made it
sql "$DST" "ALTER TABLE outbox ADD CONSTRAINT copy_test_refuse CHECK (id < 0) NOT VALID" >/dev/null
cadm "$DST"
is "$rc" 1 "copy: a table refusing a row fails the copy"
like "$err" "pm_copy_write_outbox" "copy: says which table's write failed"
left=$(sql "$DST" "SELECT (SELECT count(*) FROM staff) + (SELECT count(*) FROM clients)
                  + (SELECT count(*) FROM invitations) + (SELECT count(*) FROM audit_log)
                  + (SELECT count(*) FROM client_name_prefixes) + (SELECT count(*) FROM settings)")
is "$left" 0 "copy: after the failure the target holds nothing"
is "$(sql "$DST" "SELECT seq FROM audit_chain")" 0 "copy: after the failure the chain is init's"
sql "$DST" "ALTER TABLE outbox DROP CONSTRAINT copy_test_refuse" >/dev/null

cadm "$DST"
is "$rc" 0 "copy: exit 0"
like "$(printf '%s\n' "$out" | tail -n 1)" \
    "^copied [0-9]+ rows in [0-9.]+ s: staff 4, settings 2, clients 50, .*invitations 4, portal_accounts 2, .*account_grants 3," \
    "copy: the last line counts the rows of each table"
like "$out" "^audit chain: ${src_head%%:*} rows, head ${src_head#*:} on both" "copy: both chains end at the same head"
[ "$rc" = 0 ] || printf '%s\n' "$err" | diag

# every table's content, canonically: columns by name, NULL as \N, lines sorted
dump_src() {
    local cols
    cols=$(ssql "SELECT group_concat(name, ', ') FROM (SELECT name FROM pragma_table_info('$1') ORDER BY name)")
    sqlite3 -batch -noheader -separator $'\x1f' -nullvalue '\N' "$SRC" "SELECT $cols FROM $1 ${2:-}" | LC_ALL=C sort
}
dump_dst() {
    local cols
    cols=$(ssql "SELECT group_concat(name, ', ') FROM (SELECT name FROM pragma_table_info('$1') ORDER BY name)")
    psql "$DST" -XAtq -F $'\x1f' -P null='\N' -c "SELECT $cols FROM $1 ${2:-}" | LC_ALL=C sort
}
for t in staff settings clients client_name_key_sets client_name_prefixes staff_clients \
         representatives invitations superseded_tokens outbox portal_accounts account_grants; do
    a=$(dump_src "$t"); b=$(dump_dst "$t")
    ok "$([ -n "$a" ] && [ "$a" = "$b" ]; echo $?)" "copy: $t the same on both ($(printf '%s\n' "$a" | wc -l) rows)"
done
# the audit trail: the source's rows, then the copy's own (database.copy, as admin-tool)
a=$(dump_src audit_log); b=$(dump_dst audit_log "WHERE action <> 'database.copy'")
ok "$([ -n "$a" ] && [ "$a" = "$b" ]; echo $?)" "copy: audit_log the same on both ($(printf '%s\n' "$a" | wc -l) rows)"
row=$(sql "$DST" "SELECT username || ' ' || (detail::json->>'from_driver') || ' ' || (detail::json->>'rows') || ' ' || (detail::jsonb ? 'os_user')::text
                  FROM audit_log WHERE action = 'database.copy'")
like "$row" "^admin-tool sqlite3 [0-9]+ true$" "copy: audited as admin-tool, with the rows and the os_user"
adm "$DST" audit verify --anchor "${src_head%%:*}:${src_head#*:}"
is "$rc" 0 "copy: the target's chain holds the source's head"

# a new audited write on the target: the identity columns go on after the copied ids
adm "$DST" staff add after-copy
is "$rc" 0 "copy: an audited write on the target succeeds"
[ "$rc" = 0 ] || printf '%s\n' "$err" | diag
next=$(sql "$DST" "INSERT INTO invitations (client_id, email, created_by, created_at, expires_at)
                   VALUES (3, 'x@example.org', 'admin', 1, 2) RETURNING id")
is "$next" 5 "copy: a new invitation takes the next id"
sql "$DST" "DELETE FROM invitations WHERE id = 5" >/dev/null

# into a target that holds data: refused, nothing changed
before=$(dump_dst audit_log; dump_dst staff)
cadm "$DST"
is "$rc" 1 "copy: a target with data is refused"
like "$err" "target database is not empty .*createdb .* init' and copy again" "copy: one line says what to run"
is "$(printf '%s\n' "$err" | wc -l)" 1 "copy: the refusal is one line"
is "$(dump_dst audit_log; dump_dst staff)" "$before" "copy: the refused copy changed nothing"

# the command line
sadm_run copy --to-driver sqlite3 --to-params "$T/x.db"
is "$rc" 2 "copy: --to-driver other than pgsql is a usage error"
like "$err" "copy goes from --driver sqlite3 to --to-driver pgsql" "copy: says which way it copies"
sadm_run copy --to-driver pgsql
is "$rc" 2 "copy: no --to-params is a usage error"
