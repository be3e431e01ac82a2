/* pm_text.c — UTF-8 validation, repair and cutting, email address masking and
 * validation, the characters a name may hold (by ICU's character properties). C on
 * APR and ICU, shared by the module, the admin tool and tests. */
#include "pm_text.h"

#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <string.h>
#include <strings.h>

#include <unicode/uchar.h>

/* Decode one code point; returns its byte length, or 0 when malformed. */
static size_t utf8_decode(const unsigned char *s, size_t avail, unsigned long *cp)
{
    size_t len, i;
    unsigned long c;

    if (avail == 0) {
        return 0;
    }
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    else if ((s[0] & 0xE0) == 0xC0) {
        len = 2;
        c = s[0] & 0x1F;
    }
    else if ((s[0] & 0xF0) == 0xE0) {
        len = 3;
        c = s[0] & 0x0F;
    }
    else if ((s[0] & 0xF8) == 0xF0) {
        len = 4;
        c = s[0] & 0x07;
    }
    else {
        return 0;
    }
    if (avail < len) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    /* overlong forms, surrogates, out of range */
    if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000)
        || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) {
        return 0;
    }
    *cp = c;
    return len;
}

static int is_atext(unsigned char c);

static size_t utf8_encode(unsigned long c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

int pm_text_other_charset(const char *s)
{
    int high = 0;

    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7F) {
            return 0;
        }
        high |= (unsigned char)*s >= 0x80;
    }
    return high;
}

int pm_utf8_valid(const char *s, size_t len, int allow_newlines)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n;
    unsigned long cp;

    while (i < len) {
        n = utf8_decode(u + i, len - i, &cp);
        if (n == 0) {
            return 0;
        }
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
            if (!(allow_newlines && (cp == '\n' || cp == '\r' || cp == '\t'))) {
                return 0;
            }
        }
        i += n;
    }
    return 1;
}

size_t pm_utf8_repair(char *out, const char *s, size_t len)
{
    size_t i = 0, o = 0, n;
    unsigned long cp;

    while (i < len) {
        n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (n == 0) {
            o += utf8_encode(0xFFFD, out + o);
            i++;
            continue;
        }
        memcpy(out + o, s + i, n);
        o += n;
        i += n;
    }
    out[o] = '\0';
    return o;
}

char *pm_utf8_sanitize(apr_pool_t *p, const char *s)
{
    size_t len = strlen(s);
    char *out = apr_palloc(p, len * 3 + 1);   /* one byte becomes at most 3 */

    pm_utf8_repair(out, s, len);
    return out;
}

const char *pm_utf8_head(apr_pool_t *p, const char *s, size_t max_chars)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, n, chars = 0;
    unsigned long cp;

    while (i < len && chars < max_chars) {
        n = utf8_decode(u + i, len - i, &cp);
        i += n ? n : 1;                   /* a malformed byte counts as one character */
        chars++;
    }
    return i == len ? s : apr_pstrmemdup(p, s, i);
}

/* Bytes that may appear in the local part of an address as a server echoes it:
 * atext, '.', and any non-ASCII byte (internationalised addresses). */
static int is_local_part_byte(unsigned char c)
{
    return c >= 0x80 || (c != '@' && is_atext(c));
}

/* Start of the local part that ends just before s[at] ('@'): atext and dots,
 * and "quoted" pieces ("john doe"@, first."last"@), walking back from the '@'
 * but never before `from` (just after the previous address's '@'). */
static size_t local_part_start(const char *s, size_t from, size_t at)
{
    size_t i = at, k;

    while (i > from) {
        if (s[i - 1] == '"') {
            for (k = i - 1; k > from && s[k - 1] != '"'; k--) {
            }
            if (k == from) {
                break;                    /* no opening quote: not part of an address */
            }
            i = k - 1;
        }
        else if (is_local_part_byte((unsigned char)s[i - 1])) {
            i--;
        }
        else {
            break;
        }
    }
    return i;
}

char *pm_mask_emails(apr_pool_t *p, const char *s)
{
    size_t len = strlen(s), i, from = 0, start;
    apr_array_header_t *parts = apr_array_make(p, 4, sizeof(const char *));

    for (i = 0; i < len; i++) {
        if (s[i] != '@') {
            continue;
        }
        start = local_part_start(s, from, i);
        if (start == i) {
            continue;                     /* a bare '@': nothing to hide */
        }
        APR_ARRAY_PUSH(parts, const char *) = apr_pstrmemdup(p, s + from, start - from);
        APR_ARRAY_PUSH(parts, const char *) = "***";
        from = i;
    }
    APR_ARRAY_PUSH(parts, const char *) = s + from;
    return apr_array_pstrcat(p, parts, '\0');
}

static int is_base64url(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || c == '-' || c == '_';
}

/* Runs of PM_MASK_TOKEN_MIN or more base64url characters become "***". */
static char *mask_tokens(apr_pool_t *p, const char *s)
{
    apr_array_header_t *parts = apr_array_make(p, 4, sizeof(const char *));
    size_t i = 0, from = 0, run;

    while (s[i] != '\0') {
        for (run = 0; is_base64url((unsigned char)s[i + run]); run++) {
        }
        if (run >= PM_MASK_TOKEN_MIN) {
            APR_ARRAY_PUSH(parts, const char *) = apr_pstrmemdup(p, s + from, i - from);
            APR_ARRAY_PUSH(parts, const char *) = "***";
            from = i + run;
        }
        i += run ? run : 1;
    }
    APR_ARRAY_PUSH(parts, const char *) = s + from;
    return apr_array_pstrcat(p, parts, '\0');
}

/* Every occurrence of the recipient's local part (ASCII case aside) becomes "***". */
static char *mask_local_part(apr_pool_t *p, const char *s, const char *recipient)
{
    const char *at = recipient ? strrchr(recipient, '@') : NULL;
    size_t n = at ? (size_t)(at - recipient) : 0, i = 0, from = 0;
    apr_array_header_t *parts;

    if (n < 3) {
        return apr_pstrdup(p, s);
    }
    parts = apr_array_make(p, 4, sizeof(const char *));
    while (s[i] != '\0') {
        if (strncasecmp(s + i, recipient, n) == 0) {
            APR_ARRAY_PUSH(parts, const char *) = apr_pstrmemdup(p, s + from, i - from);
            APR_ARRAY_PUSH(parts, const char *) = "***";
            i += n;
            from = i;
        }
        else {
            i++;
        }
    }
    APR_ARRAY_PUSH(parts, const char *) = s + from;
    return apr_array_pstrcat(p, parts, '\0');
}

char *pm_mask_reply(apr_pool_t *p, const char *s, const char *recipient)
{
    return pm_mask_emails(p, mask_local_part(p, mask_tokens(p, s), recipient));
}

size_t pm_utf8_length(const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        if ((*(const unsigned char *)s & 0xC0) != 0x80) {
            n++;
        }
    }
    return n;
}

static int is_atext(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return 1;
    }
    return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

static const char *domain_problem(const char *d)
{
    const char *label = d, *s;
    int labels = 0;

    if (*d == '\0') {
        return "has no domain after '@'";
    }
    for (s = d;; s++) {
        if (*s == '.' || *s == '\0') {
            size_t n = (size_t)(s - label);
            if (n == 0) {
                return label == d ? "has a domain that starts with '.'"
                       : *s == '\0' ? "has a domain that ends with '.'"
                       : "has two dots in a row in its domain";
            }
            if (n > 63) {
                return "has a domain part longer than 63 characters";
            }
            if (label[0] == '-' || s[-1] == '-') {
                return "has a domain part that starts or ends with '-'";
            }
            labels++;
            if (*s == '\0') {
                break;
            }
            label = s + 1;
        }
        else if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
                   || (*s >= '0' && *s <= '9') || *s == '-')) {
            return "has a domain with characters other than letters, digits, '-' and '.'";
        }
    }
    if (labels < 2) {
        return "needs a dotted domain such as example.org";
    }
    return NULL;
}

/* 1 when the local part addr..at holds two dots in a row (the domain's are
 * domain_problem's to name). */
static int local_double_dot(const char *addr, const char *at)
{
    const char *s;

    for (s = addr + 1; s < at; s++) {
        if (s[0] == '.' && s[-1] == '.') {
            return 1;
        }
    }
    return 0;
}

const char *pm_email_problem(const char *addr)
{
    const char *at, *s;
    size_t len;

    if (addr == NULL || *addr == '\0') {
        return "is empty";
    }
    len = strlen(addr);
    if (len > 254) {
        return "is longer than 254 characters";
    }
    at = strchr(addr, '@');
    if (at == NULL) {
        return "has no '@'";
    }
    if (strchr(at + 1, '@') != NULL) {
        return "has more than one '@'";
    }
    if (at == addr) {
        return "has nothing before the '@'";
    }
    if (at - addr > 64) {
        return "has more than 64 characters before the '@'";
    }
    for (s = addr; s < at; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c == 0x7F) {
            return "contains a space or control character";
        }
        if (c == '"') {
            return "contains a quote";
        }
        if (!is_atext(c)) {
            return "contains a character that is not allowed before the '@'";
        }
    }
    if (addr[0] == '.' || at[-1] == '.' || local_double_dot(addr, at)) {
        return "has a misplaced '.' before the '@'";
    }
    for (s = at + 1; *s; s++) {
        if ((unsigned char)*s <= 0x20 || *s == 0x7F) {
            return "contains a space or control character";
        }
    }
    return domain_problem(at + 1);
}

const char *pm_rfc3339(apr_pool_t *p, long long unix_seconds)
{
    apr_time_exp_t t;

    apr_time_exp_gmt(&t, apr_time_from_sec(unix_seconds));
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", t.tm_year + 1900, t.tm_mon + 1,
                        t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
}

char *pm_trim(apr_pool_t *p, const char *s)
{
    const char *end = s + strlen(s);

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    while (end > s && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    return apr_pstrmemdup(p, s, (apr_size_t)(end - s));
}

/* What a code point is to a name (pm_name_problem). */
typedef enum {
    NAME_BAD,          /* digits, symbols, other punctuation, controls, unassigned */
    NAME_INVISIBLE,    /* default-ignorable or format characters: BOM, fillers, bidi marks */
    NAME_LETTER,       /* a letter of any script (Lu, Ll, Lt, Lo) */
    NAME_MODIFIER,     /* a modifier letter (Lm): okina, iteration mark, prolonged sound */
    NAME_MARK,         /* a combining mark (Mn, Mc): accents, vowel signs, virama */
    NAME_JOINER,       /* ZWNJ or ZWJ, which Persian and Indic spelling needs in a word */
    NAME_PUNCT         /* space, apostrophe, hyphen, period (is_name_punct) */
} name_class;

/* The apostrophes and hyphens of scripts that spell names with their own:
 * ’ (U+2019), Armenian apostrophe and hyphen, Hebrew maqaf and geresh, Tibetan
 * tsheg (between syllables), katakana middle dot (between the parts of a name). */
static int is_name_punct(unsigned long c)
{
    static const unsigned long punct[] = { ' ', '\'', '-', '.', 0x2019, 0x055A, 0x058A,
                                           0x05BE, 0x05F3, 0x0F0B, 0x30FB };
    size_t i;

    for (i = 0; i < sizeof(punct) / sizeof(punct[0]); i++) {
        if (c == punct[i]) {
            return 1;
        }
    }
    return 0;
}

/* Below U+00C0 only ASCII letters and the name punctuation count (no digits, no
 * Latin-1 signs); from there ICU's character database decides. */
static name_class classify_name_char(unsigned long c)
{
    UChar32 u = (UChar32)c;
    uint32_t gc;

    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return NAME_LETTER;
    }
    if (is_name_punct(c)) {
        return NAME_PUNCT;
    }
    if (c < 0xC0) {
        return NAME_BAD;
    }
    if (c == 0x200C || c == 0x200D) {
        return NAME_JOINER;
    }
    gc = U_MASK(u_charType(u));
    if (u_hasBinaryProperty(u, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) || (gc & U_GC_CF_MASK)) {
        return NAME_INVISIBLE;
    }
    if (gc & (U_GC_LU_MASK | U_GC_LL_MASK | U_GC_LT_MASK | U_GC_LO_MASK)) {
        return NAME_LETTER;
    }
    if (gc & U_GC_LM_MASK) {
        return NAME_MODIFIER;
    }
    if (gc & (U_GC_MN_MASK | U_GC_MC_MASK)) {
        return NAME_MARK;
    }
    return NAME_BAD;
}

static int name_class_in_word(name_class c)
{
    return c == NAME_LETTER || c == NAME_MODIFIER || c == NAME_MARK;
}

/* Why the character of class c cannot follow one of class prev (NAME_PUNCT at the
 * start), or NULL when it can. */
static const char *name_sequence_problem(name_class prev, name_class c)
{
    switch (c) {
    case NAME_BAD:
        return "may only contain letters, spaces, apostrophes, hyphens and periods";
    case NAME_INVISIBLE:
        return "contains an invisible or formatting character";
    case NAME_MARK:
        if (!name_class_in_word(prev)) {
            return "has a combining mark (an accent or vowel sign) that does not follow a letter";
        }
        return NULL;
    case NAME_JOINER:
        if (!name_class_in_word(prev)) {
            return "may only hold a zero-width joiner or non-joiner between two letters";
        }
        return NULL;
    default:
        if (prev == NAME_JOINER && c != NAME_LETTER && c != NAME_MODIFIER) {
            return "may only hold a zero-width joiner or non-joiner between two letters";
        }
        return NULL;
    }
}

/* May a record's name hold c, which is no letter, mark or name punctuation (a
 * digit, a comma, a parenthesis)? Not a control, a line or paragraph separator, a
 * private-use, unassigned or surrogate code point. */
static int record_name_char_ok(unsigned long c)
{
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) {
        return 0;
    }
    return !(U_MASK(u_charType((UChar32)c))
             & (U_GC_CC_MASK | U_GC_ZL_MASK | U_GC_ZP_MASK | U_GC_CO_MASK | U_GC_CN_MASK
                | U_GC_CS_MASK));
}

/* The characters of name one by one: the first problem, or NULL. *letters and
 * *chars count them. record: a name from the practice's records, where any
 * other character (NAME_BAD) is let through as punctuation. */
static const char *name_characters_problem(const char *name, int record, int *letters,
                                           size_t *chars)
{
    const unsigned char *u = (const unsigned char *)name;
    size_t len = strlen(name), i = 0, n;
    unsigned long cp;
    name_class prev = NAME_PUNCT, c;
    const char *problem;

    while (i < len) {
        n = utf8_decode(u + i, len - i, &cp);
        if (n == 0) {
            return "is not valid UTF-8 text";
        }
        c = classify_name_char(cp);
        if (record && c == NAME_BAD) {
            if (!record_name_char_ok(cp)) {
                return "contains a control character or a line break";
            }
            c = NAME_PUNCT;
        }
        if ((problem = name_sequence_problem(prev, c)) != NULL) {
            return problem;
        }
        *letters += c == NAME_LETTER;
        prev = c;
        (*chars)++;
        i += n;
    }
    return prev == NAME_JOINER ? name_sequence_problem(prev, NAME_PUNCT) : NULL;
}

const char *pm_name_problem(const char *name)
{
    size_t len = strlen(name), chars = 0;
    const char *problem;
    int letters = 0;

    if (len == 0) {
        return "is empty";
    }
    if ((problem = name_characters_problem(name, 0, &letters, &chars)) != NULL) {
        return problem;
    }
    if (chars > 100) {
        return "is longer than 100 characters";
    }
    if (!letters || name[0] == ' ' || name[len - 1] == ' ') {
        return "must contain letters and not start or end with a space";
    }
    return NULL;
}

const char *pm_record_name_problem(const char *name)
{
    size_t chars = 0;
    const char *problem;
    int letters = 0;

    if (*name == '\0') {
        return "is empty";
    }
    if ((problem = name_characters_problem(name, 1, &letters, &chars)) != NULL) {
        return problem;
    }
    return letters ? NULL : "must contain a letter";
}

const char *pm_minutes_text(apr_pool_t *p, int minutes)
{
    return apr_psprintf(p, "%d %s", minutes, minutes == 1 ? "minute" : "minutes");
}
