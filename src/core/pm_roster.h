/* pm_roster.h — the roster sync (issue 13): a CSV file or a FHIR R4 Bundle of
 * Patient resources, read as a stream into roster entries that are checked and
 * upserted by external_id (the EHR's chart number) inside the caller's
 * transaction, then the discharge of clients the file no longer names. httpd-free,
 * on the pm_db executor: the admin tool and the module's PUT /admin/roster share it. */
#ifndef PM_ROSTER_H
#define PM_ROSTER_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "pm_db.h"

typedef enum { PM_ROSTER_CSV, PM_ROSTER_FHIR } pm_roster_format;

/* The input: fills buf with up to *len bytes and sets *len to how many; *len = 0
 * at the end. Anything but APR_SUCCESS (or APR_EOF with *len = 0) stops the sync. */
typedef apr_status_t (*pm_roster_read_fn)(void *ctx, char *buf, apr_size_t *len);

/* An input that is already in memory (a request body, a test's string). */
typedef struct {
    const char *buf;
    apr_size_t len, pos;
} pm_roster_memory;
apr_status_t pm_roster_read_memory(void *ctx, char *buf, apr_size_t *len);

typedef struct {
    pm_roster_format format;
    const char *identifier_system;  /* FHIR: take the identifier of this system;
                                     * NULL: the one typed MR (medical record
                                     * number), else the first without a type; never
                                     * a Social Security number */
    int discharge_missing;          /* discharge active named clients not in the file */
    int allow_mass_discharge;       /* let discharge_missing discharge more than half of
                                     * the active named clients (PM_ROSTER_MASS_MIN) */
    const char *allow_mass_name;    /* how the caller spells that override, for the
                                     * refusal: "--allow-mass-discharge" */
    int disable_accounts;           /* setting disable_accounts_on_discharge */
    const char *actor;              /* the audit rows' username: "sync", or the
                                     * staff member of PUT /admin/roster */
    const char *remote_ip;          /* the audit rows' remote_ip and request_id */
    const char *request_id;         /* (NULL from the admin tool) */
    const char *locale;             /* setting collation_locale: new clients' keys */
    const char *language;           /* setting default_language: a new client's
                                     * preferred_language when the file gives none
                                     * (NULL: "en") */
    apr_int64_t now;                /* Unix seconds */
    int sorted_keys;                /* stage the search keys (pm_client_keys.c):
                                     * the admin tool */
    int skip_invalid;               /* apply the good entries and skip (and report)
                                     * the bad ones, unless the input as a whole is
                                     * unreadable (res->broken); discharge_missing
                                     * then discharges nobody if any was skipped */
    int turn_wait_ms;               /* PostgreSQL: how long to wait for another sync
                                     * to end (syncs take turns); past it APR_EBUSY.
                                     * 0: as long as it takes (the admin tool) */
} pm_roster_options;

/* One problem of the input: CSV line, or FHIR entry index (0-based, as in
 * Bundle.entry[i]; -1: the document itself); field: the CSV column or the
 * Patient element, NULL for the whole record. */
typedef struct {
    int where;
    const char *field;
    const char *message;
} pm_roster_error;

/* A checked entry. Text is UTF-8 without control characters; email NULL when
 * none; active -1 when the input does not say (being listed means active);
 * preferred_language NULL when the input does not say, else a lower-case ISO 639
 * code (the primary subtag of a BCP 47 tag: "es-MX" gives "es"). */
typedef struct {
    int where;                     /* as in pm_roster_error */
    const char *external_id;
    const char *first_name;
    const char *last_name;
    const char *date_of_birth;     /* YYYY-MM-DD */
    const char *email;
    int active;
    const char *preferred_language;
    apr_array_header_t *old_ids;   /* FHIR: the chart numbers the EHR retired for this
                                    * Patient (identifiers use old of the chart number's
                                    * system), of const char *; NULL when none */
    int merged_away;               /* FHIR: a Patient replaced-by another (merged away):
                                    * only external_id is set; it is skipped, and its
                                    * client is not discharged for being missing */
} pm_roster_entry;

/* The parser on its own (pm_roster_apply uses it; the unit tests read it).
 * errors: an array of pm_roster_error in p that bad records are added to. */
typedef struct pm_roster_parser pm_roster_parser;
pm_roster_parser *pm_roster_parser_make(apr_pool_t *p, const pm_roster_options *o,
                                        pm_roster_read_fn read, void *ctx,
                                        apr_array_header_t *errors);
/* The next good entry (its text in scratch): 1; the end of the input: 0; a read
 * error: -1 (*rv says which). Bad records land in errors and are skipped; a
 * header or document that cannot be read at all is one error and the end. */
int pm_roster_next(pm_roster_parser *ps, apr_pool_t *scratch, pm_roster_entry *e,
                   apr_status_t *rv);
/* Whether the input as a whole could not be read (a bad header or document, a
 * record too long to end, JSON given as CSV, a stray quote that took whole lines,
 * an entry that is not JSON): then no entry may be applied. */
int pm_roster_broken(const pm_roster_parser *ps);
/* What the input said that is not a problem: notes (const char *, at most 20 and
 * then how many more: an OperationOutcome's issues, as an EHR's search adds a
 * warning), and how many FHIR entries were ignored (a resource that is not a
 * Patient, or one a search only included or reported on). */
const apr_array_header_t *pm_roster_notes(const pm_roster_parser *ps);
int pm_roster_ignored(const pm_roster_parser *ps);
/* Where an entry with this chart number was rejected first (a line or an index),
 * or -1: a later entry with it is a repeat, not the first. */
int pm_roster_bad_chart(const pm_roster_parser *ps, const char *external_id);

typedef struct {
    int added, updated, unchanged, discharged;
    int merged_away;               /* FHIR Patients replaced-by another: skipped */
    int address_notices;           /* notices of an email change queued to old addresses
                                    * (clients with an active portal account) */
    apr_array_header_t *errors;    /* of pm_roster_error, in input order */
    apr_array_header_t *discharged_ids; /* of const char *: the chart numbers of the
                                     * discharged clients, in the order discharged */
    int skipped;                   /* records with a problem (lines or entries) */
    int broken;                    /* pm_roster_broken: nothing may be applied */
    const apr_array_header_t *notes; /* pm_roster_notes */
    int ignored;                   /* pm_roster_ignored: entries not read as clients */
} pm_roster_result;

/* With discharge_missing a roster that names no client is refused, and so is a run
 * that would discharge more than half of the active clients with a chart number
 * when that is more than PM_ROSTER_MASS_MIN clients (a truncated export), unless
 * allow_mass_discharge: one error each (where -1, field "discharge_missing"). */
#define PM_ROSTER_MASS_MIN 10

/* Reads the whole input and applies it inside the caller's open transaction:
 * new chart numbers are added (or name the one client without a chart number that
 * has the same name and date of birth), changed ones updated, an email change
 * supersedes a pending invitation to the old address (as the staff's change
 * button), a discharge revokes pending invitations (and disables accounts when
 * o->disable_accounts); every change is audited with o->actor. APR_SUCCESS when
 * the input was read and every statement ran: the caller commits only if
 * res->errors is empty, or with o->skip_invalid when !res->broken (and it is not
 * a dry run), else rolls back. APR_EBUSY: another sync still ran after
 * o->turn_wait_ms, nothing was read; roll back. Any other status: a read error or
 * a database error (reported through db); roll back. */
apr_status_t pm_roster_apply(pm_db *db, apr_pool_t *p, const pm_roster_options *o,
                             pm_roster_read_fn read, void *ctx, pm_roster_result *res);

/* That rule: whether what pm_roster_apply did may be committed (dry runs aside). */
int pm_roster_may_commit(const pm_roster_options *o, const pm_roster_result *res);

/* The setting disable_accounts_on_discharge (a JSON boolean; unset: false). */
apr_status_t pm_roster_disables_accounts(pm_db *db, int *disable);

#endif
