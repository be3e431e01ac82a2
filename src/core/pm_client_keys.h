/* pm_client_keys.h — keeping clients' name keys (pm_collate.c) in the database,
 * for the module and the admin tool alike: the list's sort key in the
 * collation_locale setting, and the search keys of every name-word prefix in
 * client_name_prefixes. */
#ifndef PM_CLIENT_KEYS_H
#define PM_CLIENT_KEYS_H

#include "pm_db.h"

/* The collators of one locale; the keys they compute live in p. NULL when ICU
 * cannot open them (reported through db). */
typedef struct pm_client_keyer pm_client_keyer;
pm_client_keyer *pm_client_keyer_make(pm_db *db, apr_pool_t *p, const char *locale);


/* For a client the caller inserts itself: its sort key and the locale to store
 * with it (in the keyer's pool) ... */
const char *pm_client_keys_sort_key(pm_client_keyer *k, const char *first, const char *last);
const char *pm_client_keys_locale(const pm_client_keyer *k);
/* Whether a stored client's name is the given one (pm_collate_same on first and
 * last name). */
int pm_client_keys_same_name(pm_client_keyer *k, apr_pool_t *p, const pm_row *row,
                             int first_col, int last_col, const char *first, const char *last);
/* The name's identity for that comparison (pm_collate_same_key of first and last
 * name, in p): equal for two names exactly when pm_client_keys_same_name says so. */
const char *pm_client_keys_name_key(pm_client_keyer *k, apr_pool_t *p, const char *first,
                                    const char *last);
/* ... then, once it has an id, its search keys (none can exist yet), written into
 * client_name_prefixes many rows per statement, inside the caller's transaction.
 * sorted (the admin tool's bulk writes): gathered in client_name_prefixes_stage
 * and written in key order by pm_client_keys_stage_finish, so a first load's
 * millions of rows fill the primary key's pages one after the other instead of
 * one random page each. Either way _finish ends the writes. The strings given to
 * _add (and the keyer's pool) must live until the next _flush or _finish. */
typedef struct pm_client_keys_stage pm_client_keys_stage;
pm_client_keys_stage *pm_client_keys_stage_make(pm_db *db, apr_pool_t *p, int sorted);
apr_status_t pm_client_keys_stage_add(pm_client_keys_stage *st, pm_client_keyer *k,
                                      const char *id, const char *sort_key,
                                      const char *first, const char *last);
apr_status_t pm_client_keys_stage_flush(pm_client_keys_stage *st);
apr_status_t pm_client_keys_stage_finish(pm_client_keys_stage *st);

/* A stored client's keys made again (row: the PM_COLS_UNKEYED columns), inside the
 * caller's transaction: its sort key written, its old search keys dropped (found
 * from its key set in client_name_key_sets) and the new ones staged. A row that
 * has a sort key already is left alone. *keyed (may be NULL) is incremented when
 * the keys were written. */
apr_status_t pm_client_keys_store(pm_client_keys_stage *st, pm_client_keyer *k,
                                  const pm_row *row, int *keyed);

/* Compute the keys of every client row that has none (sort_key NULL: written by
 * another program, renamed by one — a trigger forgets the key — waiting since
 * collation_locale changed, or nulled by a migration), in batches, each batch one
 * transaction. *keyed (may be NULL) gets how many clients got keys; sorted as for
 * pm_client_keys_stage_make. The module calls it (pm_client_keys_fill, unsorted) on
 * read-miss before a list or search; `portal-manager-admin init` (sorted) after the
 * migrations. APR_SUCCESS or an error (reported through db). */
apr_status_t pm_client_keys_fill_all(pm_db *db, apr_pool_t *p, const char *locale, int sorted,
                                     int *keyed);
apr_status_t pm_client_keys_fill(pm_db *db, apr_pool_t *p, const char *locale);
/* Whether any client has no keys (one indexed read): a caller that has not read the
 * settings yet asks this first, and reads collation_locale only when it must fill. */
apr_status_t pm_client_keys_missing(pm_db *db, apr_pool_t *p, int *missing);

/* A new collation_locale: forget every sort key of another locale (inside the
 * caller's transaction); the next pm_client_keys_fill computes them again. */
apr_status_t pm_client_keys_forget_locale(pm_db *db, const char *locale);

#endif
