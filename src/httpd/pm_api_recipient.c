/* pm_api_recipient.c — the public recipient API (SetHandler portal-invitation):
 * POST /lookup, /accept, /decline, and /reset (a password reset link), each
 * carrying the token in its JSON body.
 * Thin handlers over pm_op_recipient.c: looking up changes nothing; accepting
 * checks the username and password here first, then the operations reserve a
 * date-of-birth attempt and only then create the portal account (bcrypt,
 * readable by stock mod_authn_dbd). Answers never reveal the client's last name,
 * date of birth or email address. */
#include "pm_api.h"
#include "pm_date.h"
#include "pm_locale.h"
#include "pm_op.h"
#include "pm_ratelimit.h"
#include "pm_route.h"
#include "pm_text.h"
#include "pm_token.h"

#include "http_protocol.h"
#include "apr_md5.h"

APLOG_USE_MODULE(portal_manager);

#define BCRYPT_COST                11
#define PASSWORD_MAX_BYTES         72     /* bcrypt ignores every byte after the 72nd */

static const char *const lookup_fields[] = { "token", NULL };
static const char *const accept_fields[] = { "token", "date_of_birth", "username", "password",
                                             "existing_login", NULL };
static const char *const reset_fields[] = { "token", "date_of_birth", "password", NULL };

/* Where a recipient signs in: the setting portal_url (the settings page's "Link to
 * the client portal") when a champion set one, else PortalLoginURL. */
static const char *login_url_of(pm_req *q)
{
    const char *stored, *url = NULL;
    json_t *j;

    if (q->db != NULL && pm_setting_stored(q->db, "portal_url", &stored) == APR_SUCCESS
        && stored != NULL && (j = json_loads(stored, JSON_DECODE_ANY, NULL)) != NULL) {
        if (json_is_string(j) && *json_string_value(j)) {
            url = apr_pstrdup(q->r->pool, json_string_value(j));
        }
        json_decref(j);
    }
    return url ? url : pm_server_config(q->r->server)->login_url;
}

/* Refuses a link that cannot be used, with the status that says why (404 not
 * ours, 409 answered, 410 expired or replaced, 423 locked): the answer names the
 * practice (its phone when the settings have one, its brand colour, and for a used
 * link the portal's sign-in address) so the recipient knows
 * whom to contact and, when the token names an invitation, the recipient's
 * language, so the page says it in that language, and whether it is a password
 * reset link, so the page says it in that link's words. */
static int refuse_link(pm_req *q, const pm_op_token *t, int status, const char *code,
                       const char *message)
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
        pm_json_set_str(extra, "brand_color", st.brand_color);
        /* whoever used it, the recipient's active account, or the login that
         * already reaches this client, may sign in */
        if (strcmp(code, "already_used") == 0 || strcmp(code, "already_active") == 0
            || strcmp(code, "already_linked") == 0) {
            pm_json_set_str(extra, "login_url", login_url_of(q));
        }
        if (t != NULL && t->named) {
            pm_json_set_str(extra, "language",
                            pm_recipient_language(t->language, st.default_language));
            pm_json_set_bool(extra, "reset", t->reset);
        }
    }
    return pm_http_send_error_with(q, status, code, message, NULL, extra);
}

/* Why a link is not usable, in words for the recipient (404 not ours, 409
 * answered, 410 expired or replaced, 423 locked), and the taken username. */
static const pm_api_answer answers[] = {
    { PM_OP_INVALID_TOKEN, NULL, HTTP_NOT_FOUND, "invalid_token", "This invitation link is not "
      "valid. Please check that you opened the whole link from the email.", NULL },
    { PM_OP_EXPIRED, NULL, HTTP_GONE, "expired", "This invitation link has expired. Please ask "
      "the practice to send you a new invitation.", NULL },
    { PM_OP_ADDRESS_CHANGED, NULL, HTTP_GONE, "address_changed", "This invitation link is no "
      "longer valid. Please contact the practice if you want portal access.", NULL },
    { PM_OP_SUPERSEDED, NULL, HTTP_GONE, "superseded", "A newer invitation email has been sent "
      "to you. Please use the link in the most recent email.", NULL },
    { PM_OP_REVOKED, NULL, HTTP_GONE, "revoked", "This invitation was withdrawn by the practice. "
      "Please contact the practice if you still want portal access.", NULL },
    { PM_OP_LOCKED, NULL, HTTP_LOCKED, "locked", "This invitation is locked after too many "
      "unsuccessful attempts. Please contact the practice for a new link.", NULL },
    { PM_OP_ANSWERED, NULL, HTTP_CONFLICT, "already_used", "This invitation has already been "
      "used to create a portal account. You can log in to the portal.", NULL },
    { PM_OP_ANSWERED_DECLINED, NULL, HTTP_CONFLICT, "already_declined", "This invitation was declined. "
      "If that was a mistake, please contact the practice for a new invitation.", NULL },
    { PM_OP_USERNAME_TAKEN, NULL, HTTP_CONFLICT, "username_taken",
      "That username is taken. Please choose another.", "username" },
    { PM_OP_WRONG_KIND, NULL, HTTP_CONFLICT, "wrong_kind", "This link is for a password reset, "
      "not an invitation. Please open it again from the email.", NULL },
    { PM_OP_ALREADY_ACTIVE, NULL, HTTP_CONFLICT, "already_linked", "Your portal account already "
      "reaches this client. Sign in to the portal.", NULL },
    { PM_OP_HAS_ACCOUNT, NULL, HTTP_CONFLICT, "already_active", "You already have a portal "
      "account for this client. Sign in to the portal with it, or contact the practice.", NULL },
    { PM_OP_HOME_DISCHARGED, NULL, HTTP_CONFLICT, "account_not_linkable", "That portal account "
      "cannot take another client. Choose a new username to create an account for this one, "
      "or contact the practice.", "username" },
    { 0, NULL, 0, NULL, NULL, NULL }
};

/* The same refusals of a password reset link, in its words (operation "reset"). */
static const pm_api_answer reset_answers[] = {
    { PM_OP_INVALID_TOKEN, NULL, HTTP_NOT_FOUND, "invalid_token", "This password reset link is "
      "not valid. Please check that you opened the whole link from the email.", NULL },
    { PM_OP_EXPIRED, NULL, HTTP_GONE, "expired", "This password reset link has expired. Please "
      "ask the practice to send you a new one.", NULL },
    { PM_OP_ADDRESS_CHANGED, NULL, HTTP_GONE, "address_changed", "This password reset link is "
      "no longer valid. Please contact the practice.", NULL },
    { PM_OP_SUPERSEDED, NULL, HTTP_GONE, "superseded", "A newer email has been sent to you. "
      "Please use the link in the most recent email.", NULL },
    { PM_OP_REVOKED, NULL, HTTP_GONE, "revoked", "This password reset link was withdrawn by the "
      "practice. Please contact the practice.", NULL },
    { PM_OP_LOCKED, NULL, HTTP_LOCKED, "locked", "This password reset link is locked after too "
      "many unsuccessful attempts. Please contact the practice for a new link.", NULL },
    { PM_OP_ANSWERED, NULL, HTTP_CONFLICT, "already_used", "This password reset link has "
      "already been used. Sign in with your new password, or ask the practice for a new "
      "link.", NULL },
    { PM_OP_WRONG_KIND, NULL, HTTP_CONFLICT, "wrong_kind", "This link is an invitation, not a "
      "password reset. Please open it again from the email.", NULL },
    { 0, NULL, 0, NULL, NULL, NULL }
};

/* An operation's refusal, in the words of the link's kind (a password reset link's
 * own): a link's names the practice (and its phone) so the recipient knows whom to
 * contact, and, once the token named an invitation, the recipient's language; t:
 * the token, when resolving it began. */
static int refuse_kind(pm_req *q, const pm_op_token *t, int reset, pm_op_outcome o)
{
    const pm_api_answer *table = reset ? reset_answers : answers;
    const pm_api_answer *a = pm_api_answer_find(table, NULL, o);

    if (o == PM_OP_DB_UNAVAILABLE || a == NULL || a->field != NULL) {
        return pm_api_send_outcome(q, table, NULL, o);
    }
    return refuse_link(q, t, a->status, a->code, a->message);
}

static int refuse(pm_req *q, const pm_op_token *t, pm_op_outcome o)
{
    return refuse_kind(q, t, t != NULL && t->reset, o);
}

/* Finds the pending, unexpired invitation a token belongs to, or answers why not. */
static int resolve_token(pm_req *q, const char *const *fields, pm_op_ctx *c, pm_op_token *t)
{
    json_t *tok = pm_http_body_field(q, "token");
    pm_op_outcome o;
    int rc;

    if ((rc = pm_http_check_fields(q, fields)) != PM_NEXT) {
        return rc;
    }
    if (!json_is_string(tok) || !pm_token_well_formed(json_string_value(tok))) {
        return refuse(q, NULL, PM_OP_INVALID_TOKEN);
    }
    t->hash = pm_token_hash(q->r->pool, json_string_value(tok));
    t->inv = NULL;
    t->reset = 0;
    if ((q->db = pm_db_acquire(q->r)) == NULL) {
        return pm_http_db_unavailable(q);
    }
    pm_op_ctx_init(c, q);
    o = pm_op_token_resolve(c, t);
    return o == PM_OP_OK ? PM_NEXT : refuse(q, t, o);
}

/* resolve_token, and the link must be of the kind the route handles: a reset
 * link only at /reset, an invitation only at /accept and /decline. */
static int resolve_kind(pm_req *q, const char *const *fields, int reset, pm_op_ctx *c,
                        pm_op_token *t)
{
    int rc = resolve_token(q, fields, c, t);

    if (rc == PM_NEXT && t->reset != reset) {
        return refuse_kind(q, t, reset, PM_OP_WRONG_KIND);
    }
    return rc;
}

static const char *kind_of(const pm_op_token *t)
{
    return t->reset ? "reset" : pm_row_str(t->inv, TOKEN_REP_ID) ? "representative" : "client";
}

/* ---- POST /lookup ------------------------------------------------------------------ */

static int post_lookup(pm_req *q)
{
    pm_op_ctx c;
    pm_op_token m;
    pm_settings st;
    char zone[128];
    json_t *doc;
    int rc;

    if ((rc = resolve_token(q, lookup_fields, &c, &m)) != PM_NEXT
        || (rc = pm_api_load_settings(q, &st)) != PM_NEXT) {
        return rc;
    }
    doc = pm_json_object(q->r->pool);
    pm_json_set_str(doc, "practice_name", pm_api_practice_name(q, &st));
    pm_json_set_str(doc, "practice_phone", st.practice_phone);
    pm_json_set_str(doc, "recipient_first_name", pm_row_str(m.inv, TOKEN_FIRST_NAME));
    pm_json_set_str(doc, "kind", kind_of(&m));
    if (m.reset) {
        /* whose account it is: the sign-in name the new password goes with */
        pm_json_set_str(doc, "username", pm_row_str(m.inv, TOKEN_USERNAME));
        pm_json_set_str(doc, "for", pm_row_str(m.inv, TOKEN_REP_ID) ? "representative" : "client");
    }
    pm_json_set_str(doc, "expires_at",
                    pm_rfc3339(q->r->pool, pm_row_int(m.inv, TOKEN_EXPIRES_AT, 0)));
    pm_json_set_str(doc, "brand_color", st.brand_color);
    pm_json_set_int(doc, "password_min_length", st.password_min_length);
    pm_json_set_str(doc, "language", pm_recipient_language(m.language, st.default_language));
    pm_json_set_str(doc, "time_zone", pm_time_zone_name(st.time_zone, zone, sizeof(zone)));
    return pm_http_send_json(q, HTTP_OK, doc);
}

/* ---- POST /accept ------------------------------------------------------------------ */

static const char *body_string(pm_req *q, const char *field)
{
    json_t *v = pm_http_body_field(q, field);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A wrong date of birth. A representative's invitation is for one person's records:
 * someone who cares for several may have given another's date (no name or date said). */
static const char *dob_mismatch_words(const pm_op_token *m)
{
    if (!m->reset && pm_row_str(m->inv, TOKEN_REP_ID) != NULL) {
        return "The date of birth does not match our records for the person this "
               "invitation is for. Check that you entered their date of birth: if you care "
               "for several people, each invitation is for one of them";
    }
    return "The date of birth does not match our records. Please check it and try again";
}

/* The answer to a date of birth that was not accepted: the tries left ride in
 * `tries_left` too, so the page can say it in the recipient's language. */
static int verification_failed(pm_req *q, const pm_op_token *m, const pm_op_attempt *a)
{
    json_t *extra;

    if (a->locked) {
        return refuse(q, m, PM_OP_LOCKED);
    }
    extra = pm_json_object(q->r->pool);
    pm_json_set_int(extra, "tries_left", a->tries_left);
    return pm_http_send_error_with(q, HTTP_UNPROCESSABLE_ENTITY, "verification_failed",
                                   apr_psprintf(q->r->pool, "%s (%d %s left).",
                                   dob_mismatch_words(m), (int)a->tries_left,
                                   a->tries_left == 1 ? "try" : "tries"),
                                   "date_of_birth", extra);
}

static int username_ok(const char *u)
{
    size_t n = u ? strlen(u) : 0;

    return n >= 3 && n <= 64
           && strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") == n;
}

/* One character over and over ("            ", "aaaaaaaaaaaa"): long enough, guessed
 * at once. The password is valid UTF-8 here: its lead byte says the first
 * character's length. */
static int one_character_repeated(const char *password)
{
    unsigned char lead = (unsigned char)password[0];
    size_t first = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4, i;

    if (lead == 0) {
        return 1;
    }
    for (i = first; password[i]; i += first) {
        if (strncmp(password + i, password, first) != 0) {
            return 0;
        }
    }
    return 1;
}

/* The password rules (at most 72 bytes, at least password_min_length characters, not
 * one character repeated, not the username or the email address), before any date of
 * birth is compared. */
static int check_password(pm_req *q, const pm_op_token *m, const pm_settings *st,
                          const char *username, const char *password)
{
    size_t chars = password ? pm_utf8_length(password) : 0;

    if (password != NULL && strlen(password) > PASSWORD_MAX_BYTES) {
        return pm_http_unprocessable(q, "password_too_long",
                                     "Choose a password of at most 72 bytes: 72 plain letters and "
                                     "digits, fewer with accented letters or symbols.", "password");
    }
    if (password == NULL || !pm_utf8_valid(password, strlen(password), 0)
        || chars < (size_t)st->password_min_length
        || one_character_repeated(password)
        || strcasecmp(password, username) == 0
        || strcasecmp(password, pm_row_str(m->inv, TOKEN_EMAIL)) == 0) {
        return pm_http_unprocessable(q, "weak_password",
                                     apr_psprintf(q->r->pool, "Choose a password of at least %d "
                                     "characters that is not your username or email "
                                     "address, nor one character repeated.",
                                     (int)st->password_min_length),
                                     "password");
    }
    return PM_NEXT;
}

/* Everything that does not need the date of birth is checked before it, so these
 * answers say nothing about the date and count nothing. */
static int check_credentials(pm_req *q, const pm_op_token *m, const pm_settings *st,
                             const char *username, const char *password)
{
    if (!username_ok(username)) {
        return pm_http_unprocessable(q, "invalid_username",
                                     "Choose a username of 3 to 64 letters, digits, or . _ @ -",
                                     "username");
    }
    return check_password(q, m, st, username, password);
}

static int no_hash(pm_req *q)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, PM_LOGNO(00450)
                  "could not make a bcrypt hash (no randomness?)");
    return pm_http_send_error(q, HTTP_INTERNAL_SERVER_ERROR, "internal_error",
                              "Your password could not be saved. Please try again.", NULL);
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

/* The date of birth checked (its attempt reserved first): PM_NEXT, or the answer
 * already sent. */
static int verified_date(pm_req *q, pm_op_ctx *c, const pm_op_token *m, const char *dob)
{
    pm_op_attempt a;
    pm_op_outcome o;

    /* what can never match costs no try: a date the page would not send (03/08/1958) */
    if (dob == NULL || pm_birth_date_problem(dob, q->r->request_time) != NULL) {
        return pm_http_unprocessable(q, "invalid_date_of_birth", "The date of birth must be a "
                                     "real date written YYYY-MM-DD, for example 1958-03-08.",
                                     "date_of_birth");
    }

    if ((o = pm_op_verify_date(c, m, dob ? dob : "", &a)) != PM_OP_OK) {
        return refuse(q, m, o);
    }
    return a.matched ? PM_NEXT : verification_failed(q, m, &a);
}

/* The date of birth checked, then the new password's bcrypt hash: PM_NEXT with *hash,
 * or the answer already sent. Both /accept and /reset (m->reset picks the words of a
 * refusal). */
static int verified_hash(pm_req *q, pm_op_ctx *c, const pm_op_token *m, const char *dob,
                         const char *password, const char **hash)
{
    int rc;

    if ((rc = verified_date(q, c, m, dob)) != PM_NEXT) {
        return rc;
    }
    if ((*hash = bcrypt_hash(q->r->pool, password)) == NULL) {
        return no_hash(q);
    }
    return PM_NEXT;
}

#define LINK_NONE (PM_NEXT + 1)      /* accept_linked: no account to link, make one */

/* A wrong password for the account to join: one attempt, answered like a wrong date
 * of birth (the words name both, so neither is confirmed). */
static int link_refused(pm_req *q, pm_op_ctx *c, const pm_op_token *m)
{
    pm_op_attempt a;
    pm_op_outcome o;
    json_t *extra;

    if ((o = pm_op_link_failed(c, m, &a)) != PM_OP_OK) {
        return refuse(q, m, o);
    }
    if (a.locked) {
        return refuse(q, m, PM_OP_LOCKED);
    }
    extra = pm_json_object(q->r->pool);
    pm_json_set_int(extra, "tries_left", a.tries_left);
    return pm_http_send_error_with(q, HTTP_UNPROCESSABLE_ENTITY, "verification_failed",
                                   apr_psprintf(q->r->pool, "The username and password do not "
                                   "match an account you can add this client to. Check them, "
                                   "or choose a new username (%d %s left).", (int)a.tries_left,
                                   a.tries_left == 1 ? "try" : "tries"), "password", extra);
}

/* One login for a parent of two children in care: a representative's invitation to an
 * address that already has an active representative account, accepted with that
 * account's username and password, gives it this client too. LINK_NONE when the
 * username names no such account (a new account is made); otherwise answered. */
static int accept_linked(pm_req *q, pm_op_ctx *c, const pm_op_token *m, const char *username,
                         const char *password)
{
    apr_array_header_t *rows;
    const pm_row *acct;
    pm_op_outcome o;
    json_t *doc;

    if (pm_row_str(m->inv, TOKEN_REP_ID) == NULL) {
        return LINK_NONE;
    }
    if (pm_db_select(c->db, PM_SQL_ACCOUNT_LINKABLE, &rows, pm_row_str(m->inv, TOKEN_CLIENT_ID),
                     username, pm_row_str(m->inv, TOKEN_EMAIL)) != APR_SUCCESS) {
        return pm_http_db_unavailable(q);
    }
    if (rows->nelts == 0) {
        return LINK_NONE;
    }
    acct = pm_first_row(rows);
    if (apr_password_validate(password, pm_row_str(acct, LINK_PASSWORD_HASH)) != APR_SUCCESS) {
        return link_refused(q, c, m);
    }
    if (pm_row_int(acct, LINK_REACHES, 0) > 0) {
        return refuse(q, m, PM_OP_ALREADY_ACTIVE);
    }
    if (pm_row_int(acct, LINK_HOME_ACTIVE, 1) != 1) {
        return refuse(q, m, PM_OP_HOME_DISCHARGED);
    }
    o = pm_op_accept_linked(c, m, pm_row_int(acct, LINK_ACCOUNT_ID, 0));
    if (o == PM_OP_NOT_LINKABLE) {
        return LINK_NONE;        /* disabled meanwhile: answered as a disabled login is */
    }
    if (o != PM_OP_OK) {
        return refuse(q, m, o);
    }
    doc = pm_json_object(q->r->pool);
    pm_json_set_str(doc, "login_url", login_url_of(q));
    pm_json_set_bool(doc, "linked", 1);
    return pm_http_send_json(q, HTTP_CREATED, doc);
}

/* A taken username cost an attempt: the answer says how many are left, as a wrong
 * date of birth's does. */
static int username_taken(pm_req *q, const pm_op_attempt *a)
{
    json_t *extra = pm_json_object(q->r->pool);

    pm_json_set_int(extra, "tries_left", a->tries_left);
    return pm_http_send_error_with(q, HTTP_CONFLICT, "username_taken",
                                   apr_psprintf(q->r->pool, "That username is taken. Please "
                                   "choose another (%d %s left).", (int)a->tries_left,
                                   a->tries_left == 1 ? "try" : "tries"), "username", extra);
}

/* `existing_login`: true when the recipient says they already have a login to add
 * this client to (a representative's invitation only): PM_NEXT with *join set, or
 * the answer already sent. */
static int read_existing_login(pm_req *q, const pm_op_token *m, int *join)
{
    json_t *v = pm_http_body_field(q, "existing_login");

    if (v != NULL && !json_is_null(v) && !json_is_boolean(v)) {
        return pm_http_unprocessable(q, "invalid_existing_login",
                                     "existing_login must be true or false.", "existing_login");
    }
    *join = json_is_true(v);
    if (*join && pm_row_str(m->inv, TOKEN_REP_ID) == NULL) {
        return pm_http_unprocessable(q, "existing_login_not_allowed", "A client's own "
                                     "invitation creates a login of its own; it cannot be "
                                     "added to another login.", "existing_login");
    }
    return PM_NEXT;
}

/* The password of a login the recipient already has: the rules for a new one do not
 * apply to it (the practice may have raised the length since it was chosen). */
static int check_existing_password(pm_req *q, const char *username, const char *password)
{
    if (!username_ok(username)) {
        return pm_http_unprocessable(q, "invalid_username", "Enter the username of your "
                                     "portal login.", "username");
    }
    if (password == NULL || *password == '\0' || strlen(password) > PASSWORD_MAX_BYTES) {
        return pm_http_unprocessable(q, "invalid_password", "Enter the password of your "
                                     "portal login.", "password");
    }
    return PM_NEXT;
}

static int post_accept(pm_req *q)
{
    pm_op_ctx c;
    pm_op_token m;
    pm_settings st;
    const char *dob = body_string(q, "date_of_birth");
    const char *username = body_string(q, "username");
    const char *password = body_string(q, "password");
    const char *hash;
    pm_op_attempt a;
    pm_op_outcome o;
    json_t *doc;
    int rc, join = 0;

    if ((rc = resolve_kind(q, accept_fields, 0, &c, &m)) != PM_NEXT
        || (rc = read_existing_login(q, &m, &join)) != PM_NEXT
        || (rc = pm_api_load_settings(q, &st)) != PM_NEXT
        || (rc = join ? check_existing_password(q, username, password)
                      : check_credentials(q, &m, &st, username, password)) != PM_NEXT) {
        return rc;
    }
    if ((rc = verified_date(q, &c, &m, dob)) != PM_NEXT
        || (rc = accept_linked(q, &c, &m, username, password)) != LINK_NONE) {
        return rc;
    }
    if (join) {      /* no login of that username at this address: a wrong guess */
        return link_refused(q, &c, &m);
    }
    if ((hash = bcrypt_hash(q->r->pool, password)) == NULL) {
        return no_hash(q);
    }
    if ((o = pm_op_accept(&c, &m, username, hash, &a)) == PM_OP_USERNAME_TAKEN) {
        return username_taken(q, &a);
    }
    if (o != PM_OP_OK) {
        return refuse(q, &m, o);
    }
    doc = pm_json_object(q->r->pool);
    pm_json_set_str(doc, "login_url", login_url_of(q));
    pm_json_set_bool(doc, "linked", 0);
    return pm_http_send_json(q, HTTP_CREATED, doc);
}

/* ---- POST /decline ------------------------------------------------------------------ */

static int post_decline(pm_req *q)
{
    pm_op_ctx c;
    pm_op_token m;
    pm_op_outcome o;
    json_t *doc;
    int rc;

    if ((rc = resolve_kind(q, lookup_fields, 0, &c, &m)) != PM_NEXT) {
        return rc;
    }
    if ((o = pm_op_decline(&c, &m)) != PM_OP_OK) {
        return refuse(q, &m, o);
    }
    doc = pm_json_object(q->r->pool);
    pm_json_set_bool(doc, "declined", 1);
    return pm_http_send_json(q, HTTP_OK, doc);
}

/* ---- POST /reset ---------------------------------------------------------------------- */

/* A password reset link: the date of birth (the same budgets and lock as an
 * invitation's), then the new password replaces the old one at once. */
static int post_reset(pm_req *q)
{
    pm_op_ctx c;
    pm_op_token m;
    pm_settings st;
    const char *dob = body_string(q, "date_of_birth");
    const char *password = body_string(q, "password");
    const char *hash;
    pm_op_outcome o;
    json_t *doc;
    int rc;

    if ((rc = resolve_kind(q, reset_fields, 1, &c, &m)) != PM_NEXT
        || (rc = pm_api_load_settings(q, &st)) != PM_NEXT
        || (rc = check_password(q, &m, &st, pm_row_str(m.inv, TOKEN_USERNAME), password))
           != PM_NEXT) {
        return rc;
    }
    if ((rc = verified_hash(q, &c, &m, dob, password, &hash)) != PM_NEXT) {
        return rc;
    }
    if ((o = pm_op_reset_password(&c, &m, hash)) != PM_OP_OK) {
        return refuse(q, &m, o);
    }
    doc = pm_json_object(q->r->pool);
    pm_json_set_str(doc, "login_url", login_url_of(q));
    pm_json_set_str(doc, "username", pm_row_str(m.inv, TOKEN_USERNAME));
    return pm_http_send_json(q, HTTP_OK, doc);
}

static const pm_route recipient_routes[] = {
    { "POST", "/lookup", post_lookup },
    { "POST", "/accept", post_accept },
    { "POST", "/decline", post_decline },
    { "POST", "/reset", post_reset },
    { NULL, NULL, NULL, 0 }
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
