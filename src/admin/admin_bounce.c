/* admin_bounce.c — `portal-manager-admin bounce`: one returned message on standard
 * input (as a Postfix pipe transport or alias delivers it) recorded on the outbox row
 * its VERP recipient names. Whatever is not a bounce of ours is logged and dropped. */
#include "admin.h"
#include "pm_audit_chain.h"
#include "pm_bounce.h"
#include "pm_columns.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define MAX_MESSAGE (10 * 1024 * 1024)   /* a bounce quotes at most the original */
#define MIN_SECRET 32                    /* as PortalTokenSecretFile */

/* One line on standard error and in the mail log: what happened, never an address
 * or the message's text */
static void note(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(int priority, const char *fmt, ...)
{
    va_list ap;
    char line[300];

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    syslog(priority, "%s", line);
    fprintf(stderr, "portal-manager-admin bounce: %s\n", line);
}

static apr_status_t free_buffer(void *buf)
{
    free(buf);
    return APR_SUCCESS;
}

static int read_stdin(apr_pool_t *p, char **buf, apr_size_t *len)
{
    apr_file_t *in;
    apr_size_t cap = 64 * 1024, n;
    apr_status_t rv = APR_SUCCESS;

    if (apr_file_open_stdin(&in, p) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    *buf = malloc(cap + 1);
    *len = 0;
    while (*buf && rv == APR_SUCCESS && *len < MAX_MESSAGE) {
        if (*len == cap) {
            char *bigger = realloc(*buf, cap * 2 + 1);
            if (bigger == NULL) {
                break;
            }
            *buf = bigger;
            cap *= 2;
        }
        n = cap - *len;
        rv = apr_file_read(in, *buf + *len, &n);
        *len += n;
    }
    if (*buf == NULL) {
        return ADMIN_FAIL;
    }
    (*buf)[*len] = '\0';
    apr_pool_cleanup_register(p, *buf, free_buffer, apr_pool_cleanup_null);
    return ADMIN_OK;
}

/* The secret file's first line, as the module reads PortalTokenSecretFile. NULL,
 * said on stderr, when the admin has to fix something (the pipe's user, the file) */
static const char *read_secret(apr_pool_t *p, const char *path)
{
    char *buf, msg[256];
    apr_size_t len;
    apr_status_t rv;

    if (path == NULL) {
        admin_error("bounce needs --secret-file (the file of PortalTokenSecretFile)");
        return NULL;
    }
    if ((rv = admin_read_file(p, path, &buf, &len)) != APR_SUCCESS) {
        admin_error("cannot read %s: %s (the MTA keeps the bounce and retries; run the "
                    "pipe as a user that may read it: README, Bounces)", path,
                    apr_strerror(rv, msg, sizeof(msg)));
        return NULL;
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    if (strlen(buf) < MIN_SECRET) {
        admin_error("%s must hold at least %d characters", path, MIN_SECRET);
        return NULL;
    }
    return buf;
}

/* --recipient, else what Postfix's local delivery puts in the environment, else
 * the headers an MTA adds on delivery */
static const char *bounce_recipient(apr_pool_t *p, const admin_options *o, const char *msg,
                                    apr_size_t len)
{
    static const char *const envs[] = { "ORIGINAL_RECIPIENT", "RECIPIENT" };
    static const char *const headers[] = { "X-Original-To", "Delivered-To", "To" };
    const char *r = o->recipient;
    size_t i;

    for (i = 0; r == NULL && i < sizeof(envs) / sizeof(envs[0]); i++) {
        r = getenv(envs[i]);
    }
    for (i = 0; r == NULL && i < sizeof(headers) / sizeof(headers[0]); i++) {
        r = pm_bounce_header(p, msg, len, headers[i]);
    }
    return r;
}

static const char **audit_row(apr_pool_t *p, const pm_row *target, const char *kind,
                              const char *status)
{
    const char **row = apr_pcalloc(p, PM_AUDIT_FIELDS * sizeof(*row));

    row[0] = apr_psprintf(p, "%" APR_INT64_T_FMT, admin_now());
    row[1] = "system";
    row[2] = "email.bounced";
    row[3] = pm_row_str(target, BOUNCE_CLIENT_ID);
    row[4] = pm_row_str(target, BOUNCE_OUTBOX_ID);
    row[5] = "ok";
    row[6] = apr_psprintf(p, "{\"type\":\"%s\",\"status\":\"%s\"%s}", kind,
                          status ? status : "",
                          strcmp(pm_row_str(target, BOUNCE_PURPOSE), "address_notice") == 0
                          ? ",\"purpose\":\"address_notice\"" : "");
    return row;
}

/* The bounce on its row and in the audit trail, in one transaction. 1 recorded,
 * 0 nothing to do (unknown row, or a soft one after a hard one), -1 database */
static int record(admin_db *db, apr_pool_t *p, long long id, const pm_bounce_report *r)
{
    const char *kind = pm_bounce_kind_name(r->kind);
    apr_array_header_t *rows;
    const pm_row *target;
    const char *const *audit[1];
    int affected = 0;

    if (admin_db_begin(db) != ADMIN_OK) {
        return -1;
    }
    if (pm_db_select(db->exec, PM_SQL_BOUNCE_TARGET, &rows, pm_arg_int(p, id)) != APR_SUCCESS
        || ((target = pm_first_row(rows)) != NULL
            && pm_db_exec(db->exec, PM_SQL_BOUNCE_RECORD, &affected, kind,
                          pm_arg_int(p, admin_now()), r->reason, pm_arg_int(p, id))
               != APR_SUCCESS)) {
        admin_db_rollback(db);
        return -1;
    }
    if (target == NULL || affected == 0) {
        admin_db_rollback(db);
        return 0;
    }
    audit[0] = audit_row(p, target, kind, r->status);
    if (pm_audit_chain_append(db->exec, p, audit, 1) != APR_SUCCESS
        || admin_db_commit(db) != ADMIN_OK) {
        admin_db_rollback(db);
        return -1;
    }
    return 1;
}

/* Exit 0 for whatever was read (recorded or dropped: Postfix must not bounce a
 * bounce), ADMIN_TEMPFAIL when the database failed or the secret cannot be had
 * (Postfix keeps it and retries until the admin's fix). */
int admin_cmd_bounce(admin_db *db, const admin_options *o)
{
    apr_pool_t *p = db->pool;
    const char *secret = read_secret(p, o->secret_file), *rcpt;
    pm_bounce_report r;
    long long id = 0;
    char *msg;
    apr_size_t len;
    int done;

    if (secret == NULL || read_stdin(p, &msg, &len) != ADMIN_OK) {
        return ADMIN_TEMPFAIL;
    }
    openlog("portal-manager-admin", LOG_PID, LOG_MAIL);
    rcpt = bounce_recipient(p, o, msg, len);
    switch (pm_bounce_verp_id((const unsigned char *)secret, strlen(secret), NULL, rcpt, &id)) {
    case PM_VERP_NOT_OURS:
        note(LOG_NOTICE, "ignored: the recipient names no email of ours");
        return ADMIN_OK;
    case PM_VERP_BAD_MAC:
        note(LOG_WARNING, "ignored: forged bounce address (wrong MAC)");
        return ADMIN_OK;
    case PM_VERP_OK:
        break;
    }
    pm_bounce_read(p, msg, len, &r);
    if (r.kind == PM_BOUNCE_NONE || r.kind == PM_BOUNCE_AUTOREPLY) {
        note(LOG_INFO, "outbox %lld: ignored: %s", id,
             r.kind == PM_BOUNCE_NONE ? "not a bounce" : "an automatic reply");
        return ADMIN_OK;
    }
    if ((done = record(db, p, id, &r)) < 0) {
        note(LOG_ERR, "outbox %lld: the database failed; try again later", id);
        return ADMIN_TEMPFAIL;
    }
    note(LOG_INFO, "outbox %lld: %s bounce %s%s", id, pm_bounce_kind_name(r.kind),
         r.status ? r.status : "without a code",
         done ? "" : " (not recorded: no such email, or it bounced hard before)");
    printf("outbox %lld: %s%s\n", id, done ? "" : "unchanged, ", pm_bounce_kind_name(r.kind));
    return ADMIN_OK;
}
