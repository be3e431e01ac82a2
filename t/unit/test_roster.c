/* Unit tests for the roster sync's parsers (src/core/pm_roster_parse.c): CSV read
 * in small pieces (records and quoted line breaks across reads, line numbers of
 * the whole stream), header rules, checks, and FHIR Bundles of Patients. */
#include "pm_roster.h"
#include "pm_text.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

/* An input that hands out at most `step` bytes per read. */
typedef struct {
    const char *buf;
    apr_size_t len, pos, step;
} trickle;

static apr_status_t read_trickle(void *ctx, char *buf, apr_size_t *len)
{
    trickle *t = ctx;
    apr_size_t n = t->len - t->pos;

    if (n > t->step) {
        n = t->step;
    }
    if (n > *len) {
        n = *len;
    }
    memcpy(buf, t->buf + t->pos, n);
    t->pos += n;
    *len = n;
    return APR_SUCCESS;
}

typedef struct {
    pm_roster_entry e[8];
    int n;
    int broken;
    int ignored;
    const apr_array_header_t *notes;
    apr_array_header_t *errors;
} parsed;

static void parse_with(apr_pool_t *p, pm_roster_format format, const char *system,
                       int discharge_missing, const char *text, apr_size_t step, parsed *out)
{
    pm_roster_options o;
    trickle t = { text, strlen(text), 0, step };
    pm_roster_parser *ps;
    apr_status_t rv;

    memset(&o, 0, sizeof(o));
    memset(out, 0, sizeof(*out));
    o.format = format;
    o.identifier_system = system;
    o.discharge_missing = discharge_missing;
    o.now = 1893456000;   /* 2030-01-01 */
    out->errors = apr_array_make(p, 4, sizeof(pm_roster_error));
    ps = pm_roster_parser_make(p, &o, read_trickle, &t, out->errors);
    while (out->n < 8 && pm_roster_next(ps, p, &out->e[out->n], &rv) == 1) {
        out->n++;
    }
    out->broken = pm_roster_broken(ps);
    out->ignored = pm_roster_ignored(ps);
    out->notes = pm_roster_notes(ps);
}

static void parse(apr_pool_t *p, pm_roster_format format, const char *system, const char *text,
                  apr_size_t step, parsed *out)
{
    parse_with(p, format, system, 0, text, step, out);
}

static const pm_roster_error *err(const parsed *r, int i)
{
    return i < r->errors->nelts ? &APR_ARRAY_IDX(r->errors, i, pm_roster_error) : NULL;
}

static void test_csv_stream(apr_pool_t *p)
{
    static const char csv[] =
        "\xEF\xBB\xBF" "external_id,first_name,last_name,date_of_birth,email,preferred_language,active\r\n"
        "A1,\"Anne\r\nMarie\",\"O\"\"Neil\",1980-02-29,anne@example.org,es-MX,yes\r\n"
        "\r\n"
        "A2, Bob ,Smith,1975-05-06,,,\n"
        "A3,Cy,Jones,1990-13-01,cy@example,EN,maybe\n"
        "A4,Di,Lee,1991-01-01,di@example.org,en\n"
        "A5,Ed,Kim,1992-02-02,ed@example.org,,0";
    parsed r;
    apr_size_t step;

    for (step = 1; step <= 64; step *= 4) {
        parse(p, PM_ROSTER_CSV, NULL, csv, step, &r);
        ok(r.n == 3, "CSV read %u bytes at a time: 3 good entries (got %d)", (unsigned)step, r.n);
        is_str(r.e[0].first_name, "Anne Marie", "a quoted line break becomes a space");
        is_str(r.e[0].last_name, "O\"Neil", "doubled quote");
        is_str(r.e[0].preferred_language, "es", "es-MX gives es");
        ok(r.e[0].active == 1 && r.e[0].where == 2, "active yes; entry on line 2");
        is_str(r.e[1].first_name, "Bob", "spaces around a value dropped");
        ok(r.e[1].email == NULL && r.e[1].preferred_language == NULL && r.e[1].active == -1,
           "empty email, language and active: not given");
        ok(r.e[1].where == 5, "line numbers count the quoted line break and the blank line");
        ok(r.e[2].where == 8 && r.e[2].active == 0, "last line without a line end; active 0");
        ok(r.errors->nelts == 4, "four problems (got %d)", r.errors->nelts);
        ok(err(&r, 0) && err(&r, 0)->where == 6 && strcmp(err(&r, 0)->field, "date_of_birth") == 0,
           "line 6: the date of birth");
        ok(err(&r, 1) && err(&r, 1)->where == 6 && strcmp(err(&r, 1)->field, "email") == 0,
           "line 6: the email too");
        ok(err(&r, 2) && err(&r, 2)->where == 6 && strcmp(err(&r, 2)->field, "active") == 0,
           "line 6: and active");
        ok(err(&r, 3) && err(&r, 3)->where == 7 && strstr(err(&r, 3)->message, "6 fields"),
           "line 7: a short row");
        ok(!r.broken, "bad rows alone: the file is not broken (--skip-invalid may apply the rest)");
    }
}

/* What a reading gave, as one string to compare readings with. */
static const char *describe(apr_pool_t *p, const parsed *r)
{
    const char *out = apr_psprintf(p, "broken %d;", r->broken);
    int i;

    for (i = 0; i < r->n; i++) {
        out = apr_psprintf(p, "%s entry %d %s %s %s;", out, r->e[i].where, r->e[i].external_id,
                           r->e[i].first_name, r->e[i].last_name);
    }
    for (i = 0; i < r->errors->nelts; i++) {
        out = apr_psprintf(p, "%s error %d %s %s;", out, err(r, i)->where,
                           err(r, i)->field ? err(r, i)->field : "-", err(r, i)->message);
    }
    return out;
}

/* Whether text reads the same 1 to 64 bytes at a time as in one read; *whole gets
 * the one read's description. */
static int same_in_any_chunks(apr_pool_t *p, const char *text, const char **whole)
{
    parsed r;
    apr_size_t step;

    parse(p, PM_ROSTER_CSV, NULL, text, 1 << 20, &r);
    *whole = describe(p, &r);
    for (step = 1; step <= 64; step++) {
        parse(p, PM_ROSTER_CSV, NULL, text, step, &r);
        if (strcmp(describe(p, &r), *whole) != 0) {
            printf("# %u bytes at a time: %s\n# in one read: %s\n", (unsigned)step,
                   describe(p, &r), *whole);
            return 0;
        }
    }
    return 1;
}

/* fuzz_roster: a chunk of whole records was cut where a naive count of quotes ended
 * one, not where the CSV reader does (a stray quote inside a field makes the reader
 * skip to the line end), so a later quoted line break cut a record in two; a byte
 * order mark was dropped from a chunk that began with one mid-file; JSON after blank
 * lines was taken for JSON or not by where the first read ended. */
static void test_csv_cuts(apr_pool_t *p)
{
    static const char stray[] =
        "external_id,first_name,last_name,date_of_birth,email\n"
        "A1,Ann,O\"Neil,1980-01-01,\n"
        "A2,\"Bo\nBo\",Kim,1981-01-01,\n"
        "A3,Cy,Lee,1982-01-01,\n"
        "A4,Di,\"Lee\",1983-01-01,\n";
    static const char bom_later[] =
        "external_id,first_name,last_name,date_of_birth,email\n"
        "\xEF\xBB\xBF" "A1,Ann,Lee,1980-01-01,\n";
    static const char json_later[] = "\r\n\r\n{\"resourceType\": \"Bundle\", \"entry\": []}\r\n";
    const char *whole;
    parsed r;

    ok(same_in_any_chunks(p, stray, &whole), "a stray quote, then a quoted line break: "
       "the same in any chunks");
    is_str(whole, "broken 0; entry 3 A2 Bo Bo Kim; entry 5 A3 Cy Lee; entry 6 A4 Di Lee; "
           "error 2 - quote inside a field that does not start with a quote (quote the whole "
           "field and double the quote);", "a stray quote: its line refused, the rest read");
    ok(same_in_any_chunks(p, bom_later, &whole), "a byte order mark mid-file: the same in any chunks");
    parse(p, PM_ROSTER_CSV, NULL, json_later, 1, &r);
    ok(r.n == 0 && r.broken && r.errors->nelts == 1 && strstr(err(&r, 0)->message, "this is JSON"),
       "JSON after blank lines, read a byte at a time: this is JSON");
    ok(same_in_any_chunks(p, json_later, &whole), "JSON after blank lines: the same in any chunks");
}

static void test_csv_header(apr_pool_t *p)
{
    parsed r;

    parse(p, PM_ROSTER_CSV, NULL, "external_id,first_name,last_name,date_of_birth,email,x\n", 1000, &r);
    ok(r.n == 0 && r.errors->nelts == 1 && err(&r, 0)->where == 1
       && strstr(err(&r, 0)->message, "column 6"), "an unknown column is refused");
    ok(r.broken, "a bad header: the file is broken");
    parse(p, PM_ROSTER_CSV, NULL, "external_id,first_name,last_name,date_of_birth\n", 1000, &r);
    ok(r.n == 0 && r.errors->nelts == 1, "a missing required column is refused");
    parse(p, PM_ROSTER_CSV, NULL,
          "external_id,first_name,last_name,date_of_birth,email,active,active\n", 1000, &r);
    ok(r.n == 0 && r.errors->nelts == 1, "a repeated column is refused");
    parse(p, PM_ROSTER_CSV, NULL, "", 1000, &r);
    ok(r.n == 0 && r.errors->nelts == 1 && strstr(err(&r, 0)->message, "empty"),
       "an empty file is refused");
    ok(r.broken, "an empty file: broken");
    parse(p, PM_ROSTER_CSV, NULL, "external_id,first_name,last_name,date_of_birth,email\n"
          "\"A1,Ann,Lee,1980-01-01,\n", 1000, &r);
    ok(r.n == 0 && r.errors->nelts == 1 && err(&r, 0)->where == 2, "an unclosed quote: line 2");
    ok(r.broken, "an unclosed quote: broken (the lines after it were swallowed)");
    parse(p, PM_ROSTER_CSV, NULL, "external_id,first_name,last_name,date_of_birth,email\n"
          "A1,A\"nn,Lee,1980-01-01,\nA2,Bo,Lee,1980-01-01,\n", 1000, &r);
    ok(r.n == 1 && r.errors->nelts == 1 && !r.broken,
       "a stray quote inside a field: that line only, not broken");
    parse(p, PM_ROSTER_CSV, NULL, "external_id,first_name,last_name,date_of_birth,email\n"
          "A1,\"Ann,Lee,1980-01-01,\nA2,Bo,Lee,1980-01-01,\nA3,\"Cy\",Lee,1980-01-01,\n"
          "A4,Di,Lee,1980-01-01,\n", 1000, &r);
    ok(r.n == 1 && r.errors->nelts == 1 && err(&r, 0)->where == 2 && r.broken,
       "a quote opened on line 2 and closed on line 4 before more text: reported on line 2, "
       "broken (line 3 went into the field)");
    parse(p, PM_ROSTER_CSV, NULL, "external_id,first_name,last_name,date_of_birth,email\n"
          "A1,\"Ann,Lee,1980-01-01,\nA2,Bo\",Lee,1980-01-01,extra\nA3,Cy,Lee,1980-01-01,\n",
          1000, &r);
    ok(r.n == 1 && r.errors->nelts == 1 && r.broken,
       "a quote closed on a later line before a comma: a record of the wrong width over two "
       "lines, broken");
    parse(p, PM_ROSTER_CSV, NULL, "external_id,first_name,last_name,date_of_birth,email\n"
          "A1,\"Ann\nMarie\",Lee,1980-01-01,\n", 1000, &r);
    ok(r.n == 1 && r.errors->nelts == 0 && !r.broken, "a good record over two lines: not broken");
    parse_with(p, PM_ROSTER_CSV, NULL, 1, "external_id,first_name,last_name,date_of_birth,email\n"
               "A1,\"Ann,Lee,1980-01-01,a@example.org\nA2,Bo,Lee,1980-01-01,\nA3,Cy\",Lee,"
               "1980-01-01,c@example.org\nA4,Di,Lee,1980-01-01,\n", 7, &r);
    ok(r.n == 1 && r.errors->nelts == 1 && err(&r, 0)->where == 2 && r.broken,
       "a quote closed on a later line before a comma, making a record of the header's width: "
       "reported on line 2, broken (lines 3 and 4 were rows; got %d entries, %d errors)",
       r.n, r.errors->nelts);
    ok(err(&r, 0) && strstr(err(&r, 0)->message, "lines 2 to 4") != NULL,
       "it says which lines: %s", err(&r, 0) ? err(&r, 0)->message : "(none)");
}

static const char bundle[] =
    "{\"resourceType\":\"Bundle\",\"entry\":["
    "{\"resource\":{\"resourceType\":\"Patient\","
    "  \"identifier\":[{\"system\":\"urn:a\",\"value\":\"INS-1\"},{\"system\":\"urn:mrn\",\"value\":\"M-1\"}],"
    "  \"name\":[{\"use\":\"usual\",\"given\":[\"Fifi\"],\"family\":\"X\"},"
    "            {\"use\":\"official\",\"given\":[\"Fay\",\"Q\"],\"family\":\" Fhir \"}],"
    "  \"telecom\":[{\"system\":\"phone\",\"value\":\"555\"},{\"system\":\"email\",\"value\":\"fay@example.org\"}],"
    "  \"birthDate\":\"1985-04-04\",\"active\":false,"
    "  \"communication\":[{\"language\":{\"coding\":[{\"code\":\"en\"}]}},"
    "                     {\"language\":{\"coding\":[{\"code\":\"es-419\"}]},\"preferred\":true}]}},"
    "{\"resource\":{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:mrn\",\"value\":\"M-2\"}],"
    "  \"name\":[{\"given\":[\"Ned\"],\"family\":\"Nodate\"}],\"telecom\":[{\"system\":\"phone\",\"value\":\"1\"}]}},"
    "{\"resource\":{\"resourceType\":\"Observation\"}},"
    "{\"resource\":{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:mrn\",\"value\":\"M-3\"}],"
    "  \"name\":[{\"given\":[\"Al\"],\"family\":\"Plain\"}],\"birthDate\":\"1970-01-01\"}}"
    "]}";

/* The one error's message of a CSV roster ("" when not exactly one). */
static const char *only_message(apr_pool_t *p, const char *text)
{
    parsed r;

    parse(p, PM_ROSTER_CSV, NULL, text, 1000, &r);
    return r.errors->nelts == 1 ? err(&r, 0)->message : "";
}

/* A quoted value in a message is cut by characters, never inside one: the header's
 * 'a' + 20 x 'é' (41 bytes) and an active cell 'a' + 10 x 'é' (21 bytes) were cut at
 * byte 40 and 20, half an 'é', and the API's JSON then lost the message. */
static void test_csv_quoted_values(apr_pool_t *p)
{
    const char *e20 = "a\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                      "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9";
    const char *e10 = "a\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9";
    const char *active = "external_id,first_name,last_name,date_of_birth,email,active\n"
                         "A1,Ann,Lee,1980-01-01,,";
    const char *m;

    m = only_message(p, apr_pstrcat(p, e20, ",first_name,last_name,date_of_birth,email\n", NULL));
    ok(pm_utf8_valid(m, strlen(m), 0), "bad header: the message is valid UTF-8");
    ok(strstr(m, apr_psprintf(p, "is '%s')", e20)) != NULL,
       "bad header: the 21-character value quoted whole (got: %s)", m);
    m = only_message(p, apr_pstrcat(p, active, e10, "\n", NULL));
    ok(pm_utf8_valid(m, strlen(m), 0), "bad active: the message is valid UTF-8");
    ok(strstr(m, apr_psprintf(p, "active '%s' must", e10)) != NULL,
       "bad active: the 11-character value quoted whole (got: %s)", m);
    m = only_message(p, apr_pstrcat(p, active, e20, "\n", NULL));
    ok(pm_utf8_valid(m, strlen(m), 0) && strstr(m, apr_psprintf(p, "'%s'", pm_utf8_head(p, e20, 20))),
       "bad active of 21 characters: its first 20 quoted (got: %s)", m);
}

static void test_fhir(apr_pool_t *p)
{
    parsed r;

    parse(p, PM_ROSTER_FHIR, "urn:mrn", bundle, 5, &r);
    ok(r.n == 2, "FHIR: 2 good Patients (got %d)", r.n);
    is_str(r.e[0].external_id, "M-1", "the identifier of the system asked for");
    is_str(r.e[0].first_name, "Fay", "the official name's first given name");
    is_str(r.e[0].last_name, "Fhir", "the official name's family, trimmed");
    is_str(r.e[0].email, "fay@example.org", "the first email telecom, not the phone");
    is_str(r.e[0].preferred_language, "es", "the preferred communication language");
    ok(r.e[0].active == 0 && r.e[0].where == 0, "active false; entry 0");
    ok(r.e[1].where == 3 && r.e[1].email == NULL && r.e[1].active == -1
       && r.e[1].preferred_language == NULL, "entry 3: no email, active or language given");
    ok(r.errors->nelts == 1, "one problem (got %d)", r.errors->nelts);
    ok(err(&r, 0) && err(&r, 0)->where == 1 && strcmp(err(&r, 0)->field, "birthDate") == 0
       && strstr(err(&r, 0)->message, "missing"), "entry 1: birthDate is missing");
    ok(r.ignored == 1, "entry 2, an Observation, is ignored, not a problem (got %d)", r.ignored);

    parse(p, PM_ROSTER_FHIR, NULL, bundle, 4096, &r);
    ok(r.n == 1 && err(&r, 0) && err(&r, 0)->where == 0
       && strstr(err(&r, 0)->message, "--identifier-system"),
       "without a system: identifiers of two systems, none typed MR: refused");
    parse(p, PM_ROSTER_FHIR, "urn:none", bundle, 4096, &r);
    ok(r.n == 0 && err(&r, 0) && strcmp(err(&r, 0)->field, "identifier") == 0,
       "no identifier of the system asked for: reported");
    parse(p, PM_ROSTER_FHIR, NULL, "{\"resourceType\":\"Bundle\"}", 4096, &r);
    ok(r.n == 0 && r.errors->nelts == 0, "a Bundle without entries is an empty roster");
    parse(p, PM_ROSTER_FHIR, NULL, "{\"resourceType\":\"Patient\"}", 4096, &r);
    ok(r.n == 0 && r.errors->nelts == 1 && err(&r, 0)->where == -1, "not a Bundle: refused");
    parse(p, PM_ROSTER_FHIR, NULL, "{\"resourceType\":\"Bundle\",\"entry\":[}", 4096, &r);
    ok(r.n == 0 && r.errors->nelts == 1 && strstr(err(&r, 0)->message, "not a JSON"),
       "not JSON: refused");
    parse(p, PM_ROSTER_FHIR, NULL, "{\"resourceType\":\"Bundle\",\"entry\":[],\"entry\":[]}",
          4096, &r);
    ok(r.n == 0 && r.errors->nelts == 1, "duplicate members: refused");
}

/* The Bundle scanner: brackets, quotes and "entry" inside strings and nested
 * objects, members after the entries, and elements that are not objects. */
static void test_fhir_scanner(apr_pool_t *p)
{
    static const char tricky[] =
        "{ \"type\" : \"coll]ection\\\"[{\" ,\"resourceType\":\"Bundle\", \"meta\":{\"entry\":[1,2]},\n"
        "  \"entry\" : [ {\"resource\":{\"resourceType\":\"Patient\",\"entry\":{\"x\":\"],[\"},"
        "   \"identifier\":[{\"value\":\"Q-\\\"1]\"}],\"name\":[{\"family\":\"Br{ace\",\"given\":[\"Al\"]}],"
        "   \"birthDate\":\"1970-01-01\"}} , 7 ,\n {\"resource\":{\"resourceType\":\"Patient\","
        "   \"identifier\":[{\"value\":\"Q-2\"}],\"name\":[{\"family\":\"B\",\"given\":[\"C\"]}],"
        "   \"birthDate\":\"1971-01-01\"}}\n ], \"total\": 3 }";
    parsed r;
    apr_size_t step;

    for (step = 1; step <= 4096; step *= 8) {
        parse(p, PM_ROSTER_FHIR, NULL, tricky, step, &r);
        ok(r.n == 2 && r.errors->nelts == 1, "scanner, %u bytes a read: 2 Patients, 1 problem "
           "(got %d, %d)", (unsigned)step, r.n, r.errors->nelts);
        is_str(r.e[0].external_id, "Q-\"1]", "quotes and brackets inside strings");
        is_str(r.e[0].last_name, "Br{ace", "a brace inside a string");
        ok(r.e[1].where == 2, "the second Patient is entry 2");
        ok(err(&r, 0) && err(&r, 0)->where == 1, "entry 1 (a number) is not a Patient");
    }
    parse(p, PM_ROSTER_FHIR, NULL, "{\"resourceType\":\"Bundle\",\"entry\":{}}", 7, &r);
    ok(r.n == 0 && r.errors->nelts == 1 && strstr(err(&r, 0)->message, "array"),
       "entry that is not an array: refused");
    parse(p, PM_ROSTER_FHIR, NULL, "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":", 7, &r);
    ok(r.n == 0 && r.errors->nelts == 1 && err(&r, 0)->where == -1, "a document cut short: refused");
    parse(p, PM_ROSTER_FHIR, NULL, "{\"resourceType\":\"Bundle\",\"entry\":[{\"a\":1,\"a\":2}]}", 7, &r);
    ok(r.n == 0 && r.errors->nelts == 1 && err(&r, 0)->where == 0, "duplicate members in an entry: refused");
    ok(!r.broken, "duplicate members: that entry's problem, the Bundle is not broken");
    parse(p, PM_ROSTER_FHIR, NULL, "{\"resourceType\":\"Bundle\",\"entry\":[{\"a\":1} {\"b\":2}]}",
          7, &r);
    ok(r.n == 0 && r.errors->nelts >= 1 && r.broken,
       "two entries without a comma between them: not JSON, and the Bundle is broken");
}

/* A UTF-8 byte-order mark before the Bundle is skipped, also when the reads split it;
 * the start of one that is not a mark is still not JSON. */
static void test_fhir_bom(apr_pool_t *p)
{
    static const char bom[] =
        "\xEF\xBB\xBF{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"resourceType\":"
        "\"Patient\",\"identifier\":[{\"value\":\"B-1\"}],\"name\":[{\"family\":\"Bom\","
        "\"given\":[\"Bea\"]}],\"birthDate\":\"1970-01-01\"}}]}";
    apr_size_t step;
    parsed r;

    for (step = 1; step <= 4096; step *= 4) {
        parse(p, PM_ROSTER_FHIR, NULL, bom, step, &r);
        ok(r.n == 1 && r.errors->nelts == 0, "byte-order mark, %u bytes a read: read (got %d, %d)",
           (unsigned)step, r.n, r.errors->nelts);
    }
    parse(p, PM_ROSTER_FHIR, NULL, "\xEF\xBB{\"resourceType\":\"Bundle\"}", 1, &r);
    ok(r.n == 0 && r.errors->nelts == 1 && strstr(err(&r, 0)->message, "not a JSON document"),
       "half a byte-order mark: not a JSON document");
}

/* A Bundle of one Patient: identifier M-1, birthDate 1980-01-01, and the members
 * given (name, telecom, ... each with its leading comma). */
static const char *one_patient(apr_pool_t *p, const char *members)
{
    return apr_pstrcat(p, "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{"
                       "\"resourceType\":\"Patient\",\"identifier\":[{\"value\":\"M-1\"}],"
                       "\"birthDate\":\"1980-01-01\"", members, "}}]}", NULL);
}

/* The same with the identifier array's contents given. */
static const char *one_patient_ids(apr_pool_t *p, const char *ids)
{
    return apr_pstrcat(p, "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{"
                       "\"resourceType\":\"Patient\",\"identifier\":[", ids, "],"
                       "\"name\":[{\"given\":[\"Al\"],\"family\":\"Lee\"}],"
                       "\"birthDate\":\"1980-01-01\"}}]}", NULL);
}

static const char *NAME = ",\"name\":[{\"given\":[\"Al\"],\"family\":\"Lee\"}]";

/* The email: old, ended and not yet begun addresses skipped; rank, then home, then
 * the first; the same address whatever order the telecoms come in. */
static void test_fhir_email(apr_pool_t *p)
{
    static const char *const t[] = {
        "{\"system\":\"email\",\"value\":\"old@example.org\",\"use\":\"old\",\"rank\":1}",
        "{\"system\":\"email\",\"value\":\"ended@example.org\",\"rank\":1,"
        "\"period\":{\"end\":\"2029-12-31\"}}",
        "{\"system\":\"email\",\"value\":\"later@example.org\",\"rank\":1,"
        "\"period\":{\"start\":\"2030-02-01T00:00:00Z\"}}",
        "{\"system\":\"email\",\"value\":\"work@example.org\",\"use\":\"work\",\"rank\":2}",
        "{\"system\":\"email\",\"value\":\"home@example.org\",\"use\":\"home\",\"rank\":3,"
        "\"period\":{\"start\":\"2020\",\"end\":\"2030-01-01\"}}",
        "{\"system\":\"phone\",\"value\":\"555\",\"rank\":1}",
    };
    int order[][6] = { { 0, 1, 2, 3, 4, 5 }, { 5, 4, 3, 2, 1, 0 }, { 3, 0, 5, 4, 2, 1 } };
    parsed r;
    int k;

    for (k = 0; k < 3; k++) {
        parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, apr_pstrcat(p, NAME, ",\"telecom\":[",
              t[order[k][0]], ",", t[order[k][1]], ",", t[order[k][2]], ",", t[order[k][3]],
              ",", t[order[k][4]], ",", t[order[k][5]], "]", NULL)), 4096, &r);
        ok(r.n == 1, "email, order %d: read", k);
        is_str(r.e[0].email, "work@example.org", "email, order %d: rank 2 (rank 1 old, ended, "
               "not begun) before rank 3", k);
    }
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, apr_pstrcat(p, NAME, ",\"telecom\":["
          "{\"system\":\"email\",\"value\":\"w@example.org\",\"use\":\"work\"},"
          "{\"system\":\"email\",\"value\":\"h@example.org\",\"use\":\"home\"},"
          "{\"system\":\"email\",\"value\":\"r@example.org\",\"use\":\"temp\",\"rank\":4}]", NULL)),
          4096, &r);
    is_str(r.e[0].email, "r@example.org", "email: a ranked address before unranked ones");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, apr_pstrcat(p, NAME, ",\"telecom\":["
          "{\"system\":\"email\",\"value\":\"w@example.org\",\"use\":\"work\"},"
          "{\"system\":\"email\",\"value\":\"m@example.org\",\"use\":\"mobile\"},"
          "{\"system\":\"email\",\"value\":\"h@example.org\",\"use\":\"home\"}]", NULL)), 4096, &r);
    is_str(r.e[0].email, "h@example.org", "email: unranked, home before work and mobile");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, apr_pstrcat(p, NAME, ",\"telecom\":["
          "{\"system\":\"email\",\"value\":\"m@example.org\",\"use\":\"mobile\",\"rank\":0},"
          "{\"system\":\"email\",\"value\":\"w@example.org\",\"use\":\"work\"}]", NULL)), 4096, &r);
    is_str(r.e[0].email, "m@example.org", "email: rank 0 is no rank; then the first");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, apr_pstrcat(p, NAME, ",\"telecom\":["
          "{\"system\":\"email\",\"value\":\"o@example.org\",\"use\":\"old\"}]", NULL)), 4096, &r);
    ok(r.n == 1 && r.e[0].email == NULL, "email: only an old address: no email");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, apr_pstrcat(p, NAME, ",\"telecom\":["
          "{\"system\":\"email\",\"value\":\" MailTo:ann@example.org\"}]", NULL)), 4096, &r);
    is_str(r.n == 1 ? r.e[0].email : NULL, "ann@example.org", "email: a mailto: URI's address");
}

/* deceasedBoolean true or a deceasedDateTime: inactive whatever active says. */
static void test_fhir_deceased(apr_pool_t *p)
{
    parsed r;

    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, apr_pstrcat(p, NAME,
          ",\"active\":true,\"deceasedBoolean\":true", NULL)), 4096, &r);
    ok(r.n == 1 && r.e[0].active == 0, "deceasedBoolean true and active true: inactive");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, apr_pstrcat(p, NAME,
          ",\"deceasedDateTime\":\"2029-05-01\"", NULL)), 4096, &r);
    ok(r.n == 1 && r.e[0].active == 0, "a deceasedDateTime: inactive");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, apr_pstrcat(p, NAME,
          ",\"active\":true,\"deceasedBoolean\":false", NULL)), 4096, &r);
    ok(r.n == 1 && r.e[0].active == 1, "deceasedBoolean false: active stays");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, apr_pstrcat(p, NAME,
          ",\"deceasedBoolean\":\"yes\"", NULL)), 4096, &r);
    ok(r.n == 0 && err(&r, 0) && strcmp(err(&r, 0)->field, "deceasedBoolean") == 0,
       "deceasedBoolean not a boolean: reported");
}

/* The name: old, maiden, nickname, anonymous and ended names skipped; official,
 * usual, none, then the first left; given[0] only; a name with only text split. */
static void test_fhir_name(apr_pool_t *p)
{
    parsed r;

    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, ",\"name\":["
          "{\"use\":\"usual\",\"given\":[\"Maggie\"],\"family\":\"Nunez\"},"
          "{\"use\":\"official\",\"given\":[\"Margaret\",\"Anne\"],\"family\":\"Nunez\"},"
          "{\"use\":\"maiden\",\"given\":[\"Margaret\"],\"family\":\"Smith\"}]"), 4096, &r);
    ok(r.n == 1, "name: read");
    is_str(r.e[0].first_name, "Margaret", "name: official, given[0] without the middle name");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, ",\"name\":["
          "{\"use\":\"official\",\"given\":[\"A\"],\"family\":\"Was\",\"period\":{\"end\":\"2015-01-01\"}},"
          "{\"use\":\"usual\",\"given\":[\"A\"],\"family\":\"Newname\"}]"), 4096, &r);
    is_str(r.e[0].last_name, "Newname", "name: an official name that has ended is skipped for usual");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, ",\"name\":["
          "{\"use\":\"old\",\"given\":[\"O\"],\"family\":\"Old\"},"
          "{\"use\":\"nickname\",\"given\":[\"N\"],\"family\":\"Nick\"},"
          "{\"use\":\"anonymous\",\"given\":[\"X\"],\"family\":\"Anon\"},"
          "{\"use\":\"temp\",\"given\":[\"T\"],\"family\":\"Temp\"},"
          "{\"given\":[\"P\"],\"family\":\"Plain\"}]"), 4096, &r);
    is_str(r.e[0].last_name, "Plain", "name: old, nickname, anonymous skipped; one without use "
           "before temp");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, ",\"name\":["
          "{\"use\":\"old\",\"given\":[\"O\"],\"family\":\"Old\"},"
          "{\"use\":\"temp\",\"given\":[\"T\"],\"family\":\"Temp\"}]"), 4096, &r);
    is_str(r.e[0].last_name, "Temp", "name: else the first left");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, ",\"name\":[{\"text\":\" Ann Marie Lee \"}]"),
          4096, &r);
    ok(r.n == 1, "name with only text: read");
    is_str(r.e[0].first_name, "Ann Marie", "name with only text: given before the last space");
    is_str(r.e[0].last_name, "Lee", "name with only text: family after it");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, ",\"name\":[{\"text\":\"Cher\"}]"), 4096, &r);
    ok(r.n == 0 && err(&r, 0) && strstr(err(&r, 0)->message, "missing"),
       "name with one word of text: missing, as before");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, ",\"name\":["
          "{\"use\":\"maiden\",\"given\":[\"M\"],\"family\":\"Maid\"}]"), 4096, &r);
    ok(r.n == 0 && err(&r, 0) && strcmp(err(&r, 0)->field, "name") == 0,
       "name: only a maiden name: no current name, reported");
}

/* The identifier: one of use old is skipped. */
static void test_fhir_identifier(apr_pool_t *p)
{
    static const char ids[] =
        "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"resourceType\":\"Patient\","
        "\"identifier\":[{\"use\":\"old\",\"system\":\"urn:mrn\",\"value\":\"OLD-9\"},"
        "{\"system\":\"urn:x\",\"value\":\"X-1\"},{\"use\":\"usual\",\"system\":\"urn:mrn\","
        "\"value\":\"M-1\"}],\"name\":[{\"given\":[\"A\"],\"family\":\"B\"}],"
        "\"birthDate\":\"1980-01-01\"}}]}";
    parsed r;

    parse(p, PM_ROSTER_FHIR, "urn:mrn", ids, 4096, &r);
    ok(r.n == 1, "identifier: read");
    is_str(r.e[0].external_id, "M-1", "identifier of the system: the old one skipped");
    ok(r.e[0].old_ids && r.e[0].old_ids->nelts == 1
       && strcmp(APR_ARRAY_IDX(r.e[0].old_ids, 0, const char *), "OLD-9") == 0,
       "identifier: the old one of the system is the entry's retired chart number");
    parse(p, PM_ROSTER_FHIR, NULL, ids, 4096, &r);
    ok(r.n == 0 && err(&r, 0) && strstr(err(&r, 0)->message, "several systems"),
       "identifier without a system: several systems, none typed MR: refused");
    parse(p, PM_ROSTER_FHIR, "urn:mrn",
          "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"resourceType\":\"Patient\","
          "\"identifier\":[{\"use\":\"old\",\"system\":\"urn:mrn\",\"value\":\"OLD-9\"}],"
          "\"name\":[{\"given\":[\"A\"],\"family\":\"B\"}],\"birthDate\":\"1980-01-01\"}}]}",
          4096, &r);
    ok(r.n == 0 && err(&r, 0) && strcmp(err(&r, 0)->field, "identifier") == 0
       && strstr(err(&r, 0)->message, "old"), "identifier: only an old one: reported");
}

#define V2 "{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v2-0203\",\"code\":"

/* Without --identifier-system: the one typed MR, else the first untyped of one
 * system; never a Social Security number; old ones of the chosen system kept. */
static void test_fhir_identifier_type(apr_pool_t *p)
{
    parsed r;

    parse(p, PM_ROSTER_FHIR, NULL, one_patient_ids(p, "{\"system\":\"urn:x\",\"value\":\"X-1\"},"
          "{\"system\":\"urn:mrn\",\"type\":" V2 "\"MR\"}]},\"value\":\"M-1\"},"
          "{\"use\":\"old\",\"system\":\"urn:mrn\",\"value\":\"M-0\"},"
          "{\"use\":\"old\",\"system\":\"urn:x\",\"value\":\"X-0\"}"), 4096, &r);
    ok(r.n == 1, "MR: read");
    is_str(r.e[0].external_id, "M-1", "MR: the identifier typed MR, not the first");
    ok(r.e[0].old_ids && r.e[0].old_ids->nelts == 1
       && strcmp(APR_ARRAY_IDX(r.e[0].old_ids, 0, const char *), "M-0") == 0,
       "MR: only the old ones of its system");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient_ids(p,
          "{\"system\":\"http://hl7.org/fhir/sid/us-ssn\",\"value\":\"123-45-0010\"},"
          "{\"type\":" V2 "\"SS\"}]},\"value\":\"123-45-0011\"},"
          "{\"system\":\"urn:mrn\",\"value\":\"M-2\"}"), 4096, &r);
    is_str(r.n == 1 ? r.e[0].external_id : NULL, "M-2",
           "SSN: of system us-ssn or typed SS, never the chart number");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient_ids(p,
          "{\"system\":\"http://hl7.org/fhir/sid/us-ssn\",\"value\":\"123-45-0010\"}"),
          4096, &r);
    ok(r.n == 0 && err(&r, 0) && strstr(err(&r, 0)->message, "Social Security")
       && !strstr(err(&r, 0)->message, "123-45"), "SSN alone: refused, without the number");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient_ids(p,
          "{\"system\":\"urn:mrn\",\"type\":" V2 "\"PI\"}]},\"value\":\"P-1\"}"), 4096, &r);
    ok(r.n == 0 && err(&r, 0) && strstr(err(&r, 0)->message, "typed MR"),
       "a typed identifier that is not MR: refused");
    parse(p, PM_ROSTER_FHIR, NULL, apr_pstrcat(p, "{\"resourceType\":\"Bundle\",\"entry\":["
          "{\"resource\":{\"resourceType\":\"Patient\",\"identifier\":[{\"value\":\"G-1\"}],"
          "\"active\":false,\"link\":[{\"type\":\"replaced-by\",\"other\":"
          "{\"reference\":\"Patient/2\"}}]}}]}", NULL), 4096, &r);
    ok(r.n == 1 && r.e[0].merged_away && strcmp(r.e[0].external_id, "G-1") == 0
       && r.errors->nelts == 0, "replaced-by: a merged-away entry (no name or birthDate needed)");
    /* the fuzzer's finding: an identifier without a value on a merged-away Patient */
    parse(p, PM_ROSTER_FHIR, NULL, apr_pstrcat(p, "{\"resourceType\":\"Bundle\",\"entry\":["
          "{\"resource\":{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:x\"}],"
          "\"link\":[{\"type\":\"replaced-by\",\"other\":{\"reference\":\"Patient/2\"}}]}}]}",
          NULL), 4096, &r);
    ok(r.n == 0 && err(&r, 0) && strcmp(err(&r, 0)->field, "identifier.value") == 0,
       "replaced-by without an identifier value: a bad row, not a crash");
}

/* The language: the urn:ietf:bcp:47 coding; three-letter codes of the portal's
 * languages; an EHR's local code ignored; a malformed bcp:47 code an error. */
static void test_fhir_language(apr_pool_t *p)
{
    parsed r;

#define LANG(codings) one_patient(p, apr_pstrcat(p, NAME, ",\"communication\":[{\"language\":" \
                                                 "{\"coding\":[", codings, "]}}]", NULL))
    parse(p, PM_ROSTER_FHIR, NULL, LANG("{\"system\":\"http://ehr.example/lang\",\"code\":\"SPAN\"},"
          "{\"system\":\"urn:ietf:bcp:47\",\"code\":\"es-MX\"}"), 4096, &r);
    ok(r.n == 1 && r.errors->nelts == 0, "language: a local coding before the bcp:47 one: read");
    is_str(r.e[0].preferred_language, "es", "language: the bcp:47 coding");
    parse(p, PM_ROSTER_FHIR, NULL, LANG("{\"system\":\"http://ehr.example/lang\",\"code\":\"SPAN\"}"),
          4096, &r);
    ok(r.n == 1 && r.errors->nelts == 0 && r.e[0].preferred_language == NULL,
       "language: only a local code that is no language tag: ignored");
    parse(p, PM_ROSTER_FHIR, NULL, LANG("{\"system\":\"urn:iso:std:iso:639\",\"code\":\"spa\"}"),
          4096, &r);
    is_str(r.e[0].preferred_language, "es", "language: spa is es");
    parse(p, PM_ROSTER_FHIR, NULL, LANG("{\"system\":\"urn:ietf:bcp:47\",\"code\":\"eng\"}"),
          4096, &r);
    is_str(r.e[0].preferred_language, "en", "language: eng is en");
    parse(p, PM_ROSTER_FHIR, NULL, LANG("{\"system\":\"http://ehr.example/lang\",\"code\":\"fr\"},"
          "{\"system\":\"urn:ietf:bcp:47\",\"code\":\"Spanish!\"}"), 4096, &r);
    ok(r.n == 0 && err(&r, 0) && strcmp(err(&r, 0)->field, "communication.language") == 0,
       "language: a malformed bcp:47 code is an error");
#undef LANG
}

/* One page of a search: refused with discharge_missing, read without it. */
static void test_fhir_page(apr_pool_t *p)
{
    static const char *const pat =
        "{\"resource\":{\"resourceType\":\"Patient\",\"identifier\":[{\"value\":\"M-1\"}],"
        "\"name\":[{\"given\":[\"A\"],\"family\":\"B\"}],\"birthDate\":\"1980-01-01\"}}";
    const char *next = apr_pstrcat(p, "{\"resourceType\":\"Bundle\",\"link\":[{\"relation\":"
                                   "\"self\",\"url\":\"u\"},{\"relation\":\"next\",\"url\":\"v\"}],"
                                   "\"entry\":[", pat, "]}", NULL);
    const char *total = apr_pstrcat(p, "{\"resourceType\":\"Bundle\",\"total\":3,\"entry\":[",
                                    pat, ",{\"resource\":{\"resourceType\":\"Observation\"}}]}", NULL);
    const char *whole = apr_pstrcat(p, "{\"resourceType\":\"Bundle\",\"total\":1,\"link\":"
                                    "[{\"relation\":\"self\",\"url\":\"u\"}],\"entry\":[", pat,
                                    "]}", NULL);
    parsed r;

    parse_with(p, PM_ROSTER_FHIR, NULL, 1, next, 3, &r);
    ok(r.errors->nelts == 1 && strcmp(err(&r, 0)->field, "link") == 0
       && err(&r, 0)->where == -1 && strstr(err(&r, 0)->message, "paginated"),
       "a next link with discharge_missing: refused");
    parse_with(p, PM_ROSTER_FHIR, NULL, 1, total, 3, &r);
    ok(r.errors->nelts == 1 && strcmp(err(&r, 0)->field, "link") == 0
       && strstr(err(&r, 0)->message, "(1 of 3 patients)"),
       "total above the Patients with discharge_missing: refused, saying how many");
    parse_with(p, PM_ROSTER_FHIR, NULL, 0, next, 3, &r);
    ok(r.n == 1 && r.errors->nelts == 0, "a page without discharge_missing: read");
    parse_with(p, PM_ROSTER_FHIR, NULL, 1, whole, 3, &r);
    ok(r.n == 1 && r.errors->nelts == 0, "a whole search with discharge_missing: read");
}

/* Entries that name no client (found by a review with Epic's and Synthea's exports):
 * the warning OperationOutcome of a search (its issues become notes), an _include's
 * Practitioner, a Patient the search only included, a transaction Bundle's other
 * resources; none is a problem. An entry without a resource still is. */
static void test_fhir_other_entries(apr_pool_t *p)
{
    static const char epic[] =
        "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"total\":2,\"entry\":["
        "{\"resource\":{\"resourceType\":\"Patient\",\"identifier\":[{\"value\":\"E-1\"}],"
        "  \"name\":[{\"given\":[\"A\"],\"family\":\"B\"}],\"birthDate\":\"1980-01-01\"},"
        "  \"search\":{\"mode\":\"match\"}},"
        "{\"resource\":{\"resourceType\":\"Practitioner\",\"id\":\"p1\"},\"search\":{\"mode\":\"include\"}},"
        "{\"resource\":{\"resourceType\":\"Patient\",\"identifier\":[{\"value\":\"LINKED\"}]},"
        "  \"search\":{\"mode\":\"include\"}},"
        "{\"resource\":{\"resourceType\":\"Patient\",\"identifier\":[{\"value\":\"E-2\"}],"
        "  \"name\":[{\"given\":[\"C\"],\"family\":\"D\"}],\"birthDate\":\"1981-01-01\"}},"
        "{\"resource\":{\"resourceType\":\"OperationOutcome\",\"issue\":["
        "  {\"severity\":\"warning\",\"code\":\"processing\",\"diagnostics\":\"Some results\\nwere omitted\"},"
        "  {\"severity\":\"information\",\"code\":\"informational\",\"details\":{\"text\":\"Try _count\"}}]},"
        "  \"search\":{\"mode\":\"outcome\"}}]}";
    static const char synthea[] =
        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
        "{\"fullUrl\":\"urn:uuid:1\",\"resource\":{\"resourceType\":\"Patient\","
        "  \"identifier\":[{\"system\":\"https://github.com/synthetichealth/synthea\",\"value\":\"S-1\"}],"
        "  \"name\":[{\"use\":\"official\",\"given\":[\"Thi\"],\"family\":\"Nguyen\"}],\"birthDate\":\"1990-02-02\"},"
        "  \"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
        "{\"resource\":{\"resourceType\":\"Encounter\"},\"request\":{\"method\":\"POST\",\"url\":\"Encounter\"}},"
        "{\"resource\":{\"resourceType\":\"Condition\"},\"request\":{\"method\":\"POST\",\"url\":\"Condition\"}}]}";
    parsed r;
    apr_size_t step;

    for (step = 1; step <= 4096; step *= 16) {
        parse_with(p, PM_ROSTER_FHIR, NULL, 1, epic, step, &r);
        ok(r.n == 2 && r.errors->nelts == 0 && !r.broken, "Epic searchset, %u bytes a read: "
           "2 Patients, no problem (got %d, %d)", (unsigned)step, r.n, r.errors->nelts);
        ok(r.ignored == 3, "the Practitioner, the included Patient and the OperationOutcome "
           "ignored (got %d)", r.ignored);
        ok(r.e[1].where == 3, "the second Patient is entry 3");
        ok(r.notes->nelts == 2
           && strcmp(APR_ARRAY_IDX(r.notes, 0, const char *),
                     "entry[4] OperationOutcome warning: Some results were omitted") == 0
           && strcmp(APR_ARRAY_IDX(r.notes, 1, const char *),
                     "entry[4] OperationOutcome information: Try _count") == 0,
           "the outcome's issues are notes (diagnostics, else details.text; a line break blanked)");
    }
    parse(p, PM_ROSTER_FHIR, NULL, synthea, 7, &r);
    ok(r.n == 1 && r.errors->nelts == 0 && r.ignored == 2,
       "a Synthea transaction Bundle: its Patient read, Encounter and Condition ignored");
    is_str(r.e[0].external_id, "S-1", "the transaction's Patient");
    parse(p, PM_ROSTER_FHIR, NULL, "{\"resourceType\":\"Bundle\",\"entry\":[{\"request\":"
          "{\"method\":\"DELETE\"}}]}", 4096, &r);
    ok(r.n == 0 && r.errors->nelts == 1 && strstr(err(&r, 0)->message, "no resource"),
       "an entry without a resource is still a problem");
}

static const char *many_issues(apr_pool_t *p, int n)
{
    const char *issues = "";
    int i;

    for (i = 0; i < n; i++) {
        issues = apr_psprintf(p, "%s%s{\"severity\":\"warning\",\"diagnostics\":\"w%d\"}",
                              issues, i ? "," : "", i);
    }
    return apr_pstrcat(p, "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":"
                       "{\"resourceType\":\"OperationOutcome\",\"issue\":[", issues, "]}}]}", NULL);
}

static void test_fhir_notes_bounded(apr_pool_t *p)
{
    parsed r;

    parse(p, PM_ROSTER_FHIR, NULL, many_issues(p, 25), 4096, &r);
    ok(r.notes->nelts == 21 && strcmp(APR_ARRAY_IDX(r.notes, 20, const char *),
                                      "... and 5 more notes") == 0,
       "25 issues: 20 notes, then how many more (got %d)", r.notes->nelts);
}

/* A name with only text, as EHRs write it; given [null, "Thi"] (a first given with
 * only an extension). */
static void test_fhir_name_text(apr_pool_t *p)
{
    static const char *const cases[][3] = {
        { "SMITH, JOHN A", "JOHN", "SMITH" },
        { "Smith,John", "John", "Smith" },
        { "Dr. Robert Smith Jr.", "Robert", "Smith" },
        { "Mrs Mary Ann Lee, MD", "Mary Ann", "Lee" },
        { "Robert Smith, Jr.", "Robert", "Smith" },
        { "de la Cruz, Maria", "Maria", "de la Cruz" },
        { "JOHN SMITH III", "JOHN", "SMITH" },
    };
    parsed r;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, apr_psprintf(p, ",\"name\":[{\"text\":"
                                                                   "\"%s\"}]", cases[i][0])),
              4096, &r);
        ok(r.n == 1, "text '%s': read", cases[i][0]);
        is_str(r.e[0].first_name, cases[i][1], "text '%s': first name", cases[i][0]);
        is_str(r.e[0].last_name, cases[i][2], "text '%s': last name", cases[i][0]);
    }
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, ",\"name\":[{\"text\":\"Dr. Cher\"}]"), 4096, &r);
    ok(r.n == 0 && err(&r, 0) && strstr(err(&r, 0)->message, "missing"),
       "text 'Dr. Cher': one word left: missing");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, ",\"name\":[{\"text\":\"SMITH,\"}]"), 4096, &r);
    ok(r.n == 0, "text 'SMITH,': no given name: missing");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, ",\"name\":[{\"family\":\"Tran\",\"given\":"
          "[null,\"Thi\"],\"_given\":[{\"extension\":[{\"url\":\"u\",\"valueString\":\"x\"}]},null]}]"),
          4096, &r);
    ok(r.n == 1 && r.errors->nelts == 0, "given [null, \"Thi\"] with _given: read");
    is_str(r.e[0].first_name, "Thi", "the first given that is not null");
    parse(p, PM_ROSTER_FHIR, NULL, one_patient(p, ",\"name\":[{\"family\":\"Tran\",\"given\":"
          "[null,7]}]"), 4096, &r);
    ok(r.n == 0 && err(&r, 0) && strcmp(err(&r, 0)->field, "name.given") == 0,
       "given [null, 7]: still must be strings");
}

/* The message of the one error reading buf[0..len) (which may hold NUL bytes) gives,
 * step bytes a read, when it ends the input and marks it broken; "" otherwise. */
static const char *wide_error(apr_pool_t *p, pm_roster_format format, const char *buf,
                              apr_size_t len, apr_size_t step)
{
    apr_array_header_t *errors = apr_array_make(p, 2, sizeof(pm_roster_error));
    trickle t = { buf, len, 0, step };
    pm_roster_options o;
    pm_roster_parser *ps;
    pm_roster_entry e;
    apr_status_t rv;

    memset(&o, 0, sizeof(o));
    o.format = format;
    o.now = 1893456000;
    ps = pm_roster_parser_make(p, &o, read_trickle, &t, errors);
    if (pm_roster_next(ps, p, &e, &rv) != 0 || errors->nelts != 1 || !pm_roster_broken(ps)) {
        return "";
    }
    return APR_ARRAY_IDX(errors, 0, pm_roster_error).message;
}

/* NDJSON given as a Bundle, and files in UTF-16 or UTF-32, said so. */
static void test_wide_and_ndjson(apr_pool_t *p)
{
    static const char ndjson[] =
        "{\"resourceType\":\"Patient\",\"identifier\":[{\"value\":\"N-1\"}]}\n"
        "{\"resourceType\":\"Patient\",\"identifier\":[{\"value\":\"N-2\"}]}\n";
    static const char utf16_json[] = "\xFF\xFE{\0\"\0r\0";
    static const char utf16_csv[] = "\xFF\xFE" "e\0x\0t\0";
    static const char utf32_json[] = "\xFF\xFE\0\0{\0\0\0";
    const char *m;
    parsed r;
    apr_size_t step;

    for (step = 1; step <= 4096; step *= 64) {
        parse(p, PM_ROSTER_FHIR, NULL, ndjson, step, &r);
        ok(r.n == 0 && r.errors->nelts == 1 && r.broken && err(&r, 0)->where == -1
           && strstr(err(&r, 0)->message, "this is NDJSON (one Patient resource a line")
           && strstr(err(&r, 0)->message, "jq -s '{resourceType:\"Bundle\",type:\"collection\","
                                          "entry:map({resource:.})}' Patient.ndjson > bundle.json"),
           "NDJSON, %u bytes a read: said so, with the jq line (got: %s)", (unsigned)step,
           err(&r, 0) ? err(&r, 0)->message : "nothing");
        m = wide_error(p, PM_ROSTER_FHIR, utf16_json, sizeof(utf16_json) - 1, step);
        ok(strstr(m, "the file is UTF-16, and JSON must be UTF-8") != NULL,
           "a UTF-16 Bundle, %u bytes a read: said so (got: %s)", (unsigned)step, m);
        m = wide_error(p, PM_ROSTER_FHIR, utf32_json, sizeof(utf32_json) - 1, step);
        ok(strstr(m, "the file is UTF-32") != NULL,
           "a UTF-32 Bundle, %u bytes a read: said so (got: %s)", (unsigned)step, m);
        m = wide_error(p, PM_ROSTER_CSV, utf16_csv, sizeof(utf16_csv) - 1, step);
        ok(strstr(m, "the file is UTF-16: save it as UTF-8") && strstr(m, "--encoding UTF-16")
           && strstr(m, "charset=utf-16"),
           "a UTF-16 CSV, %u bytes a read: said so, with --encoding (got: %s)", (unsigned)step, m);
    }
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_csv_stream(p);
    test_csv_cuts(p);
    test_csv_header(p);
    test_csv_quoted_values(p);
    test_fhir(p);
    test_fhir_scanner(p);
    test_fhir_bom(p);
    test_fhir_email(p);
    test_fhir_deceased(p);
    test_fhir_name(p);
    test_fhir_identifier(p);
    test_fhir_identifier_type(p);
    test_fhir_language(p);
    test_fhir_page(p);
    test_fhir_other_entries(p);
    test_fhir_notes_bounded(p);
    test_fhir_name_text(p);
    test_wide_and_ndjson(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
