/* Unit tests for the roster sync's parsers (src/core/pm_roster_parse.c): CSV read
 * in small pieces (records and quoted line breaks across reads, line numbers of
 * the whole stream), header rules, checks, and FHIR Bundles of Patients. */
#include "pm_roster.h"
#include "tap.h"

#include <apr_general.h>

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
    apr_array_header_t *errors;
} parsed;

static void parse(apr_pool_t *p, pm_roster_format format, const char *system, const char *text,
                  apr_size_t step, parsed *out)
{
    pm_roster_options o;
    trickle t = { text, strlen(text), 0, step };
    pm_roster_parser *ps;
    apr_status_t rv;

    memset(&o, 0, sizeof(o));
    memset(out, 0, sizeof(*out));
    o.format = format;
    o.identifier_system = system;
    o.now = 1893456000;   /* 2030-01-01 */
    out->errors = apr_array_make(p, 4, sizeof(pm_roster_error));
    ps = pm_roster_parser_make(p, &o, read_trickle, &t, out->errors);
    while (out->n < 8 && pm_roster_next(ps, p, &out->e[out->n], &rv) == 1) {
        out->n++;
    }
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
    }
}

static void test_csv_header(apr_pool_t *p)
{
    parsed r;

    parse(p, PM_ROSTER_CSV, NULL, "external_id,first_name,last_name,date_of_birth,email,x\n", 1000, &r);
    ok(r.n == 0 && r.errors->nelts == 1 && err(&r, 0)->where == 1
       && strstr(err(&r, 0)->message, "column 6"), "an unknown column is refused");
    parse(p, PM_ROSTER_CSV, NULL, "external_id,first_name,last_name,date_of_birth\n", 1000, &r);
    ok(r.n == 0 && r.errors->nelts == 1, "a missing required column is refused");
    parse(p, PM_ROSTER_CSV, NULL,
          "external_id,first_name,last_name,date_of_birth,email,active,active\n", 1000, &r);
    ok(r.n == 0 && r.errors->nelts == 1, "a repeated column is refused");
    parse(p, PM_ROSTER_CSV, NULL, "", 1000, &r);
    ok(r.n == 0 && r.errors->nelts == 1 && strstr(err(&r, 0)->message, "empty"),
       "an empty file is refused");
    parse(p, PM_ROSTER_CSV, NULL, "external_id,first_name,last_name,date_of_birth,email\n"
          "\"A1,Ann,Lee,1980-01-01,\n", 1000, &r);
    ok(r.n == 0 && r.errors->nelts == 1 && err(&r, 0)->where == 2, "an unclosed quote: line 2");
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
    ok(r.errors->nelts == 2, "two problems (got %d)", r.errors->nelts);
    ok(err(&r, 0) && err(&r, 0)->where == 1 && strcmp(err(&r, 0)->field, "birthDate") == 0
       && strstr(err(&r, 0)->message, "missing"), "entry 1: birthDate is missing");
    ok(err(&r, 1) && err(&r, 1)->where == 2 && strcmp(err(&r, 1)->field, "resourceType") == 0,
       "entry 2: not a Patient");

    parse(p, PM_ROSTER_FHIR, NULL, bundle, 4096, &r);
    is_str(r.e[0].external_id, "INS-1", "without a system: the first identifier");
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

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_csv_stream(p);
    test_csv_header(p);
    test_fhir(p);
    test_fhir_scanner(p);
    test_fhir_bom(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
