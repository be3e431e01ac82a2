/* fuzz_header — header encoding and folding (pm_mail_header, pm_mail_mailbox_header)
 * on arbitrary bytes. The first byte picks the header name and, for a mailbox, the
 * shape of a valid address; the rest is the value or display name. Properties: only
 * CRLF SP folds, no line over 78 (a lone " <addr>" line for an address over 75
 * characters excepted), RFC 2047 words of at most 75 characters holding whole UTF-8
 * characters, and what a reader decodes is the value (invalid UTF-8 as U+FFFD; runs
 * of spaces between plain words as one space). Decoding is written here, with APR's
 * base64 decoder. */
#include "fuzz.h"
#include "pm_mail_format.h"
#include "pm_text.h"

#include <apr_base64.h>
#include <apr_tables.h>

static const char *const names[] = { "Subject", "To", "From", "Reply-To",
                                     "X-Long-Header-Name-For-Fuzzing" };

/* Lines split on CRLF; a CR or LF elsewhere, a line over 78 that is not the allowed
 * lone address, or a bad continuation line is a finding. */
static void check_lines(apr_pool_t *p, const char *h, const char *lone)
{
    const char *s = h, *e;
    int first = 1;

    for (;;) {
        const char *line;
        size_t n;
        e = strstr(s, "\r\n");
        n = e ? (size_t)(e - s) : strlen(s);
        line = apr_pstrmemdup(p, s, n);
        check(strpbrk(line, "\r\n") == NULL, "no CR or LF outside CRLF");
        check(n <= 78 || (lone && strcmp(line, lone) == 0), "no line over 78 characters");
        if (!first) {
            check(line[0] == ' ' && strspn(line, " \t") < n, "continuation: SP then text");
        }
        first = 0;
        if (e == NULL) {
            break;
        }
        s = e + 2;
    }
}

/* Field body after "Name:", unfolded, split at spaces. */
static apr_array_header_t *tokens_of(apr_pool_t *p, const char *h, const char *name)
{
    apr_array_header_t *t = apr_array_make(p, 8, sizeof(char *));
    char *body, *o, *tok, *state = NULL;
    const char *s;

    check(strncmp(h, name, strlen(name)) == 0 && h[strlen(name)] == ':', "starts with Name:");
    body = o = apr_pstrdup(p, h + strlen(name) + 1);
    for (s = body; *s; s++) {
        if (s[0] == '\r' && s[1] == '\n') {
            s++;
            continue;
        }
        *o++ = *s;
    }
    *o = '\0';
    for (tok = apr_strtok(body, " ", &state); tok; tok = apr_strtok(NULL, " ", &state)) {
        APR_ARRAY_PUSH(t, char *) = tok;
    }
    return t;
}

/* Decoded text of an encoded-word, or NULL when tok is not "=?UTF-8?B?...?=". */
static char *decode_word(apr_pool_t *p, const char *tok)
{
    size_t n = strlen(tok);
    char *b64, *out;
    int len;

    if (n < 12 || strncmp(tok, "=?UTF-8?B?", 10) != 0 || strcmp(tok + n - 2, "?=") != 0) {
        return NULL;
    }
    check(n <= 75, "an encoded-word is at most 75 characters");
    b64 = apr_pstrmemdup(p, tok + 10, n - 12);
    check(strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
          == strlen(b64) && strlen(b64) % 4 == 0, "encoded-word text is base64");
    out = apr_palloc(p, (apr_size_t)apr_base64_decode_len(b64) + 1);
    len = apr_base64_decode_binary((unsigned char *)out, b64);
    out[len] = '\0';
    check((size_t)len == strlen(out), "no NUL inside an encoded-word");
    check(fuzz_utf8_ok((unsigned char *)out, (size_t)len), "encoded-word holds whole UTF-8");
    return out;
}

/* The words of s split at spaces, joined by one space. */
static char *words(apr_pool_t *p, const char *s)
{
    apr_array_header_t *t = apr_array_make(p, 8, sizeof(char *));
    char *copy = apr_pstrdup(p, s), *w, *state = NULL;

    for (w = apr_strtok(copy, " ", &state); w; w = apr_strtok(NULL, " ", &state)) {
        APR_ARRAY_PUSH(t, char *) = w;
    }
    return apr_array_pstrcat(p, t, ' ');
}

/* What a reader gets from the tokens: encoded-words concatenated, or plain words. */
static void check_decodes(apr_pool_t *p, apr_array_header_t *t, const char *value)
{
    char *dec;
    int i;

    if (t->nelts > 0 && (dec = decode_word(p, APR_ARRAY_IDX(t, 0, char *))) != NULL) {
        char *all = dec;
        for (i = 1; i < t->nelts; i++) {
            dec = decode_word(p, APR_ARRAY_IDX(t, i, char *));
            check(dec != NULL, "encoded-words are not mixed with plain words");
            all = apr_pstrcat(p, all, dec, NULL);
        }
        check(strcmp(all, pm_utf8_sanitize(p, value)) == 0,
              "encoded-words decode to the value (invalid UTF-8 as U+FFFD)");
        return;
    }
    for (i = 0; i < t->nelts; i++) {
        const char *w = APR_ARRAY_IDX(t, i, char *);
        size_t k;
        check(strstr(w, "=?") == NULL, "a plain word never looks like an encoded-word");
        for (k = 0; w[k]; k++) {
            check(w[k] > 0x20 && w[k] < 0x7F, "plain words are printable ASCII");
        }
    }
    check(strcmp(apr_array_pstrcat(p, t, ' '), words(p, value)) == 0,
          "plain words are the value's words");
}

static void fuzz_unstructured(apr_pool_t *p, const char *name, const char *value)
{
    const char *h = pm_mail_header(p, name, value);

    check_lines(p, h, NULL);
    check_decodes(p, tokens_of(p, h, name), value);
}

/* A valid address shaped by two bytes: local part 1..64, total up to 254. */
static const char *make_address(apr_pool_t *p, unsigned char a, unsigned char b)
{
    size_t local = (size_t)(a % 64) + 1, domain = 5 + (size_t)b * 184 / 255, i;
    char *out = apr_palloc(p, local + domain + 2), *o = out;

    for (i = 0; i < local; i++) {
        *o++ = "abcdefghijklmnopqrstuvwxyz0123456789.+_-"[(i * 7 + a) % 40];
    }
    if (out[0] == '.') out[0] = 'x';
    if (o[-1] == '.') o[-1] = 'x';
    for (i = 0; i + 1 < local; i++) {
        if (out[i] == '.' && out[i + 1] == '.') out[i + 1] = 'y';
    }
    *o++ = '@';
    for (i = 0; i < domain - 4; i++) {
        *o++ = (i % 60 == 59 && i + 1 < domain - 4) ? '.' : 'd';
    }
    memcpy(o, ".org", 5);
    return out;
}

static void fuzz_mailbox(apr_pool_t *p, const char *name, const char *display,
                         const char *addr)
{
    const char *h = pm_mail_mailbox_header(p, name, display, addr);
    const char *angle = apr_pstrcat(p, "<", addr, ">", NULL), *cut;
    const char *lone = strlen(addr) > 75 ? apr_pstrcat(p, " ", angle, NULL) : NULL;
    apr_array_header_t *t;
    char *head;
    size_t hl = strlen(h), al = strlen(angle);

    check(hl > al && strcmp(h + hl - al, angle) == 0 && h[hl - al - 1] == ' ',
          "ends with SP <addr>");
    check_lines(p, h, lone);
    cut = h + hl - al - 1;                       /* the SP before "<" */
    if (cut - h >= 2 && cut[-2] == '\r' && cut[-1] == '\n') {
        cut -= 2;
    }
    head = apr_pstrmemdup(p, h, (size_t)(cut - h));
    t = tokens_of(p, head, name);
    if (t->nelts > 0 && APR_ARRAY_IDX(t, 0, char *)[0] == '"') {
        /* one quoted-string: unescape and compare with the display name */
        const char *q = strchr(head, '"');
        char *un = apr_palloc(p, strlen(q) + 1), *o = un;
        for (q++; *q && *q != '"'; q++) {
            if (*q == '\\') {
                q++;
                check(*q != '\0', "no dangling backslash");
            }
            *o++ = *q;
        }
        *o = '\0';
        check(*q == '"' && q[1] == '\0', "the quoted string is the whole display name");
        check(strcmp(un, display) == 0, "the quoted string unescapes to the display name");
        return;
    }
    check_decodes(p, t, display ? display : "");
    if (t->nelts > 0 && strncmp(APR_ARRAY_IDX(t, 0, char *), "=?", 2) != 0) {
        int i;
        for (i = 0; i < t->nelts; i++) {
            check(strpbrk(APR_ARRAY_IDX(t, i, char *), "()<>[]:;@\\,.\"") == NULL,
                  "atoms hold no specials");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *value, *name;

    if (size < 3) {
        return 0;
    }
    p = fuzz_pool();
    name = names[data[0] % 5];
    value = fuzz_cstr(p, data + 3, size - 3);
    if (data[0] & 0x80) {
        const char *addr = make_address(p, data[1], data[2]);
        check(pm_email_problem(addr) == NULL, "the harness builds valid addresses");
        fuzz_mailbox(p, name, value, addr);
    }
    else {
        fuzz_unstructured(p, name, value);
    }
    apr_pool_destroy(p);
    return 0;
}
