/* admin_clients.c — the `clients` commands: `import` (validate every row of a
 * CSV file, report each bad row by line, then insert all rows in one
 * transaction or none) and `list`; also the client INSERT shared with demo-data. */
#include "admin.h"
#include "pm_collate.h"
#include "pm_columns.h"
#include "pm_csv.h"
#include "pm_date.h"
#include "pm_text.h"

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
} client_row;

typedef struct {
    const char *file;
    apr_time_t now;
    int bad_rows;
} import_state;

struct admin_client_insert {
    apr_dbd_prepared_t *insert, *add_prefix;
    pm_collator *match, *sort;
    const char *locale;
};

/* The collation_locale setting (a JSON string in the settings table), or "en". */
static int read_locale(admin_db *db, const char **locale)
{
    const char *v;
    apr_size_t n;

    *locale = PM_COLLATE_DEFAULT_LOCALE;
    if (admin_db_value(db, "SELECT value FROM settings WHERE name = 'collation_locale'", 0, NULL,
                       &v) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    n = v ? strlen(v) : 0;
    if (n > 2 && v[0] == '"' && v[n - 1] == '"') {
        const char *name = apr_pstrmemdup(db->pool, v + 1, n - 2);
        if (pm_collate_locale_known(name)) {
            *locale = name;
        }
    }
    return ADMIN_OK;
}

int admin_clients_prepare_insert(admin_db *db, admin_client_insert **out)
{
    admin_client_insert *ins = apr_pcalloc(db->pool, sizeof(*ins));

    if (read_locale(db, &ins->locale) != ADMIN_OK
        || admin_db_prepare(db,
            "INSERT INTO clients (first_name, last_name, first_name_key, last_name_key, "
            "date_of_birth, email, created_at, updated_at, sort_key, sort_locale) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "RETURNING " PM_SELECT_LIST(PM_COLS_INSERTED), &ins->insert)
           != ADMIN_OK
        || admin_db_prepare(db, "INSERT INTO client_name_prefixes (prefix, sort_key, client_id) "
                            "VALUES (%s, %s, %s)", &ins->add_prefix) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    ins->match = pm_collate_match(db->pool);
    ins->sort = pm_collate_sorter(db->pool, ins->locale);
    if (ins->match == NULL || ins->sort == NULL) {
        admin_error("cannot open the ICU collator for locale %s", ins->locale);
        return ADMIN_FAIL;
    }
    *out = ins;
    return ADMIN_OK;
}

static int insert_name_keys(admin_db *db, admin_client_insert *ins, const char *id,
                            const char *first_name, const char *last_name, const char *sort_key)
{
    apr_array_header_t *keys = pm_collate_name_prefix_keys(ins->match, db->pool, first_name,
                                                           last_name);
    const char *args[3];
    int i;

    for (i = 0; i < keys->nelts; i++) {
        args[0] = APR_ARRAY_IDX(keys, i, const char *);
        args[1] = sort_key;
        args[2] = id;
        if (admin_db_pquery(db, ins->add_prefix, NULL, 3, args) != ADMIN_OK) {
            return ADMIN_FAIL;
        }
    }
    return ADMIN_OK;
}

int admin_clients_insert(admin_db *db, admin_client_insert *ins, const char *first_name,
                         const char *last_name, const char *date_of_birth,
                         const char *email, const char *now)
{
    const char *args[10];
    apr_array_header_t *rows;

    args[0] = first_name;
    args[1] = last_name;
    args[2] = pm_name_key(db->pool, first_name);
    args[3] = pm_name_key(db->pool, last_name);
    args[4] = date_of_birth;
    args[5] = email;
    args[6] = now;
    args[7] = now;
    args[8] = pm_collate_sort_key(ins->sort, first_name, last_name);
    args[9] = ins->locale;
    if (admin_db_pselect(db, ins->insert, 10, args, &rows) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (rows->nelts != 1 || APR_ARRAY_IDX(rows, 0, admin_row).ncols < 1) {
        admin_error("the database did not return the new client's id");
        return ADMIN_FAIL;
    }
    return insert_name_keys(db, ins, APR_ARRAY_IDX(rows, 0, admin_row).cols[INSERTED_ID],
                            first_name, last_name, args[8]);
}

/* The field as stored: a line break inside a quoted field (a spreadsheet cell
 * with Alt+Enter) becomes one space, and spaces around the value are dropped. */
static const char *normalised(apr_pool_t *p, const pm_csv_field *f, apr_size_t *len)
{
    char *out = apr_palloc(p, f->len + 1);
    apr_size_t i, n = 0, start = 0;

    for (i = 0; i < f->len; i++) {
        if (f->value[i] == '\r' && i + 1 < f->len && f->value[i + 1] == '\n') {
            continue;
        }
        out[n++] = (f->value[i] == '\r' || f->value[i] == '\n') ? ' ' : f->value[i];
    }
    while (n > 0 && out[n - 1] == ' ') {
        n--;
    }
    out[n] = '\0';
    while (out[start] == ' ') {
        start++;
    }
    *len = n - start;
    return out + start;
}

static void report(import_state *st, unsigned int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(import_state *st, unsigned int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "portal-manager-admin: %s line %u: ", st->file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Checks one field; returns 1 when it is acceptable and sets *out. */
static int check_field(apr_pool_t *p, import_state *st, unsigned int line, int col,
                       const pm_csv_field *f, const char **out)
{
    apr_size_t len;
    const char *v = normalised(p, f, &len);
    const char *problem = NULL;

    if (!pm_utf8_valid(v, len, 0)) {
        report(st, line, "%s is not valid UTF-8 or contains control characters "
               "(such as tabs or NUL)", column_names[col]);
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
    const char *values[NCOLS];
    int col, good = 1;

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

static int insert_rows(admin_db *db, const apr_array_header_t *rows)
{
    admin_client_insert *stmt;
    const char *now = apr_psprintf(db->pool, "%" APR_INT64_T_FMT, admin_now());
    int i;

    if (admin_db_begin(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (admin_clients_prepare_insert(db, &stmt) != ADMIN_OK) {
        admin_db_rollback(db);
        return ADMIN_FAIL;
    }
    for (i = 0; i < rows->nelts; i++) {
        const client_row *c = &APR_ARRAY_IDX(rows, i, client_row);

        if (admin_clients_insert(db, stmt, c->first_name, c->last_name, c->date_of_birth,
                                 c->email, now) != ADMIN_OK) {
            admin_db_rollback(db);
            return ADMIN_FAIL;
        }
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

    if ((rv = admin_read_file(db->pool, st.file, &buf, &len)) != APR_SUCCESS) {
        char msg[256];

        admin_error("cannot read %s: %s", st.file, apr_strerror(rv, msg, sizeof(msg)));
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
    if (insert_rows(db, rows) != ADMIN_OK) {
        admin_error("the import was rolled back; nothing was imported");
        return ADMIN_FAIL;
    }
    printf("imported %d client%s from %s\n", rows->nelts, rows->nelts == 1 ? "" : "s",
           st.file);
    return ADMIN_OK;
}

static int clients_list(admin_db *db)
{
    apr_array_header_t *rows;

    if (admin_db_select(db, "SELECT id, last_name, first_name, date_of_birth, "
                        "coalesce(email, '') FROM clients "
                        "ORDER BY sort_key, id", 0, NULL, &rows)
        != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    admin_print_rows("id\tlast_name\tfirst_name\tdate_of_birth\temail", rows);
    return ADMIN_OK;
}

int admin_cmd_clients(admin_db *db, const char *sub, const admin_options *o)
{
    return strcmp(sub, "import") == 0 ? clients_import(db, o) : clients_list(db);
}
