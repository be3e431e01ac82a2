/* admin_main.c — portal-manager-admin's entry point: parses the command line
 * (database options, command, its arguments), opens the database and hands over
 * to the command. Also the small helpers every command uses. */
#include "admin.h"
#include "pm_charset.h"
#include "pm_sql.h"

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#ifndef PM_SCHEMA_DIR
#error "PM_SCHEMA_DIR must be defined (Makefile.am sets it to $(pkgdatadir)/schema)"
#endif

#define PROGRAM "portal-manager-admin"
/* the schema whose audit trail audit verify and export read (migration 011) */
#define AUDIT_CHAIN_SCHEMA 11
#define MAX_INPUT_FILE (64 * 1024 * 1024)

/* Which command-specific options a command accepts. */
#define OPT_SCHEMA_DIR     0x01
#define OPT_NAME           0x02
#define OPT_ALL_CLIENTS    0x04
#define OPT_NO_ALL_CLIENTS 0x08
#define OPT_FORMAT         0x10
#define OPT_DRY_RUN        0x20
#define OPT_DISCHARGE      0x40
#define OPT_IDENTIFIER     0x80
#define OPT_SYNC           (OPT_FORMAT | OPT_DRY_RUN | OPT_DISCHARGE | OPT_IDENTIFIER \
                            | OPT_ALLOW_MASS | OPT_SKIP_INVALID | OPT_ENCODING)
#define OPT_BEFORE         0x100
#define OPT_SECRET_FILE    0x200
#define OPT_RECIPIENT      0x400
#define OPT_EMAIL          0x800
#define OPT_NO_EMAIL       0x1000
#define OPT_ALLOW_MASS     0x2000
#define OPT_ANCHOR         0x4000
#define OPT_ANCHORS_FROM   0x8000
#define OPT_SKIP_INVALID   0x10000
#define OPT_ENCODING       0x20000
#define OPT_TO_DRIVER      0x40000
#define OPT_TO_PARAMS      0x80000

typedef struct {
    const char *group;
    const char *sub;      /* NULL for commands without a subcommand */
    int nargs;
    unsigned int opts;
    const char *usage;
} command_spec;

static const command_spec commands[] = {
    { "init", NULL, 0, OPT_SCHEMA_DIR, "init [--schema-dir DIR]" },
    { "staff", "add", 1, OPT_NAME | OPT_ALL_CLIENTS, "staff add USER [--name NAME] [--all-clients]" },
    { "staff", "update", 1,
      OPT_NAME | OPT_ALL_CLIENTS | OPT_NO_ALL_CLIENTS | OPT_EMAIL | OPT_NO_EMAIL,
      "staff update USER [--name NAME] [--all-clients | --no-all-clients] "
      "[--email ADDRESS | --no-email]" },
    { "staff", "grant", 2, 0, "staff grant USER CLIENT_ID" },
    { "staff", "revoke", 2, 0, "staff revoke USER CLIENT_ID" },
    { "staff", "disable", 1, 0, "staff disable USER" },
    { "staff", "enable", 1, 0, "staff enable USER" },
    { "staff", "list", 0, 0, "staff list" },
    { "staff", "sync-caseloads", 1, OPT_DRY_RUN, "staff sync-caseloads FILE.csv [--dry-run]" },
    { "clients", "import", 1, OPT_ENCODING, "clients import FILE.csv [--encoding CHARSET]" },
    { "clients", "list", 0, 0, "clients list" },
    { "clients", "sync", 1, OPT_SYNC,
      "clients sync FILE [--format csv|fhir] [--dry-run] [--discharge-missing "
      "[--allow-mass-discharge]] [--identifier-system URI] [--skip-invalid] "
      "[--encoding CHARSET]" },
    { "clients", "set-chart", 2, 0, "clients set-chart CLIENT_ID EXTERNAL_ID" },
    { "clients", "clear-chart", 1, 0, "clients clear-chart CLIENT_ID" },
    { "audit", "verify", 0, OPT_ANCHOR | OPT_ANCHORS_FROM,
      "audit verify [--anchor SEQ:HASH]... [--anchors-from FILE]" },
    { "audit", "export", 1, OPT_BEFORE, "audit export --before YYYY-MM-DD FILE" },
    { "audit", "prune", 1, OPT_BEFORE, "audit prune --before YYYY-MM-DD FILE" },
    { "bounce", NULL, 0, OPT_SECRET_FILE | OPT_RECIPIENT,
      "bounce --secret-file FILE [--recipient ADDRESS] < MESSAGE" },
    { "demo-data", NULL, 0, 0, "demo-data" },
    { "copy", NULL, 0, OPT_TO_DRIVER | OPT_TO_PARAMS,
      "copy --to-driver pgsql --to-params STRING" },
    { NULL, NULL, 0, 0, NULL }
};

static const char help_text[] =
"Usage: " PROGRAM " [--driver sqlite3|pgsql] [--params STRING] COMMAND [ARGS]\n"
"\n"
"Sets up and fills the database of mod_portal_manager (the Client Portal Manager).\n"
"The database is named the way httpd's mod_dbd names it:\n"
"\n"
"  --driver NAME     sqlite3 (default) or pgsql, as in DBDriver. Env: PM_DB_DRIVER\n"
"  --params STRING   as in DBDParams: the database file for sqlite3; a libpq\n"
"                    connection string for pgsql, e.g.\n"
"                    \"host=127.0.0.1 port=5432 dbname=portal user=portal\".\n"
"                    Env: PM_DB_PARAMS\n"
"  --help            this text\n"
"  --version         the version\n"
"\n"
"Commands:\n"
"  init [--schema-dir DIR]\n"
"      Create the schema in an empty database from DIR/sqlite.sql or\n"
"      DIR/postgresql.sql, then apply the numbered migrations\n"
"      DIR/migrations/DRIVER/NNN-name.sql (NNN = the version it upgrades to) that\n"
"      are newer than the database, each in its own transaction together with\n"
"      the schema_version update. An up-to-date database is left alone.\n"
"      DIR defaults to " PM_SCHEMA_DIR ".\n"
"\n"
"  staff add USER [--name NAME] [--all-clients]\n"
"      Add a staff member. USER is the user name Apache authenticates; NAME the\n"
"      display name (default USER). With --all-clients they may view every\n"
"      client, otherwise only the clients granted to them. This and every\n"
"      staff command below that changes something is audited (staff.*) as\n"
"      user 'admin-tool', with the system user who ran it (and SUDO_USER).\n"
"  staff update USER [--name NAME] [--all-clients | --no-all-clients]\n"
"               [--email ADDRESS | --no-email]\n"
"      Change a staff member's display name or all-clients permission, or the\n"
"      email address their notices about their clients go to (--no-email: none;\n"
"      how often, each chooses on the staff page).\n"
"  staff grant USER CLIENT_ID\n"
"      Let USER view the client with id CLIENT_ID.\n"
"  staff revoke USER CLIENT_ID\n"
"      Take that permission back.\n"
"  staff disable USER\n"
"      USER can no longer use the Client Portal Manager (grants are kept)\n"
"      and gets no more staff notices. Do it when someone leaves, besides\n"
"      removing them from the login source (htpasswd -D ...).\n"
"  staff enable USER\n"
"      Undo staff disable.\n"
"  staff list\n"
"      Tab-separated: username, display name, all_clients, active, number of\n"
"      granted clients, email (empty: none), notify (none, immediate, daily),\n"
"      last_seen (when the module last served them, UTC; or never).\n"
"  staff sync-caseloads FILE.csv [--dry-run]\n"
"      Make caseloads follow the EHR. FILE.csv's first line is exactly\n"
"          username,external_id\n"
"      and each row grants a staff member the client with that chart number.\n"
"      Every staff member named in the file ends up with exactly the file's\n"
"      clients (missing grants added, others removed); staff not named are left\n"
"      alone. An unknown user or chart number is an error and nothing changes.\n"
"      A discharged client is granted all the same (readmission keeps the\n"
"      caseload), with a note saying how many were. --dry-run lists the grants\n"
"      that would be added and removed (\"would grant USER EXTERNAL_ID\",\n"
"      \"would revoke ...\", at most 50 of each) and changes nothing.\n"
"      Last line: granted N, revoked N, unchanged N.\n"
"  clients import FILE.csv [--encoding CHARSET]\n"
"      Import clients from a CSV file (RFC 4180: quoted fields, \"\" for a quote,\n"
"      commas and line breaks inside quotes, CRLF or LF, optional UTF-8 BOM) whose\n"
"      first line is exactly\n"
"          first_name,last_name,date_of_birth,email\n"
"      Names: UTF-8 without control characters, 1-100 characters (a line break\n"
"      inside a quoted field becomes a space; spaces around a value are dropped).\n"
"      date_of_birth: a real YYYY-MM-DD date from 1900 to today.\n"
"      email: empty or a valid address. Blank lines are skipped. Every bad row is\n"
"      reported with its line number, and then nothing is imported: the import is\n"
"      all or nothing, in one transaction.\n"
"  clients list\n"
"      Tab-separated: id, last name, first name, date of birth, email.\n"
"      Audited (client.list, as 'admin-tool') before anything is printed.\n"
"  clients sync FILE [--format csv|fhir] [--dry-run]\n"
"               [--discharge-missing [--allow-mass-discharge]]\n"
"               [--identifier-system URI] [--skip-invalid] [--encoding CHARSET]\n"
"      Make the clients follow the EHR, matched by chart number (external_id).\n"
"      CSV (the default, unless FILE ends in .json): the first line is\n"
"          external_id,first_name,last_name,date_of_birth,email\n"
"      optionally followed by active and preferred_language in any order.\n"
"      FHIR: a FHIR R4 Bundle (JSON) of Patient resources: identifier (the one\n"
"      of --identifier-system, else the one typed MR, else the first untyped;\n"
"      never a Social Security number; a new one whose use-old identifier names\n"
"      a client moves that client's; a replaced-by Patient is skipped), the\n"
"      official name (else the first: given[0], family), birthDate, the\n"
"      first email telecom, active, communication language. A new chart\n"
"      number adds a client (or names the one client without a chart number\n"
"      with the same name and date of birth; one with the name and date of\n"
"      birth of an active client that has another chart number is a bad row:\n"
"      leading zeros Excel dropped?), a changed one is updated (email: letter\n"
"      case aside); an email change supersedes a pending\n"
"      invitation, as the staff's change button does; a client no longer\n"
"      active is discharged: pending invitations revoked, portal accounts\n"
"      disabled only if the setting disable_accounts_on_discharge is on.\n"
"      --discharge-missing also discharges active clients with a chart number\n"
"      the file does not name. It refuses a file that names no client, and a\n"
"      sync that would discharge more than half of the active clients with a\n"
"      chart number (when more than 10): a truncated export looks like that.\n"
"      If they really all left, add --allow-mass-discharge.\n"
"      All or nothing, in one transaction: every bad row is reported (CSV\n"
"      line, FHIR entry[i] counted from 0, and field) on standard error, with\n"
"      \"N problems in FILE; nothing was changed\", and nothing changes (no\n"
"      summary line, exit 1). The chart numbers discharged are listed (at most\n"
"      50 lines); --dry-run reports the same (\"would discharge EXTERNAL_ID\")\n"
"      and changes nothing. Changes are audited as user 'sync'. Last line:\n"
"          added N, updated N, unchanged N, discharged N\n"
"      --skip-invalid applies the good rows and reports the bad ones (they\n"
"      change nothing), unless the file as a whole cannot be read (its header,\n"
"      the Bundle itself): then nothing changes, as without it. With\n"
"      --discharge-missing, nobody is discharged when a row was skipped (the\n"
"      clients bad rows name cannot be told from the missing ones). The last\n"
"      line adds \", skipped N\"; exit 3 when something was left out (rows, or a\n"
"      discharge refused), 0 when nothing.\n"
"      --encoding (sync and import): the CSV file's character set when it is\n"
"      not UTF-8, e.g. windows-1252 for a spreadsheet saved as \"CSV (Comma\n"
"      delimited)\" on Windows (\"CSV UTF-8\" needs none); any name ICU knows.\n"
"  clients set-chart CLIENT_ID EXTERNAL_ID\n"
"      Give the client with id CLIENT_ID the chart number EXTERNAL_ID (or\n"
"      correct it), e.g. when several clients without a chart number share a\n"
"      name and date of birth and the sync cannot tell which one the EHR\n"
"      means. Refuses a chart number another client has. Audited as\n"
"      client.chart_number by user 'admin-tool'.\n"
"  clients clear-chart CLIENT_ID\n"
"      Take the chart number from client CLIENT_ID, e.g. from a duplicate a sync\n"
"      added when the EHR changed a client's chart number: then give the real\n"
"      client the number with set-chart. Audited as client.chart_number\n"
"      ({replaced, cleared}) by user 'admin-tool'.\n"
"\n"
"  demo-data\n"
"      Fill an empty database with the demo's staff (admin, clinician1,\n"
"      clinician2) and about 50 clients. Does nothing if the demo data is already\n"
"      there; refuses if the database holds other staff or clients.\n"
"\n"
"  copy --to-driver pgsql --to-params STRING\n"
"      Copy every table of this SQLite database (--driver sqlite3 --params\n"
"      FILE) into the PostgreSQL database STRING names (a libpq connection\n"
"      string, as in DBDParams), which init has just created and which holds no\n"
"      data (else it refuses and changes nothing). Run it as the target's owner;\n"
"      no superuser is needed. The source is read in one snapshot while httpd\n"
"      may go on serving it: rows written after the snapshot are not copied, so\n"
"      stop Apache (or staff use) first. The target is written in one\n"
"      transaction: its identity columns go on after the copied ids, both audit\n"
"      chains are verified and must end at the same head, else nothing is\n"
"      committed. Audited (database.copy, as 'admin-tool') on the target.\n"
"      Last line: copied N rows in S s: TABLE N, ...\n"
"      (README: Moving from SQLite to PostgreSQL.)\n"
"\n"
"  audit verify [--anchor SEQ:HASH]... [--anchors-from FILE]\n"
"      Check the audit trail's hash chain: every row written since schema 11\n"
"      carries the SHA-256 of the previous row's hash and its own content.\n"
"      Prints \"ok: N rows; head HASH\", or the id of the first row that was\n"
"      changed, follows a removed row, or was added outside the chain, or the\n"
"      append-only trigger that is missing, and exits 1. A chain shortened at\n"
"      its end still verifies on its own: give the heads kept outside the\n"
"      database, each --anchor SEQ:HASH, or FILE's \"audit chain head: seq N,\n"
"      hash H\" lines (PM00625, the module's error log): verify fails when the\n"
"      chain no longer holds place SEQ with that hash. An anchor a recorded\n"
"      audit prune removed is counted apart, not checked.\n"
"  audit export --before YYYY-MM-DD FILE\n"
"      Write the audit rows older than that day (00:00 UTC) to FILE (JSON\n"
"      lines; FILE must not exist yet): the rows from before the chain and the\n"
"      chain's longest beginning whose rows are all older, with the hash the\n"
"      next row links to. The chain is verified first.\n"
"  audit prune --before YYYY-MM-DD FILE\n"
"      Remove from the database exactly the rows that FILE (written by audit\n"
"      export --before the same day) holds, after checking FILE against the\n"
"      database and the chain, and only when the day is at least the setting\n"
"      audit_retention_days (default 2190: six years) ago. The last removed\n"
"      row becomes the chain's anchor, so audit verify still passes.\n"
"\n"
"  bounce --secret-file FILE [--recipient ADDRESS] < MESSAGE\n"
"      Read one returned message (a delivery status notification or a plain\n"
"      bounce) as a Postfix pipe transport or alias delivers it. Its recipient\n"
"      (--recipient, else $ORIGINAL_RECIPIENT or $RECIPIENT, else the\n"
"      X-Original-To, Delivered-To or To header) is the envelope sender the\n"
"      module gave the email with PortalMailBounceAddress: local+ID-MAC@domain.\n"
"      FILE is PortalTokenSecretFile's file (the MAC is checked with it). A\n"
"      permanent failure (5.x.x) marks the email bounced: staff see why, and no\n"
"      new email goes to that address until it changes; a delay, a 4.x.x or a\n"
"      full mailbox (5.2.2) is noted. Auto-replies, other mail and forged or\n"
"      unknown addresses are logged (syslog, mail facility) and dropped. Exit 0\n"
"      whatever the message was, 75 (EX_TEMPFAIL: the MTA keeps it and tries\n"
"      again) when it cannot be handled until the admin fixes something: the\n"
"      database cannot be reached, fails or needs init; FILE cannot be read;\n"
"      the command line is wrong.\n"
"\n"
"Exit status: 0 done, 1 failed (bad data, unknown staff member or client,\n"
"database error), 2 usage error, 3 done but something left out (clients sync\n"
"--skip-invalid: rows skipped, or a discharge refused), 75 bounce could not\n"
"handle the message yet. Errors go to standard error. Every command but init\n"
"(and audit verify and export, on a trail of schema 11 or later) refuses a\n"
"database at another schema than this tool's, " APR_STRINGIFY(PM_SCHEMA_VERSION) ": after an upgrade, run init.\n";

void admin_error(const char *fmt, ...)
{
    va_list ap;

    fputs(PROGRAM ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void admin_line_error(const char *file, unsigned int line, const char *fmt, va_list ap)
{
    fprintf(stderr, PROGRAM ": %s line %u: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

apr_int64_t admin_now(void)
{
    return apr_time_sec(apr_time_now());
}

int admin_check_encoding(const admin_options *o)
{
    if (o->encoding != NULL && !pm_charset_known(o->encoding)) {
        admin_error("--encoding %s: no such character set (for a spreadsheet saved on "
                    "Windows: windows-1252)", o->encoding);
        return ADMIN_USAGE;
    }
    return ADMIN_OK;
}

void admin_read_error(const admin_options *o, const char *file, apr_status_t rv)
{
    char msg[256];

    if (rv == PM_CHARSET_IS_UTF8) {
        admin_error("%s is UTF-8 already (it starts with UTF-8's byte-order mark, or its "
                    "accented letters are written as UTF-8 writes them): run it without "
                    "--encoding %s", file, o->encoding);
        return;
    }
    admin_error("cannot read %s: %s", file, apr_strerror(rv, msg, sizeof(msg)));
}

apr_status_t admin_read_text_file(apr_pool_t *p, const char *path, const char *encoding,
                                  char **buf, apr_size_t *len)
{
    apr_status_t rv = admin_read_file(p, path, buf, len);

    if (rv != APR_SUCCESS || encoding == NULL || pm_charset_is_utf8(encoding)) {
        return rv;
    }
    return pm_charset_convert(p, encoding, *buf, *len, buf, len);
}

apr_status_t admin_read_file(apr_pool_t *p, const char *path, char **buf, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;

    if ((rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f)) != APR_SUCCESS) {
        apr_file_close(f);
        return rv;
    }
    if (fi.filetype != APR_REG) {
        apr_file_close(f);
        return APR_EBADPATH;
    }
    if (fi.size > MAX_INPUT_FILE) {
        apr_file_close(f);
        return APR_ENOSPC;
    }
    *buf = apr_palloc(p, (apr_size_t)fi.size + 1);
    rv = apr_file_read_full(f, *buf, (apr_size_t)fi.size, len);
    apr_file_close(f);
    if (rv == APR_EOF && *len == 0 && fi.size == 0) {
        rv = APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        (*buf)[*len] = '\0';
    }
    return rv;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs(PROGRAM ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry '" PROGRAM " --help'.\n", stderr);
    return ADMIN_USAGE;
}

/* Matches --name VALUE and --name=VALUE; advances *i past the value. */
static int option_value(int argc, const char *const *argv, int *i, const char *name,
                        const char **value, int *missing)
{
    size_t n = strlen(name);

    if (strcmp(argv[*i], name) == 0) {
        if (*i + 1 >= argc) {
            *missing = 1;
            return 1;
        }
        *value = argv[++*i];
        return 1;
    }
    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    return 0;
}

typedef struct {
    admin_options o;
    apr_array_header_t *words;   /* command, subcommand and arguments */
    unsigned int opts_seen;
    int help, version;
} parsed_line;

/* An option that takes a value (--name VALUE): stored in the options, its bit seen. */
static int value_option(parsed_line *pl, int argc, const char *const *argv, int *i, int *missing)
{
    static const struct { const char *name; size_t field; int seen; } opts[] = {
        { "--driver", offsetof(admin_options, driver), 0 },     /* every command */
        { "--params", offsetof(admin_options, params), 0 },
        { "--schema-dir", offsetof(admin_options, schema_dir), OPT_SCHEMA_DIR },
        { "--name", offsetof(admin_options, display_name), OPT_NAME },
        { "--format", offsetof(admin_options, format), OPT_FORMAT },
        { "--identifier-system", offsetof(admin_options, identifier_system), OPT_IDENTIFIER },
        { "--before", offsetof(admin_options, before), OPT_BEFORE },
        { "--secret-file", offsetof(admin_options, secret_file), OPT_SECRET_FILE },
        { "--recipient", offsetof(admin_options, recipient), OPT_RECIPIENT },
        { "--email", offsetof(admin_options, email), OPT_EMAIL },
        { "--anchors-from", offsetof(admin_options, anchors_from), OPT_ANCHORS_FROM },
        { "--encoding", offsetof(admin_options, encoding), OPT_ENCODING },
        { "--to-driver", offsetof(admin_options, to_driver), OPT_TO_DRIVER },
        { "--to-params", offsetof(admin_options, to_params), OPT_TO_PARAMS },
    };
    size_t k;

    for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
        const char **value = (const char **)(void *)((char *)&pl->o + opts[k].field);
        if (option_value(argc, argv, i, opts[k].name, value, missing)) {
            pl->opts_seen |= opts[k].seen;
            return 1;
        }
    }
    return 0;
}

/* A flag (--dry-run): sets its int in the options, its bit seen. */
static int flag_option(parsed_line *pl, const char *a)
{
    static const struct { const char *name; size_t field; int value, seen; } flags[] = {
        { "--dry-run", offsetof(admin_options, dry_run), 1, OPT_DRY_RUN },
        { "--discharge-missing", offsetof(admin_options, discharge_missing), 1, OPT_DISCHARGE },
        { "--all-clients", offsetof(admin_options, all_clients), 1, OPT_ALL_CLIENTS },
        { "--no-all-clients", offsetof(admin_options, all_clients), 0, OPT_NO_ALL_CLIENTS },
        { "--no-email", offsetof(admin_options, no_email), 1, OPT_NO_EMAIL },
        { "--allow-mass-discharge", offsetof(admin_options, allow_mass_discharge), 1,
          OPT_ALLOW_MASS },
        { "--skip-invalid", offsetof(admin_options, skip_invalid), 1, OPT_SKIP_INVALID },
    };
    size_t k;

    for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
        if (strcmp(a, flags[k].name) == 0) {
            *(int *)(void *)((char *)&pl->o + flags[k].field) = flags[k].value;
            pl->opts_seen |= flags[k].seen;
            return 1;
        }
    }
    return 0;
}

/* --anchor SEQ:HASH, the one option that may be given more than once */
static int anchor_option(parsed_line *pl, apr_pool_t *p, int argc, const char *const *argv,
                         int *i, int *missing)
{
    const char *v = NULL;

    if (!option_value(argc, argv, i, "--anchor", &v, missing)) {
        return 0;
    }
    if (v != NULL) {
        if (pl->o.anchors == NULL) {
            pl->o.anchors = apr_array_make(p, 4, sizeof(const char *));
        }
        APR_ARRAY_PUSH(pl->o.anchors, const char *) = v;
    }
    pl->opts_seen |= OPT_ANCHOR;
    return 1;
}

static int parse_line(apr_pool_t *p, int argc, const char *const *argv, parsed_line *pl)
{
    int i, missing = 0, only_words = 0;

    memset(pl, 0, sizeof(*pl));
    pl->o.all_clients = -1;
    pl->words = apr_array_make(p, 4, sizeof(const char *));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (only_words || a[0] != '-' || a[1] == '\0') {
            APR_ARRAY_PUSH(pl->words, const char *) = a;
        }
        else if (strcmp(a, "--") == 0) {
            only_words = 1;
        }
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            pl->help = 1;
        }
        else if (strcmp(a, "--version") == 0) {
            pl->version = 1;
        }
        else if (!value_option(pl, argc, argv, &i, &missing) && !flag_option(pl, a)
                 && !anchor_option(pl, p, argc, argv, &i, &missing)) {
            return usage_error("unknown option %s", a);
        }
        if (missing) {
            return usage_error("option %s needs a value", a);
        }
    }
    if ((pl->opts_seen & OPT_ALL_CLIENTS) && (pl->opts_seen & OPT_NO_ALL_CLIENTS)) {
        return usage_error("--all-clients and --no-all-clients exclude each other");
    }
    if ((pl->opts_seen & OPT_EMAIL) && (pl->opts_seen & OPT_NO_EMAIL)) {
        return usage_error("--email and --no-email exclude each other");
    }
    return ADMIN_OK;
}

static const command_spec *find_command(const apr_array_header_t *words)
{
    const char *group = APR_ARRAY_IDX(words, 0, const char *);
    const char *sub = words->nelts > 1 ? APR_ARRAY_IDX(words, 1, const char *) : NULL;
    int i;

    for (i = 0; commands[i].group; i++) {
        if (strcmp(commands[i].group, group) == 0
            && (commands[i].sub == NULL || (sub && strcmp(commands[i].sub, sub) == 0))) {
            return &commands[i];
        }
    }
    return NULL;
}

static int group_known(const char *group)
{
    int i;

    for (i = 0; commands[i].group; i++) {
        if (strcmp(commands[i].group, group) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Picks the command and checks its arguments and options. */
static int resolve_command(parsed_line *pl, const command_spec **cmd)
{
    static const char *const option_names[] = {
        "--schema-dir", "--name", "--all-clients", "--no-all-clients", "--format",
        "--dry-run", "--discharge-missing", "--identifier-system", "--before",
        "--secret-file", "--recipient", "--email", "--no-email", "--allow-mass-discharge",
        "--anchor", "--anchors-from", "--skip-invalid", "--encoding", "--to-driver",
        "--to-params"
    };
    const char *group;
    int skip, i;

    if (pl->words->nelts == 0) {
        return usage_error("no command given");
    }
    group = APR_ARRAY_IDX(pl->words, 0, const char *);
    if ((*cmd = find_command(pl->words)) == NULL) {
        if (!group_known(group)) {
            return usage_error("unknown command '%s'", group);
        }
        if (pl->words->nelts > 1) {
            return usage_error("unknown %s command '%s'", group,
                               APR_ARRAY_IDX(pl->words, 1, const char *));
        }
        return usage_error("%s needs a subcommand", group);
    }
    skip = (*cmd)->sub ? 2 : 1;
    if (pl->words->nelts - skip != (*cmd)->nargs) {
        return usage_error("usage: " PROGRAM " %s", (*cmd)->usage);
    }
    for (i = 0; i < (int)(sizeof(option_names) / sizeof(option_names[0])); i++) {
        if ((pl->opts_seen & (1u << i)) && !((*cmd)->opts & (1u << i))) {
            return usage_error("%s does not apply to '%s'", option_names[i], (*cmd)->usage);
        }
    }
    pl->o.args = (const char **)pl->words->elts + skip;
    pl->o.nargs = (*cmd)->nargs;
    return ADMIN_OK;
}

/* --help after a command group (staff --help): the usage line and that group's
 * commands, each a line "  GROUP ..." and the lines indented under it. Anything
 * else: the whole text. */
static void print_help(const apr_array_header_t *words)
{
    const char *group = words->nelts ? APR_ARRAY_IDX(words, 0, const char *) : NULL;
    const char *line = help_text, *end;
    size_t n = group ? strlen(group) : 0;
    int in_group = 0;

    if (group == NULL || !group_known(group)) {
        fputs(help_text, stdout);
        return;
    }
    fwrite(help_text, 1, strcspn(help_text, "\n") + 1, stdout);
    fputs("\n", stdout);
    for (; *line; line = end + 1) {
        end = strchr(line, '\n');
        if (strncmp(line, "  ", 2) == 0 && line[2] != ' ') {
            in_group = strncmp(line + 2, group, n) == 0
                       && (line[2 + n] == ' ' || line[2 + n] == '\n');
        }
        else if (strncmp(line, "    ", 4) != 0) {
            in_group = 0;
        }
        if (in_group) {
            fwrite(line, 1, (size_t)(end - line) + 1, stdout);
        }
    }
    fputs("\nEvery command, the options and exit statuses: " PROGRAM " --help\n", stdout);
}

/* copy: from SQLite to PostgreSQL, both named */
static int resolve_copy_target(const command_spec *cmd, const admin_options *o)
{
    if (strcmp(cmd->group, "copy") != 0) {
        return ADMIN_OK;
    }
    if (o->to_driver == NULL || strcmp(o->to_driver, "pgsql") != 0
        || strcmp(o->driver, "sqlite3") != 0) {
        return usage_error("copy goes from --driver sqlite3 to --to-driver pgsql");
    }
    if (o->to_params == NULL || *o->to_params == '\0') {
        return usage_error("copy needs --to-params: the target's connection string");
    }
    return ADMIN_OK;
}

static int resolve_database(apr_pool_t *p, admin_options *o)
{
    if (o->driver == NULL) {
        o->driver = getenv("PM_DB_DRIVER");
    }
    if (o->driver == NULL || *o->driver == '\0') {
        o->driver = "sqlite3";
    }
    if (strcmp(o->driver, "sqlite3") != 0 && strcmp(o->driver, "pgsql") != 0) {
        return usage_error("unsupported driver '%s' (use sqlite3 or pgsql)", o->driver);
    }
    if (o->params == NULL) {
        o->params = getenv("PM_DB_PARAMS");
    }
    if (o->params == NULL || *o->params == '\0') {
        return usage_error("no database given: pass --params or set PM_DB_PARAMS");
    }
    if (o->schema_dir == NULL) {
        o->schema_dir = PM_SCHEMA_DIR;
    }
    return ADMIN_OK;
}

/* The oldest schema a command works on: audit verify and export only read the
 * chained trail, so a restored older backup can be checked before init; every
 * other command needs the schema this tool was built with. */
static int oldest_schema(const command_spec *cmd)
{
    if (strcmp(cmd->group, "audit") == 0 && strcmp(cmd->sub, "prune") != 0) {
        return AUDIT_CHAIN_SCHEMA;
    }
    return PM_SCHEMA_VERSION;
}

/* Every command but init needs an existing database at a schema it knows; do not
 * let sqlite3 create an empty file by accident, nor a command meet a column a
 * migration has yet to add (between dpkg -i and init) as a raw SQL error. */
static int require_schema(const command_spec *cmd, admin_db *db)
{
    int version;

    if (admin_db_schema_version(db, &version) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (version < 1) {
        admin_error("the database has no portal schema; run '" PROGRAM " init' first");
        return ADMIN_FAIL;
    }
    if (version > PM_SCHEMA_VERSION) {
        admin_error("the database is at schema %d, newer than this tool's %d (was the "
                    "package downgraded?): use the " PROGRAM " of the release that "
                    "upgraded it", version, PM_SCHEMA_VERSION);
        return ADMIN_FAIL;
    }
    if (version < oldest_schema(cmd)) {
        admin_error("the database is at schema %d and this tool needs %d: run " PROGRAM
                    " init (back the database up first: README, Upgrades)",
                    version, PM_SCHEMA_VERSION);
        return ADMIN_FAIL;
    }
    return ADMIN_OK;
}

/* SQLite: a database file the tool cannot reach is said as what it is. A missing
 * file is init's to make; one that is there but not ours to open (a 0750 www-data
 * directory) is not "missing". ADMIN_OK when the file may be opened. */
static int check_sqlite_file(apr_pool_t *p, const admin_options *o, int is_init)
{
    apr_finfo_t fi;
    apr_status_t rv;
    char msg[256];

    if (strcmp(o->driver, "sqlite3") != 0
        || (rv = apr_stat(&fi, o->params, APR_FINFO_TYPE, p)) == APR_SUCCESS
        || (APR_STATUS_IS_ENOENT(rv) && is_init)) {
        return ADMIN_OK;
    }
    if (APR_STATUS_IS_ENOENT(rv)) {
        admin_error("the database file %s does not exist; run '" PROGRAM " init' first",
                    o->params);
    }
    else if (APR_STATUS_IS_EACCES(rv) || rv == APR_FROM_OS_ERROR(EPERM)) {
        admin_error("cannot access %s: permission denied (run the tool as the user httpd "
                    "runs as, e.g. sudo -u www-data)", o->params);
    }
    else {
        admin_error("cannot access %s: %s", o->params, apr_strerror(rv, msg, sizeof(msg)));
    }
    return ADMIN_FAIL;
}

static int dispatch(admin_db *db, const command_spec *cmd, const admin_options *o)
{
    if (strcmp(cmd->group, "init") == 0) {
        return admin_cmd_init(db, o);
    }
    if (cmd->sub && strcmp(cmd->sub, "sync-caseloads") == 0) {
        return admin_cmd_staff_sync_caseloads(db, o);
    }
    if (cmd->sub && strcmp(cmd->group, "clients") == 0 && strcmp(cmd->sub, "sync") == 0) {
        return admin_cmd_clients_sync(db, o);
    }
    if (cmd->sub && strcmp(cmd->sub, "set-chart") == 0) {
        return admin_cmd_clients_set_chart(db, o);
    }
    if (cmd->sub && strcmp(cmd->sub, "clear-chart") == 0) {
        return admin_cmd_clients_clear_chart(db, o);
    }
    if (strcmp(cmd->group, "staff") == 0) {
        return admin_cmd_staff(db, cmd->sub, o);
    }
    if (strcmp(cmd->group, "clients") == 0) {
        return admin_cmd_clients(db, cmd->sub, o);
    }
    if (strcmp(cmd->group, "audit") == 0) {
        return admin_cmd_audit(db, cmd->sub, o);
    }
    if (strcmp(cmd->group, "bounce") == 0) {
        return admin_cmd_bounce(db, o);
    }
    if (strcmp(cmd->group, "copy") == 0) {
        return admin_cmd_copy(db, o);
    }
    return admin_cmd_demo_data(db, o);
}

static int run(apr_pool_t *p, int argc, const char *const *argv)
{
    parsed_line pl;
    const command_spec *cmd = NULL;
    admin_db *db;
    int is_init, rc, no_db;

    rc = parse_line(p, argc, argv, &pl);
    /* a bounce the command cannot handle yet waits in the mail queue for the fix */
    no_db = pl.words->nelts > 0 && strcmp(APR_ARRAY_IDX(pl.words, 0, const char *), "bounce") == 0
            ? ADMIN_TEMPFAIL : ADMIN_FAIL;
    if (rc != ADMIN_OK) {
        return no_db == ADMIN_TEMPFAIL ? no_db : rc;
    }
    if (pl.help) {
        print_help(pl.words);
        return ADMIN_OK;
    }
    if (pl.version) {
        printf(PROGRAM " (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
        return ADMIN_OK;
    }
    if ((rc = resolve_command(&pl, &cmd)) != ADMIN_OK
        || (rc = resolve_database(p, &pl.o)) != ADMIN_OK
        || (rc = resolve_copy_target(cmd, &pl.o)) != ADMIN_OK) {
        return no_db == ADMIN_TEMPFAIL ? no_db : rc;
    }
    is_init = strcmp(cmd->group, "init") == 0;
    if (is_init && admin_check_schema_dir(p, pl.o.driver, pl.o.schema_dir) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (check_sqlite_file(p, &pl.o, is_init) != ADMIN_OK
        || admin_db_open(p, pl.o.driver, pl.o.params, &db) != ADMIN_OK) {
        return no_db;
    }
    rc = (is_init || require_schema(cmd, db) == ADMIN_OK) ? dispatch(db, cmd, &pl.o) : no_db;
    admin_db_close(db);
    return rc;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    int rc;

    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS) {
        fputs(PROGRAM ": cannot initialise APR\n", stderr);
        return ADMIN_FAIL;
    }
    apr_pool_create(&p, NULL);
    rc = run(p, argc, argv);
    fflush(stdout);
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
