/* pm_api_client_list.c — the Client dropdown: GET /clients (the whole list, a page at
 * a time) and POST /clients/search (name words, a date of birth or an email address,
 * and a chart number whatever else the text is; the text never rides in a URL),
 * keyset paging in the collation_locale's order, and one audit row per page shown.
 * The name-word SQL is pm_sql.c's prefix index. */
#include "pm_api.h"
#include "pm_audit.h"
#include "pm_client_keys.h"
#include "pm_collate.h"
#include "pm_date.h"
#include "pm_store.h"
#include "pm_text.h"

#include "http_protocol.h"

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT     100
#define SEARCH_MAX_CHARS   100
#if LIST_MAX_LIMIT + 1 > PM_SQL_PAGE_CAP
#error "a page and its one extra row must fit the statements' PM_SQL_PAGE_CAP"
#endif
#define CURSOR_EXPIRED     "This page link is not valid any more; start the list again."

/* ---- GET /clients, POST /clients/search ------------------------------------------ */

/* What q asks for: everything, name words, a date of birth, an email address. */
typedef enum { LIST_ALL, LIST_WORDS, LIST_BIRTH, LIST_EMAIL, LIST_NOTHING } list_kind;

typedef struct {
    list_kind kind;
    apr_array_header_t *ranges; /* LIST_WORDS: lo, hi per query word (pm_collate.c) */
    apr_array_header_t *keys;   /* LIST_WORDS: the lookup key per query word */
    apr_array_header_t *words;  /* LIST_WORDS: the query words */
    const char *value;          /* LIST_BIRTH: YYYY-MM-DD; LIST_EMAIL: the address */
    const char *chart[3];       /* any search: the text as a chart number, as typed, in
                                 * capitals, in small letters; [0] NULL: no search */
    pm_collator *match;
    int limit;
    const char *after[2];       /* sort_key, id */
} list_query;

/* text with its ASCII letters in one case (upper: capitals), the rest as it is */
static const char *ascii_case(apr_pool_t *p, const char *text, int upper)
{
    char *s = apr_pstrdup(p, text), *c;

    for (c = s; *c; c++) {
        if (upper && *c >= 'a' && *c <= 'z') {
            *c = (char)(*c - 'a' + 'A');
        }
        else if (!upper && *c >= 'A' && *c <= 'Z') {
            *c = (char)(*c - 'A' + 'a');
        }
    }
    return s;
}

/* Any search text is also looked up as a chart number (clients.external_id): as
 * typed, and in capitals and small letters, since EHRs write theirs in one case
 * ("MRN-0012", "a00123") and staff type either. */
static void add_chart_lookup(apr_pool_t *p, const char *text, list_query *lq)
{
    lq->chart[0] = text;
    lq->chart[1] = ascii_case(p, text, 1);
    lq->chart[2] = ascii_case(p, text, 0);
}

/* q as a search: a date (YYYY-MM-DD or US MM/DD/YYYY), an address (has an @), or
 * name words, each the prefix of a different word of the client's name; and, any
 * of these, a chart number. */
static apr_status_t classify_search(pm_req *q, const char *text, list_query *lq)
{
    apr_pool_t *p = q->r->pool;
    char date[11];
    apr_array_header_t *words;
    int i;

    lq->kind = LIST_ALL;
    if (*text == '\0') {
        return APR_SUCCESS;
    }
    add_chart_lookup(p, text, lq);
    if (pm_search_date(text, date)) {
        lq->kind = LIST_BIRTH;
        lq->value = apr_pstrdup(p, date);
        return APR_SUCCESS;
    }
    if (strchr(text, '@')) {
        lq->kind = LIST_EMAIL;
        lq->value = text;
        return APR_SUCCESS;
    }
    words = pm_collate_query_words(p, text);
    if (words->nelts == 0) {                 /* only separators and apostrophes */
        lq->kind = LIST_NOTHING;
        return APR_SUCCESS;
    }
    if ((lq->match = pm_collate_match(p)) == NULL) {
        return APR_EGENERAL;
    }
    lq->kind = LIST_WORDS;
    lq->words = words;
    lq->ranges = apr_array_make(p, words->nelts * 2, sizeof(const char *));
    lq->keys = apr_array_make(p, words->nelts, sizeof(const char *));
    for (i = 0; i < words->nelts; i++) {
        const char *lo, *hi, *word = APR_ARRAY_IDX(words, i, const char *);
        pm_collate_prefix_range(lq->match, word, &lo, &hi);
        APR_ARRAY_PUSH(lq->ranges, const char *) = lo;
        APR_ARRAY_PUSH(lq->ranges, const char *) = hi;
        APR_ARRAY_PUSH(lq->keys, const char *) = pm_collate_query_key(lq->match, p, word);
    }
    return APR_SUCCESS;
}

/* What a search page was looked up by (classify_search's list_kind), for its
 * audit row; never the text itself. Text with no word in it counts as a name. */
static const char *const list_kind_names[] = {
    [LIST_ALL] = "all", [LIST_WORDS] = "name", [LIST_BIRTH] = "date", [LIST_EMAIL] = "email",
    [LIST_NOTHING] = "name"
};

/* Each page of clients a person is shown is PHI read: one audit row per page,
 * with the kind of query, how many rows and which clients they were (in the
 * page's order), so paging through the practice leaves a trace and an
 * accounting of who saw a client's name can be made from the trail;
 * chart_number: true when one of them was found by its chart number. */
static apr_status_t audit_client_page(pm_req *q, const list_query *lq,
                                      const apr_array_header_t *rows, int shown,
                                      int by_chart)
{
    json_t *detail = pm_json_object(q->r->pool);
    json_t *ids = json_array();
    int i;

    for (i = 0; i < shown; i++) {
        json_array_append_new(ids, json_integer(
            pm_row_int(&APR_ARRAY_IDX(rows, i, pm_row), CLIENT_ID, 0)));
    }
    pm_json_set_str(detail, "kind", list_kind_names[lq->kind]);
    pm_json_set_int(detail, "rows", shown);
    json_object_set_new(detail, "client_ids", ids);
    if (by_chart) {
        json_object_set_new(detail, "chart_number", json_true());
    }
    return pm_audit(q, "client.search", 0, 0, PM_AUDIT_OK, detail);
}

/* The list's three inputs, as text, validated the same way wherever they came from. */
static int check_list_query(pm_req *q, const char *qs, const char *limit, const char *cursor,
                            list_query *lq)
{
    apr_pool_t *p = q->r->pool;
    int rc;

    memset(lq, 0, sizeof(*lq));
    if (qs) {
        const char *trimmed = pm_trim(p, qs);
        if (!pm_utf8_valid(trimmed, strlen(trimmed), 0) || pm_utf8_length(trimmed) > SEARCH_MAX_CHARS) {
            return pm_http_bad_parameter(q, "q", "The search text must be at most 100 characters of text.");
        }
        if (classify_search(q, trimmed, lq) != APR_SUCCESS) {
            return pm_http_db_unavailable(q);
        }
    }
    if ((rc = pm_api_read_limit(q, limit, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, &lq->limit))
        != PM_NEXT) {
        return rc;
    }
    lq->after[0] = "";
    lq->after[1] = "0";
    return pm_api_read_cursor(q, cursor, lq->after, 2, CURSOR_EXPIRED);
}

/* GET /clients?limit=&cursor= — the whole list a page at a time. The search text
 * never rides in a URL (access logs, proxies and browser history keep URLs): a
 * `q` here is refused and POST /clients/search takes it in its body. */
/* q only to say where it belongs */
static const char *const list_keys[] = { "limit", "cursor", "q", NULL };

static int parse_list_url(pm_req *q, list_query *lq)
{
    apr_table_t *args;
    int rc;

    if ((rc = pm_http_read_query(q, list_keys, &args)) != PM_NEXT) {
        return rc;
    }
    if (apr_table_get(args, "q") != NULL) {
        return pm_http_bad_parameter(q, "q", "Send the search text in the body of "
                                     "POST /clients/search: client names must not appear in "
                                     "URLs or access logs.");
    }
    return check_list_query(q, NULL, apr_table_get(args, "limit"), apr_table_get(args, "cursor"),
                            lq);
}

static const char *const search_fields[] = { "q", "limit", "cursor", NULL };

/* POST /clients/search {q?, limit?, cursor?} — the same list, searched. */
static int parse_list_body(pm_req *q, list_query *lq)
{
    json_t *qs = pm_http_body_field(q, "q");
    json_t *limit = pm_http_body_field(q, "limit");
    json_t *cursor = pm_http_body_field(q, "cursor");
    int rc;

    if ((rc = pm_http_check_fields(q, search_fields)) != PM_NEXT) {
        return rc;
    }
    if (qs && !json_is_null(qs) && !json_is_string(qs)) {
        return pm_http_bad_parameter(q, "q", "The search text must be a string.");
    }
    if (limit && !json_is_null(limit) && !json_is_integer(limit)) {
        return pm_http_bad_parameter(q, "limit", "limit must be a whole number from 1 to 100.");
    }
    if (cursor && !json_is_null(cursor) && !json_is_string(cursor)) {
        return pm_http_send_error(q, HTTP_BAD_REQUEST, "invalid_cursor", CURSOR_EXPIRED, "cursor");
    }
    return check_list_query(q, json_is_string(qs) ? json_string_value(qs) : NULL,
                            json_is_integer(limit)
                                ? pm_arg_int(q->r->pool, json_integer_value(limit)) : NULL,
                            json_is_string(cursor) ? json_string_value(cursor) : NULL, lq);
}

/* The key of the query word likely to match the fewest clients (the longest key). */
static int narrowest_word(const list_query *lq, int skip)
{
    int i, best = -1;
    size_t best_len = 0;

    for (i = 0; i < lq->keys->nelts; i++) {
        size_t len = strlen(APR_ARRAY_IDX(lq->keys, i, const char *));
        if (i != skip && (best < 0 || len > best_len)) {
            best = i;
            best_len = len;
        }
    }
    return best;
}

/* the statement's PostgreSQL form where it has one (pm_sql.c says why they differ) */
#define FORM(id) (pgsql ? id##_PGSQL : id)

/* Up to n candidate rows after `after`, in list order, visible to this staff
 * member. Name words: the SQL asks for the (two) narrowest query words; the
 * caller checks the rest (keep_row). */
static apr_status_t select_candidates(pm_req *q, const list_query *lq, const char *const *after,
                                      int n_rows, apr_array_header_t **rows)
{
    apr_pool_t *p = q->r->pool;
    const char *n = pm_arg_int(p, n_rows);
    const char *who = q->staff->username, *all = q->staff->all_clients ? "1" : "0";
    const char *const *k, *pair;
    int a, b, pgsql = pm_db_is_pgsql(q->db);

    switch (lq->kind) {
    case LIST_BIRTH:
        return pm_db_select(q->db, PM_SQL_CLIENT_SEARCH_BIRTH, rows, lq->value, all, who,
                            after[0], after[1], n);
    case LIST_EMAIL:
        return pm_db_select(q->db, PM_SQL_CLIENT_SEARCH_EMAIL, rows, lq->value, all, who,
                            after[0], after[1], n);
    case LIST_WORDS:
        k = (const char *const *)lq->keys->elts;
        a = narrowest_word(lq, -1);
        if (lq->keys->nelts == 1) {
            return q->staff->all_clients
                ? pm_db_select(q->db, FORM(PM_SQL_CLIENT_SEARCH_WORD_ALL), rows, k[a],
                               after[0], after[1], n)
                : pm_db_select(q->db, FORM(PM_SQL_CLIENT_SEARCH_WORD_MINE), rows, who, k[a],
                               after[0], after[1], n);
        }
        b = narrowest_word(lq, a);
        pair = pm_collate_pair_key(lq->match, p, APR_ARRAY_IDX(lq->words, a, const char *),
                                   APR_ARRAY_IDX(lq->words, b, const char *));
        return q->staff->all_clients
            ? pm_db_select(q->db, FORM(PM_SQL_CLIENT_SEARCH_WORDS_ALL), rows, pair, k[b],
                           after[0], after[1], n)
            : pm_db_select(q->db, FORM(PM_SQL_CLIENT_SEARCH_WORDS_MINE), rows, who, pair, k[b],
                           after[0], after[1], n);
    default:
        return q->staff->all_clients
            ? pm_db_select(q->db, PM_SQL_CLIENT_LIST_ALL, rows, after[0], after[1], n)
            : pm_db_select(q->db, FORM(PM_SQL_CLIENT_LIST_MINE), rows, who, after[0], after[1],
                           n);
    }
}

/* The SQL looks up (at most two) query words by their first PM_COLLATE_PREFIX_MAX
 * characters; here every query word must sit whole on a different word of the name. */
static int keep_row(pm_req *q, const list_query *lq, const pm_row *row)
{
    apr_pool_t *p = q->r->pool;
    apr_array_header_t *words, *keys;
    int i;

    if (lq->kind != LIST_WORDS) {
        return 1;
    }
    words = pm_collate_name_words(p, pm_row_str(row, CLIENT_FIRST_NAME), pm_row_str(row, CLIENT_LAST_NAME));
    keys = apr_array_make(p, words->nelts, sizeof(const char *));
    for (i = 0; i < words->nelts; i++) {
        APR_ARRAY_PUSH(keys, const char *) = pm_collate_word_key(lq->match,
                                                                 APR_ARRAY_IDX(words, i, const char *));
    }
    return pm_collate_ranges_match(lq->ranges, keys);
}

/* The page of what q was taken for (up to limit + 1 rows, the extra one says there
 * is more): candidate pages are read until enough rows pass keep_row or the
 * candidates run out. */
static apr_status_t select_kind_page(pm_req *q, const list_query *lq,
                                     apr_array_header_t **page)
{
    apr_pool_t *p = q->r->pool;
    const char *after[2];
    apr_array_header_t *rows;
    int i, want = lq->limit + 1;

    after[0] = lq->after[0];
    after[1] = lq->after[1];
    *page = apr_array_make(p, want, sizeof(pm_row));
    if (lq->kind == LIST_NOTHING) {
        return APR_SUCCESS;
    }
    for (;;) {
        if (select_candidates(q, lq, after, want, &rows) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        for (i = 0; i < rows->nelts && (*page)->nelts < want; i++) {
            const pm_row *row = &APR_ARRAY_IDX(rows, i, pm_row);
            if (keep_row(q, lq, row)) {
                APR_ARRAY_PUSH(*page, pm_row) = *row;
            }
        }
        if ((*page)->nelts >= want || rows->nelts < want) {
            return APR_SUCCESS;
        }
        after[0] = pm_row_str(&APR_ARRAY_IDX(rows, rows->nelts - 1, pm_row), CLIENT_SORT_KEY);
        after[1] = pm_row_str(&APR_ARRAY_IDX(rows, rows->nelts - 1, pm_row), CLIENT_ID);
    }
}

/* <0, 0, >0: row a comes before, is, or comes after row b in list order */
static int list_order(const pm_row *a, const pm_row *b)
{
    const char *ka = pm_row_str(a, CLIENT_SORT_KEY), *kb = pm_row_str(b, CLIENT_SORT_KEY);
    int c = strcmp(ka ? ka : "", kb ? kb : "");
    apr_int64_t x = pm_row_int(a, CLIENT_ID, 0), y = pm_row_int(b, CLIENT_ID, 0);

    return c != 0 ? c : (x > y) - (x < y);
}

/* The kind's page and the chart-number matches after the cursor (at most three),
 * merged in list order, a client found both ways once, cut to limit + 1: the first
 * limit + 1 of the two lists together are among these. *by_chart: how many of the
 * page's rows came from the chart number. */
static apr_status_t select_client_page(pm_req *q, const list_query *lq,
                                       apr_array_header_t **page, int *by_chart)
{
    apr_pool_t *p = q->r->pool;
    apr_array_header_t *kind_rows, *chart_rows;
    const char *all = q->staff->all_clients ? "1" : "0";
    int i = 0, j = 0, want = lq->limit + 1;

    *by_chart = 0;
    if (select_kind_page(q, lq, &kind_rows) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (lq->chart[0] == NULL) {
        *page = kind_rows;
        return APR_SUCCESS;
    }
    if (pm_db_select(q->db, PM_SQL_CLIENT_SEARCH_CHART, &chart_rows, lq->chart[0],
                     lq->chart[1], lq->chart[2], all, q->staff->username, lq->after[0],
                     lq->after[1], pm_arg_int(p, want)) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *page = apr_array_make(p, want, sizeof(pm_row));
    while ((*page)->nelts < want && (i < kind_rows->nelts || j < chart_rows->nelts)) {
        const pm_row *a = i < kind_rows->nelts ? &APR_ARRAY_IDX(kind_rows, i, pm_row) : NULL;
        const pm_row *b = j < chart_rows->nelts ? &APR_ARRAY_IDX(chart_rows, j, pm_row) : NULL;
        int order = a == NULL ? 1 : b == NULL ? -1 : list_order(a, b);
        i += order <= 0;
        j += order >= 0;
        *by_chart += order >= 0 && (*page)->nelts < lq->limit;     /* a row shown */
        APR_ARRAY_PUSH(*page, pm_row) = order <= 0 ? *a : *b;
    }
    return APR_SUCCESS;
}

/* a page's cursor: the last row's place in the list order */
static const int page_cursor_cols[] = { CLIENT_SORT_KEY, CLIENT_ID };

/* Rows without keys (another program's, or a new collation_locale) are keyed first.
 * The usual answer is none: then the settings (collation_locale) are not read. */
static apr_status_t fill_missing_keys(pm_req *q)
{
    apr_pool_t *p = q->r->pool;
    pm_settings st;
    int missing = 0;

    if (pm_client_keys_missing(q->db, p, &missing) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (!missing) {
        return APR_SUCCESS;
    }
    if (pm_settings_load(q->db, p, &st) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return pm_client_keys_fill_all(q->db, p, st.collation_locale, 0, NULL);
}

static int send_client_page(pm_req *q, const list_query *lq_in)
{
    apr_pool_t *p = q->r->pool;
    list_query lq = *lq_in;
    apr_array_header_t *rows;
    json_t *doc, *list;
    int i, shown, by_chart;

    if (fill_missing_keys(q) != APR_SUCCESS
        || select_client_page(q, &lq, &rows, &by_chart) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    shown = rows->nelts > lq.limit ? lq.limit : rows->nelts;
    doc = pm_json_object(p);
    list = json_array();
    for (i = 0; i < shown; i++) {
        json_array_append_new(list, pm_api_client_summary_json(q, &APR_ARRAY_IDX(rows, i, pm_row)));
    }
    json_object_set_new(doc, "clients", list);
    pm_api_end_page(q, doc, rows, lq.limit, page_cursor_cols, 2);
    if (audit_client_page(q, &lq, rows, shown, by_chart > 0) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    return pm_http_send_json(q, HTTP_OK, doc);
}

int pm_api_clients_list(pm_req *q)
{
    list_query lq;
    int rc = parse_list_url(q, &lq);

    return rc == PM_NEXT ? send_client_page(q, &lq) : rc;
}

int pm_api_clients_search(pm_req *q)
{
    list_query lq;
    int rc = parse_list_body(q, &lq);

    return rc == PM_NEXT ? send_client_page(q, &lq) : rc;
}
