/* pm_api_paging.c — keyset paging as the staff API's lists share it: the key that
 * seals page cursors (made at startup), a page link's cursor and its limit (or any
 * count: the id rule, bounded) read back, and the end of a page with the cursor of
 * the next one. */
#include "pm_api.h"
#include "pm_cursor.h"
#include "pm_store.h"

#include "http_protocol.h"

static unsigned char cursor_key[PM_CURSOR_KEY_LEN];

apr_status_t pm_api_paging_init(void)
{
    /* Cursors are sealed with a key made at startup (in the parent, so every
     * child shares it); a restart simply invalidates cursors in flight. */
    return apr_generate_random_bytes(cursor_key, sizeof(cursor_key));
}

int pm_api_read_cursor(pm_req *q, const char *cursor, const char **fields, int n,
                       const char *message)
{
    if (cursor && pm_cursor_decode(q->r->pool, cursor_key, cursor, fields, n) != 0) {
        return pm_http_send_error(q, HTTP_BAD_REQUEST, "invalid_cursor", message, "cursor");
    }
    return PM_NEXT;
}

const char *const pm_api_cursor_keys[] = { "cursor", NULL };

int pm_api_read_count(pm_req *q, const char *name, const char *text, int dflt, int max,
                      int *out)
{
    long long v;

    *out = dflt;
    if (text == NULL) {
        return PM_NEXT;
    }
    if (!pm_http_parse_id(text, strlen(text), &v) || v > max) {
        return pm_http_bad_parameter(q, name, apr_psprintf(q->r->pool, "%s must be a whole "
                                                           "number from 1 to %d.", name, max));
    }
    *out = (int)v;
    return PM_NEXT;
}

int pm_api_read_limit(pm_req *q, const char *limit, int dflt, int max, int *out)
{
    return pm_api_read_count(q, "limit", limit, dflt, max, out);
}

void pm_api_end_page(pm_req *q, json_t *doc, const apr_array_header_t *rows, int limit,
                     const int *cols, int n)
{
    const pm_row *last;
    const char *fields[PM_PAGE_MAX_FIELDS];
    int i;

    if (rows->nelts <= limit) {
        pm_json_set_null(doc, "next_cursor");
        return;
    }
    last = &APR_ARRAY_IDX(rows, limit - 1, pm_row);
    for (i = 0; i < n; i++) {
        fields[i] = pm_row_str(last, cols[i]);
    }
    pm_json_set_str(doc, "next_cursor", pm_cursor_encode(q->r->pool, cursor_key, fields, n));
}
