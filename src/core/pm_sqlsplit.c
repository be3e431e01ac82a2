/* pm_sqlsplit.c — a small SQL lexer that finds statement boundaries in schema and
 * migration scripts: it skips strings, quoted identifiers, comments and dollar
 * quotes, and tracks BEGIN/CASE … END inside trigger and function bodies. */
#include "pm_sqlsplit.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

typedef struct {
    apr_pool_t *pool;
    const char *s;
    apr_size_t len;
    apr_size_t pos;
    unsigned int line;
    const char *error;
} scanner;

/* What is known about the statement being read. */
typedef struct {
    apr_size_t start;            /* offset of its first token */
    unsigned int start_line;
    int started;
    int words;                   /* bare words seen so far */
    int kind_known;              /* decided whether it has a BEGIN … END body */
    int has_body;
    int depth;                   /* open BEGIN / CASE inside the body */
} statement_state;

static int is_word_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}

static int is_word_char(unsigned char c)
{
    return is_word_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static int word_is(const char *w, apr_size_t n, const char *keyword)
{
    return strlen(keyword) == n && strncasecmp(w, keyword, n) == 0;
}

static void count_lines(scanner *sc, apr_size_t from, apr_size_t to)
{
    for (; from < to; from++) {
        if (sc->s[from] == '\n') {
            sc->line++;
        }
    }
}

static int fail(scanner *sc, unsigned int line, const char *what)
{
    sc->error = apr_psprintf(sc->pool, "line %u: %s", line, what);
    return 0;
}

/* Skips a quoted run opened by sc->s[pos] (' or "), where a doubled quote is an
 * escaped one. Returns 0 on an unterminated run. */
static int skip_quoted(scanner *sc)
{
    char q = sc->s[sc->pos];
    unsigned int line = sc->line;
    apr_size_t i = sc->pos + 1;

    while (i < sc->len) {
        if (sc->s[i] == q) {
            if (i + 1 < sc->len && sc->s[i + 1] == q) {
                i += 2;
                continue;
            }
            count_lines(sc, sc->pos, i);
            sc->pos = i + 1;
            return 1;
        }
        i++;
    }
    return fail(sc, line, q == '\'' ? "unterminated '...' string"
                                    : "unterminated \"...\" identifier");
}

static int skip_block_comment(scanner *sc)
{
    unsigned int line = sc->line;
    apr_size_t i;

    for (i = sc->pos + 2; i + 1 < sc->len; i++) {
        if (sc->s[i] == '*' && sc->s[i + 1] == '/') {
            count_lines(sc, sc->pos, i);
            sc->pos = i + 2;
            return 1;
        }
    }
    return fail(sc, line, "unterminated /* comment");
}

static void skip_line_comment(scanner *sc)
{
    while (sc->pos < sc->len && sc->s[sc->pos] != '\n') {
        sc->pos++;
    }
}

/* Length of a dollar-quote tag ($$ or $name$) starting at pos, or 0 if the '$'
 * there does not open one (e.g. a $1 parameter or a '$' inside a word). */
static apr_size_t dollar_tag_length(const scanner *sc)
{
    apr_size_t i = sc->pos + 1;

    if (sc->pos > 0 && is_word_char((unsigned char)sc->s[sc->pos - 1])) {
        return 0;
    }
    if (i < sc->len && is_word_start((unsigned char)sc->s[i])) {
        while (i < sc->len && is_word_char((unsigned char)sc->s[i]) && sc->s[i] != '$') {
            i++;
        }
    }
    if (i < sc->len && sc->s[i] == '$') {
        return i + 1 - sc->pos;
    }
    return 0;
}

static int skip_dollar_quoted(scanner *sc, apr_size_t tag_len)
{
    const char *tag = sc->s + sc->pos;
    unsigned int line = sc->line;
    apr_size_t i;

    for (i = sc->pos + tag_len; i + tag_len <= sc->len; i++) {
        if (memcmp(sc->s + i, tag, tag_len) == 0) {
            count_lines(sc, sc->pos, i);
            sc->pos = i + tag_len;
            return 1;
        }
    }
    return fail(sc, line, apr_psprintf(sc->pool, "unterminated dollar-quoted body %.*s",
                                       (int)tag_len, tag));
}

/* Feeds one bare word to the statement state: decides from the leading words
 * whether this is CREATE [OR REPLACE] [TEMP] TRIGGER/FUNCTION/PROCEDURE, and
 * inside such a statement counts BEGIN/CASE … END. */
static void note_word(statement_state *st, const char *w, apr_size_t n)
{
    st->words++;
    if (!st->kind_known) {
        if (st->words == 1) {
            st->kind_known = !word_is(w, n, "CREATE");
        }
        else if (!word_is(w, n, "OR") && !word_is(w, n, "REPLACE")
                 && !word_is(w, n, "TEMP") && !word_is(w, n, "TEMPORARY")) {
            st->has_body = word_is(w, n, "TRIGGER") || word_is(w, n, "FUNCTION")
                           || word_is(w, n, "PROCEDURE");
            st->kind_known = 1;
        }
        return;
    }
    if (!st->has_body) {
        return;
    }
    if (word_is(w, n, "BEGIN") || word_is(w, n, "CASE")) {
        st->depth++;
    }
    else if (word_is(w, n, "END") && st->depth > 0) {
        st->depth--;
    }
}

static void push_statement(scanner *sc, statement_state *st, apr_size_t end,
                           apr_array_header_t *out)
{
    pm_script_statement *stmt;

    while (end > st->start && (sc->s[end - 1] == ' ' || sc->s[end - 1] == '\t'
                               || sc->s[end - 1] == '\r' || sc->s[end - 1] == '\n')) {
        end--;
    }
    stmt = apr_array_push(out);
    stmt->sql = apr_pstrmemdup(sc->pool, sc->s + st->start, end - st->start);
    stmt->line = st->start_line;
    memset(st, 0, sizeof(*st));
}

/* Consumes the token at sc->pos; returns 0 on a lexical error. */
static int scan_token(scanner *sc, statement_state *st)
{
    unsigned char c = (unsigned char)sc->s[sc->pos];
    apr_size_t tag_len, begin;

    if (!st->started) {
        st->started = 1;
        st->start = sc->pos;
        st->start_line = sc->line;
    }
    if (c == '\'' || c == '"') {
        return skip_quoted(sc);
    }
    if (c == '$' && (tag_len = dollar_tag_length(sc)) > 0) {
        return skip_dollar_quoted(sc, tag_len);
    }
    if (is_word_char(c)) {
        begin = sc->pos;
        while (sc->pos < sc->len && is_word_char((unsigned char)sc->s[sc->pos])) {
            sc->pos++;
        }
        note_word(st, sc->s + begin, sc->pos - begin);
        return 1;
    }
    sc->pos++;
    return 1;
}

/* A NUL would silently cut a statement short when it is copied as a C string,
 * so a script holding one is refused with the line it is on. */
static int refuse_nul(scanner *sc)
{
    const char *nul = memchr(sc->s, '\0', sc->len);

    if (nul == NULL) {
        return 1;
    }
    count_lines(sc, 0, (apr_size_t)(nul - sc->s));
    return fail(sc, sc->line, "contains a NUL byte (not a text SQL script)");
}

apr_status_t pm_sql_split(apr_pool_t *p, const char *script, apr_size_t len,
                          apr_array_header_t **statements, const char **error)
{
    scanner sc = { p, script, len, 0, 1, NULL };
    statement_state st;
    apr_array_header_t *out = apr_array_make(p, 16, sizeof(pm_script_statement));
    char c;

    memset(&st, 0, sizeof(st));
    if (!refuse_nul(&sc)) {
        sc.pos = sc.len;                 /* skip the scan; the error is reported below */
    }
    while (sc.pos < sc.len) {
        c = sc.s[sc.pos];
        if (c == '\n') {
            sc.line++;
            sc.pos++;
        }
        else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            sc.pos++;
        }
        else if (c == '-' && sc.pos + 1 < sc.len && sc.s[sc.pos + 1] == '-') {
            skip_line_comment(&sc);
        }
        else if (c == '/' && sc.pos + 1 < sc.len && sc.s[sc.pos + 1] == '*') {
            if (!skip_block_comment(&sc)) {
                break;
            }
        }
        else if (c == ';' && st.depth == 0) {
            if (st.started) {
                push_statement(&sc, &st, sc.pos, out);
            }
            sc.pos++;
        }
        else if (!scan_token(&sc, &st)) {
            break;
        }
    }
    if (sc.error == NULL && st.started && st.depth > 0) {
        fail(&sc, st.start_line, "statement has BEGIN or CASE without END");
    }
    if (sc.error != NULL) {
        *error = sc.error;
        return APR_EINVAL;
    }
    if (st.started) {
        push_statement(&sc, &st, sc.len, out);
    }
    *statements = out;
    *error = NULL;
    return APR_SUCCESS;
}
