/* Unit tests for the statement table (src/core/pm_sql.c): every statement prepares on
 * SQLite against the real schema (conf/schema/sqlite.sql and its migrations), its
 * rows carry exactly the columns pm_columns.h declares for it, and it takes the
 * placeholders pm_sql_init() counted; a statement that reads sent emails reads them
 * down outbox_by_sent_at, and a filtered screen's page its filter's index, as SQLite
 * plans them for the module (no statistics). */
#include "pm_sql.h"
#include "tap.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0
        && (buf = malloc((size_t)n + 1)) != NULL) {
        buf[fread(buf, 1, (size_t)n, f)] = '\0';
    }
    fclose(f);
    return buf;
}

static int run_script(sqlite3 *db, const char *path)
{
    char *sql = read_file(path), *err = NULL;
    int rc;

    if (sql == NULL) {
        ok(0, "read %s", path);
        return -1;
    }
    rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    ok(rc == SQLITE_OK, "%s loads%s%s", path, err ? ": " : "", err ? err : "");
    sqlite3_free(err);
    free(sql);
    return rc == SQLITE_OK ? 0 : -1;
}

static int is_sql_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);

    return n > 4 && strcmp(e->d_name + n - 4, ".sql") == 0;
}

/* the schema a database has after `portal-manager-admin init` */
static int load_schema(sqlite3 *db, const char *srcdir)
{
    char path[4096];
    struct dirent **names;
    int n, i, rc = 0;

    snprintf(path, sizeof(path), "%s/conf/schema/sqlite.sql", srcdir);
    if (run_script(db, path) != 0) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/conf/schema/migrations/sqlite3", srcdir);
    n = scandir(path, &names, is_sql_file, alphasort);
    ok(n > 0, "migrations found in %s", path);
    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/conf/schema/migrations/sqlite3/%s", srcdir,
                 names[i]->d_name);
        if (rc == 0 && run_script(db, path) != 0) {
            rc = -1;
        }
        free(names[i]);
    }
    free(n > 0 ? names : NULL);
    return n > 0 ? rc : -1;
}

/* apr_dbd's placeholders (%s, %d, %lld) as SQLite's driver passes them: ? */
static char *sqlite_text(const char *sql)
{
    char *out = malloc(strlen(sql) + 1), *o = out;
    const char *s;

    for (s = sql; *s; s++) {
        if (s[0] == '%' && s[1] >= 'a' && s[1] <= 'z') {
            *o++ = '?';
            while (s[1] >= 'a' && s[1] <= 'z') {
                s++;
            }
        }
        else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

static void check_statement(sqlite3 *db, const pm_sql_stmt *st)
{
    char *sql = sqlite_text(st->sql);
    sqlite3_stmt *prepared = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &prepared, NULL);

    /* copy's SELECT * of a table only PostgreSQL has (audit_flush): copy reads no
     * table whose columns SQLite does not list */
    if (st->ncols == PM_SQL_ANY_COLS && rc != SQLITE_OK
        && strncmp(sqlite3_errmsg(db), "no such table", 13) == 0) {
        ok(1, "%s: a table SQLite does not have", st->label);
        free(sql);
        return;
    }
    ok(rc == SQLITE_OK, "%s prepares%s%s", st->label, rc == SQLITE_OK ? "" : ": ",
       rc == SQLITE_OK ? "" : sqlite3_errmsg(db));
    if (rc == SQLITE_OK) {
        ok(st->ncols == PM_SQL_ANY_COLS || sqlite3_column_count(prepared) == st->ncols,
           "%s: %d columns, %d declared",
           st->label, sqlite3_column_count(prepared), st->ncols);
        ok(sqlite3_bind_parameter_count(prepared) == st->nargs, "%s: %d placeholders, %d counted",
           st->label, sqlite3_bind_parameter_count(prepared), st->nargs);
    }
    sqlite3_finalize(prepared);
    free(sql);
}

/* SQLite's plan of sql, its steps each followed by " | " */
static void plan_of(sqlite3 *db, const char *sql, char *out, size_t size)
{
    char *explain = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *prepared = NULL;
    size_t used = 0;

    out[0] = '\0';
    if (sqlite3_prepare_v2(db, explain, -1, &prepared, NULL) == SQLITE_OK) {
        while (sqlite3_step(prepared) == SQLITE_ROW && used < size) {
            used += (size_t)snprintf(out + used, size - used, "%s | ",
                                     (const char *)sqlite3_column_text(prepared, 3));
        }
    }
    sqlite3_finalize(prepared);
    sqlite3_free(explain);
}

/* st's plan goes down index (what says why, after the label) */
static void expect_index(sqlite3 *db, const pm_sql_stmt *st, const char *index, const char *what)
{
    char plan[4096], *sql = sqlite_text(st->sql);

    plan_of(db, sql, plan, sizeof(plan));
    ok(strstr(plan, index) != NULL, "%s %s", st->label, what);
    if (strstr(plan, index) == NULL) {
        printf("#   plan: %s\n", plan);
    }
    free(sql);
}

/* Every email ever sent stays in the outbox: a statement about sent emails that
 * went down outbox_due's status would read all of them (the delivery pace did, on
 * each pass of the worker, until SQLite was told the index) */
static void check_sent_emails_plan(sqlite3 *db, const pm_sql_stmt *st)
{
    if (strstr(st->sql, "status = 'sent' AND sent_at") != NULL) {
        expect_index(db, st, "outbox_by_sent_at", "reads sent emails down outbox_by_sent_at");
    }
}

/* Statements a screen filters with that must go down a given index, not walk the
 * whole table until enough rows match (a filter that matches few rows walked all) */
static const struct { const char *label, *index; } filtered_pages[] = {
    { "pm_outbox_page_failed", "outbox_unsent" },
    { "pm_outbox_page_queued", "outbox_unsent" },
    { "pm_outbox_page_bounced", "outbox_bounced" },
    { "pm_audit_search_user", "audit_log_by_username" },
    { "pm_audit_search_denied", "audit_log_denied" },
    { "pm_audit_search_action", "audit_log_other_actions" },
    /* the delivery worker's batch: the oldest due rows, not a sort of every due one */
    { "pm_outbox_claim", "outbox_unsent" },
    { NULL, NULL }
};

static int filtered_pages_seen;

static void check_filtered_page_plan(sqlite3 *db, const pm_sql_stmt *st)
{
    int i;

    for (i = 0; filtered_pages[i].label; i++) {
        if (strcmp(st->label, filtered_pages[i].label) == 0) {
            expect_index(db, st, filtered_pages[i].index, "reads down its filter's index");
            filtered_pages_seen++;
        }
    }
}

int main(void)
{
    const char *srcdir = getenv("srcdir") ? getenv("srcdir") : ".";
    sqlite3 *db = NULL;
    int i;

    pm_sql_init();
    ok(atoi(PM_SQL_PAGE_CAP_TEXT) == PM_SQL_PAGE_CAP, "the page cap is the same number in SQL "
       "text (%s) and in C (%d)", PM_SQL_PAGE_CAP_TEXT, PM_SQL_PAGE_CAP);
    /* and the TEMP table a connection makes before it stages search keys */
    if (sqlite3_open(":memory:", &db) != SQLITE_OK || load_schema(db, srcdir) != 0
        || sqlite3_exec(db, pm_sql_get(PM_SQL_CLIENT_KEYS_STAGE_MAKE_SQLITE)->sql, NULL, NULL,
                        NULL) != SQLITE_OK) {
        ok(0, "in-memory database with the schema");
    }
    else {
        for (i = 0; i < PM_SQL_COUNT; i++) {
            const pm_sql_stmt *st = pm_sql_get((pm_sql_id)i);
            /* a PostgreSQL catalog query is run by t/admin/run.sh on pgsql */
            if (st->driver == NULL || strcmp(st->driver, "sqlite3") == 0) {
                check_statement(db, st);
                check_sent_emails_plan(db, st);
                check_filtered_page_plan(db, st);
            }
        }
    }
    ok(filtered_pages_seen == (int)(sizeof(filtered_pages) / sizeof(filtered_pages[0])) - 1,
       "every filtered page's statement is in the table (%d)", filtered_pages_seen);
    sqlite3_close(db);
    return done_testing();
}
