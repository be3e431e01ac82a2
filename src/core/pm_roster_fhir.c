/* pm_roster_fhir.c — the roster sync's FHIR input: a FHIR R4 Bundle of Patients
 * scanned byte by byte so that one entry at a time is cut out and parsed by Jansson
 * (memory: one entry), each Patient turned into the fields the CSV side has; other
 * resources counted and left aside, an OperationOutcome's issues kept as notes. */
#include "pm_roster_input.h"
#include "pm_text.h"

#include <apr_strings.h>
#include <apr_time.h>
#include <jansson.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

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
    int patients;                /* entries whose resource is a Patient (good or bad) */
    char now[21];                /* the sync's now, "YYYY-MM-DDThh:mm:ssZ" (UTC) */
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

/* With discharge_missing, a Bundle that is one page of a search (a "next" link, or a
 * total above its Patients) would discharge every client on the other pages: refused.
 * Without it a page is only a partial update, which is fine. */
static void check_whole_roster(pm_roster_parser *ps, bundle_scan *sc, json_t *root)
{
    json_t *total = json_object_get(root, "total");
    json_int_t of = json_is_integer(total) ? json_integer_value(total) : -1;

    if (!ps->o->discharge_missing
        || (pick(json_object_get(root, "link"), "relation", "next") == NULL
            && of <= sc->patients)) {
        return;
    }
    if (of <= sc->patients) {   /* no total, or one that does not say: the link does */
        pm_roster_add_error(ps, -1, "link", "this Bundle is one page of a paginated search "
                            "(%d patients here, and a next link): send the whole roster, or sync "
                            "without discharging missing clients", sc->patients);
        return;
    }
    pm_roster_add_error(ps, -1, "link", "this Bundle is one page of a paginated search "
                        "(%d of %" APR_INT64_T_FMT " patients): send the whole roster, or "
                        "sync without discharging missing clients", sc->patients, (apr_int64_t)of);
}

/* The first JSON value of the skeleton and what follows it: a resource on each line
 * (FHIR Bulk Data's NDJSON, "Patient.ndjson") reads as one resource and then more.
 * 1 when the text is that, with a message saying how to make a Bundle of it. */
static int said_ndjson(pm_roster_parser *ps, bundle_scan *sc)
{
    json_error_t err;
    json_t *first = json_loadb(sc->skeleton.b, sc->skeleton.len, JSON_DISABLE_EOF_CHECK, &err);
    const char *type = json_string_value(json_object_get(first, "resourceType"));
    int ndjson = type != NULL && err.position > 0 && (apr_size_t)err.position < sc->skeleton.len;

    if (ndjson) {
        pm_roster_add_error(ps, -1, NULL, "this is NDJSON (one %s resource a line, as a FHIR "
                            "Bulk Data export writes it), not a Bundle: make one Bundle of it, "
                            "for example jq -s '{resourceType:\"Bundle\",type:\"collection\","
                            "entry:map({resource:.})}' Patient.ndjson > bundle.json",
                            pm_utf8_head(ps->pool, type, 40));
    }
    json_decref(first);
    return ndjson;
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
        if (sc->skeleton.len == 0 || !said_ndjson(ps, sc)) {
            pm_roster_add_error(ps, -1, NULL, "not a JSON document: %s", err.text);
        }
        return;
    }
    type = json_string_value(json_object_get(root, "resourceType"));
    if (!json_is_object(root) || type == NULL || strcmp(type, "Bundle") != 0) {
        pm_roster_add_error(ps, -1, "resourceType", "the document must be a FHIR Bundle");
    }
    else if (json_object_get(root, "entry") && !json_is_array(json_object_get(root, "entry"))) {
        pm_roster_add_error(ps, -1, "entry", "the Bundle's entry must be an array");
    }
    else {
        check_whole_roster(ps, sc, root);
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

/* A period's bound against the sync's now (sc->now: "YYYY-MM-DDThh:mm:ssZ", UTC):
 * <0 before, 0 the same, >0 after. A UTC time ("...Z") is compared to the second;
 * anything else (a date, a month, a year, a time with an offset) by its date part,
 * so that a bound of today counts as today (a period ending today has not ended). */
static int compare_to_now(const bundle_scan *sc, const char *when)
{
    size_t len = strlen(when);
    size_t n = len >= 20 && when[len - 1] == 'Z' ? 19 : len < 10 ? len : 10;

    return strncmp(when, sc->now, n);
}

/* Whether element x (a name, a telecom) is in use now: its period, when it has one,
 * has not ended and has begun. A bound that is not a string is no bound. */
static int is_current(const bundle_scan *sc, json_t *x)
{
    json_t *period = json_object_get(x, "period");
    const char *end = json_string_value(json_object_get(period, "end"));
    const char *start = json_string_value(json_object_get(period, "start"));

    return !(end && compare_to_now(sc, end) < 0) && !(start && compare_to_now(sc, start) > 0);
}

static int has_use(json_t *x, const char *use)
{
    const char *s = json_string_value(json_object_get(x, "use"));

    return s && strcmp(s, use) == 0;
}

#define V2_0203 "http://terminology.hl7.org/CodeSystem/v2-0203"
#define US_SSN "http://hl7.org/fhir/sid/us-ssn"

/* Whether identifier id's type has the v2-0203 code (MR: medical record number,
 * SS: Social Security number). */
static int typed(json_t *id, const char *code)
{
    json_t *c;
    size_t i;

    json_array_foreach(json_object_get(json_object_get(id, "type"), "coding"), i, c) {
        const char *system = json_string_value(json_object_get(c, "system"));
        const char *value = json_string_value(json_object_get(c, "code"));

        if (system && value && strcmp(system, V2_0203) == 0 && strcmp(value, code) == 0) {
            return 1;
        }
    }
    return 0;
}

static const char *system_of(json_t *id)
{
    return json_string_value(json_object_get(id, "system"));
}

static int same_system(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* A Social Security number is never a chart number: it would be printed in the
 * sync's mail, its HTTP answer and the audit. */
static int is_ssn(json_t *id)
{
    return same_system(system_of(id), US_SSN) || typed(id, "SS");
}

/* Why no identifier could be the chart number (the entry's error). */
static void no_identifier(pm_roster_parser *ps, int where, int old, int ssn)
{
    const char *system = ps->o->identifier_system;

    if (old) {
        pm_roster_add_error(ps, where, "identifier", system ? "every identifier with system %s "
                            "is use old" : "every identifier is use old%s", system ? system : "");
    }
    else if (ssn) {
        pm_roster_add_error(ps, where, "identifier", "the only identifier%s%s is a Social "
                            "Security number, which is never used as a chart number",
                            system ? " with system " : "", system ? system : "");
    }
    else {
        pm_roster_add_error(ps, where, "identifier", system ? "no identifier with system %s"
                            : "no identifier%s", system ? system : "");
    }
}

/* The identifier that is the chart number: the first of --identifier-system that is not
 * use old (an EHR keeps the retired chart number beside the new one, and the old one
 * may come first); without a system the one typed MR, else the first without a type
 * when they all share one system. Never a Social Security number. NULL: reported. */
static json_t *chart_identifier(pm_roster_parser *ps, int where, json_t *all)
{
    const char *system = ps->o->identifier_system;
    json_t *id, *mr = NULL, *untyped = NULL, *first = NULL;
    size_t i;
    int old = 0, ssn = 0, several = 0;

    json_array_foreach(all, i, id) {
        if (system && !same_system(system_of(id), system)) {
            continue;
        }
        if (has_use(id, "old") || is_ssn(id)) {
            old |= has_use(id, "old");
            ssn |= !has_use(id, "old");
            continue;
        }
        if (system) {
            return id;
        }
        mr = mr ? mr : typed(id, "MR") ? id : NULL;
        untyped = untyped ? untyped : json_object_get(id, "type") ? NULL : id;
        several |= first && !same_system(system_of(first), system_of(id));
        first = first ? first : id;
    }
    if (mr || (untyped && !several)) {
        return mr ? mr : untyped;
    }
    if (first) {
        pm_roster_add_error(ps, where, "identifier", several ? "the Patient has identifiers of "
                            "several systems and none is typed MR (medical record number): "
                            "choose the chart number's system with --identifier-system "
                            "(identifier_system over HTTP)" : "no identifier is typed MR "
                            "(medical record number) or untyped: choose the chart number's "
                            "system with --identifier-system (identifier_system over HTTP)");
        return NULL;
    }
    no_identifier(ps, where, old, ssn);
    return NULL;
}

/* The values of the identifiers use old of the chart number's system: the chart
 * numbers the EHR retired for this Patient (they find its client when the current
 * one is new). NULL when none. */
static apr_array_header_t *old_identifiers(apr_pool_t *scratch, json_t *all, json_t *chart)
{
    apr_array_header_t *old = NULL;
    json_t *id;
    size_t i;

    json_array_foreach(all, i, id) {
        const char *v = json_string_value(json_object_get(id, "value"));

        if (has_use(id, "old") && !is_ssn(id) && v
            && same_system(system_of(id), system_of(chart)) && *(v = pm_trim(scratch, v))
            && pm_utf8_valid(v, strlen(v), 0)) {
            old = old ? old : apr_array_make(scratch, 2, sizeof(const char *));
            APR_ARRAY_PUSH(old, const char *) = v;
        }
    }
    return old;
}

/* identifier: chart_identifier's value; *old its retired ones (old_identifiers). */
static const char *patient_identifier(pm_roster_parser *ps, int where, json_t *pat,
                                      apr_pool_t *scratch, apr_array_header_t **old, int *bad)
{
    json_t *all = json_object_get(pat, "identifier");
    json_t *id = chart_identifier(ps, where, all);

    if (id == NULL) {
        *bad = 1;
        return NULL;
    }
    *old = old_identifiers(scratch, all, id);
    return member_string(ps, where, id, "value", "identifier.value", bad);
}

/* A Patient merged into another one (link type replaced-by): its record lives on in
 * the surviving Patient, whose identifiers use old name its client. */
static int replaced_by(json_t *pat)
{
    json_t *link;
    size_t i;

    json_array_foreach(json_object_get(pat, "link"), i, link) {
        if (json_is_object(json_object_get(link, "other"))
            && same_system(json_string_value(json_object_get(link, "type")), "replaced-by")) {
            return 1;
        }
    }
    return 0;
}

/* A merged-away Patient's entry: its chart number only (skipped by the sync, its
 * client kept from --discharge-missing). chart NULL: its identifier had no value. */
static int merged_away_entry(pm_roster_parser *ps, int where, const char *chart,
                             apr_pool_t *scratch, pm_roster_entry *e)
{
    const char *v = chart ? pm_trim(scratch, chart) : "";

    memset(e, 0, sizeof(*e));
    if (*v == '\0' || !pm_utf8_valid(v, strlen(v), 0)) {
        pm_roster_add_error(ps, where, "identifier.value", "identifier.value must be text");
        return 0;
    }
    e->where = where;
    e->external_id = v;
    e->merged_away = 1;
    return 1;
}

/* How much a name is wanted, lower first; -1: not the client's name now (old,
 * maiden, a nickname, anonymous, or its period has ended or not begun). */
static int name_preference(const bundle_scan *sc, json_t *name)
{
    static const char *const skipped[] = { "old", "maiden", "nickname", "anonymous", NULL };
    json_t *use = json_object_get(name, "use");
    int i;

    for (i = 0; skipped[i]; i++) {
        if (has_use(name, skipped[i])) {
            return -1;
        }
    }
    if (!is_current(sc, name)) {
        return -1;
    }
    return has_use(name, "official") ? 0 : has_use(name, "usual") ? 1 : use == NULL ? 2 : 3;
}

/* The name to use: official, else usual, else one without use, else the first
 * left once the names that are not current are skipped; NULL when none is left. */
static json_t *current_name(const bundle_scan *sc, json_t *names)
{
    json_t *best = NULL, *name;
    int best_pref = 4, pref;
    size_t i;

    json_array_foreach(names, i, name) {
        pref = name_preference(sc, name);
        if (pref >= 0 && pref < best_pref) {
            best = name;
            best_pref = pref;
        }
    }
    return best;
}

/* A title before a name or a suffix after it, as an EHR's text writes them ("Dr.
 * Robert Smith Jr."): no part of the name. Compared without case or a final period. */
static int is_affix(const char *word, const char *const *list)
{
    apr_size_t n = strlen(word);
    int i;

    n -= n > 0 && word[n - 1] == '.';
    for (i = 0; list[i]; i++) {
        if (n == strlen(list[i]) && strncasecmp(word, list[i], n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The words of a name's text; a comma is a word of its own ("SMITH,JOHN"). */
static apr_array_header_t *name_words(apr_pool_t *scratch, const char *text)
{
    apr_array_header_t *words = apr_array_make(scratch, 4, sizeof(const char *));
    const char *s = text;
    apr_size_t n;

    while (*s) {
        n = *s == ',' ? 1 : strcspn(s, " \t,");
        if (n > 0) {
            APR_ARRAY_PUSH(words, const char *) = apr_pstrmemdup(scratch, s, n);
        }
        s += n > 0 ? n : 1;
    }
    return words;
}

static const char *join_words(apr_pool_t *scratch, apr_array_header_t *words, int from, int to)
{
    const char *out = NULL;
    int i;

    for (i = from; i < to; i++) {
        out = out ? apr_pstrcat(scratch, out, " ", APR_ARRAY_IDX(words, i, const char *), NULL)
                  : APR_ARRAY_IDX(words, i, const char *);
    }
    return out;
}

/* A name with only text. Titles (Dr., Mrs.) and suffixes (Jr., III, MD) are dropped;
 * "FAMILY, GIVEN MIDDLE" gives family FAMILY and given GIVEN; otherwise given is what
 * comes before the last word ("Ann Marie Lee"), family that word. The text's case is
 * kept. Nothing when one word is left (the fields stay missing). */
static void split_name_text(apr_pool_t *scratch, json_t *name, const char **v)
{
    static const char *const titles[] = { "dr", "mr", "mrs", "ms", "miss", "mx", "prof", NULL };
    static const char *const suffixes[] = { "jr", "sr", "ii", "iii", "iv", "md", "m.d", "phd",
                                            "ph.d", "dds", "esq", ",", NULL };
    const char *text = json_string_value(json_object_get(name, "text"));
    apr_array_header_t *w;
    int from = 0, to, comma;

    if (text == NULL) {
        return;
    }
    w = name_words(scratch, text);
    to = w->nelts;
    while (to > from && is_affix(APR_ARRAY_IDX(w, to - 1, const char *), suffixes)) {
        to--;
    }
    while (from < to && is_affix(APR_ARRAY_IDX(w, from, const char *), titles)) {
        from++;
    }
    for (comma = from; comma < to && strcmp(APR_ARRAY_IDX(w, comma, const char *), ",") != 0;
         comma++) {
    }
    if (comma < to) {                /* FAMILY, GIVEN: the first word after the comma */
        if (comma > from && comma + 1 < to && strcmp(APR_ARRAY_IDX(w, comma + 1,
                                                                    const char *), ",") != 0) {
            v[F_LAST] = join_words(scratch, w, from, comma);
            v[F_FIRST] = APR_ARRAY_IDX(w, comma + 1, const char *);
        }
        return;
    }
    if (to - from >= 2) {
        v[F_FIRST] = join_words(scratch, w, from, to - 1);
        v[F_LAST] = APR_ARRAY_IDX(w, to - 1, const char *);
    }
}

/* The first given name that is not null: FHIR allows [null, "Thi"] when the first
 * has only an extension (_given). */
static json_t *first_given(json_t *name)
{
    json_t *given;
    size_t i;

    json_array_foreach(json_object_get(name, "given"), i, given) {
        if (!json_is_null(given)) {
            return given;
        }
    }
    return NULL;
}

/* name: current_name's first given name (not the middle names) and family */
static void patient_name(pm_roster_parser *ps, int where, json_t *pat, apr_pool_t *scratch,
                         const char **v, int *bad)
{
    json_t *names = json_object_get(pat, "name");
    json_t *name = current_name(ps->scan, names), *given;

    if (name == NULL && json_array_size(names) > 0) {
        pm_roster_add_error(ps, where, "name", "no current name: every name is old, maiden, "
                            "a nickname, anonymous, or its period has ended");
        *bad = 1;
        return;
    }
    v[F_LAST] = member_string(ps, where, name, "family", "name.family", bad);
    given = first_given(name);
    if (given && !json_is_string(given)) {
        pm_roster_add_error(ps, where, "name.given", "name.given must be strings");
        *bad = 1;
    }
    v[F_FIRST] = json_string_value(given);
    if (v[F_LAST] == NULL && given == NULL) {
        split_name_text(scratch, name, v);
    }
}

/* A telecom's rank for the email choice: positive ranks in order, then those without
 * one (a rank that is not a positive integer counts as none). */
static long long telecom_rank(json_t *t)
{
    json_t *rank = json_object_get(t, "rank");

    return json_is_integer(rank) && json_integer_value(rank) > 0
           ? (long long)json_integer_value(rank) : LLONG_MAX;
}

/* Whether email telecom a is wanted before b: rank, then use home, else neither. */
static int email_before(json_t *a, json_t *b)
{
    long long ra = telecom_rank(a), rb = telecom_rank(b);

    return ra != rb ? ra < rb : has_use(a, "home") && !has_use(b, "home");
}

/* email: of the telecoms with system email that are current (not use old, period not
 * ended nor not yet begun), the lowest rank, then use home, then the first. Only that
 * last tie depends on the order: an EHR that reorders telecom each night must not flip
 * the address (each flip sends the client an "email changed" notice). */
static const char *patient_email(const bundle_scan *sc, json_t *pat)
{
    const char *v;
    json_t *best = NULL, *t;
    size_t i;

    json_array_foreach(json_object_get(pat, "telecom"), i, t) {
        const char *system = json_string_value(json_object_get(t, "system"));

        if (system == NULL || strcmp(system, "email") != 0 || has_use(t, "old")
            || !is_current(sc, t) || !json_is_string(json_object_get(t, "value"))) {
            continue;
        }
        if (best == NULL || email_before(t, best)) {
            best = t;
        }
    }
    if ((v = json_string_value(json_object_get(best, "value"))) == NULL) {
        return NULL;
    }
    while (is_space(*v)) {
        v++;
    }
    return strncasecmp(v, "mailto:", 7) == 0 ? v + 7 : v;   /* a URI, as some EHRs write */
}

#define BCP47 "urn:ietf:bcp:47"

/* A language coding's code: the one of system urn:ietf:bcp:47 (a malformed one is the
 * entry's error, in pm_roster_check_entry), else the first code of another system that
 * is a language tag; an EHR's local codes ("SPAN") are no language and are ignored. */
static const char *language_code(apr_pool_t *scratch, json_t *codings)
{
    json_t *c;
    size_t i;

    json_array_foreach(codings, i, c) {
        const char *system = json_string_value(json_object_get(c, "system"));

        if (system && strcmp(system, BCP47) == 0) {
            return json_string_value(json_object_get(c, "code"));
        }
    }
    json_array_foreach(codings, i, c) {
        const char *code = json_string_value(json_object_get(c, "code"));

        if (code && pm_roster_language(scratch, pm_trim(scratch, code)) != NULL) {
            return code;
        }
    }
    return NULL;
}

/* communication: the preferred one, else the first; its language_code */
static const char *patient_language(apr_pool_t *scratch, json_t *pat)
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
    return language_code(scratch, json_object_get(json_object_get(c, "language"), "coding"));
}

/* deceasedBoolean true or any deceasedDateTime: 1 (the client is discharged, whatever
 * active says: the portal must not keep inviting a client who has died). */
static int patient_deceased(pm_roster_parser *ps, int where, json_t *pat, int *bad)
{
    json_t *flag = json_object_get(pat, "deceasedBoolean");
    json_t *when = json_object_get(pat, "deceasedDateTime");

    if (flag && !json_is_boolean(flag)) {
        pm_roster_add_error(ps, where, "deceasedBoolean", "deceasedBoolean must be true or false");
        *bad = 1;
    }
    return json_is_true(flag) || (when && !json_is_null(when));
}

/* text for a note: control characters blanked, at most max characters */
static const char *note_text(apr_pool_t *scratch, const char *s, apr_size_t max)
{
    char *t = apr_pstrdup(scratch, pm_utf8_head(scratch, s, max));
    char *c;

    for (c = t; *c; c++) {
        *c = (unsigned char)*c < 0x20 || *c == 0x7f ? ' ' : *c;
    }
    return t;
}

/* An OperationOutcome's issues as notes: severity, and diagnostics, else details.text,
 * else the code (shortened). */
static void note_outcome(pm_roster_parser *ps, int where, json_t *outcome, apr_pool_t *scratch)
{
    json_t *issue;
    size_t i;

    json_array_foreach(json_object_get(outcome, "issue"), i, issue) {
        const char *severity = json_string_value(json_object_get(issue, "severity"));
        const char *text = json_string_value(json_object_get(issue, "diagnostics"));

        text = text ? text : json_string_value(json_object_get(json_object_get(issue, "details"),
                                                               "text"));
        text = text ? text : json_string_value(json_object_get(issue, "code"));
        pm_roster_add_note(ps, "entry[%d] OperationOutcome %s: %s", where,
                           severity ? note_text(scratch, severity, 20) : "issue",
                           text ? note_text(scratch, text, 200) : "(no text)");
    }
}

/* Entries that name no client are ignored (counted), not bad: a resource that is not
 * a Patient (the warning an EHR's search adds, an _include's Practitioner, a
 * Synthea Bundle's Encounter), or one the search did not match (search.mode include
 * or outcome). An OperationOutcome's issues become notes. 1 when ignored. */
static int ignore_entry(pm_roster_parser *ps, int where, json_t *entry, const char *type,
                        apr_pool_t *scratch)
{
    const char *mode = json_string_value(json_object_get(json_object_get(entry, "search"),
                                                         "mode"));

    if (strcmp(type, "Patient") == 0
        && (mode == NULL || (strcmp(mode, "include") != 0 && strcmp(mode, "outcome") != 0))) {
        return 0;
    }
    if (strcmp(type, "OperationOutcome") == 0) {
        note_outcome(ps, where, json_object_get(entry, "resource"), scratch);
    }
    ps->ignored++;
    return 1;
}

static int fhir_entry(pm_roster_parser *ps, int where, json_t *entry, apr_pool_t *scratch,
                      pm_roster_entry *e)
{
    json_t *pat = json_object_get(entry, "resource"), *active;
    const char *type = json_string_value(json_object_get(pat, "resourceType"));
    const char *v[NFIELDS];
    apr_array_header_t *old = NULL;
    int bad = 0, i, deceased;

    if (type == NULL) {
        pm_roster_add_error(ps, where, "resourceType", "the entry has no resource (an object "
                            "with a resourceType)");
        return 0;
    }
    if (ignore_entry(ps, where, entry, type, scratch)) {
        return 0;
    }
    ps->scan->patients++;
    memset(v, 0, sizeof(v));
    v[F_EXTERNAL_ID] = patient_identifier(ps, where, pat, scratch, &old, &bad);
    if (!bad && replaced_by(pat)) {
        return merged_away_entry(ps, where, v[F_EXTERNAL_ID], scratch, e);
    }
    patient_name(ps, where, pat, scratch, v, &bad);
    v[F_DOB] = member_string(ps, where, pat, "birthDate", "birthDate", &bad);
    v[F_EMAIL] = patient_email(ps->scan, pat);
    active = json_object_get(pat, "active");
    if (active && !json_is_boolean(active)) {
        pm_roster_add_error(ps, where, "active", "active must be true or false");
        bad = 1;
    }
    v[F_ACTIVE] = active ? (json_is_true(active) ? "true" : "false") : NULL;
    deceased = patient_deceased(ps, where, pat, &bad);
    v[F_ACTIVE] = deceased ? "false" : v[F_ACTIVE];
    v[F_LANGUAGE] = patient_language(scratch, pat);
    if (bad) {
        return 0;
    }
    for (i = 0; i < NFIELDS; i++) {
        v[i] = v[i] ? pm_trim(scratch, v[i]) : NULL;
    }
    if (!pm_roster_check_entry(ps, where, v, fhir_names, scratch, e)) {
        return 0;
    }
    e->old_ids = old;
    return 1;
}

static int fhir_element(pm_roster_parser *ps, apr_pool_t *scratch, pm_roster_entry *e)
{
    bundle_scan *sc = ps->scan;
    int where = ps->entry_index++, good;
    json_error_t err;
    json_t *entry = json_loadb(sc->element.b, sc->element.len, JSON_REJECT_DUPLICATES, &err);

    if (entry == NULL) {
        pm_roster_add_error(ps, where, NULL, "not JSON: %s", err.text);
        /* bad syntax: where it ends, and so the next entry, is a guess (two entries
         * without a comma read as one); a repeated member is this entry's alone */
        ps->broken |= json_error_code(&err) != json_error_duplicate_key;
        return 0;
    }
    good = fhir_entry(ps, where, entry, scratch, e);
    json_decref(entry);
    return good;
}

/* The sync's now as FHIR writes an instant, for the periods of names and telecoms. */
static void scan_now(pm_roster_parser *ps, bundle_scan *sc)
{
    apr_time_exp_t t;

    apr_time_exp_gmt(&t, ps->now);
    apr_snprintf(sc->now, sizeof(sc->now), "%04d-%02d-%02dT%02d:%02d:%02dZ", t.tm_year + 1900,
                 t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
}

/* Before the first byte is scanned: a file in UTF-16 or UTF-32 (PowerShell 5.1's
 * Out-File) is said so, not read as broken JSON. 1 when it was (the end). */
static int refuse_wide(pm_roster_parser *ps, apr_status_t *rv)
{
    const char *wide;

    if (pm_roster_wide_input(ps, rv, &wide) != APR_SUCCESS) {
        return -1;
    }
    if (wide == NULL) {
        return 0;
    }
    pm_roster_add_error(ps, -1, NULL, "the file is %s, and JSON must be UTF-8: save it as "
                        "UTF-8 (PowerShell: Out-File -Encoding utf8)", wide);
    return 1;
}

int pm_roster_fhir_next(pm_roster_parser *ps, apr_pool_t *scratch, pm_roster_entry *e,
                     apr_status_t *rv)
{
    int wide;

    if (ps->scan == NULL) {
        ps->scan = apr_pcalloc(ps->pool, sizeof(bundle_scan));
        scan_now(ps, ps->scan);
        if ((wide = refuse_wide(ps, rv)) != 0) {
            return wide < 0 ? -1 : 0;
        }
    }
    for (;;) {
        if (ps->cut == ps->fill) {
            ps->cut = ps->fill = 0;
            if ((*rv = pm_roster_read_more(ps)) != APR_SUCCESS) {
                return -1;
            }
            if (ps->eof) {
                check_skeleton(ps, ps->scan);
                pm_roster_notes_end(ps);
                return 0;
            }
        }
        if (scan_byte(ps, ps->scan, ps->buf[ps->cut++]) && fhir_element(ps, scratch, e)) {
            return 1;
        }
    }
}
