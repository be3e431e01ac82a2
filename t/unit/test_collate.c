/* Unit tests for ICU name keys (src/core/pm_collate.c) and search dates (pm_date.c). */
#include "pm_collate.h"
#include "pm_date.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <string.h>

static apr_pool_t *pool;

/* 1 when `query` (one word) is a prefix of `word` by match keys */
static int prefix_of(pm_collator *m, const char *query, const char *word)
{
    const char *lo, *hi, *k = pm_collate_word_key(m, word);

    pm_collate_prefix_range(m, query, &lo, &hi);
    return strcmp(k, lo) >= 0 && strcmp(k, hi) <= 0;
}

static int finds(pm_collator *m, const char *q, const char *first, const char *last)
{
    apr_array_header_t *qw = pm_collate_query_words(pool, q);
    apr_array_header_t *nw = pm_collate_name_words(pool, first, last);
    apr_array_header_t *ranges = apr_array_make(pool, 4, sizeof(const char *));
    apr_array_header_t *keys = apr_array_make(pool, 4, sizeof(const char *));
    int i;

    for (i = 0; i < qw->nelts; i++) {
        const char *lo, *hi;
        pm_collate_prefix_range(m, APR_ARRAY_IDX(qw, i, const char *), &lo, &hi);
        APR_ARRAY_PUSH(ranges, const char *) = lo;
        APR_ARRAY_PUSH(ranges, const char *) = hi;
    }
    for (i = 0; i < nw->nelts; i++) {
        APR_ARRAY_PUSH(keys, const char *) = pm_collate_word_key(m, APR_ARRAY_IDX(nw, i, const char *));
    }
    return qw->nelts > 0 && pm_collate_ranges_match(ranges, keys);
}

/* 1 when the search index (pm_collate_name_prefix_keys) holds the key of the (one)
 * query word, split as the API splits it */
static int indexed(pm_collator *m, const char *query, const char *first, const char *last)
{
    apr_array_header_t *keys = pm_collate_name_prefix_keys(m, pool, first, last);
    apr_array_header_t *words = pm_collate_query_words(pool, query);
    const char *k;
    int i;

    if (words->nelts != 1) {
        return 0;
    }
    k = pm_collate_query_key(m, pool, APR_ARRAY_IDX(words, 0, const char *));
    for (i = 0; i < keys->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(keys, i, const char *), k) == 0) {
            return 1;
        }
    }
    return 0;
}

/* how many keys of a client are single-word prefix keys (no pair separator) */
static int singles(const apr_array_header_t *keys)
{
    int i, n = 0;

    for (i = 0; i < keys->nelts; i++) {
        n += strstr(APR_ARRAY_IDX(keys, i, const char *), PM_COLLATE_PAIR_SEP) == NULL;
    }
    return n;
}

/* 1 when the index holds the pair key of query words a, b (a looked up, b's initial) */
static int pair_indexed(pm_collator *m, const char *a, const char *b, const char *first,
                        const char *last)
{
    apr_array_header_t *keys = pm_collate_name_prefix_keys(m, pool, first, last);
    apr_array_header_t *wa = pm_collate_query_words(pool, a), *wb = pm_collate_query_words(pool, b);
    const char *k;
    int i;

    if (wa->nelts != 1 || wb->nelts != 1) {         /* as the API splits them */
        return 0;
    }
    k = pm_collate_pair_key(m, pool, APR_ARRAY_IDX(wa, 0, const char *),
                            APR_ARRAY_IDX(wb, 0, const char *));
    for (i = 0; i < keys->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(keys, i, const char *), k) == 0) {
            return 1;
        }
    }
    return 0;
}

/* No false negatives: whenever two query words each sit on a different name word
 * (the ranges' answer), the client has the pair key, either way round. */
static void pairs_cover_two_word_matches(pm_collator *m)
{
    static const char *const names[][2] = {
        { "Ana Lúcia", "Ferreira" }, { "James", "Smith" }, { "Rosa", "Ortega-Díaz" },
        { "Seán", "O\xe2\x80\x99Neill" }, { "Zoë", "Núñez" }, { "Νίκος", "Παπαδόπουλος" },
        { "Văn An", "Nguyễn" }, { "Lee", "Lee" }, { "Hubert", "Wolfeschlegelsteinhausen" },
    };
    static const char *const words[] = {
        "a", "ana", "l", "lu", "fer", "j", "james", "s", "smith", "ro", "diaz", "ortega",
        "sean", "o'n", "zoe", "nunez", "ν", "νικ", "παπ", "van", "an", "ng", "lee", "l",
        "wolfeschlegelsteinhausen", "hu",
    };
    size_t i, x, y;
    int missed = 0, checked = 0;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        for (x = 0; x < sizeof(words) / sizeof(words[0]); x++) {
            for (y = 0; y < sizeof(words) / sizeof(words[0]); y++) {
                const char *q = apr_pstrcat(pool, words[x], " ", words[y], NULL);
                if (!finds(m, q, names[i][0], names[i][1])) {
                    continue;
                }
                checked++;
                if (!pair_indexed(m, words[x], words[y], names[i][0], names[i][1])) {
                    printf("# pair missing: '%s' in %s %s\n", q, names[i][0], names[i][1]);
                    missed++;
                }
            }
        }
    }
    ok(missed == 0 && checked > 50, "every two-word match has its pair key (%d matches)",
       checked);
}

/* The index and the prefix ranges agree on every query word against every name:
 * what one finds, the other finds. */
static void index_agrees_with_ranges(pm_collator *m)
{
    static const char *const names[][2] = {
        { "Ana Lúcia", "Ferreira" }, { "Rosa", "Ortega-Díaz" }, { "Lars", "Ångström" },
        { "Seán", "O\xe2\x80\x99Neill" }, { "Zoë", "Núñez" }, { "Νίκος", "Παπαδόπουλος" },
        { "Дмитрий", "Соколов" }, { "Văn An", "Nguyễn" }, { "太郎", "山田" },
        { "Siobhán", "Ó Súilleabháin" }, { "Hubert", "Wolfeschlegelsteinhausen" },
    };
    static const char *const queries[] = {
        "a", "an", "ana", "lu", "luc", "f", "ferreira", "ferreiras", "o", "or", "ortega",
        "di", "diaz", "ang", "angs", "angstrom", "sean", "o'n", "oneill", "zo", "zoe",
        "nun", "nunez", "ν", "νικ", "ΠΑΠΑ", "дм", "соколов", "ng", "nguyen", "van",
        "太", "山田", "sui", "suil", "o", "wolfeschlegelste", "wolfeschlegelsteinhausen",
        "x", "zh",
    };
    size_t i, j;
    int disagree = 0;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        for (j = 0; j < sizeof(queries) / sizeof(queries[0]); j++) {
            int by_range = finds(m, queries[j], names[i][0], names[i][1]);
            if (indexed(m, queries[j], names[i][0], names[i][1]) != by_range) {
                printf("# index and ranges disagree: '%s' in %s %s (ranges: %d)\n", queries[j],
                     names[i][0], names[i][1], by_range);
                disagree++;
            }
        }
    }
    ok(disagree == 0, "name-prefix index finds exactly what the prefix ranges find "
       "(11 names x 40 query words)");
}

static int sorts_before(pm_collator *s, const char *f1, const char *l1, const char *f2,
                        const char *l2)
{
    return strcmp(pm_collate_sort_key(s, f1, l1), pm_collate_sort_key(s, f2, l2)) < 0;
}

int main(void)
{
    pm_collator *m, *en;
    apr_array_header_t *w;
    char d[11];

    apr_initialize();
    apr_pool_create(&pool, NULL);
    m = pm_collate_match(pool);
    en = pm_collate_sorter(pool, "en");
    ok(m != NULL && en != NULL, "collators open");

    w = pm_collate_query_words(pool, " Smith,  J ");
    ok(w->nelts == 2 && strcmp(APR_ARRAY_IDX(w, 0, const char *), "Smith") == 0
       && strcmp(APR_ARRAY_IDX(w, 1, const char *), "J") == 0, "query split at spaces and commas");
    w = pm_collate_name_words(pool, "Ana Lúcia", "Ortega-Díaz");
    ok(w->nelts == 4 && strcmp(APR_ARRAY_IDX(w, 3, const char *), "Díaz") == 0,
       "name split at spaces and hyphens");
    w = pm_collate_name_words(pool, "Dana", "O\xe2\x80\x99" "Brien");
    is_str(APR_ARRAY_IDX(w, 1, const char *), "OBrien", "curly apostrophe dropped");

    is_str(pm_collate_word_key(m, "Álvarez"), pm_collate_word_key(m, "alvarez"), "accents, case ignored");
    is_str(pm_collate_word_key(m, "Zoë"), pm_collate_word_key(m, "ZOE"), "diaeresis ignored");
    ok(strcmp(pm_collate_word_key(m, "Zoë"), pm_collate_word_key(m, "Zoa")) != 0, "letters differ");
    ok(pm_collate_same(m, pool, "ZOË NÚÑEZ", "Zoe Nunez"), "same name: case and accents aside");
    ok(pm_collate_same(m, pool, "O\xe2\x80\x99" "Brien", "OBrien"), "same name: apostrophe aside");
    ok(pm_collate_same(m, pool, "Σωκράτης", "ΣΩΚΡΑΤΗΣ"), "same name: Greek, final sigma");
    ok(!pm_collate_same(m, pool, "Ann", "Anne"), "not the same name: a letter more");
    ok(!pm_collate_same(m, pool, "Иван", "Иванова"), "not the same name: Cyrillic prefix");
    ok(pm_collate_same_but_case("SMITH", "Smith"), "same but case: capitals");
    ok(pm_collate_same_but_case("JOSÉ", "José"), "same but case: accented capitals");
    ok(pm_collate_same_but_case("STRASSE", "Straße"), "same but case: full folding (ß)");
    ok(pm_collate_same_but_case("ΣΩΚΡΑΤΗΣ", "Σωκράτης") == 0, "not same but case: Greek accent differs");
    ok(pm_collate_same_but_case("ΣΩΚΡΆΤΗΣ", "Σωκράτης"), "same but case: Greek, final sigma");
    ok(!pm_collate_same_but_case("JOSE", "José"), "not same but case: an accent added is a change");
    ok(!pm_collate_same_but_case("O'BRIEN", "OBrien"), "not same but case: an apostrophe counts");
    ok(!pm_collate_same_but_case("Smith", "Smith"), "not same but case: the same bytes");
    ok(!pm_collate_same_but_case(NULL, "Smith"), "not same but case: nothing stored");
    {
        /* pm_collate_same_key: equal exactly when pm_collate_same says one name */
        static const char *const names[] = {
            "ZOË NÚÑEZ", "Zoe Nunez", "Zoe-Nunez", "ZoeNunez", "Zoe", "Nunez Zoe",
            "O\xe2\x80\x99" "Brien", "OBrien", "O Brien", "Ann", "Anne", "Σωκράτης",
            "ΣΩΚΡΑΤΗΣ", "Иван", "Иванова", "Ortega-Díaz", "ortega diaz", "-", "--", "a b c",
        };
        int i, j, disagree = 0, same = 0;

        for (i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
            for (j = 0; j < (int)(sizeof(names) / sizeof(names[0])); j++) {
                int a = pm_collate_same(m, pool, names[i], names[j]);
                int b = strcmp(pm_collate_same_key(m, pool, names[i]),
                               pm_collate_same_key(m, pool, names[j])) == 0;

                disagree += a != b;
                same += a && i != j;
            }
        }
        ok(disagree == 0 && same >= 10, "same-name keys agree with pm_collate_same on every "
           "pair (%d pairs of different spellings are one name)", same);
    }
    ok(prefix_of(m, "alv", "Álvarez"), "alv is a prefix of Álvarez");
    ok(prefix_of(m, "nun", "Núñez"), "nun is a prefix of Núñez");
    ok(prefix_of(m, "hernan", "Hernández"), "hernan is a prefix of Hernández");
    ok(prefix_of(m, "smith", "Smith"), "a whole word is its own prefix");
    ok(!prefix_of(m, "smiths", "Smith"), "a longer word is not a prefix");
    ok(!prefix_of(m, "smj", "Smith"), "a different word is not a prefix");
    ok(prefix_of(m, "ζω", "Ζωή"), "Greek, case and tonos ignored");
    ok(prefix_of(m, "ив", "Иванова"), "Cyrillic, case ignored");
    ok(prefix_of(m, "nguyen", "Nguyễn"), "Vietnamese marks ignored");
    ok(prefix_of(m, "ngu", "Nguyễn"), "Vietnamese prefix");
    ok(!prefix_of(m, "b", "Anderson"), "b is not a prefix of Anderson");

    ok(finds(m, "ana l", "Ana Lúcia", "Ferreira"), "ana l -> Ana Lúcia Ferreira");
    ok(finds(m, "james smith", "James", "Smith"), "james smith");
    ok(finds(m, "smith james", "James", "Smith"), "smith james");
    ok(finds(m, "Smith, J", "James", "Smith"), "Smith, J (the list's format)");
    ok(finds(m, "diaz", "Rosa", "Ortega-Díaz"), "diaz -> Ortega-Díaz");
    ok(finds(m, "ob", "Dana", "O'Brien"), "ob -> O'Brien");
    ok(finds(m, "o\xe2\x80\x99" "b", "Dana", "O'Brien"), "o’b -> O'Brien");
    ok(finds(m, "o'brien d", "Dana", "O\xe2\x80\x99" "Brien"), "o'brien d -> O’Brien (curly stored)");
    ok(finds(m, "o brien", "Dana", "O'Brien"), "o brien (typed with a space) -> O'Brien");
    ok(finds(m, "dana o brien", "Dana", "O\xe2\x80\x99" "Brien"), "dana o brien -> Dana O’Brien");
    ok(finds(m, "d angelo", "Mia", "D'Angelo"), "d angelo -> D'Angelo");
    ok(finds(m, "brien", "Dana", "O'Brien"), "brien -> O'Brien (the part after the apostrophe)");
    ok(!finds(m, "brien brien", "Dana", "O'Brien"), "one name word twice is not two words");
    ok(!finds(m, "o o", "Dana", "O'Brien"), "o o: the name has one word starting with o");
    w = pm_collate_name_words(pool, "Ta'Nisha", "'Smith");
    ok(w->nelts == 3 && strcmp(APR_ARRAY_IDX(w, 2, const char *), "Nisha") == 0,
       "a first name's apostrophe too; a leading one adds no word");
    ok(!finds(m, "smith smith", "Sam", "Smith"), "two query words need two different name words");
    ok(finds(m, "lee lee", "Lee", "Lee"), "Lee Lee has two words");
    ok(!finds(m, "sam jones", "Sam", "Smith"), "every word must match");
    ok(!finds(m, "", "Sam", "Smith"), "no words, no match");

    ok(sorts_before(en, "Carlos", "Álvarez", "Mei", "Chen"), "Álvarez before Chen");
    ok(sorts_before(en, "Lars", "Ångström", "Mei", "Chen"), "Ångström before Chen");
    ok(sorts_before(en, "Siobhán", "Ó Súilleabháin", "Wei", "Zhang"), "Ó Súilleabháin before Zhang");
    ok(sorts_before(en, "Zed", "Lee", "Abe", "Leeds"), "last name first: Lee before Leeds");
    ok(sorts_before(en, "Abe", "Smith", "Zed", "Smith"), "then first name");
    ok(sorts_before(pm_collate_sorter(pool, "sv"), "Anna", "Zetterberg", "Lars", "Ångström"),
       "Swedish: Å after Z");

    ok(pm_collate_locale_known("en") && pm_collate_locale_known("sv")
       && pm_collate_locale_known("fr_CA") && pm_collate_locale_known("el")
       && pm_collate_locale_known("de") && pm_collate_locale_known("en_US"), "known locales");
    ok(!pm_collate_locale_known("xx_bogus") && !pm_collate_locale_known("")
       && !pm_collate_locale_known("en;drop") && !pm_collate_locale_known("zz"), "unknown locales");

    ok(pm_search_date("1990-12-10", d) && strcmp(d, "1990-12-10") == 0, "ISO date");
    ok(pm_search_date("12/10/1990", d) && strcmp(d, "1990-12-10") == 0, "US date is MM/DD/YYYY");
    ok(pm_search_date("2/3/2001", d) && strcmp(d, "2001-02-03") == 0, "one-digit month and day");
    ok(!pm_search_date("13/10/1990", d), "month 13 is not a date");
    ok(!pm_search_date("1990-02-30", d), "February 30 is not a date");
    ok(pm_search_date("03-14-1987", d) && strcmp(d, "1987-03-14") == 0,
       "US order with hyphens, MM-DD-YYYY");
    ok(!pm_search_date("03-14/1987", d) && !pm_search_date("14-03-1987", d)
       && !pm_search_date("1987-3-14", d), "mixed separators, day first, or a short ISO month");
    ok(!pm_search_date("smith", d) && !pm_search_date("12/10/90", d), "not dates");
    index_agrees_with_ranges(m);
    ok(indexed(m, "wolfeschlegelsteinx", "Hubert", "Wolfeschlegelsteinhausen"),
       "a query word past 16 characters is looked up by its first 16 (the rest is checked "
       "against the name)");
    ok(!finds(m, "wolfeschlegelsteinx", "Hubert", "Wolfeschlegelsteinhausen"),
       "... where it fails");
    ok(singles(pm_collate_name_prefix_keys(m, pool, "Ana", "Anand")) == 5
       && pm_collate_name_prefix_keys(m, pool, "Ana", "Anand")->nelts == 10,
       "a key two name words share is kept once (Ana Anand: a an ana anan anand, and "
       "each with the other word's initial a: 5 pairs)");
    pairs_cover_two_word_matches(m);
    ok(!pair_indexed(m, "smith", "s", "Sam", "Jones"), "no pair without the other word");
    ok(pair_indexed(m, "smith", "j", "Jones", "Smithers"), "a prefix with the other word's initial");
    ok(!pair_indexed(m, "lee", "l", "Lee", "Chen"), "a word is not its own other word");
    ok(pair_indexed(m, "lee", "l", "Lee", "Lee"), "... but a second Lee is");
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
