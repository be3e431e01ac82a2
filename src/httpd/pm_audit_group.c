/* pm_audit_group.c — group commit of the audit rows that are a transaction of their
 * own (a client viewed, a page of the list shown): the threads of a child that reach
 * this point together commit their rows as one transaction, one fsync for all.
 * Each request still answers only after its own row is committed. */
#include "pm_audit_group.h"
#include "pm_audit_chain.h"

#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "ap_mpm.h"

APLOG_USE_MODULE(portal_manager);

/* a commit takes at most this many rows; the rest wait for the next one */
#define GROUP_MAX_ROWS 64

typedef struct group_row group_row;
struct group_row {
    const char *const *args;     /* PM_SQL_AUDIT_INSERT's values, PM_AUDIT_ARGS of them */
    apr_status_t rv;
    int done;
    group_row *next;
};

/* this child's queue; the thread that finds no commit under way writes it */
static struct {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *written;
    group_row *head, **tail;
    int committing;
} group;

void pm_audit_group_child_init(apr_pool_t *pchild, server_rec *s)
{
    int threaded = 0;

    if (ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded) != APR_SUCCESS || !threaded) {
        return;                 /* one request per process: nothing to group */
    }
    if (apr_thread_mutex_create(&group.lock, APR_THREAD_MUTEX_DEFAULT, pchild) != APR_SUCCESS
        || apr_thread_cond_create(&group.written, pchild) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PM_LOGNO(00184)
                     "audit rows of this child are committed one by one "
                     "(no thread mutex or condition variable)");
        group.lock = NULL;
        return;
    }
    group.head = NULL;
    group.tail = &group.head;
}

/* One transaction for the rows taken, as consecutive places of the audit chain;
 * all of them share its outcome. */
static apr_status_t commit_rows(pm_db *db, apr_pool_t *p, group_row *rows)
{
    const char *const *args[GROUP_MAX_ROWS];
    group_row *g;
    int n = 0;

    for (g = rows; g && n < GROUP_MAX_ROWS; g = g->next) {
        args[n++] = g->args;
    }
    return pm_audit_chain_append(db, p, args, n);
}

/* Under the lock: detach up to GROUP_MAX_ROWS rows from the queue's head. */
static group_row *take_rows(void)
{
    group_row *first = group.head, *last = first;
    int n = 1;

    while (last->next && n < GROUP_MAX_ROWS) {
        last = last->next;
        n++;
    }
    group.head = last->next;
    if (group.head == NULL) {
        group.tail = &group.head;
    }
    last->next = NULL;
    return first;
}

/* Under the lock, which it releases while writing: commit a group for everyone
 * waiting (this thread's row is in the queue, maybe not in this group). */
static void commit_next_group(pm_db *db, apr_pool_t *p)
{
    group_row *rows = take_rows(), *g, *next;
    apr_status_t rv;

    group.committing = 1;
    apr_thread_mutex_unlock(group.lock);
    rv = commit_rows(db, p, rows);
    apr_thread_mutex_lock(group.lock);
    for (g = rows; g; g = next) {
        next = g->next;          /* a row's owner may return as soon as done is set */
        g->rv = rv;
        g->done = 1;
    }
    group.committing = 0;
    apr_thread_cond_broadcast(group.written);
}

apr_status_t pm_audit_group_write(pm_db *db, apr_pool_t *p, const char *const *args)
{
    group_row row = { args, APR_SUCCESS, 0, NULL };

    if (group.lock == NULL || pm_db_in_transaction(db)) {
        return pm_audit_chain_append(db, p, &args, 1);
    }
    apr_thread_mutex_lock(group.lock);
    *group.tail = &row;
    group.tail = &row.next;
    while (!row.done) {
        if (!group.committing) {
            commit_next_group(db, p);
        }
        else {
            apr_thread_cond_wait(group.written, group.lock);
        }
    }
    apr_thread_mutex_unlock(group.lock);
    return row.rv;
}
