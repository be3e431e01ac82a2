/* Unit tests for the executor (src/core/pm_db.c) without httpd: a real SQLite file in a
 * temporary directory with the real schema (conf/schema/sqlite.sql and its
 * migrations) opened by apr_dbd — select, exec, SQL NULL both ways, a transaction
 * rolled back by its pool's cleanup, failures through the report hook, the write
 * hooks — and the client name keys computed over it (src/core/pm_client_keys.c). */
#include "pm_client_keys.h"
#include "pm_collate.h"
#include "pm_columns.h"
#include "pm_db.h"
#include "pm_sqlsplit.h"
#include "tap.h"

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <dirent.h>
#include <stdlib.h>

/* what the hooks saw */
typedef struct {
    int reports;
    pm_db_event last_event;
    const char *last_label;
    int entered, left, refuse;
} seen;

static void record_report(void *ctx, pm_db_event ev, const char *label, const char *msg)
{
    seen *s = ctx;

    s->reports++;
    s->last_event = ev;
    s->last_label = label;
}

static apr_status_t record_enter(void *ctx)
{
    seen *s = ctx;

    if (s->refuse) {
        return APR_TIMEUP;
    }
    s->entered++;
    return APR_SUCCESS;
}

static void record_leave(void *ctx)
{
    ((seen *)ctx)->left++;
}

static const pm_db_hooks lazy_hooks = { record_report, NULL, NULL, 0, 1 };
static const pm_db_hooks gated_hooks = { record_report, record_enter, record_leave, 1, 1 };
static const pm_db_hooks strict_hooks = { record_report, NULL, NULL, 0, 0 };

static int run_script(apr_pool_t *p, const apr_dbd_driver_t *drv, apr_dbd_t *h,
                      const char *path)
{
    apr_array_header_t *stmts;
    const char *error = NULL;
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t len;
    char *text;
    int i, n;

    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, p) != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        return -1;
    }
    len = (apr_size_t)fi.size;
    text = apr_palloc(p, len + 1);
    if (apr_file_read_full(f, text, len, NULL) != APR_SUCCESS) {
        apr_file_close(f);
        return -1;
    }
    apr_file_close(f);
    text[len] = '\0';
    if (pm_sql_split(p, text, len, &stmts, &error) != APR_SUCCESS) {
        return -1;
    }
    for (i = 0; i < stmts->nelts; i++) {
        if (apr_dbd_query(drv, h, &n, APR_ARRAY_IDX(stmts, i, pm_script_statement).sql) != 0) {
            printf("# %s: %s\n", path, apr_dbd_error(drv, h, -1));
            return -1;
        }
    }
    return 0;
}

static int is_sql_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);

    return n > 4 && strcmp(e->d_name + n - 4, ".sql") == 0;
}

static int load_schema(apr_pool_t *p, const apr_dbd_driver_t *drv, apr_dbd_t *h,
                       const char *srcdir)
{
    const char *dir = apr_pstrcat(p, srcdir, "/conf/schema/migrations/sqlite3", NULL);
    struct dirent **files = NULL;
    int i, n, rc = run_script(p, drv, h, apr_pstrcat(p, srcdir, "/conf/schema/sqlite.sql", NULL));

    n = scandir(dir, &files, is_sql_file, alphasort);
    for (i = 0; i < n; i++) {
        if (rc == 0) {
            rc = run_script(p, drv, h, apr_pstrcat(p, dir, "/", files[i]->d_name, NULL));
        }
        free(files[i]);
    }
    free(files);
    return n > 0 ? rc : -1;
}

/* The module refuses a database older than PM_SCHEMA_VERSION (pm_store.c): it must be
 * the newest migration each driver has, or an upgraded database would be refused (too
 * high) or an un-upgraded one served (too low). */
static void test_schema_version_constant(apr_pool_t *p, const char *srcdir)
{
    static const char *const drivers[] = { "sqlite3", "pgsql" };
    int d;

    for (d = 0; d < 2; d++) {
        const char *dir = apr_pstrcat(p, srcdir, "/conf/schema/migrations/", drivers[d], NULL);
        struct dirent **files = NULL;
        int i, n = scandir(dir, &files, is_sql_file, alphasort), newest = 0;

        for (i = 0; i < n; i++) {
            int v = atoi(files[i]->d_name);
            newest = v > newest ? v : newest;
            free(files[i]);
        }
        free(files);
        ok(n > 0 && newest == PM_SCHEMA_VERSION,
           "PM_SCHEMA_VERSION (%d) is the newest %s migration (%d)", PM_SCHEMA_VERSION,
           drivers[d], newest);
    }
}

/* Retiring an invitation's current token when that hash was retired once already
 * (the worker under rapid resends, PostgreSQL's duplicate key in the review) leaves
 * it retired and is not an error, or the batch went back to the queue. */
static void test_token_retired_twice(pm_db *db, const apr_dbd_driver_t *drv, apr_dbd_t *h)
{
    int n = 0;
    apr_status_t rv;

    ok(apr_dbd_query(drv, h, &n,
                     "INSERT INTO clients (id, first_name, last_name, date_of_birth) "
                     "VALUES (7001, 'Tok', 'Twice', '1980-01-01')") == 0
       && apr_dbd_query(drv, h, &n,
                        "INSERT INTO invitations (id, client_id, email, token_hash, created_by, "
                        "created_at, expires_at) VALUES (7001, 7001, 't@example.org', 'h1', "
                        "'casey', 1, 2)") == 0
       && apr_dbd_query(drv, h, &n,
                        "INSERT INTO superseded_tokens (token_hash, invitation_id, superseded_at) "
                        "VALUES ('h1', 7001, 1)") == 0,
       "an invitation whose current hash h1 was retired before");
    rv = pm_db_exec(db, PM_SQL_TOKEN_RETIRE_OTHER, &n, "5", "7001", "h2");
    ok(rv == APR_SUCCESS && n == 0, "retiring h1 again for h2: no error, nothing added (%d)", n);
}

static int staff_count(pm_db *db, const char *user)
{
    apr_array_header_t *rows;

    return pm_db_select(db, PM_SQL_STAFF_GET, &rows, user) == APR_SUCCESS ? rows->nelts : -1;
}

static void test_select_exec(pm_db *db, seen *s)
{
    apr_array_header_t *rows;
    const pm_row *r;
    apr_status_t rv;
    int n = -1;

    ok(pm_db_select(db, PM_SQL_ADMIN_SCHEMA_VERSION, &rows) == APR_SUCCESS
       && rows->nelts == 1, "select: one row");
    /* the base file records version 1 (the admin tool records the migrations') */
    ok(pm_row_int(pm_first_row(rows), SCHEMA_VERSION, 0) == 1, "select: its value");
    rv = pm_db_exec(db, PM_SQL_ADMIN_STAFF_INSERT, &n, "casey", "Casey Morgan", "1", "100");
    ok(rv == APR_SUCCESS && n == 1, "exec: one row inserted (%d)", n);
    ok(pm_db_select(db, PM_SQL_STAFF_GET, &rows, "casey") == APR_SUCCESS
       && (r = pm_first_row(rows)) != NULL, "select by argument finds it");
    r = pm_first_row(rows);
    is_str(pm_row_str(r, STAFF_DISPLAY_NAME), "Casey Morgan", "the row read by column name");
    ok(pm_row_int(r, STAFF_ALL_CLIENTS, -1) == 1, "an integer column");
    ok(pm_db_select(db, PM_SQL_STAFF_GET, &rows, "nobody") == APR_SUCCESS
       && pm_first_row(rows) == NULL, "no row: pm_first_row is NULL");
    ok(s->reports == 0, "nothing reported");
}

static void test_null(pm_db *db)
{
    apr_array_header_t *rows;
    const char *id;
    apr_status_t rv;
    int n = -1;

    ok(pm_db_select(db, PM_SQL_ADMIN_CLIENT_INSERT, &rows, "Ada", "Lovelace",
                    "1990-01-01", NULL, "en", "1", "1") == APR_SUCCESS && rows->nelts == 1,
       "insert a client with a NULL email");
    id = pm_row_str(pm_first_row(rows), UNKEYED_ID);
    ok(id != NULL, "its id comes back");
    ok(pm_db_select(db, PM_SQL_CLIENT_GET_VISIBLE, &rows, id, "casey", "casey") == APR_SUCCESS
       && rows->nelts == 1, "read it back");
    ok(pm_row_str(pm_first_row(rows), CLIENT_EMAIL) == NULL, "SQL NULL reads as NULL, not \"\"");
    is_str(pm_row_str(pm_first_row(rows), CLIENT_LAST_NAME), "Lovelace", "beside a value");
    /* NULL arguments are SQL NULL: the unused rows of a multi-row insert add nothing */
    {
        const char *args[PM_SQL_KEY_SET_ROWS * 3] = { id, "k", "a b" };

        rv = pm_db_exec_args(db, PM_SQL_CLIENT_KEYS_SET_ADD, &n, args);
        ok(rv == APR_SUCCESS && n == 1,
           "NULL arguments are SQL NULL (1 of %d rows written: %d)", PM_SQL_KEY_SET_ROWS, n);
    }
    rv = pm_db_exec(db, PM_SQL_CLIENT_KEYS_SET_DELETE, &n, id);
    ok(rv == APR_SUCCESS && n == 1, "and only that one is there (%d)", n);
}

static void test_rollback_on_cleanup(apr_pool_t *p, pm_db *db, const apr_dbd_driver_t *drv,
                                     apr_dbd_t *h, seen *s)
{
    apr_pool_t *sub;
    pm_db *t;

    apr_pool_create(&sub, p);
    t = pm_db_make(sub, drv, h, NULL, &lazy_hooks, s);
    ok(pm_db_begin(t) == APR_SUCCESS && pm_db_in_transaction(t), "begin");
    ok(pm_db_exec(t, PM_SQL_ADMIN_STAFF_INSERT, NULL, "temp", "Temp", "0", "1") == APR_SUCCESS,
       "a write inside the transaction");
    ok(staff_count(t, "temp") == 1, "visible inside it");
    apr_pool_destroy(sub);
    ok(staff_count(db, "temp") == 0, "the pool's cleanup rolled it back");
    ok(s->last_event == PM_DB_EV_ROLLED_BACK, "and said so through the hook");

    apr_pool_create(&sub, p);
    t = pm_db_make(sub, drv, h, NULL, &lazy_hooks, s);
    ok(pm_db_begin(t) == APR_SUCCESS
       && pm_db_exec(t, PM_SQL_ADMIN_STAFF_INSERT, NULL, "kept", "Kept", "0", "1") == APR_SUCCESS
       && pm_db_commit(t) == APR_SUCCESS && !pm_db_in_transaction(t), "a committed transaction");
    apr_pool_destroy(sub);
    ok(staff_count(db, "kept") == 1, "stays after its pool is gone");
}

static void test_failures(apr_pool_t *p, pm_db *db, const apr_dbd_driver_t *drv, apr_dbd_t *h,
                          seen *s)
{
    apr_array_header_t *rows;
    pm_db *strict;
    int before = s->reports, n;

    ok(pm_db_exec(db, PM_SQL_ADMIN_STAFF_INSERT, NULL, "casey", "Again", "0", "1")
       != APR_SUCCESS, "a failing statement (duplicate key) returns an error");
    ok(s->reports == before + 1 && s->last_event == PM_DB_EV_FAILED,
       "and reports PM_DB_EV_FAILED through the hook");
    is_str(s->last_label, "pm_admin_staff_insert", "naming the statement");

    /* a failed statement spoils its transaction: what follows is not sent and the
     * commit rolls back, saying so (as APR's driver did; SQLite runs through its
     * own API here, src/core/pm_db_sqlite.c) */
    ok(pm_db_begin(db) == APR_SUCCESS
       && pm_db_exec(db, PM_SQL_ADMIN_STAFF_INSERT, NULL, "casey", "Again", "0", "1")
          != APR_SUCCESS, "a failing statement inside a transaction");
    ok(pm_db_exec(db, PM_SQL_ADMIN_STAFF_INSERT, NULL, "after", "After", "0", "1")
       != APR_SUCCESS, "the next statement of that transaction fails too");
    ok(pm_db_commit(db) != APR_SUCCESS && s->last_event == PM_DB_EV_COMMIT
       && !pm_db_in_transaction(db), "its commit fails and says so");
    n = staff_count(db, "after");
    ok(n == 0, "nothing of it was kept (%d)", n);
    ok(pm_db_exec(db, PM_SQL_ADMIN_STAFF_INSERT, NULL, "later", "Later", "0", "1")
       == APR_SUCCESS && staff_count(db, "later") == 1, "the connection works on");

    strict = pm_db_make(p, drv, h, NULL, &strict_hooks, s);
    ok(pm_db_select(strict, PM_SQL_STAFF_GET, &rows, "casey") != APR_SUCCESS && rows->nelts == 0,
       "without prepare_missing an unprepared statement is an error");
    ok(s->last_event == PM_DB_EV_MISSING, "reported as missing");
    is_str(s->last_label, "pm_staff_get", "naming it");
}

static void test_write_hooks(apr_pool_t *p, const apr_dbd_driver_t *drv, apr_dbd_t *h, seen *s)
{
    apr_array_header_t *rows;
    pm_db *g = pm_db_make(p, drv, h, NULL, &gated_hooks, s);

    s->entered = s->left = 0;
    ok(pm_db_select(g, PM_SQL_STAFF_GET, &rows, "casey") == APR_SUCCESS && s->entered == 0,
       "a read does not ask for the writer's turn");
    ok(pm_db_exec(g, PM_SQL_ADMIN_STAFF_SET_ACTIVE, NULL, "1", "casey") == APR_SUCCESS
       && s->entered == 1 && s->left == 1, "a write outside a transaction takes and gives back the turn");
    ok(pm_db_begin(g) == APR_SUCCESS && s->entered == 2 && s->left == 1,
       "a transaction takes it at begin");
    ok(pm_db_exec(g, PM_SQL_ADMIN_STAFF_SET_ACTIVE, NULL, "1", "casey") == APR_SUCCESS
       && s->entered == 2 && s->left == 1, "and holds it through its writes");
    ok(pm_db_commit(g) == APR_SUCCESS && s->left == 2, "until commit");
    s->refuse = 1;
    ok(pm_db_exec(g, PM_SQL_ADMIN_STAFF_INSERT, NULL, "late", "Late", "0", "1") != APR_SUCCESS
       && staff_count(g, "late") == 0, "a refused turn: the write is not tried");
    ok(pm_db_begin(g) != APR_SUCCESS && !pm_db_in_transaction(g), "nor a transaction begun");
    s->refuse = 0;
}

/* Another connection holds the write lock: the transaction does not start, and the
 * hook hears that (PM_DB_EV_BEGIN), not a statement of the caller's failing. */
static void test_begin_behind_lock(apr_pool_t *p, const apr_dbd_driver_t *drv, apr_dbd_t *h,
                                   const char *file, seen *s)
{
    pm_db *g = pm_db_make(p, drv, h, NULL, &gated_hooks, s);
    apr_dbd_t *other = NULL;
    int n = 0, before;

    if (apr_dbd_open(drv, p, file, &other) != APR_SUCCESS
        || apr_dbd_query(drv, other, &n, "BEGIN IMMEDIATE") != 0) {
        ok(0, "a second connection holding the write lock");
        return;
    }
    before = s->reports;
    s->last_label = "unset";
    ok(pm_db_begin(g) != APR_SUCCESS, "behind another writer's lock the begin fails");
    ok(s->reports == before + 1 && s->last_event == PM_DB_EV_BEGIN && s->last_label == NULL,
       "reported once, as a transaction that could not start (event %d)", (int)s->last_event);
    pm_db_rollback(g);
    ok(!pm_db_in_transaction(g), "and no transaction is left open");
    apr_dbd_query(drv, other, &n, "ROLLBACK");
    apr_dbd_close(drv, other);
    ok(pm_db_begin(g) == APR_SUCCESS && pm_db_commit(g) == APR_SUCCESS,
       "once the lock is gone a transaction starts and commits");
}

static void test_client_keys(pm_db *db, apr_pool_t *p)
{
    apr_array_header_t *rows;
    apr_status_t rv;
    int keyed = -1;

    pm_db_select(db, PM_SQL_ADMIN_CLIENT_INSERT, &rows, "Zoë", "Núñez",
                 "1987-03-14", NULL, "en", "1", "1");
    pm_db_select(db, PM_SQL_ADMIN_CLIENT_INSERT, &rows, "José", "Álvarez",
                 "1979-11-02", NULL, "en", "1", "1");
    rv = pm_db_select(db, PM_SQL_CLIENT_KEYS_MISSING, &rows, "100");
    ok(rv == APR_SUCCESS && rows->nelts == 3, "three clients without keys (%d)", rows->nelts);
    rv = pm_client_keys_fill_all(db, p, "en", 1, &keyed);
    ok(rv == APR_SUCCESS && keyed == 3,
       "the fill computes the keys of all three, staged and sorted (%d)", keyed);
    rv = pm_db_select(db, PM_SQL_CLIENT_SEARCH_WORD_ALL, &rows,
                      pm_collate_query_key(pm_collate_match(p), p, "nun"), "", "0", "10");
    ok(rv == APR_SUCCESS && rows->nelts == 1, "the search keys find a name-word prefix (%d)",
       rows->nelts);
    is_str(pm_row_str(pm_first_row(rows), CLIENT_LAST_NAME), "Núñez", "the right client");
    ok(pm_db_select(db, PM_SQL_CLIENT_KEYS_MISSING, &rows, "100") == APR_SUCCESS
       && rows->nelts == 0, "none is left without keys");
    ok(pm_client_keys_fill_all(db, p, "en", 1, &keyed) == APR_SUCCESS && keyed == 0,
       "a second fill has nothing to do");
    /* a rename (the trigger forgets the sort key): the old keys are found from the
     * client's key set and dropped, the new ones written (unsorted, as the module) */
    rv = pm_db_select(db, PM_SQL_CLIENT_SEARCH_WORD_ALL, &rows,
                      pm_collate_query_key(pm_collate_match(p), p, "nun"), "", "0", "10");
    ok(pm_db_exec(db, PM_SQL_ROSTER_CLIENT_UPDATE, NULL, NULL, "Zoë", "Quiñones", "1987-03-14",
                  "1", "en", "2", pm_row_str(pm_first_row(rows), CLIENT_ID)) == APR_SUCCESS,
       "rename Zoë Núñez to Zoë Quiñones");
    ok(pm_client_keys_fill_all(db, p, "en", 0, &keyed) == APR_SUCCESS && keyed == 1,
       "the fill makes the renamed client's keys again (%d)", keyed);
    rv = pm_db_select(db, PM_SQL_CLIENT_SEARCH_WORD_ALL, &rows,
                      pm_collate_query_key(pm_collate_match(p), p, "nun"), "", "0", "10");
    ok(rv == APR_SUCCESS && rows->nelts == 0, "the old name's keys are gone (%d)", rows->nelts);
    rv = pm_db_select(db, PM_SQL_CLIENT_SEARCH_WORD_ALL, &rows,
                      pm_collate_query_key(pm_collate_match(p), p, "quin"), "", "0", "10");
    ok(rv == APR_SUCCESS && rows->nelts == 1, "the new name's keys find her (%d)", rows->nelts);
    rv = pm_db_select(db, PM_SQL_CLIENT_SEARCH_WORD_ALL, &rows,
                      pm_collate_query_key(pm_collate_match(p), p, "zoe"), "", "0", "10");
    ok(rv == APR_SUCCESS && rows->nelts == 1, "and her first name still does, once (%d)",
       rows->nelts);
}

/* libpq's messages end with a newline and may carry DETAIL lines: one log line each */
static void test_one_line(apr_pool_t *p)
{
    ok(pm_db_one_line(p, NULL) == NULL, "one_line: NULL stays NULL");
    is_str(pm_db_one_line(p, "ERROR:  relation \"x\" does not exist\n"),
           "ERROR:  relation \"x\" does not exist", "one_line: the trailing newline goes");
    is_str(pm_db_one_line(p, "ERROR:  duplicate key value violates unique constraint "
                             "\"portal_accounts_username\"\nDETAIL:  Key (lower(username::text))="
                             "(ann@example.org) already exists.\n"),
           "ERROR:  duplicate key value violates unique constraint \"portal_accounts_username\"",
           "one_line: the DETAIL line, which quotes the row's values, is not kept");
    is_str(pm_db_one_line(p, "ERROR:  new row violates check constraint \"c\"\r\nDETAIL:  Failing "
                             "row contains (1, Ann, Lee, ann@example.org).\n"),
           "ERROR:  new row violates check constraint \"c\"", "one_line: nor a failing row (CRLF)");
    is_str(pm_db_one_line(p, "ERROR:  invalid input syntax for type bigint: \"ann@example.org\"\n"),
           "ERROR:  invalid input syntax for type bigint: \"(a value, not logged)\"",
           "one_line: a value quoted at the end of the message is replaced");
    is_str(pm_db_one_line(p, "ERROR:  syntax error at or near \"x\"\n"),
           "ERROR:  syntax error at or near \"x\"", "one_line: a quoted name without ': ' stays");
    is_str(pm_db_one_line(p, "a\tb  \n\n"), "a b", "one_line: tab as space, trailing space gone");
    is_str(pm_db_one_line(p, ""), "", "one_line: empty stays empty");
}

/* What pm_db_select_each handed over: the values of column 0 in order, the size of
 * every batch; stop_after: refuse after that many batches (0: never). */
typedef struct {
    char seen[64];
    char sizes[64];
    int batches, stop_after;
} each_log;

static apr_status_t log_batch(void *ctx, const apr_array_header_t *rows)
{
    each_log *l = ctx;
    int i;

    for (i = 0; i < rows->nelts; i++) {
        const char *v = pm_row_str(&APR_ARRAY_IDX(rows, i, pm_row), 0);
        apr_cpystrn(l->seen + strlen(l->seen), v ? v : "-", sizeof(l->seen) - strlen(l->seen));
    }
    apr_snprintf(l->sizes + strlen(l->sizes), sizeof(l->sizes) - strlen(l->sizes), "%s%d",
                 l->batches ? "," : "", rows->nelts);
    l->batches++;
    return l->stop_after && l->batches >= l->stop_after ? APR_EOF : APR_SUCCESS;
}

/* the rows one statement of the table reads (PM_SQL_COPY_READ_AUDIT_FLUSH, SELECT * FROM
 * audit_flush, a PostgreSQL table): here a view of n = 1..7, whose 5th row fails
 * (abs of the smallest integer is an overflow SQLite reports) when fail is set */
static void numbers_view(const apr_dbd_driver_t *drv, apr_dbd_t *h, int fail)
{
    char sql[256];
    int n;

    apr_snprintf(sql, sizeof(sql), "CREATE VIEW audit_flush AS WITH RECURSIVE c(n) AS "
                 "(SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 7) SELECT %s AS n FROM c",
                 fail ? "CASE WHEN n = 5 THEN abs(-9223372036854775807 - 1) ELSE n END" : "n");
    apr_dbd_query(drv, h, &n, "DROP VIEW IF EXISTS audit_flush");
    apr_dbd_query(drv, h, &n, sql);
}

static void each_run(pm_db *db, pm_sql_id id, int batch, each_log *l, int stop_after,
                     apr_status_t *rv)
{
    memset(l, 0, sizeof(*l));
    l->stop_after = stop_after;
    *rv = pm_db_select_each(db, id, batch, log_batch, l);
}

static void test_select_each(pm_db *db, const apr_dbd_driver_t *drv, apr_dbd_t *h, seen *s)
{
    apr_array_header_t *rows;
    apr_status_t rv;
    each_log l;
    int before;

    numbers_view(drv, h, 0);
    each_run(db, PM_SQL_COPY_READ_AUDIT_FLUSH, 3, &l, 0, &rv);
    ok(rv == APR_SUCCESS, "select_each: every row read");
    is_str(l.seen, "1234567", "select_each: the rows in the statement's order");
    is_str(l.sizes, "3,3,1", "select_each: in batches of 3, the last one the rest");
    each_run(db, PM_SQL_COPY_READ_AUDIT_FLUSH, 0, &l, 0, &rv);
    is_str(l.sizes, "1,1,1,1,1,1,1", "select_each: a batch under 1 is one row at a time");

    before = s->reports;
    each_run(db, PM_SQL_COPY_READ_AUDIT_FLUSH, 2, &l, 2, &rv);
    ok(rv == APR_EOF && l.batches == 2, "select_each: the callback's refusal stops the read "
       "and is returned (%d, %d batches)", rv, l.batches);
    is_str(l.seen, "1234", "select_each: no row after the stop");
    ok(s->reports == before, "select_each: a stop is not reported as a failure");
    each_run(db, PM_SQL_COPY_READ_AUDIT_FLUSH, 10, &l, 0, &rv);
    ok(rv == APR_SUCCESS && strcmp(l.seen, "1234567") == 0,
       "select_each: after a stop the statement reads from its start again (%s)", l.seen);
    ok(pm_db_begin(db) == APR_SUCCESS
       && pm_db_exec(db, PM_SQL_ADMIN_STAFF_INSERT, NULL, "each", "Each", "0", "1") == APR_SUCCESS
       && pm_db_commit(db) == APR_SUCCESS && staff_count(db, "each") == 1,
       "select_each: after a stop the connection writes and commits");

    ok(pm_db_select(db, PM_SQL_COPY_READ_ACCOUNT_GRANTS, &rows) == APR_SUCCESS
       && rows->nelts == 0, "select_each: account_grants is empty here");
    each_run(db, PM_SQL_COPY_READ_ACCOUNT_GRANTS, 3, &l, 0, &rv);
    ok(rv == APR_SUCCESS && l.batches == 0, "select_each: an empty result never calls back");

    numbers_view(drv, h, 1);
    pm_db_forget_prepared(db);        /* a view redefined: its statement prepared again */
    before = s->reports;
    each_run(db, PM_SQL_COPY_READ_AUDIT_FLUSH, 2, &l, 0, &rv);
    ok(rv == APR_EGENERAL, "select_each: an error mid-way fails the select");
    is_str(l.seen, "1234", "select_each: the batches before the error were handed over");
    ok(s->reports == before + 1 && s->last_event == PM_DB_EV_FAILED,
       "select_each: the error is reported");
    is_str(s->last_label, "pm_copy_read_audit_flush", "select_each: naming the statement");
    numbers_view(drv, h, 0);
    pm_db_forget_prepared(db);
    each_run(db, PM_SQL_COPY_READ_AUDIT_FLUSH, 4, &l, 0, &rv);
    ok(rv == APR_SUCCESS && strcmp(l.seen, "1234567") == 0 && strcmp(l.sizes, "4,3") == 0,
       "select_each: after an error the connection reads on (%s in %s)", l.seen, l.sizes);
}

int main(int argc, const char *const *argv)
{
    const char *srcdir = getenv("srcdir") ? getenv("srcdir") : ".";
    const apr_dbd_driver_t *drv = NULL;
    apr_dbd_t *h = NULL;
    apr_pool_t *p;
    char *dir;
    seen s = { 0 };
    pm_db *db;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    pm_sql_init();
    dir = apr_pstrdup(p, "/tmp/pm-test-db.XXXXXX");
    if (mkdtemp(dir) == NULL || apr_dbd_init(p) != APR_SUCCESS
        || apr_dbd_get_driver(p, "sqlite3", &drv) != APR_SUCCESS
        || apr_dbd_open(drv, p, apr_pstrcat(p, dir, "/portal.db", NULL), &h) != APR_SUCCESS
        || load_schema(p, drv, h, srcdir) != 0) {
        ok(0, "a SQLite file with the schema in %s", dir);
        return done_testing();
    }
    ok(1, "a SQLite file with the schema");
    test_schema_version_constant(p, srcdir);
    test_one_line(p);
    db = pm_db_make(p, drv, h, NULL, &lazy_hooks, &s);
    test_select_exec(db, &s);
    test_null(db);
    test_rollback_on_cleanup(p, db, drv, h, &s);
    test_failures(p, db, drv, h, &s);
    test_write_hooks(p, drv, h, &s);
    test_begin_behind_lock(p, drv, h, apr_pstrcat(p, dir, "/portal.db", NULL), &s);
    test_client_keys(db, p);
    test_token_retired_twice(db, drv, h);
    test_select_each(db, drv, h, &s);
    pm_db_forget_prepared(db);
    apr_dbd_close(drv, h);
    apr_file_remove(apr_pstrcat(p, dir, "/portal.db", NULL), p);
    apr_dir_remove(dir, p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
