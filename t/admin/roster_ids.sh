# t/admin/roster_ids.sh — `clients sync` and who a chart number is (issue 13): a chart
# number the EHR changed (identifiers use old, a merged-away Patient), the identifier
# that is the chart number (MR, never a Social Security number), a spreadsheet's chart
# number without its leading zeros, an email that changes only in letter case; and
# `clients clear-chart`. Sourced by t/admin/run.sh (its helpers, counter and driver).

S=urn:oid:2.16.840.1.113883.3.1234
MR='"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}'
SS='"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "SS"}]}'
SSN=http://hl7.org/fhir/sid/us-ssn
# ipat IDENTIFIERS [MORE]: Maria Lopez's Patient with the identifier array's contents
ipat() {
    printf '{"resource": {"resourceType": "Patient", "identifier": [%s], "name": [{"family": "Lopez", "given": ["Maria"]}], "birthDate": "1980-05-14"%s}}' \
        "$1" "${2:-}"
}
bundle() { local IFS=,; printf '{"resourceType": "Bundle", "type": "collection", "entry": [%s]}' "$*"; }

# ---- the EHR changes a chart number: the retired one (use old) finds the client --------------
IDB=$(new_db roster_ids); register_db roster_ids
adm "$IDB" init --schema-dir "$SCHEMA"
printf 'first_name,last_name,date_of_birth,email\nMaria,Lopez,1980-05-14,\n' >"$T/ids-pre.csv"
adm "$IDB" clients import "$T/ids-pre.csv"
adm "$IDB" staff add alice
maria=$(sql "$IDB" "SELECT id FROM clients WHERE last_name = 'Lopez'")
adm "$IDB" staff grant alice "$maria"
bundle "$(ipat "{\"use\": \"usual\", \"system\": \"$S\", \"value\": \"1000030\"}")" \
       "$(ipat "{\"system\": \"$S\", \"value\": \"1000031\"}" | sed 's/Maria/Tom/; s/1980-05-14/1981-01-01/')" \
       >"$T/ids-a.json"
adm "$IDB" clients sync "$T/ids-a.json" --identifier-system "$S"
is "$(tail -n1 <<<"$out")" "added 1, updated 1, unchanged 0, discharged 0" "MRN change: the first sync names the typed-in client"
bundle "$(ipat "{\"use\": \"usual\", \"system\": \"$S\", \"value\": \"2000030\"}, {\"use\": \"old\", \"system\": \"$S\", \"value\": \"1000030\"}")" \
       "$(ipat "{\"system\": \"$S\", \"value\": \"1000031\"}" | sed 's/Maria/Tom/; s/1980-05-14/1981-01-01/')" \
       >"$T/ids-b.json"
adm "$IDB" clients sync "$T/ids-b.json" --format fhir --identifier-system "$S" --discharge-missing
is "$rc" 0 "MRN change: the sync applies"
is "$(tail -n1 <<<"$out")" "added 0, updated 1, unchanged 1, discharged 0" \
   "MRN change: the client is updated, nobody added or discharged"
is "$(sql "$IDB" "SELECT id || '|' || external_id || '|' || active FROM clients WHERE first_name = 'Maria'")" \
   "$maria|2000030|1" "MRN change: the same client (its grants and history) has the new chart number, active"
is "$(sql "$IDB" "SELECT count(*) FROM clients")" 2 "MRN change: no duplicate"
is "$(sql "$IDB" "SELECT action || '|' || detail FROM audit_log WHERE client_id = $maria ORDER BY id DESC LIMIT 1")" \
   'client.roster_update|{"fields":["external_id"]}' "MRN change: audited as a sync's chart-number change (never the number)"
adm "$IDB" clients sync "$T/ids-b.json" --identifier-system "$S" --discharge-missing
is "$(tail -n1 <<<"$out")" "added 0, updated 0, unchanged 2, discharged 0" "MRN change: the same export again: unchanged"

# a merged-away Patient (replaced-by) is skipped; the survivor's old identifier finds the client
merged=$(ipat "{\"use\": \"usual\", \"system\": \"$S\", \"value\": \"2000030\"}" \
              ', "active": false, "link": [{"type": "replaced-by", "other": {"reference": "Patient/p77"}}]')
tom=$(ipat "{\"system\": \"$S\", \"value\": \"1000031\"}" | sed 's/Maria/Tom/; s/1980-05-14/1981-01-01/')
bundle "$merged" "$(ipat "{\"system\": \"$S\", \"value\": \"3000030\"}, {\"use\": \"old\", \"system\": \"$S\", \"value\": \"2000030\"}" ', "id": "p77"')" "$tom" \
       >"$T/ids-merged.json"
adm "$IDB" clients sync "$T/ids-merged.json" --identifier-system "$S" --discharge-missing
is "$rc" 0 "merged away: the sync applies"
is "$(tail -n1 <<<"$out")" "added 0, updated 1, unchanged 1, discharged 0, merged away 1 (skipped: replaced-by another Patient)" \
   "merged away: skipped and said so; the survivor updates the client"
is "$(sql "$IDB" "SELECT id || '|' || external_id || '|' || active FROM clients WHERE first_name = 'Maria'")" \
   "$maria|3000030|1" "merged away: the client has the survivor's chart number, active"
# the survivor without its old identifier: the merged-away one still keeps the client from discharge
bundle "$(sed 's/3000030/4000030/' <<<"$merged" | sed 's/"2000030"/"3000030"/')" "$tom" >"$T/ids-merged2.json"
adm "$IDB" clients sync "$T/ids-merged2.json" --identifier-system "$S" --discharge-missing
is "$(tail -n1 <<<"$out")" "added 0, updated 0, unchanged 1, discharged 0, merged away 1 (skipped: replaced-by another Patient)" \
   "merged away alone: not discharged by --discharge-missing, not updated"
is "$(sql "$IDB" "SELECT external_id || '|' || active FROM clients WHERE id = $maria")" "3000030|1" \
   "merged away alone: the client is left as it was"

# two clients named by old identifiers: refused
bundle "$(ipat "{\"system\": \"$S\", \"value\": \"5000030\"}, {\"use\": \"old\", \"system\": \"$S\", \"value\": \"3000030\"}, {\"use\": \"old\", \"system\": \"$S\", \"value\": \"1000031\"}")" \
       >"$T/ids-two.json"
adm "$IDB" clients sync "$T/ids-two.json" --identifier-system "$S"
is "$rc" 1 "old identifiers of two clients: refused"
like "$err" "entry\[0\] \(identifier\): its old identifiers name two clients" "old identifiers of two clients: says so"

# ---- clients clear-chart: the repair of a duplicate an earlier sync made ----------------------
adm "$IDB" --help
like "$out" "^  clients clear-chart CLIENT_ID" "--help documents 'clients clear-chart'"
printf 'first_name,last_name,date_of_birth,email\nMary,Lopes,1980-05-14,\n' >"$T/ids-dup.csv"
adm "$IDB" clients import "$T/ids-dup.csv"
dup=$(sql "$IDB" "SELECT id FROM clients WHERE last_name = 'Lopes'")
adm "$IDB" clients set-chart "$dup" 6000030
adm "$IDB" clients set-chart "$maria" 6000030
is "$rc" 1 "repair: the duplicate's chart number cannot be set on the real client"
adm "$IDB" clients clear-chart "$dup"
is "$rc" 0 "clear-chart: exit 0"
like "$out" "client $dup has no chart number now" "clear-chart: says so"
is "$(sql "$IDB" "SELECT coalesce(external_id, 'NULL') FROM clients WHERE id = $dup")" NULL "clear-chart: the number is gone"
is "$(sql "$IDB" "SELECT username || '|' || action || '|' || client_id || '|' || detail FROM audit_log ORDER BY id DESC LIMIT 1")" \
   "admin-tool|client.chart_number|$dup|{\"replaced\":true,\"cleared\":true,\"os_user\":\"$(id -un)\"}" \
   "clear-chart: audited (client.chart_number, cleared; never the number)"
adm "$IDB" clients set-chart "$maria" 6000030
is "$rc" 0 "repair: then the real client takes the number"
adm "$IDB" clients clear-chart "$dup"
is "$rc$out" "0client $dup has no chart number; nothing to do" "clear-chart: a client without one: nothing to do"
adm "$IDB" clients clear-chart abc
is "$rc" 1 "clear-chart: a client id that is not a number: exit 1"
adm "$IDB" clients clear-chart 999999
is "$rc" 1 "clear-chart: an unknown client: exit 1"
like "$err" "unknown client id 999999" "clear-chart: an unknown client is named"

# ---- the identifier that is the chart number: MR, never a Social Security number -------------
JDB=$(new_db roster_ssn); register_db roster_ssn
adm "$JDB" init --schema-dir "$SCHEMA"
jpat() {   # jpat GIVEN IDENTIFIERS
    printf '{"resource": {"resourceType": "Patient", "identifier": [%s], "name": [{"family": "Ssn", "given": ["%s"]}], "birthDate": "1970-01-01"}}' "$2" "$1"
}
bundle "$(jpat Ann "{\"system\": \"$SSN\", $SS, \"value\": \"123-45-0010\"}, {\"system\": \"urn:ehr:mrn\", $MR, \"value\": \"M-10\"}")" \
       "$(jpat Bea "{\"system\": \"$SSN\", \"value\": \"123-45-0011\"}, {\"system\": \"urn:ehr:mrn\", \"value\": \"M-11\"}")" \
       "$(jpat Cal "{\"system\": \"urn:ehr:other\", \"value\": \"O-12\"}, {\"system\": \"urn:ehr:mrn\", $MR, \"value\": \"M-12\"}")" \
       >"$T/ssn-good.json"
adm "$JDB" clients sync "$T/ssn-good.json"
is "$rc" 0 "identifier choice: applies"
is "$(sql "$JDB" "SELECT first_name || ':' || external_id FROM clients ORDER BY first_name")" \
   "$(printf 'Ann:M-10\nBea:M-11\nCal:M-12')" \
   "identifier choice: the MR-typed one, never the SSN (typed SS or of system us-ssn), MR before an earlier other"
is "$(sql "$JDB" "SELECT count(*) FROM audit_log WHERE detail LIKE '%123-45%'")" 0 "identifier choice: no SSN in the audit"
bundle "$(jpat Dee "{\"system\": \"urn:ehr:a\", \"value\": \"A-13\"}, {\"system\": \"urn:ehr:b\", \"value\": \"B-13\"}")" \
       "$(jpat Eve "{$SS, \"value\": \"123-45-0014\"}")" \
       "$(jpat Fay "{\"system\": \"urn:ehr:a\", \"type\": {\"text\": \"driver's licence\"}, \"value\": \"DL-15\"}")" \
       >"$T/ssn-bad.json"
adm "$JDB" clients sync "$T/ssn-bad.json"
is "$rc" 1 "identifier choice: refused entries stop the sync"
like "$err" "entry\[0\] \(identifier\): the Patient has identifiers of several systems and none is typed MR .*--identifier-system" \
   "identifier choice: several systems, none MR: choose --identifier-system"
like "$err" "entry\[1\] \(identifier\): the only identifier is a Social Security number, which is never used as a chart number" \
   "identifier choice: an SSN alone is refused"
like "$err" "entry\[2\] \(identifier\): no identifier is typed MR \(medical record number\) or untyped" \
   "identifier choice: a typed identifier that is not MR is not taken"
unlike "$err" "123-45" "identifier choice: the refusals never print the SSN"
adm "$JDB" clients sync "$T/ssn-good.json" --identifier-system "$SSN" --dry-run
like "$err" "entry\[1\] \(identifier\): the only identifier with system $SSN is a Social Security number" \
   "identifier choice: not even with --identifier-system us-ssn"
adm "$JDB" clients sync "$T/ssn-bad.json" --identifier-system urn:ehr:a --skip-invalid
is "$(tail -n1 <<<"$out")" "added 2, updated 0, unchanged 0, discharged 0, skipped 1" \
   "identifier choice: --identifier-system settles several systems (and any type)"

# ---- a spreadsheet drops the leading zeros: a new chart number that looks like a client -------
XDB=$(new_db roster_excel); register_db roster_excel
adm "$XDB" init --schema-dir "$SCHEMA"
cat >"$T/excel-a.csv" <<'EOF'
external_id,first_name,last_name,date_of_birth,email
0001234,Ana,García,1980-05-14,ana@example.org
0001235,Bo,Li,1975-01-02,
0001236,Cy,Ng,1990-03-04,
EOF
cat >"$T/excel-b.csv" <<'EOF'
external_id,first_name,last_name,date_of_birth,email
1234,Ana,García,5/14/1980,ana@example.org
1235,BO,LI,1/2/1975,
1236,Cy,Ng,3/4/1990,
EOF
adm "$XDB" clients sync "$T/excel-a.csv"
is "$(tail -n1 <<<"$out")" "added 3, updated 0, unchanged 0, discharged 0" "leading zeros: the first sync adds 3"
ana=$(sql "$XDB" "SELECT id FROM clients WHERE external_id = '0001234'")
adm "$XDB" clients sync "$T/excel-b.csv" --discharge-missing
is "$rc" 1 "leading zeros: the file saved from Excel is refused"
like "$err" "excel-b.csv line 2: chart number '1234' is new but looks like client $ana \(chart 0001234\): same name and date of birth; the numbers differ only in leading zeros: was the file saved from Excel\? Format the chart-number column as Text" \
   "leading zeros: names the client and the cause"
like "$err" "line 3: chart number '1235' is new but looks like client" "leading zeros: the name compared as the name keys (case aside)"
is "$(sql "$XDB" "SELECT count(*) || '|' || sum(active) FROM clients")" "3|3" "leading zeros: nobody added or discharged"
adm "$XDB" clients sync "$T/excel-b.csv" --discharge-missing --skip-invalid
is "$rc" 3 "leading zeros, --skip-invalid: exit 3"
like "$out" "added 0, updated 0, unchanged 0, discharged 0, skipped 3" "leading zeros, --skip-invalid: the rows skipped"
is "$(sql "$XDB" "SELECT count(*) || '|' || sum(active) FROM clients")" "3|3" "leading zeros, --skip-invalid: nobody added or discharged"
printf 'external_id,first_name,last_name,date_of_birth,email\nR-77,Bo,Li,1975-01-02,\n' >"$T/renumber.csv"
adm "$XDB" clients sync "$T/renumber.csv" --dry-run
like "$err" "chart number 'R-77' is new but looks like client .* if the chart number changed, give the client the new one first \(portal-manager-admin clients set-chart [0-9]+ 'R-77'\)" \
   "renumbered: refused, with what to do"
unlike "$err" "leading zeros" "renumbered: no word of leading zeros"
printf 'external_id,first_name,last_name,date_of_birth,email\n0001235,Bo,Li,1975-01-02,\nR-78,Bo,Li,1975-01-02,\n' >"$T/both.csv"
adm "$XDB" clients sync "$T/both.csv" --dry-run
is "$rc" 0 "namesakes the file names both: not refused (the EHR has two records)"
# ---- an email that changes only in letter case; mailto: in a FHIR telecom -------------------------
sed 's/ana@example.org/Ana@Example.ORG/' "$T/excel-a.csv" >"$T/excel-case.csv"
adm "$XDB" clients sync "$T/excel-case.csv"
is "$(tail -n1 <<<"$out")" "added 0, updated 0, unchanged 3, discharged 0" "email case: unchanged"
is "$(sql "$XDB" "SELECT email FROM clients WHERE id = $ana")" "ana@example.org" "email case: the stored address is kept"
is "$(sql "$XDB" "SELECT count(*) FROM audit_log WHERE action = 'client.email_change'")" 0 "email case: no client.email_change audited"
adm "$XDB" clients sync "$T/excel-a.csv"
is "$(tail -n1 <<<"$out")" "added 0, updated 0, unchanged 3, discharged 0" "email case: and back: unchanged"
bundle "$(ipat "{\"system\": \"urn:ehr:mrn\", \"value\": \"T-1\"}" ', "telecom": [{"system": "email", "value": "mailto:ann@example.org"}]')" \
       "$(ipat "{\"system\": \"urn:ehr:mrn\", \"value\": \"T-2\"}" ', "telecom": [{"system": "email", "value": "MAILTO:bo@example.org"}]' | sed 's/Maria/Bo/')" \
       >"$T/mailto.json"
adm "$XDB" clients sync "$T/mailto.json"
is "$rc" 0 "mailto: a telecom URI is taken"
is "$(sql "$XDB" "SELECT email FROM clients WHERE external_id IN ('T-1', 'T-2') ORDER BY external_id")" \
   "$(printf 'ann@example.org\nbo@example.org')" "mailto: stored without the scheme"

# a namesake of a discharged client is a new client
adm "$XDB" clients sync "$T/excel-a.csv"
printf 'external_id,first_name,last_name,date_of_birth,email,active\n0001236,Cy,Ng,1990-03-04,,false\n' >"$T/cy-out.csv"
adm "$XDB" clients sync "$T/cy-out.csv"
printf 'external_id,first_name,last_name,date_of_birth,email\nN-9,Cy,Ng,1990-03-04,\n' >"$T/cy-new.csv"
adm "$XDB" clients sync "$T/cy-new.csv" --dry-run
is "$rc" 0 "a namesake of a discharged client is not refused"

