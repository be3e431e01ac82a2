/* pm_sqlsplit.h — splits an SQL script (a schema or migration file) into single
 * statements, because apr_dbd_query runs only one statement per call on SQLite.
 * Pure C on APR: no database, no httpd. */
#ifndef PM_SQLSPLIT_H
#define PM_SQLSPLIT_H

#include <apr_pools.h>
#include <apr_tables.h>

/* One statement: its text without the terminating ';' (leading comments and
 * blank lines dropped), and the 1-based line it starts on. */
typedef struct {
    const char *sql;
    unsigned int line;
} pm_script_statement;

/* Splits script[0..len) into an array of pm_script_statement.
 *
 * A ';' ends a statement unless it is inside a '…' string, a "…" identifier, a
 * -- or block comment, a PostgreSQL dollar-quoted body ($$…$$, $tag$…$tag$), or
 * the BEGIN … END body of a CREATE TRIGGER / FUNCTION / PROCEDURE statement
 * (CASE … END inside such a body is counted too). Text after the last ';' that
 * is not only whitespace and comments is a final statement. Empty statements
 * are skipped.
 *
 * Returns APR_SUCCESS and sets *statements, or APR_EINVAL and sets *error to a
 * message naming the line where the unterminated construct began, or the line
 * of the first NUL byte (a script holding a NUL is refused, never truncated). */
apr_status_t pm_sql_split(apr_pool_t *p, const char *script, apr_size_t len,
                          apr_array_header_t **statements, const char **error);

#endif
