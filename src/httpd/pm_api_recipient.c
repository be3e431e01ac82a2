/* pm_api_recipient.c — the public recipient API (SetHandler portal-invitation):
 * POST /lookup, /accept, /decline, each carrying the token in its JSON body.
 * Looking up changes nothing; accepting checks the username and password first,
 * then reserves a date-of-birth attempt from the invitation's and the client's
 * budgets in the statement that compares the date, and only then creates the
 * portal account (bcrypt, readable by stock mod_authn_dbd); consuming a token is
 * one conditional UPDATE. Answers never reveal the client's last name, date of
 * birth or email address. */
#include "pm_api.h"
#include "pm_audit.h"
#include "pm_ratelimit.h"
#include "pm_route.h"
#include "pm_store.h"
#include "pm_text.h"
#include "pm_token.h"

#include "http_protocol.h"
#include "apr_md5.h"

APLOG_USE_MODULE(portal_manager);

/* Unsuccessful date-of-birth attempts (a wrong date, or a taken username after a
 * right one) allowed per invitation, and per client across all its invitations
 * (the client's own and every representative's check the same date). */
#define VERIFY_ATTEMPTS_INVITATION 5
#define VERIFY_ATTEMPTS_CLIENT     10
#define BCRYPT_COST                11
#define PASSWORD_MAX_BYTES         72     /* bcrypt ignores every byte after the 72nd */

static const char *const lookup_fields[] = { "token", NULL };
static const char *const accept_fields[] = { "token", "date_of_birth", "username", "password",
                                             NULL };

typedef struct {
    const pm_row *inv;           /* the invitation, pending and unexpired */
    const char *hash;            /* SHA-256 of the token */
} token_match;

/* Refuses a link that cannot be used, with the status that says why (404 not
 * ours, 409 answered, 410 expired or replaced, 423 locked): the answer names the
 * practice (and its phone when the settings have one) so the recipient knows
 * whom to contact. */
static int refuse_link(pm_req *q, int status, const char *code, const char *message)
{
    apr_pool_t *p = q->r->pool;
    json_t *extra = pm_json_object(p);
    pm_settings st;

    if (q->db == NULL) {
        q->db = pm_db_acquire(q->r);
    }
    if (q->db && pm_settings_load(q->db, p, &st) == APR_SUCCESS) {
        pm_json_set_str(extra, "practice_name", pm_api_practice_name(q, &st));
        pm_json_set_str(extra, "practice_phone", st.practice_phone);
    }
    return pm_http_send_error_with(q, status, code, message, NULL, extra);
}

/* Why a token that is not usable is not usable, in words for the recipient: by
 * the invitation's status; any other (accepted, declined) was already answered. */
static const struct {
    const char *status;          /* also the error code; NULL: every other status */
    int http;
    const char *message;
} link_refusals[] = {
    { "expired", HTTP_GONE, "This invitation link has expired. Please ask the "
      "practice to send you a new invitation." },
    { "address_changed", HTTP_GONE, "This invitation link is no longer valid. "
      "Please contact the practice if you want portal access." },
    { "superseded", HTTP_GONE, "A newer invitation email has been sent to you. "
      "Please use the link in the most recent email." },
    { "revoked", HTTP_GONE, "This invitation was withdrawn by the practice. "
      "Please contact the practice if you still want portal access." },
    { "locked", HTTP_LOCKED, "This invitation is locked after too many "
      "unsuccessful attempts. Please contact the practice for a new link." },
    { NULL, HTTP_CONFLICT, "This invitation has already been answered. "
      "If you accepted it, you can log in to the portal." }
};

static int refuse_token(pm_req *q, const char *status)
{
    int i;

    for (i = 0; link_refusals[i].status && strcmp(link_refusals[i].status, status) != 0; i++) {
    }
    return refuse_link(q, link_refusals[i].http,
                       link_refusals[i].status ? link_refusals[i].status : "already_used",
                       link_refusals[i].message);
}

static int invalid_token(pm_req *q)
{
    return refuse_link(q, HTTP_NOT_FOUND, "invalid_token",
                       "This invitation link is not valid. Please "
                       "check that you opened the whole link from the email.");
}

/* Reads the invitation of m->hash: PM_NEXT when it is pending and unexpired,
 * otherwise the answer saying why not. */
static int read_token(pm_req *q, token_match *m)
{
    apr_array_header_t *rows;
    const char *status;

    if (pm_db_select(q->db, PM_SQL_TOKEN_FIND, &rows, m->hash) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (rows->nelts == 0) {
        if (pm_db_select(q->db, PM_SQL_TOKEN_SUPERSEDED, &rows, m->hash) != APR_SUCCESS) {
            return pm_http_db_unavailable(q);
        }
        if (rows->nelts == 0) {
            return invalid_token(q);
        }
        return refuse_token(q, pm_row_int(pm_first_row(rows), RETIRED_ADDRESS_CHANGED, 0) == 1
                               ? "address_changed" : "superseded");
    }
    m->inv = &APR_ARRAY_IDX(rows, 0, pm_row);
    status = pm_row_str(m->inv, TOKEN_STATUS);
    if (strcmp(status, "pending") == 0 && pm_row_int(m->inv, TOKEN_EXPIRES_AT, 0) <= pm_now_sec(q->r)) {
        status = "expired";
    }
    if (pm_row_int(m->inv, TOKEN_ADDRESS_CHANGED, 0) == 1) {
        status = "address_changed";
    }
    return strcmp(status, "pending") == 0 ? PM_NEXT : refuse_token(q, status);
}

/* Finds the pending, unexpired invitation a token belongs to, or answers why not. */
static int resolve_token(pm_req *q, const char *const *fields, token_match *m)
{
    json_t *tok = pm_http_body_field(q, "token");
    int rc;

    if ((rc = pm_http_check_fields(q, fields)) != PM_NEXT) {
        return rc;
    }
    if (!json_is_string(tok) || !pm_token_well_formed(json_string_value(tok))) {
        return invalid_token(q);
    }
    m->hash = pm_token_hash(q->r->pool, json_string_value(tok));
    if ((q->db = pm_db_acquire(q->r)) == NULL) {
        return pm_http_db_unavailable(q);
    }
    return read_token(q, m);
}

static const char *kind_of(const pm_row *inv)
{
    return pm_row_str(inv, TOKEN_REP_ID) ? "representative" : "client";
}

/* ---- POST /lookup ------------------------------------------------------------------ */

static int post_lookup(pm_req *q)
{
    token_match m;
    pm_settings st;
    json_t *doc;
    int rc;

    if ((rc = resolve_token(q, lookup_fields, &m)) != PM_NEXT
        || (rc = pm_api_load_settings(q, &st)) != PM_NEXT) {
        return rc;
    }
    doc = pm_json_object(q->r->pool);
    pm_json_set_str(doc, "practice_name", pm_api_practice_name(q, &st));
    pm_json_set_str(doc, "practice_phone", st.practice_phone);
    pm_json_set_str(doc, "recipient_first_name", pm_row_str(m.inv, TOKEN_FIRST_NAME));
    pm_json_set_str(doc, "kind", kind_of(m.inv));
    pm_json_set_str(doc, "expires_at",
                    pm_rfc3339(q->r->pool, pm_row_int(m.inv, TOKEN_EXPIRES_AT, 0)));
    pm_json_set_str(doc, "brand_color", st.brand_color);
    pm_json_set_int(doc, "password_min_length", st.password_min_length);
    return pm_http_send_json(q, HTTP_OK, doc);
}

/* ---- POST /accept ------------------------------------------------------------------ */

static const char *body_string(pm_req *q, const char *field)
{
    json_t *v = pm_http_body_field(q, field);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* What a reserved date-of-birth attempt found. */
typedef struct {
    int matched;                 /* the date of birth is the client's */
    int locked;                  /* this invitation is locked now */
    long long tries_left;        /* unsuccessful attempts still allowed */
} attempt;

/* After an unsuccessful attempt: lock the invitation and, when the client's budget
 * is spent, every open invitation of the client. */
static apr_status_t lock_spent(pm_req *q, const token_match *m, long long client_used,
                               attempt *a)
{
    apr_pool_t *p = q->r->pool;
    const char *client = pm_row_str(m->inv, TOKEN_CLIENT_ID);
    apr_array_header_t *rows;
    const pm_row *row;

    if (pm_db_select(q->db, PM_SQL_VERIFY_LOCK_INVITATION, &rows,
                     pm_arg_int(p, VERIFY_ATTEMPTS_INVITATION), pm_row_str(m->inv, TOKEN_INV_ID))
        != APR_SUCCESS || rows->nelts != 1
        || pm_db_exec(q->db, PM_SQL_VERIFY_LOCK_CLIENT, NULL, client, client,
                      pm_arg_int(p, VERIFY_ATTEMPTS_CLIENT)) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    row = &APR_ARRAY_IDX(rows, 0, pm_row);
    a->tries_left = VERIFY_ATTEMPTS_INVITATION
                    - pm_row_int(row, LOCKED_FAILURES, VERIFY_ATTEMPTS_INVITATION);
    if (VERIFY_ATTEMPTS_CLIENT - client_used < a->tries_left) {
        a->tries_left = VERIFY_ATTEMPTS_CLIENT - client_used;
    }
    a->locked = strcmp(pm_row_str(row, LOCKED_STATUS), "locked") == 0 || a->tries_left <= 0;
    return APR_SUCCESS;
}

/* One transaction: reserve an attempt from the invitation's budget, then from the
 * client's in the statement that compares the date (NULL dob: a username probe,
 * never a match). A match gives both back; anything else stays counted and may
 * lock. Returns PM_NEXT with *a filled in, or the answer already sent. */
static int reserve_attempt(pm_req *q, const token_match *m, const char *dob,
                           const char *action, attempt *a)
{
    apr_pool_t *p = q->r->pool;
    const char *inv = pm_row_str(m->inv, TOKEN_INV_ID);
    const char *client = pm_row_str(m->inv, TOKEN_CLIENT_ID);
    apr_array_header_t *rows;
    int reserved = 0;

    memset(a, 0, sizeof(*a));
    if (pm_db_begin(q->db) != APR_SUCCESS
        || pm_db_exec(q->db, PM_SQL_VERIFY_RESERVE_INVITATION, &reserved, inv, m->hash,
                      pm_arg_int(p, pm_now_sec(q->r)), pm_arg_int(p, VERIFY_ATTEMPTS_INVITATION))
           != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (reserved != 1) {                 /* answered, locked or expired meanwhile */
        token_match now = { NULL, m->hash };
        int rc;

        pm_db_rollback(q->db);
        rc = read_token(q, &now);
        return rc == PM_NEXT ? refuse_token(q, "locked") : rc;
    }
    if (pm_db_select(q->db, PM_SQL_VERIFY_RESERVE_CLIENT, &rows, client,
                     pm_arg_int(p, VERIFY_ATTEMPTS_CLIENT), dob) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (rows->nelts == 1 && pm_row_int(pm_first_row(rows), RESERVED_DATE_MATCHES, 0) == 1) {
        a->matched = 1;
        if (pm_db_exec(q->db, PM_SQL_VERIFY_REFUND_INVITATION, NULL, inv) != APR_SUCCESS
            || pm_db_exec(q->db, PM_SQL_VERIFY_REFUND_CLIENT, NULL, client) != APR_SUCCESS
            || pm_db_commit(q->db) != APR_SUCCESS) {
            return pm_http_db_unavailable(q);
        }
        return PM_NEXT;
    }
    if (lock_spent(q, m, rows->nelts ? pm_row_int(pm_first_row(rows), RESERVED_FAILURES, 0)
                                     : VERIFY_ATTEMPTS_CLIENT, a) != APR_SUCCESS
        || pm_audit(q, action, pm_row_int(m->inv, TOKEN_CLIENT_ID, 0),
                    pm_row_int(m->inv, TOKEN_INV_ID, 0), PM_AUDIT_DENIED, NULL) != APR_SUCCESS
        || pm_db_commit(q->db) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    return PM_NEXT;
}

/* The answer to a date of birth that was not accepted. */
static int verification_failed(pm_req *q, const attempt *a)
{
    if (a->locked) {
        return refuse_token(q, "locked");
    }
    return pm_http_unprocessable(q, "verification_failed",
                                 apr_psprintf(q->r->pool, "The date of birth does not match our "
                                 "records. Please check it and try again "
                                 "(%d %s left).", (int)a->tries_left,
                                 a->tries_left == 1 ? "try" : "tries"),
                                 "date_of_birth");
}

static int username_ok(const char *u)
{
    size_t n = u ? strlen(u) : 0;

    return n >= 3 && n <= 64
           && strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") == n;
}

/* Everything that does not need the date of birth is checked before it, so these
 * answers say nothing about the date and count nothing. */
static int check_credentials(pm_req *q, const token_match *m, const pm_settings *st,
                             const char *username, const char *password)
{
    size_t chars = password ? pm_utf8_length(password) : 0;

    if (!username_ok(username)) {
        return pm_http_unprocessable(q, "invalid_username",
                                     "Choose a username of 3 to 64 letters, digits, or . _ @ -",
                                     "username");
    }
    if (password != NULL && strlen(password) > PASSWORD_MAX_BYTES) {
        return pm_http_unprocessable(q, "password_too_long",
                                     "Choose a password of at most 72 bytes: 72 plain letters and "
                                     "digits, fewer with accented letters or symbols.", "password");
    }
    if (password == NULL || !pm_utf8_valid(password, strlen(password), 0)
        || chars < (size_t)st->password_min_length
        || strcasecmp(password, username) == 0
        || strcasecmp(password, pm_row_str(m->inv, TOKEN_EMAIL)) == 0) {
        return pm_http_unprocessable(q, "weak_password",
                                     apr_psprintf(q->r->pool, "Choose a password of at least %d "
                                     "characters that is not your username or email "
                                     "address.", (int)st->password_min_length),
                                     "password");
    }
    return PM_NEXT;
}

static const char *bcrypt_hash(apr_pool_t *p, const char *password)
{
    unsigned char salt[16];
    char out[64];

    if (apr_generate_random_bytes(salt, sizeof(salt)) != APR_SUCCESS
        || apr_bcrypt_encode(password, BCRYPT_COST, salt, sizeof(salt), out, sizeof(out))
           != APR_SUCCESS) {
        return NULL;
    }
    return apr_pstrdup(p, out);
}

/* A taken username rolls the consumption back and costs an attempt, so usernames
 * cannot be probed without limit by the holder of a link. */
static int username_taken(pm_req *q, const token_match *m)
{
    attempt a;
    int rc;

    pm_db_rollback(q->db);
    if ((rc = reserve_attempt(q, m, NULL, "invitation.username_taken", &a)) != PM_NEXT) {
        return rc;
    }
    return pm_http_send_error(q, HTTP_CONFLICT, "username_taken",
                              "That username is taken. Please choose another.", "username");
}

/* One transaction: consume the token (exactly one request can), then create the
 * account; a taken username rolls the consumption back. */
static int create_account(pm_req *q, const token_match *m, const char *username,
                          const char *hash)
{
    apr_pool_t *p = q->r->pool;
    apr_array_header_t *rows;
    const char *now = pm_arg_int(p, pm_now_sec(q->r));
    int consumed = 0;

    if (pm_db_begin(q->db) != APR_SUCCESS
        || pm_db_exec(q->db, PM_SQL_INVITATION_CONSUME, &consumed, "accepted", now,
                      pm_row_str(m->inv, TOKEN_INV_ID), m->hash, now) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (consumed != 1) {
        return refuse_token(q, "accepted");
    }
    if (pm_db_select(q->db, PM_SQL_ACCOUNT_INSERT, &rows, username, hash,
                     pm_row_str(m->inv, TOKEN_CLIENT_ID), pm_row_str(m->inv, TOKEN_REP_ID),
                     pm_row_str(m->inv, TOKEN_INV_ID), now) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (rows->nelts == 0) {
        return username_taken(q, m);
    }
    if (pm_db_exec(q->db, PM_SQL_VERIFY_RESET_CLIENT, NULL, pm_row_str(m->inv, TOKEN_CLIENT_ID))
        != APR_SUCCESS
        || pm_audit(q, "invitation.accept", pm_row_int(m->inv, TOKEN_CLIENT_ID, 0),
                 pm_row_int(m->inv, TOKEN_INV_ID, 0), PM_AUDIT_OK, NULL) != APR_SUCCESS
        || pm_db_commit(q->db) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    return PM_NEXT;
}

static int post_accept(pm_req *q)
{
    token_match m;
    pm_settings st;
    const char *dob = body_string(q, "date_of_birth");
    const char *username = body_string(q, "username");
    const char *password = body_string(q, "password");
    const char *hash;
    pm_server_conf *conf = pm_server_config(q->r->server);
    attempt a;
    json_t *doc;
    int rc;

    if ((rc = resolve_token(q, accept_fields, &m)) != PM_NEXT
        || (rc = pm_api_load_settings(q, &st)) != PM_NEXT
        || (rc = check_credentials(q, &m, &st, username, password)) != PM_NEXT
        || (rc = reserve_attempt(q, &m, dob ? dob : "", "invitation.verify_failed", &a))
           != PM_NEXT) {
        return rc;
    }
    if (!a.matched) {
        return verification_failed(q, &a);
    }
    if ((hash = bcrypt_hash(q->r->pool, password)) == NULL) {
        return pm_http_send_error(q, HTTP_INTERNAL_SERVER_ERROR, "internal_error",
                                  "Your account could not be created. Please try again.", NULL);
    }
    if ((rc = create_account(q, &m, username, hash)) != PM_NEXT) {
        return rc;
    }
    doc = pm_json_object(q->r->pool);
    pm_json_set_str(doc, "login_url", conf->login_url);
    return pm_http_send_json(q, HTTP_CREATED, doc);
}

/* ---- POST /decline ------------------------------------------------------------------ */

static int post_decline(pm_req *q)
{
    token_match m;
    const char *now = pm_arg_int(q->r->pool, pm_now_sec(q->r));
    json_t *doc;
    int rc, consumed = 0;

    if ((rc = resolve_token(q, lookup_fields, &m)) != PM_NEXT) {
        return rc;
    }
    if (pm_db_begin(q->db) != APR_SUCCESS
        || pm_db_exec(q->db, PM_SQL_INVITATION_CONSUME, &consumed, "declined", now,
                      pm_row_str(m.inv, TOKEN_INV_ID), m.hash, now) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (consumed != 1) {
        return refuse_token(q, "declined");
    }
    if (pm_audit(q, "invitation.decline", pm_row_int(m.inv, TOKEN_CLIENT_ID, 0),
                 pm_row_int(m.inv, TOKEN_INV_ID, 0), PM_AUDIT_OK, NULL) != APR_SUCCESS
        || pm_db_commit(q->db) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    doc = pm_json_object(q->r->pool);
    pm_json_set_bool(doc, "declined", 1);
    return pm_http_send_json(q, HTTP_OK, doc);
}

static const pm_route recipient_routes[] = {
    { "POST", "/lookup", post_lookup },
    { "POST", "/accept", post_accept },
    { "POST", "/decline", post_decline },
    { NULL, NULL, NULL }
};

static int recipient_prelude(pm_req *q)
{
    int rc = pm_http_check_csrf(q);

    if (rc == PM_NEXT) {
        rc = pm_http_read_json_body(q);
    }
    return rc == PM_NEXT ? pm_ratelimit_recipient(q) : rc;
}

int pm_api_recipient_handler(request_rec *r)
{
    pm_req *q;

    if (r->handler == NULL || strcmp(r->handler, "portal-invitation") != 0) {
        return DECLINED;
    }
    q = pm_http_begin(r);
    return pm_route_dispatch(q, recipient_routes, recipient_prelude);
}
