/* admin_clients.c — the `clients` commands: `import` (validate every row of a
 * CSV file, report each bad row by line, then insert all rows in one
 * transaction or none, audited client.import) and `list` (audited client.list
 * before it prints); also the client INSERT shared with demo-data
 * (its name keys: pm_client_keys.c, the module's code) and init's key fill. */
#include "admin.h"
#include "pm_columns.h"
#include "pm_csv.h"
#include "pm_date.h"
#include "pm_text.h"

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define EXPECTED_HEADER "first_name,last_name,date_of_birth,email"
#define MAX_NAME_CHARS 100

enum { COL_FIRST, COL_LAST, COL_DOB, COL_EMAIL, NCOLS };
static const char *const column_names[NCOLS] = {
    "first_name", "last_name", "date_of_birth", "email"
};

/* A row that passed validation. */
typedef struct {
    const char *first_name;
    const char *last_name;
    const char *date_of_birth;
    const char *email;   /* NULL when empty */
    unsigned int line;
} client_row;

typedef struct {
    const char *file;
    apr_time_t now;
    int bad_rows;
    int told_charset;    /* the hint about a file not in UTF-8 was given */
} import_state;

int admin_clients_keyer(admin_db *db, pm_client_keyer **k, pm_client_keys_stage **st)
{
    const char *locale;

    if (admin_db_locale(db, &locale) != ADMIN_OK
        || (*k = pm_client_keyer_make(db->exec, db->pool, locale)) == NULL) {
        return ADMIN_FAIL;
    }
    *st = pm_client_keys_stage_make(db->exec, db->pool, 1);
    return ADMIN_OK;
}

int admin_clients_insert(admin_db *db, pm_client_keyer *k, pm_client_keys_stage *st,
                         const char *first_name,
                         const char *last_name, const char *date_of_birth,
                         const char *email, const char *language, const char *now,
                         const char **id)
{
    apr_array_header_t *rows;
    const pm_row *row;

    if (pm_db_select(db->exec, PM_SQL_ADMIN_CLIENT_INSERT, &rows, first_name, last_name,
                     date_of_birth, email, language, now, now) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    if ((row = pm_first_row(rows)) == NULL || pm_row_str(row, UNKEYED_ID) == NULL) {
        admin_error("the database did not return the new client's id");
        return ADMIN_FAIL;
    }
    if (pm_client_keys_store(st, k, row, NULL) != APR_SUCCESS) {
        return ADMIN_FAIL;
    }
    if (id) {
        *id = pm_row_str(row, UNKEYED_ID);
    }
    return ADMIN_OK;
}

int admin_clients_fill_keys(admin_db *db)
{
    const char *locale;
    int keyed = 0;

    if (admin_db_locale(db, &locale) != ADMIN_OK
        || pm_client_keys_fill_all(db->exec, db->pool, locale, 1, &keyed) != APR_SUCCESS) {
        admin_error("computing the clients' name keys failed; the module computes "
                    "the rest on the next client list");
        return ADMIN_FAIL;
    }
    if (keyed > 0) {
        printf("computed the name keys of %d client%s\n", keyed, keyed == 1 ? "" : "s");
    }
    return ADMIN_OK;
}

static void report(import_state *st, unsigned int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(import_state *st, unsigned int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    admin_line_error(st->file, line, fmt, ap);
    va_end(ap);
}

/* Checks one field; returns 1 when it is acceptable and sets *out. */
static int check_field(apr_pool_t *p, import_state *st, unsigned int line, int col,
                       const pm_csv_field *f, const char **out)
{
    apr_size_t len;
    const char *v = pm_csv_field_trimmed(p, f, &len);
    const char *problem = NULL;

    if (!pm_utf8_valid(v, len, 0)) {
        int hint = !st->told_charset && pm_text_other_charset(v);

        report(st, line, "%s is not valid UTF-8 or contains control characters "
               "(such as tabs or NUL)%s", column_names[col], hint ? "; is the file in "
               "another character set? A spreadsheet's \"CSV (Comma delimited)\" on Windows "
               "is windows-1252: save it as \"CSV UTF-8\", or import it with --encoding "
               "windows-1252" : "");
        st->told_charset |= hint;
        return 0;
    }
    *out = v;
    switch (col) {
    case COL_FIRST:
    case COL_LAST:
        if (len == 0) {
            report(st, line, "%s is empty", column_names[col]);
            return 0;
        }
        if (pm_utf8_length(v) > MAX_NAME_CHARS) {
            report(st, line, "%s is longer than %d characters", column_names[col],
                   MAX_NAME_CHARS);
            return 0;
        }
        if (strpbrk(v, "<>") != NULL) {
            report(st, line, "%s may not contain < or >", column_names[col]);
            return 0;
        }
        if ((problem = pm_record_name_problem(v)) != NULL) {
            report(st, line, "%s %s", column_names[col], problem);
            return 0;
        }
        return 1;
    case COL_DOB:
        problem = pm_birth_date_problem(v, st->now);
        break;
    default:
        if (len == 0) {
            *out = NULL;
            return 1;
        }
        problem = pm_email_problem(v);
        break;
    }
    if (problem) {
        report(st, line, "%s '%s' %s", column_names[col], v, problem);
        return 0;
    }
    return 1;
}

/* Validates a data record; reports every problem it has. */
static int check_record(apr_pool_t *p, import_state *st, const pm_csv_record *rec,
                        client_row *row)
{
    const char *values[NCOLS], *why;
    int col, good = 1;

    if ((why = pm_csv_took_lines(p, rec)) != NULL) {
        report(st, rec->line, "%s", why);
        return 0;
    }
    if (rec->nfields != NCOLS) {
        report(st, rec->line, "has %d field%s, expected %d (" EXPECTED_HEADER ")",
               rec->nfields, rec->nfields == 1 ? "" : "s", NCOLS);
        return 0;
    }
    for (col = 0; col < NCOLS; col++) {
        good &= check_field(p, st, rec->line, col, &rec->fields[col], &values[col]);
    }
    row->first_name = values[COL_FIRST];
    row->last_name = values[COL_LAST];
    row->date_of_birth = values[COL_DOB];
    row->email = values[COL_EMAIL];
    row->line = rec->line;
    return good;
}

static int check_header(import_state *st, pm_csv_reader *rd, apr_pool_t *p)
{
    pm_csv_record rec;
    const char *error;
    unsigned int line;
    pm_csv_result r = pm_csv_next(rd, p, &rec, &error, &line);
    int i;

    if (r == PM_CSV_END) {
        admin_error("%s is empty; its first line must be " EXPECTED_HEADER, st->file);
        return ADMIN_FAIL;
    }
    if (r == PM_CSV_RECORD && rec.nfields == NCOLS) {
        for (i = 0; i < NCOLS; i++) {
            if (rec.fields[i].len != strlen(column_names[i])
                || strcmp(rec.fields[i].value, column_names[i]) != 0) {
                break;
            }
        }
        if (i == NCOLS) {
            return ADMIN_OK;
        }
    }
    report(st, 1, "the header must be exactly " EXPECTED_HEADER);
    return ADMIN_FAIL;
}

static int is_blank(const pm_csv_record *rec)
{
    return rec->nfields == 1 && rec->fields[0].len == 0;
}

/* Reads and checks every record; good rows go to *rows. */
static int read_rows(import_state *st, pm_csv_reader *rd, apr_pool_t *p,
                     apr_array_header_t *rows)
{
    pm_csv_record rec;
    const char *error;
    unsigned int line;
    pm_csv_result r;
    client_row row;

    while ((r = pm_csv_next(rd, p, &rec, &error, &line)) != PM_CSV_END) {
        if (r == PM_CSV_ERROR) {
            report(st, line, "%s", error);
            st->bad_rows++;
        }
        else if (!is_blank(&rec)) {
            if (check_record(p, st, &rec, &row)) {
                *(client_row *)apr_array_push(rows) = row;
            }
            else {
                st->bad_rows++;
            }
        }
    }
    return st->bad_rows ? ADMIN_FAIL : ADMIN_OK;
}

/* The same person twice, as the key an import compares: name in any case, the day. */
static const char *namesake_key(apr_pool_t *p, const client_row *c)
{
    char *k = apr_pstrcat(p, c->first_name, "\x1f", c->last_name, "\x1f", c->date_of_birth,
                          NULL), *s;

    for (s = k; *s; s++) {
        *s = (char)apr_tolower(*s);
    }
    return k;
}

/* An import adds clients; a row for one already there (or twice in the file) would make
 * a second record of the same person, so it is a bad row. Namesakes who are really two
 * people come with their chart numbers through `clients sync`. */
static int check_namesakes(admin_db *db, import_state *st, const apr_array_header_t *rows)
{
    apr_hash_t *seen = apr_hash_make(db->pool);
    apr_array_header_t *found;
    int i, bad = 0;

    for (i = 0; i < rows->nelts; i++) {
        const client_row *c = &APR_ARRAY_IDX(rows, i, client_row);
        const char *key = namesake_key(db->pool, c);
        const client_row *first = apr_hash_get(seen, key, APR_HASH_KEY_STRING);

        if (first != NULL) {
            report(st, c->line, "is the same name and date of birth as line %u", first->line);
            bad++;
            continue;
        }
        apr_hash_set(seen, key, APR_HASH_KEY_STRING, c);
        if (pm_db_select(db->exec, PM_SQL_ADMIN_CLIENT_NAMESAKE, &found, c->date_of_birth,
                         c->first_name, c->last_name) != APR_SUCCESS) {
            return ADMIN_FAIL;
        }
        if (found->nelts > 0) {
            report(st, c->line, "%s %s, born %s, is already client %s (clients list)",
                   c->first_name, c->last_name, c->date_of_birth,
                   pm_row_str(pm_first_row(found), NAMESAKE_ID));
            bad++;
        }
    }
    st->bad_rows += bad;
    return bad ? ADMIN_FAIL : ADMIN_OK;
}

/* The clients and one client.import {added} row, in one transaction. */
static int insert_rows(admin_db *db, const apr_array_header_t *rows)
{
    admin_trail *t = admin_trail_make(db->pool);
    pm_client_keyer *keyer;
    pm_client_keys_stage *stage;
    const char *now = apr_psprintf(db->pool, "%" APR_INT64_T_FMT, admin_now());
    const char *language;
    int i;

    if (admin_db_begin(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (admin_db_language(db, &language) != ADMIN_OK
        || admin_clients_keyer(db, &keyer, &stage) != ADMIN_OK) {
        admin_db_rollback(db);
        return ADMIN_FAIL;
    }
    for (i = 0; i < rows->nelts; i++) {
        const client_row *c = &APR_ARRAY_IDX(rows, i, client_row);

        if (admin_clients_insert(db, keyer, stage, c->first_name, c->last_name,
                                 c->date_of_birth, c->email, language, now, NULL)
            != ADMIN_OK) {
            admin_db_rollback(db);
            return ADMIN_FAIL;
        }
    }
    admin_trail_add(t, "client.import", NULL, json_pack("{s:i}", "added", rows->nelts));
    if (pm_client_keys_stage_finish(stage) != APR_SUCCESS || admin_trail_write(db, t) != ADMIN_OK) {
        admin_db_rollback(db);
        return ADMIN_FAIL;
    }
    return admin_db_commit(db);
}

static int clients_import(admin_db *db, const admin_options *o)
{
    import_state st = { o->args[0], apr_time_now(), 0 };
    apr_array_header_t *rows = apr_array_make(db->pool, 64, sizeof(client_row));
    pm_csv_reader *rd;
    apr_size_t len;
    apr_status_t rv;
    char *buf;
    int rc;

    if ((rc = admin_check_encoding(o)) != ADMIN_OK) {
        return rc;
    }
    if ((rv = admin_read_text_file(db->pool, st.file, o->encoding, &buf, &len)) != APR_SUCCESS) {
        admin_read_error(o, st.file, rv);
        return ADMIN_FAIL;
    }
    rd = pm_csv_reader_make(db->pool, buf, len);
    if (check_header(&st, rd, db->pool) != ADMIN_OK) {
        admin_error("nothing was imported");
        return ADMIN_FAIL;
    }
    if (read_rows(&st, rd, db->pool, rows) != ADMIN_OK) {
        admin_error("%d bad row%s in %s; nothing was imported", st.bad_rows,
                    st.bad_rows == 1 ? "" : "s", st.file);
        return ADMIN_FAIL;
    }
    if (check_namesakes(db, &st, rows) != ADMIN_OK) {
        admin_error(st.bad_rows ? "%d row%s of clients already there in %s; nothing was imported "
                    "(two people with one name and date of birth: give their chart numbers "
                    "with clients sync)" : "the check for clients already there failed; "
                    "nothing was imported", st.bad_rows, st.bad_rows == 1 ? "" : "s", st.file);
        return ADMIN_FAIL;
    }
    if (insert_rows(db, rows) != ADMIN_OK) {
        admin_error("the import was rolled back; nothing was imported");
        return ADMIN_FAIL;
    }
    printf("imported %d client%s from %s\n", rows->nelts, rows->nelts == 1 ? "" : "s",
           st.file);
    return ADMIN_OK;
}

/* Every client's identity on stdout, once the client.list {rows} row is committed:
 * no audit row, no list. */
static int clients_list(admin_db *db)
{
    admin_trail *t = admin_trail_make(db->pool);
    apr_array_header_t *rows;

    if (admin_db_begin(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (pm_db_select(db->exec, PM_SQL_ADMIN_CLIENT_LIST, &rows) != APR_SUCCESS) {
        admin_db_rollback(db);
        return ADMIN_FAIL;
    }
    admin_trail_add(t, "client.list", NULL, json_pack("{s:i}", "rows", rows->nelts));
    if (admin_trail_write(db, t) != ADMIN_OK || admin_db_commit(db) != ADMIN_OK) {
        admin_db_rollback(db);
        return ADMIN_FAIL;
    }
    admin_print_rows("id\tlast_name\tfirst_name\tdate_of_birth\temail", rows);
    return ADMIN_OK;
}

int admin_cmd_clients(admin_db *db, const char *sub, const admin_options *o)
{
    return strcmp(sub, "import") == 0 ? clients_import(db, o) : clients_list(db);
}
