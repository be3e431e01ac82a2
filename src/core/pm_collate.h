/* pm_collate.h — ICU collation keys for client names: accent-, case- and
 * apostrophe-free word keys for search (root collation, primary strength) with
 * the keys of name-word prefixes for the search index, prefix ranges from
 * ucol_getBound, and a per-locale sort key for the list.
 * Keys are hex text, so any database compares them byte-wise (COLLATE "C"). */
#ifndef PM_COLLATE_H
#define PM_COLLATE_H

#include <apr_pools.h>
#include <apr_tables.h>

#define PM_COLLATE_DEFAULT_LOCALE "en"
#define PM_COLLATE_MAX_WORDS 8
/* Search keys are kept for a name word's first 1 .. PM_COLLATE_PREFIX_MAX characters;
 * a longer query word is looked up by its first PM_COLLATE_PREFIX_MAX characters and
 * checked whole against the name afterwards. */
#define PM_COLLATE_PREFIX_MAX 16
/* between a prefix key and another word's initial in a pair key (keys are hex) */
#define PM_COLLATE_PAIR_SEP "-"

typedef struct pm_collator pm_collator;

/* 1 when ICU has collation rules for this locale name (not just the root
 * fallback it gives an unknown name), 0 otherwise. "root" and "und" are known. */
int pm_collate_locale_known(const char *locale);

/* The collator for matching (root rules; keys ignore case, accents) and the one
 * for sorting in a locale; closed with the pool. NULL when ICU fails. */
pm_collator *pm_collate_match(apr_pool_t *p);
pm_collator *pm_collate_sorter(apr_pool_t *p, const char *locale);

/* Words of text split at any byte of `separators` (ASCII), apostrophes (' ’ ‘ ʼ)
 * dropped; empty words skipped; at most max words (the rest are dropped). */
apr_array_header_t *pm_collate_words(apr_pool_t *p, const char *text, const char *separators,
                                     int max);

/* 1 when a and b (UTF-8) are the same text but for letter case (Unicode full case
 * folding: "SMITH" and "Smith", "JOSÉ" and "José", "STRASSE" and "Straße"), 0 when
 * they differ otherwise or are the same bytes. Accents and apostrophes count. */
int pm_collate_same_but_case(const char *a, const char *b);

/* Query words: split at spaces, commas and hyphens. Name words: the first and
 * last name split at spaces and hyphens. */
apr_array_header_t *pm_collate_query_words(apr_pool_t *p, const char *q);
apr_array_header_t *pm_collate_name_words(apr_pool_t *p, const char *first, const char *last);

/* The match key of one word (hex; "" for a word with no letters), and the
 * inclusive range [lo, hi] of match keys of every word that starts with `word`. */
const char *pm_collate_word_key(pm_collator *m, const char *word);
/* Whether two names are one: the same words (split at spaces and hyphens,
 * apostrophes dropped) with the same match keys, so case and accents aside:
 * "Zoe Nunez" and "ZOË NÚÑEZ" are, "O’Brien" and "OBrien" are; made in p. */
int pm_collate_same(pm_collator *m, apr_pool_t *p, const char *a, const char *b);
/* A name's identity under pm_collate_same, as one string (made in p): two names
 * have the same one exactly when pm_collate_same says they are one, so a hash of
 * names is looked up with one key per name instead of a comparison per pair. */
const char *pm_collate_same_key(pm_collator *m, apr_pool_t *p, const char *name);
void pm_collate_prefix_range(pm_collator *m, const char *word, const char **lo, const char **hi);

/* The search keys of a client: the match key of every prefix (1 .. PM_COLLATE_PREFIX_MAX
 * characters) of every name word, so "is some name word's prefix" is one equality on
 * an index; and each of those followed by PM_COLLATE_PAIR_SEP and the key of another
 * name word's first character, so a two-word query ("smith j") is one equality too.
 * Each key once; allocated from p. */
apr_array_header_t *pm_collate_name_prefix_keys(pm_collator *m, apr_pool_t *p,
                                                const char *first, const char *last);

/* The key a query word is looked up by: the match key of its first
 * PM_COLLATE_PREFIX_MAX characters ("" for a word with no letters). */
const char *pm_collate_query_key(pm_collator *m, apr_pool_t *p, const char *word);

/* The pair key two query words are looked up by: word's key (as pm_collate_query_key)
 * with the key of other's first character; a client has it when word starts one of
 * its name words and another of them starts with other's first letter. */
const char *pm_collate_pair_key(pm_collator *m, apr_pool_t *p, const char *word,
                                const char *other);

/* The list's sort key of a client: last name, then first name (U+FFFE merge
 * separator), in the sorter's locale. */
const char *pm_collate_sort_key(pm_collator *s, const char *first, const char *last);

/* 1 when every query range (array of const char * lo, hi, lo, hi ...) holds a
 * different key of name_keys (array of const char *), in any order. */
int pm_collate_ranges_match(const apr_array_header_t *ranges, const apr_array_header_t *name_keys);

#endif
