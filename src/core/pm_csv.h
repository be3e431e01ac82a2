/* pm_csv.h — an RFC 4180 CSV reader over a whole in-memory buffer: quoted fields,
 * "" escapes, commas and line breaks inside quotes, CRLF or LF line ends, an
 * optional UTF-8 byte order mark; and the cell writer of CSV exports. Pure C on
 * APR; it knows nothing about clients. */
#ifndef PM_CSV_H
#define PM_CSV_H

#include <apr_pools.h>

typedef struct pm_csv_reader pm_csv_reader;

/* One field: its bytes (NUL-terminated copy; the field itself may contain NUL,
 * so use len) after quote removal. */
typedef struct {
    const char *value;
    apr_size_t len;
} pm_csv_field;

/* One record and the 1-based line it starts on (a record with line breaks in
 * quoted fields spans several lines). A blank line is a record with one empty
 * field. */
typedef struct {
    pm_csv_field *fields;
    int nfields;
    unsigned int line;
    unsigned int end_line;   /* the line it ends on (line, unless quotes span lines) */
} pm_csv_record;

typedef enum {
    PM_CSV_RECORD = 1,   /* *rec filled in */
    PM_CSV_END = 0,      /* no more input */
    PM_CSV_ERROR = -1    /* malformed quoting: *error and *error_line set; the
                            reader has skipped to the next line, so the caller may
                            go on reading to report further problems */
} pm_csv_result;

/* A reader over buf[0..len). The buffer must outlive the reader. A leading UTF-8
 * byte order mark is skipped. */
pm_csv_reader *pm_csv_reader_make(apr_pool_t *p, const char *buf, apr_size_t len);

/* Numbers the reader's first line `line` instead of 1 (a buffer that continues
 * a stream: its records and errors then carry the stream's line numbers; past
 * line 1 a byte order mark at its start is data, as it would be mid-stream). */
void pm_csv_reader_first_line(pm_csv_reader *rd, unsigned int line);

/* Reads rd to its end and answers how many bytes from where it began are whole
 * records, each ended by its line end (as this reader reads quotes and recovers
 * from their errors, so that a buffer cut there reads as the whole buffer would);
 * 0 when there is none. A CR at the very end is not yet a line end (half of a
 * CRLF?), nor is a line end inside a quote that is still open. */
apr_size_t pm_csv_whole_length(pm_csv_reader *rd, apr_pool_t *p);

/* Reads the next record; fields are allocated from p. */
pm_csv_result pm_csv_next(pm_csv_reader *rd, apr_pool_t *p, pm_csv_record *rec,
                          const char **error, unsigned int *error_line);

/* Whether a quoted field was never closed, or ran over line ends to a quote that
 * was followed by more text (a stray quote on an earlier line): what followed its
 * opening quote was read as that field, so whole lines are lost, not one record. */
int pm_csv_unclosed(const pm_csv_reader *rd);

/* NULL, or why rec looks like the work of a stray double quote: a value that holds
 * a line break and a comma. A cell typed over two lines (Alt+Enter) holds a line
 * break; the lines a stray quote took into its value bring their commas with them,
 * and each of those lines was a row, lost unseen when the record happens to have
 * the header's width. */
const char *pm_csv_took_lines(apr_pool_t *p, const pm_csv_record *rec);

/* A field as data files mean it: a line break inside a quoted field (a
 * spreadsheet cell with Alt+Enter) becomes one space, and spaces around the
 * value are dropped. *len gets the result's length. */
const char *pm_csv_field_trimmed(apr_pool_t *p, const pm_csv_field *f, apr_size_t *len);

/* A header cell as spreadsheets write it (any case, blanks around it): the index of
 * its name in names (NULL-terminated); -1 another name; -2 an empty cell. */
int pm_csv_header_name(const pm_csv_field *f, const char *const *names);

/* Whether rec fits a header of ncolumns names followed by nblank empty cells (a
 * spreadsheet's): ncolumns fields, then up to nblank more that are empty. */
int pm_csv_fits_header(const pm_csv_record *rec, int ncolumns, int nblank);

/* One cell of a CSV export. A value starting with =, +, -, @, TAB or CR gets a
 * leading ' so a spreadsheet shows it as text and never runs it as a formula
 * (CSV injection); then it is quoted when it holds a comma, quote, CR or LF.
 * NULL is the empty cell. */
const char *pm_csv_cell(apr_pool_t *p, const char *s);

#endif
