/* pm_collate.c — ICU collation keys for client names (see pm_collate.h): word
 * splitting, match keys and prefix ranges (root, primary strength), the
 * locale's sort key, and the "each query word on a different name word" test. */
#include "pm_collate.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <string.h>

#include <unicode/ucol.h>
#include <unicode/uloc.h>
#include <unicode/ustring.h>

#define KEY_BUF 4096            /* a sort key of WORD_MAX_UCHARS characters fits */
#define WORD_MAX_UCHARS 512     /* names are at most 100 characters (import, API) */

struct pm_collator {
    UCollator *coll;
    apr_pool_t *pool;
};

static apr_status_t close_collator(void *data)
{
    ucol_close(((pm_collator *)data)->coll);
    return APR_SUCCESS;
}

static pm_collator *open_collator(apr_pool_t *p, const char *locale, UColAttributeValue strength)
{
    UErrorCode err = U_ZERO_ERROR;
    pm_collator *c;
    UCollator *coll = ucol_open(locale, &err);

    if (U_FAILURE(err)) {
        return NULL;
    }
    ucol_setStrength(coll, strength);
    c = apr_palloc(p, sizeof(*c));
    c->coll = coll;
    c->pool = p;
    apr_pool_cleanup_register(p, c, close_collator, apr_pool_cleanup_null);
    return c;
}

int pm_collate_locale_known(const char *locale)
{
    UErrorCode err = U_ZERO_ERROR;
    UCollator *coll;
    const char *s, *valid;
    int known = 0;

    if (locale == NULL || *locale == '\0' || strlen(locale) > 32) {
        return 0;
    }
    for (s = locale; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
              || *s == '_' || *s == '-')) {
            return 0;
        }
    }
    if (strcmp(locale, "root") == 0 || strcmp(locale, "und") == 0) {
        return 1;
    }
    coll = ucol_open(locale, &err);
    if (U_SUCCESS(err)) {
        /* an unknown name opens the root rules: its valid locale is "root" */
        valid = ucol_getLocaleByType(coll, ULOC_VALID_LOCALE, &err);
        known = U_SUCCESS(err) && valid && *valid && strcmp(valid, "root") != 0;
    }
    ucol_close(coll);
    return known;
}

pm_collator *pm_collate_match(apr_pool_t *p)
{
    /* secondary, not primary: ucol_getBound needs a key with a level separator;
     * the match key itself keeps the primary level only */
    return open_collator(p, "", UCOL_SECONDARY);
}

pm_collator *pm_collate_sorter(apr_pool_t *p, const char *locale)
{
    /* secondary: accents order Nunez before Núñez, but case alone (SAM SMITH and
     * Sam Smith) is a tie, which the id breaks */
    return open_collator(p, locale, UCOL_SECONDARY);
}

static int is_apostrophe(const char *s, apr_size_t *len)
{
    static const char *const marks[] = { "'", "\xe2\x80\x99", "\xe2\x80\x98", "\xca\xbc", NULL };
    int i;

    for (i = 0; marks[i]; i++) {
        *len = strlen(marks[i]);
        if (strncmp(s, marks[i], *len) == 0) {
            return 1;
        }
    }
    return 0;
}

apr_array_header_t *pm_collate_words(apr_pool_t *p, const char *text, const char *separators,
                                     int max)
{
    apr_array_header_t *words = apr_array_make(p, 4, sizeof(const char *));
    char *buf = apr_palloc(p, strlen(text) + 1);
    apr_size_t n = 0, skip;
    const char *s;

    for (s = text; ; s++) {
        if (*s == '\0' || strchr(separators, *s) || *s == '\t') {
            if (n > 0 && words->nelts < max) {
                APR_ARRAY_PUSH(words, const char *) = apr_pstrmemdup(p, buf, n);
            }
            n = 0;
            if (*s == '\0') {
                break;
            }
        }
        else if (is_apostrophe(s, &skip)) {
            s += skip - 1;
        }
        else {
            buf[n++] = *s;
        }
    }
    return words;
}

apr_array_header_t *pm_collate_query_words(apr_pool_t *p, const char *q)
{
    return pm_collate_words(p, q, " ,-", PM_COLLATE_MAX_WORDS);
}

/* The part of each word of text after its first apostrophe (Brien of O'Brien, Angelo of
 * D'Angelo), when something comes before it: typed with a space ("o brien") the name is
 * two words, and each must find a word of the name. */
static void add_apostrophe_tails(apr_pool_t *p, const char *text, apr_array_header_t *words)
{
    char *copy = apr_pstrdup(p, text), *state = NULL, *tok;
    apr_size_t skip;

    for (tok = apr_strtok(copy, " -\t", &state); tok; tok = apr_strtok(NULL, " -\t", &state)) {
        const char *s;

        for (s = tok; *s && !is_apostrophe(s, &skip); s++) {
        }
        if (*s && s > tok && words->nelts < 96) {
            apr_array_cat(words, pm_collate_words(p, s + skip, " -", 1));
        }
    }
}

apr_array_header_t *pm_collate_name_words(apr_pool_t *p, const char *first, const char *last)
{
    apr_array_header_t *words = pm_collate_words(p, first ? first : "", " -", 64);

    apr_array_cat(words, pm_collate_words(p, last ? last : "", " -", 64));
    add_apostrophe_tails(p, first ? first : "", words);
    add_apostrophe_tails(p, last ? last : "", words);
    return words;
}

/* The collation key of UTF-8 text; *len excludes the terminating 0 byte. */
static int raw_key(pm_collator *c, const char *text, uint8_t *key, int32_t *len)
{
    UChar u[WORD_MAX_UCHARS];
    int32_t ulen = 0;
    UErrorCode err = U_ZERO_ERROR;

    u_strFromUTF8Lenient(u, WORD_MAX_UCHARS, &ulen, text, -1, &err);
    if (U_FAILURE(err) || err == U_STRING_NOT_TERMINATED_WARNING) {
        ulen = U_FAILURE(err) ? 0 : WORD_MAX_UCHARS;
    }
    *len = ucol_getSortKey(c->coll, u, ulen, key, KEY_BUF);
    if (*len <= 0 || *len > KEY_BUF) {
        *len = 0;
        return -1;
    }
    (*len)--;
    return 0;
}

static const char *hex(apr_pool_t *p, const uint8_t *b, int32_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *out = apr_palloc(p, (apr_size_t)n * 2 + 1);
    int32_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

/* the primary level: the bytes before the first level separator (01) */
static int32_t primary_length(const uint8_t *key, int32_t len)
{
    int32_t i;

    for (i = 0; i < len && key[i] != 1; i++) {
    }
    return i;
}

static const char *match_key(pm_collator *m, apr_pool_t *p, const char *word)
{
    uint8_t key[KEY_BUF];
    int32_t len;

    if (raw_key(m, word, key, &len) != 0) {
        return "";
    }
    return hex(p, key, primary_length(key, len));
}

const char *pm_collate_word_key(pm_collator *m, const char *word)
{
    return match_key(m, m->pool, word);
}

int pm_collate_same(pm_collator *m, apr_pool_t *p, const char *a, const char *b)
{
    apr_array_header_t *wa = pm_collate_words(p, a, " -", 64), *wb = pm_collate_words(p, b, " -", 64);
    int i;

    if (wa->nelts != wb->nelts) {
        return 0;
    }
    for (i = 0; i < wa->nelts; i++) {
        if (strcmp(match_key(m, p, APR_ARRAY_IDX(wa, i, const char *)),
                   match_key(m, p, APR_ARRAY_IDX(wb, i, const char *))) != 0) {
            return 0;
        }
    }
    return 1;
}

const char *pm_collate_same_key(pm_collator *m, apr_pool_t *p, const char *name)
{
    apr_array_header_t *words = pm_collate_words(p, name, " -", 64);
    int i;

    /* hex keys joined by spaces; the count first, so that no words and one word
     * whose key could not be made ("") differ as pm_collate_same has them */
    for (i = 0; i < words->nelts; i++) {
        APR_ARRAY_IDX(words, i, const char *) = match_key(m, p, APR_ARRAY_IDX(words, i,
                                                                             const char *));
    }
    return apr_psprintf(p, "%d:%s", words->nelts, apr_array_pstrcat(p, words, ' '));
}

/* The byte length of word's first n characters (code points). */
static apr_size_t prefix_bytes(const char *word, int n)
{
    apr_size_t i;

    for (i = 0; word[i]; i++) {
        if (((unsigned char)word[i] & 0xC0) != 0x80 && n-- == 0) {
            break;
        }
    }
    return i;
}

const char *pm_collate_query_key(pm_collator *m, apr_pool_t *p, const char *word)
{
    return match_key(m, p, apr_pstrmemdup(p, word, prefix_bytes(word, PM_COLLATE_PREFIX_MAX)));
}

/* The key of word's first letter: its shortest prefix with a key ("" if none). */
static const char *initial_key(pm_collator *m, apr_pool_t *p, const char *word)
{
    const char *key = "";
    int n;

    for (n = 1; *key == '\0' && n <= PM_COLLATE_PREFIX_MAX; n++) {
        key = match_key(m, p, apr_pstrmemdup(p, word, prefix_bytes(word, n)));
    }
    return key;
}

const char *pm_collate_pair_key(pm_collator *m, apr_pool_t *p, const char *word,
                                const char *other)
{
    return apr_pstrcat(p, pm_collate_query_key(m, p, word), PM_COLLATE_PAIR_SEP,
                       initial_key(m, p, other), NULL);
}

/* The keys of word's prefixes (1 .. PM_COLLATE_PREFIX_MAX characters), each once. */
static apr_array_header_t *word_prefix_keys(pm_collator *m, apr_pool_t *p, const char *word)
{
    apr_array_header_t *keys = apr_array_make(p, 8, sizeof(const char *));
    const char *last = "";
    apr_size_t len = 0, next;
    int n;

    for (n = 1; n <= PM_COLLATE_PREFIX_MAX && word[len]; n++, len = next) {
        const char *key;
        next = prefix_bytes(word, n);
        key = match_key(m, p, apr_pstrmemdup(p, word, next));
        if (*key && strcmp(key, last) != 0) {       /* a combining mark adds nothing */
            APR_ARRAY_PUSH(keys, const char *) = key;
            last = key;
        }
    }
    return keys;
}

static void add_key(apr_hash_t *seen, apr_array_header_t *keys, const char *key)
{
    if (apr_hash_get(seen, key, APR_HASH_KEY_STRING) == NULL) {
        apr_hash_set(seen, key, APR_HASH_KEY_STRING, key);
        APR_ARRAY_PUSH(keys, const char *) = key;
    }
}

/* Word i's prefix keys, each alone and paired with the initial of every other word. */
static void add_word_keys(apr_pool_t *p, apr_array_header_t **prefixes, const char **initials,
                          int nwords, int i, apr_hash_t *seen, apr_array_header_t *keys)
{
    int j, k;

    for (k = 0; k < prefixes[i]->nelts; k++) {
        const char *key = APR_ARRAY_IDX(prefixes[i], k, const char *);
        add_key(seen, keys, key);
        for (j = 0; j < nwords; j++) {
            if (j != i && *initials[j]) {
                add_key(seen, keys, apr_pstrcat(p, key, PM_COLLATE_PAIR_SEP, initials[j], NULL));
            }
        }
    }
}

apr_array_header_t *pm_collate_name_prefix_keys(pm_collator *m, apr_pool_t *p,
                                                const char *first, const char *last)
{
    apr_array_header_t *words = pm_collate_name_words(p, first, last);
    apr_array_header_t *keys = apr_array_make(p, 32, sizeof(const char *));
    apr_array_header_t **prefixes = apr_pcalloc(p, sizeof(*prefixes) * (words->nelts + 1));
    const char **initials = apr_pcalloc(p, sizeof(*initials) * (words->nelts + 1));
    apr_hash_t *seen = apr_hash_make(p);
    int i;

    for (i = 0; i < words->nelts; i++) {
        prefixes[i] = word_prefix_keys(m, p, APR_ARRAY_IDX(words, i, const char *));
        initials[i] = initial_key(m, p, APR_ARRAY_IDX(words, i, const char *));
    }
    for (i = 0; i < words->nelts; i++) {
        add_word_keys(p, prefixes, initials, words->nelts, i, seen, keys);
    }
    return keys;
}

static const char *bound(pm_collator *m, const uint8_t *key, int32_t len, UColBoundMode mode)
{
    uint8_t out[KEY_BUF + 4];
    UErrorCode err = U_ZERO_ERROR;
    int32_t n = ucol_getBound(key, len + 1, mode, 1, out, sizeof(out), &err);

    if (U_FAILURE(err) || n <= 0) {
        return NULL;
    }
    return hex(m->pool, out, n - 1);           /* without the terminating 0 */
}

void pm_collate_prefix_range(pm_collator *m, const char *word, const char **lo, const char **hi)
{
    uint8_t key[KEY_BUF];
    int32_t len;

    *lo = *hi = NULL;
    if (raw_key(m, word, key, &len) == 0) {
        *lo = bound(m, key, len, UCOL_BOUND_LOWER);
        *hi = bound(m, key, len, UCOL_BOUND_UPPER_LONG);
    }
    if (*lo == NULL || *hi == NULL) {
        *lo = "";
        *hi = "ffff";
    }
}

const char *pm_collate_sort_key(pm_collator *s, const char *first, const char *last)
{
    uint8_t key[KEY_BUF];
    int32_t len;
    /* U+FFFE sorts below every character at every level: last name first */
    const char *both = apr_pstrcat(s->pool, last ? last : "", "\xef\xbf\xbe", first ? first : "",
                                   NULL);

    if (raw_key(s, both, key, &len) != 0) {
        return "";
    }
    return hex(s->pool, key, len);
}

static int in_range(const char *key, const char *lo, const char *hi)
{
    return strcmp(key, lo) >= 0 && strcmp(key, hi) <= 0;
}

/* Backtracking assignment of query word i.. to unused name words: a handful
 * of words each side, so the search space stays tiny. */
static int assign(const char *const *r, int nwords, int i, const char *const *k, int nkeys,
                  unsigned long used)
{
    int j;

    if (i == nwords) {
        return 1;
    }
    for (j = 0; j < nkeys && j < (int)(sizeof(used) * 8); j++) {
        if (!(used & (1UL << j)) && in_range(k[j], r[2 * i], r[2 * i + 1])
            && assign(r, nwords, i + 1, k, nkeys, used | (1UL << j))) {
            return 1;
        }
    }
    return 0;
}

int pm_collate_ranges_match(const apr_array_header_t *ranges, const apr_array_header_t *name_keys)
{
    return assign((const char *const *)ranges->elts, ranges->nelts / 2, 0,
                  (const char *const *)name_keys->elts, name_keys->nelts, 0);
}

int pm_collate_same_but_case(const char *a, const char *b)
{
    UChar ua[WORD_MAX_UCHARS], ub[WORD_MAX_UCHARS];
    int32_t la = 0, lb = 0;
    UErrorCode err = U_ZERO_ERROR;

    if (a == NULL || b == NULL || strcmp(a, b) == 0) {
        return 0;
    }
    u_strFromUTF8(ua, WORD_MAX_UCHARS, &la, a, -1, &err);
    u_strFromUTF8(ub, WORD_MAX_UCHARS, &lb, b, -1, &err);
    if (U_FAILURE(err) || err == U_STRING_NOT_TERMINATED_WARNING) {
        return 0;                       /* too long for the buffers: not judged */
    }
    return u_strCaseCompare(ua, la, ub, lb, U_FOLD_CASE_DEFAULT, &err) == 0 && U_SUCCESS(err);
}
