/* pm_charset.h — text in another character set made UTF-8 while it is read,
 * with ICU's converters: a roster CSV that a spreadsheet saved as Windows-1252
 * ("CSV (Comma delimited)" in Excel on Windows) read as the sync reads UTF-8. */
#ifndef PM_CHARSET_H
#define PM_CHARSET_H

#include <apr_pools.h>

/* A source of bytes, as pm_roster_read_fn: fills buf with up to *len bytes and
 * sets *len; *len = 0 at the end. */
typedef apr_status_t (*pm_charset_read_fn)(void *ctx, char *buf, apr_size_t *len);

/* Whether name means UTF-8 itself ("UTF-8", "utf8"; ICU's aliases). */
int pm_charset_is_utf8(const char *name);

/* A reader of `read` converted from the character set `name` (any name or alias
 * ICU knows: "windows-1252", "ISO-8859-1", "macintosh") to UTF-8; NULL when ICU
 * knows no such character set. Its converters are closed with p. */
typedef struct pm_charset_reader pm_charset_reader;
pm_charset_reader *pm_charset_reader_make(apr_pool_t *p, const char *name,
                                          pm_charset_read_fn read, void *ctx);

/* The converted bytes (a pm_charset_read_fn over a pm_charset_reader; a UTF-8
 * sequence may end in the next call's bytes); a byte the character set leaves
 * undefined becomes a control character (ICU's windows-1252: 0x81 is U+0081), which
 * the roster refuses, by its line. APR_EGENERAL when ICU fails; the source's own errors as they are. */
apr_status_t pm_charset_read(void *reader, char *buf, apr_size_t *len);

/* in[0..in_len) converted whole into *out (NUL-terminated, *out_len without it):
 * APR_SUCCESS, or APR_EGENERAL when ICU knows no character set `name` or fails. */
apr_status_t pm_charset_convert(apr_pool_t *p, const char *name, const char *in,
                                apr_size_t in_len, char **out, apr_size_t *out_len);

#endif
