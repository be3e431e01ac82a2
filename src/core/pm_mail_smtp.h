/* pm_mail_smtp.h — sending one batch of invitation emails over SMTP with libcurl:
 * one connection reused for the batch, STARTTLS policy, AUTH, timeouts, and a
 * classification of each outcome (sent / retry later / failed for good). */
#ifndef PM_MAIL_SMTP_H
#define PM_MAIL_SMTP_H

#include <apr_pools.h>
#include <apr_time.h>

#include "pm_mail_format.h"

typedef struct {
    const char *server_url;       /* smtp://host:port or smtps://host:port */
    int tls_mode;                 /* pm_tls_mode */
    const char *user, *password;  /* NULL: no AUTH */
    long timeout_sec;             /* whole transaction */
    const char *from_name, *from_addr;
    const char *helo_host;        /* EHLO name; NULL: libcurl's default (gethostname) */
    const char *ca_file, *ca_path;  /* NULL: the system's CA store */
} pm_smtp_conf;

typedef struct {
    const char *to_name, *to_addr;
    const char *subject, *text, *html;
    const char *message_id;       /* "<id@host>", stable across retries */
    const pm_mail_image *logo;    /* inline image for the HTML part, or NULL */
    apr_time_t date;
} pm_mail_message;

typedef enum {
    PM_SEND_OK = 0,
    PM_SEND_RETRY,                /* connect error, timeout, 4xx: try again later */
    PM_SEND_FAILED,               /* 5xx or a message that can never be sent */
    PM_SEND_CONFIG                /* certificate or TLS policy: the admin must fix the
                                   * mail configuration; no email can go until then */
} pm_send_result;

typedef struct pm_smtp pm_smtp;

/* Call once per process before threads start. */
int pm_smtp_global_init(void);

/* A sender for one batch; its connection is closed when p is cleared. */
pm_smtp *pm_smtp_open(apr_pool_t *p, const pm_smtp_conf *conf);

/* Sends m; *error (on failure) holds the server's reply or curl's reason,
 * never message content. */
pm_send_result pm_smtp_send(pm_smtp *s, apr_pool_t *p, const pm_mail_message *m,
                            const char **error);

#endif
