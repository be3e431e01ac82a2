/* pm_sql.c — the statement table. All SQL lives here so a reviewer can read every
 * query the module and portal-manager-admin can run in one place (the columns a
 * statement returns are in pm_columns.h, with the names its rows are read by);
 * nothing else builds SQL text. The admin tool's own statements are a section at
 * the end rather than a second table: one place to read, and it reuses the
 * module's statements where they say the same thing; kept past
 * PM_SQL_MODULE_COUNT (the module's part ends there) because some admin
 * statements read one driver's catalog. Schema and migration
 * scripts (conf/schema/) are run as files by the admin tool, not from here. */
#include "pm_sql.h"

#include <stddef.h>

/* a select list with its columns' names: "SELECT " COLUMNS(PM_COLS_STAFF) " FROM ..."
 * (pm_columns.h declares each set once) */
#define COLUMNS(set) PM_SELECT_LIST(set)
#define NCOLS(set) PM_NCOLS(set)

/* PostgreSQL: a turn to the end of the transaction (pg_advisory_xact_lock on a key of
 * ours), as a statement answering count 1; SQLite's write lock, taken at BEGIN, is the
 * turn there */
#define ADVISORY_TURN_SQL(key) \
    "SELECT " COLUMNS(PM_COLS_COUNT) " FROM (SELECT pg_advisory_xact_lock(" key ")) AS l"

/* keyset: strictly after the cursor's (sort_key, id); the list's order is the
 * ICU sort key of the collation_locale setting (pm_collate.c), ties by id */
#define AFTER_CURSOR \
    "(c.sort_key, c.id) > (%s, %lld) "

/* The Client dropdown and every search show active clients only (a discharged
 * client, clients.active = 0, is still reachable by id for its history).
 * A page is read in two steps: an inner query finds the page's ids in list order
 * (with sort_key), the page size its LIMIT (CAST(... AS integer): sqlite3's driver
 * binds every value as text); then the summary's lookups run for those rows only.
 * A search's inner query probes each candidate (active, the other query word), so
 * it stops at the page size. */
#define CLIENT_ORDER \
    "ORDER BY c.sort_key, c.id LIMIT CAST(%d AS integer)"
#define SUMMARY_OF_PAGE(inner) \
    "SELECT " COLUMNS(PM_COLS_CLIENT_SUMMARY) " FROM (" inner ") page " \
    "JOIN clients c ON c.id = page.id " PM_CLIENT_LATEST_INVITATION_JOIN \
    " ORDER BY page.sort_key, page.id"

/* A page whose inner query (in list order, LIMITed) already carries the client
 * columns of the summary as `c`: it selects these, from clients c or an index of
 * them */
#define COVERED_CLIENT_COLUMNS \
    "c.id, c.sort_key, c.first_name, c.last_name, c.date_of_birth, c.declined_at, " \
    "c.external_id "
#define SUMMARY_OF_COVERED_PAGE(inner) \
    "SELECT " COLUMNS(PM_COLS_CLIENT_SUMMARY) " FROM (" inner ") c " \
    PM_CLIENT_LATEST_INVITATION_JOIN " ORDER BY c.sort_key, c.id"

/* The unsearched list reads every client column the summary shows from the index
 * clients_active_list, and that inner query stands for `c` itself: no table page
 * is read per client (each audited write resets SQLite's page cache of every other
 * connection, so a page's cost is mostly the pages it reads). Its rows are found
 * under a constant cap, PM_SQL_PAGE_CAP, then cut to the page size: with the page
 * size as the inner LIMIT, PostgreSQL's generic plan assumed 10 % of the table and
 * hashed whole tables (42 ms); with the constant it probes per row (0.45 ms). */
#define SUMMARY_OF_INDEXED_ROWS(inner) \
    "SELECT " COLUMNS(PM_COLS_CLIENT_SUMMARY) " FROM (" \
    "  SELECT capped.* FROM (" inner " LIMIT " PM_SQL_PAGE_CAP_TEXT ") capped " \
    "  ORDER BY capped.sort_key, capped.id LIMIT CAST(%d AS integer)) c " \
    PM_CLIENT_LATEST_INVITATION_JOIN " ORDER BY c.sort_key, c.id"

/* the search's visibility test for client id x: the flag (1: staff who see every
 * client) or a staff_clients row for the username */
#define SEARCH_VISIBLE(x) \
    "(CAST(%d AS integer) = 1 OR EXISTS (SELECT 1 FROM staff_clients sc " \
    "      WHERE sc.username = %s AND sc.client_id = " x ")) "

/* A page of ids from a date or email search, in list order */
#define SEARCH_PAGE(match) \
    SUMMARY_OF_PAGE("SELECT c.id, c.sort_key FROM clients c WHERE " match \
                    "c.active = 1 AND " SEARCH_VISIBLE("c.id") "AND " AFTER_CURSOR CLIENT_ORDER)

/* Name words: client_name_prefixes holds, for each client, the match key of every
 * prefix of every name word (pm_collate.c), with a copy of the client's sort key.
 * A query word is then one equality, and its clients come out of the primary key
 * (prefix, sort_key, client_id) already in list order: a page reads its rows and
 * stops, however many clients share the prefix. Two query words look up the pair
 * key (the narrower word's prefix key, "-", the other word's initial), also in list
 * order, and probe the candidate's own keys for the other word whole (the primary
 * key again, with the candidate's sort key). Staff who see only their caseload walk
 * it in list order instead (CASELOAD_PAGE), probing each client's keys.
 * SQLite finds each candidate in clients_active_list by its sort key (+c.id keeps
 * the planner off the table's rowid), which also answers "active?" and carries
 * the summary's columns: a page's candidates are neighbours in list order, so
 * they share a few index pages, where their table rows sit on a page each, read
 * again after every commit (a 50-row search for "ma" at 100,000 clients: 95
 * pages, 41 this way). PostgreSQL's generic plan for that join hashed the whole
 * table (100 ms), so there each candidate is probed by id (its buffers are shared
 * and stay). */
#define PREFIX_PAGE_ALL(other_word) \
    SUMMARY_OF_COVERED_PAGE( \
        "SELECT " COVERED_CLIENT_COLUMNS \
        "FROM client_name_prefixes n JOIN clients c ON c.sort_key = n.sort_key " \
        "     AND +c.id = n.client_id AND c.active = 1 " \
        "WHERE n.prefix = %s AND " other_word("n.client_id", "n.sort_key") \
        "  (n.sort_key, n.client_id) > (%s, %lld) " \
        "ORDER BY n.sort_key, n.client_id LIMIT CAST(%d AS integer)")
#define PREFIX_PAGE_ALL_PGSQL(other_word) \
    SUMMARY_OF_PAGE("SELECT n.client_id AS id, n.sort_key FROM client_name_prefixes n " \
                    "WHERE n.prefix = %s AND " other_word("n.client_id", "n.sort_key") \
                    "  (SELECT c1.active FROM clients c1 WHERE c1.id = n.client_id) = 1 AND " \
                    "  (n.sort_key, n.client_id) > (%s, %lld) " \
                    "ORDER BY n.sort_key, n.client_id LIMIT CAST(%d AS integer)")
#define PREFIX_PAGE_MINE(other_word) \
    CASELOAD_PAGE(HAS_PREFIX("sc.client_id", "sc.sort_key") \
                  other_word("sc.client_id", "sc.sort_key"))
#define PREFIX_PAGE_MINE_PGSQL(other_word) \
    CASELOAD_PAGE_PGSQL(HAS_PREFIX("sc.client_id", "sc.sort_key") \
                        other_word("sc.client_id", "sc.sort_key"))
/* A page of the caseload of username %s whose clients pass filter, in list order:
 * staff_clients carries each client's sort key (migration 023's triggers keep it),
 * and staff_clients_in_order yields the caseload in list order, so a page reads its
 * rows and stops. Looking up every client of the caseload and sorting them cost a
 * clinician with 500 of 100,000 clients 80 ms a page under load (and PostgreSQL
 * sometimes walked every client in list order instead, probing the caseload).
 * Whether the client is active is asked as in the name search (above). */
#define CASELOAD_PAGE(filter) \
    SUMMARY_OF_COVERED_PAGE( \
        "SELECT " COVERED_CLIENT_COLUMNS \
        "FROM staff_clients sc JOIN clients c ON c.sort_key = sc.sort_key " \
        "     AND +c.id = sc.client_id AND c.active = 1 " \
        "WHERE sc.username = %s AND " filter "(sc.sort_key, sc.client_id) > (%s, %lld) " \
        "ORDER BY sc.sort_key, sc.client_id LIMIT CAST(%d AS integer)")
#define CASELOAD_PAGE_PGSQL(filter) \
    SUMMARY_OF_PAGE("SELECT sc.client_id AS id, sc.sort_key FROM staff_clients sc " \
                    "WHERE sc.username = %s AND " filter \
                    "  (SELECT c1.active FROM clients c1 WHERE c1.id = sc.client_id) = 1 AND " \
                    "  (sc.sort_key, sc.client_id) > (%s, %lld) " \
                    "ORDER BY sc.sort_key, sc.client_id LIMIT CAST(%d AS integer)")
/* client x has the key given (one row at most: a client's keys are unique). A scalar
 * subquery, not EXISTS: PostgreSQL's generic plan for a prepared statement turned the
 * EXISTS into a hash semi-join that first read every row of the key (17,010 for "j"
 * at 100,000 clients: 11 ms) where a probe per candidate costs microseconds. */
#define HAS_PREFIX(x, sk) \
    "(SELECT 1 FROM client_name_prefixes n2 WHERE n2.prefix = %s " \
    "        AND n2.sort_key = " sk " AND n2.client_id = " x ") = 1 AND "
#define NO_OTHER_WORD(x, sk) ""

/* A client (id x) is visible to an active staff member who sees all clients, or to
 * one with a staff_clients row for it. */
#define CLIENT_ID_VISIBLE_TO(x) \
    "(EXISTS (SELECT 1 FROM staff s WHERE s.username = %s AND s.active = 1 " \
    "         AND s.all_clients = 1) " \
    " OR EXISTS (SELECT 1 FROM staff_clients sc WHERE sc.username = %s " \
    "         AND sc.client_id = " x ")) "
#define CLIENT_VISIBLE_TO CLIENT_ID_VISIBLE_TO("c.id")
/* An outbox row whose client is x may be shown to a staff member (%s twice): one
 * with no client (a champion's test email), or one whose client they may view */
#define OUTBOX_CLIENT_VISIBLE_TO(x) \
    "(" x " IS NULL OR " CLIENT_ID_VISIBLE_TO(x) ") "
#define OUTBOX_VIEW_CLIENT "coalesce(i.client_id, o.client_id)"

/* Coming of age (pm_reviews.c): a representative's grant began while the client was
 * a minor if, on the day it began (PM_GRANT_BEGAN_AT) in the practice's zone, the
 * 18th birthday was still ahead. The database knows no zone, so the statements keep
 * the grants whose client was born after the day 18 years before the UTC day two
 * days before the grant began (a zone's day is at most one behind UTC's; a Feb 29
 * moves a day): every grant that began before the birthday, and only those up to
 * two days after it; pm_date_review_due decides. MINOR_AT_*(t): that date, text.
 * First, in integers only (cheap, where the dates' functions and the invitation's
 * lookup for each of 20,000 grants took 100 ms on PostgreSQL), the year: the 18th
 * birthday's year is not before the year of PM_GRANT_BEGAN_FLOOR less two days
 * (1970 plus the whole 366-day spans since: never more than the year, at most one
 * less for a century yet). That drops the grants of representatives added when the
 * client was an adult already (spouses, caregivers). */
#define MINOR_AT_SQLITE(t) "date(" t " - 172800, 'unixepoch', '-18 years')"
#define MINOR_AT_PGSQL(t) \
    "to_char(to_timestamp(" t " - 172800) AT TIME ZONE 'UTC' - interval '18 years', " \
    "        'YYYY-MM-DD')"
#define REVIEW_BEGAN_AS_MINOR(minor_at) \
    "CAST(substr(c.date_of_birth, 1, 4) AS integer) + 18 " \
    "  >= 1970 + (" PM_GRANT_BEGAN_FLOOR " - 172800) / 31622400 " \
    "AND c.date_of_birth > " minor_at(PM_GRANT_BEGAN_AT) " "
#define REVIEW_CANDIDATES(minor_at) \
    "SELECT " COLUMNS(PM_COLS_REVIEW) " FROM " PM_REVIEW_FROM \
    " WHERE g.status = 'active' AND g.review_decision IS NULL " \
    "  AND a.status = 'active' AND c.active = 1 " \
    "  AND (c.date_of_birth < %s OR (c.date_of_birth = %s AND g.id > %lld)) " \
    "  AND " REVIEW_BEGAN_AS_MINOR(minor_at) \
    "  AND " CLIENT_VISIBLE_TO " ORDER BY c.date_of_birth DESC, g.id " \
    "LIMIT " PM_SQL_REVIEW_PAGE_TEXT
#define MAJORITY_CANDIDATES(minor_at) \
    "SELECT " COLUMNS(PM_COLS_REVIEW) " FROM " PM_REVIEW_FROM \
    " WHERE g.status = 'active' AND g.review_decision IS NULL " \
    "  AND g.representative_id IS NOT NULL AND c.date_of_birth <= %s " \
    "  AND " REVIEW_BEGAN_AS_MINOR(minor_at) " AND g.id > %lld " \
    "ORDER BY g.id LIMIT " PM_SQL_MAJORITY_PAGE_TEXT

/* a pending invitation that is past its expiry, or whose latest email failed; a
 * pending password reset too (a new invitation means no active account is left) */
#define STALE_PENDING \
    "  AND (kind = 'reset' OR expires_at <= %lld OR EXISTS (SELECT 1 FROM outbox o " \
    "       WHERE o.invitation_id = invitations.id AND o.status = 'failed' " \
    "         AND o.id = (SELECT max(o2.id) FROM outbox o2 " \
    "                     WHERE o2.invitation_id = invitations.id)))"

/* PM_SQL_KEY_SET_ROWS rows of (client id, sort key, prefixes) */
#define KEY_SET_ROW "(%lld, %s, %s)"
#define KEY_SET_ROWS_2 KEY_SET_ROW ", " KEY_SET_ROW
#define KEY_SET_ROWS_4 KEY_SET_ROWS_2 ", " KEY_SET_ROWS_2
#define KEY_SET_ROWS_8 KEY_SET_ROWS_4 ", " KEY_SET_ROWS_4
#define KEY_SET_ROWS_16 KEY_SET_ROWS_8 ", " KEY_SET_ROWS_8
/* text arguments, for IN lists */
#define TEXT_ARGS_4 "%s, %s, %s, %s"
#define TEXT_ARGS_16 TEXT_ARGS_4 ", " TEXT_ARGS_4 ", " TEXT_ARGS_4 ", " TEXT_ARGS_4
#define TEXT_ARGS_32 TEXT_ARGS_16 ", " TEXT_ARGS_16
/* PM_SQL_NEW_CLIENTS rows of a new client's 11 values */
#define NEW_CLIENT_ROW "(%s, %s, %s, %s, %s, %d, %s, %lld, %lld, %s, %s)"
#define NEW_CLIENT_ROWS_4 NEW_CLIENT_ROW ", " NEW_CLIENT_ROW ", " NEW_CLIENT_ROW ", " NEW_CLIENT_ROW
#define NEW_CLIENT_ROWS_16 NEW_CLIENT_ROWS_4 ", " NEW_CLIENT_ROWS_4 ", " NEW_CLIENT_ROWS_4 ", " \
    NEW_CLIENT_ROWS_4
/* rows of one text column, for VALUES */
#define VALUES_4 "(%s), (%s), (%s), (%s)"
#define VALUES_16 VALUES_4 ", " VALUES_4 ", " VALUES_4 ", " VALUES_4
#define VALUES_32 VALUES_16 ", " VALUES_16
/* PM_SQL_STAGE_ROWS rows of (prefix, sort key, client id) */
#define STAGE_ROW "(%s, %s, %lld)"
#define STAGE_ROWS_2 STAGE_ROW ", " STAGE_ROW
#define STAGE_ROWS_4 STAGE_ROWS_2 ", " STAGE_ROWS_2
#define STAGE_ROWS_8 STAGE_ROWS_4 ", " STAGE_ROWS_4
#define STAGE_ROWS_16 STAGE_ROWS_8 ", " STAGE_ROWS_8
#define STAGE_ROWS_32 STAGE_ROWS_16 ", " STAGE_ROWS_16
#define STAGE_ROWS_64 STAGE_ROWS_32 ", " STAGE_ROWS_32

/* one value of an audit row's canonical form (pm_audit_chain_hash): its length in
 * bytes, ':', the value and a newline, or "-" and a newline for NULL */
#define SQL_CHAIN_VALUE(x) \
    "coalesce(CAST(octet_length(" x ") AS text) || ':' || " x ", '-') || chr(10)"

/* a row's hash (pm_audit_chain_hash in SQL): the canonical form of the row whose
 * values are the columns of v, at place seq after the hash prev */
#define SQL_CHAIN_HASH(prev, seq, v) \
    "encode(sha256(convert_to('11:pm-audit-v1' || chr(10) || " SQL_CHAIN_VALUE(prev) \
    "  || " SQL_CHAIN_VALUE("CAST(" seq " AS text)") \
    "  || " SQL_CHAIN_VALUE("CAST(" v ".at AS text)") " || " SQL_CHAIN_VALUE(v ".username") \
    "  || " SQL_CHAIN_VALUE(v ".action") " || " SQL_CHAIN_VALUE("CAST(" v ".client_id AS text)") \
    "  || " SQL_CHAIN_VALUE("CAST(" v ".object_id AS text)") " || " SQL_CHAIN_VALUE(v ".result") \
    "  || " SQL_CHAIN_VALUE(v ".detail") " || " SQL_CHAIN_VALUE(v ".remote_ip") \
    "  || " SQL_CHAIN_VALUE(v ".request_id") ", 'UTF8')), 'hex')"

#define SQL_CHAIN_APPEND_PGSQL(cond) \
    "WITH v (at, username, action, client_id, object_id, result, detail, remote_ip, " \
    "        request_id) AS (VALUES (CAST(%lld AS bigint), CAST(%s AS text), " \
    "  CAST(%s AS text), CAST(%lld AS bigint), CAST(%lld AS bigint), CAST(%s AS text), " \
    "  CAST(%s AS text), CAST(%s AS text), CAST(%s AS text))), " \
    "head AS (UPDATE audit_chain h SET seq = h.seq + 1, hash = " \
    SQL_CHAIN_HASH("h.hash", "h.seq + 1", "v") \
    "  FROM v WHERE h.id = 1" cond " RETURNING h.seq, h.hash) " \
    "INSERT INTO audit_log (at, username, action, client_id, object_id, result, detail, " \
    "                       remote_ip, request_id, chain_seq, row_hash) " \
    "SELECT v.at, v.username, v.action, v.client_id, v.object_id, v.result, v.detail, " \
    "       v.remote_ip, v.request_id, head.seq, head.hash FROM v, head"

/* a group of rows in one statement: %s is a JSON array of rows, each the nine values
 * as JSON strings or null (see PM_SQL_AUDIT_CHAIN_APPEND_GROUP_PGSQL) */
#define SQL_CHAIN_APPEND_GROUP_PGSQL(cond) \
    "WITH RECURSIVE r (ord, at, username, action, client_id, object_id, result, detail, " \
    "  remote_ip, request_id) AS (SELECT x.ord, CAST(x.e->>0 AS bigint), x.e->>1, x.e->>2, " \
    "  CAST(x.e->>3 AS bigint), CAST(x.e->>4 AS bigint), x.e->>5, x.e->>6, x.e->>7, x.e->>8 " \
    "  FROM json_array_elements(CAST(%s AS json)) WITH ORDINALITY AS x (e, ord)), " \
    "h AS (SELECT seq, hash FROM audit_chain WHERE id = 1" cond " FOR UPDATE), " \
    "c (ord, seq, hash) AS (SELECT CAST(0 AS bigint), h.seq, h.hash FROM h " \
    "  UNION ALL SELECT r.ord, c.seq + 1, " SQL_CHAIN_HASH("c.hash", "c.seq + 1", "r") \
    "  FROM c JOIN r ON r.ord = c.ord + 1), " \
    "moved AS (UPDATE audit_chain SET seq = l.seq, hash = l.hash " \
    "  FROM (SELECT seq, hash FROM c ORDER BY ord DESC LIMIT 1) l WHERE audit_chain.id = 1) " \
    "INSERT INTO audit_log (at, username, action, client_id, object_id, result, detail, " \
    "                       remote_ip, request_id, chain_seq, row_hash) " \
    "SELECT r.at, r.username, r.action, r.client_id, r.object_id, r.result, r.detail, " \
    "       r.remote_ip, r.request_id, c.seq, c.hash FROM r JOIN c ON c.ord = r.ord"

static pm_sql_stmt statements[PM_SQL_COUNT] = {
    /* a write that touches nothing: makes SQLite take its write lock at BEGIN */
    [PM_SQL_TXN_WRITE_LOCK] = { "pm_txn_write_lock",
        "UPDATE schema_version SET version = version WHERE 1 = 0" },
    [PM_SQL_SETTINGS_ALL] = { "pm_settings_all",
        "SELECT " COLUMNS(PM_COLS_SETTING) " FROM settings", NCOLS(PM_COLS_SETTING) },

    [PM_SQL_STAFF_GET] = { "pm_staff_get",
        "SELECT " COLUMNS(PM_COLS_STAFF) " FROM staff WHERE username = %s",
        NCOLS(PM_COLS_STAFF) },
    /* the row lock (PostgreSQL) of an active staff member: PUT /me/preferences before
     * their own notices choice (none, immediate, daily; the schema's CHECK), and a
     * champion's test email before its hourly count, so their sends take turns */
    [PM_SQL_STAFF_LOCK_ROW] = { "pm_staff_lock_row",
        "UPDATE staff SET notify = notify WHERE username = %s AND active = 1" },
    /* turned on after none: the notices start from now, not from where they stopped */
    [PM_SQL_STAFF_SET_NOTIFY] = { "pm_staff_set_notify",
        "UPDATE staff SET notify = %s, "
        "       notices_after = CASE WHEN notify = 'none' THEN NULL ELSE notices_after END "
        "WHERE username = %s AND active = 1" },
    /* Apache authenticated this staff member (a request of theirs was served): run
     * only when the row read says last_seen_at is NULL or older than a day
     * (pm_api_staff.c), and a no-op when a parallel request did it first */
    [PM_SQL_STAFF_SEEN] = { "pm_staff_seen",
        "UPDATE staff SET last_seen_at = %lld "
        "WHERE username = %s AND (last_seen_at IS NULL OR last_seen_at <= %lld)" },

    [PM_SQL_CLIENT_LIST_ALL] = { "pm_client_list_all",
        SUMMARY_OF_INDEXED_ROWS("SELECT " COVERED_CLIENT_COLUMNS "FROM clients c "
                                "WHERE c.active = 1 AND " AFTER_CURSOR
                                "ORDER BY c.sort_key, c.id"),
        NCOLS(PM_COLS_CLIENT_SUMMARY) },
    /* a caseload is sorted by its keys only */
    [PM_SQL_CLIENT_LIST_MINE] = { "pm_client_list_mine",
        CASELOAD_PAGE(""), NCOLS(PM_COLS_CLIENT_SUMMARY), .driver = "sqlite3" },
    [PM_SQL_CLIENT_LIST_MINE_PGSQL] = { "pm_client_list_mine_pgsql",
        CASELOAD_PAGE_PGSQL(""), NCOLS(PM_COLS_CLIENT_SUMMARY), .driver = "pgsql" },
    /* Search (pm_api_client_list.c). Name words: one or two query words (the C code
     * checks that each query word sits on a different name word, and any further
     * words) ... */
    [PM_SQL_CLIENT_SEARCH_WORD_ALL] = { "pm_client_search_word_all",
        PREFIX_PAGE_ALL(NO_OTHER_WORD), NCOLS(PM_COLS_CLIENT_SUMMARY), .driver = "sqlite3" },
    [PM_SQL_CLIENT_SEARCH_WORD_ALL_PGSQL] = { "pm_client_search_word_all_pgsql",
        PREFIX_PAGE_ALL_PGSQL(NO_OTHER_WORD), NCOLS(PM_COLS_CLIENT_SUMMARY), .driver = "pgsql" },
    /* ... two (the C code checks that each query word sits on a different name
     * word, and any further words) ... */
    [PM_SQL_CLIENT_SEARCH_WORDS_ALL] = { "pm_client_search_words_all",
        PREFIX_PAGE_ALL(HAS_PREFIX), NCOLS(PM_COLS_CLIENT_SUMMARY), .driver = "sqlite3" },
    [PM_SQL_CLIENT_SEARCH_WORDS_ALL_PGSQL] = { "pm_client_search_words_all_pgsql",
        PREFIX_PAGE_ALL_PGSQL(HAS_PREFIX), NCOLS(PM_COLS_CLIENT_SUMMARY), .driver = "pgsql" },
    /* ... the same for staff who see their caseload only (username first) ... */
    [PM_SQL_CLIENT_SEARCH_WORD_MINE] = { "pm_client_search_word_mine",
        PREFIX_PAGE_MINE(NO_OTHER_WORD), NCOLS(PM_COLS_CLIENT_SUMMARY), .driver = "sqlite3" },
    [PM_SQL_CLIENT_SEARCH_WORD_MINE_PGSQL] = { "pm_client_search_word_mine_pgsql",
        PREFIX_PAGE_MINE_PGSQL(NO_OTHER_WORD), NCOLS(PM_COLS_CLIENT_SUMMARY),
        .driver = "pgsql" },
    [PM_SQL_CLIENT_SEARCH_WORDS_MINE] = { "pm_client_search_words_mine",
        PREFIX_PAGE_MINE(HAS_PREFIX), NCOLS(PM_COLS_CLIENT_SUMMARY), .driver = "sqlite3" },
    [PM_SQL_CLIENT_SEARCH_WORDS_MINE_PGSQL] = { "pm_client_search_words_mine_pgsql",
        PREFIX_PAGE_MINE_PGSQL(HAS_PREFIX), NCOLS(PM_COLS_CLIENT_SUMMARY), .driver = "pgsql" },
    /* the others: the visibility flag (1: staff who see every client) and username,
     * then the match, the cursor and the page size. ... */
    /* ... a date of birth, exact ... */
    [PM_SQL_CLIENT_SEARCH_BIRTH] = { "pm_client_search_birth",
        SEARCH_PAGE("c.date_of_birth = %s AND "), NCOLS(PM_COLS_CLIENT_SUMMARY) },
    /* ... an email address, exact but for case (index clients_by_email) */
    [PM_SQL_CLIENT_SEARCH_EMAIL] = { "pm_client_search_email",
        SEARCH_PAGE("lower(c.email) = lower(%s) AND "), NCOLS(PM_COLS_CLIENT_SUMMARY) },
    /* ... a chart number (clients.external_id, the EHR's): the text as typed, in
     * capitals and in small letters (ASCII), each one probe of the unique index
     * clients_by_external_id (its "IS NOT NULL" spelled out for SQLite's partial
     * index): at most three clients, whatever the search text is also taken for.
     * They are found first, under their own LIMIT: without it PostgreSQL walked
     * clients_active_list in list order for the page's ORDER BY ... LIMIT,
     * filtering every client by its chart number (45 ms at 20,000 clients). */
    [PM_SQL_CLIENT_SEARCH_CHART] = { "pm_client_search_chart",
        SUMMARY_OF_PAGE("SELECT c.id, c.sort_key FROM (SELECT x.id FROM clients x "
                        "  WHERE x.external_id IN (%s, %s, %s) AND x.external_id IS NOT NULL "
                        "  LIMIT 3) chart JOIN clients c ON c.id = chart.id "
                        "WHERE c.active = 1 AND " SEARCH_VISIBLE("c.id") "AND " AFTER_CURSOR
                        CLIENT_ORDER),
        NCOLS(PM_COLS_CLIENT_SUMMARY) },

    /* Name keys (pm_client_keys.c): rows without a sort key (new from another
     * program, a name changed by one, or a changed collation_locale), oldest first */
    [PM_SQL_CLIENT_KEYS_MISSING] = { "pm_client_keys_missing",
        "SELECT " COLUMNS(PM_COLS_UNKEYED) " FROM clients WHERE sort_key IS NULL "
        "ORDER BY id LIMIT CAST(%d AS integer)", NCOLS(PM_COLS_UNKEYED) },
    /* only a row still without a key: a concurrent filler's work is not redone */
    [PM_SQL_CLIENT_KEYS_SET_SORT] = { "pm_client_keys_set_sort",
        "UPDATE clients SET sort_key = %s, sort_locale = %s WHERE id = %lld AND sort_key IS NULL" },
    /* a client's keys as they were made (a renamed client's rows are found again
     * from these, by the primary key: client_name_prefixes has no index by client) */
    [PM_SQL_CLIENT_KEYS_SET_GET] = { "pm_client_keys_set_get",
        "SELECT " COLUMNS(PM_COLS_KEY_SET) " FROM client_name_key_sets WHERE client_id = %lld",
        NCOLS(PM_COLS_KEY_SET) },
    [PM_SQL_CLIENT_KEYS_SET_DELETE] = { "pm_client_keys_set_delete",
        "DELETE FROM client_name_key_sets WHERE client_id = %lld" },
    /* PM_SQL_KEY_SET_ROWS rows of (client id, sort key, prefixes separated by spaces),
     * NULL in every column of an unused row */
    [PM_SQL_CLIENT_KEYS_SET_ADD] = { "pm_client_keys_set_add",
        "INSERT INTO client_name_key_sets (client_id, sort_key, prefixes) "
        "SELECT v.column1, v.column2, v.column3 FROM (VALUES " KEY_SET_ROWS_16 ") v "
        "WHERE v.column1 IS NOT NULL" },
    /* up to PM_SQL_DROP_PREFIXES of one client's rows, each a primary-key probe */
    [PM_SQL_CLIENT_KEYS_DROP_PREFIXES] = { "pm_client_keys_drop_prefixes",
        "DELETE FROM client_name_prefixes WHERE client_id = %lld AND sort_key = %s "
        "AND prefix IN (" TEXT_ARGS_32 ")" },
    /* a new collation_locale: every sort key in another locale is computed again */
    [PM_SQL_CLIENT_KEYS_FORGET_LOCALE] = { "pm_client_keys_forget_locale",
        "UPDATE clients SET sort_key = NULL "
        "WHERE sort_key IS NOT NULL AND (sort_locale IS NULL OR sort_locale <> %s)" },
    /* search keys: PM_SQL_STAGE_ROWS rows of (prefix, sort key, client id), NULL in
     * every column of an unused row; the admin tool's bulk writes stage them instead
     * (PM_SQL_CLIENT_KEYS_STAGE below) */
    [PM_SQL_CLIENT_KEYS_ADD] = { "pm_client_keys_add",
        "INSERT INTO client_name_prefixes (prefix, sort_key, client_id) "
        "SELECT v.column1, v.column2, v.column3 FROM (VALUES " STAGE_ROWS_64 ") v "
        "WHERE v.column1 IS NOT NULL" },

    /* the summary, then the view's details */
    [PM_SQL_CLIENT_GET_VISIBLE] = { "pm_client_get_visible",
        "SELECT " COLUMNS(PM_COLS_CLIENT_SUMMARY) ", " COLUMNS(PM_COLS_CLIENT_DETAIL)
        " FROM clients c " PM_CLIENT_LATEST_INVITATION_JOIN
        " WHERE c.id = %lld AND " CLIENT_VISIBLE_TO,
        NCOLS(PM_COLS_CLIENT_SUMMARY) + NCOLS(PM_COLS_CLIENT_DETAIL) },

    /* is the client active (not discharged)? read inside the invitation's transaction */
    [PM_SQL_CLIENT_ACTIVE_FLAG] = { "pm_client_active_flag",
        "SELECT " COLUMNS(PM_COLS_CLIENT_FLAG) " FROM clients WHERE id = %lld",
        NCOLS(PM_COLS_CLIENT_FLAG) },

    [PM_SQL_CLIENT_INVITATIONS] = { "pm_client_invitations",
        "SELECT " COLUMNS(PM_COLS_INV)
        " FROM invitations i "
        "LEFT JOIN outbox o ON o.id = (SELECT max(o2.id) FROM outbox o2 "
        "   WHERE o2.invitation_id = i.id) "
        "WHERE i.client_id = %lld AND i.kind = 'invite' ORDER BY i.id DESC", NCOLS(PM_COLS_INV) },

    [PM_SQL_CLIENT_REPRESENTATIVES] = { "pm_client_representatives",
        "SELECT " COLUMNS(PM_COLS_REP)
        " FROM representatives r WHERE r.client_id = %lld AND r.removed_at IS NULL "
        "ORDER BY r.id", NCOLS(PM_COLS_REP) },

    [PM_SQL_CLIENT_SET_EMAIL] = { "pm_client_set_email",
        "UPDATE clients SET email = %s, updated_at = %lld WHERE id = %lld" },
    /* an open (pending or locked) invitation to a different address than the new
     * one is superseded: nothing is ever sent again to an old address */
    [PM_SQL_CLIENT_SUPERSEDE_PENDING] = { "pm_client_supersede_pending",
        "UPDATE invitations SET status = 'superseded', responded_at = %lld "
        "WHERE client_id = %lld AND representative_id IS NULL "
        "  AND status IN ('pending', 'locked') "
        "  AND lower(email) <> lower(%s)" },
    [PM_SQL_CLIENT_SET_DECLINED] = { "pm_client_set_declined",
        "UPDATE clients SET declined_at = %lld, declined_by = %s, declined_note = %s, "
        "       updated_at = %lld WHERE id = %lld" },
    [PM_SQL_CLIENT_CLEAR_DECLINED] = { "pm_client_clear_declined",
        "UPDATE clients SET declined_at = NULL, declined_by = NULL, declined_note = NULL, "
        "       updated_at = %lld WHERE id = %lld" },
    [PM_SQL_CLIENT_REVOKE_PENDING] = { "pm_client_revoke_pending",
        "UPDATE invitations SET status = 'revoked', responded_at = %lld "
        "WHERE client_id = %lld AND representative_id IS NULL "
        "  AND status IN ('pending', 'locked')" },
    /* takes the client's row lock (PostgreSQL) before an invitation is written, so
     * an email change or "client declined" cannot slip in between the checks and
     * the write; on SQLite the transaction already holds the write lock */
    [PM_SQL_CLIENT_LOCK_ROW] = { "pm_client_lock_row",
        "UPDATE clients SET updated_at = updated_at WHERE id = %lld" },
    [PM_SQL_CLIENT_SET_PREFERENCES] = { "pm_client_set_preferences",
        "UPDATE clients SET statement_notifications = %d, updated_at = %lld WHERE id = %lld" },

    /* before a new client invitation: an expired one, or one whose delivery
     * failed, steps aside (its link will answer "superseded") */
    [PM_SQL_INVITATION_SUPERSEDE_STALE_CLIENT] = { "pm_invitation_supersede_stale_client",
        "UPDATE invitations SET status = 'superseded', responded_at = %lld "
        "WHERE client_id = %lld AND representative_id IS NULL AND status = 'pending' "
        STALE_PENDING },
    /* the partial unique index keeps one pending invitation per recipient;
     * a racing second insert does nothing and returns no id */
    [PM_SQL_INVITATION_INSERT] = { "pm_invitation_insert",
        "INSERT INTO invitations (client_id, representative_id, email, status, created_by, "
        "                         created_at, expires_at) "
        "VALUES (%lld, %lld, %s, 'pending', %s, %lld, %lld) "
        "ON CONFLICT DO NOTHING RETURNING " COLUMNS(PM_COLS_INSERTED), NCOLS(PM_COLS_INSERTED) },
    [PM_SQL_INVITATION_GET_VISIBLE] = { "pm_invitation_get_visible",
        "SELECT " COLUMNS(PM_COLS_VISIBLE_INV)
        " FROM invitations i JOIN clients c ON c.id = i.client_id "
        "WHERE i.id = %lld AND i.kind = 'invite' AND " CLIENT_VISIBLE_TO,
        NCOLS(PM_COLS_VISIBLE_INV) },
    [PM_SQL_INVITATION_ONE] = { "pm_invitation_one",
        "SELECT " COLUMNS(PM_COLS_INV)
        " FROM invitations i "
        "LEFT JOIN outbox o ON o.id = (SELECT max(o2.id) FROM outbox o2 "
        "   WHERE o2.invitation_id = i.id) "
        "WHERE i.id = %lld", NCOLS(PM_COLS_INV) },
    /* what a resend depends on, read inside its transaction (pm_columns.h) */
    [PM_SQL_INVITATION_RESEND_STATE] = { "pm_invitation_resend_state",
        "SELECT " COLUMNS(PM_COLS_RESEND_STATE)
        " FROM invitations i WHERE i.id = %lld", NCOLS(PM_COLS_RESEND_STATE) },
    /* a new token and expiry for a pending invitation; the same rules as
     * RESEND_STATE are repeated here so the write itself can never break them.
     * A locked invitation is never re-armed, and the attempts already used stay. */
    [PM_SQL_INVITATION_RESEND] = { "pm_invitation_resend",
        "UPDATE invitations SET token_hash = NULL, expires_at = %lld "
        "WHERE id = %lld AND status = 'pending' "
        "  AND CASE WHEN representative_id IS NULL "
        "        THEN EXISTS (SELECT 1 FROM clients c WHERE c.id = invitations.client_id "
        "               AND c.declined_at IS NULL AND lower(c.email) = lower(invitations.email)) "
        "        ELSE EXISTS (SELECT 1 FROM representatives r "
        "               WHERE r.id = invitations.representative_id AND r.removed_at IS NULL "
        "                 AND lower(r.email) = lower(invitations.email)) END "
        "  AND NOT EXISTS (SELECT 1 FROM account_grants g "
        "       JOIN portal_accounts a ON a.id = g.account_id "
        "       WHERE g.client_id = invitations.client_id AND a.status = 'active' "
        "         AND g.status = 'active' "
        "         AND coalesce(g.representative_id, 0) = coalesce(invitations.representative_id, 0))" },
    [PM_SQL_INVITATION_REVOKE] = { "pm_invitation_revoke",
        "UPDATE invitations SET status = 'revoked', responded_at = %lld "
        "WHERE id = %lld AND status IN ('pending', 'locked')" },
    /* the row first: a worker storing its send's token holds it until its batch
     * commits, and the token read after that is the one to move aside (read
     * before, the worker's token would be cleared without being retired); the
     * worker takes it first too (store_token), so neither waits for the other's
     * moved-aside hash while holding the row */
    [PM_SQL_INVITATION_LOCK_ROW] = { "pm_invitation_lock_row",
        "UPDATE invitations SET status = status WHERE id = %lld" },
    /* the current token's hash moves aside so its link can say "superseded"; it
     * may be there already (a send repeated after a resend made its token current
     * again, see pm_token_retire_other), which is not an error */
    [PM_SQL_TOKEN_RETIRE] = { "pm_token_retire",
        "INSERT INTO superseded_tokens (token_hash, invitation_id, superseded_at) "
        "SELECT token_hash, id, %lld FROM invitations "
        "WHERE id = %lld AND token_hash IS NOT NULL ON CONFLICT DO NOTHING" },

    /* a new invitation makes every earlier link to the same recipient answer
     * "superseded" (a declined or revoked one too) — but an accepted one keeps
     * answering "already used" with the sign-in page: its person has a login, and a
     * password reset for it (kind reset) is no newer invitation; keyed on the new
     * invitation */
#define SAME_RECIPIENT_EARLIER \
        "WHERE e.id < n.id AND e.client_id = n.client_id " \
        "  AND coalesce(e.representative_id, 0) = coalesce(n.representative_id, 0) " \
        "  AND e.token_hash IS NOT NULL AND e.status <> 'accepted'"
    [PM_SQL_TOKENS_RETIRE_EARLIER] = { "pm_tokens_retire_earlier",
        "INSERT INTO superseded_tokens (token_hash, invitation_id, superseded_at) "
        "SELECT e.token_hash, e.id, %lld FROM invitations e "
        "JOIN invitations n ON n.id = %lld " SAME_RECIPIENT_EARLIER
        " ON CONFLICT DO NOTHING" },
    [PM_SQL_TOKENS_CLEAR_EARLIER] = { "pm_tokens_clear_earlier",
        "UPDATE invitations SET token_hash = NULL WHERE id IN ("
        "  SELECT e.id FROM invitations e JOIN invitations n ON n.id = %lld "
        SAME_RECIPIENT_EARLIER ")" },

    /* a resend replaces an email still waiting: only the newest link goes out */
    [PM_SQL_OUTBOX_CANCEL_QUEUED] = { "pm_outbox_cancel_queued",
        "UPDATE outbox SET status = 'failed', "
        "       last_error = 'not sent: replaced by a newer email' "
        "WHERE invitation_id = %lld AND status = 'queued' AND lease_until IS NULL" },
    [PM_SQL_OUTBOX_INSERT] = { "pm_outbox_insert",
        "INSERT INTO outbox (invitation_id, message_id, token_nonce, status, attempts, "
        "                    next_attempt_at, created_at) "
        "VALUES (%lld, %s, %s, 'queued', 0, %lld, %lld)" },
    [PM_SQL_OUTBOX_INSERT_TEST] = { "pm_outbox_insert_test",
        "INSERT INTO outbox (purpose, to_address, language, message_id, status, attempts, "
        "                    next_attempt_at, created_at) "
        "VALUES (%s, %s, %s, %s, 'queued', 0, %lld, %lld) RETURNING " COLUMNS(PM_COLS_INSERTED),
        NCOLS(PM_COLS_INSERTED) },

    /* The notice of an address change (issue 14): before a new address %s is stored,
     * the address on file gets a notice when it is another address and the person has
     * an active portal account — the client's own login, or for a representative a
     * login of its own or one whose active grant is as this representative. No row:
     * no notice. Arguments: Message-ID, now, now, the person's id, the new address
     * (NULL: none). The worker reads the first name and language at sending. */
#define ADDRESS_NOTICE_TO(col) \
    "  AND " col " IS NOT NULL AND " col " <> '' " \
    "  AND lower(" col ") <> lower(coalesce(%s, '')) "
#define ADDRESS_NOTICE_CLIENT_FROM \
    "FROM clients c WHERE c.id = %lld " ADDRESS_NOTICE_TO("c.email") \
    "  AND EXISTS (SELECT 1 FROM portal_accounts a WHERE a.client_id = c.id " \
    "              AND a.representative_id IS NULL AND a.status = 'active')"
#define ADDRESS_NOTICE_REP_FROM \
    "FROM representatives r WHERE r.id = %lld AND r.removed_at IS NULL " \
    ADDRESS_NOTICE_TO("r.email") \
    "  AND EXISTS (SELECT 1 FROM portal_accounts a WHERE a.status = 'active' " \
    "              AND (a.representative_id = r.id OR EXISTS (SELECT 1 FROM account_grants g " \
    "                   WHERE g.account_id = a.id AND g.representative_id = r.id " \
    "                   AND g.status = 'active')))"
    [PM_SQL_ADDRESS_NOTICE_CLIENT] = { "pm_address_notice_client",
        "INSERT INTO outbox (purpose, client_id, to_address, message_id, status, attempts, "
        "                    next_attempt_at, created_at) "
        "SELECT 'address_notice', c.id, c.email, %s, 'queued', 0, %lld, %lld "
        ADDRESS_NOTICE_CLIENT_FROM },
    [PM_SQL_ADDRESS_NOTICE_REP] = { "pm_address_notice_rep",
        "INSERT INTO outbox (purpose, client_id, representative_id, to_address, message_id, "
        "                    status, attempts, next_attempt_at, created_at) "
        "SELECT 'address_notice', r.client_id, r.id, r.email, %s, 'queued', 0, %lld, %lld "
        ADDRESS_NOTICE_REP_FROM },
    /* Staff withheld the notice (notify_old_address false, a confidential address):
     * would one have gone? Only then does the audit say it was withheld. Arguments:
     * the person's id, the new address. */
    [PM_SQL_ADDRESS_NOTICE_CLIENT_DUE] = { "pm_address_notice_client_due",
        "SELECT " COLUMNS(PM_COLS_NOTICE_DUE) " " ADDRESS_NOTICE_CLIENT_FROM,
        NCOLS(PM_COLS_NOTICE_DUE) },
    [PM_SQL_ADDRESS_NOTICE_REP_DUE] = { "pm_address_notice_rep_due",
        "SELECT " COLUMNS(PM_COLS_NOTICE_DUE) " " ADDRESS_NOTICE_REP_FROM,
        NCOLS(PM_COLS_NOTICE_DUE) },

    /* The delivery worker (pm_outbox.c). A pass claims up to a batch of due rows
     * under its own claim token with a lease; every later statement of the pass
     * names that token, so rows another worker took over (the lease ran out) are
     * never renewed, sent, recorded or released by this one. The outer conditions
     * repeat the inner ones: on PostgreSQL a claim that waited for another's row
     * lock re-reads them on the row as the other left it.
     * SQLite: the batch is read down outbox_unsent (status, id), oldest first,
     * stopping at the batch's last row; planned without statistics, SQLite took
     * outbox_due's range of every due row and sorted all of them by id, under the
     * write lock the claim holds (6-15 ms at 24,000 due; under 0.1 ms now). The
     * index's condition is repeated so that it can be named. */
    [PM_SQL_OUTBOX_CLAIM] = { "pm_outbox_claim",
        "UPDATE outbox SET claim_token = %s, lease_until = %lld "
        "WHERE id IN (SELECT id FROM outbox INDEXED BY outbox_unsent "
        "             WHERE status = 'queued' AND status <> 'sent' AND next_attempt_at <= %lld "
        "               AND (lease_until IS NULL OR lease_until < %lld) "
        "             ORDER BY id LIMIT CAST(%d AS integer)) "
        "  AND status = 'queued' AND (lease_until IS NULL OR lease_until < %lld)",
        .driver = "sqlite3" },
    /* PostgreSQL: the same, skipping rows another server's worker is claiming this
     * moment, so several servers on one database take disjoint batches instead of
     * racing for the same first rows (prepared by the module on its PostgreSQL
     * connections, pm_store.c). The batch is picked once, in a MATERIALIZED CTE:
     * as "id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)" the planner may run the
     * subquery again for each row it joins, and each run skips the rows the last one
     * locked and picks the next n (measured: one claim of 20 took all 500 due rows,
     * and every message then renewed 500 leases) */
    [PM_SQL_OUTBOX_CLAIM_PGSQL] = { "pm_outbox_claim_pgsql",
        "WITH picked AS MATERIALIZED ("
        "  SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= %lld "
        "    AND (lease_until IS NULL OR lease_until < %lld) "
        "  ORDER BY id LIMIT CAST(%d AS integer) FOR UPDATE SKIP LOCKED) "
        "UPDATE outbox SET claim_token = %s, lease_until = %lld FROM picked "
        "WHERE outbox.id = picked.id",
        .driver = "pgsql" },
    /* the pace (setting max_emails_per_minute): what every worker of every server on
     * this database has used of the last minute: emails sent since %lld (partial
     * index outbox_by_sent_at) and emails claimed and still held at %lld (now; partial
     * index outbox_by_claim), which go out before their senders next count. SQLite is
     * told the indexes: it plans without statistics and would read every email ever
     * sent down outbox_due's status (14 ms at 100,000 sent, each pass, under the
     * write lock; t/unit/test_sql_columns.c checks the plans) */
#define SQL_OUTBOX_PACE_USED(by_sent_at, by_claim) \
    "SELECT " COLUMNS(PM_COLS_COUNT) " FROM (" \
    "  SELECT id FROM outbox " by_sent_at "WHERE status = 'sent' AND sent_at >= %lld " \
    "  UNION ALL SELECT id FROM outbox " by_claim "WHERE claim_token IS NOT NULL " \
    "    AND status = 'queued' AND lease_until >= %lld) AS used"
    [PM_SQL_OUTBOX_PACE_USED] = { "pm_outbox_pace_used",
        SQL_OUTBOX_PACE_USED("INDEXED BY outbox_by_sent_at ", "INDEXED BY outbox_by_claim "),
        NCOLS(PM_COLS_COUNT), .driver = "sqlite3" },
    [PM_SQL_OUTBOX_PACE_USED_PGSQL] = { "pm_outbox_pace_used_pgsql",
        SQL_OUTBOX_PACE_USED("", ""), NCOLS(PM_COLS_COUNT), .driver = "pgsql" },
    /* claims take turns, so the pace a claim counts is not also being spent by
     * another server's claim */
    [PM_SQL_OUTBOX_PACE_LOCK] = { "pm_outbox_pace_lock", ADVISORY_TURN_SQL("7070517601"),
        NCOLS(PM_COLS_COUNT), .driver = "pgsql" },
    /* when the next pass has work: the earliest time a queued email that no pass
     * holds at %lld (now) comes due (NULL: none); outbox_due serves it */
    [PM_SQL_OUTBOX_NEXT_DUE] = { "pm_outbox_next_due",
        "SELECT " COLUMNS(PM_COLS_NEXT_DUE) " FROM outbox WHERE status = 'queued' "
        "AND (lease_until IS NULL OR lease_until < %lld)",
        NCOLS(PM_COLS_NEXT_DUE) },
    /* how many queued emails no pass holds are due at %lld (now), counted up to %d:
     * how a drain shares them among its connections */
    [PM_SQL_OUTBOX_DUE_COUNT] = { "pm_outbox_due_count",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM (SELECT id FROM outbox WHERE status = 'queued' "
        "  AND next_attempt_at <= %lld AND (lease_until IS NULL OR lease_until < %lld) "
        "  LIMIT CAST(%d AS integer)) AS due",
        NCOLS(PM_COLS_COUNT) },
    /* the claimed rows with what the email needs */
    [PM_SQL_OUTBOX_DUE] = { "pm_outbox_due",
        "SELECT " COLUMNS(PM_COLS_DUE)
        " FROM outbox o LEFT JOIN invitations i ON i.id = o.invitation_id "
        "LEFT JOIN clients c ON c.id = coalesce(i.client_id, o.client_id) "
        "LEFT JOIN representatives r ON r.id = coalesce(i.representative_id, o.representative_id) "
        "WHERE o.claim_token = %s AND o.status = 'queued' ORDER BY o.id",
        NCOLS(PM_COLS_DUE) },
    /* before each message: renew the lease of every row still held and charge
     * the attempt (and its own Message-ID) to the one about to go; the worker
     * goes on only when the count is every row it expects to hold */
    [PM_SQL_OUTBOX_HOLD] = { "pm_outbox_hold",
        "UPDATE outbox SET lease_until = %lld, "
        "       attempts = attempts + CASE WHEN id = %lld THEN 1 ELSE 0 END, "
        "       message_id = CASE WHEN id = %lld THEN %s ELSE message_id END "
        "WHERE claim_token = %s AND status = 'queued'" },
    /* the same for the one row about to be sent, between two renewals of them all */
    [PM_SQL_OUTBOX_HOLD_ONE] = { "pm_outbox_hold_one",
        "UPDATE outbox SET lease_until = %lld, attempts = attempts + 1, message_id = %s "
        "WHERE id = %lld AND claim_token = %s AND status = 'queued'" },
    /* give back what this pass holds and did not send (stopping, lease lost, relay
     * down): no backoff; the attempt of row %lld (0: none) is refunded because no
     * email was tried; a reason, when given, is what staff see meanwhile */
    [PM_SQL_OUTBOX_RELEASE] = { "pm_outbox_release",
        "UPDATE outbox SET lease_until = NULL, claim_token = NULL, "
        "       attempts = attempts - CASE WHEN id = %lld THEN 1 ELSE 0 END, "
        "       last_error = coalesce(%s, last_error) "
        "WHERE claim_token = %s AND status = 'queued'" },
    /* the current token moves aside only when this send brings a different one
     * (the same send repeated keeps its link) */
    /* a hash retired once already (rapid resends: an earlier send's token made
     * current again by its repeat) stays retired; the insert is not an error */
    [PM_SQL_TOKEN_RETIRE_OTHER] = { "pm_token_retire_other",
        "INSERT INTO superseded_tokens (token_hash, invitation_id, superseded_at) "
        "SELECT token_hash, id, %lld FROM invitations "
        "WHERE id = %lld AND token_hash IS NOT NULL AND token_hash <> %s "
        "AND status = 'pending' ON CONFLICT DO NOTHING" },
    [PM_SQL_INVITATION_SET_TOKEN] = { "pm_invitation_set_token",
        "UPDATE invitations SET token_hash = %s WHERE id = %lld AND status = 'pending'" },
    /* send_count: emails that may have gone out, counted when the DATA content
     * starts (so a crash before the reply still counts) and taken back when the
     * server refuses the message at the end of DATA */
    [PM_SQL_INVITATION_COUNT_SEND] = { "pm_invitation_count_send",
        "UPDATE invitations SET send_count = send_count + 1 WHERE id = %lld" },
    [PM_SQL_INVITATION_UNCOUNT_SEND] = { "pm_invitation_uncount_send",
        "UPDATE invitations SET send_count = send_count - 1 WHERE id = %lld AND send_count > 0" },
    /* outcomes, each right after its SMTP reply, only on rows the pass still holds */
    [PM_SQL_OUTBOX_SENT] = { "pm_outbox_sent",
        "UPDATE outbox SET status = 'sent', sent_at = %lld, lease_until = NULL, "
        "       claim_token = NULL, last_error = NULL WHERE id = %lld AND claim_token = %s" },
    /* a retried email that had been given up on (its email.failed row, found through
     * the client's audit rows): its delivery is worth a word to staff */
    [PM_SQL_OUTBOX_FAILED_BEFORE] = { "pm_outbox_failed_before",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM audit_log WHERE client_id = %lld "
        "  AND action = 'email.failed' AND object_id = %lld", NCOLS(PM_COLS_COUNT) },
    [PM_SQL_INVITATION_SENT] = { "pm_invitation_sent",
        "UPDATE invitations SET sent_at = %lld WHERE id = %lld" },
    [PM_SQL_OUTBOX_RETRY] = { "pm_outbox_retry",
        "UPDATE outbox SET next_attempt_at = %lld, lease_until = NULL, claim_token = NULL, "
        "       last_error = %s WHERE id = %lld AND claim_token = %s" },
    [PM_SQL_OUTBOX_FAILED] = { "pm_outbox_failed",
        "UPDATE outbox SET status = 'failed', lease_until = NULL, claim_token = NULL, "
        "       last_error = %s WHERE id = %lld AND claim_token = %s" },
    /* while the queue is held: the emails that came due meanwhile show why they wait */
    [PM_SQL_OUTBOX_HOLD_WAITING] = { "pm_outbox_hold_waiting",
        "UPDATE outbox SET last_error = %s "
        "WHERE status = 'queued' AND last_error IS NULL AND next_attempt_at <= %lld" },

    /* representatives: the unique index allows one live row per email and client */
    [PM_SQL_REP_INSERT] = { "pm_rep_insert",
        "INSERT INTO representatives (client_id, email, first_name, last_name, relationship, "
        "                             preferred_language, created_by, created_at, scopes, "
        "                             access_starts_at, access_ends_at) "
        "VALUES (%lld, %s, %s, %s, %s, %s, %s, %lld, %s, %lld, %lld) "
        "ON CONFLICT DO NOTHING RETURNING " COLUMNS(PM_COLS_INSERTED), NCOLS(PM_COLS_INSERTED) },
    [PM_SQL_REP_GET_VISIBLE] = { "pm_rep_get_visible",
        "SELECT " COLUMNS(PM_COLS_VISIBLE_REP)
        " FROM representatives r JOIN clients c ON c.id = r.client_id "
        "LEFT JOIN invitations i ON i.id = (SELECT max(i2.id) FROM invitations i2 "
        "   WHERE i2.representative_id = r.id AND i2.kind = 'invite') "
        "LEFT JOIN outbox o ON o.id = (SELECT max(o2.id) FROM outbox o2 "
        "   WHERE o2.invitation_id = i.id) "
        "WHERE r.id = %lld AND r.removed_at IS NULL AND " CLIENT_VISIBLE_TO,
        NCOLS(PM_COLS_VISIBLE_REP) },
    [PM_SQL_REP_EMAIL_TAKEN] = { "pm_rep_email_taken",
        "SELECT " COLUMNS(PM_COLS_TAKEN)
        " FROM representatives WHERE client_id = %lld AND lower(email) = lower(%s) "
        "AND removed_at IS NULL AND id <> %lld", NCOLS(PM_COLS_TAKEN) },
    [PM_SQL_REP_UPDATE] = { "pm_rep_update",
        "UPDATE representatives SET email = %s, first_name = %s, last_name = %s, "
        "       relationship = %s, preferred_language = %s, scopes = %s, "
        "       access_starts_at = %lld, access_ends_at = %lld "
        "WHERE id = %lld AND removed_at IS NULL" },
    /* a representative's access, as staff changed it, on its accounts' active grants */
    [PM_SQL_REP_GRANTS_UPDATE] = { "pm_rep_grants_update",
        "UPDATE account_grants SET scopes = %s, starts_at = %lld, ends_at = %lld "
        "WHERE representative_id = %lld AND status = 'active'" },
    [PM_SQL_REP_SUPERSEDE_PENDING] = { "pm_rep_supersede_pending",
        "UPDATE invitations SET status = 'superseded', responded_at = %lld "
        "WHERE representative_id = %lld AND status IN ('pending', 'locked') "
        "  AND lower(email) <> lower(%s)" },
    [PM_SQL_REP_REMOVE] = { "pm_rep_remove",
        "UPDATE representatives SET removed_at = %lld WHERE id = %lld AND removed_at IS NULL" },
    [PM_SQL_REP_REVOKE_OPEN] = { "pm_rep_revoke_open",
        "UPDATE invitations SET status = 'revoked', responded_at = %lld "
        "WHERE representative_id = %lld AND status IN ('pending', 'locked')" },
    /* removing a representative ends its grants, then disables the accounts that
     * reach nothing else (a login linked to another client keeps that client) */
    [PM_SQL_REP_END_GRANTS] = { "pm_rep_end_grants",
        "UPDATE account_grants SET status = 'ended', ended_at = %lld, ended_by = %s, "
        "       end_reason = 'representative_removed' "
        "WHERE representative_id = %lld AND status = 'active'" },
    /* the rows of the logins the removal may disable, before the statement that reads
     * their other grants: a login being joined to another client meanwhile
     * (pm_op_accept_linked holds its row) is read after that commits, with its new
     * grant; read before, the disable's re-check saw the row and not the grant */
    [PM_SQL_REP_LOCK_ACCOUNTS] = { "pm_rep_lock_accounts",
        "UPDATE portal_accounts SET status = status "
        "WHERE status = 'active' AND id IN (SELECT g.account_id FROM account_grants g "
        "                                   WHERE g.representative_id = %lld)" },
    [PM_SQL_REP_DISABLE_ACCOUNTS] = { "pm_rep_disable_accounts",
        "UPDATE portal_accounts SET status = 'disabled', disabled_at = %lld, disabled_by = %s "
        "WHERE status = 'active' AND id IN (SELECT g.account_id FROM account_grants g "
        "                                   WHERE g.representative_id = %lld) "
        "  AND NOT EXISTS (SELECT 1 FROM account_grants o "
        "                  WHERE o.account_id = portal_accounts.id AND o.status = 'active')" },
    [PM_SQL_INVITATION_SUPERSEDE_STALE_REP] = { "pm_invitation_supersede_stale_rep",
        "UPDATE invitations SET status = 'superseded', responded_at = %lld "
        "WHERE representative_id = %lld AND status = 'pending' "
        STALE_PENDING },

    /* recipient side: the invitation a link names (pm_columns.h) */
    [PM_SQL_TOKEN_FIND] = { "pm_token_find",
        "SELECT " COLUMNS(PM_COLS_TOKEN)
        " FROM invitations i JOIN clients c ON c.id = i.client_id "
        "LEFT JOIN representatives r ON r.id = i.representative_id "
        "LEFT JOIN portal_accounts a ON a.id = i.account_id "
        "WHERE i.token_hash = %s", NCOLS(PM_COLS_TOKEN) },
    /* a retired token: its invitation, and how that one ended */
    [PM_SQL_TOKEN_SUPERSEDED] = { "pm_token_superseded",
        "SELECT " COLUMNS(PM_COLS_RETIRED_TOKEN)
        " FROM superseded_tokens s JOIN invitations i ON i.id = s.invitation_id "
        "JOIN clients c ON c.id = i.client_id "
        "LEFT JOIN representatives r ON r.id = i.representative_id "
        "WHERE s.token_hash = %s", NCOLS(PM_COLS_RETIRED_TOKEN) },
    /* Date-of-birth attempts are reserved before anything is compared: the
     * reservation is the statement that checks the budget (one row lock / the
     * SQLite write lock), so parallel requests cannot compare more dates than the
     * budget allows. First the invitation's own budget ... */
    [PM_SQL_VERIFY_RESERVE_INVITATION] = { "pm_verify_reserve_invitation",
        "UPDATE invitations SET verify_failures = verify_failures + 1 "
        "WHERE id = %lld AND status = 'pending' AND token_hash = %s AND expires_at > %lld "
        "  AND verify_failures < CAST(%d AS integer)" },
    /* ... then the client's, shared by all its invitations; the comparison rides on
     * the reservation: 1 = the date matches, 0 = it does not (NULL date: 0) */
    [PM_SQL_VERIFY_RESERVE_CLIENT] = { "pm_verify_reserve_client",
        "UPDATE clients SET verify_failures = verify_failures + 1 "
        "WHERE id = %lld AND verify_failures < CAST(%d AS integer) "
        "RETURNING " COLUMNS(PM_COLS_RESERVED), NCOLS(PM_COLS_RESERVED) },
    /* a password reset link's: the date of any client its login reaches now */
    [PM_SQL_VERIFY_RESERVE_RESET] = { "pm_verify_reserve_reset",
        "UPDATE clients SET verify_failures = verify_failures + 1 "
        "WHERE id = %lld AND verify_failures < CAST(%d AS integer) "
        "RETURNING " COLUMNS(PM_COLS_RESERVED_RESET), NCOLS(PM_COLS_RESERVED_RESET) },
    /* a matching date gives both reserved attempts back */
    [PM_SQL_VERIFY_REFUND_INVITATION] = { "pm_verify_refund_invitation",
        "UPDATE invitations SET verify_failures = verify_failures - 1 "
        "WHERE id = %lld AND verify_failures > 0" },
    [PM_SQL_VERIFY_REFUND_CLIENT] = { "pm_verify_refund_client",
        "UPDATE clients SET verify_failures = verify_failures - 1 "
        "WHERE id = %lld AND verify_failures > 0" },
    /* an invitation whose budget is spent is locked; returns its attempts */
    [PM_SQL_VERIFY_LOCK_INVITATION] = { "pm_verify_lock_invitation",
        "UPDATE invitations SET status = CASE WHEN status = 'pending' "
        "       AND verify_failures >= CAST(%d AS integer) THEN 'locked' ELSE status END "
        "WHERE id = %lld RETURNING " COLUMNS(PM_COLS_LOCKED), NCOLS(PM_COLS_LOCKED) },
    /* a client whose budget is spent: every open invitation of it is locked */
    [PM_SQL_VERIFY_LOCK_CLIENT] = { "pm_verify_lock_client",
        "UPDATE invitations SET status = 'locked' "
        "WHERE client_id = %lld AND status = 'pending' "
        "  AND (SELECT c.verify_failures FROM clients c WHERE c.id = %lld) "
        "      >= CAST(%d AS integer)" },
    /* an accepted invitation or a new one from staff gives the client its budget back */
    [PM_SQL_VERIFY_RESET_CLIENT] = { "pm_verify_reset_client",
        "UPDATE clients SET verify_failures = 0 WHERE id = %lld AND verify_failures <> 0" },
    /* consuming a token: exactly one request can move it out of pending */
    [PM_SQL_INVITATION_CONSUME] = { "pm_invitation_consume",
        "UPDATE invitations SET status = %s, responded_at = %lld "
        "WHERE id = %lld AND status = 'pending' AND token_hash = %s AND expires_at > %lld" },
    [PM_SQL_ACCOUNT_INSERT] = { "pm_account_insert",
        "INSERT INTO portal_accounts (username, password_hash, client_id, representative_id, "
        "                             invitation_id, status, created_at) "
        "VALUES (%s, %s, %lld, %lld, %lld, 'active', %lld) "
        "ON CONFLICT DO NOTHING RETURNING " COLUMNS(PM_COLS_INSERTED), NCOLS(PM_COLS_INSERTED) },
    /* a linked account's grant on another client, as the representative the
     * invitation named, with the scopes and dates staff gave that representative (an
     * account's grant on its own client is the trigger's, migration 017) */
    [PM_SQL_GRANT_INSERT] = { "pm_grant_insert",
        "INSERT INTO account_grants (account_id, client_id, representative_id, scopes, "
        "                            starts_at, ends_at, created_at) "
        "SELECT %lld, %lld, r.id, coalesce(r.scopes, 'messages billing forms appointments'), "
        "       r.access_starts_at, r.access_ends_at, %lld "
        "FROM (SELECT 1 AS one) x LEFT JOIN representatives r ON r.id = %lld" },
    /* the login a link joins, locked while the link is consumed and still active: a
     * disable committed meanwhile leaves nothing to lock (PostgreSQL waits for it and
     * reads the row again; on SQLite the transaction already holds the write lock) */
    [PM_SQL_ACCOUNT_LOCK_ACTIVE] = { "pm_account_lock_active",
        "UPDATE portal_accounts SET status = status WHERE id = %lld AND status = 'active'" },

    /* one login for a parent of two children in care: the account a representative
     * invitation may link to — an active login used as some representative at the
     * invitation's address: any representative record, not removed, whose active
     * grant is this login's (its home one or one it was linked through; a removed
     * representative's address is no longer theirs to vouch for) */
    [PM_SQL_ACCOUNT_LINKABLE] = { "pm_account_linkable",
        "SELECT " COLUMNS(PM_COLS_LINKABLE)
        " FROM portal_accounts a JOIN clients hc ON hc.id = a.client_id "
        "WHERE lower(a.username) = lower(%s) AND a.status = 'active' "
        "  AND EXISTS (SELECT 1 FROM account_grants lg "
        "              JOIN representatives r ON r.id = lg.representative_id "
        "              WHERE lg.account_id = a.id AND lg.status = 'active' "
        "                AND r.removed_at IS NULL AND lower(r.email) = lower(%s))",
        NCOLS(PM_COLS_LINKABLE) },

    /* coming-of-age reviews (016): the open grants of representatives of clients born
     * on or before the cutoff (the 18th birthday at most minor_review_days ahead)
     * that began while the client may have been a minor (REVIEW_BEGAN_AS_MINOR),
     * youngest first; a page after the keyset (date of birth, grant id) — the first
     * page's is (cutoff, 0) */
    [PM_SQL_REVIEW_CANDIDATES] = { "pm_review_candidates",
        REVIEW_CANDIDATES(MINOR_AT_SQLITE), NCOLS(PM_COLS_REVIEW), .driver = "sqlite3" },
    [PM_SQL_REVIEW_CANDIDATES_PGSQL] = { "pm_review_candidates_pgsql",
        REVIEW_CANDIDATES(MINOR_AT_PGSQL), NCOLS(PM_COLS_REVIEW), .driver = "pgsql" },
    [PM_SQL_GRANT_GET_VISIBLE] = { "pm_grant_get_visible",
        "SELECT " COLUMNS(PM_COLS_REVIEW) " FROM " PM_REVIEW_FROM
        " WHERE g.id = %lld AND " CLIENT_VISIBLE_TO, NCOLS(PM_COLS_REVIEW) },
    /* each closes a review that is still open, or touches nothing */
    [PM_SQL_GRANT_REVIEW_KEEP] = { "pm_grant_review_keep",
        "UPDATE account_grants SET review_decision = 'keep', review_note = %s, "
        "       reviewed_by = %s, reviewed_at = %lld "
        "WHERE id = %lld AND status = 'active' AND review_decision IS NULL" },
    [PM_SQL_GRANT_REVIEW_END] = { "pm_grant_review_end",
        "UPDATE account_grants SET review_decision = 'end', review_note = %s, "
        "       reviewed_by = %s, reviewed_at = %lld, status = 'ended', ended_at = %lld, "
        "       ended_by = %s, end_reason = 'review' "
        "WHERE id = %lld AND status = 'active' AND review_decision IS NULL" },
    /* the delivery worker, with end_representative_access_at_majority: every client
     * who is 18 (born on or before %s), whose representative's grant began while
     * they may have been a minor; walked by grant id (after %lld) */
    [PM_SQL_MAJORITY_CANDIDATES] = { "pm_majority_candidates",
        MAJORITY_CANDIDATES(MINOR_AT_SQLITE), NCOLS(PM_COLS_REVIEW), .driver = "sqlite3" },
    [PM_SQL_MAJORITY_CANDIDATES_PGSQL] = { "pm_majority_candidates_pgsql",
        MAJORITY_CANDIDATES(MINOR_AT_PGSQL), NCOLS(PM_COLS_REVIEW), .driver = "pgsql" },
    [PM_SQL_GRANT_END_MAJORITY] = { "pm_grant_end_majority",
        "UPDATE account_grants SET status = 'ended', ended_at = %lld, ended_by = 'system', "
        "       end_reason = 'majority' "
        "WHERE id = %lld AND status = 'active' AND review_decision IS NULL" },

    /* staff notices (pm_notices.c): who wants them. Idle (last seen — or, never seen,
     * added — before the cutoff %lld, twice; 0 when staff_notice_max_idle_days is 0):
     * no notices, and listed only while their mark is still to be dropped */
    [PM_SQL_NOTICE_STAFF] = { "pm_notice_staff",
        "SELECT " COLUMNS(PM_COLS_NOTICE_STAFF) " FROM staff "
        "WHERE active = 1 AND email IS NOT NULL AND notify <> 'none' "
        "  AND (coalesce(last_seen_at, created_at) >= CAST(%lld AS bigint) "
        "       OR notices_after IS NOT NULL) "
        "ORDER BY username",
        NCOLS(PM_COLS_NOTICE_STAFF) },
    [PM_SQL_NOTICE_LAST_AUDIT] = { "pm_notice_last_audit",
        "SELECT coalesce(max(id), 0) FROM audit_log", 1 },
    /* a new reader starts at the trail's end: no notices of the past */
    [PM_SQL_NOTICE_START] = { "pm_notice_start",
        "UPDATE staff SET notices_after = %lld WHERE username = %s AND notices_after IS NULL" },
    /* audit rows (after, upto] that may be worth a notice, on the staff member's
     * caseload (the flag: all clients); walked by the primary key. With the
     * representative the event's invitation was for, if any (the object of an
     * invitation.* row is the invitation, of an email.* row its outbox row) */
    [PM_SQL_NOTICE_EVENTS] = { "pm_notice_events",
        "SELECT " COLUMNS(PM_COLS_NOTICE_EVENT)
        " FROM audit_log a JOIN clients c ON c.id = a.client_id "
        "LEFT JOIN invitations ni ON ni.id = CASE WHEN substr(a.action, 1, 11) = 'invitation.' "
        "  THEN a.object_id ELSE (SELECT o.invitation_id FROM outbox o WHERE o.id = a.object_id) END "
        "LEFT JOIN representatives nr ON nr.id = ni.representative_id "
        "WHERE a.id > %lld AND a.id <= %lld "
        "  AND a.action IN ('invitation.accept', 'invitation.decline', 'email.bounced', "
        "                   'email.failed', 'email.delivered', 'invitation.verify_failed') "
        "  AND (CAST(%d AS integer) = 1 OR EXISTS (SELECT 1 FROM staff_clients sc "
        "       WHERE sc.username = %s AND sc.client_id = a.client_id)) "
        "ORDER BY a.id LIMIT CAST(%d AS integer)", NCOLS(PM_COLS_NOTICE_EVENT) },
    /* the claim of one notice: only the worker that moves the mark sends it */
    [PM_SQL_NOTICE_ADVANCE] = { "pm_notice_advance",
        "UPDATE staff SET notices_after = %lld WHERE username = %s AND notices_after = %lld" },
    [PM_SQL_NOTICE_DIGEST] = { "pm_notice_digest",
        "UPDATE staff SET notices_after = %lld, digest_day = %s "
        "WHERE username = %s AND notices_after = %lld "
        "  AND (digest_day IS NULL OR digest_day <> %s)" },
    /* a notice the relay did not take: the mark goes back for the next pass */
    [PM_SQL_NOTICE_UNDO] = { "pm_notice_undo",
        "UPDATE staff SET notices_after = %lld, digest_day = %s "
        "WHERE username = %s AND notices_after = %lld" },
    /* an idle staff member's mark is dropped: seen again, they start from now */
    [PM_SQL_NOTICE_PAUSE] = { "pm_notice_pause",
        "UPDATE staff SET notices_after = NULL WHERE username = %s AND notices_after = %lld" },

    /* admin */
    [PM_SQL_SETTINGS_UPSERT] = { "pm_settings_upsert",
        "INSERT INTO settings (name, value, updated_at, updated_by) VALUES (%s, %s, %lld, %s) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
        "  updated_at = excluded.updated_at, updated_by = excluded.updated_by" },
    [PM_SQL_SETTINGS_DELETE] = { "pm_settings_delete",
        "DELETE FROM settings WHERE name = %s" },
    /* the outbox screen's counts: what needs attention (queued, failed: outbox_due)
     * and what went out in the last 7 days since %lld (outbox_by_sent_at, migration
     * 009; a hard bounce is no email sent) — never a count of every email ever sent. Each count stops at
     * PM_OUTBOX_COUNT_CAP rows, read in its index's order so the scan stops there
     * too: the same few index entries whatever the outbox's size (failed emails are
     * kept for ever; counting all of them was most of a page's time at 1M) */
#define SQL_OUTBOX_COUNTS(by_sent_at) \
    "SELECT 'queued', count(*) FROM (SELECT 1 FROM outbox WHERE status = 'queued' " \
    "  ORDER BY next_attempt_at LIMIT " PM_OUTBOX_COUNT_CAP_TEXT ") q " \
    "UNION ALL SELECT 'failed', count(*) FROM (SELECT 1 FROM outbox WHERE status = 'failed' " \
    "  ORDER BY next_attempt_at LIMIT " PM_OUTBOX_COUNT_CAP_TEXT ") f " \
    "UNION ALL SELECT 'sent_last_7_days', count(*) FROM (SELECT 1 FROM outbox " by_sent_at \
    "  WHERE status = 'sent' AND sent_at >= %lld " \
    "    AND (bounce_type IS NULL OR bounce_type <> 'hard') ORDER BY sent_at " \
    "  LIMIT " PM_OUTBOX_COUNT_CAP_TEXT ") s"
    /* SQLite is told outbox_by_sent_at, as for the pace */
    [PM_SQL_OUTBOX_COUNTS] = { "pm_outbox_counts",
        SQL_OUTBOX_COUNTS("INDEXED BY outbox_by_sent_at "), NCOLS(PM_COLS_OUTBOX_COUNT),
        .driver = "sqlite3" },
    [PM_SQL_OUTBOX_COUNTS_PGSQL] = { "pm_outbox_counts_pgsql", SQL_OUTBOX_COUNTS(""),
        NCOLS(PM_COLS_OUTBOX_COUNT), .driver = "pgsql" },
    /* the outbox screen: newest first, keyset on id, optional shown status
     * (PM_OUTBOX_SHOWN_STATUS) and client; only rows the staff member (the last %s
     * twice) may see, OUTBOX_CLIENT_VISIBLE_TO */
#define OUTBOX_VIEW_FROM \
    " FROM outbox o LEFT JOIN invitations i ON i.id = o.invitation_id " \
    "LEFT JOIN clients c ON c.id = coalesce(i.client_id, o.client_id) "
    [PM_SQL_OUTBOX_PAGE] = { "pm_outbox_page",
        "SELECT " COLUMNS(PM_COLS_OUTBOX) OUTBOX_VIEW_FROM
        "WHERE o.id < %lld AND (%s IS NULL OR " PM_OUTBOX_SHOWN_STATUS " = %s) "
        "  AND (%s IS NULL OR coalesce(i.client_id, o.client_id) = CAST(%s AS bigint)) "
        "  AND " OUTBOX_CLIENT_VISIBLE_TO(OUTBOX_VIEW_CLIENT)
        "ORDER BY o.id DESC LIMIT CAST(%d AS integer)", NCOLS(PM_COLS_OUTBOX) },
    /* the same for one client: from its invitations (invitations_by_client, then
     * outbox_by_invitation) and its address notices (outbox_by_client, migration
     * 028), not a walk down every outbox row (bench/console). Arguments: client,
     * before, status, status, twice, then the staff member twice and the limit. */
#define OUTBOX_CLIENT_ROWS(from, where) \
    "SELECT o.id FROM " from " WHERE " where " = CAST(%s AS bigint) AND o.id < %lld " \
    "  AND (%s IS NULL OR " PM_OUTBOX_SHOWN_STATUS " = %s)"
    [PM_SQL_OUTBOX_PAGE_CLIENT] = { "pm_outbox_page_client",
        "SELECT " COLUMNS(PM_COLS_OUTBOX) OUTBOX_VIEW_FROM
        "WHERE o.id IN (" OUTBOX_CLIENT_ROWS("invitations i JOIN outbox o ON o.invitation_id = i.id",
                                             "i.client_id")
        "  UNION ALL " OUTBOX_CLIENT_ROWS("outbox o", "o.client_id") ") "
        "  AND " OUTBOX_CLIENT_VISIBLE_TO(OUTBOX_VIEW_CLIENT)
        "ORDER BY o.id DESC LIMIT CAST(%d AS integer)", NCOLS(PM_COLS_OUTBOX) },
    /* a shown status other than sent (failed, cancelled; queued, sending, retrying):
     * newest first down outbox_unsent (migration 022: stored status, id), not a walk
     * down every email ever sent until enough such rows turn up (the whole outbox when
     * there are none: 13 ms at 100,000 emails). The status is written out, and the
     * index's condition repeated, so that both databases' plans (PostgreSQL's generic
     * one too) can use the partial index. The page's rows are picked before the
     * joins, and the shown status is tested as CASE WHEN ... THEN true ELSE false:
     * PostgreSQL takes "expression = $2" to match 1 row in 200, and then sorted the
     * status's rows (a bitmap scan of all 3,000 failed emails, each joined to its
     * invitation and client: 19 ms) rather than read the index newest first and stop
     * at the page (0.02 ms); as a CASE it counts on half. Whether the staff member
     * (%s twice, after the status) may see the row is such a CASE too. */
#define OUTBOX_ROW_CLIENT \
    "coalesce((SELECT iv.client_id FROM invitations iv WHERE iv.id = o.invitation_id), " \
    "         o.client_id)"
#define SQL_OUTBOX_PAGE_DOWN(index_terms) \
    "SELECT " COLUMNS(PM_COLS_OUTBOX) \
    " FROM (SELECT * FROM outbox o WHERE o.id < %lld AND " index_terms " " \
    "         AND CASE WHEN " OUTBOX_CLIENT_VISIBLE_TO(OUTBOX_ROW_CLIENT) \
    "                  THEN true ELSE false END " \
    "       ORDER BY o.id DESC LIMIT CAST(%d AS integer)) o " \
    "LEFT JOIN invitations i ON i.id = o.invitation_id " \
    "LEFT JOIN clients c ON c.id = coalesce(i.client_id, o.client_id) ORDER BY o.id DESC"
#define SQL_OUTBOX_PAGE_STORED(stored) \
    SQL_OUTBOX_PAGE_DOWN("o.status <> 'sent' AND o.status = '" stored "' " \
                         "AND CASE WHEN " PM_OUTBOX_SHOWN_STATUS " = %s " \
                         "         THEN true ELSE false END")
    [PM_SQL_OUTBOX_PAGE_FAILED] = { "pm_outbox_page_failed", SQL_OUTBOX_PAGE_STORED("failed"),
        NCOLS(PM_COLS_OUTBOX) },
    [PM_SQL_OUTBOX_PAGE_QUEUED] = { "pm_outbox_page_queued", SQL_OUTBOX_PAGE_STORED("queued"),
        NCOLS(PM_COLS_OUTBOX) },
    /* the shown status bounced: the hard bounces newest first down outbox_bounced
     * (migration 033), the same way; a few rows among every email ever sent.
     * Arguments: before, the staff member twice, the limit. */
    [PM_SQL_OUTBOX_PAGE_BOUNCED] = { "pm_outbox_page_bounced",
        SQL_OUTBOX_PAGE_DOWN("o.bounce_type = 'hard'"), NCOLS(PM_COLS_OUTBOX) },
    [PM_SQL_OUTBOX_GET] = { "pm_outbox_get",
        "SELECT " COLUMNS(PM_COLS_OUTBOX) OUTBOX_VIEW_FROM "WHERE o.id = %lld "
        "  AND " OUTBOX_CLIENT_VISIBLE_TO(OUTBOX_VIEW_CLIENT),
        NCOLS(PM_COLS_OUTBOX) },
    /* retry now (retrying or failed, not cancelled, no worker holding it): due at
     * %lld; the conditions are the claim's opposite, so a worker that claimed the
     * row first wins and this changes nothing */
    [PM_SQL_OUTBOX_RETRY_NOW] = { "pm_outbox_retry_now",
        "UPDATE outbox SET status = 'queued', next_attempt_at = %lld, claim_token = NULL "
        "WHERE id = %lld AND lease_until IS NULL "
        "  AND ((status = 'queued' AND (attempts > 0 OR last_error IS NOT NULL)) "
        "       OR (status = 'failed' "
        "       AND (last_error IS NULL OR substr(last_error, 1, 9) <> 'not sent:')))" },
    /* cancel (queued or retrying, no worker holding it): never sent */
    [PM_SQL_OUTBOX_CANCEL] = { "pm_outbox_cancel",
        "UPDATE outbox SET status = 'failed', claim_token = NULL, "
        "       last_error = 'not sent: cancelled by staff' "
        "WHERE id = %lld AND status = 'queued' AND lease_until IS NULL" },
    /* a bounce read for outbox row %lld: a hard one replaces a soft one, never the
     * other way round (a second hard one keeps the first) */
    [PM_SQL_BOUNCE_TARGET] = { "pm_bounce_target",
        "SELECT " COLUMNS(PM_COLS_BOUNCE_TARGET) " FROM outbox o "
        "LEFT JOIN invitations i ON i.id = o.invitation_id WHERE o.id = %lld",
        NCOLS(PM_COLS_BOUNCE_TARGET) },
    [PM_SQL_BOUNCE_RECORD] = { "pm_bounce_record",
        "UPDATE outbox SET bounce_type = %s, bounced_at = %lld, bounce_reason = %s "
        "WHERE id = %lld AND (bounce_type IS NULL OR bounce_type = 'soft')" },
    /* an email to this recipient (client %lld, representative %lld or 0) at this
     * address bounced hard: no new email goes there until the address changes (the
     * CAST: SQLite compares coalesce()'s integer with a text argument as unequal) */
    [PM_SQL_ADDRESS_BOUNCED] = { "pm_address_bounced",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM invitations i "
        "JOIN outbox o ON o.invitation_id = i.id "
        "WHERE i.client_id = %lld AND coalesce(i.representative_id, 0) = CAST(%lld AS bigint) "
        "AND lower(i.email) = lower(%s) AND o.bounce_type = 'hard' "
        "AND o.bounce_cleared_at IS NULL", NCOLS(PM_COLS_COUNT) },
    /* staff saved this address for the client (or representative %lld): its hard
     * bounces are cleared (migration 024), checked with the person */
    [PM_SQL_BOUNCES_CLEAR_CLIENT] = { "pm_bounces_clear_client",
        "UPDATE outbox SET bounce_cleared_at = %lld "
        "WHERE bounce_type = 'hard' AND bounce_cleared_at IS NULL "
        "  AND invitation_id IN (SELECT i.id FROM invitations i WHERE i.client_id = %lld "
        "                        AND i.representative_id IS NULL "
        "                        AND lower(i.email) = lower(%s))" },
    [PM_SQL_BOUNCES_CLEAR_REP] = { "pm_bounces_clear_rep",
        "UPDATE outbox SET bounce_cleared_at = %lld "
        "WHERE bounce_type = 'hard' AND bounce_cleared_at IS NULL "
        "  AND invitation_id IN (SELECT i.id FROM invitations i "
        "                        WHERE i.representative_id = %lld "
        "                        AND lower(i.email) = lower(%s))" },
    /* monitoring (status section, metrics, health): counts only, no client data */
    [PM_SQL_MONITOR_OUTBOX] = { "pm_monitor_outbox",
        "SELECT " COLUMNS(PM_COLS_MONITOR_OUTBOX) " FROM outbox "
        "WHERE status IN ('queued', 'failed')", NCOLS(PM_COLS_MONITOR_OUTBOX) },
    [PM_SQL_MONITOR_INVITATIONS] = { "pm_monitor_invitations",
        "SELECT " COLUMNS(PM_COLS_MONITOR_INVITATIONS) " FROM invitations "
        "GROUP BY status ORDER BY status", NCOLS(PM_COLS_MONITOR_INVITATIONS) },
    [PM_SQL_MONITOR_PING] = { "pm_monitor_ping",
        "SELECT " COLUMNS(PM_COLS_MONITOR_PING) " FROM settings WHERE 1 = 0",
        NCOLS(PM_COLS_MONITOR_PING) },
    /* the audit screen's pages: newest first, keyset on id; the dates' condition */
#define AUDIT_PAGE(where) \
    "SELECT " COLUMNS(PM_COLS_AUDIT) " FROM audit_log WHERE " where \
    "ORDER BY id DESC LIMIT CAST(%d AS integer)"
#define AUDIT_DATES "  AND at >= CAST(%lld AS bigint) AND at < CAST(%lld AS bigint) "
    /* the whole trail, newest first, keyset on id, optional filters; no dates (a
     * statement with a range on at may be planned down an index on at, sorting the
     * whole trail for a first page: SQLite plans before it sees the values) */
    [PM_SQL_AUDIT_SEARCH] = { "pm_audit_search",
        AUDIT_PAGE("id < %lld AND (%s IS NULL OR client_id = CAST(%s AS bigint)) "
        "  AND (%s IS NULL OR username = %s) AND (%s IS NULL OR action = %s) "
        "  AND (%s IS NULL OR result = %s) "), NCOLS(PM_COLS_AUDIT) },
    /* the same within dates (from <= at < to), between the ids the dates bound
     * (pm_api_admin.c's audit_id_bounds: ids grow with time) */
    [PM_SQL_AUDIT_SEARCH_RANGE] = { "pm_audit_search_range",
        AUDIT_PAGE("id < %lld AND id >= %lld AND (%s IS NULL OR client_id = CAST(%s AS bigint)) "
        "  AND (%s IS NULL OR username = %s) AND (%s IS NULL OR action = %s) "
        "  AND (%s IS NULL OR result = %s) "
        AUDIT_DATES), NCOLS(PM_COLS_AUDIT) },
    /* one staff member's rows, down audit_log_by_username; the denied rows, down
     * audit_log_denied; an action other than the two audited reads write, down
     * audit_log_other_actions (the index's condition repeated, so that both
     * databases use it). Without a path of their own, a filter that matched few rows
     * read the whole trail for a page (85 ms at 1,000,000 rows for none; migration
     * 022). Each with dates or without: without, the ids run from 0 and the times
     * from 0 to the largest */
    [PM_SQL_AUDIT_SEARCH_USER] = { "pm_audit_search_user",
        AUDIT_PAGE("username = %s AND id < %lld AND id >= %lld "
        "  AND (%s IS NULL OR action = %s) AND (%s IS NULL OR result = %s) "
        AUDIT_DATES), NCOLS(PM_COLS_AUDIT) },
    [PM_SQL_AUDIT_SEARCH_DENIED] = { "pm_audit_search_denied",
        AUDIT_PAGE("result = 'denied' AND id < %lld AND id >= %lld "
        "  AND (%s IS NULL OR action = %s) "
        AUDIT_DATES), NCOLS(PM_COLS_AUDIT) },
    [PM_SQL_AUDIT_SEARCH_ACTION] = { "pm_audit_search_action",
        AUDIT_PAGE("action NOT IN ('client.view', 'client.search') AND action = %s "
        "  AND id < %lld AND id >= %lld AND (%s IS NULL OR result = %s) "
        AUDIT_DATES), NCOLS(PM_COLS_AUDIT) },
    /* the same for one client, down its own rows (audit_log_by_client), not every
     * row of the trail (bench/console); with dates, its own statement too */
    /* the dates' id bounds, found by bisecting the primary key: the trail's span,
     * and the first row at or after an id */
    [PM_SQL_AUDIT_ID_SPAN] = { "pm_audit_id_span",
        "SELECT coalesce((SELECT min(id) FROM audit_log), 0), "          /* each one an */
        "       coalesce((SELECT max(id) FROM audit_log), 0)", 2 },        /* index end */
    [PM_SQL_AUDIT_ROW_FROM_ID] = { "pm_audit_row_from_id",
        "SELECT id, at FROM audit_log WHERE id >= %lld ORDER BY id LIMIT 1", 2 },
    [PM_SQL_AUDIT_SEARCH_CLIENT] = { "pm_audit_search_client",
        AUDIT_PAGE("client_id = CAST(%s AS bigint) AND id < %lld "
        "  AND (%s IS NULL OR username = %s) AND (%s IS NULL OR action = %s) "
        "  AND (%s IS NULL OR result = %s) "), NCOLS(PM_COLS_AUDIT) },
    [PM_SQL_AUDIT_SEARCH_CLIENT_RANGE] = { "pm_audit_search_client_range",
        AUDIT_PAGE("client_id = CAST(%s AS bigint) AND id < %lld AND id >= %lld "
        "  AND (%s IS NULL OR username = %s) AND (%s IS NULL OR action = %s) "
        "  AND (%s IS NULL OR result = %s) "
        AUDIT_DATES), NCOLS(PM_COLS_AUDIT) },

    /* a row at its chain place with its hash (pm_audit_chain.c) */
    [PM_SQL_AUDIT_INSERT] = { "pm_audit_insert",
        "INSERT INTO audit_log (at, username, action, client_id, object_id, result, detail, "
        "                       remote_ip, request_id, chain_seq, row_hash) "
        "VALUES (%lld, %s, %s, %lld, %lld, %s, %s, %s, %s, %lld, %s)" },
    /* SQLite: the chain's head, read inside the writer's transaction (which holds the
     * database's write lock from its BEGIN, so no other writer moves the head until
     * it commits), and moved once after its rows: to their last place and hash */
    /* the chain's head: SQLite's writer reads it inside its transaction; the
     * delivery worker logs it (pm_audit.c, PM00625), read without a lock */
    [PM_SQL_AUDIT_CHAIN_HEAD] = { "pm_audit_chain_head",
        "SELECT " COLUMNS(PM_COLS_CHAIN_HEAD) " FROM audit_chain WHERE id = 1",
        NCOLS(PM_COLS_CHAIN_HEAD) },
    [PM_SQL_AUDIT_CHAIN_MOVE_SQLITE] = { "pm_audit_chain_move_sqlite",
        "UPDATE audit_chain SET seq = %lld, hash = %s WHERE id = 1 AND seq = %lld",
        .driver = "sqlite3" },
    /* PostgreSQL: one row appended in one statement — the head advanced by one
     * place, the row's hash computed from the head's old hash (the canonical form
     * of pm_audit_chain_hash(), written in SQL: each value as its length in bytes,
     * ':' and the value, or '-' for NULL, one per line; numbers as their decimal
     * text, as verify reads them back), and the row written with the head's new
     * place and hash. Outside a transaction it is its own: no BEGIN, no COMMIT, the
     * head's row lock held for this statement only. t/admin/audit.sh and
     * t/audit_parallel.t verify the rows it writes with the C function. */
    [PM_SQL_AUDIT_CHAIN_APPEND_PGSQL] = { "pm_audit_chain_append_pgsql",
        SQL_CHAIN_APPEND_PGSQL(""), .driver = "pgsql" },
    /* the same, its transaction committed without waiting for the disk
     * (synchronous_commit off for this transaction alone): the head's lock is let go
     * as soon as the commit is written, not after its flush, so appenders on other
     * connections do not queue behind each other's fsync. The writer then makes it
     * durable with PM_SQL_AUDIT_FLUSH_PGSQL before anyone is answered. Only for the
     * chain's own transactions, never a caller's */
    [PM_SQL_AUDIT_CHAIN_APPEND_ASYNC_PGSQL] = { "pm_audit_chain_append_async_pgsql",
        SQL_CHAIN_APPEND_PGSQL(" AND set_config('synchronous_commit', 'off', true) = 'off'"),
        .driver = "pgsql" },
    /* a group of rows (the group commit of audited reads) in one statement, committed
     * like the async append above: %s is a JSON array of rows, each the nine values
     * as JSON strings or null. The head is locked (FOR UPDATE: the newest head, once
     * a concurrent writer has committed), the rows' places and hashes are chained
     * from it in order (a recursive walk over the rows' ordinals), the head moves to
     * the last of them and the rows are written. One statement, so the head's lock
     * is not held across round trips to the server that wrote them */
    [PM_SQL_AUDIT_CHAIN_APPEND_GROUP_PGSQL] = { "pm_audit_chain_append_group_pgsql",
        SQL_CHAIN_APPEND_GROUP_PGSQL(" AND set_config('synchronous_commit', 'off', true) = 'off'"),
        .driver = "pgsql" },
    /* the same inside a caller's transaction (its commit, durable as it is): the rows a
     * command gathered, a slice at a time. Row by row, each head update would leave
     * one more version of the head's row for the next to step over (the transaction
     * is still open, nothing is pruned): 100,000 rows took many minutes */
    [PM_SQL_AUDIT_CHAIN_APPEND_GROUP_TXN_PGSQL] = { "pm_audit_chain_append_group_txn_pgsql",
        SQL_CHAIN_APPEND_GROUP_PGSQL(""), .driver = "pgsql" },
    /* a small transaction of this connection's own, committed synchronously: its
     * commit flushes the write-ahead log up to itself, so every commit written
     * before it (the async append's above) is on disk when it returns. A slot per
     * backend (pid mod 256, migration 021): concurrent flushes seldom share a row,
     * and those that do are on disk together. */
    [PM_SQL_AUDIT_FLUSH_PGSQL] = { "pm_audit_flush_pgsql",
        "INSERT INTO audit_flush (slot, flushes) VALUES (mod(pg_backend_pid(), 256), 1) "
        "ON CONFLICT (slot) DO UPDATE SET flushes = audit_flush.flushes + 1",
        .driver = "pgsql" },
    [PM_SQL_AUDIT_BY_CLIENT] = { "pm_audit_by_client",
        "SELECT " COLUMNS(PM_COLS_AUDIT)
        " FROM audit_log WHERE client_id = %lld AND id < %lld ORDER BY id DESC "
        "LIMIT CAST(%d AS integer)", NCOLS(PM_COLS_AUDIT) },
    /* a champion's test emails since a time */
    [PM_SQL_AUDIT_TEST_EMAILS] = { "pm_audit_test_emails",
        "SELECT " COLUMNS(PM_COLS_TEST_EMAILS) " FROM audit_log "
        "WHERE username = %s AND action = 'settings.test_email' AND at > %lld",
        NCOLS(PM_COLS_TEST_EMAILS) },
    /* the Overview screen: invitations (not password resets) made in [%lld, %lld),
     * counted per quarter hour with what became of them (expired: pending past
     * %lld, now); and the emails queued in [%lld, %lld). A bounded range, counted
     * here: the module reads one row per quarter hour that had any, never a row per
     * invitation or email */
    [PM_SQL_OVERVIEW_FUNNEL] = { "pm_overview_funnel",
        "SELECT " COLUMNS(PM_COLS_OVERVIEW_FUNNEL) " FROM invitations i "
        "WHERE i.kind = 'invite' AND i.created_at >= %lld AND i.created_at < %lld "
        "GROUP BY i.created_at / 900", NCOLS(PM_COLS_OVERVIEW_FUNNEL) },
    [PM_SQL_OVERVIEW_DELIVERY] = { "pm_overview_delivery",
        "SELECT " COLUMNS(PM_COLS_OVERVIEW_DELIVERY) " FROM outbox o "
        "WHERE o.created_at >= %lld AND o.created_at < %lld "
        "GROUP BY o.created_at / 900", NCOLS(PM_COLS_OVERVIEW_DELIVERY) },

    /* the client's own active portal accounts (not its representatives'), read
     * inside "client declined"'s transaction (which disables them, when asked, with
     * PM_SQL_ACCOUNT_DISABLE_CLIENT_OWN); a roster discharge disables them here */
    [PM_SQL_CLIENT_ACTIVE_ACCOUNTS] = { "pm_client_active_accounts",
        "SELECT " COLUMNS(PM_COLS_ACTIVE_ACCOUNTS) " FROM portal_accounts "
        "WHERE client_id = %lld AND representative_id IS NULL AND status = 'active'",
        NCOLS(PM_COLS_ACTIVE_ACCOUNTS) },
    /* a discharge with disable_accounts_on_discharge: the logins that reach this client
     * and nothing else are disabled (their grants stay, so staff can turn them on again
     * after a readmission; the reason 'discharged' shows on this client's card only,
     * 034); a login that also reaches another client keeps it and loses this one (its
     * grant ends, end_reason 'discharged') */
    /* the rows of the logins a discharge may disable, first (as PM_SQL_REP_LOCK_ACCOUNTS) */
    [PM_SQL_CLIENT_LOCK_ACCOUNTS] = { "pm_client_lock_accounts",
        "UPDATE portal_accounts SET status = status "
        "WHERE status = 'active' AND id IN (SELECT g.account_id FROM account_grants g "
        "                                   WHERE g.client_id = %lld AND g.status = 'active')" },
    [PM_SQL_CLIENT_DISABLE_ACCOUNTS] = { "pm_client_disable_accounts",
        "UPDATE portal_accounts SET status = 'disabled', disabled_at = %lld, disabled_by = %s, "
        "  disabled_reason = 'discharged', disabled_client_id = %lld "
        "WHERE status = 'active' AND id IN (SELECT g.account_id FROM account_grants g "
        "                                   WHERE g.client_id = %lld AND g.status = 'active') "
        "  AND NOT EXISTS (SELECT 1 FROM account_grants o WHERE o.account_id = portal_accounts.id "
        "                  AND o.client_id <> %lld AND o.status = 'active')" },
    [PM_SQL_CLIENT_END_SHARED_GRANTS] = { "pm_client_end_shared_grants",
        "UPDATE account_grants SET status = 'ended', ended_at = %lld, ended_by = %s, "
        "       end_reason = 'discharged' "
        "WHERE client_id = %lld AND status = 'active' "
        "  AND account_id IN (SELECT a.id FROM portal_accounts a WHERE a.status = 'active')" },

    /* ---- portal accounts (pm_op_account.c, the client view) ---- */
    /* a client's accounts, its own and its representatives', oldest first */
    /* one row per login: its grant here that reaches the client, else its newest
     * (a login joined again after its grant ended has both, 031) */
    [PM_SQL_CLIENT_ACCOUNTS] = { "pm_client_accounts",
        "SELECT " COLUMNS(PM_COLS_ACCOUNT) " FROM " PM_ACCOUNT_FROM
        " WHERE g.client_id = %lld AND NOT EXISTS (SELECT 1 FROM account_grants n "
        "   WHERE n.account_id = g.account_id AND n.client_id = g.client_id AND n.id <> g.id "
        "     AND (n.status = 'active' OR (g.status <> 'active' AND n.id > g.id))) "
        "ORDER BY a.id", NCOLS(PM_COLS_ACCOUNT) },
    /* one account, if this staff member may see a client it reaches (its own
     * client's grant first; of one client's grants, the one that reaches first) */
    [PM_SQL_ACCOUNT_GET_VISIBLE] = { "pm_account_get_visible",
        "SELECT " COLUMNS(PM_COLS_ACCOUNT) " FROM " PM_ACCOUNT_FROM
        " WHERE a.id = %lld AND " CLIENT_VISIBLE_TO
        " ORDER BY CASE WHEN g.client_id = a.client_id THEN 0 ELSE 1 END, "
        "          CASE WHEN g.status = 'active' THEN 0 ELSE 1 END, g.id",
        NCOLS(PM_COLS_ACCOUNT) },
    /* every client an account reaches now, visible or not, and the address each
     * client's records give its person (a reset of a shared login, its enabling) */
    [PM_SQL_ACCOUNT_ACTIVE_GRANTS] = { "pm_account_active_grants",
        "SELECT g.client_id, CASE WHEN g.representative_id IS NULL THEN c.email "
        "       ELSE r.email END "
        "FROM account_grants g JOIN clients c ON c.id = g.client_id "
        "LEFT JOIN representatives r ON r.id = g.representative_id "
        "WHERE g.account_id = %lld AND g.status = 'active' ORDER BY g.client_id", 2 },
    /* each changes an account in the state it expects, or touches nothing; the
     * reason belongs to the client whose card it was typed on (034) */
    [PM_SQL_ACCOUNT_DISABLE] = { "pm_account_disable",
        "UPDATE portal_accounts SET status = 'disabled', disabled_at = %lld, "
        "       disabled_by = %s, disabled_reason = %s, disabled_client_id = %lld "
        "WHERE id = %lld AND status = 'active'" },
    /* a shared login turned off from one client's card: that client's grant ends,
     * with the reason staff typed; the login keeps its other clients */
    [PM_SQL_GRANT_END_STAFF] = { "pm_grant_end_staff",
        "UPDATE account_grants SET status = 'ended', ended_at = %lld, ended_by = %s, "
        "       end_reason = 'staff', end_note = %s "
        "WHERE id = %lld AND status = 'active'" },
    [PM_SQL_ACCOUNT_ENABLE] = { "pm_account_enable",
        "UPDATE portal_accounts SET status = 'active', disabled_at = NULL, "
        "       disabled_by = NULL, disabled_reason = NULL, disabled_client_id = NULL "
        "WHERE id = %lld AND status = 'disabled'" },
    /* an account's row lock before staff read it to change it: a link to it being
     * consumed (PM_SQL_ACCOUNT_LOCK_ACTIVE) lands wholly before or after the read */
    [PM_SQL_ACCOUNT_LOCK_ROW] = { "pm_account_lock_row",
        "UPDATE portal_accounts SET status = status WHERE id = %lld" },
    /* an invitation still open to a person the login is (for any client it reaches:
     * the client's own, or as that client's representative): turning the login on
     * again would give that person two active accounts once it is accepted */
    [PM_SQL_ACCOUNT_OPEN_INVITATION] = { "pm_account_open_invitation",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM account_grants g JOIN invitations i "
        "  ON i.client_id = g.client_id "
        " AND coalesce(i.representative_id, 0) = coalesce(g.representative_id, 0) "
        "WHERE g.account_id = %lld AND g.status = 'active' AND i.kind = 'invite' "
        "  AND i.status = 'pending' AND i.expires_at > %lld",
        NCOLS(PM_COLS_COUNT) },
    /* "client declined" with disable_account: who and when, as the disable button */
    [PM_SQL_ACCOUNT_DISABLE_CLIENT_OWN] = { "pm_account_disable_client_own",
        "UPDATE portal_accounts SET status = 'disabled', disabled_at = %lld, disabled_by = %s "
        "WHERE client_id = %lld AND representative_id IS NULL AND status = 'active'" },

    /* ---- password reset (pm_op_account.c, pm_op_recipient.c): an invitation of kind
     * 'reset' for an account; the invitation statements do the rest (tokens, outbox,
     * date-of-birth budget, consuming) ---- */
    /* the one-pending index refuses a second pending link to the person */
    [PM_SQL_RESET_INSERT] = { "pm_reset_insert",
        "INSERT INTO invitations (client_id, representative_id, email, status, created_by, "
        "                         created_at, expires_at, kind, account_id) "
        "VALUES (%lld, %lld, %s, 'pending', %s, %lld, %lld, 'reset', %lld) "
        "ON CONFLICT DO NOTHING RETURNING " COLUMNS(PM_COLS_INSERTED), NCOLS(PM_COLS_INSERTED) },
    /* the account's reset link still open, which a new request sends again */
    [PM_SQL_RESET_PENDING] = { "pm_reset_pending",
        "SELECT " COLUMNS(PM_COLS_VISIBLE_INV) " FROM invitations i "
        "WHERE i.account_id = %lld AND i.kind = 'reset' AND i.status = 'pending' "
        "  AND i.expires_at > %lld ORDER BY i.id DESC", NCOLS(PM_COLS_VISIBLE_INV) },
    /* a new token and expiry for it, while its account is active */
    [PM_SQL_RESET_REARM] = { "pm_reset_rearm",
        "UPDATE invitations SET token_hash = NULL, expires_at = %lld "
        "WHERE id = %lld AND kind = 'reset' AND status = 'pending' "
        "  AND EXISTS (SELECT 1 FROM portal_accounts a WHERE a.id = invitations.account_id "
        "              AND a.status = 'active')" },
    /* disabling an account withdraws its open reset link */
    [PM_SQL_RESET_REVOKE_OF_ACCOUNT] = { "pm_reset_revoke_of_account",
        "UPDATE invitations SET status = 'revoked', responded_at = %lld "
        "WHERE account_id = %lld AND kind = 'reset' AND status IN ('pending', 'locked')" },
    /* the new password; mod_authn_dbd reads the hash on every request */
    [PM_SQL_ACCOUNT_SET_PASSWORD] = { "pm_account_set_password",
        "UPDATE portal_accounts SET password_hash = %s WHERE id = %lld AND status = 'active'" },

    /* ---- the roster sync (src/core/pm_roster.c): upsert by chart number ---- */
    [PM_SQL_ROSTER_CLIENT_BY_EXTERNAL_ID] = { "pm_roster_client_by_external_id",
        "SELECT " COLUMNS(PM_COLS_ROSTER_CLIENT) " FROM clients WHERE external_id = %s",
        NCOLS(PM_COLS_ROSTER_CLIENT) },
    /* the clients up to PM_SQL_EXTERNAL_IDS chart numbers name (NULL for an unused
     * slot): a sync looks up a batch of entries in one round trip. PostgreSQL: one
     * probe of the unique index per chart number, spelled out — its generic plan for
     * the IN list, made while a first load's table was still small, was a sequential
     * scan, kept for the rest of the load (147 s instead of 29 s at 100,000 clients) */
    [PM_SQL_ROSTER_CLIENTS_BY_EXTERNAL_IDS_SQLITE] = { "pm_roster_clients_by_external_ids_sqlite",
        "SELECT " COLUMNS(PM_COLS_ROSTER_CLIENT) " FROM clients WHERE external_id IN ("
        TEXT_ARGS_32 ", " TEXT_ARGS_32 ")",
        NCOLS(PM_COLS_ROSTER_CLIENT), .driver = "sqlite3" },
    [PM_SQL_ROSTER_CLIENTS_BY_EXTERNAL_IDS_PGSQL] = { "pm_roster_clients_by_external_ids_pgsql",
        "SELECT " COLUMNS(PM_COLS_ROSTER_CLIENT) " FROM (VALUES " VALUES_32 ", " VALUES_32
        ") v (x) CROSS JOIN LATERAL (SELECT " COLUMNS(PM_COLS_ROSTER_CLIENT)
        " FROM clients WHERE external_id = v.x LIMIT 1) c",
        NCOLS(PM_COLS_ROSTER_CLIENT), .driver = "pgsql" },
    /* the clients no sync has named yet born on up to PM_SQL_EXTERNAL_IDS days (NULL
     * for an unused slot; no day twice), for a batch's new chart numbers at once; the
     * sync compares their names in C (pm_client_keys_same_name) and gives the one
     * that matches the chart number (two that match: ambiguous, the sync refuses; so
     * their order does not matter). Through the partial index clients_unnamed_by_birth
     * (migration 027): the named clients born that day, the sync's own new ones
     * included, are never read (by clients_by_date_of_birth they were, and the sync
     * grew with the square of the file). PostgreSQL: one probe per day, spelled out,
     * as for the chart numbers */
    [PM_SQL_ROSTER_CLIENTS_UNNAMED_SQLITE] = { "pm_roster_clients_unnamed_sqlite",
        "SELECT " COLUMNS(PM_COLS_ROSTER_CLIENT) " FROM clients "
        "WHERE external_id IS NULL AND date_of_birth IN (" TEXT_ARGS_32 ", " TEXT_ARGS_32 ")",
        NCOLS(PM_COLS_ROSTER_CLIENT), .driver = "sqlite3" },
    [PM_SQL_ROSTER_CLIENTS_UNNAMED_PGSQL] = { "pm_roster_clients_unnamed_pgsql",
        "SELECT " COLUMNS(PM_COLS_ROSTER_CLIENT) " FROM (VALUES " VALUES_32 ", " VALUES_32
        ") v (x) CROSS JOIN LATERAL (SELECT " COLUMNS(PM_COLS_ROSTER_CLIENT)
        " FROM clients WHERE external_id IS NULL AND date_of_birth = v.x) c",
        NCOLS(PM_COLS_ROSTER_CLIENT), .driver = "pgsql" },
    /* the active clients with a chart number born on up to PM_SQL_EXTERNAL_IDS days
     * (NULL for an unused slot), for a batch's new chart numbers: one with the same name
     * is more likely the same person under a mangled number (a spreadsheet dropped its
     * leading zeros) than a new client, and the sync refuses the entry (issue 13).
     * Through clients_by_date_of_birth; PostgreSQL: one probe per day, spelled out */
    [PM_SQL_ROSTER_CLIENTS_NAMED_BORN_SQLITE] = { "pm_roster_clients_named_born_sqlite",
        "SELECT " COLUMNS(PM_COLS_ROSTER_CLIENT) " FROM clients WHERE active = 1 "
        "AND external_id IS NOT NULL AND date_of_birth IN (" TEXT_ARGS_32 ", " TEXT_ARGS_32 ") "
        "AND id <= %lld",
        NCOLS(PM_COLS_ROSTER_CLIENT), .driver = "sqlite3" },
    [PM_SQL_ROSTER_CLIENTS_NAMED_BORN_PGSQL] = { "pm_roster_clients_named_born_pgsql",
        "SELECT " COLUMNS(PM_COLS_ROSTER_CLIENT) " FROM (VALUES " VALUES_32 ", " VALUES_32
        ") v (x) CROSS JOIN LATERAL (SELECT " COLUMNS(PM_COLS_ROSTER_CLIENT)
        " FROM clients WHERE date_of_birth = v.x AND active = 1 "
        "AND external_id IS NOT NULL AND id <= %lld) c",
        NCOLS(PM_COLS_ROSTER_CLIENT), .driver = "pgsql" },
    /* syncs take turns: two that both found no client with a chart number inserted
     * it twice, and the second broke the unique index */
    [PM_SQL_ROSTER_LOCK] = { "pm_roster_lock", ADVISORY_TURN_SQL("7070517602"),
        NCOLS(PM_COLS_COUNT), .driver = "pgsql" },
    /* the same turn without waiting: count 1 when it was taken, 0 when another sync
     * has it (PUT /admin/roster tries for a while, then answers 409) */
    [PM_SQL_ROSTER_TRY_LOCK] = { "pm_roster_try_lock",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM "
        "(SELECT pg_try_advisory_xact_lock(7070517602) AS got) AS l WHERE got",
        NCOLS(PM_COLS_COUNT), .driver = "pgsql" },
    [PM_SQL_ROSTER_ANY_UNNAMED] = { "pm_roster_any_unnamed",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM "
        "(SELECT 1 AS one FROM clients WHERE external_id IS NULL LIMIT 1) u", NCOLS(PM_COLS_COUNT) },
    /* the newest client's id when the sync begins (0: none): clients after it are the
     * sync's own, never namesakes (PM_SQL_ROSTER_CLIENTS_NAMED_BORN_*) */
    [PM_SQL_ROSTER_LAST_CLIENT] = { "pm_roster_last_client",
        "SELECT coalesce(max(id), 0) FROM clients", 1 },
    /* New clients, with their sort keys (pm_client_keys_sort_key); the search keys are
     * staged by their ids (pm_client_keys_stage_add).
     * PostgreSQL: PM_SQL_NEW_CLIENTS new clients per statement (NULL in every column of
     * an unused row), their ids back by chart number: a round trip per new client was
     * half of a first load's time spent on the entries */
    [PM_SQL_ROSTER_CLIENTS_INSERT_PGSQL] = { "pm_roster_clients_insert_pgsql",
        "INSERT INTO clients (external_id, first_name, last_name, date_of_birth, email, "
        "active, preferred_language, created_at, updated_at, sort_key, sort_locale, "
        "roster_email) "
        "SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, "
        "v.column8, v.column9, v.column10, v.column11, COALESCE(v.column5, '') "
        "FROM (VALUES " NEW_CLIENT_ROWS_16 ") v "
        "WHERE v.column1 IS NOT NULL RETURNING " COLUMNS(PM_COLS_ROSTER_NEW),
        NCOLS(PM_COLS_ROSTER_NEW), .driver = "pgsql" },
    /* SQLite: one at a time, without RETURNING, then PM_SQL_ROSTER_CLIENT_BY_EXTERNAL_ID
     * for the id. SQLite gives a statement with RETURNING (or one writing many rows) a
     * statement journal of the pages it touches, which spills to a temporary file and
     * stays there for the transaction: a third of a 100,000-client first load's time
     * went to its writes */
    [PM_SQL_ROSTER_CLIENT_INSERT_SQLITE] = { "pm_roster_client_insert_sqlite",
        "INSERT INTO clients (external_id, first_name, last_name, date_of_birth, email, "
        "active, preferred_language, created_at, updated_at, sort_key, sort_locale, "
        "roster_email) "
        "VALUES (%s, %s, %s, %s, %s, %d, %s, %lld, %lld, %s, %s, %s)", .driver = "sqlite3" },
    /* everything but the email (PM_SQL_CLIENT_SET_EMAIL, as the change button);
     * a new name forgets the sort key (trigger), pm_client_keys_store refills it */
    [PM_SQL_ROSTER_CLIENT_UPDATE] = { "pm_roster_client_update",
        "UPDATE clients SET external_id = %s, first_name = %s, last_name = %s, "
        "date_of_birth = %s, active = %d, "
        "preferred_language = %s, updated_at = %lld WHERE id = %lld" },
    /* what the roster said of the email ('' none), whether or not the stored email
     * follows it (migration 029: a staff change stands until the roster's changes) */
    [PM_SQL_ROSTER_CLIENT_SET_ROSTER_EMAIL] = { "pm_roster_client_set_roster_email",
        "UPDATE clients SET roster_email = %s WHERE id = %lld" },
    [PM_SQL_ROSTER_CLIENT_SET_ACTIVE] = { "pm_roster_client_set_active",
        "UPDATE clients SET active = %d, updated_at = %lld WHERE id = %lld" },
    /* --discharge-missing walks these a page at a time */
    [PM_SQL_ROSTER_NAMED_ACTIVE] = { "pm_roster_named_active",
        "SELECT " COLUMNS(PM_COLS_ROSTER_NAMED) " FROM clients "
        "WHERE active = 1 AND external_id IS NOT NULL AND id > %lld "
        "ORDER BY id LIMIT CAST(%d AS integer)", NCOLS(PM_COLS_ROSTER_NAMED) },
    /* a discharge: the representatives' open invitations go with the client's
     * (PM_SQL_CLIENT_REVOKE_PENDING), and, when the setting says so, their accounts */
    [PM_SQL_ROSTER_REVOKE_REP_PENDING] = { "pm_roster_revoke_rep_pending",
        "UPDATE invitations SET status = 'revoked', responded_at = %lld "
        "WHERE client_id = %lld AND representative_id IS NOT NULL "
        "  AND status IN ('pending', 'locked')" },
    /* ---- portal-manager-admin (src/admin/); prepared there on first use ---- */
    [PM_SQL_ADMIN_TABLE_EXISTS_SQLITE] = { "pm_admin_table_exists_sqlite",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM sqlite_master "
        "WHERE type = 'table' AND name = %s", NCOLS(PM_COLS_COUNT), .driver = "sqlite3" },
    /* The admin tool's stage of search keys (pm_client_keys.c). SQLite: the
     * connection's own TEMP table (PostgreSQL: an UNLOGGED table, migration 020),
     * made when first needed, after which the statements are prepared again (DDL
     * expires the driver's legacy-prepared statements) */
    [PM_SQL_CLIENT_KEYS_STAGE_FOUND_SQLITE] = { "pm_client_keys_stage_found_sqlite",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM sqlite_temp_master "
        "WHERE type = 'table' AND name = 'client_name_prefixes_stage'",
        NCOLS(PM_COLS_COUNT), .driver = "sqlite3" },
    [PM_SQL_CLIENT_KEYS_STAGE_MAKE_SQLITE] = { "pm_client_keys_stage_make_sqlite",
        "CREATE TEMP TABLE IF NOT EXISTS client_name_prefixes_stage ("
        "prefix TEXT, sort_key TEXT, client_id INTEGER)",
        .driver = "sqlite3" },
    /* search keys gathered during a transaction: PM_SQL_STAGE_ROWS rows of
     * (prefix, sort key, client id), NULL in every column of an unused row ... */
    [PM_SQL_CLIENT_KEYS_STAGE] = { "pm_client_keys_stage",
        "INSERT INTO client_name_prefixes_stage (prefix, sort_key, client_id) "
        "SELECT v.column1, v.column2, v.column3 FROM (VALUES " STAGE_ROWS_64 ") v "
        "WHERE v.column1 IS NOT NULL" },
    /* ... then written in key order at the sync's end (pages filled one after the other,
     * not one random page per row), and the stage emptied */
    [PM_SQL_CLIENT_KEYS_UNSTAGE] = { "pm_client_keys_unstage",
        "INSERT INTO client_name_prefixes (prefix, sort_key, client_id) "
        "SELECT prefix, sort_key, client_id FROM client_name_prefixes_stage "
        "ORDER BY prefix, sort_key, client_id" },
    [PM_SQL_CLIENT_KEYS_CLEAR_STAGE] = { "pm_client_keys_clear_stage",
        "DELETE FROM client_name_prefixes_stage" },
    [PM_SQL_ADMIN_TABLE_EXISTS_PGSQL] = { "pm_admin_table_exists_pgsql",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM pg_catalog.pg_tables "
        "WHERE schemaname = current_schema() AND tablename = %s", NCOLS(PM_COLS_COUNT),
        .driver = "pgsql" },
    /* audit verify (pm_audit_chain.c) */
    [PM_SQL_ADMIN_AUDIT_CHAIN_STATE] = { "pm_admin_audit_chain_state",
        "SELECT " COLUMNS(PM_COLS_CHAIN_STATE) " FROM audit_chain WHERE id = 1",
        NCOLS(PM_COLS_CHAIN_STATE) },
    [PM_SQL_ADMIN_AUDIT_CHAIN_PAGE] = { "pm_admin_audit_chain_page",
        "SELECT " COLUMNS(PM_COLS_CHAIN_ROW) " FROM audit_log "
        "WHERE chain_seq > %lld AND chain_seq <= %lld ORDER BY chain_seq "
        "LIMIT CAST(%d AS integer)", NCOLS(PM_COLS_CHAIN_ROW) },
    [PM_SQL_ADMIN_AUDIT_CHAIN_PAST_HEAD] = { "pm_admin_audit_chain_past_head",
        "SELECT " COLUMNS(PM_COLS_CHAIN_ROW) " FROM audit_log "
        "WHERE chain_seq > %lld ORDER BY chain_seq LIMIT 1", NCOLS(PM_COLS_CHAIN_ROW) },
    [PM_SQL_ADMIN_AUDIT_UNCHAINED] = { "pm_admin_audit_unchained",
        "SELECT " COLUMNS(PM_COLS_UNCHAINED), NCOLS(PM_COLS_UNCHAINED) },
    /* audit export / prune (admin_audit.c): the last place of the chain's prefix
     * whose rows are all older than a time (the anchor when none is) */
    [PM_SQL_ADMIN_AUDIT_PREFIX_END] = { "pm_admin_audit_prefix_end",
        "SELECT coalesce((SELECT min(chain_seq) FROM audit_log "
        "                 WHERE chain_seq > %lld AND chain_seq <= %lld AND at >= %lld), "
        "                %lld + 1) - 1", NCOLS(PM_COLS_COUNT) },
    /* rows from before the chain older than a time */
    [PM_SQL_ADMIN_AUDIT_PRE_CHAIN_OLDER] = { "pm_admin_audit_pre_chain_older",
        "SELECT " COLUMNS(PM_COLS_CHAIN_ROW) " FROM audit_log "
        "WHERE chain_seq IS NULL AND id <= %lld AND at < %lld ORDER BY id",
        NCOLS(PM_COLS_CHAIN_ROW) },
    /* the gate the delete trigger opens for this transaction only */
    [PM_SQL_ADMIN_AUDIT_PRUNE_OPEN] = { "pm_admin_audit_prune_open",
        "UPDATE audit_chain SET prune_upto = %lld WHERE id = 1 AND anchor_seq = %lld" },
    [PM_SQL_ADMIN_AUDIT_PRUNE_DELETE] = { "pm_admin_audit_prune_delete",
        "DELETE FROM audit_log WHERE (chain_seq > %lld AND chain_seq <= %lld) "
        "OR (chain_seq IS NULL AND id <= %lld AND at < %lld)" },
    [PM_SQL_ADMIN_AUDIT_PRUNE_CLOSE] = { "pm_admin_audit_prune_close",
        "UPDATE audit_chain SET prune_upto = -1, anchor_seq = %lld, anchor_hash = %s, "
        "pre_chain_rows = pre_chain_rows - %lld WHERE id = 1" },
    /* audit verify: the prunes recorded in the chain after a place, newest first
     * (their detail names the anchor each left) */
    [PM_SQL_ADMIN_AUDIT_PRUNE_RECORDS] = { "pm_admin_audit_prune_records",
        "SELECT " COLUMNS(PM_COLS_PRUNE_RECORD) " FROM audit_log "
        "WHERE chain_seq > %lld AND action = 'audit.prune' "
        "AND username = 'portal-manager-admin' AND result = 'ok' ORDER BY chain_seq DESC",
        NCOLS(PM_COLS_PRUNE_RECORD) },
    /* audit verify: whether one of audit_log's append-only triggers is there (and,
     * on PostgreSQL, enabled and calling audit_log_append_only) */
    [PM_SQL_ADMIN_AUDIT_GUARD_SQLITE] = { "pm_admin_audit_guard_sqlite",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM sqlite_master "
        "WHERE type = 'trigger' AND tbl_name = 'audit_log' AND name = %s",
        NCOLS(PM_COLS_COUNT), .driver = "sqlite3" },
    [PM_SQL_ADMIN_AUDIT_GUARD_PGSQL] = { "pm_admin_audit_guard_pgsql",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM pg_catalog.pg_trigger t "
        "JOIN pg_catalog.pg_proc f ON f.oid = t.tgfoid "
        "WHERE t.tgrelid = 'audit_log'::regclass AND t.tgname = %s "
        "AND t.tgenabled IN ('O', 'A') AND f.proname = 'audit_log_append_only'",
        NCOLS(PM_COLS_COUNT), .driver = "pgsql" },
    [PM_SQL_ADMIN_SCHEMA_VERSION] = { "pm_admin_schema_version",
        "SELECT " COLUMNS(PM_COLS_SCHEMA_VERSION) " FROM schema_version",
        NCOLS(PM_COLS_SCHEMA_VERSION) },
    [PM_SQL_ADMIN_SCHEMA_VERSION_SET] = { "pm_admin_schema_version_set",
        "UPDATE schema_version SET version = %d" },
    /* username, display name, all_clients (0/1), created_at */
    [PM_SQL_ADMIN_STAFF_INSERT] = { "pm_admin_staff_insert",
        "INSERT INTO staff (username, display_name, all_clients, active, created_at) "
        "VALUES (%s, %s, %d, 1, %lld)" },
    [PM_SQL_ADMIN_STAFF_UPDATE] = { "pm_admin_staff_update",
        "UPDATE staff SET display_name = %s, all_clients = %d WHERE username = %s" },
    [PM_SQL_ADMIN_STAFF_SET_ACTIVE] = { "pm_admin_staff_set_active",
        "UPDATE staff SET active = %d WHERE username = %s" },
    /* staff update --email ADDR | --no-email (NULL) */
    [PM_SQL_ADMIN_STAFF_SET_EMAIL] = { "pm_admin_staff_set_email",
        "UPDATE staff SET email = %s WHERE username = %s" },
    [PM_SQL_ADMIN_STAFF_LIST] = { "pm_admin_staff_list",
        "SELECT " COLUMNS(PM_COLS_ADMIN_STAFF) " FROM staff s ORDER BY s.username",
        NCOLS(PM_COLS_ADMIN_STAFF) },
    [PM_SQL_ADMIN_STAFF_COUNT] = { "pm_admin_staff_count",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM staff", NCOLS(PM_COLS_COUNT) },
    /* the demo practice's staff (src/admin/admin_demo.c) */
    [PM_SQL_ADMIN_DEMO_STAFF_COUNT] = { "pm_admin_demo_staff_count",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM staff "
        "WHERE username IN ('admin', 'clinician1', 'clinician2')", NCOLS(PM_COLS_COUNT) },
    [PM_SQL_ADMIN_GRANT_GET] = { "pm_admin_grant_get",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM staff_clients "
        "WHERE username = %s AND client_id = %lld", NCOLS(PM_COLS_COUNT) },
    [PM_SQL_ADMIN_GRANT_INSERT] = { "pm_admin_grant_insert",
        "INSERT INTO staff_clients (username, client_id) VALUES (%s, %lld)" },
    [PM_SQL_ADMIN_GRANT_DELETE] = { "pm_admin_grant_delete",
        "DELETE FROM staff_clients WHERE username = %s AND client_id = %lld" },
    [PM_SQL_ADMIN_CLIENT_EXISTS] = { "pm_admin_client_exists",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM clients WHERE id = %lld",
        NCOLS(PM_COLS_COUNT) },
    [PM_SQL_ADMIN_CLIENT_COUNT] = { "pm_admin_client_count",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM clients", NCOLS(PM_COLS_COUNT) },
    /* without name keys: the caller computes them (pm_client_keys.c), as the
     * module does for a row another program wrote */
    [PM_SQL_ADMIN_CLIENT_INSERT] = { "pm_admin_client_insert",
        "INSERT INTO clients (first_name, last_name, date_of_birth, email, "
        "preferred_language, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %lld, %lld) "
        "RETURNING " COLUMNS(PM_COLS_UNKEYED), NCOLS(PM_COLS_UNKEYED) },
    /* clients set-chart: a client's chart number set by hand (the unique index
     * clients_by_external_id refuses one another client has); clients clear-chart
     * sets it NULL */
    [PM_SQL_ADMIN_CLIENT_SET_CHART] = { "pm_admin_client_set_chart",
        "UPDATE clients SET external_id = %s, updated_at = %lld WHERE id = %lld" },
    [PM_SQL_ADMIN_CLIENT_HAS_CHART] = { "pm_admin_client_has_chart",
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM clients WHERE id = %lld "
        "AND external_id IS NOT NULL", NCOLS(PM_COLS_COUNT) },
    /* clients import: a row for a client already there (served by clients_by_date_of_birth) */
    [PM_SQL_ADMIN_CLIENT_NAMESAKE] = { "pm_admin_client_namesake",
        "SELECT " COLUMNS(PM_COLS_NAMESAKE) " FROM clients WHERE date_of_birth = %s "
        "  AND lower(first_name) = lower(%s) AND lower(last_name) = lower(%s) "
        "ORDER BY id LIMIT 1", NCOLS(PM_COLS_NAMESAKE) },
    [PM_SQL_ADMIN_CLIENT_LIST] = { "pm_admin_client_list",
        "SELECT " COLUMNS(PM_COLS_ADMIN_CLIENT) " FROM clients ORDER BY sort_key, id",
        NCOLS(PM_COLS_ADMIN_CLIENT) },
    [PM_SQL_ADMIN_CASELOAD] = { "pm_admin_caseload",
        "SELECT " COLUMNS(PM_COLS_CASELOAD) " FROM staff_clients "
        "JOIN clients ON clients.id = staff_clients.client_id WHERE username = %s",
        NCOLS(PM_COLS_CASELOAD) },
    /* staff sync-caseloads: the staff user name a file's differs from only by case
     * (staff user names are compared exactly, as Apache hands them over) */
    [PM_SQL_ADMIN_STAFF_ANY_CASE] = { "pm_admin_staff_any_case",
        "SELECT username FROM staff WHERE lower(username) = lower(%s) ORDER BY username", 1 },
    /* ---- portal-manager-admin copy: SQLite to PostgreSQL (admin_copy.c) ---- */
#define PM_COPY_STMTS(U, t, deferred) \
    [PM_SQL_COPY_READ_##U] = { "pm_copy_read_" #t, "SELECT * FROM " #t, PM_SQL_ANY_COLS, \
        .driver = "sqlite3" }, \
    [PM_SQL_COPY_COUNT_##U] = { "pm_copy_count_" #t, \
        "SELECT " COLUMNS(PM_COLS_COUNT) " FROM " #t, NCOLS(PM_COLS_COUNT), \
        .driver = "pgsql" }, \
    [PM_SQL_COPY_CLEAR_##U] = { "pm_copy_clear_" #t, "DELETE FROM " #t, .driver = "pgsql" }, \
    [PM_SQL_COPY_WRITE_##U] = { "pm_copy_write_" #t, \
        "INSERT INTO " #t " OVERRIDING SYSTEM VALUE SELECT * FROM " \
        "json_populate_recordset(NULL::" #t ", %s::json)", .driver = "pgsql" },
    PM_COPY_TABLES(PM_COPY_STMTS)
#undef PM_COPY_STMTS
    /* the source's snapshot: a deferred transaction that only reads (httpd goes on
     * writing; WAL keeps this reader's view) */
    [PM_SQL_COPY_SNAPSHOT_BEGIN_SQLITE] = { "pm_copy_snapshot_begin_sqlite", "BEGIN",
        .driver = "sqlite3" },
    [PM_SQL_COPY_SNAPSHOT_END_SQLITE] = { "pm_copy_snapshot_end_sqlite", "COMMIT",
        .driver = "sqlite3" },
    /* a table's column names, each side */
    [PM_SQL_COPY_COLUMNS_SQLITE] = { "pm_copy_columns_sqlite",
        "SELECT name FROM pragma_table_info(%s) ORDER BY cid", 1, .driver = "sqlite3" },
    [PM_SQL_COPY_COLUMNS_PGSQL] = { "pm_copy_columns_pgsql",
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s",
        1, .driver = "pgsql" },
    /* the target's tables and foreign keys (child, parent, the child's column) */
    [PM_SQL_COPY_TABLES_PGSQL] = { "pm_copy_tables_pgsql",
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "ORDER BY tablename", 1, .driver = "pgsql" },
    [PM_SQL_COPY_FOREIGN_KEYS_PGSQL] = { "pm_copy_foreign_keys_pgsql",
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text, a.attname "
        "FROM pg_constraint c JOIN pg_attribute a "
        "  ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace", 3,
        .driver = "pgsql" },
    /* identity columns (table, column), and one set to go on after the copied rows */
    [PM_SQL_COPY_IDENTITIES_PGSQL] = { "pm_copy_identities_pgsql",
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES'", 2,
        .driver = "pgsql" },
    [PM_SQL_COPY_SET_IDENTITY_PGSQL] = { "pm_copy_set_identity_pgsql",
        "SELECT setval(pg_get_serial_sequence(%s, %s), %lld, false)", 1,
        .driver = "pgsql" },
};

static int count_placeholders(const char *sql)
{
    int n = 0;
    const char *s;

    for (s = sql; *s; s++) {
        if (s[0] == '%' && s[1] == '%') {
            s++;
        }
        else if (s[0] == '%') {
            n++;
        }
    }
    return n;
}

void pm_sql_init(void)
{
    int i;

    for (i = 0; i < PM_SQL_COUNT; i++) {
        statements[i].nargs = count_placeholders(statements[i].sql);
    }
}

const pm_sql_stmt *pm_sql_get(pm_sql_id id)
{
    return (id >= 0 && id < PM_SQL_COUNT) ? &statements[id] : NULL;
}
