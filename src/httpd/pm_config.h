/* pm_config.h — the directive table, config create/merge, and the startup checks
 * that need the whole configuration (https rules, required directives). */
#ifndef PM_CONFIG_H
#define PM_CONFIG_H

#include "pm_common.h"

extern const command_rec pm_config_directives[];

void *pm_config_create_server(apr_pool_t *p, server_rec *s);
void *pm_config_merge_server(apr_pool_t *p, void *basev, void *addv);
void *pm_config_create_dir(apr_pool_t *p, char *dir);
void *pm_config_merge_dir(apr_pool_t *p, void *basev, void *addv);

/* check_config hook: runs before `apachectl -t` says "Syntax OK". */
int pm_config_check(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

long long pm_config_max_body(request_rec *r);

/* The per-language catalogs PortalCatalogDir held at startup (pm_catalog.h). */
struct pm_catalog;
const struct pm_catalog *pm_config_catalog(void);

#endif
