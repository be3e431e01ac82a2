/* pm_api.h — the two content handlers (staff API, recipient API) and what the
 * staff resources share: who the signed-in staff member is. */
#ifndef PM_API_H
#define PM_API_H

/* what a signed-in user without an active staff row is told (403 not_staff) */
#define PM_NOT_STAFF_MESSAGE "Your account is not set up as practice staff for the " \
                             "Client Portal Manager. Ask your administrator."

#include "pm_http.h"
#include "pm_settings.h"

typedef struct pm_staff {
    const char *username;
    const char *display_name;
    int all_clients;
    const char *email;          /* where notices go (staff update --email), or NULL */
    const char *notify;         /* notices: "none", "immediate" or "daily" */
} pm_staff;

/* Keyset paging shared by the lists (pm_api_paging.c). A page is read as limit + 1
 * rows; the extra one says that another page follows. */
#define PM_PAGE_MAX_FIELDS 4
/* Makes the key that seals cursors (post_config, in the parent). */
apr_status_t pm_api_paging_init(void);
/* Reads a page link's cursor (NULL: the first page, fields left as they are) into
 * fields[0..n): PM_NEXT, or 400 invalid_cursor with `message`. */
int pm_api_read_cursor(pm_req *q, const char *cursor, const char **fields, int n,
                       const char *message);
/* The query of a list that takes only its page link: { "cursor", NULL }. */
extern const char *const pm_api_cursor_keys[];
/* Reads a count parameter `name` (NULL text: dflt) into *out, by the API's id rule
 * (pm_http_parse_id) and at most max: PM_NEXT, or 400 invalid_parameter
 * "name must be a whole number from 1 to max." */
int pm_api_read_count(pm_req *q, const char *name, const char *text, int dflt, int max,
                      int *out);
/* A page's `limit`: pm_api_read_count named limit. */
int pm_api_read_limit(pm_req *q, const char *limit, int dflt, int max, int *out);
/* Sets doc's "next_cursor": sealed from columns cols[0..n) (n <= PM_PAGE_MAX_FIELDS)
 * of row limit - 1 when rows holds more than limit rows, else null. */
void pm_api_end_page(pm_req *q, json_t *doc, const apr_array_header_t *rows, int limit,
                     const int *cols, int n);

/* The client list and search (pm_api_client_list.c). */
int pm_api_clients_list(pm_req *q);
int pm_api_clients_search(pm_req *q);

/* One client (pm_api_clients.c). */
int pm_api_client_view(pm_req *q);
int pm_api_client_status(pm_req *q);
int pm_api_client_set_email(pm_req *q);
/* The body's optional notify_old_address (absent: 1): 422 when not a boolean. */
int pm_api_read_notify_old_address(pm_req *q, int *notify);
int pm_api_client_set_declined(pm_req *q);
int pm_api_client_clear_declined(pm_req *q);
int pm_api_client_set_preferences(pm_req *q);
int pm_api_client_audit(pm_req *q);

/* Shared by the resource files (pm_api_clients.c). Loads the row q->ids[0] names
 * through a visibility statement; none → 404, audited as `action` denied (NULL
 * action: a re-read inside a transaction, whose denial the first read audited). */
struct pm_row;
int pm_api_load_visible(pm_req *q, pm_sql_id stmt, const char *action, const char *noun,
                        const struct pm_row **out);
int pm_api_load_visible_client(pm_req *q, const char *action, const struct pm_row **out);
json_t *pm_api_invitation_json(pm_req *q, const struct pm_row *row);
/* Sets obj[key] to column col of row as RFC 3339 UTC, or null when the column is NULL. */
void pm_api_set_time(pm_req *q, json_t *obj, const char *key, const struct pm_row *row, int col);
/* A client as the list shows it (a row of PM_COLS_CLIENT_SUMMARY). */
json_t *pm_api_client_summary_json(pm_req *q, const struct pm_row *row);
int pm_api_build_client_view(pm_req *q, const struct pm_row *row, json_t **out);
/* After a change: answers status with the client's whole view (ids[0] becomes client_id). */
int pm_api_send_client_of(pm_req *q, long long client_id, int status);
/* An optional text body field (a note, a reason) of at most max characters: *out NULL
 * when absent, null or ""; PM_NEXT, or a 422 invalid_<field> answered. */
int pm_api_optional_text(pm_req *q, const char *field, int max, const char **out);

/* Invitations (pm_api_invitations.c). */
int pm_api_client_invite(pm_req *q);
int pm_api_invitation_resend(pm_req *q);
int pm_api_invitation_revoke(pm_req *q);
/* POST /invitations/bulk {"client_ids": [...]}: one result per client. */
int pm_api_invitations_bulk(pm_req *q);
int pm_api_answer_invitation(pm_req *q, int status, long long invitation_id);
int pm_api_load_settings(pm_req *q, pm_settings *st);

/* The practice name emails and the recipient page show. */
const char *pm_api_practice_name(pm_req *q, const pm_settings *st);

/* Representatives (pm_api_representatives.c). */
int pm_api_rep_create(pm_req *q);
/* Sets a representative's scopes, starts_at and ends_at (days in the practice's
 * zone; the stored ends_at is the first second after the last day) on rep. */
void pm_api_rep_access_json(pm_req *q, json_t *rep, const char *scopes, const char *starts,
                            const char *ends);
int pm_api_rep_update(pm_req *q);
int pm_api_rep_invite(pm_req *q);
int pm_api_rep_remove(pm_req *q);

/* Portal accounts (pm_api_accounts.c): the client view's `accounts` array (new
 * reference in *out, or an answer sent), and the disable / enable buttons. */
int pm_api_accounts_json(pm_req *q, const char *client_id, json_t **out);
int pm_api_account_disable(pm_req *q);
int pm_api_account_enable(pm_req *q);
int pm_api_account_password_reset(pm_req *q);

/* Admin (pm_api_admin.c). */
int pm_api_admin_settings_get(pm_req *q);
int pm_api_admin_settings_put(pm_req *q);
int pm_api_admin_preview(pm_req *q);
int pm_api_admin_test_email(pm_req *q);
int pm_api_admin_audit(pm_req *q);

/* The delivery queue (pm_api_outbox.c): the champions' outbox, and one client's emails. */
int pm_api_admin_outbox(pm_req *q);
/* POST /admin/outbox/{id}/retry and /cancel: a row made due now, or never sent. */
int pm_api_admin_outbox_retry(pm_req *q);
int pm_api_admin_outbox_cancel(pm_req *q);
int pm_api_client_emails(pm_req *q);

/* GET /admin/overview: the invitation funnel by month, delivery by day (pm_api_overview.c). */
int pm_api_admin_overview(pm_req *q);

/* The roster sync for EHR integrations (pm_api_roster.c). */
int pm_api_admin_roster_put(pm_req *q);

/* SetHandler portal-manager */
int pm_api_staff_handler(request_rec *r);
/* post_perdir_config: keeps GET /me's champion question out of the error log */
int pm_api_quiet_admin_probe(request_rec *r);

/* SetHandler portal-invitation */
int pm_api_recipient_handler(request_rec *r);

#endif
