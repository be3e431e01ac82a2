# t/admin/access_audit.sh — who may see which clients, and who printed them, in the audit
# trail (issue 15), sourced by t/admin/run.sh (its helpers, TAP counter and driver). Every
# command that changes staff or their access, and every command that prints the clients,
# writes its rows as user admin-tool, with the operating-system user (and SUDO_USER) in
# the detail, in the same transaction as the change; a refused, failed or dry run writes none.

XDB=$(new_db access); register_db access
adm "$XDB" init --schema-dir "$SCHEMA"
ME=$(id -un)
RUN="\"os_user\":\"$ME\""
# last: the newest row as username|action|client_id|detail; rows: how many there are
last() { sql "$XDB" "SELECT username || '|' || action || '|' || coalesce(CAST(client_id AS text), '') || '|' || detail FROM audit_log ORDER BY id DESC LIMIT 1"; }
rows() { sql "$XDB" "SELECT count(*) FROM audit_log"; }
# unchanged BEFORE WHAT: the trail did not grow
unchanged() { is "$(rows)" "$1" "$2: no audit row"; }

adm "$XDB" staff add clin2 --name "Clin Two"
is "$(last)" "admin-tool|staff.add||{\"staff\":\"clin2\",\"all_clients\":false,$RUN}" \
   "staff add: staff.add {staff, all_clients, os_user}"
adm "$XDB" staff add boss --all-clients
is "$(last)" "admin-tool|staff.add||{\"staff\":\"boss\",\"all_clients\":true,$RUN}" \
   "staff add --all-clients: all_clients true"
n0=$(rows)
adm "$XDB" staff add clin2
is "$rc" 1 "staff add of an existing member is refused"
unchanged "$n0" "a refused staff add"
adm "$XDB" staff add " bad"
unchanged "$n0" "a staff add with a bad name"

printf 'first_name,last_name,date_of_birth,email\nAna,Lopez,1990-01-02,ana@example.org\nBo,Chen,1980-03-04,\n' >"$T/access.csv"
adm "$XDB" clients import "$T/access.csv"
is "$rc" 0 "clients import"
is "$(last)" "admin-tool|client.import||{\"added\":2,$RUN}" "clients import: client.import {added, os_user}"
n0=$(rows)
adm "$XDB" clients import "$T/access.csv"
is "$rc" 1 "importing the same clients again is refused"
unchanged "$n0" "a refused import"
ana=$(sql "$XDB" "SELECT id FROM clients WHERE first_name = 'Ana'")
bo=$(sql "$XDB" "SELECT id FROM clients WHERE first_name = 'Bo'")

SUDO_USER=ann adm "$XDB" staff grant clin2 "$ana"
is "$rc" 0 "staff grant"
is "$(last)" "admin-tool|staff.grant|$ana|{\"staff\":\"clin2\",$RUN,\"sudo_user\":\"ann\"}" \
   "staff grant: staff.grant with the client, staff, os_user and sudo_user"
n0=$(rows)
adm "$XDB" staff grant clin2 "$ana"
like "$out" "nothing to do" "a grant already there: nothing to do"
unchanged "$n0" "a grant already there"
adm "$XDB" staff grant clin2 999999
is "$rc" 1 "a grant of an unknown client is refused"
unchanged "$n0" "a refused grant"
adm "$XDB" staff grant nobody "$ana"
unchanged "$n0" "a grant to an unknown staff member"
adm "$XDB" staff revoke clin2 "$ana"
is "$rc" 0 "staff revoke"
is "$(last)" "admin-tool|staff.revoke|$ana|{\"staff\":\"clin2\",$RUN}" \
   "staff revoke: staff.revoke with the client (the grant's row is gone, its end is not)"
n0=$(rows)
adm "$XDB" staff revoke clin2 "$ana"
unchanged "$n0" "a revoke of no grant"

# all clients: on, looked, off — the trail shows all three
adm "$XDB" staff update clin2 --all-clients
is "$(last)" "admin-tool|staff.update||{\"staff\":\"clin2\",\"changed\":[\"all_clients\"],\"all_clients\":{\"before\":false,\"after\":true},$RUN}" \
   "staff update --all-clients: the field and its old and new value"
adm "$XDB" clients list
is "$rc" 0 "clients list"
like "$out" "Lopez" "clients list prints the clients"
is "$(last)" "admin-tool|client.list||{\"rows\":2,$RUN}" "clients list: client.list {rows, os_user}"
adm "$XDB" staff update clin2 --no-all-clients --name "C. Two" --email clin2@example.org
is "$(last)" "admin-tool|staff.update||{\"staff\":\"clin2\",\"changed\":[\"display_name\",\"all_clients\",\"email\"],\"all_clients\":{\"before\":true,\"after\":false},$RUN}" \
   "staff update: name, all clients off and email named as changed (never the values)"
n0=$(rows)
adm "$XDB" staff update clin2 --name "C. Two" --email clin2@example.org --no-all-clients
unchanged "$n0" "an update that changes nothing"
adm "$XDB" staff update clin2 --email not-an-address
is "$rc" 1 "an update with a bad address is refused"
unchanged "$n0" "a refused update"
adm "$XDB" staff update nobody --all-clients
unchanged "$n0" "an update of an unknown staff member"
adm "$XDB" staff update clin2 --no-email
is "$(last)" "admin-tool|staff.update||{\"staff\":\"clin2\",\"changed\":[\"email\"],$RUN}" \
   "staff update --no-email: email named as changed"

adm "$XDB" staff disable clin2
is "$(last)" "admin-tool|staff.disable||{\"staff\":\"clin2\",$RUN}" "staff disable: staff.disable"
n0=$(rows)
adm "$XDB" staff disable clin2
unchanged "$n0" "disabling a disabled member"
adm "$XDB" staff enable clin2
is "$(last)" "admin-tool|staff.enable||{\"staff\":\"clin2\",$RUN}" "staff enable: staff.enable"

# caseloads: one row per grant added or removed, then the summary
adm "$XDB" clients set-chart "$ana" AC-1
is "$(last)" "admin-tool|client.chart_number|$ana|{\"replaced\":false,$RUN}" \
   "set-chart: client.chart_number names the os_user too"
adm "$XDB" clients set-chart "$bo" AC-2
printf 'username,external_id\nclin2,AC-1\nclin2,AC-2\n' >"$T/access-cl1.csv"
printf 'username,external_id\nclin2,AC-2\n' >"$T/access-cl2.csv"
printf 'username,external_id\nclin2,AC-1\nghost,AC-2\n' >"$T/access-cl3.csv"
n0=$(rows)
adm "$XDB" staff sync-caseloads "$T/access-cl1.csv" --dry-run
like "$out" "would grant clin2 AC-1" "sync-caseloads --dry-run lists the grants"
unchanged "$n0" "a dry run"
adm "$XDB" staff sync-caseloads "$T/access-cl3.csv"
is "$rc" 1 "a caseload file naming an unknown staff member is refused"
unchanged "$n0" "a refused caseload sync"
adm "$XDB" staff sync-caseloads "$T/access-cl1.csv"
is "$rc" 0 "sync-caseloads grants two"
is "$(sql "$XDB" "SELECT action || '|' || client_id || '|' || detail FROM audit_log WHERE id > (SELECT max(id) FROM audit_log WHERE action = 'client.chart_number') AND client_id IS NOT NULL ORDER BY client_id")" \
   "staff.grant|$ana|{\"staff\":\"clin2\",\"caseload_sync\":true,$RUN}
staff.grant|$bo|{\"staff\":\"clin2\",\"caseload_sync\":true,$RUN}" \
   "sync-caseloads: one staff.grant row per grant added, with its client"
is "$(last)" "admin-tool|staff.caseload_sync||{\"granted\":2,\"revoked\":0,\"unchanged\":0,$RUN}" \
   "sync-caseloads: then the staff.caseload_sync summary"
adm "$XDB" staff sync-caseloads "$T/access-cl2.csv"
is "$(sql "$XDB" "SELECT action || '|' || client_id FROM audit_log ORDER BY id DESC LIMIT 1 OFFSET 1")" \
   "staff.revoke|$ana" "sync-caseloads: the grant it removes is a staff.revoke row"
is "$(last)" "admin-tool|staff.caseload_sync||{\"granted\":0,\"revoked\":1,\"unchanged\":1,$RUN}" \
   "sync-caseloads: the summary counts it"
is "$(sql "$XDB" "SELECT string_agg(action, ',') FROM (SELECT action FROM audit_log WHERE client_id = $ana AND action LIKE 'staff.%' ORDER BY id) a" 2>/dev/null \
      || sql "$XDB" "SELECT group_concat(action, ',') FROM (SELECT action FROM audit_log WHERE client_id = $ana AND action LIKE 'staff.%' ORDER BY id)")" \
   "staff.grant,staff.revoke,staff.grant,staff.revoke" "who had client $ana when: every grant and its end, in order"

# a command whose audit row cannot be written changes nothing and prints nothing
if [ "$DRIVER" = sqlite3 ]; then
    sql "$XDB" "CREATE TRIGGER access_refuse BEFORE INSERT ON audit_log
                WHEN NEW.action IN ('staff.grant', 'client.list', 'staff.caseload_sync')
                BEGIN SELECT RAISE(ABORT, 'refused by the test'); END" >/dev/null
else
    sql "$XDB" "CREATE FUNCTION access_refuse() RETURNS trigger LANGUAGE plpgsql AS
                \$\$ BEGIN RAISE EXCEPTION 'refused by the test'; END \$\$;
                CREATE TRIGGER access_refuse BEFORE INSERT ON audit_log FOR EACH ROW
                WHEN (NEW.action IN ('staff.grant', 'client.list', 'staff.caseload_sync'))
                EXECUTE FUNCTION access_refuse()" >/dev/null
fi
n0=$(rows)
adm "$XDB" staff grant boss "$ana"
is "$rc" 1 "a grant whose audit row fails: exit 1"
is "$(sql "$XDB" "SELECT count(*) FROM staff_clients WHERE username = 'boss'")" 0 \
   "and the grant is not there (one transaction)"
unlike "$out" "may now view" "and it does not say it was done (printed only after the commit)"
adm "$XDB" clients list
is "$rc" 1 "a client list whose audit row fails: exit 1"
unlike "$out" "Lopez" "and no client is printed"
adm "$XDB" staff sync-caseloads "$T/access-cl1.csv"
is "$rc" 1 "a caseload sync whose audit rows fail: exit 1"
is "$(sql "$XDB" "SELECT count(*) FROM staff_clients WHERE username = 'clin2'")" 1 \
   "and the caseload is as it was"
unchanged "$n0" "a command whose audit failed"
if [ "$DRIVER" = sqlite3 ]; then
    sql "$XDB" "DROP TRIGGER access_refuse" >/dev/null
else
    sql "$XDB" "DROP TRIGGER access_refuse ON audit_log; DROP FUNCTION access_refuse()" >/dev/null
fi

adm "$XDB" audit verify
is "$rc" 0 "audit verify: the chain holds after every command"
like "$out" "^ok: $(rows) rows; head " "audit verify: every row is chained"
is "$(sql "$XDB" "SELECT count(*) FROM audit_log WHERE username <> 'admin-tool'")" 0 \
   "every row is the admin tool's"
