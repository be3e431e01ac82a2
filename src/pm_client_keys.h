/* pm_client_keys.h — keeping clients' name keys (pm_collate.c) in the database:
 * the list's sort key in the collation_locale setting, and the search keys of
 * every name-word prefix in client_name_prefixes. */
#ifndef PM_CLIENT_KEYS_H
#define PM_CLIENT_KEYS_H

#include "pm_store.h"

/* Read-miss: before a list or search, compute the keys of every client row that
 * has none (sort_key NULL: written by another program, renamed by one — a
 * trigger forgets the key — or waiting since collation_locale changed), in
 * batches, each batch one transaction. APR_SUCCESS or an error (logged). */
apr_status_t pm_client_keys_fill(pm_db *db, apr_pool_t *p, const char *locale);

/* A new collation_locale: forget every sort key of another locale (inside the
 * caller's transaction); the next pm_client_keys_fill computes them again. */
apr_status_t pm_client_keys_forget_locale(pm_db *db, const char *locale);

#endif
