/* pm_db_guard.h — a PostgreSQL server that stops answering costs a request at most
 * PortalDBTimeout, not a worker thread forever (pm_db_guard.c). */
#ifndef PM_DB_GUARD_H
#define PM_DB_GUARD_H

#include "pm_common.h"
#include "apr_dbd.h"

typedef struct pm_db_watch pm_db_watch;

/* child_init: the watcher thread of this child (when PortalDBTimeout is not 0) */
void pm_db_guard_child_init(apr_pool_t *pchild, server_rec *s);

/* A statement on this connection starts / has ended. Only PostgreSQL connections
 * are watched (NULL otherwise, and for NULL the calls do nothing). enter watches
 * the statement and answers APR_EAGAIN while pm_db_guard_suspect(): the caller
 * then sends nothing (except a rollback, which is sent and watched). */
pm_db_watch *pm_db_guard_watch(apr_pool_t *p, const apr_dbd_driver_t *driver, apr_dbd_t *handle);
apr_status_t pm_db_guard_enter(pm_db_watch *w);
void pm_db_guard_leave(pm_db_watch *w);

/* Around mod_dbd's acquire: the turn to take a connection (!APR_SUCCESS: the line
 * did not move — no statement of this child answered — for PortalDBTimeout, or the
 * database is not answering; take no connection). *held says
 * whether a turn was taken, for leave. No turns once the child has seen its database
 * is SQLite (a file: nothing to freeze, and opening a connection under load may take
 * longer than a turn allows). */
apr_status_t pm_db_guard_acquire_enter(int *held);
void pm_db_guard_acquire_leave(int held);

/* The PostgreSQL server process behind a connection (libpq's PQbackendPID); 0 for
 * other drivers. mod_dbd reconnects a broken connection in place (apr_dbd_check_conn
 * calls PQreset): a new session on the same handle, without the prepared statements
 * of the old one, which a change of this number reveals. */
int pm_db_guard_backend(const apr_dbd_driver_t *driver, apr_dbd_t *handle);

/* Did this child cut a statement that went unanswered a moment ago? Then new
 * requests answer 503 at once instead of queueing for the stuck database. */
int pm_db_guard_suspect(void);

#endif
