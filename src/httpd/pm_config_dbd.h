/* pm_config_dbd.h — the database lines of the configuration tree, checked at
 * configtest; the main server's SQLite file for the outage lines' remedy. */
#ifndef PM_CONFIG_DBD_H
#define PM_CONFIG_DBD_H

#include "pm_common.h"

/* check_config: OK, or HTTP_INTERNAL_SERVER_ERROR after one line saying why */
int pm_config_dbd_check(apr_pool_t *ptemp, apr_pool_t *pconf);

/* 1 when the main server's database is an SQLite file that this process cannot
 * write (the file, or its directory: the -wal and -shm files go there) */
int pm_config_sqlite_unwritable(apr_pool_t *p);

#endif
