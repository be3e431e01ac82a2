/* bench/sqlite-floor.c — scenarios (y) and (y2) of bench/run: the least SQLite work an
 * audited client view (view) or list page (list) needs, without httpd or the module: read
 * the client by id, or the first 50 active clients in the list's order from its covering
 * index; write one row into a plain audit table (no chain, no index but its key); COMMIT
 * — prepared once, one connection, WAL and synchronous FULL as the module runs the file.
 * Its CPU per transaction is a floor under (b)'s or (e)'s on SQLite, as pgbench's (z)
 * and (z2) are on PostgreSQL.
 *
 *   sqlite-floor view|list DB CLIENTS TRANSACTIONS
 *
 * Prints "transactions N wall_s W cpu_s C" (CPU of this process: user + system). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static int fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "sqlite-floor: %s: %s\n", what, db ? sqlite3_errmsg(db) : "no database");
    return 1;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
        + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* one statement that returns no row we keep, stepped to its end and reset */
static int run(sqlite3_stmt *st)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int main(int argc, char **argv)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *begin, *get, *put, *commit;
    long clients, n, i;
    double w0, c0;
    int list;

    if (argc != 5 || (strcmp(argv[1], "view") != 0 && strcmp(argv[1], "list") != 0)
        || (clients = atol(argv[3])) < 1 || (n = atol(argv[4])) < 1) {
        fprintf(stderr, "usage: sqlite-floor view|list DB CLIENTS TRANSACTIONS\n");
        return 2;
    }
    list = strcmp(argv[1], "list") == 0;
    if (sqlite3_open(argv[2], &db) != SQLITE_OK)
        return fail(db, "open");
    sqlite3_busy_timeout(db, 5000);   /* a writer that has not let go yet */
    if (sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                     "DROP TABLE IF EXISTS bench_floor_audit;"
                     "CREATE TABLE bench_floor_audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
                     " username TEXT NOT NULL, action TEXT NOT NULL, client_id INTEGER,"
                     " result TEXT NOT NULL)", NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, "setup");
    if (sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL) != SQLITE_OK
        || sqlite3_prepare_v2(db, list
                              ? "SELECT id, first_name, last_name, date_of_birth, declined_at,"
                                " external_id FROM clients WHERE active = 1 AND ?1 > 0"
                                " ORDER BY sort_key, id LIMIT 50"
                              : "SELECT id, first_name, last_name, date_of_birth, email,"
                                " external_id, active, declined_at FROM clients WHERE id = ?1",
                              -1, &get, NULL) != SQLITE_OK
        || sqlite3_prepare_v2(db, "INSERT INTO bench_floor_audit (at, username, action,"
                               " client_id, result) VALUES (1, 'admin', 'client.view', ?, 'ok')",
                              -1, &put, NULL) != SQLITE_OK
        || sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL) != SQLITE_OK)
        return fail(db, "prepare");
    srand(42);
    w0 = wall_seconds();
    c0 = cpu_seconds();
    for (i = 0; i < n; i++) {
        long id = 1 + rand() % clients;
        sqlite3_bind_int64(get, 1, id);
        sqlite3_bind_int64(put, 1, id);
        if (run(begin) || run(get) || run(put) || run(commit))
            return fail(db, "transaction");
    }
    printf("transactions %ld wall_s %.3f cpu_s %.3f\n", n, wall_seconds() - w0, cpu_seconds() - c0);
    sqlite3_exec(db, "DROP TABLE bench_floor_audit", NULL, NULL, NULL);
    sqlite3_finalize(begin);
    sqlite3_finalize(get);
    sqlite3_finalize(put);
    sqlite3_finalize(commit);
    sqlite3_close(db);
    return 0;
}
