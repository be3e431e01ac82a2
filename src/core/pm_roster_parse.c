/* pm_roster_parse.c — the roster sync's input side: the parser, the checks both
 * formats share, and the CSV stream read a chunk of whole records at a time
 * (pm_csv.c on each chunk; the FHIR side is pm_roster_fhir.c), turned into checked
 * pm_roster_entry values; every bad record is reported with its CSV line or FHIR
 * entry index and field. */
#include "pm_roster_input.h"
#include "pm_date.h"
#include "pm_text.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

static const char *const csv_names[NFIELDS + 1] = {
    "external_id", "first_name", "last_name", "date_of_birth", "email", "active",
    "preferred_language", NULL
};

void pm_roster_add_error(pm_roster_parser *ps, int where, const char *field,
                         const char *fmt, ...)
{
    pm_roster_error *e = apr_array_push(ps->errors);
    va_list ap;

    e->where = where;
    e->field = field;
    va_start(ap, fmt);
    e->message = apr_pvsprintf(ps->pool, fmt, ap);
    va_end(ap);
    ps->broken |= where < 0;
}

int pm_roster_broken(const pm_roster_parser *ps)
{
    return ps->broken;
}

void pm_roster_add_note(pm_roster_parser *ps, const char *fmt, ...)
{
    va_list ap;

    if (ps->notes->nelts >= NOTES_MAX) {
        ps->notes_left_out++;
        return;
    }
    va_start(ap, fmt);
    APR_ARRAY_PUSH(ps->notes, const char *) = apr_pvsprintf(ps->pool, fmt, ap);
    va_end(ap);
}

void pm_roster_notes_end(pm_roster_parser *ps)
{
    if (ps->notes_left_out > 0) {
        APR_ARRAY_PUSH(ps->notes, const char *) = apr_psprintf(ps->pool, "... and %d more "
                                                               "note%s", ps->notes_left_out,
                                                               ps->notes_left_out == 1 ? "" : "s");
        ps->notes_left_out = 0;
    }
}

static const char *wide_charset(const char *b, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)b;

    if (n >= 4 && ((u[0] == 0xFF && u[1] == 0xFE && !u[2] && !u[3])
                   || (!u[0] && !u[1] && u[2] == 0xFE && u[3] == 0xFF))) {
        return "UTF-32";
    }
    if (n >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) {
        return "UTF-16";
    }
    if (n >= 4 && ((u[0] && !u[1] && u[2] && !u[3]) || (!u[0] && u[1] && !u[2] && u[3]))) {
        return "UTF-16";
    }
    return NULL;
}

apr_status_t pm_roster_wide_input(pm_roster_parser *ps, apr_status_t *rv, const char **wide)
{
    *wide = NULL;
    while (!ps->eof && ps->fill < 4) {
        if ((*rv = pm_roster_read_more(ps)) != APR_SUCCESS) {
            return *rv;
        }
    }
    *wide = wide_charset(ps->buf, ps->fill);
    return APR_SUCCESS;
}

const apr_array_header_t *pm_roster_notes(const pm_roster_parser *ps)
{
    return ps->notes;
}

int pm_roster_ignored(const pm_roster_parser *ps)
{
    return ps->ignored;
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

/* The three-letter ISO 639-2 codes of the portal's languages, as some EHRs send them
 * ("spa"): stored as the two-letter code the portal's templates are named by. */
static const char *two_letter(const char *code)
{
    static const char *const table[][2] = { { "eng", "en" }, { "spa", "es" }, { NULL, NULL } };
    int i;

    for (i = 0; table[i][0]; i++) {
        if (strcmp(code, table[i][0]) == 0) {
            return table[i][1];
        }
    }
    return code;
}

/* "es-MX", "ES", "es_MX", "spa" → "es"; NULL when it is no language tag. */
const char *pm_roster_language(apr_pool_t *p, const char *tag)
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
    return two_letter(out);
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
        int hint = ps->o->format == PM_ROSTER_CSV && !ps->told_charset && pm_text_other_charset(v);

        pm_roster_add_error(ps, where, field, "%s is not valid UTF-8 or contains control characters "
                  "(such as tabs or NUL)%s", field, hint ? "; is the file in another character "
                  "set? A spreadsheet's \"CSV (Comma delimited)\" on Windows is windows-1252: "
                  "save it as \"CSV UTF-8\", or name its character set (clients sync "
                  "--encoding windows-1252; HTTP: Content-Type: text/csv; charset=windows-1252)"
                  : "");
        ps->told_charset |= hint;
        return 0;
    }
    if (required && *v == '\0') {
        pm_roster_add_error(ps, where, field, "%s is missing", field);
        return 0;
    }
    if (max_chars && pm_utf8_length(v) > max_chars) {
        pm_roster_add_error(ps, where, field, "%s is longer than %u characters", field,
                  (unsigned int)max_chars);
        return 0;
    }
    return 1;
}

/* A rejected entry's chart number (the first place it was rejected), so that a
 * later entry with the same chart number is not taken for the first. */
static void note_bad_chart(pm_roster_parser *ps, const char *external_id, int where)
{
    int *at;

    if (ps->bad_charts == NULL) {
        ps->bad_charts = apr_hash_make(ps->pool);
    }
    if (apr_hash_get(ps->bad_charts, external_id, APR_HASH_KEY_STRING) == NULL) {
        at = apr_palloc(ps->pool, sizeof(*at));
        *at = where;
        apr_hash_set(ps->bad_charts, apr_pstrdup(ps->pool, external_id), APR_HASH_KEY_STRING,
                     at);
    }
}

/* v: the raw values (NULL: absent), trimmed; names: the format's field names. */
int pm_roster_check_entry(pm_roster_parser *ps, int where, const char *const *v,
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
    for (i = F_FIRST; i <= F_LAST; i++) {
        /* no name has markup: refused here as the staff API refuses it; nor
         * invisible or formatting characters (a bidi override, a BOM, a filler) */
        if (usable[i] && v[i] && strpbrk(v[i], "<>") != NULL) {
            pm_roster_add_error(ps, where, names[i], "%s may not contain < or >", names[i]);
            good = 0;
        }
        else if (usable[i] && v[i] && *v[i] && (problem = pm_record_name_problem(v[i]))) {
            pm_roster_add_error(ps, where, names[i], "%s %s", names[i], problem);
            good = 0;
        }
    }
    e->external_id = v[F_EXTERNAL_ID];
    e->first_name = v[F_FIRST];
    e->last_name = v[F_LAST];
    e->date_of_birth = v[F_DOB];
    e->email = v[F_EMAIL] && *v[F_EMAIL] ? v[F_EMAIL] : NULL;
    if (usable[F_DOB] && (problem = pm_birth_date_problem(e->date_of_birth, ps->now)) != NULL) {
        pm_roster_add_error(ps, where, names[F_DOB], "%s '%s' %s", names[F_DOB], e->date_of_birth,
                  problem);
        good = 0;
    }
    if (usable[F_EMAIL] && e->email && (problem = pm_email_problem(e->email)) != NULL) {
        pm_roster_add_error(ps, where, names[F_EMAIL], "%s '%s' %s", names[F_EMAIL], e->email, problem);
        good = 0;
    }
    if (v[F_ACTIVE] && *v[F_ACTIVE] && (e->active = parse_active(v[F_ACTIVE])) < 0) {
        pm_roster_add_error(ps, where, names[F_ACTIVE], "%s '%s' must be true or false (or "
                            "yes or no, 1 or 0)", names[F_ACTIVE],
                            pm_utf8_head(scratch, v[F_ACTIVE], 20));
        good = 0;
    }
    if (v[F_LANGUAGE] && *v[F_LANGUAGE]
        && (e->preferred_language = pm_roster_language(scratch, v[F_LANGUAGE])) == NULL) {
        pm_roster_add_error(ps, where, names[F_LANGUAGE], "%s '%s' is not a language code such as "
                  "en or es", names[F_LANGUAGE], v[F_LANGUAGE]);
        good = 0;
    }
    if (!good && usable[F_EXTERNAL_ID]) {
        note_bad_chart(ps, e->external_id, where);
    }
    return good;
}

int pm_roster_bad_chart(const pm_roster_parser *ps, const char *external_id)
{
    const int *where = ps->bad_charts
                       ? apr_hash_get(ps->bad_charts, external_id, APR_HASH_KEY_STRING) : NULL;

    return where ? *where : -1;
}

/* ---- CSV ----------------------------------------------------------------------------- */

/* The end of the last whole record in buf[0..fill), as pm_csv will read the chunk:
 * a cut anywhere else (a quote counted naively) read the same file differently
 * depending on where reads ended; 0 when there is none. Past MAX_RECORD bytes a
 * record is too long wherever the reads ended. */
static apr_size_t whole_records(pm_roster_parser *ps)
{
    pm_csv_reader *scan = pm_csv_reader_make(ps->chunk_pool, ps->buf,
                                             ps->fill < MAX_RECORD ? ps->fill : MAX_RECORD);
    apr_size_t cut;

    pm_csv_reader_first_line(scan, ps->next_line);
    cut = pm_csv_whole_length(scan, ps->chunk_pool);
    apr_pool_clear(ps->chunk_pool);
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

apr_status_t pm_roster_read_more(pm_roster_parser *ps)
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

/* A JSON document (a FHIR Bundle sent as CSV): its first character, after a byte-order
 * mark and white space, opens an object or an array, which no CSV header does. */
static int looks_like_json(const char *b, apr_size_t n)
{
    apr_size_t i = n >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;

    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) {
        i++;
    }
    return i < n && (b[i] == '{' || b[i] == '[');
}

/* Whether the input is JSON (looks_like_json), read until its first character past a
 * byte-order mark and white space is in, so that where reads end does not change the
 * answer: 1 JSON, 0 not, -1 read error. */
static int read_as_json(pm_roster_parser *ps, apr_status_t *rv)
{
    apr_size_t i;

    for (;;) {
        i = ps->fill >= 3 && memcmp(ps->buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        while (i < ps->fill && (ps->buf[i] == ' ' || ps->buf[i] == '\t' || ps->buf[i] == '\r'
                                || ps->buf[i] == '\n')) {
            i++;
        }
        if (ps->eof || ps->fill >= MAX_RECORD || (i < ps->fill && ps->fill >= 3)) {
            return looks_like_json(ps->buf, ps->fill);
        }
        if ((*rv = pm_roster_read_more(ps)) != APR_SUCCESS) {
            return -1;
        }
    }
}

/* A CSV in UTF-16 or UTF-32 (pm_roster_wide_input): said so, and 1; 0 when it is
 * not; -1 read error. */
static int read_wide(pm_roster_parser *ps, apr_status_t *rv)
{
    const char *wide;

    if (pm_roster_wide_input(ps, rv, &wide) != APR_SUCCESS) {
        return -1;
    }
    if (wide == NULL) {
        return 0;
    }
    pm_roster_add_error(ps, 1, NULL, "the file is %s: save it as UTF-8 (a spreadsheet's "
                        "\"CSV UTF-8\"), or name its character set (clients sync --encoding "
                        "%s; HTTP: Content-Type: text/csv; charset=%s)", wide, wide,
                        wide[4] == '1' ? "utf-16" : "utf-32");
    ps->broken = 1;
    return 1;
}

/* Moves on to the next chunk of whole records: 1, none left: 0, read error: -1. */
static int next_chunk(pm_roster_parser *ps, apr_status_t *rv)
{
    apr_size_t cut;
    int json, wide;

    ps->next_line += count_lines(ps->buf, ps->cut);
    memmove(ps->buf, ps->buf + ps->cut, ps->fill - ps->cut);
    ps->fill -= ps->cut;
    ps->cut = 0;
    apr_pool_clear(ps->chunk_pool);
    if (!ps->header_read && ps->next_line == 1 && (json = read_as_json(ps, rv)) != 0) {
        if (json < 0) {
            return -1;
        }
        pm_roster_add_error(ps, 1, NULL, "this is JSON, not CSV: a FHIR Bundle is read as FHIR "
                            "(--format fhir, or Content-Type application/fhir+json)");
        ps->broken = 1;
        return 0;
    }
    if (!ps->header_read && ps->next_line == 1 && (wide = read_wide(ps, rv)) != 0) {
        return wide < 0 ? -1 : 0;
    }
    while ((cut = ps->eof ? ps->fill : whole_records(ps)) == 0) {
        if (ps->eof) {
            return 0;
        }
        if (ps->fill >= MAX_RECORD) {
            pm_roster_add_error(ps, (int)ps->next_line, NULL, "a record longer than %d bytes "
                      "(a quote that is never closed?)", MAX_RECORD);
            ps->broken = 1;          /* the rest of the file is not read */
            return 0;
        }
        if ((*rv = pm_roster_read_more(ps)) != APR_SUCCESS) {
            return -1;
        }
    }
    ps->cut = cut;
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
            pm_roster_add_error(ps, (int)line, NULL, "%s", error);
            ps->broken |= pm_csv_unclosed(ps->rd);   /* the rest of the file went with it */
        }
        else if (!(rec->nfields == 1 && rec->fields[0].len == 0)) {
            return 1;
        }
    }
}

static void bad_header(pm_roster_parser *ps, const pm_csv_record *rec, int i)
{
    pm_roster_add_error(ps, (int)rec->line, NULL, "the header must be " CSV_HEADER
                        ", optionally followed by active and preferred_language (column %d "
                        "is '%s')", i + 1, pm_utf8_head(ps->pool, rec->fields[i].value, 40));
}

/* The header: the five required columns in order, then active and
 * preferred_language in any order, each at most once; then empty columns, which a
 * spreadsheet adds (their cells must stay empty). */
static int read_header(pm_roster_parser *ps, const pm_csv_record *rec)
{
    int i, field;

    for (i = 0; i < NFIELDS; i++) {
        ps->column_of[i] = -1;
    }
    ps->ncolumns = ps->nblank = 0;
    for (i = 0; i < rec->nfields; i++) {
        field = pm_csv_header_name(&rec->fields[i], csv_names);
        if (field == -2 && i >= NREQUIRED) {
            ps->nblank++;
            continue;
        }
        if (ps->nblank > 0 || (i < NREQUIRED ? field != i
                                             : field < NREQUIRED || ps->column_of[field] >= 0)) {
            bad_header(ps, rec, i);
            return 0;
        }
        ps->column_of[field] = i;
        ps->ncolumns++;
    }
    if (ps->ncolumns < NREQUIRED) {
        pm_roster_add_error(ps, (int)rec->line, NULL, "the header must be " CSV_HEADER
                  ", optionally followed by active and preferred_language");
        return 0;
    }
    return 1;
}

/* "5/6/1980" → "1980-05-06": US order, as a US spreadsheet saves an ISO date it
 * opened; anything else is left for the check to judge. */
static const char *iso_birth_date(apr_pool_t *p, const char *v)
{
    char out[11];

    return v && strchr(v, '/') && pm_search_date(v, out) ? apr_pstrdup(p, out) : v;
}

/* "6.00019E+05": a chart number a spreadsheet took for a number and rewrote. */
static int spreadsheet_number(const char *v)
{
    const char *e = v ? strpbrk(v, "eE") : NULL;

    return e && e > v && strspn(v, "0123456789.") == (apr_size_t)(e - v)
           && (e[1] == '+' || e[1] == '-') && e[2] && strspn(e + 2, "0123456789") == strlen(e + 2);
}

/* One record after the header: 1 and e filled when it is good; 0 when a problem was
 * reported. */
static int csv_entry(pm_roster_parser *ps, apr_pool_t *scratch, const pm_csv_record *rec,
                     pm_roster_entry *e)
{
    const char *v[NFIELDS], *why;
    apr_size_t len;
    int i;

    if ((why = pm_csv_took_lines(scratch, rec)) != NULL) {
        pm_roster_add_error(ps, (int)rec->line, NULL, "%s", why);
        return 0;
    }
    if (!pm_csv_fits_header(rec, ps->ncolumns, ps->nblank)) {
        pm_roster_add_error(ps, (int)rec->line, NULL, "has %d field%s, the header has %d",
                  rec->nfields, rec->nfields == 1 ? "" : "s", ps->ncolumns);
        return 0;
    }
    for (i = 0; i < NFIELDS; i++) {
        v[i] = ps->column_of[i] < 0 ? NULL
               : pm_csv_field_trimmed(scratch, &rec->fields[ps->column_of[i]], &len);
        if (v[i] && strlen(v[i]) != len) {
            pm_roster_add_error(ps, (int)rec->line, csv_names[i], "%s contains a NUL byte",
                      csv_names[i]);
            return 0;
        }
    }
    if (spreadsheet_number(v[F_EXTERNAL_ID])) {
        pm_roster_add_error(ps, (int)rec->line, csv_names[F_EXTERNAL_ID], "%s '%s' looks like "
                            "a number a spreadsheet rewrote: format the column as text and "
                            "export again", csv_names[F_EXTERNAL_ID], v[F_EXTERNAL_ID]);
        return 0;
    }
    v[F_DOB] = iso_birth_date(scratch, v[F_DOB]);
    return pm_roster_check_entry(ps, (int)rec->line, v, csv_names, scratch, e);
}

static int csv_next(pm_roster_parser *ps, apr_pool_t *scratch, pm_roster_entry *e,
                    apr_status_t *rv)
{
    pm_csv_record rec;
    int r;

    while ((r = next_record(ps, scratch, &rec, rv)) == 1) {
        if (!ps->header_read) {
            ps->header_read = 1;
            if (!read_header(ps, &rec)) {
                ps->broken = 1;
                return 0;
            }
            continue;
        }
        if (csv_entry(ps, scratch, &rec, e)) {
            return 1;
        }
        /* a bad record over several lines: a stray quote may have taken whole lines
         * into one field, and those lines' rows are lost unseen */
        ps->broken |= rec.end_line > rec.line;
    }
    if (r == 0 && !ps->header_read && ps->errors->nelts == 0) {   /* else said already */
        pm_roster_add_error(ps, 1, NULL, "the file is empty; its first line must be " CSV_HEADER);
    }
    ps->broken |= !ps->header_read;
    return r;
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
    ps->notes = apr_array_make(p, 2, sizeof(const char *));
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
                                       : pm_roster_fhir_next(ps, scratch, e, rv);
    ps->done = r != 1;
    return r;
}
