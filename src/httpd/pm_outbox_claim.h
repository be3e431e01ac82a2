/* pm_outbox_claim.h — the delivery worker's hold on its rows: a pass claims a batch
 * under its own claim token, renews the lease before each message, records each
 * outcome right after its SMTP reply (retried while the database is briefly away)
 * and gives back what it did not send. Every statement names the claim token. */
#ifndef PM_OUTBOX_CLAIM_H
#define PM_OUTBOX_CLAIM_H

#include "pm_common.h"
#include "pm_db.h"
#include "pm_mail_smtp.h"

/* "outbox N: " at the start of a log line (N an apr_int64_t) */
#define PM_OUTBOX_LOG "outbox %" APR_INT64_T_FMT ": "

/* One pass of the worker. */
typedef struct {
    server_rec *s;
    apr_pool_t *p;
    const char *claim;            /* random per pass: whose rows these are */
    int timeout_sec;              /* the effective PortalMailTimeout */
    int lease_sec;                /* what one message may take, plus the outcome's retries */
    long long renewed_at;         /* when the lease of all its rows was last set */
} pm_outbox_pass;

/* One email of a pass. */
typedef struct {
    pm_outbox_pass *pass;
    const pm_row *row;            /* its claimed row (PM_SQL_OUTBOX_DUE) */
    const char *token;            /* the link's token; NULL for a test email */
    long long outbox_id, invitation_id;
    int attempts;                 /* this attempt's number */
    pm_mail_message msg;
    pm_send_result result;
    pm_data_state data;
    int counted;                  /* send_count was raised when DATA started */
    const char *error;
} pm_delivery;

/* A pass with a new claim token and the lease from the effective settings. */
int pm_outbox_pass_init(pm_outbox_pass *ps, server_rec *s, apr_pool_t *p);

/* Seconds a worker waits for the pass in progress when its child exits. */
int pm_outbox_stop_wait_sec(server_rec *s);

/* Claims up to max due rows for the pass; returns how many, -1 when the database
 * did not answer. */
int pm_outbox_claim(pm_outbox_pass *ps, pm_db *db, int max);

/* Before a message: charge the attempt, store its Message-ID and renew its lease,
 * and every few seconds (RENEW_EVERY_SEC) the lease of all the pass's rows; 1 when the pass
 * still holds the row (and, at a renewal, all `remaining` rows). */
int pm_outbox_hold(pm_outbox_pass *ps, const pm_delivery *d, int remaining);

/* Give back the pass's unsent rows (no backoff); refund_id's attempt (0: none)
 * is taken back; reason (or NULL) is what staff see meanwhile. */
void pm_outbox_release(pm_outbox_pass *ps, long long refund_id, const char *reason);

/* A row the pass could not prepare: due again at once, unclaimed. */
void pm_outbox_give_back(pm_db *db, pm_outbox_pass *ps, long long outbox_id);

/* A row that will not be sent: failed with why (on a row the pass holds). */
void pm_outbox_give_up(pm_db *db, pm_outbox_pass *ps, long long outbox_id, const char *why);

/* The on_data callback of a message (ctx: its pm_delivery): counts the send. */
void pm_outbox_count_send(void *ctx);

/* Records d's outcome, retrying while the database is away; 0 when it could not
 * be recorded (logged: the lease runs out and the same link is sent again). With
 * hold_next, the same transaction is that message's hold (pm_outbox_hold);
 * *next_held: it found all next_remaining rows. */
int pm_outbox_record(pm_outbox_pass *ps, pm_delivery *d, const pm_delivery *hold_next,
                     int next_remaining, int *next_held);

#endif
