/* pm_roster_input.h — inside the roster parser (not for other callers): its state,
 * the field numbering both formats share, and the helpers the CSV side
 * (pm_roster_parse.c) and the FHIR side (pm_roster_fhir.c) both use. */
#ifndef PM_ROSTER_INPUT_H
#define PM_ROSTER_INPUT_H

#include "pm_roster.h"
#include "pm_csv.h"

#define CHUNK_READ (64 * 1024)        /* bytes asked of the input at a time */
#define MAX_RECORD (1024 * 1024)      /* longest CSV record: a longer one is an error */
#define MAX_NAME_CHARS 100
#define MAX_EXTERNAL_ID_CHARS 100

/* The fields of an entry, in the CSV header's order. */
enum { F_EXTERNAL_ID, F_FIRST, F_LAST, F_DOB, F_EMAIL, F_ACTIVE, F_LANGUAGE, NFIELDS };
#define NREQUIRED 5
#define CSV_HEADER "external_id,first_name,last_name,date_of_birth,email"


struct pm_roster_parser {
    apr_pool_t *pool;
    const pm_roster_options *o;
    pm_roster_read_fn read;
    void *ctx;
    apr_array_header_t *errors;
    apr_time_t now;
    int done;
    apr_status_t read_status;
    /* CSV: buf[0..cut) is the chunk being read, buf[cut..fill) what follows */
    char *buf;
    apr_size_t cap, fill, cut;
    int eof, header_read;
    unsigned int next_line;        /* the line the next chunk starts on */
    apr_pool_t *chunk_pool;
    pm_csv_reader *rd;
    int column_of[NFIELDS];        /* the field's column, or -1 */
    int ncolumns;                  /* the header's named columns */
    int nblank;                    /* empty header columns after them (a spreadsheet's) */
    /* FHIR: buf[cut..fill) is what the scanner has not seen yet */
    struct bundle_scan *scan;
    int entry_index;
    int broken;                    /* pm_roster_broken */
    int told_charset;              /* the hint about a file not in UTF-8 was given */
    apr_hash_t *bad_charts;        /* chart number of a rejected entry → int where */
    apr_array_header_t *notes;     /* of const char *: pm_roster_notes */
    int notes_left_out;            /* notes past NOTES_MAX, counted */
    int ignored;                   /* pm_roster_ignored */
};

#define NOTES_MAX 20                  /* notes kept; the rest counted */

/* an error at CSV line / FHIR entry `where`, naming `field`; where -1 (the
 * document) also marks the input broken */
void pm_roster_add_error(pm_roster_parser *ps, int where, const char *field,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* v: an entry's raw values (NULL: absent), trimmed; names: the format's field names.
 * Fills e; 0 (and errors added) when a value is bad. */
int pm_roster_check_entry(pm_roster_parser *ps, int where, const char *const *v,
                          const char *const *names, apr_pool_t *scratch, pm_roster_entry *e);
/* A language tag's primary subtag in lower case ("es-MX", "ES", "es_MX", "spa" → "es");
 * NULL when tag is no language tag. */
const char *pm_roster_language(apr_pool_t *p, const char *tag);
/* a note (an OperationOutcome's issue): kept up to NOTES_MAX */
void pm_roster_add_note(pm_roster_parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* after the last note: how many more there were, as one more */
void pm_roster_notes_end(pm_roster_parser *ps);
/* Before anything is read: *wide "UTF-16" or "UTF-32" when the input's first four
 * bytes (read until they are in, so that where reads end does not change the
 * answer) are such a byte-order mark or read as UTF-16 text, else NULL. Anything but
 * APR_SUCCESS is a read error (*rv says which). */
apr_status_t pm_roster_wide_input(pm_roster_parser *ps, apr_status_t *rv, const char **wide);
/* reads more input into buf[fill..cap) (growing buf as needed); sets eof */
apr_status_t pm_roster_read_more(pm_roster_parser *ps);
/* the FHIR side of pm_roster_next */
int pm_roster_fhir_next(pm_roster_parser *ps, apr_pool_t *scratch, pm_roster_entry *e,
                        apr_status_t *rv);

#endif
