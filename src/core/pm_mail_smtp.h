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
    const char *from_name;        /* From's display name; NULL: the conf's from_name */
    const char *envelope_from;    /* MAIL FROM (bounces go there); NULL: the conf's from_addr */
    const char *subject, *text, *html;
    const char *lang;             /* Content-Language ("es"), or NULL for none */
    const char *message_id;       /* "<id@host>", one per attempt */
    const pm_mail_image *logo;    /* inline image for the HTML part, or NULL */
    apr_time_t date;
    /* called once when the server has accepted DATA and the content starts: from
     * here on the message may reach the recipient whatever happens next */
    void (*on_data)(void *ctx);
    void *on_data_ctx;
} pm_mail_message;

typedef enum {
    PM_SEND_OK = 0,
    PM_SEND_RETRY,                /* connect error, timeout, 4xx: try again later */
    PM_SEND_FAILED,               /* 5xx or a message that can never be sent */
    PM_SEND_CONFIG,               /* certificate or TLS policy: the admin must fix the
                                   * mail configuration; no email can go until then */
    PM_SEND_RELAY_DOWN            /* the relay could not be reached or turned the
                                   * connection away before MAIL FROM: the message
                                   * itself was not tried */
} pm_send_result;

/* What the last pm_smtp_send did with DATA. */
typedef enum {
    PM_DATA_NOT_REACHED = 0,      /* the content never started */
    PM_DATA_UNANSWERED,           /* sent, no final reply (timeout, connection lost) */
    PM_DATA_REFUSED,              /* the server refused it at the end of DATA */
    PM_DATA_ACCEPTED
} pm_data_state;

typedef struct pm_smtp pm_smtp;

/* Call once per process before threads start. */
int pm_smtp_global_init(void);

/* A sender for one batch; its connection is closed when p is cleared. */
pm_smtp *pm_smtp_open(apr_pool_t *p, const pm_smtp_conf *conf);

/* Sends m; *error (on failure) holds the server's reply or curl's reason,
 * never message content. After a failure the next message opens a new
 * connection (a reply that came too late must not answer the next command). */
pm_send_result pm_smtp_send(pm_smtp *s, apr_pool_t *p, const pm_mail_message *m,
                            const char **error);

/* How far the last pm_smtp_send got with DATA. */
pm_data_state pm_smtp_data_state(const pm_smtp *s);

#endif
