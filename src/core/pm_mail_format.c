/* pm_mail_format.c — everything about an invitation email that is text: headers
 * safe for SMTP (no injected line breaks, encoded-words, folding), dates, and
 * rendering the {{placeholder}} templates into the text and HTML bodies (the
 * HTML layout: button, footer, mail-client fallbacks). */
#include "pm_mail_format.h"
#include "pm_base64.h"
#include "pm_text.h"

#include <apr_base64.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <stdlib.h>
#include <string.h>

#define WORD_BYTES 39         /* raw bytes per encoded-word: 64 columns encoded */

int pm_mail_header_safe(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") == NULL;
}

static int is_plain_ascii(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) {
            return 0;
        }
    }
    return 1;
}

/* Append tokens to "Name:" with single spaces, starting a folded line (CRLF SP)
 * whenever the next token would pass 78 columns; that may be right after the
 * colon. A token longer than 77 (only an over-long address) sits alone on its line.
 * Empty tokens (a run of spaces in the value) stay with the word before them, so no
 * folded line is whitespace only (RFC 5322 forbids it) and the run counts toward
 * that word's line. */
static const char *fold_tokens(apr_pool_t *p, const char *name, apr_array_header_t *tokens)
{
    char *out = apr_pstrcat(p, name, ":", NULL);
    apr_size_t col = strlen(out);
    int i, j;

    for (i = 0; i < tokens->nelts; i++) {
        const char *tok = APR_ARRAY_IDX(tokens, i, const char *);
        apr_size_t len = strlen(tok), span = len;
        for (j = i + 1; len > 0 && j < tokens->nelts
                        && *APR_ARRAY_IDX(tokens, j, const char *) == '\0'; j++) {
            span++;
        }
        if (len > 0 && col > 1 && col + 1 + span > PM_MAIL_LINE_MAX) {
            out = apr_pstrcat(p, out, "\r\n", NULL);
            col = 0;
        }
        out = apr_pstrcat(p, out, " ", tok, NULL);
        col += 1 + len;
    }
    return out;
}

/* Longest prefix of at most max bytes that ends on a UTF-8 character boundary.
 * s is valid UTF-8 (see push_encoded_words), so that is at least max - 3 bytes;
 * the fallback to max only guards the loop below against ever standing still. */
static apr_size_t utf8_chunk(const char *s, apr_size_t avail, apr_size_t max)
{
    apr_size_t n = avail < max ? avail : max;

    while (n > 0 && n < avail && ((unsigned char)s[n] & 0xC0) == 0x80) {
        n--;
    }
    if (n == 0) {
        n = avail < max ? avail : max;
    }
    return n;
}

/* s is untrusted: invalid UTF-8 becomes U+FFFD before it is cut into words. */
static void push_encoded_words(apr_pool_t *p, apr_array_header_t *tokens, const char *raw)
{
    const char *s = pm_utf8_sanitize(p, raw);
    apr_size_t len = strlen(s), off = 0;

    while (off < len) {
        apr_size_t n = utf8_chunk(s + off, len - off, WORD_BYTES);
        APR_ARRAY_PUSH(tokens, const char *) =
            apr_pstrcat(p, "=?UTF-8?B?",
                        pm_base64_std(p, (const unsigned char *)s + off, n), "?=", NULL);
        off += n;
    }
}

/* Plain ASCII split at each space, if every word with the spaces after it (and any
 * spaces before the first) fits a folded line. A run of spaces gives empty words, so
 * joining the words with one space each gives back the value exactly: whitespace is
 * part of an unstructured value (RFC 5322 §3.2.5). */
static int push_ascii_words(apr_pool_t *p, apr_array_header_t *tokens, const char *s,
                            apr_size_t name_len)
{
    const char *w = s;

    if (!is_plain_ascii(s) || strstr(s, "=?") != NULL) {
        return 0;
    }
    /* leading spaces stay on the line of "Name:", where no fold can shorten them:
     * a run too long for it is said in encoded-words instead */
    if (name_len + 2 + strspn(s, " ") > PM_MAIL_LINE_MAX) {      /* ":" and the last SP */
        return 0;
    }
    if (*w == '\0') {
        return 1;
    }
    for (;;) {
        apr_size_t len = strcspn(w, " ");
        if (len + strspn(w + len, " ") > PM_MAIL_LINE_MAX - 12) {
            return 0;
        }
        APR_ARRAY_PUSH(tokens, const char *) = apr_pstrmemdup(p, w, len);
        if (w[len] == '\0') {
            return 1;
        }
        w += len + 1;
    }
}

const char *pm_mail_header(apr_pool_t *p, const char *name, const char *value)
{
    apr_array_header_t *tokens = apr_array_make(p, 8, sizeof(const char *));

    if (!push_ascii_words(p, tokens, value, strlen(name))) {
        tokens->nelts = 0;
        push_encoded_words(p, tokens, value);
    }
    return fold_tokens(p, name, tokens);
}

static int needs_quoting(const char *s)
{
    return strpbrk(s, "()<>[]:;@\\,.\"") != NULL;
}

static const char *quote_phrase(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 2 + 3), *o = out;

    *o++ = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            *o++ = '\\';
        }
        *o++ = *s;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* A display name as one token: a quoted string when it is ASCII with specials and
 * short enough once quoted, otherwise encoded-words (which fold). */
static void push_display_name(apr_pool_t *p, apr_array_header_t *tokens, const char *display,
                              apr_size_t name_len)
{
    const char *quoted;
    int before = tokens->nelts;

    if (!is_plain_ascii(display) || strstr(display, "=?") != NULL) {
        push_encoded_words(p, tokens, display);
        return;
    }
    if (!needs_quoting(display)) {
        if (!push_ascii_words(p, tokens, display, name_len)) {
            tokens->nelts = before;
            push_encoded_words(p, tokens, display);
        }
        return;
    }
    quoted = quote_phrase(p, display);      /* backslashes and quotes doubled */
    if (strlen(quoted) > PM_MAIL_LINE_MAX - 12) {
        push_encoded_words(p, tokens, display);
    }
    else {
        APR_ARRAY_PUSH(tokens, const char *) = quoted;
    }
}

const char *pm_mail_mailbox_header(apr_pool_t *p, const char *name, const char *display,
                                   const char *addr)
{
    apr_array_header_t *tokens = apr_array_make(p, 8, sizeof(const char *));

    if (display && *display) {
        push_display_name(p, tokens, display, strlen(name));
    }
    APR_ARRAY_PUSH(tokens, const char *) = apr_pstrcat(p, "<", addr, ">", NULL);
    return fold_tokens(p, name, tokens);
}

const char *pm_mail_date(apr_pool_t *p, apr_time_t t)
{
    char buf[APR_RFC822_DATE_LEN];

    apr_rfc822_date(buf, t);        /* "Tue, 24 Nov 2026 21:45:58 GMT" */
    if (strlen(buf) > 4 && strcmp(buf + strlen(buf) - 3, "GMT") == 0) {
        buf[strlen(buf) - 3] = '\0';
        return apr_pstrcat(p, buf, "+0000", NULL);
    }
    return apr_pstrdup(p, buf);
}

char *pm_html_escape(apr_pool_t *p, const char *s)
{
    apr_size_t extra = 0;
    const char *c;
    char *out, *o;

    for (c = s; *c; c++) {
        extra += (*c == '&') ? 4 : (*c == '<' || *c == '>') ? 3 : (*c == '"' || *c == '\'') ? 5 : 0;
    }
    out = o = apr_palloc(p, strlen(s) + extra + 1);
    for (c = s; *c; c++) {
        switch (*c) {
        case '&': memcpy(o, "&amp;", 5); o += 5; break;
        case '<': memcpy(o, "&lt;", 4); o += 4; break;
        case '>': memcpy(o, "&gt;", 4); o += 4; break;
        case '"': memcpy(o, "&quot;", 6); o += 6; break;
        case '\'': memcpy(o, "&#39;", 5); o += 5; break;
        default: *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

/* ---- MIME ---------------------------------------------------------------- */

#define QP_LINE_MAX 76

static const char hexdigits[] = "0123456789ABCDEF";

/* Encodes one logical line (no line break inside) into out. */
static void qp_line(apr_array_header_t *out, apr_pool_t *p, const char *s, apr_size_t len)
{
    char *buf = apr_palloc(p, len * 3 + len / 20 * 3 + 8);
    apr_size_t i, o = 0, col = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char enc[4];
        apr_size_t n;
        int last = (i + 1 == len);
        if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last)) {
            enc[0] = (char)c;
            n = 1;
        }
        else {
            enc[0] = '=';
            enc[1] = hexdigits[c >> 4];
            enc[2] = hexdigits[c & 15];
            n = 3;
        }
        /* keep room for the soft break "=" unless this is the line's end */
        if (col + n > (last ? QP_LINE_MAX : QP_LINE_MAX - 1)) {
            memcpy(buf + o, "=\r\n", 3);
            o += 3;
            col = 0;
        }
        memcpy(buf + o, enc, n);
        o += n;
        col += n;
    }
    APR_ARRAY_PUSH(out, const char *) = apr_pstrmemdup(p, buf, o);
}

char *pm_mail_qp_encode(apr_pool_t *p, const char *text)
{
    apr_array_header_t *out = apr_array_make(p, 16, sizeof(const char *));
    const char *s = text;

    while (*s) {
        apr_size_t len = strcspn(s, "\r\n");
        qp_line(out, p, s, len);
        APR_ARRAY_PUSH(out, const char *) = "\r\n";
        s += len;
        if (s[0] == '\r' && s[1] == '\n') {
            s += 2;
        }
        else if (*s) {
            s++;
        }
    }
    return apr_array_pstrcat(p, out, '\0');
}

static int hexval(char c)
{
    const char *h = strchr(hexdigits, c);

    return (c && h) ? (int)(h - hexdigits) : -1;
}

char *pm_mail_qp_decode(apr_pool_t *p, const char *qp)
{
    char *out = apr_palloc(p, strlen(qp) + 1), *o = out;
    const char *s = qp;

    while (*s) {
        if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
            s += 3;                                  /* soft break */
        }
        else if (s[0] == '=' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 3;
        }
        else if (s[0] == '\r' && s[1] == '\n') {
            *o++ = '\n';
            s += 2;
        }
        else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

static const char *mime_part(apr_pool_t *p, const char *boundary, const char *type,
                             const char *body)
{
    return apr_pstrcat(p, "--", boundary, "\r\n",
                       "Content-Type: ", type, "; charset=utf-8\r\n",
                       "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                       pm_mail_qp_encode(p, body),
                       /* the CRLF before a delimiter belongs to the delimiter */
                       "\r\n", NULL);
}

/* base64 in lines of 76 characters, CRLF after each */
static char *base64_lines(apr_pool_t *p, const unsigned char *data, apr_size_t len)
{
    const char *b64 = pm_base64_std(p, data, len);
    apr_size_t n = strlen(b64), i;
    char *out = apr_palloc(p, n + (n / 76 + 1) * 2 + 1), *o = out;

    for (i = 0; i < n; i += 76) {
        apr_size_t chunk = n - i < 76 ? n - i : 76;
        memcpy(o, b64 + i, chunk);
        o += chunk;
        *o++ = '\r';
        *o++ = '\n';
    }
    *o = '\0';
    return out;
}

const pm_mail_image *pm_mail_image_from_data_url(apr_pool_t *p, const char *url)
{
    static const char *const types[] = { "image/png", "image/jpeg", NULL };
    const char *const *t;
    pm_mail_image *img;
    long n;
    char *std;

    for (t = types; url && *t; t++) {
        const char *prefix = apr_pstrcat(p, "data:", *t, ";base64,", NULL);
        if (strncmp(url, prefix, strlen(prefix)) == 0) {
            std = apr_pstrdup(p, url + strlen(prefix));
            img = apr_pcalloc(p, sizeof(*img));
            img->type = *t;
            img->data = apr_palloc(p, (apr_size_t)apr_base64_decode_len(std) + 1);
            n = apr_base64_decode_binary((unsigned char *)img->data, std);
            if (n <= 0) {
                return NULL;
            }
            img->len = (apr_size_t)n;
            return img;
        }
    }
    return NULL;
}

static const char *alternative_body(apr_pool_t *p, const char *boundary, const char *text,
                                    const char *html)
{
    return apr_pstrcat(p, mime_part(p, boundary, "text/plain", text),
                       mime_part(p, boundary, "text/html", html),
                       "--", boundary, "--\r\n", NULL);
}

char *pm_mail_compose(apr_pool_t *p, const char *const *header_lines, int nheaders,
                      const char *text, const char *html, const char *boundary,
                      const pm_mail_image *logo)
{
    apr_array_header_t *out = apr_array_make(p, 16, sizeof(const char *));
    const char *alt = logo ? apr_pstrcat(p, boundary, "_alt", NULL) : boundary;
    int i;

    for (i = 0; i < nheaders; i++) {
        APR_ARRAY_PUSH(out, const char *) = apr_pstrcat(p, header_lines[i], "\r\n", NULL);
    }
    APR_ARRAY_PUSH(out, const char *) = "MIME-Version: 1.0\r\n";
    if (logo) {
        APR_ARRAY_PUSH(out, const char *) = apr_pstrcat(p,
            "Content-Type: multipart/related; type=\"multipart/alternative\";\r\n"
            " boundary=\"", boundary, "\"\r\n\r\n",
            "This is a multi-part message in MIME format.\r\n",
            "--", boundary, "\r\n",
            "Content-Type: multipart/alternative;\r\n boundary=\"", alt, "\"\r\n\r\n",
            alternative_body(p, alt, text, html),
            "--", boundary, "\r\n",
            "Content-Type: ", logo->type, "\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "Content-ID: <" PM_MAIL_LOGO_CID ">\r\n",
            "Content-Disposition: inline; filename=\"logo", 
            strcmp(logo->type, "image/png") == 0 ? ".png" : ".jpg", "\"\r\n\r\n",
            base64_lines(p, logo->data, logo->len),
            "--", boundary, "--\r\n", NULL);
    }
    else {
        APR_ARRAY_PUSH(out, const char *) = apr_pstrcat(p,
            "Content-Type: multipart/alternative;\r\n boundary=\"", boundary, "\"\r\n\r\n",
            "This is a multi-part message in MIME format.\r\n",
            alternative_body(p, boundary, text, html), NULL);
    }
    return apr_array_pstrcat(p, out, '\0');
}

/* ---- templates ------------------------------------------------------------- */

static const char *const placeholder_names[] = {
    "recipient_first_name", "practice_name", "link", "expires_at", NULL
};

static const char *var_value(const pm_mail_vars *v, const char *name, apr_size_t len)
{
    if (len == 20 && strncmp(name, "recipient_first_name", len) == 0) {
        return v->recipient_first_name;
    }
    if (len == 13 && strncmp(name, "practice_name", len) == 0) {
        return v->practice_name;
    }
    if (len == 4 && strncmp(name, "link", len) == 0) {
        return v->link;
    }
    if (len == 10 && strncmp(name, "expires_at", len) == 0) {
        return v->expires_at;
    }
    /* the address notice's catalog texts only (not in placeholder_names) */
    if (len == 10 && strncmp(name, "changed_at", len) == 0) {
        return v->changed_at;
    }
    if (len == 14 && strncmp(name, "practice_phone", len) == 0) {
        return v->practice_phone;
    }
    return NULL;
}

static int known_placeholder(const char *name, apr_size_t len)
{
    const char *const *k;

    for (k = placeholder_names; *k; k++) {
        if (strlen(*k) == len && strncmp(*k, name, len) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *pm_template_problem(apr_pool_t *p, const char *tmpl, int need_link)
{
    const char *s = tmpl, *open;
    int has_link = 0;

    while ((open = strstr(s, "{{")) != NULL) {
        const char *close = strstr(open + 2, "}}");
        apr_size_t len;
        if (close == NULL) {
            return "has a '{{' without a closing '}}'";
        }
        len = (apr_size_t)(close - open - 2);
        if (!known_placeholder(open + 2, len)) {
            return apr_psprintf(p, "uses the unknown placeholder {{%.*s}} (known: "
                                "{{recipient_first_name}}, {{practice_name}}, {{link}}, "
                                "{{expires_at}})", (int)(len > 40 ? 40 : len), open + 2);
        }
        has_link |= (len == 4 && strncmp(open + 2, "link", 4) == 0);
        s = close + 2;
    }
    if (need_link && !has_link) {
        return "must contain {{link}}, where the invitation link goes";
    }
    return NULL;
}

/* Walks tmpl, calling emit for literal text and for each placeholder value. */
typedef struct {
    const pm_mail_vars *v;
    const char *brand;               /* #rrggbb, checked */
} render_ctx;

typedef void (*emit_fn)(apr_pool_t *p, apr_array_header_t *out, const char *text,
                        apr_size_t len, const char *placeholder, const render_ctx *ctx);

static char *render(apr_pool_t *p, const char *tmpl, const pm_mail_vars *v, emit_fn emit,
                    const char *brand)
{
    apr_array_header_t *out = apr_array_make(p, 16, sizeof(const char *));
    const char *s = tmpl, *open;
    render_ctx ctx;

    ctx.v = v;
    ctx.brand = brand;
    while ((open = strstr(s, "{{")) != NULL) {
        const char *close = strstr(open + 2, "}}");
        const char *value;
        if (close == NULL) {
            break;
        }
        value = var_value(v, open + 2, (apr_size_t)(close - open - 2));
        emit(p, out, s, (apr_size_t)(open - s), NULL, &ctx);
        if (value) {
            int is_link = (close - open - 2 == 4 && strncmp(open + 2, "link", 4) == 0);
            emit(p, out, value, strlen(value), is_link ? "link" : "value", &ctx);
        }
        s = close + 2;
    }
    emit(p, out, s, strlen(s), NULL, &ctx);
    return apr_array_pstrcat(p, out, '\0');
}

static void emit_text(apr_pool_t *p, apr_array_header_t *out, const char *text,
                      apr_size_t len, const char *placeholder, const render_ctx *ctx)
{
    APR_ARRAY_PUSH(out, const char *) = apr_pstrmemdup(p, text, len);
}

char *pm_template_text(apr_pool_t *p, const char *tmpl, const pm_mail_vars *v)
{
    return render(p, tmpl, v, emit_text, NULL);
}

static int has_text(const char *s)
{
    return s != NULL && *s != '\0';
}

char *pm_mail_footer_text(apr_pool_t *p, const pm_mail_vars *v)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));

    if (has_text(v->practice_name)) {
        APR_ARRAY_PUSH(out, const char *) = apr_pstrcat(p, v->practice_name, "\n", NULL);
    }
    if (has_text(v->practice_phone)) {
        APR_ARRAY_PUSH(out, const char *) =
            apr_pstrcat(p, has_text(v->phone_label) ? v->phone_label : "",
                        has_text(v->phone_label) ? ": " : "", v->practice_phone, "\n", NULL);
    }
    if (has_text(v->practice_address)) {
        APR_ARRAY_PUSH(out, const char *) = apr_pstrcat(p, v->practice_address, "\n", NULL);
    }
    if (has_text(v->footer_note)) {
        APR_ARRAY_PUSH(out, const char *) =
            apr_pstrcat(p, out->nelts ? "\n" : "", v->footer_note, "\n", NULL);
    }
    if (out->nelts == 0) {
        return "";
    }
    return apr_pstrcat(p, "\n-- \n", apr_array_pstrcat(p, out, '\0'), NULL);
}

/* ---- the HTML layout ------------------------------------------------------------ */

#define DEFAULT_BRAND "#1a5fb4"
#define FONT "font-family:Arial,Helvetica,sans-serif;"

static int is_rrggbb(const char *s)
{
    return s != NULL && s[0] == '#' && strlen(s) == 7 && strspn(s + 1, "0123456789abcdefABCDEF") == 6;
}

/* WCAG 2 relative luminance of #rrggbb */
static double luminance(const char *rrggbb)
{
    double sum = 0;
    static const double weight[3] = { 0.2126, 0.7152, 0.0722 };
    int i;

    for (i = 0; i < 3; i++) {
        char hex[3] = { rrggbb[1 + 2 * i], rrggbb[2 + 2 * i], '\0' };
        double c = (double)strtol(hex, NULL, 16) / 255.0, lin;
        /* (c + 0.055) / 1.055 squared and a bit: close enough to ^2.4 for a choice of two */
        lin = c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) * ((c + 0.055) / 1.055)
                                          * (0.5 + 0.5 * (c + 0.055) / 1.055);
        sum += weight[i] * lin;
    }
    return sum;
}

#define ON_DARK "#ffffff"
#define ON_LIGHT "#000000"   /* not a softer near-black: on a middle colour only
                                * black or white reaches 4.5:1 (#7c7c7c: 4.2 and 4.5) */

const char *pm_mail_on_color(const char *rrggbb)
{
    double l = is_rrggbb(rrggbb) ? luminance(rrggbb) : 0;
    double white = 1.05 / (l + 0.05), dark = (l + 0.05) / 0.05;

    return white >= dark ? ON_DARK : ON_LIGHT;
}

/* A link colour readable on the white page: the brand's when it contrasts 4.5:1. */
static const char *link_color(const char *brand)
{
    return 1.05 / (luminance(brand) + 0.05) >= 4.5 ? brand : DEFAULT_BRAND;
}

static const char *button_html(apr_pool_t *p, const char *esc_link, const render_ctx *ctx)
{
    const pm_mail_vars *v = ctx->v;
    const char *hint = has_text(v->link_hint)
        ? apr_pstrcat(p, "<br>\n<span style=\"font-size:13px;color:#52525b\">",
                      pm_html_escape(p, v->link_hint), "<br>\n<a href=\"", esc_link,
                      "\" style=\"color:", link_color(ctx->brand), ";word-break:break-all\">",
                      esc_link, "</a></span>", NULL)
        : "";

    const char *label = pm_html_escape(p, v->button_label);
    const char *on = pm_mail_on_color(ctx->brand);

    /* Outlook on Windows draws no padding or background on a link: a VML button for
     * it, the styled link for every other client */
    return apr_pstrcat(p,
        "<!--[if mso]>\n<v:roundrect xmlns:v=\"urn:schemas-microsoft-com:vml\" "
        "xmlns:w=\"urn:schemas-microsoft-com:office:word\" href=\"", esc_link, "\" "
        "style=\"height:44px;v-text-anchor:middle;width:280px\" arcsize=\"10%\" "
        "strokecolor=\"", ctx->brand, "\" fillcolor=\"", ctx->brand, "\">\n<w:anchorlock/>\n"
        "<center style=\"color:", on, ";" FONT "font-size:16px;font-weight:bold\">", label,
        "</center>\n</v:roundrect>\n<![endif]-->\n<!--[if !mso]><!-->"
        "<a href=\"", esc_link, "\" style=\"display:inline-block;margin:8px 0;"
        "padding:12px 24px;background-color:", ctx->brand, ";border:1px solid ", ctx->brand,
        ";border-radius:4px;color:", on, ";" FONT
        "font-size:16px;font-weight:bold;line-height:1.25;text-decoration:none\">",
        label, "</a><!--<![endif]-->", hint, NULL);
}

/* Literal text: escaped, blank lines end a paragraph, single newlines become <br>. */
static const char *paragraphs(apr_pool_t *p, const char *esc)
{
    apr_array_header_t *parts = apr_array_make(p, 4, sizeof(const char *));
    const char *c;

    for (c = esc; *c; c++) {
        if (c[0] == '\n' && c[1] == '\n') {
            APR_ARRAY_PUSH(parts, const char *) = "</p>\n<p>";
            while (c[1] == '\n') {
                c++;
            }
        }
        else if (c[0] == '\n') {
            APR_ARRAY_PUSH(parts, const char *) = "<br>\n";
        }
        else if (c[0] != '\r') {
            APR_ARRAY_PUSH(parts, const char *) = apr_pstrmemdup(p, c, 1);
        }
    }
    return apr_array_pstrcat(p, parts, '\0');
}

static void emit_html(apr_pool_t *p, apr_array_header_t *out, const char *text,
                      apr_size_t len, const char *placeholder, const render_ctx *ctx)
{
    char *esc = pm_html_escape(p, apr_pstrmemdup(p, text, len));

    if (placeholder && strcmp(placeholder, "link") == 0) {
        APR_ARRAY_PUSH(out, const char *) = has_text(ctx->v->button_label)
            ? button_html(p, esc, ctx)
            : apr_psprintf(p, "<a href=\"%s\" style=\"color:%s\">%s</a>", esc, ctx->brand, esc);
        return;
    }
    APR_ARRAY_PUSH(out, const char *) = placeholder ? esc : paragraphs(p, esc);
}

static const char *footer_html(apr_pool_t *p, const pm_mail_vars *v)
{
    const char *text = pm_mail_footer_text(p, v);

    if (*text == '\0') {
        return "";
    }
    text += strlen("\n-- \n");
    return apr_pstrcat(p,
        "<tr><td style=\"padding:16px 32px 24px 32px;border-top:1px solid #e4e4e7;" FONT
        "font-size:13px;line-height:1.5;color:#52525b\">\n<p style=\"margin:0\">",
        paragraphs(p, pm_html_escape(p, apr_pstrndup(p, text, strlen(text) - 1))),
        "</p>\n</td></tr>\n", NULL);
}

static const char *logo_html(apr_pool_t *p, const pm_mail_vars *v)
{
    return apr_pstrcat(p,
        "<tr><td style=\"padding:24px 32px 0 32px\">"
        "<img src=\"cid:" PM_MAIL_LOGO_CID "\" alt=\"",
        pm_html_escape(p, v->practice_name ? v->practice_name : ""),
        "\" height=\"64\" style=\"display:block;height:auto;max-height:64px;max-width:240px;"
        "border:0;outline:none;text-decoration:none\"></td></tr>\n", NULL);
}

/* Mail clients drop or rewrite <style> and classes, so every element carries its
 * own style; the head only adds what inline styles cannot say: the narrow-screen
 * width, resets, no automatic links over the footer's phone and address (iOS), and
 * Outlook's pixel density. The layout is large enough (over 3,200 bytes with a logo,
 * whatever the template) that SpamAssassin's HTML_IMAGE_ONLY_* rules never apply. */
static const char html_head[] =
    " xmlns=\"http://www.w3.org/1999/xhtml\" "
    "xmlns:v=\"urn:schemas-microsoft-com:vml\" xmlns:o=\"urn:schemas-microsoft-com:office:office\">\n"
    "<head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta name=\"x-apple-disable-message-reformatting\">\n"
    "<meta name=\"format-detection\" content=\"telephone=no, address=no, email=no\">\n"
    "<meta name=\"color-scheme\" content=\"light\">\n"
    "<meta name=\"supported-color-schemes\" content=\"light\">\n"
    "<!--[if mso]>\n<noscript><xml><o:OfficeDocumentSettings>"
    "<o:PixelsPerInch>96</o:PixelsPerInch></o:OfficeDocumentSettings></xml></noscript>\n"
    "<![endif]-->\n"
    "<style>\n"
    "body{margin:0;padding:0;width:100%;-webkit-text-size-adjust:100%;"
    "-ms-text-size-adjust:100%}\n"
    "table,td{border-collapse:collapse;mso-table-lspace:0;mso-table-rspace:0}\n"
    "img{border:0;outline:none;text-decoration:none;-ms-interpolation-mode:bicubic}\n"
    "p{margin:0 0 16px 0}\n"
    "a[x-apple-data-detectors]{color:inherit !important;text-decoration:none !important;"
    "font-size:inherit !important;font-family:inherit !important;"
    "font-weight:inherit !important;line-height:inherit !important}\n"
    "@media only screen and (max-width:620px){"
    ".pm-card{width:100% !important}.pm-pad{padding:16px !important}}\n"
    "</style>\n";

/* Outlook on Windows ignores max-width: a fixed 600-pixel table for it alone. */
static const char mso_open[] =
    "<!--[if mso]>\n<table role=\"presentation\" align=\"center\" width=\"600\" "
    "cellpadding=\"0\" cellspacing=\"0\" border=\"0\"><tr><td width=\"600\">\n<![endif]-->\n";
static const char mso_close[] = "<!--[if mso]>\n</td></tr></table>\n<![endif]-->\n";

char *pm_template_html(apr_pool_t *p, const char *tmpl, const pm_mail_vars *v,
                       const char *brand_color, int with_logo)
{
    const char *brand = is_rrggbb(brand_color) ? brand_color : DEFAULT_BRAND;

    return apr_pstrcat(p, "<!DOCTYPE html>\n<html",
        v->lang ? apr_pstrcat(p, " lang=\"", pm_html_escape(p, v->lang), "\"", NULL) : "",
        html_head,
        "<title>", pm_html_escape(p, v->practice_name ? v->practice_name : ""), "</title>\n"
        "</head>\n<body style=\"margin:0;padding:0;background-color:#f4f4f5\">\n"
        "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" "
        "border=\"0\" style=\"width:100%;background-color:#f4f4f5\">\n"
        "<tr><td align=\"center\" class=\"pm-pad\" style=\"padding:24px 12px\">\n",
        mso_open,
        "<table role=\"presentation\" class=\"pm-card\" width=\"600\" cellpadding=\"0\" "
        "cellspacing=\"0\" border=\"0\" style=\"width:600px;max-width:600px;"
        "background-color:#ffffff;border:1px solid #e4e4e7;border-radius:6px\">\n",
        with_logo ? logo_html(p, v) : "",
        "<tr><td class=\"pm-pad\" style=\"padding:24px 32px;" FONT
        "font-size:16px;line-height:1.5;color:#222222\">\n<p>",
        render(p, tmpl, v, emit_html, brand), "</p>\n</td></tr>\n",
        footer_html(p, v),
        "</table>\n", mso_close, "</td></tr>\n</table>\n</body></html>\n", NULL);
}
