/* Unit tests for the RFC 4180 CSV reader (src/core/pm_csv.c). */
#include "pm_csv.h"
#include "tap.h"

#include <apr_general.h>

typedef struct {
    pm_csv_reader *rd;
    apr_pool_t *p;
    pm_csv_record rec;
    const char *error;
    unsigned int error_line;
} reading;

static void start(reading *r, apr_pool_t *p, const char *buf, apr_size_t len)
{
    memset(r, 0, sizeof(*r));
    r->p = p;
    r->rd = pm_csv_reader_make(p, buf, len);
}

static pm_csv_result next(reading *r)
{
    return pm_csv_next(r->rd, r->p, &r->rec, &r->error, &r->error_line);
}

#define FIELD(r, i) ((r).rec.fields[(i)].value)

static void test_simple(apr_pool_t *p)
{
    static const char csv[] = "first_name,last_name\r\nZoë,Núñez\r\n,\r\n";
    reading r;

    start(&r, p, csv, strlen(csv));
    ok(next(&r) == PM_CSV_RECORD && r.rec.nfields == 2 && r.rec.line == 1, "header record");
    is_str(FIELD(r, 1), "last_name", "header field");
    ok(next(&r) == PM_CSV_RECORD && r.rec.line == 2, "second record on line 2");
    is_str(FIELD(r, 0), "Zoë", "UTF-8 field kept as is");
    ok(next(&r) == PM_CSV_RECORD && r.rec.nfields == 2 && r.rec.fields[0].len == 0
       && r.rec.fields[1].len == 0, "two empty fields");
    ok(next(&r) == PM_CSV_END, "end after final CRLF");
    ok(next(&r) == PM_CSV_END, "end stays end");
}

static void test_quoting(apr_pool_t *p)
{
    static const char csv[] =
        "\xEF\xBB\xBF" "a,b,c\n"
        "\"O'Brien, Jr.\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
        "\"\",x,\"\"\"\"\n"
        "\"crlf\r\ninside\",y,z\n"
        "last,no,newline";
    reading r;

    start(&r, p, csv, sizeof(csv) - 1);
    ok(next(&r) == PM_CSV_RECORD, "BOM skipped");
    is_str(FIELD(r, 0), "a", "first header field has no BOM");
    ok(next(&r) == PM_CSV_RECORD && r.rec.nfields == 3 && r.rec.line == 2, "quoted record");
    is_str(FIELD(r, 0), "O'Brien, Jr.", "comma inside quotes");
    is_str(FIELD(r, 1), "say \"hi\"", "doubled quotes");
    is_str(FIELD(r, 2), "two\nlines", "newline inside quotes");
    ok(next(&r) == PM_CSV_RECORD && r.rec.line == 4, "record after a two-line record is on line 4");
    is_str(FIELD(r, 0), "", "empty quoted field");
    is_str(FIELD(r, 2), "\"", "field that is one quote");
    ok(next(&r) == PM_CSV_RECORD && r.rec.line == 5, "line 5");
    is_str(FIELD(r, 0), "crlf\r\ninside", "CRLF inside quotes kept");
    ok(next(&r) == PM_CSV_RECORD && r.rec.line == 7 && r.rec.nfields == 3,
       "last record without newline, line 7");
    is_str(FIELD(r, 2), "newline", "last field");
    ok(next(&r) == PM_CSV_END, "end");
}

static void test_embedded_nul(apr_pool_t *p)
{
    static const char csv[] = "a\0b,c\n";
    reading r;

    start(&r, p, csv, sizeof(csv) - 1);
    ok(next(&r) == PM_CSV_RECORD && r.rec.nfields == 2 && r.rec.fields[0].len == 3,
       "NUL inside a field is kept with its length");
}

static void test_blank_and_counts(apr_pool_t *p)
{
    static const char csv[] = "a,b\n\nc\r\nd,e,f,\n";
    reading r;

    start(&r, p, csv, strlen(csv));
    next(&r);
    ok(next(&r) == PM_CSV_RECORD && r.rec.nfields == 1 && r.rec.fields[0].len == 0
       && r.rec.line == 2, "blank line is one empty field");
    ok(next(&r) == PM_CSV_RECORD && r.rec.nfields == 1 && r.rec.line == 3, "one field");
    ok(next(&r) == PM_CSV_RECORD && r.rec.nfields == 4 && r.rec.line == 4,
       "trailing comma makes an empty last field");
}

static void test_errors(apr_pool_t *p)
{
    static const char csv[] =
        "a,b\n"
        "ok,1\n"
        "bad\"quote,2\n"
        "\"closed\"junk,3\n"
        "fine,4\n"
        "\"never closed,5\n"
        "more,6\n";
    reading r;

    start(&r, p, csv, strlen(csv));
    next(&r);
    ok(next(&r) == PM_CSV_RECORD && r.rec.line == 2, "good record");
    ok(next(&r) == PM_CSV_ERROR && r.error_line == 3, "quote inside unquoted field, line 3");
    ok(r.error && strstr(r.error, "quote") != NULL, "message mentions the quote: %s", r.error);
    ok(next(&r) == PM_CSV_ERROR && r.error_line == 4, "junk after closing quote, line 4");
    ok(next(&r) == PM_CSV_RECORD && r.rec.line == 5, "reading goes on after errors, line 5");
    is_str(FIELD(r, 0), "fine", "resynchronised on the next line");
    ok(next(&r) == PM_CSV_ERROR && r.error_line == 6, "unclosed quote reported on its line 6");
    ok(next(&r) == PM_CSV_END, "unclosed quote swallows the rest");
}

/* pm_csv_took_lines: a line break alone is a cell typed over two lines; with commas,
 * the lines a stray quote took in */
static void test_took_lines(apr_pool_t *p)
{
    static const char csv[] =
        "a,b,c\n"
        "1,\"Anne\r\nMarie\",x\n"
        "2,\"Ann,3\nB\",y\n"
        "3,\"one, line\",z\n";
    reading r;
    const char *why = NULL;

    start(&r, p, csv, strlen(csv));
    ok(next(&r) == PM_CSV_RECORD && pm_csv_took_lines(p, &r.rec) == NULL, "a one-line record");
    ok(next(&r) == PM_CSV_RECORD && pm_csv_took_lines(p, &r.rec) == NULL,
       "a cell typed over two lines (CRLF) and no comma: taken");
    ok(next(&r) == PM_CSV_RECORD && (why = pm_csv_took_lines(p, &r.rec)) != NULL,
       "a value over two lines holding a comma: refused");
    ok(why && strstr(why, "lines 4 to 5") && strstr(why, "value 2"), "it names the lines and the value: %s",
       why ? why : "(none)");
    ok(next(&r) == PM_CSV_RECORD && pm_csv_took_lines(p, &r.rec) == NULL,
       "a comma in a quoted value on one line: taken");
}

static void test_cells(apr_pool_t *p)
{
    is_str(pm_csv_cell(p, NULL), "", "NULL is the empty cell");
    is_str(pm_csv_cell(p, ""), "", "empty stays empty");
    is_str(pm_csv_cell(p, "admin"), "admin", "plain text as is");
    is_str(pm_csv_cell(p, "a,b"), "\"a,b\"", "comma quoted");
    is_str(pm_csv_cell(p, "say \"hi\""), "\"say \"\"hi\"\"\"", "quotes doubled");
    is_str(pm_csv_cell(p, "two\nlines"), "\"two\nlines\"", "line break quoted");
    is_str(pm_csv_cell(p, "=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0", "= neutralised");
    is_str(pm_csv_cell(p, "+1+1"), "'+1+1", "+ neutralised");
    is_str(pm_csv_cell(p, "-2+3"), "'-2+3", "- neutralised");
    is_str(pm_csv_cell(p, "@SUM(A1)"), "'@SUM(A1)", "@ neutralised");
    is_str(pm_csv_cell(p, "\t=1"), "'\t=1", "TAB neutralised");
    is_str(pm_csv_cell(p, "\r=1"), "\"'\r=1\"", "CR neutralised, then quoted");
    is_str(pm_csv_cell(p, "=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
           "formula with quotes and comma: neutralised inside the quotes");
    is_str(pm_csv_cell(p, "a=b"), "a=b", "= later in the text as is");
    is_str(pm_csv_cell(p, " =1"), " =1", "leading space as is");
    is_str(pm_csv_cell(p, "{\"changed\":[\"logo\"]}"), "\"{\"\"changed\"\":[\"\"logo\"\"]}\"",
           "JSON detail quoted, not prefixed");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_simple(p);
    test_quoting(p);
    test_embedded_nul(p);
    test_blank_and_counts(p);
    test_errors(p);
    test_took_lines(p);
    test_cells(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
