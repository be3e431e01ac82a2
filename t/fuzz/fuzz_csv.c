/* fuzz_csv — the CSV reader (pm_csv) over arbitrary bytes: every record is read to
 * the end; fields are NUL-terminated copies of their len bytes, lines never go
 * backwards, and the reader always ends (at most one record or error per byte). */
#include "fuzz.h"
#include "pm_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *buf = apr_pmemdup(p, data, size ? size : 1);
    pm_csv_reader *rd = pm_csv_reader_make(p, buf, size);
    pm_csv_record rec;
    const char *error;
    unsigned int error_line, last_line = 0;
    size_t steps = 0, bytes = 0;
    pm_csv_result r;
    int i;

    while ((r = pm_csv_next(rd, p, &rec, &error, &error_line)) != PM_CSV_END) {
        check(++steps <= size + 2, "the reader ends");
        if (r == PM_CSV_ERROR) {
            check(error != NULL && *error != '\0', "an error has a message");
            check(error_line >= 1 && error_line >= last_line, "error lines go forward");
            last_line = error_line;
            continue;
        }
        check(r == PM_CSV_RECORD, "a known result");
        check(rec.nfields >= 1, "a record has at least one field");
        check(rec.line >= 1 && rec.line >= last_line, "record lines go forward");
        last_line = rec.line;
        for (i = 0; i < rec.nfields; i++) {
            check(rec.fields[i].value != NULL, "field value");
            check(rec.fields[i].value[rec.fields[i].len] == '\0', "field is NUL-terminated");
            check(rec.fields[i].len <= size, "field no longer than the input");
            bytes += rec.fields[i].len;
        }
        check(bytes <= size, "fields hold no more bytes than the input");
    }
    check(last_line <= (unsigned)size + 1, "line numbers within the input");
    apr_pool_destroy(p);
    return 0;
}
