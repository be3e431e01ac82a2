/* Unit tests for the SQL script splitter (src/core/pm_sqlsplit.c). */
#include "pm_sqlsplit.h"
#include "tap.h"

#include <apr_general.h>

static apr_array_header_t *split(apr_pool_t *p, const char *script, const char **error)
{
    apr_array_header_t *out = NULL;

    if (pm_sql_split(p, script, strlen(script), &out, error) != APR_SUCCESS) {
        return NULL;
    }
    return out;
}

#define STMT(a, i) (APR_ARRAY_IDX((a), (i), pm_script_statement))

static void test_plain(apr_pool_t *p)
{
    const char *err;
    apr_array_header_t *a = split(p,
        "-- header comment\n"
        "\n"
        "CREATE TABLE t (\n"
        "    a TEXT NOT NULL DEFAULT ';' -- a ; in a comment\n"
        ");\n"
        "/* block; comment */\n"
        "INSERT INTO t VALUES ('it''s; fine');\n"
        "INSERT INTO \"odd;name\" VALUES (1); INSERT INTO t VALUES (2);\n"
        ";;\n"
        "SELECT 3\n", &err);

    ok(a != NULL, "plain script splits");
    if (a == NULL) {
        return;
    }
    ok(a->nelts == 5, "five statements (got %d)", a->nelts);
    is_str(STMT(a, 0).sql, "CREATE TABLE t (\n    a TEXT NOT NULL DEFAULT ';' -- a ; in a comment\n)",
           "leading comment dropped, inner comment kept, ';' dropped");
    ok(STMT(a, 0).line == 3, "first statement starts on line 3 (got %u)", STMT(a, 0).line);
    is_str(STMT(a, 1).sql, "INSERT INTO t VALUES ('it''s; fine')", "';' inside a string");
    ok(STMT(a, 1).line == 7, "line of statement after a block comment");
    is_str(STMT(a, 2).sql, "INSERT INTO \"odd;name\" VALUES (1)", "';' inside an identifier");
    is_str(STMT(a, 3).sql, "INSERT INTO t VALUES (2)", "two statements on one line");
    is_str(STMT(a, 4).sql, "SELECT 3", "final statement without ';'");
    ok(STMT(a, 4).line == 10, "empty statements skipped, line 10");
}

static void test_sqlite_trigger(apr_pool_t *p)
{
    const char *err;
    apr_array_header_t *a = split(p,
        "CREATE TRIGGER no_update BEFORE UPDATE ON log\n"
        "BEGIN\n"
        "    SELECT RAISE(ABORT, 'append-only');\n"
        "    SELECT CASE WHEN 1 THEN 2 END;\n"
        "END;\n"
        "create temp trigger x after insert on log begin select 1; end;\n"
        "INSERT INTO schema_version (version) VALUES (1);\n", &err);

    ok(a != NULL && a->nelts == 3, "trigger bodies are not split");
    if (a == NULL || a->nelts != 3) {
        return;
    }
    is_str(STMT(a, 0).sql,
           "CREATE TRIGGER no_update BEFORE UPDATE ON log\nBEGIN\n"
           "    SELECT RAISE(ABORT, 'append-only');\n"
           "    SELECT CASE WHEN 1 THEN 2 END;\nEND", "whole trigger, CASE … END inside");
    is_str(STMT(a, 1).sql, "create temp trigger x after insert on log begin select 1; end",
           "lower-case temp trigger on one line");
    ok(STMT(a, 2).line == 7, "statement after triggers on line 7");
}

static void test_pg_dollar_quotes(apr_pool_t *p)
{
    const char *err;
    apr_array_header_t *a = split(p,
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "    RAISE EXCEPTION 'no';\n"
        "END;\n"
        "$$;\n"
        "CREATE OR REPLACE FUNCTION g(a int) RETURNS int AS $body$ SELECT $1; $body$ LANGUAGE sql;\n"
        "CREATE TRIGGER t BEFORE UPDATE ON log FOR EACH ROW EXECUTE FUNCTION f();\n"
        "SELECT a$b FROM t;\n"
        "CREATE FUNCTION h() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\n", &err);

    ok(a != NULL && a->nelts == 5, "dollar-quoted bodies are not split (got %d)",
       a ? a->nelts : -1);
    if (a == NULL || a->nelts != 5) {
        return;
    }
    is_str(STMT(a, 0).sql,
           "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
           "    RAISE EXCEPTION 'no';\nEND;\n$$", "$$ body kept whole");
    is_str(STMT(a, 1).sql,
           "CREATE OR REPLACE FUNCTION g(a int) RETURNS int AS $body$ SELECT $1; $body$ LANGUAGE sql",
           "$tag$ body with a $1 parameter");
    is_str(STMT(a, 2).sql,
           "CREATE TRIGGER t BEFORE UPDATE ON log FOR EACH ROW EXECUTE FUNCTION f()",
           "pg trigger without a body");
    is_str(STMT(a, 3).sql, "SELECT a$b FROM t", "'$' inside a word is not a quote");
    is_str(STMT(a, 4).sql,
           "CREATE FUNCTION h() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
           "BEGIN ATOMIC body");
}

static void test_errors(apr_pool_t *p)
{
    const char *err = NULL;

    ok(split(p, "SELECT 1;\nSELECT 'oops;\n", &err) == NULL, "unterminated string refused");
    is_str(err, "line 2: unterminated '...' string", "error names the line");
    ok(split(p, "\n\nCREATE FUNCTION f() AS $$ BEGIN;\n", &err) == NULL,
       "unterminated dollar quote refused");
    is_str(err, "line 3: unterminated dollar-quoted body $$", "dollar error names the line");
    ok(split(p, "SELECT 1 /* never closed\n", &err) == NULL, "unterminated comment refused");
    ok(split(p, "SELECT 1;\nCREATE TRIGGER t BEFORE DELETE ON x BEGIN SELECT 1;\n", &err) == NULL,
       "trigger without END refused");
    is_str(err, "line 2: statement has BEGIN or CASE without END", "trigger error names the line");
    ok(split(p, "-- only a comment\n\n", &err) != NULL, "comment-only script is fine");
}

static void test_schema_shapes(apr_pool_t *p)
{
    const char *err;
    apr_array_header_t *a = split(p, "", &err);

    ok(a != NULL && a->nelts == 0, "empty script has no statements");
    a = split(p, "CREATE TABLE a (x int);\r\nCREATE TABLE b (y int);\r\n", &err);
    ok(a != NULL && a->nelts == 2 && STMT(a, 1).line == 2, "CRLF line ends");
}

/* A NUL byte is refused with its line, never a statement silently cut short there */
static void test_nul(apr_pool_t *p)
{
    static const char script[] = "SELECT 1;\nINSERT INTO t VALUES ('a\0b');\nSELECT 2;\n";
    static const char in_comment[] = "-- a \0 in a comment\nSELECT 1;\n";
    apr_array_header_t *out = NULL;
    const char *err = NULL;

    ok(pm_sql_split(p, script, sizeof(script) - 1, &out, &err) == APR_EINVAL,
       "NUL inside a statement: refused");
    ok(err && strstr(err, "line 2") && strstr(err, "NUL"), "NUL: the error names line 2 and "
       "the NUL byte (%s)", err ? err : "(none)");
    err = NULL;
    ok(pm_sql_split(p, in_comment, sizeof(in_comment) - 1, &out, &err) == APR_EINVAL
       && err && strstr(err, "line 1"), "NUL inside a comment: refused too, line 1");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_plain(p);
    test_sqlite_trigger(p);
    test_pg_dollar_quotes(p);
    test_errors(p);
    test_schema_shapes(p);
    test_nul(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
