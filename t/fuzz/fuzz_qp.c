/* fuzz_qp — quoted-printable (pm_mail_qp_encode) on arbitrary text, with the round
 * trip checked by a decoder written here: decoding gives back the input (line
 * breaks CRLF, CR or LF all read as LF, plus a final LF), no line over 76, only
 * CRLF line ends, nothing but printable ASCII, no space or tab before a line end.
 * The module's own decoder must agree, and a whole message built around the
 * text (pm_mail_compose) keeps every line within 78. */
#include "fuzz.h"
#include "pm_mail_format.h"

static int hex(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Strict RFC 2045 decoding of our own output; CRLF becomes LF. */
static char *decode(apr_pool_t *p, const char *qp)
{
    char *out = apr_palloc(p, strlen(qp) + 1), *o = out;
    const char *s = qp;

    while (*s) {
        if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
            s += 3;
        }
        else if (s[0] == '=') {
            check(hex(s[1]) >= 0 && hex(s[2]) >= 0, "'=' is followed by two upper-case hex digits");
            *o++ = (char)(hex(s[1]) * 16 + hex(s[2]));
            s += 3;
        }
        else if (s[0] == '\r') {
            check(s[1] == '\n', "CR only as part of CRLF");
            *o++ = '\n';
            s += 2;
        }
        else {
            check(*s != '\n', "LF only as part of CRLF");
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

/* The input as the reader should get it back. */
static char *expected(apr_pool_t *p, const char *in)
{
    size_t n = strlen(in);
    char *out = apr_palloc(p, n + 2), *o = out;
    const char *s;

    for (s = in; *s; s++) {
        if (s[0] == '\r' && s[1] == '\n') {
            s++;
        }
        *o++ = (*s == '\r') ? '\n' : *s;
    }
    if (o > out && o[-1] != '\n') {
        *o++ = '\n';
    }
    *o = '\0';
    return out;
}

static void check_qp_lines(const char *qp)
{
    const char *line = qp, *e;

    while ((e = strstr(line, "\r\n")) != NULL) {
        size_t n = (size_t)(e - line), i;
        check(n <= 76, "no quoted-printable line over 76");
        for (i = 0; i < n; i++) {
            check(line[i] == ' ' || line[i] == '\t' || (line[i] > 32 && line[i] < 127),
                  "printable ASCII, space and tab only");
        }
        check(n == 0 || (line[n - 1] != ' ' && line[n - 1] != '\t'),
              "no space or tab before a line end");
        line = e + 2;
    }
    check(*line == '\0', "the encoding ends with CRLF");
}

static void check_message(apr_pool_t *p, const char *text)
{
    const char *headers[] = { "Subject: fuzz", "To: <a@example.org>" };
    const char *m = pm_mail_compose(p, headers, 2, text, text, "b0undary", NULL);
    const char *line = m, *e;

    while ((e = strstr(line, "\r\n")) != NULL) {
        check((size_t)(e - line) <= 78, "no message line over 78");
        check(memchr(line, '\n', (size_t)(e - line)) == NULL
              && memchr(line, '\r', (size_t)(e - line)) == NULL, "no bare CR or LF in the message");
        line = e + 2;
    }
    check(*line == '\0', "the message ends with CRLF");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *text = fuzz_cstr(p, data, size);
    char *qp = pm_mail_qp_encode(p, text);

    check_qp_lines(qp);
    check(strcmp(decode(p, qp), expected(p, text)) == 0, "decoding gives back the input");
    check(strcmp(pm_mail_qp_decode(p, qp), expected(p, text)) == 0,
          "pm_mail_qp_decode agrees");
    check_message(p, text);
    apr_pool_destroy(p);
    return 0;
}
