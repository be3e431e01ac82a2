/* Unit tests for paging cursors and base64url (src/core/pm_cursor.c). */
#include "pm_base64.h"
#include "pm_cursor.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

int main(void)
{
    apr_pool_t *p;
    unsigned char key[PM_CURSOR_KEY_LEN], other[PM_CURSOR_KEY_LEN];
    const char *in[3] = { "núñez", "zoë", "42" };
    const char *out[3] = { NULL, NULL, NULL };
    const char *empty_in[3] = { "", "", "7" };
    const char *c, *c2;
    char *forged;
    unsigned char *bytes;
    long n;

    apr_initialize();
    apr_pool_create(&p, NULL);
    memset(key, 7, sizeof(key));
    memset(other, 8, sizeof(other));

    c = pm_cursor_encode(p, key, in, 3);
    ok(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(c),
       "cursor is URL-safe");
    n = pm_base64url_decode(p, c, &bytes);
    ok(n > 0 && memmem(bytes, (size_t)n, "núñez", strlen("núñez")) == NULL
       && memmem(bytes, (size_t)n, "zoë", strlen("zoë")) == NULL,
       "cursor bytes do not hold its fields in clear");
    ok(strcmp(c, pm_cursor_encode(p, key, in, 3)) != 0, "each cursor is sealed afresh");
    ok(pm_cursor_decode(p, key, c, out, 3) == 0, "round trip decodes");
    is_str(out[0], "núñez", "field 1");
    is_str(out[1], "zoë", "field 2");
    is_str(out[2], "42", "field 3");
    ok(pm_cursor_decode(p, other, c, out, 3) != 0, "another key refuses it");
    ok(pm_cursor_decode(p, key, c, out, 2) != 0, "wrong field count refused");
    forged = apr_pstrdup(p, c);
    forged[2] = forged[2] == 'A' ? 'B' : 'A';
    ok(pm_cursor_decode(p, key, forged, out, 3) != 0, "a changed payload byte is refused");
    forged = apr_pstrdup(p, c);
    forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == 'A' ? 'B' : 'A';
    ok(pm_cursor_decode(p, key, forged, out, 3) != 0, "a changed tag byte is refused");
    ok(pm_cursor_decode(p, key, "garbage", out, 3) != 0, "short garbage refused");
    ok(pm_cursor_decode(p, key, "a!b.c", out, 3) != 0, "non-base64url refused");
    ok(pm_cursor_decode(p, key, "", out, 3) != 0, "empty refused");
    c2 = pm_cursor_encode(p, key, empty_in, 3);
    ok(pm_cursor_decode(p, key, c2, out, 3) == 0 && out[0][0] == '\0' && out[1][0] == '\0',
       "empty fields survive");

    is_str(pm_base64url_encode(p, (const unsigned char *)"\xfb\xff", 2), "-_8",
           "base64url alphabet, no padding");
    n = pm_base64url_decode(p, "-_8", &bytes);
    ok(n == 2 && bytes[0] == 0xfb && bytes[1] == 0xff, "base64url decodes");
    ok(pm_base64url_decode(p, "abcde", &bytes) < 0, "impossible length refused");

    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
