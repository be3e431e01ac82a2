/* pm_db_guard.c — bounded waits on PostgreSQL. A frozen or partitioned server
 * (SIGSTOP, a network that drops packets) leaves libpq waiting for an answer that
 * never comes: no statement or socket timeout reaches it (statement_timeout is the
 * server's own). Each statement on a PostgreSQL connection takes a slot with its
 * socket and a deadline; one thread per child looks every 100 ms and shuts down
 * the socket of a statement past its deadline. libpq then fails the statement at
 * once, the request answers 503, and mod_dbd's next check of that connection
 * reconnects (DBDParams connect_timeout bounds the reconnect). */
#include "pm_db_guard.h"

#include <apr_atomic.h>

#include "apr_thread_proc.h"
#include "apr_thread_mutex.h"

#include <dlfcn.h>
#include <sys/socket.h>

APLOG_USE_MODULE(portal_manager);

#define GUARD_TICK        apr_time_from_msec(100)
#define GUARD_SLOTS       1024
/* after a cut, this child sends the database nothing new for this long: the requests
 * queued behind the stuck ones (for a pooled connection, for the audit group's
 * commit) answer 503 at once instead of each waiting out its own deadline */
#define GUARD_SUSPECT     apr_time_from_sec(1)
/* a thread waiting for its acquire turn looks this often whether the line moved */
#define TURN_LOOK         apr_time_from_msec(50)

struct pm_db_watch {
    int fd;
    int slot;                      /* -1: not watching */
};

typedef struct {
    int fd;                        /* -1: free */
    apr_time_t deadline;
    int cut;
} guard_slot;

static guard_slot slots[GUARD_SLOTS];
static apr_thread_mutex_t *guard_lock;
static apr_thread_mutex_t *acquire_turn;         /* one thread at a time in mod_dbd's acquire */
static apr_interval_time_t guard_timeout;        /* 0: off */
static volatile apr_time_t suspect_until;
static volatile int guard_stopping;
static volatile apr_time_t line_moved;           /* a statement last answered */
static volatile apr_uint32_t no_turns;           /* this child's database is not PostgreSQL */
static int (*pq_socket)(const void *conn);       /* libpq's PQsocket */

/* libpq is already in the process when the pgsql driver is (APR loads drivers with
 * RTLD_GLOBAL); looking PQsocket up keeps SQLite-only servers free of libpq. */
static int connection_socket(const apr_dbd_driver_t *driver, apr_dbd_t *handle)
{
    void *conn;

    if (pq_socket == NULL) {
        pq_socket = (int (*)(const void *))dlsym(RTLD_DEFAULT, "PQsocket");
    }
    conn = apr_dbd_native_handle(driver, handle);
    return pq_socket && conn ? pq_socket(conn) : -1;
}

static int (*pq_backend_pid)(const void *conn);  /* libpq's PQbackendPID */

int pm_db_guard_backend(const apr_dbd_driver_t *driver, apr_dbd_t *handle)
{
    void *conn;

    if (strcmp(apr_dbd_name(driver), "pgsql") != 0) {
        return 0;
    }
    if (pq_backend_pid == NULL) {
        pq_backend_pid = (int (*)(const void *))dlsym(RTLD_DEFAULT, "PQbackendPID");
    }
    conn = apr_dbd_native_handle(driver, handle);
    return pq_backend_pid && conn ? pq_backend_pid(conn) : 0;
}

pm_db_watch *pm_db_guard_watch(apr_pool_t *p, const apr_dbd_driver_t *driver, apr_dbd_t *handle)
{
    pm_db_watch *w;

    if (guard_lock == NULL) {
        return NULL;
    }
    if (strcmp(apr_dbd_name(driver), "pgsql") != 0) {
        apr_atomic_set32(&no_turns, 1);
        return NULL;
    }
    w = apr_pcalloc(p, sizeof(*w));
    w->fd = connection_socket(driver, handle);
    w->slot = -1;
    return w->fd >= 0 ? w : NULL;
}

apr_status_t pm_db_guard_enter(pm_db_watch *w)
{
    int i;

    if (w == NULL) {
        return APR_SUCCESS;
    }
    apr_thread_mutex_lock(guard_lock);
    for (i = 0; i < GUARD_SLOTS && slots[i].fd >= 0; i++) {
    }
    if (i < GUARD_SLOTS) {
        slots[i].fd = w->fd;
        slots[i].deadline = apr_time_now() + guard_timeout;
        slots[i].cut = 0;
        w->slot = i;
    }
    apr_thread_mutex_unlock(guard_lock);
    return pm_db_guard_suspect() ? APR_EAGAIN : APR_SUCCESS;
}

void pm_db_guard_leave(pm_db_watch *w)
{
    if (w == NULL || w->slot < 0) {
        return;
    }
    apr_thread_mutex_lock(guard_lock);
    if (!slots[w->slot].cut) {
        line_moved = apr_time_now();     /* answered, not cut by the watch */
    }
    slots[w->slot].fd = -1;
    apr_thread_mutex_unlock(guard_lock);
    w->slot = -1;
}

/* mod_dbd's pool makes a new connection while holding its own lock, so behind one
 * connect to a server that does not answer every other thread of the child waits,
 * one connect_timeout after another. Threads take turns here instead, and give up
 * when the line has not moved for PortalDBTimeout: no statement of this child was
 * answered in that time (a turn handed on is no sign: behind a server that does
 * not answer, each holder waits out its connect_timeout and hands on to the next).
 * A line that moves is a busy, healthy database — every pooled connection in use
 * by requests and delivery senders whose statements are answered — and is waited
 * out: a 503 there turned a staff member away from a working server (CI saw 5 of a
 * 240-request burst on a loaded machine). */
static int line_waiting_too_long(apr_time_t waiting_since)
{
    apr_time_t moved = line_moved;

    return apr_time_now() - (moved > waiting_since ? moved : waiting_since) > guard_timeout;
}

apr_status_t pm_db_guard_acquire_enter(int *held)
{
    apr_time_t since = apr_time_now();
    apr_status_t rv;

    *held = 0;
    if (guard_lock == NULL || apr_atomic_read32(&no_turns)) {
        return APR_SUCCESS;
    }
    do {
        if (pm_db_guard_suspect()) {
            return APR_EAGAIN;
        }
        rv = apr_thread_mutex_timedlock(acquire_turn, TURN_LOOK);
    } while (APR_STATUS_IS_TIMEUP(rv) && !line_waiting_too_long(since));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (pm_db_guard_suspect()) {
        apr_thread_mutex_unlock(acquire_turn);
        return APR_EAGAIN;
    }
    *held = 1;
    return APR_SUCCESS;
}

void pm_db_guard_acquire_leave(int held)
{
    if (held) {
        apr_thread_mutex_unlock(acquire_turn);
    }
}

int pm_db_guard_suspect(void)
{
    return guard_lock != NULL && apr_time_now() < suspect_until;
}

/* Shut down the socket of every statement past its deadline (under the lock: a
 * slot's socket stays open while its statement runs, so the fd is still ours). */
static int cut_overdue(apr_time_t now)
{
    int i, cut = 0;

    apr_thread_mutex_lock(guard_lock);
    for (i = 0; i < GUARD_SLOTS; i++) {
        if (slots[i].fd >= 0 && !slots[i].cut && now > slots[i].deadline) {
            shutdown(slots[i].fd, SHUT_RDWR);
            slots[i].cut = 1;
            cut++;
        }
    }
    apr_thread_mutex_unlock(guard_lock);
    return cut;
}

static void *APR_THREAD_FUNC watch_loop(apr_thread_t *thd, void *data)
{
    server_rec *s = data;

    while (!guard_stopping) {
        apr_time_t now;
        int cut;

        apr_sleep(GUARD_TICK);
        now = apr_time_now();
        if ((cut = cut_overdue(now)) > 0) {
            suspect_until = now + GUARD_SUSPECT;
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, PM_LOGNO(00540)
                         "the database did not answer %d statement(s) within PortalDBTimeout "
                         "(%" APR_TIME_T_FMT " s): their connections were cut and the requests "
                         "answered 503", cut, apr_time_sec(guard_timeout));
        }
    }
    return NULL;
}

static apr_status_t guard_stop(void *data)
{
    apr_status_t rv;

    guard_stopping = 1;
    apr_thread_join(&rv, data);
    guard_lock = NULL;
    return APR_SUCCESS;
}

void pm_db_guard_child_init(apr_pool_t *pchild, server_rec *s)
{
    pm_server_conf *conf = pm_server_config(s);
    int seconds = conf->db_timeout != PM_UNSET ? conf->db_timeout : PM_DEFAULT_DB_TIMEOUT;
    apr_thread_t *thd;
    int i;

    if (seconds == 0) {
        return;
    }
    for (i = 0; i < GUARD_SLOTS; i++) {
        slots[i].fd = -1;
    }
    guard_timeout = apr_time_from_sec(seconds);
    if (apr_thread_mutex_create(&guard_lock, APR_THREAD_MUTEX_DEFAULT, pchild) != APR_SUCCESS
        || apr_thread_mutex_create(&acquire_turn, APR_THREAD_MUTEX_TIMED, pchild) != APR_SUCCESS
        || apr_thread_create(&thd, NULL, watch_loop, s, pchild) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, PM_LOGNO(00541)
                     "cannot start the database watch of this child: a database that stops "
                     "answering can hold its requests");
        guard_lock = NULL;
        return;
    }
    apr_pool_cleanup_register(pchild, thd, guard_stop, apr_pool_cleanup_null);
}
