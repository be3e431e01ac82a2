/* pm_op.h — the operations layer under the API handlers: invitation, client,
 * representative, recipient and settings operations. Each runs its whole
 * transaction (row lock, checks, writes, audit row) and returns an outcome;
 * none writes HTTP. The handlers map outcomes to answers (pm_api_outcome.c). */
#ifndef PM_OP_H
#define PM_OP_H

#include "pm_api.h"
#include "pm_settings.h"
#include "pm_store.h"

typedef enum pm_op_outcome {
    PM_OP_OK = 0,
    PM_OP_DB_UNAVAILABLE,       /* any database failure */
    PM_OP_NO_CLIENT,            /* not there, or not visible to this staff member */
    PM_OP_NO_INVITATION,
    PM_OP_NO_REPRESENTATIVE,
    PM_OP_ALREADY_ACTIVE,       /* the recipient has an active portal account */
    PM_OP_NO_EMAIL,
    PM_OP_DECLINED,             /* the client declined the portal */
    PM_OP_PENDING,              /* an invitation is already on its way */
    PM_OP_NOT_PENDING,          /* the invitation is no longer open */
    PM_OP_CHANGED_MEANWHILE,    /* it stopped being open while the request waited */
    PM_OP_LOCKED,               /* too many wrong dates of birth */
    PM_OP_ADDRESS_CHANGED,      /* sent to an address no longer on file */
    PM_OP_EMAIL_BOUNCED,        /* an email to this address bounced (hard): change it first */
    PM_OP_SEND_LIMIT,
    PM_OP_TOO_SOON,             /* resend cooldown; the result says how long */
    PM_OP_REPS_DISABLED,
    PM_OP_DUPLICATE,            /* the client has a representative with that email */
    PM_OP_ACCOUNT_ACTIVE,       /* "declined" needs disable_account: true */
    PM_OP_INVALID_TOKEN,
    PM_OP_EXPIRED,
    PM_OP_SUPERSEDED,
    PM_OP_REVOKED,
    PM_OP_ANSWERED,             /* accepted already (a reset link: used) */
    PM_OP_ANSWERED_DECLINED,    /* the recipient declined it already */
    PM_OP_VERIFY_FAILED,        /* the date of birth did not match */
    PM_OP_USERNAME_TAKEN,
    PM_OP_NO_BODY,              /* settings: nothing to change */
    PM_OP_UNKNOWN_SETTING,
    PM_OP_INVALID_SETTING,
    PM_OP_DISCHARGED,           /* the client was discharged (clients.active = 0) */
    PM_OP_NO_ACCOUNT,           /* no portal account, or its client is not visible */
    PM_OP_ALREADY_DISABLED,     /* disabling an account that is disabled */
    PM_OP_ALREADY_ENABLED,      /* enabling an account that is active */
    PM_OP_REP_REMOVED,          /* the account's representative was removed */
    PM_OP_ACCOUNT_DISABLED,     /* a password reset for a disabled account */
    PM_OP_WRONG_KIND,           /* a reset link used to accept, or an invitation to reset */
    PM_OP_SCOPE_OFF,            /* a scope whose module is off in the settings */
    PM_OP_BAD_DATES,            /* access that ends before it starts */
    PM_OP_HOME_DISCHARGED,      /* linking: the account's own client is discharged */
    PM_OP_NOT_STAFF,            /* the staff member was disabled while the request waited */
    PM_OP_ACCESS_ENDED,         /* inviting a representative whose access has ended */
    PM_OP_NEEDS_A_LOOK,         /* a bulk invite of a client whose last invitation was locked
                                 * or declined: staff reinvite on the client's own page */
    PM_OP_ADDRESSES_DIFFER,     /* a reset for a login whose clients' records give its person
                                 * different addresses */
    PM_OP_UNSEEN_CLIENTS,       /* enabling a login that reaches clients the caller cannot see */
    PM_OP_HAS_ACCOUNT,          /* accepting: the recipient already has an active account */
    PM_OP_NOT_LINKABLE,         /* linking: the login was disabled while the request ran */
    PM_OP_OUTCOMES              /* how many there are */
} pm_op_outcome;

/* The stable name of an outcome ("ok", "no_client" ...), for tests and logs
 * (pm_api_outcome.c). */
const char *pm_op_outcome_name(pm_op_outcome o);

/* What every operation works with: the request's database handle (transactions
 * run on it), pool, staff member (NULL on the recipient API), clock and, once
 * pm_op_settings has read them, the portal settings. `q` is kept for the audit
 * trail (pm_audit) and the server; operations never answer through it. */
typedef struct pm_op_ctx {
    pm_req *q;
    pm_db *db;
    apr_pool_t *pool;
    const pm_staff *staff;
    long long now;
    pm_settings st;
    int have_settings;
    int queued_mail;              /* the transaction queued email: wake the worker after commit */
    int bulk;                     /* invite selected: no reinvite that needs a look first */
} pm_op_ctx;

void pm_op_ctx_init(pm_op_ctx *c, pm_req *q);
/* Reads the settings into c->st (once). */
pm_op_outcome pm_op_settings(pm_op_ctx *c);
/* The row of a client-scoped object (stmt: PM_SQL_{CLIENT,INVITATION,REP,ACCOUNT}_GET_VISIBLE)
 * if this staff member may see its client; otherwise NO_{CLIENT,INVITATION,
 * REPRESENTATIVE,ACCOUNT} and, unless action is NULL (a re-read), an audit row "denied". */
pm_op_outcome pm_op_load_visible(pm_op_ctx *c, pm_sql_id stmt, long long id,
                                 const char *action, const struct pm_row **out);
/* The same, every visible row (an account: one per client it reaches that this staff
 * member may see, its own client's first). */
pm_op_outcome pm_op_load_visible_rows(pm_op_ctx *c, pm_sql_id stmt, long long id,
                                      const char *action, apr_array_header_t **out);
/* Begins a transaction that changes a client's invitations, holding the
 * client's row lock (PostgreSQL) from the start. */
pm_op_outcome pm_op_begin_client_txn(pm_op_ctx *c, long long client_id);
/* Audits `action` as ok and commits. */
pm_op_outcome pm_op_finish(pm_op_ctx *c, const char *action, long long client_id,
                           long long object_id, json_t *detail);

/* ---- invitations (pm_op_invitation.c) ---- */

/* What became of the notice of an address change (issue 14). */
typedef enum {
    PM_NOTICE_NONE,               /* none due: the same address, or no active account */
    PM_NOTICE_QUEUED,             /* queued to the old address */
    PM_NOTICE_WITHHELD            /* due, but staff withheld it (notify_old_address false) */
} pm_notice;

/* Inside the caller's client transaction, before the new address is stored: queue
 * the notice of an address change to the address on file (of_rep: a representative's
 * id, else a client's), when it differs from new_email (NULL: none) and the person
 * has an active portal account (issue 14); with notify 0 (an old address someone
 * else may read) nothing is queued and *notice says whether one was withheld. A
 * queued notice wakes the worker after the commit. */
apr_status_t pm_op_queue_address_notice(pm_op_ctx *c, int of_rep, long long person_id,
                                        const char *new_email, int notify, pm_notice *notice);
/* The change's audit detail: old_address_notified or old_address_notice_withheld. */
void pm_op_note_address_notice(json_t *detail, pm_notice notice);

/* Inside the caller's client transaction: supersede a stale earlier invitation,
 * insert the new one, retire earlier tokens, queue its email. *id = 0 (and OK)
 * when the unique index says one is already pending. */
pm_op_outcome pm_op_create_invitation(pm_op_ctx *c, long long client_id, long long rep_id,
                                      const char *email, long long *id);
/* Invite (or reinvite) a client: *id is the new invitation. */
pm_op_outcome pm_op_invite_client(pm_op_ctx *c, long long client_id, long long *id);
/* Inside the caller's client transaction: a password reset link of account_id to
 * its person (the same steps; kind 'reset', valid for pm_op_reset_ttl). */
pm_op_outcome pm_op_create_reset(pm_op_ctx *c, long long client_id, long long rep_id,
                                 const char *email, long long account_id, long long *id);
/* A reset link's life: PM_RESET_TTL_HOURS, or invitation_ttl_hours when shorter
 * (seconds; needs the settings read). */
#define PM_RESET_TTL_HOURS 24
long long pm_op_reset_ttl(const pm_op_ctx *c);
/* The send limit and the cooldown of sending a pending link again, from its row
 * (PM_COLS_VISIBLE_INV) read in the transaction: SEND_LIMIT, TOO_SOON (*wait
 * seconds) or OK. */
pm_op_outcome pm_op_resend_allowed(pm_op_ctx *c, const struct pm_row *inv, long long *wait);
/* Re-arms a pending link with `stmt` (PM_SQL_INVITATION_RESEND or PM_SQL_RESET_REARM:
 * new expiry now + ttl, earlier token retired) and queues it again;
 * CHANGED_MEANWHILE when the statement found it no longer open. */
pm_op_outcome pm_op_rearm(pm_op_ctx *c, pm_sql_id stmt, long long invitation_id, long long ttl);
/* Resend a pending invitation; TOO_SOON sets *wait (seconds). */
pm_op_outcome pm_op_resend(pm_op_ctx *c, long long invitation_id, long long *wait);
pm_op_outcome pm_op_revoke(pm_op_ctx *c, long long invitation_id);

/* ---- one client's changes (pm_op_client.c) ---- */

/* A new email address supersedes the pending invitations sent to the old one;
 * notify_old_address 0 withholds the notice of the change to the old address. */
pm_op_outcome pm_op_client_set_email(pm_op_ctx *c, long long client_id, const char *email,
                                     int notify_old_address);
/* "Client declined" (note may be NULL): revokes pending invitations; an active
 * account of the client's own is disabled only with disable_account. */
pm_op_outcome pm_op_client_set_declined(pm_op_ctx *c, long long client_id, const char *note,
                                        int disable_account);
pm_op_outcome pm_op_client_clear_declined(pm_op_ctx *c, long long client_id);
pm_op_outcome pm_op_client_set_preferences(pm_op_ctx *c, long long client_id,
                                           int statement_notifications);

/* ---- portal accounts (pm_op_account.c) ---- */

/* Disable an active account (reason may be NULL; kept on the account, never in the
 * audit trail). *client_id: in, the client whose card asks (0: the account's own
 * client when visible, else the first it reaches that is); out, that client. A login
 * that also reaches other clients is not turned off: that client's grant ends, the
 * reason kept on the grant (ACCESS_ENDED when it already has). */
pm_op_outcome pm_op_account_disable(pm_op_ctx *c, long long account_id, const char *reason,
                                    long long *client_id);
/* Enable a disabled account, unless its person may not have one now (representative
 * removed, client discharged or declined, another active account). */
pm_op_outcome pm_op_account_enable(pm_op_ctx *c, long long account_id, long long *client_id);
/* Email the account's person a password reset link: a new one, or the open one
 * again (cooldown: TOO_SOON with *wait; SEND_LIMIT). ACCOUNT_DISABLED, NO_EMAIL,
 * PENDING (an invitation to the person is open). Audited without the address. */
pm_op_outcome pm_op_account_reset(pm_op_ctx *c, long long account_id, long long *client_id,
                                  long long *wait);

/* ---- representatives (pm_op_representative.c) ---- */

typedef struct pm_op_rep {
    const char *email, *first_name, *last_name, *relationship;
    const char *preferred_language;     /* NULL: the practice's default_language */
    int language_given;                 /* an update: preferred_language was sent */
    const char *scopes;                 /* stored form (pm_scopes.h); NULL: not sent */
    const char *starts_on, *ends_on;    /* access dates, YYYY-MM-DD; NULL: open */
    int starts_given, ends_given;       /* an update: the date was sent (null clears it) */
    int notify_old_address;             /* an update: tell the old address of a new one */
} pm_op_rep;

/* Create a representative and invite it, in one transaction; in->scopes becomes
 * what was stored (the enabled scopes when it was not sent). */
pm_op_outcome pm_op_rep_create(pm_op_ctx *c, long long client_id, pm_op_rep *in,
                               long long *rep_id, long long *invitation_id);
/* Change the fields `in` sets (the others are filled in from the row); a new
 * email supersedes pending invitations. *client_id: the representative's client. */
pm_op_outcome pm_op_rep_update(pm_op_ctx *c, long long rep_id, pm_op_rep *in,
                               long long *client_id);
pm_op_outcome pm_op_rep_invite(pm_op_ctx *c, long long rep_id, long long *invitation_id);
/* Revoke open invitations, disable accounts, remove. */
pm_op_outcome pm_op_rep_remove(pm_op_ctx *c, long long rep_id, long long *client_id);

/* ---- the recipient's link (pm_op_recipient.c) ---- */

typedef struct pm_op_token {
    const struct pm_row *inv;   /* the invitation, pending and unexpired */
    const char *hash;           /* SHA-256 of the token */
    int named;                  /* the token names an invitation, usable or not */
    const char *language;       /* then its recipient's own preferred_language (or NULL) */
    int reset;                  /* set by resolve: a password reset link (kind 'reset'),
                                 * also when it is refused */
} pm_op_token;

/* What a reserved date-of-birth attempt found. */
typedef struct pm_op_attempt {
    int matched;                /* the date of birth is the client's */
    int locked;                 /* this invitation is locked now */
    long long tries_left;       /* unsuccessful attempts still allowed */
} pm_op_attempt;

/* Finds the pending, unexpired invitation of t->hash, or says why it is not
 * usable (INVALID_TOKEN, EXPIRED, ADDRESS_CHANGED, SUPERSEDED, REVOKED, LOCKED,
 * ANSWERED). */
pm_op_outcome pm_op_token_resolve(pm_op_ctx *c, pm_op_token *t);
/* Reserves a date-of-birth attempt and compares the date (OK with *a filled in:
 * a->matched or not), or says why the link stopped being usable. */
pm_op_outcome pm_op_verify_date(pm_op_ctx *c, const pm_op_token *t, const char *dob,
                                pm_op_attempt *a);
/* Consumes the token and creates the account (bcrypt hash); a taken username
 * costs an attempt (USERNAME_TAKEN with *a's tries_left, or the outcome that
 * attempt met); HAS_ACCOUNT (nothing consumed) when the recipient has an active
 * account already. */
pm_op_outcome pm_op_accept(pm_op_ctx *c, const pm_op_token *t, const char *username,
                           const char *hash, pm_op_attempt *a);
/* Consumes a representative's invitation and gives an existing account (the same
 * person's login for another client) a grant on this client, as this representative;
 * NOT_LINKABLE (nothing consumed) when that login is no longer active. */
pm_op_outcome pm_op_accept_linked(pm_op_ctx *c, const pm_op_token *t, long long account_id);
/* A wrong password for the account a link was to join: costs an attempt, as a wrong
 * date of birth does. */
pm_op_outcome pm_op_link_failed(pm_op_ctx *c, const pm_op_token *t, pm_op_attempt *a);
pm_op_outcome pm_op_decline(pm_op_ctx *c, const pm_op_token *t);
/* Consumes a reset link and sets its account's password (bcrypt hash); REVOKED
 * when the account was disabled meanwhile. */
pm_op_outcome pm_op_reset_password(pm_op_ctx *c, const pm_op_token *t, const char *hash);

/* ---- a staff member's own preferences (pm_op_staff.c) ---- */

/* Sets the caller's staff.notify ("none", "immediate" or "daily", checked by the
 * caller), audited "staff.preferences" with detail {before, after}. */
pm_op_outcome pm_op_staff_set_notify(pm_op_ctx *c, const char *notify);

/* ---- settings (pm_op_settings.c) ---- */

/* One value of a PUT body that its definition refuses: the setting, and why
 * (pm_setting_problem's words, "must be ..."). */
typedef struct pm_op_setting_problem {
    const char *key;
    const char *problem;
} pm_op_setting_problem;

/* Checks a PUT body: NO_BODY; UNKNOWN_SETTING with *key the first name that is not a
 * setting (looked for before any value is checked); INVALID_SETTING with *problems
 * every refused value (pm_op_setting_problem), in the body's order; or OK. */
pm_op_outcome pm_op_settings_check(json_t *body, int insecure_ok, apr_pool_t *p,
                                   const char **key, apr_array_header_t **problems);
/* Stores the body's values (null: back to the default) in one transaction,
 * audited; a new collation_locale refreshes the client sort keys. */
pm_op_outcome pm_op_settings_store(pm_op_ctx *c, json_t *body);

/* ---- answers (pm_api_outcome.c): one table per handler file ---- */

typedef struct pm_api_answer {
    pm_op_outcome outcome;
    const char *when;           /* only for this operation's answer; NULL: any */
    int status;
    const char *code;
    const char *message;
    const char *field;          /* the field the error names, or NULL */
} pm_api_answer;

/* the message of PM_OP_DISCHARGED, wherever an invitation is refused for it */
#define PM_API_DISCHARGED "This client is discharged (no longer active in the practice's " \
    "records), so no invitation can be sent. If they return, the next roster sync makes " \
    "them active again."

/* The row of `table` (ended by a row with code NULL) for outcome o of operation
 * `when`: a row naming `when` first, then one for any operation; NULL if none. */
const pm_api_answer *pm_api_answer_find(const pm_api_answer *table, const char *when,
                                        pm_op_outcome o);
/* An "invite" button (no body; pm_api_invitations.c): runs op on the route's id and
 * answers 201 with the new invitation, or the error `answers` gives the outcome (as
 * operation "invite"). */
typedef pm_op_outcome (*pm_op_invite_fn)(pm_op_ctx *c, long long id, long long *invitation_id);
int pm_api_invite_with(pm_req *q, pm_op_invite_fn op, const pm_api_answer *answers);
/* 429 resend_too_soon with Retry-After: the cooldown has `wait` seconds to go. */
int pm_api_resend_too_soon(pm_req *q, long long wait);

/* Sends the error its row says; DB_UNAVAILABLE is always the 503, an outcome
 * without a row a 500 internal_error (logged). */
int pm_api_send_outcome(pm_req *q, const pm_api_answer *table, const char *when,
                        pm_op_outcome o);

#endif
