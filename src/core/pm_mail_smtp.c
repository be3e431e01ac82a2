/* pm_mail_smtp.c — the SMTP transport on libcurl: one connection per batch,
 * STARTTLS policy, AUTH, explicit timeouts, TLS verification on, every
 * curl_easy_setopt checked. The message text comes from pm_mail_format.c after
 * a CR/LF/NUL check of every address and header value. */
#include "pm_mail_smtp.h"
#include "pm_text.h"
#include "pm_config_parse.h"
#include "pm_mail_format.h"
#include "pm_token.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <curl/curl.h>
#include <string.h>
#include <strings.h>

#define CONNECT_TIMEOUT_SEC 10
#define REPLY_MAX 300

struct pm_smtp {
    CURL *curl;
    apr_pool_t *pool;
    const pm_smtp_conf *conf;
    const char *envelope_from;    /* "<addr>" */
    char reply[REPLY_MAX];        /* the last reply line the server sent */
    char errbuf[CURL_ERROR_SIZE];
    int mail_started;             /* this send issued MAIL FROM */
    pm_data_state data;
    int fresh_next;               /* the next send opens a new connection */
};

int pm_smtp_global_init(void)
{
    static int done = 0;

    if (!done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            return -1;
        }
        done = 1;
    }
    return 0;
}

static apr_status_t smtp_cleanup(void *data)
{
    pm_smtp *s = data;

    if (s->curl) {
        curl_easy_cleanup(s->curl);
        s->curl = NULL;
    }
    return APR_SUCCESS;
}

/* Keeps the server's reply line (for staff to read); ignores the data we
 * send so no message content can leak into errors or logs. */
static int debug_capture(CURL *c, curl_infotype type, char *data, size_t size, void *userp)
{
    pm_smtp *s = userp;
    size_t n;

    if (type == CURLINFO_HEADER_OUT && size >= 10 && strncasecmp(data, "MAIL FROM:", 10) == 0) {
        s->mail_started = 1;
    }
    if (type != CURLINFO_HEADER_IN) {
        return 0;
    }
    /* keep the first 4xx/5xx reply: the "221 Bye" after QUIT must not replace it */
    if (s->reply[0] == '4' || s->reply[0] == '5') {
        return 0;
    }
    n = size < REPLY_MAX - 1 ? size : REPLY_MAX - 1;
    memcpy(s->reply, data, n);
    while (n > 0 && (s->reply[n - 1] == '\n' || s->reply[n - 1] == '\r')) {
        n--;
    }
    s->reply[n] = '\0';
    return 0;
}

static long curl_ssl_mode(int tls_mode)
{
    switch (tls_mode) {
    case PM_TLS_NONE:
        return (long)CURLUSESSL_NONE;
    case PM_TLS_TRY:
        return (long)CURLUSESSL_TRY;
    default:
        return (long)CURLUSESSL_ALL;
    }
}

#define SETOPT(s, opt, val) \
    do { if (curl_easy_setopt((s)->curl, (opt), (val)) != CURLE_OK) return -1; } while (0)

static int set_connection_options(pm_smtp *s)
{
    const pm_smtp_conf *c = s->conf;

    SETOPT(s, CURLOPT_URL, c->helo_host
                           ? apr_pstrcat(s->pool, c->server_url, "/", c->helo_host, NULL)
                           : c->server_url);          /* libcurl's EHLO name: the URL path */
    SETOPT(s, CURLOPT_NOSIGNAL, 1L);
    SETOPT(s, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_SEC);
    SETOPT(s, CURLOPT_TIMEOUT, c->timeout_sec);
    SETOPT(s, CURLOPT_SERVER_RESPONSE_TIMEOUT, c->timeout_sec);
    SETOPT(s, CURLOPT_USE_SSL, curl_ssl_mode(c->tls_mode));
    SETOPT(s, CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(s, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file) {
        SETOPT(s, CURLOPT_CAINFO, c->ca_file);
    }
    if (c->ca_path) {
        SETOPT(s, CURLOPT_CAPATH, c->ca_path);
    }
    SETOPT(s, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    SETOPT(s, CURLOPT_ERRORBUFFER, s->errbuf);
    SETOPT(s, CURLOPT_VERBOSE, 1L);                 /* feeds debug_capture only */
    SETOPT(s, CURLOPT_DEBUGFUNCTION, debug_capture);
    SETOPT(s, CURLOPT_DEBUGDATA, s);
    SETOPT(s, CURLOPT_MAIL_FROM, s->envelope_from);
    if (c->user) {
        SETOPT(s, CURLOPT_USERNAME, c->user);
        SETOPT(s, CURLOPT_PASSWORD, c->password);
    }
    return 0;
}

pm_smtp *pm_smtp_open(apr_pool_t *p, const pm_smtp_conf *conf)
{
    pm_smtp *s = apr_pcalloc(p, sizeof(*s));

    s->conf = conf;
    s->pool = p;
    s->envelope_from = apr_pstrcat(p, "<", conf->from_addr, ">", NULL);
    s->curl = curl_easy_init();
    if (s->curl == NULL) {
        return NULL;
    }
    apr_pool_cleanup_register(p, s, smtp_cleanup, apr_pool_cleanup_null);
    if (set_connection_options(s) != 0) {
        return NULL;
    }
    return s;
}

/* ---- the message ------------------------------------------------------------ */

typedef struct {
    const char *data;
    apr_size_t len, off;
    pm_smtp *s;
    const pm_mail_message *m;
} upload;

/* libcurl asks for the content only once the server has answered DATA with 354 */
static void note_data_started(upload *u)
{
    if (u->s->data == PM_DATA_NOT_REACHED) {
        u->s->data = PM_DATA_UNANSWERED;
        if (u->m->on_data) {
            u->m->on_data(u->m->on_data_ctx);
        }
    }
}

static size_t read_upload(char *buf, size_t size, size_t nitems, void *userp)
{
    upload *u = userp;
    size_t room = size * nitems, n = u->len - u->off;

    note_data_started(u);
    if (n > room) {
        n = room;
    }
    memcpy(buf, u->data + u->off, n);
    u->off += n;
    return n;
}

static const char *new_boundary(apr_pool_t *p)
{
    const char *hex = pm_random_hex(p, 12);

    /* "=_" never occurs in quoted-printable output */
    return apr_pstrcat(p, "=_pm_", hex ? hex : "0", NULL);
}

/* A language tag as a header may carry it: letters, digits and hyphens. */
static int lang_tag_ok(const char *tag)
{
    const char *c;

    for (c = tag; *c; c++) {
        if (!apr_isalnum(*c) && *c != '-') {
            return 0;
        }
    }
    return c > tag && c - tag <= 35;
}

/* The message text: headers from pm_mail_format.c (encoded, folded), then a
 * multipart/alternative body with quoted-printable parts. It is composed here
 * rather than with curl_mime because libcurl writes its multipart Content-Type
 * lines (boundary included) unfolded past 78 columns. */
static const char *compose_message(apr_pool_t *p, const pm_smtp_conf *c, const pm_mail_message *m)
{
    const char *headers[8];
    int n = 7;

    headers[0] = apr_pstrcat(p, "Date: ", pm_mail_date(p, m->date), NULL);
    headers[1] = pm_mail_mailbox_header(p, "From", m->from_name ? m->from_name : c->from_name,
                                        c->from_addr);
    headers[2] = pm_mail_mailbox_header(p, "To", m->to_name, m->to_addr);
    headers[3] = pm_mail_header(p, "Subject", m->subject);
    headers[4] = apr_pstrcat(p, "Message-ID: ", m->message_id, NULL);
    headers[5] = "Auto-Submitted: auto-generated";
    headers[6] = "X-Auto-Response-Suppress: All";
    if (m->lang && lang_tag_ok(m->lang)) {
        /* screen readers and mail clients pick the voice and spelling from it */
        headers[n++] = apr_pstrcat(p, "Content-Language: ", m->lang, NULL);
    }
    return pm_mail_compose(p, headers, n, m->text, m->html, new_boundary(p), m->logo);
}

/* Nothing with a CR, LF or NUL goes near libcurl: Debian's libcurl would put
 * it on the wire and let a crafted address add recipients or headers. */
static const char *unsafe_field(const pm_smtp_conf *c, const pm_mail_message *m)
{
    if (!pm_mail_header_safe(m->to_addr) || !pm_mail_header_safe(m->to_name)) {
        return "the recipient address contains a line break";
    }
    if (!pm_mail_header_safe(m->subject)) {
        return "the subject contains a line break";
    }
    if (!pm_mail_header_safe(m->message_id) || !pm_mail_header_safe(c->from_addr)
        || !pm_mail_header_safe(c->from_name)
        || (m->from_name && !pm_mail_header_safe(m->from_name))
        || (m->envelope_from && (!pm_mail_header_safe(m->envelope_from)
                                 || strpbrk(m->envelope_from, "<> ,;") != NULL))) {
        return "a header contains a line break";
    }
    if (strchr(m->to_addr, '@') == NULL || strpbrk(m->to_addr, "<> ,;") != NULL) {
        return "the recipient address is not a single plain address";
    }
    return NULL;
}

/* The relay refused who we are: 535 to AUTH (PortalMailUser or its password
 * file), or 530 "authentication required" where no PortalMailUser is set. Not this
 * message's fault: every email would meet it until the admin fixes the
 * configuration. A 454 (a temporary AUTH failure) is tried again. */
static int auth_refused(CURLcode rc, long code)
{
    return (rc == CURLE_LOGIN_DENIED && !(code >= 400 && code < 500)) || code == 530;
}

/* Before MAIL FROM, a connection that failed or a 4xx greeting/EHLO is the
 * relay's problem, not this message's. TLS and AUTH failures are the
 * configuration's (classify: the queue is held until the admin fixes them). */
static int relay_down(CURLcode rc, long code)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        return 1;
    case CURLE_WEIRD_SERVER_REPLY:
        return code >= 400 && code < 500;
    default:
        return 0;
    }
}

static pm_send_result classify(pm_smtp *s, CURLcode rc)
{
    CURL *curl = s->curl;
    long code = 0;

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    if (s->data != PM_DATA_NOT_REACHED && code >= 400 && code < 600) {
        s->data = PM_DATA_REFUSED;
    }
    if (!s->mail_started && relay_down(rc, code)) {
        return PM_SEND_RELAY_DOWN;
    }
    if (auth_refused(rc, code)) {
        return PM_SEND_CONFIG;           /* every email would be refused the same way */
    }
    if (code >= 500 && code < 600) {
        return PM_SEND_FAILED;           /* the server said no for good */
    }
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_USE_SSL_FAILED:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return PM_SEND_CONFIG;           /* every email would fail the same way */
    default:
        return PM_SEND_RETRY;            /* connect errors, timeouts, 4xx, TLS */
    }
}

/* The reason staff see and the log gets; servers echo the recipient's address
 * ("550 5.1.1 <name@example.org> unknown") and content filters quote the message's
 * link, so addresses and token-like runs are masked (pm_mask_reply). */
static const char *describe_error(apr_pool_t *p, pm_smtp *s, CURLcode rc)
{
    const char *why = s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc);

    if (s->reply[0] && (s->reply[0] == '4' || s->reply[0] == '5')) {
        return pm_mask_reply(p, apr_psprintf(p, "%s (server said: %s)", why, s->reply), NULL);
    }
    return pm_mask_reply(p, why, NULL);
}

pm_send_result pm_smtp_send(pm_smtp *s, apr_pool_t *p, const pm_mail_message *m,
                            const char **error)
{
    struct curl_slist *rcpt = NULL;
    const char *unsafe = unsafe_field(s->conf, m);
    upload u;
    CURLcode rc;
    pm_send_result result;

    if (unsafe) {
        *error = apr_pstrcat(p, "refused before sending: ", unsafe, NULL);   /* a failure, not "not sent:" */
        return PM_SEND_FAILED;
    }
    u.data = compose_message(p, s->conf, m);
    u.len = strlen(u.data);
    u.off = 0;
    u.s = s;
    u.m = m;
    rcpt = curl_slist_append(NULL, apr_pstrcat(p, "<", m->to_addr, ">", NULL));
    if (rcpt == NULL) {
        *error = "could not build the message: out of memory";
        return PM_SEND_RETRY;
    }
    s->reply[0] = '\0';
    s->errbuf[0] = '\0';
    s->mail_started = 0;
    s->data = PM_DATA_NOT_REACHED;
    if (curl_easy_setopt(s->curl, CURLOPT_FRESH_CONNECT, (long)s->fresh_next) != CURLE_OK
        || curl_easy_setopt(s->curl, CURLOPT_MAIL_FROM,
                            m->envelope_from ? apr_pstrcat(p, "<", m->envelope_from, ">", NULL)
                                             : s->envelope_from) != CURLE_OK
        || curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, rcpt) != CURLE_OK
        || curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 1L) != CURLE_OK
        || curl_easy_setopt(s->curl, CURLOPT_READFUNCTION, read_upload) != CURLE_OK
        || curl_easy_setopt(s->curl, CURLOPT_READDATA, &u) != CURLE_OK
        || curl_easy_setopt(s->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u.len) != CURLE_OK) {
        *error = "not sent: libcurl refused an option";
        result = PM_SEND_RETRY;
    }
    else {
        rc = curl_easy_perform(s->curl);
        result = rc == CURLE_OK ? PM_SEND_OK : classify(s, rc);
        if (result != PM_SEND_OK) {
            *error = describe_error(p, s, rc);
        }
        else {
            s->data = PM_DATA_ACCEPTED;
        }
    }
    s->fresh_next = result != PM_SEND_OK;
    curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL);
    curl_easy_setopt(s->curl, CURLOPT_READDATA, NULL);
    curl_slist_free_all(rcpt);
    return result;
}

pm_data_state pm_smtp_data_state(const pm_smtp *s)
{
    return s->data;
}
