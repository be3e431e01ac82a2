/* pm_roster.c — the roster sync's apply step: each checked entry (pm_roster_parse.c)
 * upserted by chart number inside the caller's transaction — added, updated or
 * unchanged; an email change as the staff's change button does it; a discharge
 * revokes pending invitations — then --discharge-missing; audited as o->actor. */
#include "pm_roster.h"
#include "pm_audit_chain.h"
#include "pm_settings_def.h"
#include "pm_client_keys.h"
#include "pm_collate.h"
#include "pm_text.h"
#include "pm_token.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BATCH 256          /* entries between two clears of the scratch pool */
#define DISCHARGE_PAGE 500 /* named clients read at a time by --discharge-missing */
/* the values of a new client, in PM_SQL_ROSTER_CLIENTS_INSERT_PGSQL's order */
enum { NEW_EXTERNAL_ID, NEW_FIRST_NAME, NEW_LAST_NAME, NEW_DATE_OF_BIRTH, NEW_EMAIL, NEW_ACTIVE,
       NEW_LANGUAGE, NEW_CREATED_AT, NEW_UPDATED_AT, NEW_SORT_KEY, NEW_LOCALE, NEW_CLIENT_COLS };

typedef struct {
    pm_db *db;
    apr_pool_t *pool;
    const pm_roster_options *o;
    const pm_roster_parser *ps;  /* the chart numbers of rejected entries */
    pm_roster_result *res;
    apr_hash_t *seen;            /* external_id → the int where it was first named */
    apr_hash_t *merged;          /* chart numbers of merged-away Patients → "" */
    apr_hash_t *current;         /* the chart numbers the batch's entries have now → "" */
    apr_hash_t *namesakes;       /* date of birth → apr_array_header_t of pm_row: the
                                  * active named clients born on the days of the batch's
                                  * new chart numbers */
    apr_pool_t *batch;           /* the executor's rows, the entries and the keys */
    pm_client_keyer *keyer;      /* of the current batch, made on first use */
    pm_client_keys_stage *stage; /* new clients' search keys, written at the end */
    apr_hash_t *known;           /* chart number → client row, for the batch */
    apr_hash_t *unnamed_days;    /* date of birth → "": some client without a chart
                                  * number was born that day (of the batch's new ones) */
    apr_hash_t *unnamed;         /* "date of birth\tname key" → apr_array_header_t of
                                  * pm_row: those clients by day and name
                                  * (pm_client_keys_name_key); a match leaves it */
    int any_unnamed;             /* clients without a chart number exist */
    const char *last_before;     /* the newest client's id when the sync began ("0":
                                  * none): the clients after it are the sync's own */
    int sqlite;                  /* the driver is SQLite's */
    int nadds;                   /* PostgreSQL: new clients waiting in adds */
    const char *adds[PM_SQL_NEW_CLIENTS * NEW_CLIENT_COLS];
    const char *now;
    apr_array_header_t *audit;   /* the rows to audit, appended to the chain at the end */
    apr_array_header_t *held;    /* held_entry: new chart numbers that look like a client
                                  * the file has not named yet (settle_held) */
    apr_hash_t *moved;           /* client id → "": clients whose chart number an entry's
                                  * old identifiers moved (by_old_id) */
} roster_sync;

/* A new chart number with the name and date of birth of active clients the file had
 * not named when it was read; in s->pool. */
typedef struct {
    const char *id, *chart;
} namesake;

typedef struct {
    pm_roster_entry e;
    apr_array_header_t *namesakes;   /* of namesake: the clients it looks like */
} held_entry;

static void add_error(roster_sync *s, int where, const char *field, const char *message)
{
    pm_roster_error *e = apr_array_push(s->res->errors);

    e->where = where;
    e->field = field;
    e->message = message;
}

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Addresses are compared without letter case: an EHR that writes Maria.Lopez@ one
 * night and maria.lopez@ the next changes nothing (each change sends a notice). */
static int same_email(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcasecmp(a, b) == 0);
}

/* Kept until the sync's last statement: the audit chain's head stays locked from
 * the append to the commit, so a long sync must not take it early (on PostgreSQL
 * every audited request would wait for the whole sync). */
static apr_status_t audit(roster_sync *s, const char *action, const char *client_id,
                          const char *detail)
{
    const char **row = apr_pcalloc(s->pool, PM_AUDIT_FIELDS * sizeof(*row));

    row[0] = s->now;
    row[1] = s->o->actor;
    row[2] = action;
    row[3] = client_id ? apr_pstrdup(s->pool, client_id) : NULL;
    row[5] = "ok";
    row[6] = detail ? apr_pstrdup(s->pool, detail) : NULL;
    row[7] = s->o->remote_ip;
    row[8] = s->o->request_id;
    APR_ARRAY_PUSH(s->audit, const char *const *) = row;
    return APR_SUCCESS;
}

static pm_client_keyer *keyer(roster_sync *s)
{
    if (s->keyer == NULL) {
        s->keyer = pm_client_keyer_make(s->db, s->batch, s->o->locale);
    }
    return s->keyer;
}

/* Name keys for a client row (PM_COLS_UNKEYED: id, first, last) whose sort key
 * is missing: a renamed one (the trigger forgot its key). */
static apr_status_t store_keys(roster_sync *s, const char *id, const char *first,
                               const char *last)
{
    const char *v[] = { id, first, last };
    pm_row row = { 3, v };

    if (keyer(s) == NULL) {
        return APR_EGENERAL;
    }
    return pm_client_keys_store(s->stage, s->keyer, &row, NULL);
}

/* What a discharge does besides active = 0: pending invitations to the client and
 * their representatives are revoked; when the setting says so, the logins that reach
 * only this client are disabled and a shared login loses this client (its grant
 * ends) but keeps the others. */
static apr_status_t discharge(roster_sync *s, const char *id, const char *external_id)
{
    int revoked = 0, rep_revoked = 0, disabled = 0, ended = 0;

    if (pm_db_exec(s->db, PM_SQL_CLIENT_REVOKE_PENDING, &revoked, s->now, id) != APR_SUCCESS
        || pm_db_exec(s->db, PM_SQL_ROSTER_REVOKE_REP_PENDING, &rep_revoked, s->now, id)
           != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (s->o->disable_accounts
        && (pm_db_exec(s->db, PM_SQL_CLIENT_LOCK_ACCOUNTS, NULL, id) != APR_SUCCESS
            || pm_db_exec(s->db, PM_SQL_CLIENT_DISABLE_ACCOUNTS, &disabled, s->now, s->o->actor,
                          id, id, id) != APR_SUCCESS
            || pm_db_exec(s->db, PM_SQL_CLIENT_END_SHARED_GRANTS, &ended, s->now, s->o->actor,
                          id) != APR_SUCCESS)) {
        return APR_EGENERAL;
    }
    s->res->discharged++;
    APR_ARRAY_PUSH(s->res->discharged_ids, const char *) = apr_pstrdup(s->pool, external_id);
    return audit(s, "client.discharged", id,
                 apr_psprintf(s->batch, "{\"reason\":\"discharged\",\"revoked_invitations\":%d,"
                              "\"disabled_accounts\":%d,\"ended_grants\":%d}",
                              revoked + rep_revoked, disabled, ended));
}

/* PostgreSQL: the waiting new clients in one statement, then their search keys
 * staged by the ids it returns. The entries' strings live until the batch ends. */
static apr_status_t insert_waiting(roster_sync *s)
{
    apr_array_header_t *rows;
    int n = s->nadds, i, j;

    if (n == 0) {
        return APR_SUCCESS;
    }
    memset(&s->adds[n * NEW_CLIENT_COLS], 0,
           (PM_SQL_NEW_CLIENTS - n) * NEW_CLIENT_COLS * sizeof(s->adds[0]));
    s->nadds = 0;
    if (pm_db_select_args(s->db, PM_SQL_ROSTER_CLIENTS_INSERT_PGSQL, &rows, s->adds)
        != APR_SUCCESS || rows->nelts != n) {
        return APR_EGENERAL;
    }
    for (i = 0; i < rows->nelts; i++) {
        const pm_row *r = &APR_ARRAY_IDX(rows, i, pm_row);
        const char *external_id = pm_row_str(r, ROSTER_NEW_EXTERNAL_ID);
        const char **v = NULL;

        for (j = 0; j < n && v == NULL; j++) {
            if (strcmp(s->adds[j * NEW_CLIENT_COLS + NEW_EXTERNAL_ID], external_id) == 0) {
                v = &s->adds[j * NEW_CLIENT_COLS];
            }
        }
        if (v == NULL || pm_client_keys_stage_add(s->stage, s->keyer, pm_row_str(r, ROSTER_NEW_ID),
                                                  v[NEW_SORT_KEY], v[NEW_FIRST_NAME],
                                                  v[NEW_LAST_NAME]) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    return APR_SUCCESS;
}

/* A new client's language: the file's, else the practice's default_language. */
static const char *new_client_language(const roster_sync *s, const pm_roster_entry *e)
{
    if (e->preferred_language) {
        return e->preferred_language;
    }
    return s->o->language ? s->o->language : "en";
}

/* PostgreSQL: a new client waits for PM_SQL_NEW_CLIENTS of them (or the batch's end)
 * to be inserted together. */
static apr_status_t add_waiting(roster_sync *s, const pm_roster_entry *e, const char *sort_key)
{
    const char **v = &s->adds[s->nadds++ * NEW_CLIENT_COLS];

    v[NEW_EXTERNAL_ID] = e->external_id;
    v[NEW_FIRST_NAME] = e->first_name;
    v[NEW_LAST_NAME] = e->last_name;
    v[NEW_DATE_OF_BIRTH] = e->date_of_birth;
    v[NEW_EMAIL] = e->email;
    v[NEW_ACTIVE] = e->active == 0 ? "0" : "1";
    v[NEW_LANGUAGE] = new_client_language(s, e);
    v[NEW_CREATED_AT] = s->now;
    v[NEW_UPDATED_AT] = s->now;
    v[NEW_SORT_KEY] = sort_key;
    v[NEW_LOCALE] = pm_client_keys_locale(s->keyer);
    s->res->added++;
    return s->nadds == PM_SQL_NEW_CLIENTS ? insert_waiting(s) : APR_SUCCESS;
}

/* SQLite: insert a new client without RETURNING (see
 * PM_SQL_ROSTER_CLIENT_INSERT_SQLITE), then read its id by its chart number. */
static apr_status_t insert_client(roster_sync *s, const pm_roster_entry *e,
                                  const char *sort_key, const char **id)
{
    const char *active = e->active == 0 ? "0" : "1";
    const char *language = new_client_language(s, e);
    apr_array_header_t *rows;
    const pm_row *row;

    if (pm_db_exec(s->db, PM_SQL_ROSTER_CLIENT_INSERT_SQLITE, NULL, e->external_id,
                   e->first_name, e->last_name, e->date_of_birth, e->email, active, language,
                   s->now, s->now, sort_key, pm_client_keys_locale(s->keyer),
                   e->email ? e->email : "") != APR_SUCCESS
        || pm_db_select(s->db, PM_SQL_ROSTER_CLIENT_BY_EXTERNAL_ID, &rows, e->external_id)
           != APR_SUCCESS || (row = pm_first_row(rows)) == NULL) {
        return APR_EGENERAL;
    }
    *id = pm_row_str(row, ROSTER_ID);
    return APR_SUCCESS;
}

/* A new client, inserted with its sort key (no UPDATE after, and no DELETE of
 * search keys it cannot have yet); its search keys go to the stage. */
static apr_status_t add_client(roster_sync *s, const pm_roster_entry *e)
{
    const char *sort_key, *id;

    if (keyer(s) == NULL) {
        return APR_EGENERAL;
    }
    sort_key = pm_client_keys_sort_key(s->keyer, e->first_name, e->last_name);
    if (!s->sqlite) {
        return add_waiting(s, e, sort_key);
    }
    if (insert_client(s, e, sort_key, &id) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    s->res->added++;
    return pm_client_keys_stage_add(s->stage, s->keyer, id, sort_key, e->first_name,
                                    e->last_name);
}

/* The changed fields' names, as a JSON array's members ("" when none). */
static const char *changed_fields(roster_sync *s, const pm_row *c, const pm_roster_entry *e,
                                  const char *language, int active)
{
    const char *out = "";
    const char *sep = "";
    struct { const char *name; int changed; } f[] = {
        { "external_id", !same(pm_row_str(c, ROSTER_EXTERNAL_ID), e->external_id) },
        { "first_name", !same(pm_row_str(c, ROSTER_FIRST_NAME), e->first_name) },
        { "last_name", !same(pm_row_str(c, ROSTER_LAST_NAME), e->last_name) },
        { "date_of_birth", !same(pm_row_str(c, ROSTER_DATE_OF_BIRTH), e->date_of_birth) },
        { "active", pm_row_int(c, ROSTER_ACTIVE, 1) != active },
        { "preferred_language", !same(pm_row_str(c, ROSTER_LANGUAGE), language) },
    };
    size_t i;

    for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (f[i].changed) {
            out = apr_pstrcat(s->batch, out, sep, "\"", f[i].name, "\"", NULL);
            sep = ",";
        }
    }
    return out;
}

/* The staff's change button in SQL: an open invitation to another address is
 * superseded, the old address gets the notice of the change when the client has an
 * active portal account (the same statement as the button's, issue 14; its
 * Message-ID is made again at sending, PM_OUTBOX_ID_OUTSIDE), then the address is
 * stored. No address: every open one goes. The client's row is locked first, as
 * staff operations lock it: the notice then reads the address a concurrent staff
 * change left (not the one it replaced, which would be told twice), and the two
 * never wait for each other's rows in opposite orders (PostgreSQL's deadlock). */
static apr_status_t change_email(roster_sync *s, const char *id, const char *email)
{
    const char *hex = pm_random_hex(s->batch, 16);
    int superseded = 0, notified = 0;

    if (hex == NULL
        || pm_db_exec(s->db, PM_SQL_CLIENT_LOCK_ROW, NULL, id) != APR_SUCCESS
        || pm_db_exec(s->db, PM_SQL_CLIENT_SUPERSEDE_PENDING, &superseded, s->now, id,
                      email ? email : "") != APR_SUCCESS
        || pm_db_exec(s->db, PM_SQL_ADDRESS_NOTICE_CLIENT, &notified,
                      apr_pstrcat(s->batch, "<", hex, PM_OUTBOX_ID_OUTSIDE, NULL), s->now, s->now,
                      id, email) != APR_SUCCESS
        || pm_db_exec(s->db, PM_SQL_CLIENT_SET_EMAIL, NULL, email, s->now, id) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    s->res->address_notices += notified;
    return audit(s, "client.email_change", id,
                 apr_psprintf(s->batch, "{\"superseded_invitations\":%d,\"source\":\"roster\"%s}",
                              superseded, notified > 0 ? ",\"old_address_notified\":true" : ""));
}

/* Whether the entry's email replaces the stored one. The roster is not the only
 * writer of a client's email: staff change it on the staff page, and the EHR, where
 * nobody typed it, keeps sending the old address (or none) every night. So the
 * entry's email wins only when it is news from the EHR: it differs from what the
 * roster said the last time (roster_email, migration 029), or the roster has never
 * said (NULL: a client typed in before the first sync, or named before 029) and the
 * entry has an address. No address from a roster that never gave one keeps the
 * staff's. */
static int email_is_news(const pm_row *c, const pm_roster_entry *e)
{
    const char *said = pm_row_str(c, ROSTER_EHR_EMAIL);

    if (same_email(pm_row_str(c, ROSTER_EMAIL), e->email)) {
        return 0;
    }
    if (said == NULL) {
        return e->email != NULL;
    }
    return strcasecmp(said, e->email ? e->email : "") != 0;
}

/* Remember what the roster said of the email, when it said something else before
 * (bookkeeping: the client counts as unchanged if nothing else moved). */
static apr_status_t note_roster_email(roster_sync *s, const pm_row *c, const pm_roster_entry *e)
{
    const char *said = pm_row_str(c, ROSTER_EHR_EMAIL), *now = e->email ? e->email : "";

    if (said != NULL && strcasecmp(said, now) == 0) {
        return APR_SUCCESS;
    }
    return pm_db_exec(s->db, PM_SQL_ROSTER_CLIENT_SET_ROSTER_EMAIL, NULL, now,
                      pm_row_str(c, ROSTER_ID));
}

/* The entry with the stored names where it differs from them in letter case only: an
 * EHR that exports capitals (SMITH, JOHN) does not overwrite the names staff see and
 * emails greet with ("Dear JOHN"); a real change of spelling is taken. */
static pm_roster_entry keep_stored_case(const pm_row *c, const pm_roster_entry *e)
{
    pm_roster_entry k = *e;
    const char *first = pm_row_str(c, ROSTER_FIRST_NAME), *last = pm_row_str(c, ROSTER_LAST_NAME);

    if (pm_collate_same_but_case(first, e->first_name)) {
        k.first_name = first;
    }
    if (pm_collate_same_but_case(last, e->last_name)) {
        k.last_name = last;
    }
    return k;
}

static apr_status_t update_client(roster_sync *s, const pm_row *c, const pm_roster_entry *in)
{
    const pm_roster_entry kept = keep_stored_case(c, in), *e = &kept;
    const char *id = pm_row_str(c, ROSTER_ID);
    const char *language = e->preferred_language ? e->preferred_language
                                                 : pm_row_str(c, ROSTER_LANGUAGE);
    int active = e->active == 0 ? 0 : 1, was_active = (int)pm_row_int(c, ROSTER_ACTIVE, 1);
    const char *fields = changed_fields(s, c, e, language, active);
    int email_changed = email_is_news(c, e);

    if (note_roster_email(s, c, e) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (*fields == '\0' && !email_changed) {
        s->res->unchanged++;
        return APR_SUCCESS;
    }
    if (*fields
        && (pm_db_exec(s->db, PM_SQL_ROSTER_CLIENT_UPDATE, NULL, e->external_id, e->first_name,
                       e->last_name, e->date_of_birth,
                       active ? "1" : "0", language, s->now, id) != APR_SUCCESS
            || store_keys(s, id, e->first_name, e->last_name) != APR_SUCCESS
            || audit(s, "client.roster_update", id,
                     apr_pstrcat(s->batch, "{\"fields\":[", fields, "]}", NULL))
               != APR_SUCCESS)) {
        return APR_EGENERAL;
    }
    if (email_changed && change_email(s, id, e->email) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (was_active && !active) {
        return discharge(s, id, e->external_id);
    }
    s->res->updated++;
    return !was_active && active ? audit(s, "client.readmitted", id, NULL) : APR_SUCCESS;
}

/* Of the unnamed clients born on the entry's day, the one with the entry's name
 * (case, accents and punctuation aside). */
static apr_status_t same_named(roster_sync *s, const pm_roster_entry *e,
                               const apr_array_header_t *rows, const pm_row **c)
{
    int i, found = 0;

    if (keyer(s) == NULL) {
        return APR_EGENERAL;
    }
    for (i = 0; i < rows->nelts; i++) {
        const pm_row *r = &APR_ARRAY_IDX(rows, i, pm_row);

        if (pm_client_keys_same_name(s->keyer, s->batch, r, ROSTER_FIRST_NAME,
                                     ROSTER_LAST_NAME, e->first_name, e->last_name)) {
            *c = found++ ? NULL : r;
        }
    }
    if (found > 1) {
        add_error(s, e->where, "external_id",
                  "several clients without a chart number have this name and date of "
                  "birth; give the right one this chart number first: portal-manager-admin "
                  "clients set-chart CLIENT_ID EXTERNAL_ID (the ids: clients list)");
    }
    return APR_SUCCESS;
}

/* When the entry's chart number is new: the client one of its retired chart numbers
 * (FHIR identifiers use old) names, i.e. the EHR changed the number; the number then
 * moves (update_client). Not a number the file gives an entry as its own (that entry
 * is that client); two clients are reported. The retired number leaves s->known. */
static void by_old_id(roster_sync *s, const pm_roster_entry *e, const pm_row **c)
{
    const char *via = NULL;
    int i;

    for (i = 0; e->old_ids && i < e->old_ids->nelts; i++) {
        const char *old = APR_ARRAY_IDX(e->old_ids, i, const char *);
        const pm_row *r = apr_hash_get(s->known, old, APR_HASH_KEY_STRING);

        if (r == NULL || apr_hash_get(s->current, old, APR_HASH_KEY_STRING)
            || apr_hash_get(s->seen, old, APR_HASH_KEY_STRING)) {
            continue;
        }
        if (*c && strcmp(pm_row_str(*c, ROSTER_ID), pm_row_str(r, ROSTER_ID)) != 0) {
            add_error(s, e->where, "identifier",
                      apr_psprintf(s->pool, "its old identifiers name two clients (%s and %s); "
                                   "give the right one this chart number first: "
                                   "portal-manager-admin clients set-chart CLIENT_ID "
                                   "EXTERNAL_ID", pm_row_str(*c, ROSTER_ID),
                                   pm_row_str(r, ROSTER_ID)));
            *c = NULL;
            return;
        }
        *c = r;
        via = old;
    }
    if (via) {
        apr_hash_set(s->known, via, APR_HASH_KEY_STRING, NULL);
        apr_hash_set(s->moved, apr_pstrdup(s->pool, pm_row_str(*c, ROSTER_ID)),
                     APR_HASH_KEY_STRING, "");
    }
}

/* Whether the entry's chart number differs from chart only by leading zeros. */
static int zeros_only(const char *a, const char *b)
{
    while (*a == '0') {
        a++;
    }
    while (*b == '0') {
        b++;
    }
    return strcmp(a, b) == 0;
}

/* Whether the file names the client whose chart number this is: an entry has it
 * (seen), or had it and was merged away, or moved it to a new one (moved). */
static int named_by_file(const roster_sync *s, const char *id, const char *chart)
{
    return apr_hash_get(s->seen, chart, APR_HASH_KEY_STRING)
           || apr_hash_get(s->merged, chart, APR_HASH_KEY_STRING)
           || apr_hash_get(s->moved, id, APR_HASH_KEY_STRING);
}

static void refuse_namesake(roster_sync *s, const pm_roster_entry *e, const char *id,
                            const char *chart)
{
    add_error(s, e->where, "external_id",
              apr_psprintf(s->pool, "chart number '%s' is new but looks like client %s "
                           "(chart %s): same name and date of birth%s; if the chart number "
                           "changed, give the client the new one first "
                           "(portal-manager-admin clients set-chart %s '%s') and sync "
                           "again; if this is another person, add them by hand first "
                           "(the sync then gives them this chart number)", e->external_id,
                           id, chart, zeros_only(e->external_id, chart)
                           ? "; the numbers differ only in leading zeros: was the file "
                             "saved from Excel? Format the chart-number column as Text "
                             "and export again" : "", id, e->external_id));
}

static pm_roster_entry copy_entry(apr_pool_t *p, const pm_roster_entry *e)
{
    pm_roster_entry c = *e;

    c.external_id = apr_pstrdup(p, e->external_id);
    c.first_name = apr_pstrdup(p, e->first_name);
    c.last_name = apr_pstrdup(p, e->last_name);
    c.date_of_birth = apr_pstrdup(p, e->date_of_birth);
    c.email = e->email ? apr_pstrdup(p, e->email) : NULL;
    c.preferred_language = e->preferred_language ? apr_pstrdup(p, e->preferred_language) : NULL;
    c.old_ids = NULL;            /* used by find_client, which is done */
    return c;
}

/* A new chart number whose entry has the name and date of birth of an active client
 * with another chart number is more likely that client under a mangled number (a
 * spreadsheet dropped its leading zeros, the EHR renumbered) than a new person, unless
 * the file names that client too. One it has named already is no look-alike; one it
 * has not may come later: the entry is held (*held) and settle_held decides at the
 * end — added if the file named them all, else refused as a bad row rather than add
 * a twin and, with --discharge-missing, discharge the real one. */
static apr_status_t hold_namesake(roster_sync *s, const pm_roster_entry *e, int *held)
{
    apr_array_header_t *rows = apr_hash_get(s->namesakes, e->date_of_birth,
                                            APR_HASH_KEY_STRING);
    held_entry *h = NULL;
    int i;

    for (i = 0; rows && i < rows->nelts; i++) {
        const pm_row *r = &APR_ARRAY_IDX(rows, i, pm_row);
        const char *chart = pm_row_str(r, ROSTER_EXTERNAL_ID), *id = pm_row_str(r, ROSTER_ID);
        namesake *n;

        if (named_by_file(s, id, chart)
            || apr_hash_get(s->current, chart, APR_HASH_KEY_STRING)) {
            continue;
        }
        if (keyer(s) == NULL) {
            return APR_EGENERAL;
        }
        if (!pm_client_keys_same_name(s->keyer, s->batch, r, ROSTER_FIRST_NAME,
                                      ROSTER_LAST_NAME, e->first_name, e->last_name)) {
            continue;
        }
        if (h == NULL) {
            h = apr_array_push(s->held);
            h->e = copy_entry(s->pool, e);
            h->namesakes = apr_array_make(s->pool, 1, sizeof(namesake));
        }
        n = apr_array_push(h->namesakes);
        n->id = apr_pstrdup(s->pool, id);
        n->chart = apr_pstrdup(s->pool, chart);
    }
    *held = h != NULL;
    return APR_SUCCESS;
}

/* After the last entry: each held entry is refused when a client it looks like is
 * still not named by the file, else added (as apply_entry would have, unless a
 * problem elsewhere already forbids applying anything). */
static apr_status_t settle_held(roster_sync *s)
{
    int i, j, any = 0;

    if (s->held->nelts == 0) {
        return APR_SUCCESS;
    }
    for (i = 0; i < s->held->nelts; i++) {
        const held_entry *h = &APR_ARRAY_IDX(s->held, i, held_entry);
        int before = s->res->errors->nelts;

        for (j = 0; j < h->namesakes->nelts && s->res->errors->nelts == before; j++) {
            const namesake *n = &APR_ARRAY_IDX(h->namesakes, j, namesake);

            if (!named_by_file(s, n->id, n->chart)) {
                refuse_namesake(s, &h->e, n->id, n->chart);
            }
        }
        if (s->res->errors->nelts == before && (s->o->skip_invalid || before == 0)) {
            any = 1;
            if (add_client(s, &h->e) != APR_SUCCESS) {
                return APR_EGENERAL;
            }
        }
    }
    if (any && (insert_waiting(s) != APR_SUCCESS
                || pm_client_keys_stage_flush(s->stage) != APR_SUCCESS)) {
        return APR_EGENERAL;
    }
    apr_pool_clear(s->batch);
    s->keyer = NULL;
    return APR_SUCCESS;
}

/* Of the clients without a chart number, the one with the entry's name and date of
 * birth (same_named); it leaves s->unnamed. */
static apr_status_t find_unnamed(roster_sync *s, const pm_roster_entry *e, const pm_row **c)
{
    apr_array_header_t *rows;
    pm_row *taken;
    int i;

    if (s->unnamed == NULL
        || apr_hash_get(s->unnamed_days, e->date_of_birth, APR_HASH_KEY_STRING) == NULL) {
        return APR_SUCCESS;
    }
    if (keyer(s) == NULL) {
        return APR_EGENERAL;
    }
    rows = apr_hash_get(s->unnamed, apr_pstrcat(s->batch, e->date_of_birth, "\t",
                                                pm_client_keys_name_key(s->keyer, s->batch,
                                                                        e->first_name,
                                                                        e->last_name),
                                                NULL), APR_HASH_KEY_STRING);
    if (rows == NULL) {
        return APR_SUCCESS;
    }
    if (same_named(s, e, rows, c) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (*c != NULL) {
        i = (int)(*c - (const pm_row *)rows->elts);
        taken = apr_pmemdup(s->batch, *c, sizeof(*taken));
        memmove(&APR_ARRAY_IDX(rows, i, pm_row), &APR_ARRAY_IDX(rows, i + 1, pm_row),
                (size_t)(rows->nelts - i - 1) * sizeof(pm_row));
        rows->nelts--;
        *c = taken;
    }
    return APR_SUCCESS;
}

/* The client a chart number names: by external_id, else by a retired chart number
 * (by_old_id), else the one client without a chart number with the same name and
 * date of birth; *c NULL: a new client (unless it looks like an active one,
 * refuse_namesake). The unnamed client found takes this chart number, so it leaves
 * s->unnamed: a later entry of the batch with the same name and day is a new client,
 * as it was when each entry read the table. */
static apr_status_t find_client(roster_sync *s, const pm_roster_entry *e, const pm_row **c,
                                int *held)
{
    int before = s->res->errors->nelts;

    *held = 0;
    if ((*c = apr_hash_get(s->known, e->external_id, APR_HASH_KEY_STRING)) != NULL) {
        return APR_SUCCESS;
    }
    by_old_id(s, e, c);
    if (*c == NULL && s->res->errors->nelts == before && find_unnamed(s, e, c) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return *c == NULL && s->res->errors->nelts == before ? hold_namesake(s, e, held)
                                                         : APR_SUCCESS;
}

/* PostgreSQL: the sync's turn, before it reads anything (PM_SQL_ROSTER_LOCK): another
 * sync adding the same chart number has committed by then, and this one finds its
 * client. With o->turn_wait_ms, tried every TURN_SLICE_MS until then (APR_EBUSY):
 * a request does not wait out a long sync. SQLite's transaction already holds the
 * write lock. */
#define TURN_SLICE_MS 50

static apr_status_t take_turn(roster_sync *s)
{
    apr_array_header_t *rows;
    int waited;

    if (s->sqlite) {
        return APR_SUCCESS;
    }
    if (s->o->turn_wait_ms <= 0) {
        return pm_db_select(s->db, PM_SQL_ROSTER_LOCK, &rows);
    }
    for (waited = 0; ; waited += TURN_SLICE_MS) {
        if (pm_db_select(s->db, PM_SQL_ROSTER_TRY_LOCK, &rows) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        if (pm_row_int(pm_first_row(rows), COUNT_N, 0) == 1) {
            return APR_SUCCESS;
        }
        if (waited >= s->o->turn_wait_ms) {
            return APR_EBUSY;
        }
        apr_sleep(apr_time_from_msec(TURN_SLICE_MS));
    }
}

/* Whether any client lacks a chart number: if none does (every client came from
 * the EHR), look_up_unnamed has nothing to read; and the newest client's id, the
 * last one look_up_namesakes may find. */
static apr_status_t any_unnamed(roster_sync *s)
{
    apr_array_header_t *rows;

    if (pm_db_select(s->db, PM_SQL_ROSTER_ANY_UNNAMED, &rows) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    s->any_unnamed = pm_row_int(pm_first_row(rows), COUNT_N, 0) > 0;
    if (pm_db_select(s->db, PM_SQL_ROSTER_LAST_CLIENT, &rows) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    s->last_before = apr_pstrdup(s->pool, pm_row_str(pm_first_row(rows), 0));
    return APR_SUCCESS;
}

static apr_status_t apply_entry(roster_sync *s, const pm_roster_entry *e)
{
    const int *first = apr_hash_get(s->seen, e->external_id, APR_HASH_KEY_STRING);
    int *where, held, before = s->res->errors->nelts;
    int bad = pm_roster_bad_chart(s->ps, e->external_id);
    const pm_row *c;

    if (e->merged_away) {        /* its client is the surviving Patient's (by_old_id) */
        apr_hash_set(s->merged, apr_pstrdup(s->pool, e->external_id), APR_HASH_KEY_STRING, "");
        s->res->merged_away++;
        return APR_SUCCESS;
    }
    if (first || (bad >= 0 && bad < e->where)) {
        add_error(s, e->where, "external_id",
                  apr_psprintf(s->pool, s->o->format == PM_ROSTER_CSV
                               ? "this chart number is also on line %d"
                               : "this chart number is also in entry[%d]",
                               first ? *first : bad));
        return APR_SUCCESS;
    }
    where = apr_palloc(s->pool, sizeof(*where));
    *where = e->where;
    apr_hash_set(s->seen, apr_pstrdup(s->pool, e->external_id), APR_HASH_KEY_STRING, where);
    if (find_client(s, e, &c, &held) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (held) {
        return APR_SUCCESS;
    }
    /* once a problem is known nothing will be applied: only look for more (skipping
     * the invalid: only this entry's own problem keeps it out) */
    if (s->res->errors->nelts > (s->o->skip_invalid ? before : 0)) {
        return APR_SUCCESS;
    }
    return c ? update_client(s, c, e) : add_client(s, e);
}

/* --discharge-missing, first pass: the active clients with a chart number the input
 * did not name (id, chart number pairs in s->pool), and how many are active. */
static apr_status_t find_missing(roster_sync *s, apr_array_header_t *missing, int *active)
{
    apr_array_header_t *rows;
    const char *after = "0";
    int i;

    do {
        apr_pool_clear(s->batch);
        s->keyer = NULL;
        if (pm_db_select(s->db, PM_SQL_ROSTER_NAMED_ACTIVE, &rows, after,
                         pm_arg_int(s->batch, DISCHARGE_PAGE)) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        for (i = 0; i < rows->nelts; i++) {
            const pm_row *r = &APR_ARRAY_IDX(rows, i, pm_row);
            const char *external_id = pm_row_str(r, NAMED_EXTERNAL_ID);

            after = pm_row_str(r, NAMED_ID);
            (*active)++;
            if (apr_hash_get(s->seen, external_id, APR_HASH_KEY_STRING) == NULL
                && apr_hash_get(s->merged, external_id, APR_HASH_KEY_STRING) == NULL) {
                APR_ARRAY_PUSH(missing, const char *) = apr_pstrdup(s->pool, after);
                APR_ARRAY_PUSH(missing, const char *) = apr_pstrdup(s->pool, external_id);
            }
        }
        after = apr_pstrdup(s->pool, after);
    } while (rows->nelts == DISCHARGE_PAGE);
    return APR_SUCCESS;
}

/* A roster that names nobody, or one that would discharge most of the clients, is
 * more likely a truncated export than the practice's census: refused (an error). */
static int refuse_discharge(roster_sync *s, int missing, int active)
{
    int would = s->res->discharged + missing, of = active + s->res->discharged;

    if (apr_hash_count(s->seen) == 0 && of > 0) {   /* none to discharge: nothing at risk */
        add_error(s, -1, "discharge_missing",
                  apr_psprintf(s->pool, "the roster names no clients: discharging the "
                               "clients it leaves out would discharge all %d active clients "
                               "with a chart number; an empty roster cannot be used to "
                               "discharge (is the export truncated?)", of));
        return 1;
    }
    if (!s->o->allow_mass_discharge && would > PM_ROSTER_MASS_MIN && 2 * would > of) {
        add_error(s, -1, "discharge_missing",
                  apr_psprintf(s->pool, "this sync would discharge %d of the %d active "
                               "clients with a chart number (more than half): is the export "
                               "truncated? If that many really left, sync again with %s", would,
                               of, s->o->allow_mass_name ? s->o->allow_mass_name
                                                         : "allow_mass_discharge"));
        return 1;
    }
    return 0;
}

/* --discharge-missing: active clients with a chart number the input did not name,
 * unless refuse_discharge says no (then nothing is discharged: an error). */
static apr_status_t discharge_missing(roster_sync *s)
{
    apr_array_header_t *missing = apr_array_make(s->pool, 16, sizeof(const char *));
    int active = 0, i;

    if (find_missing(s, missing, &active) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (refuse_discharge(s, missing->nelts / 2, active)) {
        return APR_SUCCESS;
    }
    for (i = 0; i < missing->nelts; i += 2) {
        const char *id = APR_ARRAY_IDX(missing, i, const char *);

        if (i % (2 * DISCHARGE_PAGE) == 0) {
            apr_pool_clear(s->batch);
            s->keyer = NULL;
        }
        if (pm_db_exec(s->db, PM_SQL_ROSTER_CLIENT_SET_ACTIVE, NULL, "0", s->now, id)
            != APR_SUCCESS
            || discharge(s, id, APR_ARRAY_IDX(missing, i + 1, const char *)) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    return APR_SUCCESS;
}

/* A statement of PM_SQL_EXTERNAL_IDS slots (args: n filled, the rest made NULL), in
 * the driver's spelling. */
static apr_status_t select_slots(roster_sync *s, pm_sql_id sqlite, pm_sql_id pgsql,
                                 const char **args, int n, apr_array_header_t **rows)
{
    memset(&args[n], 0, (PM_SQL_EXTERNAL_IDS - n) * sizeof(args[0]));
    return pm_db_select_args(s->db, s->sqlite ? sqlite : pgsql, rows, args);
}

/* Up to PM_SQL_EXTERNAL_IDS chart numbers' clients into s->known (args: n of them). */
static apr_status_t look_up_some(roster_sync *s, const char **args, int n)
{
    apr_array_header_t *rows;
    int j;

    if (select_slots(s, PM_SQL_ROSTER_CLIENTS_BY_EXTERNAL_IDS_SQLITE,
                     PM_SQL_ROSTER_CLIENTS_BY_EXTERNAL_IDS_PGSQL, args, n, &rows)
        != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    for (j = 0; j < rows->nelts; j++) {
        const pm_row *r = &APR_ARRAY_IDX(rows, j, pm_row);

        apr_hash_set(s->known, pm_row_str(r, ROSTER_EXTERNAL_ID), APR_HASH_KEY_STRING, r);
    }
    return APR_SUCCESS;
}

/* The clients the batch's chart numbers name, and their retired ones (by_old_id),
 * PM_SQL_EXTERNAL_IDS per statement (a round trip per entry was most of an unchanged
 * sync's time on PostgreSQL). */
static apr_status_t look_up(roster_sync *s, const apr_array_header_t *entries)
{
    const char *args[PM_SQL_EXTERNAL_IDS];
    int i, j, n = 0;

    s->known = apr_hash_make(s->batch);
    s->current = apr_hash_make(s->batch);
    for (i = 0; i < entries->nelts; i++) {
        const pm_roster_entry *e = &APR_ARRAY_IDX(entries, i, pm_roster_entry);
        int nold = e->old_ids ? e->old_ids->nelts : 0;

        if (!e->merged_away) {
            apr_hash_set(s->current, e->external_id, APR_HASH_KEY_STRING, "");
        }
        for (j = -1; j < nold; j++) {
            args[n++] = j < 0 ? e->external_id : APR_ARRAY_IDX(e->old_ids, j, const char *);
            if (n == PM_SQL_EXTERNAL_IDS) {
                if (look_up_some(s, args, n) != APR_SUCCESS) {
                    return APR_EGENERAL;
                }
                n = 0;
            }
        }
    }
    return n > 0 ? look_up_some(s, args, n) : APR_SUCCESS;
}

/* The active clients with a chart number born on the days of the batch's new chart
 * numbers, PM_SQL_EXTERNAL_IDS days per statement, into s->namesakes by day
 * (refuse_namesake compares their names only for an entry that stays new). Only
 * clients that were there when the sync began: those it added itself are named by
 * the file, and reading them made a first load of 100,000 clients three times as
 * slow (each batch read every client born on its days; bench/roster). */
static apr_status_t look_up_namesakes(roster_sync *s, const apr_array_header_t *entries)
{
    const char *args[PM_SQL_EXTERNAL_IDS + 1];        /* the days, and last_before */
    apr_array_header_t *rows, *day;
    apr_hash_t *asked = apr_hash_make(s->batch);
    int i, j, n = 0;

    s->namesakes = apr_hash_make(s->batch);
    args[PM_SQL_EXTERNAL_IDS] = s->last_before;
    for (i = 0; s->last_before && strcmp(s->last_before, "0") != 0 && i < entries->nelts; i++) {
        const pm_roster_entry *e = &APR_ARRAY_IDX(entries, i, pm_roster_entry);

        if (!e->merged_away && !apr_hash_get(s->known, e->external_id, APR_HASH_KEY_STRING)
            && !apr_hash_get(asked, e->date_of_birth, APR_HASH_KEY_STRING)) {
            apr_hash_set(asked, e->date_of_birth, APR_HASH_KEY_STRING, "");
            args[n++] = e->date_of_birth;
        }
        if (n == 0 || (n < PM_SQL_EXTERNAL_IDS && i < entries->nelts - 1)) {
            continue;
        }
        if (select_slots(s, PM_SQL_ROSTER_CLIENTS_NAMED_BORN_SQLITE,
                         PM_SQL_ROSTER_CLIENTS_NAMED_BORN_PGSQL, args, n, &rows)
            != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        n = 0;
        for (j = 0; j < rows->nelts; j++) {
            const pm_row *r = &APR_ARRAY_IDX(rows, j, pm_row);
            const char *born = pm_row_str(r, ROSTER_DATE_OF_BIRTH);

            if ((day = apr_hash_get(s->namesakes, born, APR_HASH_KEY_STRING)) == NULL) {
                day = apr_array_make(s->batch, 1, sizeof(pm_row));
                apr_hash_set(s->namesakes, born, APR_HASH_KEY_STRING, day);
            }
            *(pm_row *)apr_array_push(day) = *r;
        }
    }
    return APR_SUCCESS;
}

/* The clients without a chart number born on the days of the batch's new chart
 * numbers, PM_SQL_EXTERNAL_IDS days per statement, into s->unnamed by day and name
 * key (a statement per new chart number was a round trip each on PostgreSQL, through
 * the index of every date of birth it read the named clients born that day too, and
 * each entry compared its name with every unnamed client born that day in ICU). */
static apr_status_t look_up_unnamed(roster_sync *s, const apr_array_header_t *entries)
{
    const char *args[PM_SQL_EXTERNAL_IDS];
    apr_array_header_t *rows, *same;
    apr_hash_t *asked;
    const char *key;
    int i, j, n = 0;

    s->unnamed = NULL;
    if (!s->any_unnamed) {
        return APR_SUCCESS;
    }
    s->unnamed = apr_hash_make(s->batch);
    s->unnamed_days = apr_hash_make(s->batch);
    asked = apr_hash_make(s->batch);
    for (i = 0; i < entries->nelts; i++) {
        const pm_roster_entry *e = &APR_ARRAY_IDX(entries, i, pm_roster_entry);

        if (!apr_hash_get(s->known, e->external_id, APR_HASH_KEY_STRING)
            && !apr_hash_get(asked, e->date_of_birth, APR_HASH_KEY_STRING)) {
            apr_hash_set(asked, e->date_of_birth, APR_HASH_KEY_STRING, "");
            args[n++] = e->date_of_birth;
        }
        if (n == 0 || (n < PM_SQL_EXTERNAL_IDS && i < entries->nelts - 1)) {
            continue;
        }
        if (select_slots(s, PM_SQL_ROSTER_CLIENTS_UNNAMED_SQLITE,
                         PM_SQL_ROSTER_CLIENTS_UNNAMED_PGSQL, args, n, &rows) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        n = 0;
        if (rows->nelts > 0 && keyer(s) == NULL) {
            return APR_EGENERAL;
        }
        for (j = 0; j < rows->nelts; j++) {
            const pm_row *r = &APR_ARRAY_IDX(rows, j, pm_row);
            const char *born = pm_row_str(r, ROSTER_DATE_OF_BIRTH);

            apr_hash_set(s->unnamed_days, born, APR_HASH_KEY_STRING, "");
            key = apr_pstrcat(s->batch, born, "\t",
                              pm_client_keys_name_key(s->keyer, s->batch,
                                                      pm_row_str(r, ROSTER_FIRST_NAME),
                                                      pm_row_str(r, ROSTER_LAST_NAME)), NULL);
            if ((same = apr_hash_get(s->unnamed, key, APR_HASH_KEY_STRING)) == NULL) {
                same = apr_array_make(s->batch, 1, sizeof(pm_row));
                apr_hash_set(s->unnamed, key, APR_HASH_KEY_STRING, same);
            }
            *(pm_row *)apr_array_push(same) = *r;
        }
    }
    return APR_SUCCESS;
}

/* A batch of entries (in s->batch): looked up together, applied in order; then the
 * pool is cleared (the stage flushed first: its rows point into it). */
static apr_status_t apply_batch(roster_sync *s, apr_array_header_t *entries)
{
    int i;

    if (look_up(s, entries) != APR_SUCCESS || look_up_unnamed(s, entries) != APR_SUCCESS
        || look_up_namesakes(s, entries) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    for (i = 0; i < entries->nelts; i++) {
        if (apply_entry(s, &APR_ARRAY_IDX(entries, i, pm_roster_entry)) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    if (insert_waiting(s) != APR_SUCCESS || pm_client_keys_stage_flush(s->stage) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    apr_pool_clear(s->batch);
    s->keyer = NULL;
    return APR_SUCCESS;
}

/* The records with a problem so far: the lines or entries the errors name. */
static int count_skipped(roster_sync *s)
{
    apr_hash_t *where = apr_hash_make(s->batch);
    int i;

    for (i = 0; i < s->res->errors->nelts; i++) {
        const pm_roster_error *e = &APR_ARRAY_IDX(s->res->errors, i, pm_roster_error);

        if (e->where >= 0) {
            apr_hash_set(where, apr_pmemdup(s->batch, &e->where, sizeof(int)), sizeof(int), "");
        }
    }
    return (int)apr_hash_count(where);
}

/* --discharge-missing after entries were skipped: the clients those name cannot be
 * told from the ones the roster leaves out, so nobody is discharged (an error). */
static apr_status_t discharge_unless_skipped(roster_sync *s)
{
    if (s->res->skipped == 0) {
        return discharge_missing(s);
    }
    add_error(s, -1, "discharge_missing",
              apr_psprintf(s->pool, "nobody was discharged: %d record%s skipped, and the "
                           "clients %s cannot be told from the ones the roster leaves out; "
                           "correct %s and sync again", s->res->skipped,
                           s->res->skipped == 1 ? " was" : "s were",
                           s->res->skipped == 1 ? "it names" : "they name",
                           s->res->skipped == 1 ? "it" : "them"));
    return APR_SUCCESS;
}

/* After the entries: the new clients' keys, --discharge-missing, the roster.sync row
 * and the chain (unless what was found forbids a commit). With skip_invalid the row
 * says what was left out and whether a discharge asked for was held back. */
static apr_status_t finish_sync(roster_sync *s)
{
    int before;

    if (!pm_roster_may_commit(s->o, s->res)) {
        return APR_SUCCESS;
    }
    if (pm_client_keys_stage_finish(s->stage) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    before = s->res->errors->nelts;
    if (s->o->discharge_missing && discharge_unless_skipped(s) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (!pm_roster_may_commit(s->o, s->res)) {
        return APR_SUCCESS;
    }
    audit(s, "roster.sync", NULL,
          apr_psprintf(s->batch, "{\"added\":%d,\"updated\":%d,\"unchanged\":%d,"
                       "\"discharged\":%d%s%s}", s->res->added, s->res->updated,
                       s->res->unchanged, s->res->discharged,
                       s->o->skip_invalid ? apr_psprintf(s->batch, ",\"skipped\":%d",
                                                         s->res->skipped) : "",
                       s->res->errors->nelts > before ? ",\"discharge_withheld\":true" : ""));
    return pm_audit_chain_append(s->db, s->pool, (const char *const *const *)s->audit->elts,
                                 s->audit->nelts);
}

static apr_status_t apply_all(roster_sync *s, pm_roster_parser *ps, apr_status_t *read_rv)
{
    apr_array_header_t *entries = apr_array_make(s->batch, BATCH, sizeof(pm_roster_entry));
    int r;

    while ((r = pm_roster_next(ps, s->batch, apr_array_push(entries), read_rv)) == 1) {
        if (entries->nelts == BATCH) {
            if (apply_batch(s, entries) != APR_SUCCESS) {
                return APR_EGENERAL;
            }
            entries = apr_array_make(s->batch, BATCH, sizeof(pm_roster_entry));
        }
    }
    entries->nelts--;            /* the slot the last pm_roster_next did not fill */
    if (r < 0) {
        return *read_rv;
    }
    if ((entries->nelts > 0 && apply_batch(s, entries) != APR_SUCCESS)
        || settle_held(s) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    s->res->broken = pm_roster_broken(ps);
    s->res->skipped = count_skipped(s);
    s->res->ignored = pm_roster_ignored(ps);
    return finish_sync(s);
}

/* The problems in the order of the file: a duplicate chart number is found when its
 * batch is applied, after later lines' own problems; those without a line or index
 * (where -1: the document, the discharge refusals) last; otherwise in the order found.
 * FHIR counts entries from 0, so entry 0 is a place like any other. */
static int error_order(const void *a, const void *b)
{
    const pm_roster_error *x = *(pm_roster_error *const *)a, *y = *(pm_roster_error *const *)b;
    long kx = x->where >= 0 ? x->where : LONG_MAX, ky = y->where >= 0 ? y->where : LONG_MAX;

    return kx != ky ? (kx < ky ? -1 : 1) : (x < y ? -1 : x > y);
}

static void sort_errors(apr_pool_t *p, apr_array_header_t *errors)
{
    pm_roster_error **order = apr_palloc(p, sizeof(*order) * (apr_size_t)(errors->nelts + 1));
    pm_roster_error *sorted = apr_palloc(p, sizeof(*sorted) * (apr_size_t)(errors->nelts + 1));
    int i;

    for (i = 0; i < errors->nelts; i++) {
        order[i] = &APR_ARRAY_IDX(errors, i, pm_roster_error);
    }
    qsort(order, (size_t)errors->nelts, sizeof(*order), error_order);
    for (i = 0; i < errors->nelts; i++) {
        sorted[i] = *order[i];
    }
    memcpy(errors->elts, sorted, sizeof(*sorted) * (apr_size_t)errors->nelts);
}

apr_status_t pm_roster_apply(pm_db *db, apr_pool_t *p, const pm_roster_options *o,
                             pm_roster_read_fn read, void *ctx, pm_roster_result *res)
{
    roster_sync s;
    pm_roster_parser *ps;
    apr_pool_t *previous;
    apr_status_t rv, read_rv = APR_SUCCESS;

    memset(res, 0, sizeof(*res));
    res->errors = apr_array_make(p, 8, sizeof(pm_roster_error));
    res->discharged_ids = apr_array_make(p, 8, sizeof(const char *));
    memset(&s, 0, sizeof(s));
    s.db = db;
    s.pool = p;
    s.o = o;
    s.res = res;
    s.seen = apr_hash_make(p);
    s.merged = apr_hash_make(p);
    s.moved = apr_hash_make(p);
    s.held = apr_array_make(p, 1, sizeof(held_entry));
    s.now = pm_arg_int(p, o->now);
    s.audit = apr_array_make(p, 16, sizeof(const char *const *));
    apr_pool_create(&s.batch, p);
    s.stage = pm_client_keys_stage_make(db, p, o->sorted_keys);
    s.sqlite = strcmp(pm_db_driver_name(db), "sqlite3") == 0;
    ps = pm_roster_parser_make(p, o, read, ctx, res->errors);
    s.ps = ps;
    res->notes = pm_roster_notes(ps);
    previous = pm_db_use_pool(db, s.batch);
    rv = take_turn(&s);
    if (rv == APR_SUCCESS) {
        rv = any_unnamed(&s);
    }
    if (rv == APR_SUCCESS) {
        rv = apply_all(&s, ps, &read_rv);
    }
    pm_db_use_pool(db, previous);
    apr_pool_destroy(s.batch);
    sort_errors(p, res->errors);
    return rv;
}

int pm_roster_may_commit(const pm_roster_options *o, const pm_roster_result *res)
{
    return res->errors->nelts == 0 || (o->skip_invalid && !res->broken);
}

apr_status_t pm_roster_disables_accounts(pm_db *db, int *disable)
{
    const char *v;

    if (pm_setting_stored(db, "disable_accounts_on_discharge", &v) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *disable = v != NULL && strcmp(v, "true") == 0;
    return APR_SUCCESS;
}
