/* pm_bounce.c — the VERP envelope sender naming an outbox row (HMAC-SHA256 of the
 * server's token secret, domain-separated from the invitation tokens), and the reading
 * of a returned message: RFC 3464 delivery-status fields, else a plain bounce's codes. */
#include "pm_bounce.h"
#include "pm_text.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

/* s as one line of valid UTF-8: control characters and runs of blanks become one
 * space, none at either end */
static const char *pm_one_line(apr_pool_t *p, const char *s)
{
    char *t = pm_utf8_sanitize(p, s), *w = t;
    const char *r;
    int blank = 1;

    for (r = t; *r; r++) {
        unsigned char ch = (unsigned char)*r;

        if (ch < 0x20 || ch == 0x7f || ch == ' ') {
            if (!blank) {
                *w++ = ' ';
            }
            blank = 1;
            continue;
        }
        *w++ = (char)ch;
        blank = 0;
    }
    if (w > t && w[-1] == ' ') {
        w--;
    }
    *w = '\0';
    return t;
}

/* ---- the address ------------------------------------------------------------------ */

static int id_mac(const unsigned char *secret, apr_size_t secret_len, long long id,
                  char hex[PM_BOUNCE_MAC_HEX + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0, i;
    char msg[48];

    if (secret == NULL || secret_len == 0) {
        return -1;
    }
    apr_snprintf(msg, sizeof(msg), "bounce:%" APR_INT64_T_FMT, (apr_int64_t)id);
    if (HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)msg, strlen(msg),
             mac, &mac_len) == NULL || mac_len < PM_BOUNCE_MAC_HEX / 2) {
        return -1;
    }
    for (i = 0; i < PM_BOUNCE_MAC_HEX / 2; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 0x0f];
    }
    hex[PM_BOUNCE_MAC_HEX] = '\0';
    return 0;
}

const char *pm_bounce_sender(apr_pool_t *p, const unsigned char *secret, apr_size_t secret_len,
                             const char *bounce_addr, long long outbox_id)
{
    const char *at = bounce_addr ? strrchr(bounce_addr, '@') : NULL;
    char hex[PM_BOUNCE_MAC_HEX + 1];

    if (at == NULL || outbox_id <= 0 || id_mac(secret, secret_len, outbox_id, hex) != 0) {
        return NULL;
    }
    return apr_psprintf(p, "%.*s+%" APR_INT64_T_FMT "-%s%s", (int)(at - bounce_addr),
                        bounce_addr, (apr_int64_t)outbox_id, hex, at);
}

/* "ID-MAC" with ID decimal (no sign, no leading zero) and MAC PM_BOUNCE_MAC_HEX hex */
static int split_extension(const char *ext, apr_size_t len, long long *id, const char **mac)
{
    apr_size_t i = 0;
    long long v = 0;

    if (len == 0 || ext[0] == '0') {
        return -1;
    }
    for (; i < len && apr_isdigit(ext[i]) && i < 18; i++) {
        v = v * 10 + (ext[i] - '0');
    }
    if (i == 0 || i >= len || ext[i] != '-' || len - i - 1 != PM_BOUNCE_MAC_HEX) {
        return -1;
    }
    *id = v;
    *mac = ext + i + 1;
    return 0;
}

/* The "ID-MAC" extension of r (length rlen): after bounce_addr's local part and "+",
 * before its domain; with bounce_addr NULL, after the last "+" of any local part */
static int verp_extension(const char *bounce_addr, const char *r, apr_size_t rlen,
                          const char **ext, apr_size_t *ext_len)
{
    const char *rat = r + rlen, *plus;

    while (rat > r && rat[-1] != '@') {
        rat--;
    }
    if (rat == r) {
        return -1;
    }
    rat--;                                   /* the '@' */
    if (bounce_addr != NULL) {
        const char *at = strrchr(bounce_addr, '@');
        apr_size_t local_len = at ? (apr_size_t)(at - bounce_addr) : 0;

        if (at == NULL || strncasecmp(r, bounce_addr, local_len) != 0 || r[local_len] != '+'
            || (apr_size_t)(r + rlen - rat) != strlen(at)
            || strncasecmp(rat, at, strlen(at)) != 0) {
            return -1;
        }
        plus = r + local_len;
    }
    else {
        for (plus = rat; plus > r && plus[-1] != '+'; plus--) {
        }
        if (plus == r) {
            return -1;
        }
        plus--;
    }
    *ext = plus + 1;
    *ext_len = (apr_size_t)(rat - plus - 1);
    return 0;
}

pm_verp_result pm_bounce_verp_id(const unsigned char *secret, apr_size_t secret_len,
                                 const char *bounce_addr, const char *recipient,
                                 long long *outbox_id)
{
    const char *r = recipient, *ext, *mac;
    apr_size_t rlen, ext_len;
    char want[PM_BOUNCE_MAC_HEX + 1], got[PM_BOUNCE_MAC_HEX + 1];
    long long id;
    int i;

    if (r == NULL) {
        return PM_VERP_NOT_OURS;
    }
    r += *r == '<';
    rlen = strlen(r);
    rlen -= rlen > 0 && r[rlen - 1] == '>';
    if (verp_extension(bounce_addr, r, rlen, &ext, &ext_len) != 0
        || split_extension(ext, ext_len, &id, &mac) != 0) {
        return PM_VERP_NOT_OURS;
    }
    for (i = 0; i < PM_BOUNCE_MAC_HEX; i++) {
        got[i] = (char)apr_tolower(mac[i]);
    }
    got[PM_BOUNCE_MAC_HEX] = '\0';
    if (id_mac(secret, secret_len, id, want) != 0
        || CRYPTO_memcmp(want, got, PM_BOUNCE_MAC_HEX) != 0) {
        return PM_VERP_BAD_MAC;
    }
    *outbox_id = id;
    return PM_VERP_OK;
}

/* ---- headers ------------------------------------------------------------------------ */

/* The header block's end (the blank line) within [msg, end) */
static const char *headers_end(const char *msg, const char *end)
{
    const char *s = msg;

    while (s < end) {
        const char *nl = memchr(s, '\n', (apr_size_t)(end - s));
        apr_size_t n = nl ? (apr_size_t)(nl - s) : (apr_size_t)(end - s);

        if (n == 0 || (n == 1 && s[0] == '\r')) {
            return s;
        }
        s = nl ? nl + 1 : end;
    }
    return end;
}

/* The unfolded value of header name in the block [s, end), or NULL */
static const char *find_field(apr_pool_t *p, const char *s, const char *end, const char *name)
{
    apr_size_t nlen = strlen(name);

    while (s < end) {
        const char *nl = memchr(s, '\n', (apr_size_t)(end - s));
        const char *line_end = nl ? nl : end;

        if ((apr_size_t)(line_end - s) > nlen && strncasecmp(s, name, nlen) == 0
            && s[nlen] == ':') {
            const char *v = s + nlen + 1, *stop = line_end;

            while (stop < end && nl && (stop[1] == ' ' || stop[1] == '\t')) {
                nl = memchr(stop + 1, '\n', (apr_size_t)(end - stop - 1));
                stop = nl ? nl : end;
            }
            return pm_one_line(p, apr_pstrmemdup(p, v, (apr_size_t)(stop - v)));
        }
        s = nl ? nl + 1 : end;
    }
    return NULL;
}

const char *pm_bounce_header(apr_pool_t *p, const char *msg, apr_size_t len, const char *name)
{
    return find_field(p, msg, headers_end(msg, msg + len), name);
}

/* ---- codes ---------------------------------------------------------------------------- */

static int is_code_edge(const char *s, const char *start, const char *end)
{
    return s < start || s >= end || !(apr_isdigit(*s) || *s == '.');
}

/* An enhanced status code class.subject.detail starting at s ([245].d{1,3}.d{1,3}) */
static apr_size_t enhanced_code_at(const char *s, const char *start, const char *end)
{
    const char *q = s;
    int part, digits;

    if (!is_code_edge(s - 1, start, end) || s >= end || !(*s == '2' || *s == '4' || *s == '5')) {
        return 0;
    }
    q++;
    for (part = 0; part < 2; part++) {
        if (q >= end || *q != '.') {
            return 0;
        }
        for (q++, digits = 0; q < end && apr_isdigit(*q) && digits < 4; q++, digits++) {
        }
        if (digits == 0 || digits > 3) {
            return 0;
        }
    }
    return is_code_edge(q, start, end) ? (apr_size_t)(q - s) : 0;
}

/* A basic reply code 4xx/5xx at s, followed by a space or '-' */
static apr_size_t reply_code_at(const char *s, const char *start, const char *end)
{
    if (!is_code_edge(s - 1, start, end) || end - s < 4 || !(*s == '4' || *s == '5')
        || !apr_isdigit(s[1]) || !apr_isdigit(s[2]) || !(s[3] == ' ' || s[3] == '-')) {
        return 0;
    }
    return 3;
}

/* The first 4/5 enhanced code in [s, end), else the first reply code; its line in *line */
static const char *first_code(apr_pool_t *p, const char *s, const char *end, const char **line)
{
    apr_size_t (*const finders[2])(const char *, const char *, const char *) = {
        enhanced_code_at, reply_code_at
    };
    int f;

    for (f = 0; f < 2; f++) {
        const char *q;

        for (q = s; q < end; q++) {
            apr_size_t n = (*q == '4' || *q == '5') ? finders[f](q, s, end) : 0;

            if (n > 0) {
                const char *b = q, *e = q;

                while (b > s && b[-1] != '\n') {
                    b--;
                }
                while (e < end && *e != '\n') {
                    e++;
                }
                *line = apr_pstrmemdup(p, b, (apr_size_t)(e - b));
                return apr_pstrmemdup(p, q, n);
            }
        }
    }
    return NULL;
}

/* ---- the report ------------------------------------------------------------------------ */

static const char *reason_text(apr_pool_t *p, const char *s)
{
    char *t;
    apr_size_t i, chars = 0;

    if (s == NULL) {
        return NULL;
    }
    t = pm_mask_reply(p, pm_one_line(p, s), NULL);
    for (i = 0; t[i] != '\0'; i++) {
        if (((unsigned char)t[i] & 0xC0) != 0x80 && ++chars > PM_BOUNCE_REASON_MAX) {
            t[i] = '\0';
            break;
        }
    }
    return *t ? t : NULL;
}

/* hard for a permanent class (5), except 5.2.2 (mailbox full: it may empty) */
static pm_bounce_kind kind_of_code(const char *code)
{
    if (code == NULL) {
        return PM_BOUNCE_SOFT;
    }
    if (code[0] == '5' && strcmp(code, "5.2.2") != 0) {
        return PM_BOUNCE_HARD;
    }
    return PM_BOUNCE_SOFT;
}

/* The "Diagnostic-Code: smtp; 550 ..." value without its type */
static const char *diagnostic_text(const char *v)
{
    const char *semi = v ? strchr(v, ';') : NULL;

    if (semi == NULL) {
        return v;
    }
    for (semi++; *semi == ' ' || *semi == '\t'; semi++) {
    }
    return semi;
}

/* The first place word occurs in [s, end), any case */
static const char *find_ci(const char *s, const char *end, const char *word)
{
    apr_size_t n = strlen(word);

    for (; s != NULL && s + n <= end; s++) {
        if (strncasecmp(s, word, n) == 0) {
            return s;
        }
    }
    return NULL;
}

static int contains_ci(const char *s, const char *word)
{
    return s != NULL && find_ci(s, s + strlen(s), word) != NULL;
}

/* The per-recipient fields of a message/delivery-status part found in [s, end):
 * 1 when a recipient's Action or Status was read */
static int read_dsn(apr_pool_t *p, const char *body, const char *end, pm_bounce_report *out)
{
    const char *ct = find_ci(body, end, "message/delivery-status");
    const char *group, *stop;

    if (ct == NULL) {
        return 0;
    }
    group = headers_end(ct, end);             /* past the part's own headers */
    while (group < end) {
        const char *action, *status, *diag;

        group += (group[0] == '\r') + 1;      /* the blank line */
        if (group >= end || (group[0] == '-' && group + 1 < end && group[1] == '-')) {
            break;
        }
        stop = headers_end(group, end);
        action = find_field(p, group, stop, "Action");
        status = find_field(p, group, stop, "Status");
        diag = diagnostic_text(find_field(p, group, stop, "Diagnostic-Code"));
        if (action || status) {
            const char *line = NULL;
            const char *code = status && enhanced_code_at(status, status, status + strlen(status))
                               ? apr_pstrndup(p, status, enhanced_code_at(status, status,
                                                                         status + strlen(status)))
                               : (diag ? first_code(p, diag, diag + strlen(diag), &line) : NULL);

            if (action && (strcasecmp(action, "delivered") == 0
                           || strcasecmp(action, "relayed") == 0
                           || strcasecmp(action, "expanded") == 0)) {
                out->kind = PM_BOUNCE_NONE;
            }
            else if (action && strcasecmp(action, "delayed") == 0) {
                out->kind = PM_BOUNCE_SOFT;
            }
            else {
                out->kind = kind_of_code(code);
            }
            out->status = code;
            out->reason = reason_text(p, diag ? diag : status);
            return 1;
        }
        group = stop;
    }
    return 0;
}

static int looks_like_bounce(const char *from, const char *subject)
{
    static const char *const subjects[] = {
        "undeliver", "returned mail", "delivery status notification", "failure notice",
        "delivery failure", "mail delivery failed", "delivery has failed", NULL
    };
    int i;

    if (contains_ci(from, "mailer-daemon") || contains_ci(from, "postmaster")) {
        return 1;
    }
    for (i = 0; subjects[i]; i++) {
        if (contains_ci(subject, subjects[i])) {
            return 1;
        }
    }
    return 0;
}

static int looks_like_autoreply(apr_pool_t *p, const char *msg, const char *hend,
                                const char *subject)
{
    static const char *const subjects[] = {
        "out of office", "automatic reply", "auto:", "autoreply", "auto-reply", "vacation", NULL
    };
    const char *auto_submitted = find_field(p, msg, hend, "Auto-Submitted");
    const char *precedence = find_field(p, msg, hend, "Precedence");
    int i;

    if ((auto_submitted && strncasecmp(auto_submitted, "no", 2) != 0)
        || find_field(p, msg, hend, "X-Autoreply") || find_field(p, msg, hend, "X-Autorespond")
        || (precedence && strcasecmp(precedence, "auto_reply") == 0)) {
        return 1;
    }
    for (i = 0; subjects[i]; i++) {
        if (contains_ci(subject, subjects[i])) {
            return 1;
        }
    }
    return 0;
}

void pm_bounce_read(apr_pool_t *p, const char *msg, apr_size_t len, pm_bounce_report *out)
{
    const char *end = msg + len, *hend = headers_end(msg, end);
    const char *subject = find_field(p, msg, hend, "Subject");
    const char *from = find_field(p, msg, hend, "From");
    const char *line = NULL, *code;

    memset(out, 0, sizeof(*out));
    if (read_dsn(p, hend, end, out)) {
        return;
    }
    if (looks_like_bounce(from, subject)) {
        code = first_code(p, hend, end, &line);
        out->kind = kind_of_code(code);
        out->status = code;
        out->reason = reason_text(p, line ? line : subject);
        return;
    }
    out->kind = looks_like_autoreply(p, msg, hend, subject) ? PM_BOUNCE_AUTOREPLY
                                                             : PM_BOUNCE_NONE;
}

const char *pm_bounce_kind_name(pm_bounce_kind kind)
{
    return kind == PM_BOUNCE_HARD ? "hard" : kind == PM_BOUNCE_SOFT ? "soft" : NULL;
}
