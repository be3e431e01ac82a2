/* pm_outbox.h — the delivery worker: one mod_watchdog thread per child, the one in
 * the child holding the worker's seat (pm_outbox_wake.c) drains the
 * outbox table through SMTP and records each outcome. */
#ifndef PM_OUTBOX_H
#define PM_OUTBOX_H

#include "pm_common.h"
#include "pm_settings.h"
#include "pm_mail_smtp.h"

/* The sample recipient of previews and test emails, and a test email's link
 * fragment (43 characters would look like a token; this one never matches). */
#define PM_SAMPLE_FIRST_NAME  "Alex"
#define PM_TEST_LINK_FRAGMENT "#t=TEST-EMAIL-THIS-LINK-DOES-NOT-WORK"

/* post_config: curl_global_init and the watchdog callback. */
int pm_outbox_register(apr_pool_t *pconf, server_rec *s);

/* child_init: stop the worker cleanly when the child exits. */
void pm_outbox_child_init(apr_pool_t *pchild, server_rec *s);

/* the child's last child_init hook: from here on the worker may run */
void pm_outbox_child_ready(apr_pool_t *pchild, server_rec *s);

/* Subject, text and HTML of an invitation email exactly as the worker sends it, in
 * language lang (the practice's own texts for `kind` in lang, else the catalog's),
 * its date in the practice's time zone. */
void pm_outbox_render(apr_pool_t *p, server_rec *s, const pm_settings *st, const char *kind,
                      const char *lang, const char *first_name, const char *link,
                      long long expires_at, const char **subject, const char **text,
                      const char **html);

/* A moment as the emails state it: lang's words in the practice's time zone. */
const char *pm_outbox_date_time(apr_pool_t *p, const pm_settings *st, const char *lang,
                                long long unix_seconds);

/* An SMTP sender with the Portal* mail directives (closed when p is cleared). */
pm_smtp *pm_outbox_open_smtp(server_rec *s, apr_pool_t *p, int timeout_sec);

/* A new Message-ID for an outbox row, "<random@domain-of-From>". */
const char *pm_outbox_message_id(apr_pool_t *p, server_rec *s);

#endif
