/* pm_roster_fhir.c — the roster sync's FHIR input: a FHIR R4 Bundle of Patients
 * scanned byte by byte so that one entry at a time is cut out and parsed by Jansson
 * (memory: one entry), each Patient turned into the fields the CSV side has. */
#include "pm_roster_input.h"
#include "pm_text.h"

#include <apr_strings.h>
#include <jansson.h>
#include <string.h>

static const char *const fhir_names[NFIELDS] = {
    "identifier", "name.given", "name.family", "birthDate", "telecom", "active",
    "communication.language"
};

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
    int bom;                     /* bytes of a UTF-8 byte-order mark seen; -1: past it */
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

/* A UTF-8 byte-order mark before the document is skipped, as the CSV side does
 * (Windows tools write one): 1 when c is one of its bytes. The start of one that
 * is not a mark goes on to Jansson, which says what is wrong. */
static int skip_bom(pm_roster_parser *ps, bundle_scan *sc, char c)
{
    static const char mark[] = "\xEF\xBB\xBF";
    int i;

    if (sc->bom < 0) {
        return 0;
    }
    if (c == mark[sc->bom]) {
        sc->bom = sc->bom == 2 ? -1 : sc->bom + 1;
        return 1;
    }
    for (i = 0; i < sc->bom; i++) {
        scan_emit(ps, sc, mark[i]);
    }
    sc->bom = -1;
    return 0;
}

/* One byte; returns 1 when it ended an element of the entry array. */
static int scan_byte(pm_roster_parser *ps, bundle_scan *sc, char c)
{
    int ended = 0;

    if (skip_bom(ps, sc, c)) {
        return 0;
    }
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
        pm_roster_add_error(ps, -1, NULL, "not a JSON document: it ends inside %s",
                  sc->in_string ? "a string" : "an object or array");
        return;
    }
    root = json_loadb(sc->skeleton.b ? sc->skeleton.b : "", sc->skeleton.len,
                      JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        pm_roster_add_error(ps, -1, NULL, "not a JSON document: %s", err.text);
        return;
    }
    type = json_string_value(json_object_get(root, "resourceType"));
    if (!json_is_object(root) || type == NULL || strcmp(type, "Bundle") != 0) {
        pm_roster_add_error(ps, -1, "resourceType", "the document must be a FHIR Bundle");
    }
    else if (json_object_get(root, "entry") && !json_is_array(json_object_get(root, "entry"))) {
        pm_roster_add_error(ps, -1, "entry", "the Bundle's entry must be an array");
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
        pm_roster_add_error(ps, where, field, "%s must be a string", field);
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
        pm_roster_add_error(ps, where, "identifier", system ? "no identifier with system %s"
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
        pm_roster_add_error(ps, where, "name.given", "name.given must be strings");
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
        pm_roster_add_error(ps, where, "resourceType", "the entry's resource is not a Patient");
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
        pm_roster_add_error(ps, where, "active", "active must be true or false");
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
    return pm_roster_check_entry(ps, where, v, fhir_names, scratch, e);
}

static int fhir_element(pm_roster_parser *ps, apr_pool_t *scratch, pm_roster_entry *e)
{
    bundle_scan *sc = ps->scan;
    int where = ps->entry_index++, good;
    json_error_t err;
    json_t *entry = json_loadb(sc->element.b, sc->element.len, JSON_REJECT_DUPLICATES, &err);

    if (entry == NULL) {
        pm_roster_add_error(ps, where, NULL, "not JSON: %s", err.text);
        return 0;
    }
    good = fhir_entry(ps, where, entry, scratch, e);
    json_decref(entry);
    return good;
}

int pm_roster_fhir_next(pm_roster_parser *ps, apr_pool_t *scratch, pm_roster_entry *e,
                     apr_status_t *rv)
{
    if (ps->scan == NULL) {
        ps->scan = apr_pcalloc(ps->pool, sizeof(bundle_scan));
    }
    for (;;) {
        if (ps->cut == ps->fill) {
            ps->cut = ps->fill = 0;
            if ((*rv = pm_roster_read_more(ps)) != APR_SUCCESS) {
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
