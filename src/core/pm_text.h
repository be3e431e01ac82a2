/* pm_text.h — pure text helpers: UTF-8 checks, the characters a name may hold (ICU's
 * character properties), and email address validation. No httpd symbols. */
#ifndef PM_TEXT_H
#define PM_TEXT_H

#include <apr_pools.h>
#include <stddef.h>

/* "1 minute", "5 minutes": a wait in words, for messages people read. */
const char *pm_minutes_text(apr_pool_t *p, int minutes);

/* 1 when s[0..len) is well-formed UTF-8 without NUL or C0/C1 control characters
 * (tab, CR and LF excepted when allow_newlines is set). */
int pm_utf8_valid(const char *s, size_t len, int allow_newlines);

/* 1 when s, refused by pm_utf8_valid, has bytes beyond ASCII and no ASCII control
 * character: text in another character set more likely than a typing slip (a CSV
 * a spreadsheet saved on Windows, in windows-1252). */
int pm_text_other_charset(const char *s);

/* Copy of s where every byte that does not start a well-formed UTF-8 sequence
 * (stray continuation bytes, truncated or overlong sequences, surrogates) is
 * replaced by U+FFFD, so the result is always valid UTF-8. */
char *pm_utf8_sanitize(apr_pool_t *p, const char *s);

/* The same into out, which has room for 3 * len + 1 bytes; returns the length
 * written (a NUL follows). For callers without a pool. */
size_t pm_utf8_repair(char *out, const char *s, size_t len);

/* s cut to its first max_chars characters (code points; a malformed byte counts as
 * one), never inside a character: for quoting a value in a message ('%.40s' cuts
 * bytes and can leave half a character). s itself when it is short enough. */
const char *pm_utf8_head(apr_pool_t *p, const char *s, size_t max_chars);

/* Copy of s (an SMTP reply, a libcurl message) with the local part of every
 * email address replaced by "***": "550 <old.name@example.org> unknown" becomes
 * "550 <***@example.org> unknown". Only the domain is kept. Any '@' with text
 * before it counts as an address, so nothing that looks like one gets through. */
char *pm_mask_emails(apr_pool_t *p, const char *s);

/* Copy of s (a relay's reply, a bounce's diagnostic) with what must not reach a log,
 * the outbox or a staff screen masked as "***": every run of PM_MASK_TOKEN_MIN or more
 * base64url characters (an emailed link's token is 43: a content filter that quotes
 * the message's link would otherwise hand on a working token), the recipient's local
 * part however the reply writes it (bare "<jdoe>", "jdoe%40example.org", any case;
 * when recipient is given and its local part has 3 characters or more), and the local
 * part of every email address (pm_mask_emails). */
#define PM_MASK_TOKEN_MIN 40
char *pm_mask_reply(apr_pool_t *p, const char *s, const char *recipient);

/* Number of code points in a valid UTF-8 string. */
size_t pm_utf8_length(const char *s);

/* NULL when addr is an acceptable email address (one '@', local part 1-64 bytes,
 * total at most 254, no whitespace, quotes, control characters or NUL, a dotted
 * domain of letters, digits and hyphens), otherwise a message saying why not. */
const char *pm_email_problem(const char *addr);

/* NULL when name is 1-100 characters of letters of any script, combining marks
 * (each after a letter), spaces, apostrophes (' or U+2019), hyphens and periods,
 * with at least one letter and no space at either end; otherwise why not. ICU's
 * character database decides what a letter (Lu, Ll, Lt, Lo; Lm allowed but not
 * counted) and a mark (Mn, Mc) are; invisible and formatting characters (default
 * ignorable, Cf) are refused, save ZWNJ/ZWJ between two letters (Persian, Indic). */
const char *pm_name_problem(const char *name);

/* The rule for a name from the practice's own records (the roster sync, clients
 * import): the characters a record may hold beside letters are let through (digits,
 * commas, parentheses: "Smith, Jr."), but invisible and formatting characters (bidi
 * overrides, BOM, fillers; ZWNJ/ZWJ only between letters) and a combining mark
 * with no letter before it are refused as pm_name_problem refuses them, and at least
 * one letter is needed. NULL when acceptable, else why not. Length is the caller's. */
const char *pm_record_name_problem(const char *name);

/* "2026-11-24T21:00:00Z" for Unix seconds. */
const char *pm_rfc3339(apr_pool_t *p, long long unix_seconds);

/* Copy of s without leading and trailing ASCII blanks. */
char *pm_trim(apr_pool_t *p, const char *s);

#endif
