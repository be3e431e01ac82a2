/* pm_catalog.c — loading the per-language catalogs (htdocs/invitation/i18n/<code>.json)
 * and looking texts up in them. A catalog that cannot be parsed, whose "language" is
 * not its file name, or that lacks a key en.json has, is refused with one line. */
#include "pm_catalog.h"

#include <apr_file_info.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <string.h>

#define CODE_MAX 15

struct pm_catalog {
    apr_array_header_t *codes;      /* const char *, "en" first, then NULL */
    apr_array_header_t *docs;       /* json_t *, same order */
};

static apr_status_t release_docs(void *data)
{
    pm_catalog *c = data;
    int i;

    for (i = 0; i < c->docs->nelts; i++) {
        json_decref(APR_ARRAY_IDX(c->docs, i, json_t *));
    }
    c->docs->nelts = 0;
    return APR_SUCCESS;
}

/* "es", "pt-BR", "zh-Hant": letters and '-', starting with two or three letters. */
static int code_ok(const char *s, apr_size_t len)
{
    apr_size_t i;

    if (len < 2 || len > CODE_MAX) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        int letter = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z');
        if (!letter && !(s[i] == '-' && i >= 2)) {
            return 0;
        }
    }
    return 1;
}

/* The first key path (a.b.c) en has that doc lacks or holds with another type. */
static const char *missing_key(apr_pool_t *p, json_t *en, json_t *doc, const char *prefix)
{
    const char *key;
    json_t *v;

    json_object_foreach(en, key, v) {
        json_t *other = json_object_get(doc, key);
        const char *path = prefix ? apr_pstrcat(p, prefix, ".", key, NULL) : key;
        const char *deeper;
        if (other == NULL || json_typeof(other) != json_typeof(v)) {
            return path;
        }
        if (json_is_object(v) && (deeper = missing_key(p, v, other, path)) != NULL) {
            return deeper;
        }
    }
    return NULL;
}

static const char *read_one(apr_pool_t *p, const char *dir, const char *file, const char *code,
                            json_t **out)
{
    const char *path = apr_pstrcat(p, dir, "/", file, NULL);
    json_error_t err;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err), *lang;

    *out = NULL;
    if (doc == NULL) {
        return apr_psprintf(p, "catalog %s cannot be read: %s (line %d)", path, err.text,
                            err.line);
    }
    lang = json_object_get(doc, "language");
    if (!json_is_string(lang) || strcmp(json_string_value(lang), code) != 0) {
        json_decref(doc);
        return apr_psprintf(p, "catalog %s: key \"language\" must be \"%s\", its file name",
                            path, code);
    }
    *out = doc;
    return NULL;
}

/* Every <code>.json of dir, read into c (unsorted). */
static const char *read_dir(apr_pool_t *p, const char *dir, pm_catalog *c)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    const char *err;

    if (apr_dir_open(&d, dir, p) != APR_SUCCESS) {
        return apr_psprintf(p, "catalog directory %s cannot be read", dir);
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
        apr_size_t n = strlen(fi.name);
        const char *code;
        json_t *doc;
        if (fi.filetype != APR_REG || n < 6 || strcmp(fi.name + n - 5, ".json") != 0
            || !code_ok(fi.name, n - 5)) {
            continue;
        }
        code = apr_pstrndup(p, fi.name, n - 5);
        if ((err = read_one(p, dir, fi.name, code, &doc)) != NULL) {
            apr_dir_close(d);
            return err;
        }
        APR_ARRAY_PUSH(c->codes, const char *) = code;
        APR_ARRAY_PUSH(c->docs, json_t *) = doc;
    }
    apr_dir_close(d);
    return NULL;
}

/* en first (it is the reference), the others as the directory listed them. */
static const char *put_en_first(apr_pool_t *p, const char *dir, pm_catalog *c)
{
    int i;

    for (i = 0; i < c->codes->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(c->codes, i, const char *), "en") == 0) {
            const char *code = APR_ARRAY_IDX(c->codes, 0, const char *);
            json_t *doc = APR_ARRAY_IDX(c->docs, 0, json_t *);
            APR_ARRAY_IDX(c->codes, 0, const char *) = "en";
            APR_ARRAY_IDX(c->docs, 0, json_t *) = APR_ARRAY_IDX(c->docs, i, json_t *);
            APR_ARRAY_IDX(c->codes, i, const char *) = code;
            APR_ARRAY_IDX(c->docs, i, json_t *) = doc;
            return NULL;
        }
    }
    return apr_psprintf(p, "catalog directory %s has no en.json (the reference catalog)", dir);
}

const char *pm_catalog_load(apr_pool_t *p, const char *dir, pm_catalog **out)
{
    pm_catalog *c = apr_pcalloc(p, sizeof(*c));
    const char *err;
    int i;

    *out = NULL;
    c->codes = apr_array_make(p, 4, sizeof(const char *));
    c->docs = apr_array_make(p, 4, sizeof(json_t *));
    apr_pool_cleanup_register(p, c, release_docs, apr_pool_cleanup_null);
    if ((err = read_dir(p, dir, c)) != NULL || (err = put_en_first(p, dir, c)) != NULL) {
        return err;
    }
    for (i = 1; i < c->docs->nelts; i++) {
        const char *key = missing_key(p, APR_ARRAY_IDX(c->docs, 0, json_t *),
                                      APR_ARRAY_IDX(c->docs, i, json_t *), NULL);
        if (key) {
            return apr_psprintf(p, "catalog %s/%s.json lacks key \"%s\" (en.json has it)", dir,
                                APR_ARRAY_IDX(c->codes, i, const char *), key);
        }
    }
    APR_ARRAY_PUSH(c->codes, const char *) = NULL;
    *out = c;
    return NULL;
}

const char *const *pm_catalog_languages(const pm_catalog *c)
{
    return (const char *const *)c->codes->elts;
}

json_t *pm_catalog_json(const pm_catalog *c, const char *lang)
{
    int i;

    for (i = 0; lang && i < c->docs->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(c->codes, i, const char *), lang) == 0) {
            return APR_ARRAY_IDX(c->docs, i, json_t *);
        }
    }
    return APR_ARRAY_IDX(c->docs, 0, json_t *);
}

const char *pm_catalog_text(const pm_catalog *c, const char *lang, const char *section,
                            const char *key)
{
    json_t *v = json_object_get(json_object_get(pm_catalog_json(c, lang), section), key);

    if (!json_is_string(v)) {
        v = json_object_get(json_object_get(pm_catalog_json(c, "en"), section), key);
    }
    return json_is_string(v) ? json_string_value(v) : NULL;
}
