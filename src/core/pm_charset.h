/* pm_charset.h — text in another character set made UTF-8 while it is read,
 * with ICU's converters: a roster CSV that a spreadsheet saved as Windows-1252
 * ("CSV (Comma delimited)" in Excel on Windows) read as the sync reads UTF-8. */
#ifndef PM_CHARSET_H
#define PM_CHARSET_H

#include <apr_errno.h>
#include <apr_pools.h>

/* What pm_charset_read answers when the text it is to convert from a single-byte
 * character set is UTF-8 already (its first character beyond ASCII, a byte-order
 * mark or a letter, is written as UTF-8 writes it; decided there, however the
 * source is cut into reads): converted, every accented letter would become two
 * wrong ones. */
#define PM_CHARSET_IS_UTF8 (APR_OS_START_USERERR + 701)

/* A source of bytes, as pm_roster_read_fn: fills buf with up to *len bytes and
 * sets *len; *len = 0 at the end. */
typedef apr_status_t (*pm_charset_read_fn)(void *ctx, char *buf, apr_size_t *len);

/* Whether ICU knows a character set by this name or alias ("" is not one). */
int pm_charset_known(const char *name);

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
 * undefined becomes a control character the roster refuses, by its line: U+001A,
 * or for the five Windows-1252 leaves out the C1 controls ICU's table gives them. PM_CHARSET_IS_UTF8 (above); APR_EGENERAL when ICU fails; the source's
 * own errors as they are. */
apr_status_t pm_charset_read(void *reader, char *buf, apr_size_t *len);

/* in[0..in_len) converted whole into *out (NUL-terminated, *out_len without it):
 * APR_SUCCESS, PM_CHARSET_IS_UTF8, or APR_EGENERAL when ICU knows no character set
 * `name` or fails. */
apr_status_t pm_charset_convert(apr_pool_t *p, const char *name, const char *in,
                                apr_size_t in_len, char **out, apr_size_t *out_len);

#endif
