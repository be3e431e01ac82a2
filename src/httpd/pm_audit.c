/* pm_audit.c — the audit trail: one INSERT per audited event, on the request's
 * connection, in the caller's transaction when there is one (else group-committed
 * with other requests' rows, pm_audit_group.c); one JSON shape for its entries,
 * whichever route shows them; and the chain's head in the error log (PM00625). */
#include "pm_audit.h"
#include "pm_api.h"
#include "pm_audit_group.h"
#include "pm_metrics.h"
#include "pm_store.h"
#include "pm_text.h"

APLOG_USE_MODULE(portal_manager);

apr_status_t pm_audit(pm_req *q, const char *action, long long client_id,
                      long long object_id, const char *result, json_t *detail)
{
    apr_pool_t *p = q->r->pool;
    const char *who = q->staff ? q->staff->username : (q->r->user ? q->r->user : "recipient");
    const char *args[PM_AUDIT_ARGS];
    apr_status_t rv;
    int in_txn;

    args[0] = pm_arg_int(p, pm_now_sec(q->r));
    args[1] = who;
    args[2] = action;
    args[3] = client_id > 0 ? pm_arg_int(p, client_id) : NULL;
    args[4] = object_id > 0 ? pm_arg_int(p, object_id) : NULL;
    args[5] = result;
    args[6] = detail ? pm_json_text(p, detail) : NULL;
    args[7] = q->r->useragent_ip;
    args[8] = q->request_id;
    in_txn = pm_db_in_transaction(q->db);
    rv = pm_audit_group_write(q->db, p, args);
    if (rv != APR_SUCCESS || !in_txn) {        /* else the commit tells (pm_op_finish) */
        pm_metrics_write_outcome(q->r, rv == APR_SUCCESS);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, PM_LOGNO(00040)
                      "could not write the audit row for %s (request %s)", action, q->request_id);
    }
    return rv;
}

static void set_id_or_null(json_t *obj, const char *key, const pm_row *row, int col)
{
    if (pm_row_str(row, col)) {
        pm_json_set_int(obj, key, pm_row_int(row, col, 0));
    }
    else {
        pm_json_set_null(obj, key);
    }
}

static json_t *entry_json(apr_pool_t *p, const pm_row *row, int whole_trail)
{
    json_t *e = json_object(), *detail;
    const char *text = pm_row_str(row, AUDIT_DETAIL);

    pm_json_set_int(e, "id", pm_row_int(row, AUDIT_ID, 0));
    pm_json_set_str(e, "at", pm_rfc3339(p, pm_row_int(row, AUDIT_AT, 0)));
    pm_json_set_str(e, "username", pm_row_str(row, AUDIT_USERNAME));
    {                                         /* how colleagues know them; null: none */
        const char *name = pm_row_str(row, AUDIT_STAFF_NAME);
        pm_json_set_str(e, "display_name", name && *name ? name : NULL);
    }
    pm_json_set_str(e, "action", pm_row_str(row, AUDIT_ACTION));
    if (whole_trail) {
        set_id_or_null(e, "client_id", row, AUDIT_CLIENT_ID);
    }
    set_id_or_null(e, "object_id", row, AUDIT_OBJECT_ID);
    pm_json_set_str(e, "result", pm_row_str(row, AUDIT_RESULT));
    detail = text ? json_loads(text, 0, NULL) : NULL;
    json_object_set_new(e, "detail", detail ? detail : json_null());
    if (whole_trail) {
        pm_json_set_str(e, "remote_ip", pm_row_str(row, AUDIT_REMOTE_IP));
    }
    pm_json_set_str(e, "request_id", pm_row_str(row, AUDIT_REQUEST_ID));
    if (!whole_trail) {
        return e;                             /* one client's trail: the client is known */
    }
    if (pm_row_str(row, AUDIT_CLIENT_FIRST)) {
        json_t *client = json_object();

        pm_json_set_str(client, "first_name", pm_row_str(row, AUDIT_CLIENT_FIRST));
        pm_json_set_str(client, "last_name", pm_row_str(row, AUDIT_CLIENT_LAST));
        json_object_set_new(e, "client", client);
    }
    else {
        pm_json_set_null(e, "client");
    }
    return e;
}

json_t *pm_audit_page_json(pm_req *q, const apr_array_header_t *rows, int limit,
                           int whole_trail)
{
    static const int cursor_cols[] = { AUDIT_ID };
    json_t *doc = pm_json_object(q->r->pool), *list = json_array();
    int i;

    for (i = 0; i < rows->nelts && i < limit; i++) {
        json_array_append_new(list, entry_json(q->r->pool, &APR_ARRAY_IDX(rows, i, pm_row),
                                               whole_trail));
    }
    json_object_set_new(doc, "entries", list);
    pm_api_end_page(q, doc, rows, limit, cursor_cols, 1);
    return doc;
}

/* The chain's head in the error log, at the worker's first pass and then once an
 * hour: a copy outside the database that a shortened or rewritten chain no longer
 * leads to (portal-manager-admin audit verify --anchors-from). A place and a hash,
 * no row's content. The delivery worker's thread only. */
#define HEAD_LOG_EVERY apr_time_from_sec(3600)

static apr_time_t head_logged_at = 0;

void pm_audit_head_pass(server_rec *s, apr_pool_t *pool)
{
    apr_time_t now = apr_time_now();
    apr_array_header_t *rows;
    const pm_row *head;
    apr_pool_t *p;
    pm_db *db;

    if ((head_logged_at != 0 && now - head_logged_at < HEAD_LOG_EVERY)
        || apr_pool_create(&p, pool) != APR_SUCCESS) {
        return;
    }
    if ((db = pm_db_open(s, p)) != NULL) {
        if (pm_db_select(db, PM_SQL_AUDIT_CHAIN_HEAD, &rows) == APR_SUCCESS
            && (head = pm_first_row(rows)) != NULL) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, PM_LOGNO(00625)
                         "audit chain head: seq %s, hash %s", pm_row_str(head, CHAIN_HEAD_SEQ),
                         pm_row_str(head, CHAIN_HEAD_HASH));
            head_logged_at = now;
        }
        pm_db_close(db);
    }
    apr_pool_destroy(p);
}
