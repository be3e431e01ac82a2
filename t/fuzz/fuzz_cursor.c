/* fuzz_cursor — paging cursors (pm_cursor): arbitrary text never decodes (no
 * forgery, no crash); fields taken from the input survive encode/decode; a cursor
 * with a changed character, or read with the wrong field count, is refused; and
 * base64url decoding agrees with re-encoding. */
#include "fuzz.h"
#include "pm_base64.h"
#include "pm_cursor.h"

static const unsigned char key[PM_CURSOR_KEY_LEN] = "fuzz-key-0123456789abcdefghijklm";

static void round_trip(apr_pool_t *p, const char *in)
{
    const char *fields[4], *back[5];
    char *copy = apr_pstrdup(p, in), *sep, *cur;
    const char *cursor;
    int n = 0, i;

    for (cur = copy; n < 4; cur = sep + 1) {
        fields[n++] = cur;
        if ((sep = strchr(cur, '\x1f')) == NULL) {
            break;
        }
        *sep = '\0';
    }
    cursor = pm_cursor_encode(p, key, fields, n);
    check(cursor != NULL && strspn(cursor, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_") == strlen(cursor), "cursor is base64url");
    if (strlen(cursor) > 2048) {
        return;                        /* refused by length, as documented */
    }
    check(pm_cursor_decode(p, key, cursor, back, n) == 0, "own cursor decodes");
    for (i = 0; i < n; i++) {
        check(strcmp(back[i], fields[i]) == 0, "fields come back unchanged");
    }
    check(pm_cursor_decode(p, key, cursor, back, n + 1) == -1, "wrong field count refused");
    {
        char *bad = apr_pstrdup(p, cursor);
        size_t at = strlen(bad) / 2;
        bad[at] = bad[at] == 'A' ? 'B' : 'A';
        check(pm_cursor_decode(p, key, bad, back, n) == -1, "a changed character is refused");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *s = fuzz_cstr(p, data, size);
    const char *fields[4];
    unsigned char *raw;
    long n;

    check(pm_cursor_decode(p, key, s, fields, 1) == -1 && pm_cursor_decode(p, key, s, fields, 3) == -1,
          "arbitrary text is never a valid cursor");
    n = pm_base64url_decode(p, s, &raw);
    if (n >= 0) {
        unsigned char *again;
        const char *enc = pm_base64url_encode(p, raw, (apr_size_t)n);
        check(pm_base64url_decode(p, enc, &again) == n && memcmp(raw, again, (size_t)n) == 0,
              "base64url: decode(encode(decode(s))) == decode(s)");
    }
    round_trip(p, s);
    apr_pool_destroy(p);
    return 0;
}
