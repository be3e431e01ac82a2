# t/admin/roster_formats.sh — what realistic EHR exports hold besides Patients, and the
# shapes they come in (issue 13): an Epic searchset's OperationOutcome and _include
# entries, a Synthea transaction Bundle, text-only names, NDJSON, UTF-16 files, and a
# caseload file as a spreadsheet writes it. Sourced by t/admin/run.sh (both databases).

XDB=$(new_db roster_formats); register_db roster_formats
adm "$XDB" init --schema-dir "$SCHEMA"
# xpat ID GIVEN FAMILY: a searchset's Patient entry
xpat() {
    printf '{"fullUrl": "https://ehr.example/Patient/%s", "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:ehr:mrn", "value": "%s"}], "name": [{"use": "official", "given": ["%s"], "family": "%s"}], "birthDate": "1980-05-06"}, "search": {"mode": "match"}}' \
        "$1" "$1" "$2" "$3"
}
outcome='{"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "processing", "details": {"text": "This search may not return all matching results"}, "diagnostics": "Some patients were\nnot returned: access restricted"}]}, "search": {"mode": "outcome"}}'
practitioner='{"resource": {"resourceType": "Practitioner", "id": "pr1", "name": [{"family": "Welby"}]}, "search": {"mode": "include"}}'
printf '{"resourceType": "Bundle", "type": "searchset", "total": 4, "entry": [%s, %s, %s, %s, %s]}' \
    "$(xpat X-1 Ana Lopez)" "$(xpat X-2 Ben Ode)" "$(xpat X-3 Cat Ng)" "$(xpat X-4 Dee Po)" \
    "$practitioner" >"$T/epic4.json"
adm "$XDB" clients sync "$T/epic4.json"
is "$rc" 0 "Epic: a searchset with an _include's Practitioner applies"
is "$(tail -n1 <<<"$out")" "added 4, updated 0, unchanged 0, discharged 0" "Epic: its 4 Patients added"
like "$out" "^ignored 1 entry that is not a Patient of the search" "Epic: the Practitioner is counted as ignored"

# the next night: X-4 has left, and the search adds its warning after the Patients
printf '{"resourceType": "Bundle", "type": "searchset", "total": 3, "entry": [%s, %s, %s, %s, %s]}' \
    "$(xpat X-1 Ana Lopez)" "$(xpat X-2 Ben Ode)" "$(xpat X-3 Cat Ng)" "$practitioner" "$outcome" \
    >"$T/epic3.json"
adm "$XDB" clients sync "$T/epic3.json" --skip-invalid --discharge-missing
is "$rc" 0 "Epic: a searchset ending in an OperationOutcome: exit 0 with --skip-invalid --discharge-missing"
is "$(tail -n1 <<<"$out")" "added 0, updated 0, unchanged 3, discharged 1, skipped 0" \
   "Epic: nothing skipped, the client who left is discharged"
like "$out" "note: entry\[4\] OperationOutcome warning: Some patients were not returned: access restricted" \
     "Epic: the outcome's issue is a note (diagnostics, the line break blanked)"
like "$out" "ignored 2 entries that are not Patients" "Epic: the Practitioner and the outcome ignored"
is "$err" "" "Epic: no problem reported"
is "$(sql "$XDB" "SELECT active FROM clients WHERE external_id = 'X-4'")" 0 "Epic: X-4 discharged"

# a Bundle of nothing but the warning, with --discharge-missing: nobody is discharged
printf '{"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": [%s]}' "$outcome" >"$T/only-outcome.json"
adm "$XDB" clients sync "$T/only-outcome.json" --discharge-missing
is "$rc" 1 "no Patient at all, --discharge-missing: refused"
like "$err" "the roster names no clients" "no Patient at all: the empty-roster guard says why"
is "$(sql "$XDB" "SELECT count(*) FROM clients WHERE active = 1")" 3 "no Patient at all: nobody discharged"
adm "$XDB" clients sync "$T/only-outcome.json" --discharge-missing --skip-invalid
is "$(sql "$XDB" "SELECT count(*) FROM clients WHERE active = 1")" 3 \
   "no Patient at all, --skip-invalid too: nobody discharged (exit $rc)"

# Synthea: one transaction Bundle per patient, the Patient among its clinical resources
printf '{"resourceType": "Bundle", "type": "transaction", "entry": [{"fullUrl": "urn:uuid:a1", "resource": {"resourceType": "Patient", "identifier": [{"system": "https://github.com/synthetichealth/synthea", "value": "S-1"}, {"type": {"coding": [{"code": "MR"}]}, "system": "http://hospital.smarthealthit.org", "value": "MR-1"}], "name": [{"use": "official", "family": "Tran", "given": [null, "Thi"], "_given": [{"extension": [{"url": "http://example.org/x", "valueString": "x"}]}, null], "prefix": ["Mrs."]}], "birthDate": "1990-02-02"}, "request": {"method": "POST", "url": "Patient"}}, {"fullUrl": "urn:uuid:e1", "resource": {"resourceType": "Encounter", "status": "finished"}, "request": {"method": "POST", "url": "Encounter"}}, {"fullUrl": "urn:uuid:c1", "resource": {"resourceType": "Condition"}, "request": {"method": "POST", "url": "Condition"}}]}' >"$T/synthea.json"
adm "$XDB" clients sync "$T/synthea.json" --identifier-system https://github.com/synthetichealth/synthea
is "$rc" 0 "Synthea: a transaction Bundle applies"
like "$out" "ignored 2 entries" "Synthea: the Encounter and the Condition ignored"
is "$(sql "$XDB" "SELECT first_name || '|' || last_name FROM clients WHERE external_id = 'S-1'")" "Thi|Tran" \
   "Synthea: given [null, \"Thi\"] with _given gives Thi"

# names with only text, as EHRs write them
printf '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", "identifier": [{"value": "T-1"}], "name": [{"text": "SMITH, JOHN A"}], "birthDate": "1970-01-01"}}, {"resource": {"resourceType": "Patient", "identifier": [{"value": "T-2"}], "name": [{"text": "Dr. Robert Smith Jr."}], "birthDate": "1970-01-02"}}]}' >"$T/text-names.json"
adm "$XDB" clients sync "$T/text-names.json"
is "$rc" 0 "text names: applies"
is "$(sql "$XDB" "SELECT first_name || '|' || last_name FROM clients WHERE external_id = 'T-1'")" "JOHN|SMITH" \
   "text 'SMITH, JOHN A': first JOHN, last SMITH (case as written)"
is "$(sql "$XDB" "SELECT first_name || '|' || last_name FROM clients WHERE external_id = 'T-2'")" "Robert|Smith" \
   "text 'Dr. Robert Smith Jr.': first Robert, last Smith"

# FHIR Bulk Data's NDJSON, and files PowerShell 5.1 wrote in UTF-16
printf '%s\n%s\n' "$(xpat N-1 Ann Lee | sed 's/^{"fullUrl[^{]*"resource": //; s/, "search".*$//')" \
    "$(xpat N-2 Bo Lee | sed 's/^{"fullUrl[^{]*"resource": //; s/, "search".*$//')" >"$T/Patient.ndjson"
adm "$XDB" clients sync "$T/Patient.ndjson" --format fhir --dry-run
is "$rc" 1 "NDJSON: refused"
like "$err" "this is NDJSON \(one Patient resource a line" "NDJSON: said so"
like "$err" "jq -s '\{resourceType:\"Bundle\",type:\"collection\",entry:map\(\{resource:.\}\)\}' Patient.ndjson > bundle.json" \
     "NDJSON: with the jq line that makes a Bundle"
{ printf '\xff\xfe'; iconv -f UTF-8 -t UTF-16LE "$T/text-names.json"; } >"$T/utf16.json"
adm "$XDB" clients sync "$T/utf16.json" --dry-run
is "$rc" 1 "UTF-16 Bundle: refused"
like "$err" "the file is UTF-16, and JSON must be UTF-8: save it as UTF-8" "UTF-16 Bundle: said so"
printf 'external_id,first_name,last_name,date_of_birth,email\r\nU-1,Una,Wide,1975-03-03,\r\n' >"$T/u8.csv"
{ printf '\xff\xfe'; iconv -f UTF-8 -t UTF-16LE "$T/u8.csv"; } >"$T/utf16.csv"
adm "$XDB" clients sync "$T/utf16.csv" --dry-run
is "$rc" 1 "UTF-16 CSV: refused without --encoding"
like "$err" "line 1: the file is UTF-16: save it as UTF-8.*clients sync --encoding UTF-16" \
     "UTF-16 CSV: said so, naming --encoding UTF-16"
adm "$XDB" clients sync "$T/utf16.csv" --encoding UTF-16 --dry-run
is "$rc" 0 "UTF-16 CSV with --encoding UTF-16: read"

# ---- staff sync-caseloads: the header as the clients CSV takes it; a user name's case ----
adm "$XDB" staff add alice
printf '\xef\xbb\xbfUsername,External_ID,,\r\nalice,X-1,,\r\nalice,X-2,,\r\n' >"$T/excel-case.csv"
adm "$XDB" staff sync-caseloads "$T/excel-case.csv"
is "$rc" 0 "caseloads: a spreadsheet's header (BOM, any case, empty columns, CRLF) applies"
is "$(tail -n1 <<<"$out")" "granted 2, revoked 0, unchanged 0" "caseloads: both rows granted"
printf 'username,external_id\nalice,X-1\nalice,X-2,extra\n' >"$T/case-extra.csv"
adm "$XDB" staff sync-caseloads "$T/case-extra.csv"
like "$err" "line 3: has 3 fields, expected 2" "caseloads: a third value without a header column is still refused"
printf 'username,external_id\nALICE,X-3\n' >"$T/case-upper.csv"
adm "$XDB" staff sync-caseloads "$T/case-upper.csv"
is "$rc" 1 "caseloads: ALICE is not alice (user names are case-sensitive)"
like "$err" "line 2: no staff member 'ALICE'; staff member 'alice' differs only by case" \
     "caseloads: the error names the staff member who differs only by case"
is "$(sql "$XDB" "SELECT count(*) FROM staff_clients")" 2 "caseloads: nothing applied"
