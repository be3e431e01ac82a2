/* pm_store.c — the executor (pm_db.c) on mod_dbd's connections: acquire or open
 * one, set its session up (statements are prepared on first use), the SQLite
 * writer gate (pm_writer.c) and SQLite's page memory per connection, and the log
 * line of everything the executor reports. */
#include "pm_store.h"
#include "pm_writer.h"
#include "pm_metrics.h"
#include "pm_db_guard.h"
#include "pm_config_dbd.h"
#include "pm_log_throttle.h"

#include "apr_atomic.h"
#include "apr_dbd.h"
#include "apr_optional.h"
#include "mod_dbd.h"

#ifdef PM_HAVE_SQLITE3
#include <sqlite3.h>
#endif

APLOG_USE_MODULE(portal_manager);

/* The module's side of one executor (its pm_db_context). */
typedef struct {
    request_rec *r;               /* NULL outside a request (delivery worker) */
    server_rec *s;
    ap_dbd_t *dbd;
    int busy_is_routine;          /* pm_db_busy_is_routine: the worker's claim */
    pm_db_watch *watch;           /* PostgreSQL: the bound on unanswered statements */
    const char *failure;          /* check_schema: what the database said, unlogged */
} store_conn;

/* Log against the request when there is one, else against the server. */
#define CONN_LOG(c, level, ...)                                                  \
    do {                                                                         \
        if ((c)->r) ap_log_rerror(APLOG_MARK, level, 0, (c)->r, __VA_ARGS__);    \
        else ap_log_error(APLOG_MARK, level, 0, (c)->s, __VA_ARGS__);            \
    } while (0)

/* SQLite's busy file met by the worker's claim: the next pass tries again */
static int busy_is_routine(const store_conn *c, const char *msg)
{
    return c->busy_is_routine && msg && strstr(msg, "database is locked");
}

/* SQLite's "attempt to write a readonly database": what the admin must do about it */
static const char *hint(const char *msg)
{
    return msg && strstr(msg, "readonly database")
           ? " (the SQLite file, its -wal and -shm files or its directory are not writable "
             "by the user httpd runs as: chown the directory and its files to that user, e.g. "
             "chown -R www-data the directory)"
           : "";
}

/* A fault of the database's storage that stays until an admin acts, met by every
 * write (a worker pass every PortalOutboxInterval, each request): logged as the
 * connection outage below is, one line at error level, then at most one a minute
 * (pm_log_throttle.h). */
static pm_log_throttle disk_full, read_only, schema_unread;

/* The schema check last failed on a read-only SQLite file or directory: the outage
 * lines then name that remedy instead of DBDriver/DBDParams. */
static volatile apr_uint32_t schema_read_only;

/* The schema check refused an older schema (PM00601): the outage lines then name
 * init, not DBDriver/DBDParams; the line that says the database answers again (after
 * init) names the reload the client portal's login needs on SQLite. */
static volatile apr_uint32_t schema_outdated;

/* SQLite's storage refusing writes, a fault that stays until an admin acts: the
 * filesystem of the file (or of its -wal) full, or the file, its -wal or -shm or its
 * directory not writable by httpd's user. The transaction was rolled back whole;
 * the request answers 503. 1 when msg was one of them (logged). */
static int report_storage_fault(store_conn *c, const char *label, const char *msg)
{
    apr_uint32_t more;
    int level;

    if (msg && strstr(msg, "database or disk is full")) {
        level = pm_log_throttled_level(&disk_full, &more);
        CONN_LOG(c, level, PM_LOGNO(00650)
                 "the disk of the SQLite database is full (%s): every write answers 503 "
                 "and keeps nothing until space is freed on the filesystem of the file "
                 "and its -wal, then works again without a restart (%u more since the "
                 "last such line)", label, more);
        return 1;
    }
    if (msg && strstr(msg, "readonly database")) {
        level = pm_log_throttled_level(&read_only, &more);
        CONN_LOG(c, level, PM_LOGNO(00652)
                 "%s: %s%s; every write answers 503 and keeps nothing until then (%u more "
                 "since the last such line)", label, msg, hint(msg), more);
        return 1;
    }
    return 0;
}

static void report(void *ctx, pm_db_event ev, const char *label, const char *msg)
{
    store_conn *c = ctx;

    switch (ev) {
    case PM_DB_EV_MISSING:
        CONN_LOG(c, APLOG_ERR, PM_LOGNO(00012)
                 "prepared statement %s is missing from the connection", label);
        break;
    case PM_DB_EV_FAILED:
        if (report_storage_fault(c, label, msg)) {
            break;
        }
        if (busy_is_routine(c, msg)) {
            CONN_LOG(c, APLOG_DEBUG, PM_LOGNO(00013) "statement %s failed: %s", label, msg);
            break;
        }
        CONN_LOG(c, APLOG_ERR, PM_LOGNO(00013) "statement %s failed: %s", label, msg);
        break;
    case PM_DB_EV_BEGIN:
        if (report_storage_fault(c, "begin", msg)) {
            break;
        }
        if (busy_is_routine(c, msg)) {
            CONN_LOG(c, APLOG_DEBUG, PM_LOGNO(00015) "cannot start a transaction: %s", msg);
            break;
        }
        CONN_LOG(c, APLOG_ERR, PM_LOGNO(00015) "cannot start a transaction: %s", msg);
        break;
    case PM_DB_EV_COMMIT:
        if (report_storage_fault(c, "commit", msg)) {
            break;
        }
        CONN_LOG(c, APLOG_ERR, PM_LOGNO(00016) "commit failed: %s", msg);
        break;
    case PM_DB_EV_ROLLED_BACK:
        CONN_LOG(c, APLOG_DEBUG, PM_LOGNO(00014) "transaction rolled back");
        break;
    case PM_DB_EV_COLLATOR:
        CONN_LOG(c, APLOG_ERR, PM_LOGNO(00176)
                 "cannot open the ICU collator for locale %s", msg);
        break;
    }
}

/* SQLite: take the writer gate for a write (a transaction holds it to its end). */
static apr_status_t gate_enter(void *ctx)
{
    store_conn *c = ctx;
    apr_status_t rv;

    if ((rv = pm_writer_enter()) != APR_SUCCESS) {
        CONN_LOG(c, APLOG_ERR, PM_LOGNO(00182)
                 "another writer held the database for %d s; this write was not tried",
                 (int)apr_time_sec(PM_WRITER_WAIT));
    }
    return rv;
}

static void gate_leave(void *ctx)
{
    (void)ctx;
    pm_writer_leave();
}

static apr_status_t watch_enter(void *ctx)
{
    return pm_db_guard_enter(((store_conn *)ctx)->watch);
}

static void watch_leave(void *ctx)
{
    pm_db_guard_leave(((store_conn *)ctx)->watch);
}

/* SQLite: a transaction takes the write lock at its start by BEGIN IMMEDIATE (waited
 * for as any busy statement is, pm_db_sqlite.c), not by a write that touches
 * nothing after a deferred BEGIN: one statement less per audit commit */
static const pm_db_hooks sqlite_hooks = { report, gate_enter, gate_leave, 0, 1, NULL, NULL, 1 };
static const pm_db_hooks other_hooks = { report, NULL, NULL, 1, 1, watch_enter, watch_leave };

/* SQLite holds a connection's pages in its page cache, and empties that cache
 * whenever another connection has committed (every audited request does), so
 * each request reads its pages again. Past the first 20 pages, each page is a
 * malloc, freed again when the cache is emptied; glibc gives the freed top of a
 * thread's heap back to the kernel above 128 KB, which a search at 100,000
 * clients (then 60-odd pages; 41 once its candidates came from an index) crossed
 * on nearly every request: a madvise to give the memory back, then page faults
 * and zeroing to take it again. With 64 pages in
 * one allocation per connection (about 280 KB, made when the connection first
 * reads and kept until it closes), a request's pages are reused, not
 * reallocated. 100 or 128 pages also served the 50-row search at 100,000
 * clients from the allocation, but grew the busiest child by 2.1-2.4 MB over
 * bench/memory's rounds 2-4 (64: 1.4 MB). SQLite takes the setting only before
 * it is first used in the process: pre_config, before mod_dbd opens anything. */
#define SQLITE_PAGES_PER_CONNECTION 64

static int sqlite_pages_set;      /* 1 once SQLite took the setting */

int pm_store_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
#ifdef PM_HAVE_SQLITE3
    if (!sqlite_pages_set
        && sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, SQLITE_PAGES_PER_CONNECTION)
           == SQLITE_OK) {
        sqlite_pages_set = 1;
    }
#endif
    return OK;
}

int pm_store_init(server_rec *s)
{
    if (sqlite_pages_set) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, PM_LOGNO(00544)
                     "SQLite connections keep %d pages of memory each",
                     SQLITE_PAGES_PER_CONNECTION);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, PM_LOGNO(00666)
                     "SQLite connections allocate each page (SQLite was in use before "
                     "this module's pre_config, or the module was built without its headers)");
    }
    if (APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire) == NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PM_LOGNO(00010)
                     "mod_portal_manager needs mod_dbd: add 'LoadModule dbd_module "
                     "modules/mod_dbd.so' before it");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    pm_sql_init();
    return OK;
}

/* Statements are prepared on a connection the first time it runs them (pm_db.c's
 * prepare_missing), never all up front: none are registered with mod_dbd. Up front
 * cost every new connection about 170 prepares: a few MB of statement programs
 * each SQLite connection mostly never ran, and on PostgreSQL about 170 round trips
 * inside mod_dbd's pool lock, where every other thread of the child waits for its
 * connection (a cold child under a burst answered 503 after PortalDBTimeout).
 * Preparing after DBDInitSQL also keeps APR's SQLite driver (legacy
 * sqlite3_prepare) from running statements a flag pragma there has expired.
 * PostgreSQL: the module's statements are short lookups, and JIT compilation
 * (on by default since PostgreSQL 12, triggered by cost estimates, which the
 * search's recursive CTE inflates) cost 100 ms to 2 s per search against a few
 * ms of work. Off for the module's own connections; a server without JIT (or
 * older than 11) refuses the SET, which changes nothing. */
static apr_status_t session_for_pgsql(ap_dbd_t *dbd)
{
    int n = 0;
    pm_db_watch *watch = pm_db_guard_watch(dbd->pool, dbd->driver, dbd->handle);

    if (pm_db_guard_enter(watch) != APR_SUCCESS) {
        pm_db_guard_leave(watch);
        return APR_EAGAIN;       /* the database is not answering: not ready yet */
    }
    apr_dbd_query(dbd->driver, dbd->handle, &n, "SET jit = off");
    pm_db_guard_leave(watch);
    return APR_SUCCESS;
}

/* SQLite: a new connection reads the schema by preparing one statement (the file
 * exists and holds the portal's tables), so that later prepares need no lock.
 * SQLite answers a prepare on a busy file at once (no busy_timeout, see README): the
 * caller tries again briefly; a failure that will be tried again is logged at debug
 * level, the last one as an error. */
static apr_status_t session_for_sqlite(ap_dbd_t *dbd, server_rec *s, int last_try)
{
    const char *error = NULL;

    if (pm_db_prepare(dbd->driver, dbd->pool, dbd->handle, dbd->prepared, PM_SQL_MONITOR_PING,
                      &error) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, last_try ? APLOG_ERR : APLOG_DEBUG, 0, s, PM_LOGNO(00018)
                     "cannot prepare %s: %s", pm_sql_get(PM_SQL_MONITOR_PING)->label, error);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* The schema this build's statements are written for, checked once per new
 * connection: a database an upgrade left behind (the package installed, `init`
 * not run) or never initialised otherwise fails request after request with a
 * missing table or index in the log while health answers 200. What was found is
 * logged once per child; the connection is refused (503, health 503) until the
 * admin runs `portal-manager-admin init`. A newer schema (a module downgraded) is
 * served with a warning. */
static apr_uint32_t schema_logged;     /* per child: 1 once the verdict was logged */

/* The schema check's report: kept for check_schema to judge, not logged. */
static void keep_failure(void *ctx, pm_db_event ev, const char *label, const char *msg)
{
    (void)ev;
    (void)label;
    ((store_conn *)ctx)->failure = msg ? msg : "no reason given";
}

/* 1 with *version read; 0 with *failure when the statement failed. */
static int schema_version_read(ap_dbd_t *dbd, server_rec *s, apr_pool_t *p, int *version,
                               const char **failure)
{
    pm_db_hooks quiet = strcmp(apr_dbd_name(dbd->driver), "sqlite3") == 0 ? sqlite_hooks
                                                                            : other_hooks;
    store_conn *c = apr_pcalloc(p, sizeof(*c));
    apr_array_header_t *rows;
    pm_db *db;

    quiet.report = keep_failure;
    c->s = s;
    c->dbd = dbd;
    c->watch = pm_db_guard_watch(p, dbd->driver, dbd->handle);
    db = pm_db_make(p, dbd->driver, dbd->handle, dbd->prepared, &quiet, c);
    if (pm_db_select(db, PM_SQL_ADMIN_SCHEMA_VERSION, &rows) != APR_SUCCESS) {
        *failure = c->failure ? c->failure : "no reason given";
        return 0;
    }
    *version = pm_row_int(pm_first_row(rows), SCHEMA_VERSION, 0);
    return 1;
}

/* SQLite's "no such table: schema_version", PostgreSQL's "relation ... does not exist" */
static int no_schema_table(const char *failure)
{
    return strstr(failure, "no such table") || strstr(failure, "does not exist");
}

static apr_status_t schema_verdict(server_rec *s, int version)
{
    int first = apr_atomic_cas32(&schema_logged, 1, 0) == 0;

    if (version < PM_SCHEMA_VERSION) {
        apr_atomic_set32(&schema_outdated, 1);
        ap_log_error(APLOG_MARK, first ? APLOG_ERR : APLOG_DEBUG, 0, s, PM_LOGNO(00601)
                     "the database schema is version %d, this module needs %d: back the "
                     "database up and run portal-manager-admin init to upgrade it "
                     "(README, Upgrades)", version, PM_SCHEMA_VERSION);
        return APR_EGENERAL;
    }
    if (version > PM_SCHEMA_VERSION && first) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PM_LOGNO(00602)
                     "the database schema is version %d, newer than this module's %d "
                     "(an older module after a newer one's init): serving it anyway",
                     version, PM_SCHEMA_VERSION);
    }
    return APR_SUCCESS;
}

/* The tail of a throttled line: how many failures it stands for beside itself. */
static const char *outage_more(apr_pool_t *p, apr_uint32_t more)
{
    return more ? apr_psprintf(p, " (and %u more since the last such line)", more) : "";
}

/* Only the last try's failure counts; it stays until an admin acts (a read-only SQLite
 * directory, met by every worker pass and request): throttled as an outage is. */
static void log_schema_unread(server_rec *s, apr_pool_t *p, const char *failure, int last_try)
{
    apr_uint32_t more = 0;
    int level = last_try ? pm_log_throttled_level(&schema_unread, &more) : APLOG_DEBUG;

    ap_log_error(APLOG_MARK, level, 0, s, PM_LOGNO(00603)
                 "cannot read the database's schema version: %s%s%s", failure, hint(failure),
                 outage_more(p, more));
}

/* A busy SQLite file or a lost connection is tried again (the caller's loop); only
 * the last try's failure is an error line. */
static apr_status_t check_schema(ap_dbd_t *dbd, server_rec *s, int last_try)
{
    const char *failure = NULL;
    apr_status_t rv;
    apr_pool_t *p;
    int version = 0;

    apr_pool_create(&p, dbd->pool);
    if (schema_version_read(dbd, s, p, &version, &failure)) {
        rv = schema_verdict(s, version);
    }
    else if (no_schema_table(failure)) {
        /* (ap_log_error's level is evaluated twice: decided here, once) */
        int level = apr_atomic_cas32(&schema_logged, 1, 0) == 0 ? APLOG_ERR : APLOG_DEBUG;

        ap_log_error(APLOG_MARK, level, 0, s, PM_LOGNO(00600)
                     "the database has no Client Portal Manager schema (%s): run "
                     "portal-manager-admin init (README, Install on Debian/Ubuntu)", failure);
        rv = APR_EGENERAL;
    }
    else {
        log_schema_unread(s, p, failure, last_try);
        rv = APR_EGENERAL;
    }
    apr_atomic_set32(&schema_read_only, rv != APR_SUCCESS && *hint(failure));
    apr_pool_destroy(p);
    return rv;
}

/* A PostgreSQL connection mod_dbd re-established in place (after a cut by the
 * statement watch, a server restart, a terminated backend): its new session has
 * none of the module's prepared statements, which would fail on every use until
 * the child exited ("prepared statement ... does not exist"). Forgotten, they are
 * prepared again on first use, and the session is set up again. */
static void forget_old_session(ap_dbd_t *dbd, server_rec *s)
{
    int id;

    for (id = 0; id < PM_SQL_COUNT; id++) {
        apr_hash_set(dbd->prepared, pm_sql_get(id)->label, APR_HASH_KEY_STRING, NULL);
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, PM_LOGNO(00606)
                 "a database connection was re-established: its session is set up again");
}

/* A connection's session set up once per server session (pool userdata keys mark it
 * done, and for PostgreSQL the server process it was done with). */
static apr_status_t prepare_on_connection(ap_dbd_t *dbd, server_rec *s, int last_try)
{
    const char *name = apr_dbd_name(dbd->driver);
    int backend = pm_db_guard_backend(dbd->driver, dbd->handle);
    void *done = NULL, *was = NULL;
    apr_status_t rv = APR_SUCCESS;

    apr_pool_userdata_get(&done, "pm_connection_ready", dbd->pool);
    apr_pool_userdata_get(&was, "pm_connection_backend", dbd->pool);
    if (done && (int)(intptr_t)was == backend) {
        return APR_SUCCESS;
    }
    if (done) {
        forget_old_session(dbd, s);
        apr_pool_userdata_setn(NULL, "pm_connection_ready", NULL, dbd->pool);
    }
    if (strcmp(name, "pgsql") == 0) {
        rv = session_for_pgsql(dbd);
    }
    if (rv == APR_SUCCESS) {
        rv = check_schema(dbd, s, last_try);
    }
    if (rv == APR_SUCCESS && strcmp(name, "sqlite3") == 0) {
        rv = session_for_sqlite(dbd, s, last_try);
    }
    if (rv == APR_SUCCESS) {
        apr_pool_userdata_setn((void *)1, "pm_connection_ready", NULL, dbd->pool);
        apr_pool_userdata_setn((void *)(intptr_t)backend, "pm_connection_backend", NULL,
                               dbd->pool);
    }
    return rv;
}

static pm_db *wrap(apr_pool_t *p, request_rec *r, server_rec *s, ap_dbd_t *dbd)
{
    store_conn *c = apr_pcalloc(p, sizeof(*c));
    int sqlite = strcmp(apr_dbd_name(dbd->driver), "sqlite3") == 0;

    c->r = r;
    c->s = s;
    c->dbd = dbd;
    c->watch = pm_db_guard_watch(p, dbd->driver, dbd->handle);
    return pm_db_make(p, dbd->driver, dbd->handle, dbd->prepared,
                      sqlite ? &sqlite_hooks : &other_hooks, c);
}

#define ACQUIRE_TRIES     3
#define ACQUIRE_PAUSE_US  100000
/* no further try after this long: a try that waited for a connection (DBDParams'
 * connect_timeout) is not repeated, so a database that stops answering costs a
 * request one wait, not three */
#define ACQUIRE_RETRY_WITHIN apr_time_from_msec(500)

/* Where a connection comes from: mod_dbd's connection of request r (released
 * with the request), or one the delivery worker opens in pool p (closed here
 * when its statements cannot be prepared). */
typedef struct {
    request_rec *r;
    server_rec *s;
    apr_pool_t *p;
    int waited_out;   /* set when the line for a turn stopped moving (PortalDBTimeout) */
} dbd_source;

static ap_dbd_t *source_get(dbd_source *src)
{
    APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    APR_OPTIONAL_FN_TYPE(ap_dbd_open) *open_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    ap_dbd_t *dbd;
    apr_status_t rv;
    int held;

    rv = pm_db_guard_acquire_enter(&held);
    src->waited_out = APR_STATUS_IS_TIMEUP(rv);     /* what the last try met */
    if (rv != APR_SUCCESS) {
        return NULL;
    }
    if (src->r) {
        dbd = acquire ? acquire(src->r) : NULL;
    }
    else {
        dbd = open_fn ? open_fn(src->p, src->s) : NULL;
    }
    pm_db_guard_acquire_leave(held);
    return dbd;
}

static void source_drop(const dbd_source *src, ap_dbd_t *dbd)
{
    APR_OPTIONAL_FN_TYPE(ap_dbd_close) *close_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);

    if (src->r == NULL && close_fn) {
        close_fn(src->s, dbd);
    }
}

/* A connection with every statement prepared, or NULL. A new SQLite connection
 * prepares every statement, and SQLite answers a prepare on a busy file at once
 * (no busy_timeout, see README): try again briefly. */
static ap_dbd_t *prepared_connection(dbd_source *src)
{
    ap_dbd_t *dbd = NULL;
    int i, available = src->r ? APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire) != NULL
                              : APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open) != NULL;

    apr_time_t start = apr_time_now();

    for (i = 0; available && dbd == NULL && i < ACQUIRE_TRIES; i++) {
        if (i > 0) {
            if (apr_time_now() - start > ACQUIRE_RETRY_WITHIN) {
                break;
            }
            apr_sleep(ACQUIRE_PAUSE_US);
        }
        if ((dbd = source_get(src)) == NULL) {
            continue;
        }
        if (prepare_on_connection(dbd, src->s, i == ACQUIRE_TRIES - 1) != APR_SUCCESS) {
            source_drop(src, dbd);
            dbd = NULL;
        }
    }
    return dbd;
}

/* "No database connection" while the database stays away (down, unreachable, a
 * schema refused): the first line of an outage at error level, then at most one a
 * minute saying how many it stood for, the rest at debug level; when a connection
 * is had again, one line says so. Per child. Without it an outage wrote a line for
 * every request and every worker pass (PostgreSQL down: 241 lines in 10 s idle). */
static pm_log_throttle outage;

#ifdef PM_HAVE_SQLITE3
static pm_log_throttle file_moved;

/* SQLite: the file this connection opened is no longer at its path: removed, or
 * another file moved over it (a backup restored while httpd runs). The connection
 * would go on writing to the old file, whose changes a restart then drops, while
 * new connections read the new one: refused (503), said at most once a minute. */
static int sqlite_file_moved(ap_dbd_t *dbd, server_rec *s, apr_pool_t *p)
{
    sqlite3 *conn;
    apr_uint32_t more;
    int moved = 0, level;

    if (strcmp(apr_dbd_name(dbd->driver), "sqlite3") != 0
        || (conn = apr_dbd_native_handle(dbd->driver, dbd->handle)) == NULL
        || sqlite3_file_control(conn, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK
        || !moved) {
        return 0;
    }
    level = pm_log_throttled_level(&file_moved, &more);
    ap_log_error(APLOG_MARK, level, 0, s, PM_LOGNO(00651)
                 "the SQLite file %s was removed or replaced while httpd runs: a "
                 "connection still on the old file answers 503 (its writes would be "
                 "lost); restart Apache now (apachectl graceful) so that none is left, "
                 "and restore a backup only with Apache stopped, removing the -wal and "
                 "-shm files (README, Backups)%s", sqlite3_db_filename(conn, "main"),
                 outage_more(p, more));
    return 1;
}
#else
static int sqlite_file_moved(ap_dbd_t *dbd, server_rec *s, apr_pool_t *p)
{
    return 0;
}
#endif

/* What the admin should look at: a read-only SQLite file or a schema waiting for
 * init is not a wrong DBDParams. */
static const char *outage_remedy(apr_pool_t *p)
{
    if (apr_atomic_read32(&schema_outdated)) {
        return "the database schema is older than this module's: run portal-manager-admin "
               "init, see PM00601";
    }
    return apr_atomic_read32(&schema_read_only) || pm_config_sqlite_unwritable(p)
           ? "the SQLite database cannot be written: its directory and file must be owned "
             "by the user httpd runs as, e.g. chown -R www-data the directory"
           : "check DBDriver/DBDParams and that the database is reachable and its schema "
             "initialised";
}

/* After init changed the schema under a running SQLite server: stock mod_authn_dbd
 * keeps its prepared AuthDBDUserPWQuery on its pooled connections, and SQLite's
 * driver does not prepare it again ("database schema has changed"), so the client
 * portal's login answers 500 until a reload. */
static const char *after_schema_change(ap_dbd_t *dbd)
{
    return strcmp(apr_dbd_name(dbd->driver), "sqlite3") == 0
                   && ap_find_linked_module("mod_authn_dbd.c") != NULL
           ? "; the schema was upgraded while Apache serves: reload Apache now "
             "(systemctl reload apache2), the client portal's login (mod_authn_dbd) "
             "answers 500 until then"
           : "";
}

static void outage_over(server_rec *s, ap_dbd_t *dbd)
{
    int upgraded = apr_atomic_read32(&schema_outdated)
                   && apr_atomic_cas32(&schema_outdated, 0, 1) == 1;

    if (outage.next != 0 || upgraded) {
        apr_uint32_t more = apr_atomic_xchg32(&outage.unlogged, 0);

        outage.next = 0;
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, PM_LOGNO(00604)
                     "the database answers again (%u failure(s) since the last line)%s",
                     more, upgraded ? after_schema_change(dbd) : "");
    }
}

pm_db *pm_db_acquire(request_rec *r)
{
    dbd_source src = { r, r->server, r->pool, 0 };
    ap_dbd_t *dbd;

    if (pm_db_guard_suspect()) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, PM_LOGNO(00542)
                      "the database left a statement unanswered a moment ago: 503 at once");
        return NULL;
    }
    if ((dbd = prepared_connection(&src)) == NULL) {
        pm_metrics_db_failure();
        if (src.waited_out) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, PM_LOGNO(00546)
                          "no database connection: no statement of this child was "
                          "answered within PortalDBTimeout while every pooled connection "
                          "was in use (DBDMax) or another thread's connect was waiting");
        }
        else {
            apr_uint32_t more;
            int level = pm_log_throttled_level(&outage, &more);

            ap_log_rerror(APLOG_MARK, level, 0, r, PM_LOGNO(00011)
                          "no database connection (%s)%s", outage_remedy(r->pool),
                          outage_more(r->pool, more));
        }
        return NULL;
    }
    outage_over(r->server, dbd);
    if (sqlite_file_moved(dbd, r->server, r->pool)) {
        pm_metrics_db_failure();
        return NULL;
    }
    return wrap(r->pool, r, r->server, dbd);
}

pm_db *pm_db_open(server_rec *s, apr_pool_t *p)
{
    dbd_source src = { NULL, s, p, 0 };
    ap_dbd_t *dbd = prepared_connection(&src);

    if (dbd == NULL) {
        pm_metrics_db_failure();
        if (src.waited_out) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, PM_LOGNO(00547)
                         "delivery worker: no database connection: no statement of this "
                         "child was answered within PortalDBTimeout while every pooled "
                         "connection was in use or another thread's connect was waiting; "
                         "the next pass tries again");
        }
        else {
            apr_uint32_t more;
            int level = pm_log_throttled_level(&outage, &more);

            ap_log_error(APLOG_MARK, level, 0, s, PM_LOGNO(00017)
                         "delivery worker: no database connection (%s)%s", outage_remedy(p),
                         outage_more(p, more));
        }
        return NULL;
    }
    outage_over(s, dbd);
    if (sqlite_file_moved(dbd, s, p)) {
        pm_metrics_db_failure();
        source_drop(&src, dbd);
        return NULL;
    }
    return wrap(p, NULL, s, dbd);
}

void pm_db_close(pm_db *db)
{
    APR_OPTIONAL_FN_TYPE(ap_dbd_close) *close_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    store_conn *c = db ? pm_db_context(db) : NULL;

    if (c && c->dbd && close_fn) {
        pm_db_rollback(db);
        close_fn(c->s, c->dbd);
        c->dbd = NULL;
    }
}

void pm_db_busy_is_routine(pm_db *db)
{
    store_conn *c = pm_db_context(db);

    c->busy_is_routine = 1;
}
