/* pm_catalog.h — the translations: one JSON catalog per language (<code>.json in one
 * directory), read once at startup and checked against en.json (every key en.json
 * has, every other catalog has too). httpd-free (libpmcore). */
#ifndef PM_CATALOG_H
#define PM_CATALOG_H

#include <apr_pools.h>
#include <jansson.h>

typedef struct pm_catalog pm_catalog;

/* Reads every <code>.json in dir (en.json required). NULL and *out on success, else
 * one line naming the directory, file and key at fault. The catalogs live as long
 * as pool p. */
const char *pm_catalog_load(apr_pool_t *p, const char *dir, pm_catalog **out);

/* The language codes with a catalog, "en" first, ended by NULL. */
const char *const *pm_catalog_languages(const pm_catalog *c);

/* The text at section.key in lang's catalog (en's when lang has none); NULL when
 * en.json does not have it either. */
const char *pm_catalog_text(const pm_catalog *c, const char *lang, const char *section,
                            const char *key);

/* The whole catalog of lang (en's when lang has none); borrowed reference. */
json_t *pm_catalog_json(const pm_catalog *c, const char *lang);

#endif
