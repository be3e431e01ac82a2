/* pm_roster_parse.c — the roster sync's input side: a CSV stream read a chunk of
 * whole records at a time (pm_csv.c on each chunk), or a FHIR R4 Bundle of
 * Patients scanned one entry at a time (each entry parsed by Jansson), turned into
 * checked pm_roster_entry values; every bad record is reported with its CSV line
 * or FHIR entry index and field. */
#include "pm_roster.h"
#include "pm_csv.h"
#include "pm_date.h"
#include "pm_text.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#define CHUNK_READ (64 * 1024)        /* bytes asked of the input at a time */
#define MAX_RECORD (1024 * 1024)      /* longest CSV record: a longer one is an error */
#define MAX_NAME_CHARS 100
#define MAX_EXTERNAL_ID_CHARS 100

/* The fields of an entry, in the CSV header's order. */
enum { F_EXTERNAL_ID, F_FIRST, F_LAST, F_DOB, F_EMAIL, F_ACTIVE, F_LANGUAGE, NFIELDS };
#define NREQUIRED 5
#define CSV_HEADER "external_id,first_name,last_name,date_of_birth,email"

static const char *const csv_names[NFIELDS] = {
    "external_id", "first_name", "last_name", "date_of_birth", "email", "active",
    "preferred_language"
};
static const char *const fhir_names[NFIELDS] = {
    "identifier", "name.given", "name.family", "birthDate", "telecom", "active",
    "communication.language"
};

struct pm_roster_parser {
    apr_pool_t *pool;
    const pm_roster_options *o;
    pm_roster_read_fn read;
    void *ctx;
    apr_array_header_t *errors;
    apr_time_t now;
    int done;
    apr_status_t read_status;
    /* CSV: buf[0..cut) is the chunk being read, buf[cut..fill) what follows */
    char *buf;
    apr_size_t cap, fill, cut;
    int eof, header_read;
    unsigned int next_line;        /* the line the next chunk starts on */
    apr_pool_t *chunk_pool;
    pm_csv_reader *rd;
    int column_of[NFIELDS];        /* the field's column, or -1 */
    int ncolumns;
    /* FHIR: buf[cut..fill) is what the scanner has not seen yet */
    struct bundle_scan *scan;
    int entry_index;
};

static void add_error(pm_roster_parser *ps, int where, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add_error(pm_roster_parser *ps, int where, const char *field,
                      const char *fmt, ...)
{
    pm_roster_error *e = apr_array_push(ps->errors);
    va_list ap;

    e->where = where;
    e->field = field;
    va_start(ap, fmt);
    e->message = apr_pvsprintf(ps->pool, fmt, ap);
    va_end(ap);
}

apr_status_t pm_roster_read_memory(void *ctx, char *buf, apr_size_t *len)
{
    pm_roster_memory *m = ctx;
    apr_size_t n = m->len - m->pos < *len ? m->len - m->pos : *len;

    memcpy(buf, m->buf + m->pos, n);
    m->pos += n;
    *len = n;
    return APR_SUCCESS;
}

/* ---- checks shared by both formats ------------------------------------------------ */

/* "es-MX", "ES", "es_MX" → "es"; NULL when it is no language tag. */
static const char *primary_language(apr_pool_t *p, const char *tag)
{
    apr_size_t n = strcspn(tag, "-_"), i;
    char *out;

    if (n < 2 || n > 3) {
        return NULL;
    }
    out = apr_pstrmemdup(p, tag, n);
    for (i = 0; i < n; i++) {
        if (!apr_isalpha(out[i])) {
            return NULL;
        }
        out[i] = (char)apr_tolower(out[i]);
    }
    for (i = n; tag[i]; i++) {
        if (!apr_isalnum(tag[i]) && tag[i] != '-' && tag[i] != '_') {
            return NULL;
        }
    }
    return out;
}

/* 1 / 0 for the spellings of a boolean; -1 for anything else. */
static int parse_active(const char *v)
{
    static const char *const yes[] = { "1", "true", "yes", "y", NULL };
    static const char *const no[] = { "0", "false", "no", "n", NULL };
    int i;

    for (i = 0; yes[i]; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            return 1;
        }
        if (strcasecmp(v, no[i]) == 0) {
            return 0;
        }
    }
    return -1;
}

/* Checks one text value; reports and returns 0 when it is unusable. */
static int check_text(pm_roster_parser *ps, int where, const char *field, const char *v,
                      int required, apr_size_t max_chars)
{
    if (!pm_utf8_valid(v, strlen(v), 0)) {
        add_error(ps, where, field, "%s is not valid UTF-8 or contains control characters "
                  "(such as tabs or NUL)", field);
        return 0;
    }
    if (required && *v == '\0') {
        add_error(ps, where, field, "%s is missing", field);
        return 0;
    }
    if (max_chars && pm_utf8_length(v) > max_chars) {
        add_error(ps, where, field, "%s is longer than %u characters", field,
                  (unsigned int)max_chars);
        return 0;
    }
    return 1;
}

/* v: the raw values (NULL: absent), trimmed; names: the format's field names. */
static int check_entry(pm_roster_parser *ps, int where, const char *const *v,
                       const char *const *names, apr_pool_t *scratch, pm_roster_entry *e)
{
    const char *problem;
    int good = 1, usable[NREQUIRED], i;

    memset(e, 0, sizeof(*e));
    e->where = where;
    e->active = -1;
    for (i = 0; i < NREQUIRED; i++) {
        usable[i] = check_text(ps, where, names[i], v[i] ? v[i] : "", i != F_EMAIL,
                               i == F_EXTERNAL_ID ? MAX_EXTERNAL_ID_CHARS
                               : i == F_DOB || i == F_EMAIL ? 0 : MAX_NAME_CHARS);
        good &= usable[i];
    }
    e->external_id = v[F_EXTERNAL_ID];
    e->first_name = v[F_FIRST];
    e->last_name = v[F_LAST];
    e->date_of_birth = v[F_DOB];
    e->email = v[F_EMAIL] && *v[F_EMAIL] ? v[F_EMAIL] : NULL;
    if (usable[F_DOB] && (problem = pm_birth_date_problem(e->date_of_birth, ps->now)) != NULL) {
        add_error(ps, where, names[F_DOB], "%s '%s' %s", names[F_DOB], e->date_of_birth,
                  problem);
        good = 0;
    }
    if (usable[F_EMAIL] && e->email && (problem = pm_email_problem(e->email)) != NULL) {
        add_error(ps, where, names[F_EMAIL], "%s '%s' %s", names[F_EMAIL], e->email, problem);
        good = 0;
    }
    if (v[F_ACTIVE] && *v[F_ACTIVE] && (e->active = parse_active(v[F_ACTIVE])) < 0) {
        add_error(ps, where, names[F_ACTIVE], "%s must be true or false (or 1 or 0)",
                  names[F_ACTIVE]);
        good = 0;
    }
    if (v[F_LANGUAGE] && *v[F_LANGUAGE]
        && (e->preferred_language = primary_language(scratch, v[F_LANGUAGE])) == NULL) {
        add_error(ps, where, names[F_LANGUAGE], "%s '%s' is not a language code such as "
                  "en or es", names[F_LANGUAGE], v[F_LANGUAGE]);
        good = 0;
    }
    return good;
}

/* ---- CSV ----------------------------------------------------------------------------- */

/* The end of the last whole record in b[0..n): after a line end outside quotes
 * (a CR at the very end may be half of a CRLF); 0 when there is none. */
static apr_size_t whole_records(const char *b, apr_size_t n)
{
    apr_size_t i, cut = 0;
    int quoted = 0;

    for (i = 0; i < n; i++) {
        if (b[i] == '"') {
            quoted = !quoted;
        }
        else if (!quoted && (b[i] == '\n' || (b[i] == '\r' && i + 1 < n && b[i + 1] != '\n'))) {
            cut = i + 1;
        }
    }
    return cut;
}

/* Physical lines in b[0..n), as pm_csv.c counts them (CRLF, LF or a lone CR). */
static unsigned int count_lines(const char *b, apr_size_t n)
{
    unsigned int lines = 0;
    apr_size_t i;

    for (i = 0; i < n; i++) {
        if (b[i] == '\n' || (b[i] == '\r' && (i + 1 >= n || b[i + 1] != '\n'))) {
            lines++;
        }
    }
    return lines;
}

static apr_status_t read_more(pm_roster_parser *ps)
{
    apr_size_t n = CHUNK_READ;
    apr_status_t rv;

    if (ps->cap - ps->fill < CHUNK_READ) {
        char *bigger;

        ps->cap *= 2;
        bigger = apr_palloc(ps->pool, ps->cap);
        memcpy(bigger, ps->buf, ps->fill);
        ps->buf = bigger;
    }
    rv = ps->read(ps->ctx, ps->buf + ps->fill, &n);
    if (rv == APR_EOF) {
        rv = APR_SUCCESS;
        n = 0;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ps->eof = n == 0;
    ps->fill += n;
    return APR_SUCCESS;
}

/* Moves on to the next chunk of whole records: 1, none left: 0, read error: -1. */
static int next_chunk(pm_roster_parser *ps, apr_status_t *rv)
{
    apr_size_t cut;

    ps->next_line += count_lines(ps->buf, ps->cut);
    memmove(ps->buf, ps->buf + ps->cut, ps->fill - ps->cut);
    ps->fill -= ps->cut;
    ps->cut = 0;
    while ((cut = ps->eof ? ps->fill : whole_records(ps->buf, ps->fill)) == 0) {
        if (ps->eof) {
            return 0;
        }
        if (ps->fill >= MAX_RECORD) {
            add_error(ps, (int)ps->next_line, NULL, "a record longer than %d bytes "
                      "(a quote that is never closed?)", MAX_RECORD);
            return 0;
        }
        if ((*rv = read_more(ps)) != APR_SUCCESS) {
            return -1;
        }
    }
    ps->cut = cut;
    apr_pool_clear(ps->chunk_pool);
    ps->rd = pm_csv_reader_make(ps->chunk_pool, ps->buf, ps->cut);
    pm_csv_reader_first_line(ps->rd, ps->next_line);
    return 1;
}

/* The next record that is not blank: 1, the end: 0, read error: -1. */
static int next_record(pm_roster_parser *ps, apr_pool_t *scratch, pm_csv_record *rec,
                       apr_status_t *rv)
{
    const char *error;
    unsigned int line;
    pm_csv_result r;
    int more;

    for (;;) {
        if (ps->rd == NULL
            || (r = pm_csv_next(ps->rd, scratch, rec, &error, &line)) == PM_CSV_END) {
            ps->rd = NULL;
            if ((more = next_chunk(ps, rv)) <= 0) {
                return more;
            }
            continue;
        }
        if (r == PM_CSV_ERROR) {
            add_error(ps, (int)line, NULL, "%s", error);
        }
        else if (!(rec->nfields == 1 && rec->fields[0].len == 0)) {
            return 1;
        }
    }
}

static int header_field(const pm_csv_field *f)
{
    int i;

    for (i = 0; i < NFIELDS; i++) {
        if (f->len == strlen(csv_names[i]) && memcmp(f->value, csv_names[i], f->len) == 0) {
            return i;
        }
    }
    return -1;
}

/* The header: the five required columns in order, then active and
 * preferred_language in any order, each at most once. */
static int read_header(pm_roster_parser *ps, const pm_csv_record *rec)
{
    int i, field;

    for (i = 0; i < NFIELDS; i++) {
        ps->column_of[i] = -1;
    }
    for (i = 0; i < rec->nfields; i++) {
        field = header_field(&rec->fields[i]);
        if (i < NREQUIRED ? field != i : field < NREQUIRED || ps->column_of[field] >= 0) {
            add_error(ps, (int)rec->line, NULL, "the header must be " CSV_HEADER
                      ", optionally followed by active and preferred_language "
                      "(column %d is not right)", i + 1);
            return 0;
        }
        ps->column_of[field] = i;
    }
    if (rec->nfields < NREQUIRED) {
        add_error(ps, (int)rec->line, NULL, "the header must be " CSV_HEADER
                  ", optionally followed by active and preferred_language");
        return 0;
    }
    ps->ncolumns = rec->nfields;
    return 1;
}

static int csv_next(pm_roster_parser *ps, apr_pool_t *scratch, pm_roster_entry *e,
                    apr_status_t *rv)
{
    pm_csv_record rec;
    const char *v[NFIELDS];
    apr_size_t len;
    int r, i;

    while ((r = next_record(ps, scratch, &rec, rv)) == 1) {
        if (!ps->header_read) {
            ps->header_read = 1;
            if (!read_header(ps, &rec)) {
                return 0;
            }
            continue;
        }
        if (rec.nfields != ps->ncolumns) {
            add_error(ps, (int)rec.line, NULL, "has %d field%s, the header has %d",
                      rec.nfields, rec.nfields == 1 ? "" : "s", ps->ncolumns);
            continue;
        }
        for (i = 0; i < NFIELDS; i++) {
            v[i] = ps->column_of[i] < 0 ? NULL
                   : pm_csv_field_trimmed(scratch, &rec.fields[ps->column_of[i]], &len);
            if (v[i] && strlen(v[i]) != len) {
                add_error(ps, (int)rec.line, csv_names[i], "%s contains a NUL byte",
                          csv_names[i]);
                break;
            }
        }
        if (i == NFIELDS && check_entry(ps, (int)rec.line, v, csv_names, scratch, e)) {
            return 1;
        }
    }
    if (r == 0 && !ps->header_read) {
        add_error(ps, 1, NULL, "the file is empty; its first line must be " CSV_HEADER);
    }
    return r;
}

/* ---- FHIR ---------------------------------------------------------------------------- */

/* A growing byte buffer in the parser's pool. */
typedef struct {
    char *b;
    apr_size_t len, cap;
} byte_buffer;

static void buffer_add(apr_pool_t *p, byte_buffer *bb, char c)
{
    if (bb->len + 1 >= bb->cap) {
        apr_size_t cap = bb->cap ? 2 * bb->cap : 4096;
        char *bigger = apr_palloc(p, cap);

        if (bb->len) {
            memcpy(bigger, bb->b, bb->len);
        }
        bb->b = bigger;
        bb->cap = cap;
    }
    bb->b[bb->len++] = c;
}

/* The Bundle is scanned byte by byte (strings, escapes and nesting tracked, no
 * values built): each element of the root's "entry" array is cut out and parsed
 * on its own by Jansson, and everything else (the "skeleton", with "entry": [])
 * is parsed at the end to check the document. Memory: one entry at a time. */
typedef struct bundle_scan {
    int depth, in_string, escaped, expect_key, in_key, entry_next, in_entry, in_element;
    char key[8];
    apr_size_t keylen;
    byte_buffer element, skeleton;
} bundle_scan;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void scan_emit(pm_roster_parser *ps, bundle_scan *sc, char c)
{
    if (sc->in_element) {
        buffer_add(ps->pool, &sc->element, c);
    }
    else if (!sc->in_entry) {
        buffer_add(ps->pool, &sc->skeleton, c);
    }
}

static void scan_string_byte(pm_roster_parser *ps, bundle_scan *sc, char c)
{
    scan_emit(ps, sc, c);
    if (sc->escaped) {
        sc->escaped = 0;
    }
    else if (c == '\\') {
        sc->escaped = 1;
    }
    else if (c == '"') {
        sc->in_string = sc->in_key = 0;
    }
    else if (sc->in_key) {
        sc->keylen = sc->keylen < sizeof(sc->key) ? sc->keylen + 1 : sc->keylen;
        if (sc->keylen < sizeof(sc->key)) {
            sc->key[sc->keylen - 1] = c;
        }
    }
}

/* One byte; returns 1 when it ended an element of the entry array. */
static int scan_byte(pm_roster_parser *ps, bundle_scan *sc, char c)
{
    int ended = 0;

    if (sc->in_string) {
        scan_string_byte(ps, sc, c);
        return 0;
    }
    if (sc->in_element && sc->depth == 2 && (c == ',' || c == ']')) {
        sc->in_element = 0;
        ended = 1;
    }
    else if (sc->in_entry && sc->depth == 2 && !sc->in_element && !is_space(c) && c != ','
             && c != ']') {
        sc->in_element = 1;
        sc->element.len = 0;
    }
    if (sc->entry_next && !is_space(c)) {
        sc->entry_next = 0;
        if (c == '[') {
            buffer_add(ps->pool, &sc->skeleton, c);
            sc->in_entry = 1;
            sc->depth++;
            return 0;
        }
    }
    switch (c) {
    case '"':
        sc->in_string = 1;
        if (sc->depth == 1 && sc->expect_key) {
            sc->in_key = 1;
            sc->keylen = 0;
        }
        break;
    case '{':
    case '[':
        sc->depth++;
        sc->expect_key = c == '{' && sc->depth == 1;
        break;
    case '}':
    case ']':
        if (sc->in_entry && sc->depth == 2) {
            sc->in_entry = 0;
        }
        sc->depth--;
        break;
    case ':':
        if (sc->depth == 1) {
            sc->expect_key = 0;
            sc->entry_next = sc->keylen == 5 && memcmp(sc->key, "entry", 5) == 0;
        }
        break;
    case ',':
        sc->expect_key = sc->depth == 1 ? 1 : sc->expect_key;
        break;
    }
    scan_emit(ps, sc, c);
    return ended;
}

/* The skeleton, once the input has ended: a JSON Bundle whose entry is an array. */
static void check_skeleton(pm_roster_parser *ps, bundle_scan *sc)
{
    json_error_t err;
    json_t *root;
    const char *type;

    if (sc->depth != 0 || sc->in_string) {
        add_error(ps, -1, NULL, "not a JSON document: it ends inside %s",
                  sc->in_string ? "a string" : "an object or array");
        return;
    }
    root = json_loadb(sc->skeleton.b ? sc->skeleton.b : "", sc->skeleton.len,
                      JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        add_error(ps, -1, NULL, "not a JSON document: %s", err.text);
        return;
    }
    type = json_string_value(json_object_get(root, "resourceType"));
    if (!json_is_object(root) || type == NULL || strcmp(type, "Bundle") != 0) {
        add_error(ps, -1, "resourceType", "the document must be a FHIR Bundle");
    }
    else if (json_object_get(root, "entry") && !json_is_array(json_object_get(root, "entry"))) {
        add_error(ps, -1, "entry", "the Bundle's entry must be an array");
    }
    json_decref(root);
}

/* The string member name of o, or NULL; a member that is not a string is reported. */
static const char *member_string(pm_roster_parser *ps, int where, json_t *o,
                                 const char *name, const char *field, int *bad)
{
    json_t *v = json_object_get(o, name);

    if (v == NULL || json_is_null(v)) {
        return NULL;
    }
    if (!json_is_string(v)) {
        add_error(ps, where, field, "%s must be a string", field);
        *bad = 1;
        return NULL;
    }
    return json_string_value(v);
}

/* The element of array a whose member key equals value; without value the first. */
static json_t *pick(json_t *a, const char *key, const char *value)
{
    size_t i;
    json_t *x;

    if (!json_is_array(a)) {
        return NULL;
    }
    json_array_foreach(a, i, x) {
        const char *s = json_string_value(json_object_get(x, key));
        if (value == NULL || (s && strcmp(s, value) == 0)) {
            return x;
        }
    }
    return NULL;
}

static const char *patient_identifier(pm_roster_parser *ps, int where, json_t *pat, int *bad)
{
    const char *system = ps->o->identifier_system;
    json_t *id = pick(json_object_get(pat, "identifier"), "system", system);

    if (id == NULL) {
        add_error(ps, where, "identifier", system ? "no identifier with system %s"
                  : "no identifier%s", system ? system : "");
        *bad = 1;
        return NULL;
    }
    return member_string(ps, where, id, "value", "identifier.value", bad);
}

/* name: the official one, else the first; given[0] and family */
static void patient_name(pm_roster_parser *ps, int where, json_t *pat, const char **v,
                         int *bad)
{
    json_t *names = json_object_get(pat, "name");
    json_t *name = pick(names, "use", "official"), *given;

    if (name == NULL) {
        name = pick(names, "use", NULL);
    }
    v[F_LAST] = member_string(ps, where, name, "family", "name.family", bad);
    given = json_array_get(json_object_get(name, "given"), 0);
    if (given && !json_is_string(given)) {
        add_error(ps, where, "name.given", "name.given must be strings");
        *bad = 1;
    }
    v[F_FIRST] = json_string_value(given);
}

/* communication: the preferred one, else the first; its language's first coding */
static const char *patient_language(json_t *pat)
{
    json_t *all = json_object_get(pat, "communication"), *c, *lang;
    size_t i;

    c = json_array_get(all, 0);
    json_array_foreach(all, i, lang) {
        if (json_is_true(json_object_get(lang, "preferred"))) {
            c = lang;
            break;
        }
    }
    lang = json_object_get(c, "language");
    return json_string_value(json_object_get(json_array_get(json_object_get(lang, "coding"), 0),
                                             "code"));
}

static int fhir_entry(pm_roster_parser *ps, int where, json_t *entry, apr_pool_t *scratch,
                      pm_roster_entry *e)
{
    json_t *pat = json_object_get(entry, "resource"), *active;
    const char *type = json_string_value(json_object_get(pat, "resourceType"));
    const char *v[NFIELDS];
    int bad = 0, i;

    if (type == NULL || strcmp(type, "Patient") != 0) {
        add_error(ps, where, "resourceType", "the entry's resource is not a Patient");
        return 0;
    }
    memset(v, 0, sizeof(v));
    v[F_EXTERNAL_ID] = patient_identifier(ps, where, pat, &bad);
    patient_name(ps, where, pat, v, &bad);
    v[F_DOB] = member_string(ps, where, pat, "birthDate", "birthDate", &bad);
    v[F_EMAIL] = json_string_value(json_object_get(pick(json_object_get(pat, "telecom"),
                                                        "system", "email"), "value"));
    active = json_object_get(pat, "active");
    if (active && !json_is_boolean(active)) {
        add_error(ps, where, "active", "active must be true or false");
        bad = 1;
    }
    v[F_ACTIVE] = active ? (json_is_true(active) ? "true" : "false") : NULL;
    v[F_LANGUAGE] = patient_language(pat);
    if (bad) {
        return 0;
    }
    for (i = 0; i < NFIELDS; i++) {
        v[i] = v[i] ? pm_trim(scratch, v[i]) : NULL;
    }
    return check_entry(ps, where, v, fhir_names, scratch, e);
}

static int fhir_element(pm_roster_parser *ps, apr_pool_t *scratch, pm_roster_entry *e)
{
    bundle_scan *sc = ps->scan;
    int where = ps->entry_index++, good;
    json_error_t err;
    json_t *entry = json_loadb(sc->element.b, sc->element.len, JSON_REJECT_DUPLICATES, &err);

    if (entry == NULL) {
        add_error(ps, where, NULL, "not JSON: %s", err.text);
        return 0;
    }
    good = fhir_entry(ps, where, entry, scratch, e);
    json_decref(entry);
    return good;
}

static int fhir_next(pm_roster_parser *ps, apr_pool_t *scratch, pm_roster_entry *e,
                     apr_status_t *rv)
{
    if (ps->scan == NULL) {
        ps->scan = apr_pcalloc(ps->pool, sizeof(bundle_scan));
    }
    for (;;) {
        if (ps->cut == ps->fill) {
            ps->cut = ps->fill = 0;
            if ((*rv = read_more(ps)) != APR_SUCCESS) {
                return -1;
            }
            if (ps->eof) {
                check_skeleton(ps, ps->scan);
                return 0;
            }
        }
        if (scan_byte(ps, ps->scan, ps->buf[ps->cut++]) && fhir_element(ps, scratch, e)) {
            return 1;
        }
    }
}

/* ---- the parser ----------------------------------------------------------------------- */

pm_roster_parser *pm_roster_parser_make(apr_pool_t *p, const pm_roster_options *o,
                                        pm_roster_read_fn read, void *ctx,
                                        apr_array_header_t *errors)
{
    pm_roster_parser *ps = apr_pcalloc(p, sizeof(*ps));

    ps->pool = p;
    ps->o = o;
    ps->read = read;
    ps->ctx = ctx;
    ps->errors = errors;
    ps->now = apr_time_from_sec(o->now);
    ps->next_line = 1;
    ps->cap = 2 * CHUNK_READ;
    ps->buf = apr_palloc(p, ps->cap);
    if (o->format == PM_ROSTER_CSV) {
        apr_pool_create(&ps->chunk_pool, p);
    }
    return ps;
}

int pm_roster_next(pm_roster_parser *ps, apr_pool_t *scratch, pm_roster_entry *e,
                   apr_status_t *rv)
{
    int r;

    *rv = APR_SUCCESS;
    if (ps->done) {
        return 0;
    }
    r = ps->o->format == PM_ROSTER_CSV ? csv_next(ps, scratch, e, rv)
                                       : fhir_next(ps, scratch, e, rv);
    ps->done = r != 1;
    return r;
}
