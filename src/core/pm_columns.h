/* pm_columns.h — what each statement's rows carry, declared once: every column's
 * name (how the code reads it: pm_row_str(row, CLIENT_EMAIL)) beside its SQL
 * expression, which pm_sql.c turns into the statement's select list. */
#ifndef PM_COLUMNS_H
#define PM_COLUMNS_H

/* A column set is written SET(COL, LAST): COL(name, sql) for each column in
 * order, and LAST(name, sql) for the final one. The final column is marked so
 * that the select list needs no separator trick: in SQL text COL is the
 * expression followed by ", " and LAST the bare expression; in the enum both
 * give `name,`. tests: t/unit/test_sql_columns.c prepares every statement and
 * compares its column count with the declaration. */
#define PM_COL_NAME(name, sql) name,
#define PM_COL_SQL(name, sql) sql ", "
#define PM_COL_SQL_LAST(name, sql) sql
#define PM_COL_ONE(name, sql) + 1

/* the comma-separated select list (or RETURNING list) of a column set */
#define PM_SELECT_LIST(set) set(PM_COL_SQL, PM_COL_SQL_LAST)
/* how many columns a set declares (a constant expression) */
#define PM_NCOLS(set) (0 set(PM_COL_ONE, PM_COL_ONE))

/* ---- pieces of column expressions ---------------------------------------------- */

/* The id of the client's latest invitation (to the client, not a representative;
 * a password reset, kind 'reset', is not an invitation here). */
#define SQL_LATEST_CLIENT_INVITATION \
    "(SELECT max(i2.id) FROM invitations i2 " \
    "  WHERE i2.client_id = c.id AND i2.representative_id IS NULL AND i2.kind = 'invite')"

/* A superseded invitation with no later one to the same recipient at the same
 * address was not replaced by a reinvite: the recipient's address changed. */
#define SQL_ADDRESS_CHANGED(inv) \
    "(" inv ".status = 'superseded' AND NOT EXISTS (SELECT 1 FROM invitations n " \
    "   WHERE n.client_id = " inv ".client_id AND n.id > " inv ".id " \
    "     AND coalesce(n.representative_id, 0) = coalesce(" inv ".representative_id, 0) " \
    "     AND lower(n.email) = lower(" inv ".email)))"

/* ---- settings, staff ------------------------------------------------------------- */

/* PM_SQL_SETTINGS_ALL */
#define PM_COLS_SETTING(COL, LAST) \
    COL(SETTING_NAME, "name") \
    LAST(SETTING_VALUE, "value")
enum { PM_COLS_SETTING(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_STAFF_GET */
#define PM_COLS_STAFF(COL, LAST) \
    COL(STAFF_USERNAME, "username") \
    COL(STAFF_DISPLAY_NAME, "display_name") \
    COL(STAFF_ALL_CLIENTS, "all_clients") \
    COL(STAFF_ACTIVE, "active") \
    COL(STAFF_EMAIL, "email") \
    COL(STAFF_NOTIFY, "notify") \
    LAST(STAFF_LAST_SEEN_AT, "last_seen_at")
enum { PM_COLS_STAFF(PM_COL_NAME, PM_COL_NAME) };

/* ---- clients ----------------------------------------------------------------------- */

/* An email's delivery as staff see it: the stored status (queued, sent, failed), or
 * bounced when a hard bounce came back for it (migration 018), or cancelled when
 * it was stored failed but never went on purpose: a last_error starting "not sent:"
 * (cancelled by staff in the Outbox, replaced by a newer email, its invitation
 * superseded, answered or withdrawn first; the worker's real failures never start
 * so) — the rule of the Outbox (PM_OUTBOX_SHOWN_STATUS) and the Overview */
#define PM_DELIVERY_STATUS \
    "CASE WHEN o.bounce_type = 'hard' THEN 'bounced' " \
    "WHEN o.status = 'failed' AND substr(o.last_error, 1, 9) = 'not sent:' " \
    "THEN 'cancelled' ELSE o.status END"

/* A client summary row (the list, the searches, and the start of the view):
 * the latest invitation's status, its expiry and its latest delivery, and the
 * client's active accounts. The latest invitation is found once per row, joined as
 * `li` (NULL when there is none) by the FROM part below; the rest are scalar
 * subqueries, each an index lookup per row on both drivers. */
#define PM_CLIENT_LATEST_INVITATION_JOIN \
    "LEFT JOIN invitations li ON li.id = " SQL_LATEST_CLIENT_INVITATION
#define PM_COLS_CLIENT_SUMMARY(COL, LAST) \
    COL(CLIENT_ID, "c.id") \
    COL(CLIENT_FIRST_NAME, "c.first_name") \
    COL(CLIENT_LAST_NAME, "c.last_name") \
    COL(CLIENT_DATE_OF_BIRTH, "c.date_of_birth") \
    COL(CLIENT_DECLINED_AT, "c.declined_at") \
    COL(CLIENT_INV_STATUS, \
        "CASE WHEN " SQL_ADDRESS_CHANGED("li") " THEN 'address_changed' ELSE li.status END") \
    COL(CLIENT_INV_EXPIRES_AT, "li.expires_at") \
    COL(CLIENT_DELIVERY, \
        "(SELECT " PM_DELIVERY_STATUS " FROM outbox o WHERE o.id = (SELECT max(o2.id) " \
        "   FROM outbox o2 " \
        "   WHERE o2.invitation_id = li.id))") \
    COL(CLIENT_ACCOUNTS, \
        "(SELECT count(*) FROM portal_accounts a WHERE a.client_id = c.id " \
        "   AND a.representative_id IS NULL AND a.status = 'active')") \
    /* the EHR's chart number (NULL: none); clients_active_list carries it (035) */ \
    COL(CLIENT_EXTERNAL_ID, "c.external_id") \
    LAST(CLIENT_SORT_KEY, "c.sort_key")

/* PM_SQL_CLIENT_GET_VISIBLE: the summary, then these */
#define PM_COLS_CLIENT_DETAIL(COL, LAST) \
    COL(CLIENT_EMAIL, "c.email") \
    COL(CLIENT_DECLINED_BY, "c.declined_by") \
    COL(CLIENT_DECLINED_NOTE, "c.declined_note") \
    COL(CLIENT_STATEMENTS, "c.statement_notifications") \
    COL(CLIENT_ACTIVE, "c.active") \
    COL(CLIENT_LANGUAGE, "c.preferred_language") \
    COL(CLIENT_DECLINED_BY_NAME, \
        "(SELECT s.display_name FROM staff s WHERE s.username = c.declined_by)") \
    /* whether the view's lists can have rows (1: maybe, 0: none), each an index probe \
     * wider than its list's statement: a view skips the statement of a list that has \
     * none (most clients have no representative, many no invitation or account yet) */ \
    COL(CLIENT_HAS_INVITATIONS, "CASE WHEN EXISTS (SELECT 1 FROM invitations hi " \
                                "WHERE hi.client_id = c.id) THEN 1 ELSE 0 END") \
    COL(CLIENT_HAS_REPRESENTATIVES, "CASE WHEN EXISTS (SELECT 1 FROM representatives hr " \
                                    "WHERE hr.client_id = c.id) THEN 1 ELSE 0 END") \
    LAST(CLIENT_HAS_GRANTS, "CASE WHEN EXISTS (SELECT 1 FROM account_grants hg " \
                            "WHERE hg.client_id = c.id) THEN 1 ELSE 0 END")
enum { PM_COLS_CLIENT_SUMMARY(PM_COL_NAME, PM_COL_NAME)
       PM_COLS_CLIENT_DETAIL(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_CLIENT_ACTIVE_FLAG */
#define PM_COLS_CLIENT_FLAG(COL, LAST) \
    LAST(CLIENT_FLAG_ACTIVE, "active")
enum { PM_COLS_CLIENT_FLAG(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_ROSTER_CLIENTS_INSERT_PGSQL: the new clients' ids */
#define PM_COLS_ROSTER_NEW(COL, LAST) \
    COL(ROSTER_NEW_ID, "id") \
    LAST(ROSTER_NEW_EXTERNAL_ID, "external_id")
enum { PM_COLS_ROSTER_NEW(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_CLIENT_KEYS_MISSING: a client without a sort key */
#define PM_COLS_UNKEYED(COL, LAST) \
    COL(UNKEYED_ID, "id") \
    COL(UNKEYED_FIRST_NAME, "first_name") \
    LAST(UNKEYED_LAST_NAME, "last_name")
enum { PM_COLS_UNKEYED(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_CLIENT_KEYS_SET_GET: what a client's search keys were made of */
#define PM_COLS_KEY_SET(COL, LAST) \
    COL(KEY_SET_SORT_KEY, "sort_key") \
    LAST(KEY_SET_PREFIXES, "prefixes")
enum { PM_COLS_KEY_SET(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_CLIENT_ACTIVE_ACCOUNTS */
#define PM_COLS_ACTIVE_ACCOUNTS(COL, LAST) \
    LAST(ACTIVE_ACCOUNTS, "count(*)")
enum { PM_COLS_ACTIVE_ACCOUNTS(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_ADDRESS_NOTICE_CLIENT_DUE, _REP_DUE: a notice of the change would go */
#define PM_COLS_NOTICE_DUE(COL, LAST) \
    LAST(NOTICE_DUE, "count(*)")
enum { PM_COLS_NOTICE_DUE(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_ROSTER_CLIENT_BY_EXTERNAL_ID, _UNNAMED: what a roster sync compares */
#define PM_COLS_ROSTER_CLIENT(COL, LAST) \
    COL(ROSTER_ID, "id") \
    COL(ROSTER_FIRST_NAME, "first_name") \
    COL(ROSTER_LAST_NAME, "last_name") \
    COL(ROSTER_DATE_OF_BIRTH, "date_of_birth") \
    COL(ROSTER_EMAIL, "email") \
    COL(ROSTER_ACTIVE, "active") \
    COL(ROSTER_LANGUAGE, "preferred_language") \
    COL(ROSTER_EXTERNAL_ID, "external_id") \
    LAST(ROSTER_EHR_EMAIL, "roster_email")
enum { PM_COLS_ROSTER_CLIENT(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_ROSTER_NAMED_ACTIVE: active clients with a chart number, by id */
#define PM_COLS_ROSTER_NAMED(COL, LAST) \
    COL(NAMED_ID, "id") \
    LAST(NAMED_EXTERNAL_ID, "external_id")
enum { PM_COLS_ROSTER_NAMED(PM_COL_NAME, PM_COL_NAME) };

/* ---- portal accounts ----------------------------------------------------------------- */

/* PM_SQL_CLIENT_ACCOUNTS, PM_SQL_ACCOUNT_GET_VISIBLE: an account as the client view
 * shows it — through its grant on that client, so one login that reaches two clients
 * (a parent of two children in care) is listed on both, as the representative of each
 * — and what enabling it depends on: its representative removed (1/0), its client
 * discharged (clients.active) or declined (1/0, the client's own account only), and
 * the other active accounts of the same person */
#define PM_ACCOUNT_FROM \
    "account_grants g JOIN portal_accounts a ON a.id = g.account_id " \
    "JOIN clients c ON c.id = g.client_id " \
    "LEFT JOIN representatives r ON r.id = g.representative_id"
#define PM_COLS_ACCOUNT(COL, LAST) \
    COL(ACCOUNT_ID, "a.id") \
    COL(ACCOUNT_USERNAME, "a.username") \
    COL(ACCOUNT_CLIENT_ID, "g.client_id") \
    COL(ACCOUNT_REP_ID, "g.representative_id") \
    COL(ACCOUNT_STATUS, "a.status") \
    COL(ACCOUNT_CREATED_AT, "a.created_at") \
    COL(ACCOUNT_DISABLED_AT, "a.disabled_at") \
    COL(ACCOUNT_DISABLED_BY, "a.disabled_by") \
    COL(ACCOUNT_DISABLED_BY_NAME, \
        "(SELECT s.display_name FROM staff s WHERE s.username = a.disabled_by)") \
    /* the reason typed when the whole login was turned off, on the card of the client \
     * it was typed on only (034); a login disabled before 034 (no such client) shows \
     * it only where it never reached another client */ \
    COL(ACCOUNT_DISABLED_REASON, \
        "CASE WHEN a.disabled_client_id = g.client_id " \
        "       OR (a.disabled_client_id IS NULL AND NOT EXISTS (SELECT 1 " \
        "             FROM account_grants o WHERE o.account_id = a.id " \
        "              AND o.client_id <> g.client_id)) " \
        "     THEN a.disabled_reason END") \
    COL(ACCOUNT_REP_REMOVED, "CASE WHEN r.removed_at IS NULL THEN 0 ELSE 1 END") \
    COL(ACCOUNT_CLIENT_ACTIVE, "c.active") \
    COL(ACCOUNT_CLIENT_DECLINED, \
        "CASE WHEN g.representative_id IS NULL AND c.declined_at IS NOT NULL " \
        "     THEN 1 ELSE 0 END") \
    /* the person's address on file (a reset email goes there; never in the JSON) */ \
    COL(ACCOUNT_EMAIL, "CASE WHEN g.representative_id IS NULL THEN c.email ELSE r.email END") \
    /* until when the pending password reset's link works (NULL: none pending) */ \
    COL(ACCOUNT_RESET_EXPIRES_AT, \
        "(SELECT max(i.expires_at) FROM invitations i WHERE i.account_id = a.id " \
        "   AND i.kind = 'reset' AND i.status = 'pending')") \
    /* the account's grant on its client and its coming-of-age review (016) */ \
    COL(ACCOUNT_GRANT_ID, "g.id") \
    COL(ACCOUNT_GRANT_STATUS, "g.status") \
    /* the grant's last day's end (a representative's days; NULL: open): once it has \
     * passed the login no longer reaches the client, though nobody ended the grant */ \
    COL(ACCOUNT_GRANT_ENDS_AT, "g.ends_at") \
    COL(ACCOUNT_GRANT_BEGAN_AT, PM_GRANT_BEGAN_AT) \
    COL(ACCOUNT_CLIENT_DOB, "c.date_of_birth") \
    COL(ACCOUNT_REVIEW_DECISION, "g.review_decision") \
    COL(ACCOUNT_REVIEW_NOTE, "g.review_note") \
    COL(ACCOUNT_REVIEWED_BY, \
        "coalesce((SELECT s.display_name FROM staff s WHERE s.username = g.reviewed_by), " \
        "         g.reviewed_by)") \
    COL(ACCOUNT_REVIEWED_AT, "g.reviewed_at") \
    COL(ACCOUNT_LINKED, "CASE WHEN g.client_id = a.client_id THEN 0 ELSE 1 END") \
    /* how many other clients the login reaches (never which: staff may not see them) */ \
    COL(ACCOUNT_OTHER_CLIENTS, \
        "(SELECT count(*) FROM account_grants x WHERE x.account_id = a.id " \
        "   AND x.client_id <> g.client_id AND x.status = 'active')") \
    /* when, by whom, why this client's grant ended (025: the note staff typed) */ \
    COL(ACCOUNT_GRANT_ENDED_AT, "g.ended_at") \
    COL(ACCOUNT_GRANT_ENDED_BY, \
        "coalesce((SELECT s.display_name FROM staff s WHERE s.username = g.ended_by), " \
        "         g.ended_by)") \
    COL(ACCOUNT_GRANT_END_REASON, "g.end_reason") \
    COL(ACCOUNT_GRANT_END_NOTE, "g.end_note") \
    LAST(ACCOUNT_OTHER_ACTIVE, \
         "(SELECT count(*) FROM account_grants og JOIN portal_accounts o " \
         "   ON o.id = og.account_id WHERE og.client_id = g.client_id " \
         "   AND coalesce(og.representative_id, 0) = coalesce(g.representative_id, 0) " \
         "   AND og.status = 'active' AND o.status = 'active' AND o.id <> a.id)")
enum { PM_COLS_ACCOUNT(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_ACCOUNT_LINKABLE: an active login used as a representative at the same
 * address (any representative record, not removed, with an active grant of the login)
 * that a representative invitation may link to instead of creating another login: its
 * password hash (compared in C, never sent), whether its own client is in care, and
 * whether it already reaches the invitation's client */
#define PM_COLS_LINKABLE(COL, LAST) \
    COL(LINK_ACCOUNT_ID, "a.id") \
    COL(LINK_PASSWORD_HASH, "a.password_hash") \
    COL(LINK_HOME_ACTIVE, "hc.active") \
    /* an ended grant is history (031): the login may be joined to the client again */ \
    LAST(LINK_REACHES, \
         "(SELECT count(*) FROM account_grants g WHERE g.account_id = a.id " \
         "   AND g.client_id = %lld AND g.status = 'active')")
enum { PM_COLS_LINKABLE(PM_COL_NAME, PM_COL_NAME) };

/* ---- coming-of-age reviews (016) ----------------------------------------------------- */

/* When a representative's grant g (its representative r) began, for the coming-of-age
 * rules: when the invitation it was accepted from was made (the representative's
 * latest accepted invitation answered by the grant's creation: a home grant's, or a
 * linked one's; one made before the representative was is not theirs), else (a grant
 * another program wrote) its own creation. An invitation sent at 17 and accepted at
 * 18 gave a minor's parent access. Never before PM_GRANT_BEGAN_FLOOR. */
#define PM_GRANT_BEGAN_AT \
    "coalesce((SELECT i.created_at FROM invitations i " \
    "  WHERE i.representative_id = g.representative_id AND i.client_id = g.client_id " \
    "    AND i.kind = 'invite' AND i.status = 'accepted' " \
    "    AND i.responded_at <= g.created_at AND i.created_at >= r.created_at " \
    "  ORDER BY i.id DESC LIMIT 1), g.created_at)"
#define PM_GRANT_BEGAN_FLOOR \
    "CASE WHEN r.created_at < g.created_at THEN r.created_at ELSE g.created_at END"

/* PM_SQL_REVIEW_CANDIDATES, PM_SQL_GRANT_GET_VISIBLE, PM_SQL_MAJORITY_CANDIDATES: a
 * representative's open grant, when it began, its client, representative and
 * account (whether it is due is decided in C, pm_date_review_due) */
#define PM_COLS_REVIEW(COL, LAST) \
    COL(REVIEW_GRANT_ID, "g.id") \
    COL(REVIEW_GRANT_BEGAN_AT, PM_GRANT_BEGAN_AT) \
    COL(REVIEW_GRANT_STATUS, "g.status") \
    COL(REVIEW_DECISION, "g.review_decision") \
    COL(REVIEW_CLIENT_ID, "c.id") \
    COL(REVIEW_CLIENT_FIRST_NAME, "c.first_name") \
    COL(REVIEW_CLIENT_LAST_NAME, "c.last_name") \
    COL(REVIEW_CLIENT_DOB, "c.date_of_birth") \
    COL(REVIEW_REP_ID, "r.id") \
    COL(REVIEW_REP_FIRST_NAME, "r.first_name") \
    COL(REVIEW_REP_LAST_NAME, "r.last_name") \
    COL(REVIEW_REP_RELATIONSHIP, "r.relationship") \
    COL(REVIEW_ACCOUNT_ID, "a.id") \
    LAST(REVIEW_USERNAME, "a.username")
enum { PM_COLS_REVIEW(PM_COL_NAME, PM_COL_NAME) };

/* ---- staff notices (the delivery worker) ------------------------------------------------- */

/* PM_SQL_NOTICE_STAFF: who wants notices, and how far theirs are done */
#define PM_COLS_NOTICE_STAFF(COL, LAST) \
    COL(NSTAFF_USERNAME, "username") \
    COL(NSTAFF_DISPLAY_NAME, "display_name") \
    COL(NSTAFF_EMAIL, "email") \
    COL(NSTAFF_NOTIFY, "notify") \
    COL(NSTAFF_AFTER, "notices_after") \
    COL(NSTAFF_DIGEST_DAY, "digest_day") \
    COL(NSTAFF_ALL_CLIENTS, "all_clients") \
    LAST(NSTAFF_IDLE, "CASE WHEN coalesce(last_seen_at, created_at) >= CAST(%lld AS bigint) " \
                      "THEN 0 ELSE 1 END")
enum { PM_COLS_NOTICE_STAFF(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_NOTICE_EVENTS: audit rows that may be worth a notice, with the client's name */
#define PM_COLS_NOTICE_EVENT(COL, LAST) \
    COL(NEVENT_ID, "a.id") \
    COL(NEVENT_AT, "a.at") \
    COL(NEVENT_ACTION, "a.action") \
    COL(NEVENT_RESULT, "a.result") \
    COL(NEVENT_DETAIL, "a.detail") \
    COL(NEVENT_CLIENT_ID, "a.client_id") \
    COL(NEVENT_FIRST_NAME, "c.first_name") \
    COL(NEVENT_LAST_NAME, "c.last_name") \
    COL(NEVENT_REP_FIRST_NAME, "nr.first_name") \
    LAST(NEVENT_REP_LAST_NAME, "nr.last_name")
enum { PM_COLS_NOTICE_EVENT(PM_COL_NAME, PM_COL_NAME) };

#define PM_REVIEW_FROM \
    "account_grants g JOIN clients c ON c.id = g.client_id " \
    "JOIN representatives r ON r.id = g.representative_id " \
    "JOIN portal_accounts a ON a.id = g.account_id"

/* ---- invitations --------------------------------------------------------------------- */

/* An invitation as the API shows it (PM_SQL_CLIENT_INVITATIONS, INVITATION_ONE):
 * the invitation, its latest email, whether a supersede was an address change
 * (1/0), when its latest email was queued (the resend cooldown counts from it), the
 * display name of its creator */
#define PM_COLS_INV(COL, LAST) \
    COL(INV_ID, "i.id") \
    COL(INV_REP_ID, "i.representative_id") \
    COL(INV_EMAIL, "i.email") \
    COL(INV_STATUS, "i.status") \
    COL(INV_CREATED_BY, "i.created_by") \
    COL(INV_CREATED_AT, "i.created_at") \
    COL(INV_EXPIRES_AT, "i.expires_at") \
    COL(INV_SENT_AT, "i.sent_at") \
    COL(INV_RESPONDED_AT, "i.responded_at") \
    COL(INV_SEND_COUNT, "i.send_count") \
    COL(INV_DELIVERY, PM_DELIVERY_STATUS) \
    COL(INV_DELIVERY_ERROR, \
        "CASE WHEN o.bounce_type = 'hard' THEN o.bounce_reason ELSE o.last_error END") \
    COL(INV_BOUNCE_TYPE, "o.bounce_type") \
    COL(INV_BOUNCE_REASON, "o.bounce_reason") \
    COL(INV_BOUNCED_AT, "o.bounced_at") \
    COL(INV_BOUNCE_CLEARED_AT, "o.bounce_cleared_at") \
    COL(INV_NEXT_ATTEMPT_AT, "o.next_attempt_at") \
    COL(INV_ADDRESS_CHANGED, "CASE WHEN " SQL_ADDRESS_CHANGED("i") " THEN 1 ELSE 0 END") \
    COL(INV_LAST_QUEUED_AT, "o.created_at") \
    LAST(INV_CREATED_BY_NAME, \
         "(SELECT s.display_name FROM staff s WHERE s.username = i.created_by)")
enum { PM_COLS_INV(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_INVITATION_GET_VISIBLE: what a resend or revoke starts from */
#define PM_COLS_VISIBLE_INV(COL, LAST) \
    COL(VISIBLE_INV_ID, "i.id") \
    COL(VISIBLE_INV_CLIENT_ID, "i.client_id") \
    COL(VISIBLE_INV_REP_ID, "i.representative_id") \
    COL(VISIBLE_INV_STATUS, "i.status") \
    COL(VISIBLE_INV_EXPIRES_AT, "i.expires_at") \
    COL(VISIBLE_INV_LAST_QUEUED_AT, \
        "(SELECT max(o.created_at) FROM outbox o WHERE o.invitation_id = i.id)") \
    LAST(VISIBLE_INV_QUEUED_COUNT, \
         "(SELECT count(*) FROM outbox o WHERE o.invitation_id = i.id)")
enum { PM_COLS_VISIBLE_INV(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_INVITATION_RESEND_STATE: what a resend depends on, read inside its
 * transaction: status, sent to the recipient's current address (1/0), its emails
 * that bounced hard, client
 * declined (1/0, client invitations only), active accounts of the recipient */
#define PM_COLS_RESEND_STATE(COL, LAST) \
    COL(RESEND_STATUS, "i.status") \
    COL(RESEND_CURRENT_ADDRESS, \
        "CASE WHEN i.representative_id IS NULL " \
        "     THEN (SELECT CASE WHEN lower(c.email) = lower(i.email) THEN 1 ELSE 0 END " \
        "           FROM clients c WHERE c.id = i.client_id) " \
        "     ELSE (SELECT CASE WHEN lower(r.email) = lower(i.email) " \
        "                       AND r.removed_at IS NULL THEN 1 ELSE 0 END " \
        "           FROM representatives r WHERE r.id = i.representative_id) END") \
    COL(RESEND_BOUNCED, \
        "(SELECT count(*) FROM outbox o WHERE o.invitation_id = i.id " \
        "   AND o.bounce_type = 'hard' AND o.bounce_cleared_at IS NULL)") \
    COL(RESEND_CLIENT_DECLINED, \
        "CASE WHEN i.representative_id IS NULL " \
        "     THEN (SELECT CASE WHEN c.declined_at IS NULL THEN 0 ELSE 1 END " \
        "           FROM clients c WHERE c.id = i.client_id) ELSE 0 END") \
    LAST(RESEND_ACCOUNTS, \
         "(SELECT count(*) FROM account_grants g JOIN portal_accounts a " \
         "   ON a.id = g.account_id WHERE g.client_id = i.client_id " \
         "   AND coalesce(g.representative_id, 0) = coalesce(i.representative_id, 0) " \
         "   AND g.status = 'active' AND a.status = 'active')")
enum { PM_COLS_RESEND_STATE(PM_COL_NAME, PM_COL_NAME) };

/* The new row's id: INSERT ... RETURNING (invitations, representatives, test
 * emails, portal accounts) */
#define PM_COLS_INSERTED(COL, LAST) \
    LAST(INSERTED_ID, "id")
enum { PM_COLS_INSERTED(PM_COL_NAME, PM_COL_NAME) };

/* ---- outbox ------------------------------------------------------------------------------ */

/* PM_SQL_OUTBOX_DUE: a claimed email with what it needs: the invitation's recipient
 * and state (NULL for a test email), the recipient's first name and own language
 * (client or representative; NULL: the practice's default_language), the purpose, a test
 * email's or an address notice's address, when it was queued, the random part of its
 * link, and 1 when a later send of the same invitation exists (this one must not take
 * its link back) */
#define PM_COLS_DUE(COL, LAST) \
    COL(DUE_ID, "o.id") \
    COL(DUE_INVITATION_ID, "o.invitation_id") \
    COL(DUE_MESSAGE_ID, "o.message_id") \
    COL(DUE_ATTEMPTS, "o.attempts") \
    COL(DUE_EMAIL, "i.email") \
    COL(DUE_INV_STATUS, "i.status") \
    COL(DUE_REP_ID, "i.representative_id") \
    COL(DUE_EXPIRES_AT, "i.expires_at") \
    COL(DUE_FIRST_NAME, \
        "CASE WHEN coalesce(i.representative_id, o.representative_id) IS NULL " \
        "THEN c.first_name ELSE r.first_name END") \
    /* a test email's own language, else the recipient's */ \
    COL(DUE_LANGUAGE, \
        "coalesce(o.language, CASE WHEN coalesce(i.representative_id, o.representative_id) " \
        "IS NULL THEN c.preferred_language ELSE r.preferred_language END)") \
    COL(DUE_PURPOSE, "o.purpose") \
    COL(DUE_KIND, "i.kind") \
    COL(DUE_TO_ADDRESS, "o.to_address") \
    /* the invitation's client, or the one an address notice is about */ \
    COL(DUE_CLIENT_ID, "coalesce(i.client_id, o.client_id)") \
    COL(DUE_CREATED_AT, "o.created_at") \
    /* the link's random part (migration 032; NULL: queued before it) */ \
    COL(DUE_TOKEN_NONCE, "o.token_nonce") \
    LAST(DUE_NEWER_SEND, "CASE WHEN EXISTS (SELECT 1 FROM outbox o3 " \
         "WHERE o3.invitation_id = o.invitation_id AND o3.id > o.id) THEN 1 ELSE 0 END")
enum { PM_COLS_DUE(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_OUTBOX_COUNTS: rows per status */
#define PM_COLS_OUTBOX_COUNT(COL, LAST) \
    COL(OUTBOX_COUNT_STATUS, "status") \
    LAST(OUTBOX_COUNT_ROWS, "count(*)")
enum { PM_COLS_OUTBOX_COUNT(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_MONITOR_OUTBOX: the queue at a glance (status section, metrics); a queued
 * row with an error has been tried and waits for its retry */
#define PM_COLS_MONITOR_OUTBOX(COL, LAST) \
    COL(MON_QUEUED, "COALESCE(SUM(CASE WHEN status = 'queued' AND last_error IS NULL " \
                    "THEN 1 ELSE 0 END), 0)") \
    COL(MON_RETRYING, "COALESCE(SUM(CASE WHEN status = 'queued' AND last_error IS NOT NULL " \
                      "THEN 1 ELSE 0 END), 0)") \
    COL(MON_FAILED, "COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0)") \
    LAST(MON_OLDEST_DUE, "MIN(CASE WHEN status = 'queued' THEN next_attempt_at END)")
enum { PM_COLS_MONITOR_OUTBOX(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_MONITOR_INVITATIONS: invitations per status */
#define PM_COLS_MONITOR_INVITATIONS(COL, LAST) \
    COL(MON_INV_STATUS, "status") \
    LAST(MON_INV_ROWS, "count(*)")
enum { PM_COLS_MONITOR_INVITATIONS(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_MONITOR_PING: the health check's one-row read of a real table */
#define PM_COLS_MONITOR_PING(COL, LAST) \
    LAST(MON_PING_ROWS, "count(*)")
enum { PM_COLS_MONITOR_PING(PM_COL_NAME, PM_COL_NAME) };

/* The status the outbox screen shows, read from the stored one (queued, sent,
 * failed): a queued row a worker holds is sending, one tried before or held with the
 * mail server's error (an outage: not tried, but waiting on it) is retrying, as
 * monitoring counts it;
 * a failed row whose error starts "not sent:" never went out (cancelled by staff
 * or replaced by a newer email) and is cancelled. A row with a hard bounce
 * (portal-manager-admin bounce) is bounced whatever was stored: the mail server took
 * it and the recipient's refused it (the staff page's PM_DELIVERY_STATUS). */
#define PM_OUTBOX_SHOWN_STATUS \
    "CASE WHEN o.bounce_type = 'hard' THEN 'bounced' " \
    "WHEN o.status = 'sent' THEN 'sent' " \
    "WHEN o.status = 'failed' AND substr(o.last_error, 1, 9) = 'not sent:' THEN 'cancelled' " \
    "WHEN o.status = 'failed' THEN 'failed' " \
    "WHEN o.lease_until IS NOT NULL THEN 'sending' " \
    "WHEN o.attempts > 0 OR o.last_error IS NOT NULL THEN 'retrying' ELSE 'queued' END"

/* PM_SQL_OUTBOX_PAGE, PM_SQL_OUTBOX_GET */
#define PM_COLS_OUTBOX(COL, LAST) \
    COL(OUTBOX_ID, "o.id") \
    COL(OUTBOX_INVITATION_ID, "o.invitation_id") \
    COL(OUTBOX_CLIENT_ID, "coalesce(i.client_id, o.client_id)") \
    COL(OUTBOX_FIRST_NAME, "c.first_name") \
    COL(OUTBOX_LAST_NAME, "c.last_name") \
    COL(OUTBOX_STATUS, PM_OUTBOX_SHOWN_STATUS) \
    COL(OUTBOX_ATTEMPTS, "o.attempts") \
    COL(OUTBOX_LAST_ERROR, "o.last_error") \
    COL(OUTBOX_CREATED_AT, "o.created_at") \
    COL(OUTBOX_NEXT_ATTEMPT_AT, "o.next_attempt_at") \
    COL(OUTBOX_SENT_AT, "o.sent_at") \
    COL(OUTBOX_BOUNCE_TYPE, "o.bounce_type") \
    COL(OUTBOX_BOUNCE_REASON, "o.bounce_reason") \
    COL(OUTBOX_INVITATION_KIND, "i.kind") \
    COL(OUTBOX_REPRESENTATIVE_ID, "i.representative_id") \
    COL(OUTBOX_TO, "coalesce(i.email, o.to_address)") \
    LAST(OUTBOX_PURPOSE, "o.purpose")
enum { PM_COLS_OUTBOX(PM_COL_NAME, PM_COL_NAME) };

/* ---- representatives ------------------------------------------------------------------ */

/* a representative's active accounts: an active login with an active grant as this
 * representative (its own account, or one it linked from another client's) */
#define REP_ACTIVE_GRANTS \
    "(SELECT count(*) FROM account_grants g JOIN portal_accounts a ON a.id = g.account_id " \
    "   WHERE g.representative_id = r.id AND g.status = 'active' AND a.status = 'active')"
/* active accounts whose grant as this representative ended (a review, say) */
#define REP_ENDED_GRANTS \
    "(SELECT count(*) FROM account_grants g JOIN portal_accounts a ON a.id = g.account_id " \
    "   WHERE g.representative_id = r.id AND g.status = 'ended' AND a.status = 'active')"

/* PM_SQL_CLIENT_REPRESENTATIVES: a client's representatives, with active accounts */
#define PM_COLS_REP(COL, LAST) \
    COL(REP_ID, "r.id") \
    COL(REP_EMAIL, "r.email") \
    COL(REP_FIRST_NAME, "r.first_name") \
    COL(REP_LAST_NAME, "r.last_name") \
    COL(REP_RELATIONSHIP, "r.relationship") \
    COL(REP_LANGUAGE, "r.preferred_language") \
    COL(REP_CREATED_AT, "r.created_at") \
    COL(REP_SCOPES, "r.scopes") \
    COL(REP_STARTS_AT, "r.access_starts_at") \
    COL(REP_ENDS_AT, "r.access_ends_at") \
    COL(REP_ACCOUNTS, REP_ACTIVE_GRANTS) \
    LAST(REP_KEPT_ACCOUNTS, REP_ENDED_GRANTS)
enum { PM_COLS_REP(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_REP_GET_VISIBLE: one representative, its active accounts, its latest
 * invitation's status and expiry, and that invitation's latest delivery */
#define PM_COLS_VISIBLE_REP(COL, LAST) \
    COL(VISIBLE_REP_ID, "r.id") \
    COL(VISIBLE_REP_CLIENT_ID, "r.client_id") \
    COL(VISIBLE_REP_EMAIL, "r.email") \
    COL(VISIBLE_REP_FIRST_NAME, "r.first_name") \
    COL(VISIBLE_REP_LAST_NAME, "r.last_name") \
    COL(VISIBLE_REP_RELATIONSHIP, "r.relationship") \
    COL(VISIBLE_REP_LANGUAGE, "r.preferred_language") \
    COL(VISIBLE_REP_SCOPES, "r.scopes") \
    COL(VISIBLE_REP_STARTS_AT, "r.access_starts_at") \
    COL(VISIBLE_REP_ENDS_AT, "r.access_ends_at") \
    COL(VISIBLE_REP_ACCOUNTS, REP_ACTIVE_GRANTS) \
    COL(VISIBLE_REP_INV_STATUS, "i.status") \
    COL(VISIBLE_REP_INV_EXPIRES_AT, "i.expires_at") \
    LAST(VISIBLE_REP_DELIVERY, "o.status")
enum { PM_COLS_VISIBLE_REP(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_REP_EMAIL_TAKEN */
#define PM_COLS_TAKEN(COL, LAST) \
    LAST(TAKEN_REP_ID, "id")
enum { PM_COLS_TAKEN(PM_COL_NAME, PM_COL_NAME) };

/* ---- the recipient side ---------------------------------------------------------------- */

/* An invitation's recipient's own language (i, c, r: the invitation, its client and
 * its representative): a representative's, or NULL for the practice default, else
 * the client's. */
#define SQL_RECIPIENT_LANGUAGE \
    "CASE WHEN i.representative_id IS NULL THEN c.preferred_language " \
    "ELSE r.preferred_language END"

/* PM_SQL_TOKEN_FIND: the invitation a link names, the recipient's first name and
 * own preferred_language (the representative's, NULL = none, else the client's),
 * and whether a supersede was an address change (1/0). The date of birth never
 * leaves the database on this side: it is compared inside
 * PM_SQL_VERIFY_RESERVE_CLIENT. */
#define PM_COLS_TOKEN(COL, LAST) \
    COL(TOKEN_INV_ID, "i.id") \
    COL(TOKEN_CLIENT_ID, "i.client_id") \
    COL(TOKEN_REP_ID, "i.representative_id") \
    COL(TOKEN_EMAIL, "i.email") \
    COL(TOKEN_STATUS, "i.status") \
    COL(TOKEN_EXPIRES_AT, "i.expires_at") \
    COL(TOKEN_VERIFY_FAILURES, "i.verify_failures") \
    COL(TOKEN_FIRST_NAME, \
        "CASE WHEN i.representative_id IS NULL THEN c.first_name ELSE r.first_name END") \
    COL(TOKEN_LANGUAGE, SQL_RECIPIENT_LANGUAGE) \
    COL(TOKEN_KIND, "i.kind") \
    COL(TOKEN_ACCOUNT_ID, "i.account_id") \
    COL(TOKEN_USERNAME, "a.username") \
    /* a reset's account must still be active (an invitation has none: 1) */ \
    COL(TOKEN_ACCOUNT_ACTIVE, \
        "CASE WHEN i.account_id IS NULL OR a.status = 'active' THEN 1 ELSE 0 END") \
    /* a representative's access end (epoch seconds; NULL: open, or the client's own) */ \
    COL(TOKEN_ACCESS_ENDS_AT, "r.access_ends_at") \
    LAST(TOKEN_ADDRESS_CHANGED, "CASE WHEN " SQL_ADDRESS_CHANGED("i") " THEN 1 ELSE 0 END")
enum { PM_COLS_TOKEN(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_TOKEN_SUPERSEDED: a retired token's invitation, its recipient's own
 * preferred_language, and whether that one ended with an email change (1/0) rather
 * than a newer link to the same address */
#define PM_COLS_RETIRED_TOKEN(COL, LAST) \
    COL(RETIRED_INV_ID, "s.invitation_id") \
    COL(RETIRED_LANGUAGE, SQL_RECIPIENT_LANGUAGE) \
    COL(RETIRED_KIND, "i.kind") \
    LAST(RETIRED_ADDRESS_CHANGED, "CASE WHEN " SQL_ADDRESS_CHANGED("i") " THEN 1 ELSE 0 END")
enum { PM_COLS_RETIRED_TOKEN(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_VERIFY_RESERVE_CLIENT returns: 1 = the date matches, 0 = it does not
 * (NULL date: 0), and the client's attempts so far. The %s is the statement's
 * last argument: the date given. */
#define PM_COLS_RESERVED(COL, LAST) \
    COL(RESERVED_DATE_MATCHES, "CASE WHEN date_of_birth = %s THEN 1 ELSE 0 END") \
    LAST(RESERVED_FAILURES, "verify_failures")
enum { PM_COLS_RESERVED(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_VERIFY_RESERVE_RESET returns the same two columns, in the same places, for a
 * password reset link: 1 when the date is that of any client the link's login reaches
 * now (an active grant whose last day has not passed: a login shared by a
 * representative of several clients is theirs for each of them). Its arguments, after
 * the statement's own: the link's invitation id, now, the date given. */
#define PM_COLS_RESERVED_RESET(COL, LAST) \
    COL(RESERVED_RESET_DATE_MATCHES, \
        "CASE WHEN EXISTS (SELECT 1 FROM invitations ri " \
        "  JOIN account_grants rg ON rg.account_id = ri.account_id " \
        "  JOIN clients rc ON rc.id = rg.client_id " \
        "  WHERE ri.id = %lld AND rg.status = 'active' " \
        "    AND (rg.ends_at IS NULL OR rg.ends_at > %lld) AND rc.date_of_birth = %s) " \
        "THEN 1 ELSE 0 END") \
    LAST(RESERVED_RESET_FAILURES, "verify_failures")
enum { PM_COLS_RESERVED_RESET(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_VERIFY_LOCK_INVITATION returns the invitation's attempts and status */
#define PM_COLS_LOCKED(COL, LAST) \
    COL(LOCKED_FAILURES, "verify_failures") \
    LAST(LOCKED_STATUS, "status")
enum { PM_COLS_LOCKED(PM_COL_NAME, PM_COL_NAME) };

/* ---- audit ------------------------------------------------------------------------------- */

/* PM_SQL_AUDIT_SEARCH (the whole trail) and PM_SQL_AUDIT_BY_CLIENT (one client's):
 * one shape, so one JSON builder (pm_audit_page_json) reads both; the client's
 * names (NULL for rows without a client) and the staff member's display name (NULL
 * for a user with no staff row) are read by primary key. A client's names only for
 * a reader who may see that client (AUDIT_NAME_SEEN: 1 when the reader sees every
 * client, and the reader's user name; twice, once per name, before the statement's
 * own arguments): a champion with a caseload reads the whole trail, but the names of
 * other clients are not theirs to read; the number stays. */
#define AUDIT_NAME_SEEN \
    "(CAST(%d AS integer) = 1 OR EXISTS (SELECT 1 FROM staff_clients sc " \
    " WHERE sc.username = %s AND sc.client_id = audit_log.client_id))"
#define PM_COLS_AUDIT(COL, LAST) \
    COL(AUDIT_ID, "id") \
    COL(AUDIT_AT, "at") \
    COL(AUDIT_USERNAME, "username") \
    COL(AUDIT_ACTION, "action") \
    COL(AUDIT_CLIENT_ID, "client_id") \
    COL(AUDIT_OBJECT_ID, "object_id") \
    COL(AUDIT_RESULT, "result") \
    COL(AUDIT_DETAIL, "detail") \
    COL(AUDIT_REMOTE_IP, "remote_ip") \
    COL(AUDIT_REQUEST_ID, "request_id") \
    COL(AUDIT_CLIENT_FIRST, "(SELECT first_name FROM clients WHERE clients.id = audit_log.client_id" \
                            " AND " AUDIT_NAME_SEEN ")") \
    COL(AUDIT_CLIENT_LAST, "(SELECT last_name FROM clients WHERE clients.id = audit_log.client_id" \
                           " AND " AUDIT_NAME_SEEN ")") \
    LAST(AUDIT_STAFF_NAME, "(SELECT display_name FROM staff WHERE staff.username = audit_log.username)")
enum { PM_COLS_AUDIT(PM_COL_NAME, PM_COL_NAME) };

/* The Overview screen (pm_api_overview.c). Rows come grouped by quarter hour (the
 * time column / 900), so C can put each into the practice's day or month: every
 * time zone's offset, and so every local midnight, is a whole number of quarter
 * hours. An email is "sent" when the mail server took it; "cancelled" ones (a
 * last_error starting "not sent:") are neither sent nor failed. */
#define SQL_OV_SENT(inv) \
    "EXISTS (SELECT 1 FROM outbox os WHERE os.invitation_id = " inv ".id AND os.status = 'sent')"
#define SQL_OV_BOUNCED(inv) \
    "EXISTS (SELECT 1 FROM outbox ob WHERE ob.invitation_id = " inv ".id " \
    "        AND ob.bounce_type = 'hard')"
#define SQL_OV_REAL_FAILURE(o) \
    "(" o ".status = 'failed' AND (" o ".last_error IS NULL " \
    " OR substr(" o ".last_error, 1, 9) <> 'not sent:'))"
#define SQL_OV_LATEST_FAILED(inv) \
    "EXISTS (SELECT 1 FROM outbox ol WHERE ol.id = (SELECT max(ol2.id) FROM outbox ol2 " \
    "        WHERE ol2.invitation_id = " inv ".id) AND " SQL_OV_REAL_FAILURE("ol") ")"
#define SQL_OV_COUNT_IF(cond) "sum(CASE WHEN " cond " THEN 1 ELSE 0 END)"

/* PM_SQL_OVERVIEW_FUNNEL: invitations made in a quarter hour, and what became of them */
#define PM_COLS_OVERVIEW_FUNNEL(COL, LAST) \
    COL(OV_FUNNEL_QUARTER, "i.created_at / 900") \
    COL(OV_INVITED, "count(*)") \
    COL(OV_DELIVERED, SQL_OV_COUNT_IF(SQL_OV_SENT("i") " AND NOT " SQL_OV_BOUNCED("i"))) \
    COL(OV_ACCEPTED, SQL_OV_COUNT_IF("i.status = 'accepted'")) \
    COL(OV_DECLINED, SQL_OV_COUNT_IF("i.status = 'declined'")) \
    COL(OV_EXPIRED, SQL_OV_COUNT_IF("i.status = 'pending' AND i.expires_at <= %lld")) \
    COL(OV_FAILED, SQL_OV_COUNT_IF("NOT " SQL_OV_SENT("i") " AND " SQL_OV_LATEST_FAILED("i"))) \
    COL(OV_BOUNCED, SQL_OV_COUNT_IF(SQL_OV_BOUNCED("i"))) \
    COL(OV_WAITING, SQL_OV_COUNT_IF("i.status = 'pending' AND i.expires_at > %lld")) \
    COL(OV_LOCKED, SQL_OV_COUNT_IF("i.status = 'locked'")) \
    LAST(OV_ENDED, SQL_OV_COUNT_IF("i.status IN ('revoked', 'superseded')"))
enum { PM_COLS_OVERVIEW_FUNNEL(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_OVERVIEW_DELIVERY: emails queued in a quarter hour, and how they went: one
 * that bounced hard (portal-manager-admin bounce) is bounced, not sent */
#define SQL_OV_NOT_BOUNCED(o) "(" o ".bounce_type IS NULL OR " o ".bounce_type <> 'hard')"
#define PM_COLS_OVERVIEW_DELIVERY(COL, LAST) \
    COL(OV_DELIVERY_QUARTER, "o.created_at / 900") \
    COL(OV_SENT, SQL_OV_COUNT_IF("o.status = 'sent' AND " SQL_OV_NOT_BOUNCED("o"))) \
    COL(OV_RETRIED, SQL_OV_COUNT_IF("o.attempts >= 2 OR (o.status = 'queued' AND o.attempts >= 1 " \
                                    "AND o.lease_until IS NULL)")) \
    COL(OV_DELIVERY_FAILED, SQL_OV_COUNT_IF(SQL_OV_REAL_FAILURE("o") " AND " \
                                            SQL_OV_NOT_BOUNCED("o"))) \
    LAST(OV_DELIVERY_BOUNCED, SQL_OV_COUNT_IF("o.bounce_type = 'hard'"))
enum { PM_COLS_OVERVIEW_DELIVERY(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_AUDIT_TEST_EMAILS: a champion's test emails since a time: how many,
 * and the oldest's time */
#define PM_COLS_TEST_EMAILS(COL, LAST) \
    COL(TEST_EMAILS_COUNT, "count(*)") \
    LAST(TEST_EMAILS_OLDEST_AT, "min(at)")
enum { PM_COLS_TEST_EMAILS(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_AUDIT_CHAIN_HEAD: the chain's head (the last row's place and hash) */
#define PM_COLS_CHAIN_HEAD(COL, LAST) \
    COL(CHAIN_HEAD_SEQ, "seq") \
    LAST(CHAIN_HEAD_HASH, "hash")
enum { PM_COLS_CHAIN_HEAD(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_ADMIN_AUDIT_CHAIN_STATE: the head, the anchor and what came before */
#define PM_COLS_CHAIN_STATE(COL, LAST) \
    COL(CHAIN_STATE_SEQ, "seq") \
    COL(CHAIN_STATE_HASH, "hash") \
    COL(CHAIN_STATE_ANCHOR_SEQ, "anchor_seq") \
    COL(CHAIN_STATE_ANCHOR_HASH, "anchor_hash") \
    COL(CHAIN_STATE_PRE_ROWS, "pre_chain_rows") \
    LAST(CHAIN_STATE_PRE_MAX, "pre_chain_max")
enum { PM_COLS_CHAIN_STATE(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_ADMIN_AUDIT_CHAIN_PAGE, _PAST_HEAD: a chained row; the hashed fields
 * follow CHAIN_ROW_AT in PM_SQL_AUDIT_INSERT's order */
#define PM_COLS_CHAIN_ROW(COL, LAST) \
    COL(CHAIN_ROW_ID, "id") \
    COL(CHAIN_ROW_SEQ, "chain_seq") \
    COL(CHAIN_ROW_HASH, "row_hash") \
    COL(CHAIN_ROW_AT, "at") \
    COL(CHAIN_ROW_USERNAME, "username") \
    COL(CHAIN_ROW_ACTION, "action") \
    COL(CHAIN_ROW_CLIENT_ID, "client_id") \
    COL(CHAIN_ROW_OBJECT_ID, "object_id") \
    COL(CHAIN_ROW_RESULT, "result") \
    COL(CHAIN_ROW_DETAIL, "detail") \
    COL(CHAIN_ROW_REMOTE_IP, "remote_ip") \
    LAST(CHAIN_ROW_REQUEST_ID, "request_id")
enum { PM_COLS_CHAIN_ROW(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_ADMIN_AUDIT_UNCHAINED: the first row outside the chain that is newer than
 * the chain (0: none), and how many rows from before the chain there are */
#define PM_COLS_UNCHAINED(COL, LAST) \
    COL(UNCHAINED_ID, "coalesce((SELECT min(id) FROM audit_log " \
                      "WHERE chain_seq IS NULL AND id > CAST(%s AS bigint)), 0)") \
    LAST(UNCHAINED_PRE_ROWS, "(SELECT count(*) FROM audit_log " \
                             "WHERE chain_seq IS NULL AND id <= CAST(%s AS bigint))")
enum { PM_COLS_UNCHAINED(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_ADMIN_AUDIT_PRUNE_RECORDS: an audit.prune row's detail
 * ({"rows", "before", "anchor_seq"}) */
#define PM_COLS_PRUNE_RECORD(COL, LAST) \
    LAST(PRUNE_RECORD_DETAIL, "detail")
enum { PM_COLS_PRUNE_RECORD(PM_COL_NAME, PM_COL_NAME) };

/* ---- portal-manager-admin ------------------------------------------------------------ */

/* a count, a schema version: one number */
/* PM_SQL_ADMIN_CLIENT_NAMESAKE: the first client with this name and date of birth */
#define PM_COLS_NAMESAKE(COL, LAST) \
    LAST(NAMESAKE_ID, "id")
enum { PM_COLS_NAMESAKE(PM_COL_NAME, PM_COL_NAME) };

#define PM_COLS_COUNT(COL, LAST) \
    LAST(COUNT_N, "count(*)")
enum { PM_COLS_COUNT(PM_COL_NAME, PM_COL_NAME) };
#define PM_COLS_NEXT_DUE(COL, LAST) \
    LAST(NEXT_DUE_AT, "min(next_attempt_at)")
enum { PM_COLS_NEXT_DUE(PM_COL_NAME, PM_COL_NAME) };
#define PM_COLS_SCHEMA_VERSION(COL, LAST) \
    LAST(SCHEMA_VERSION, "max(version)")
enum { PM_COLS_SCHEMA_VERSION(PM_COL_NAME, PM_COL_NAME) };

/* `staff list`: printed as they come, in this order */
#define PM_COLS_ADMIN_STAFF(COL, LAST) \
    COL(ADMIN_STAFF_USERNAME, "s.username") \
    COL(ADMIN_STAFF_DISPLAY_NAME, "s.display_name") \
    COL(ADMIN_STAFF_ALL_CLIENTS, "s.all_clients") \
    COL(ADMIN_STAFF_ACTIVE, "s.active") \
    COL(ADMIN_STAFF_GRANTED, \
        "(SELECT count(*) FROM staff_clients g WHERE g.username = s.username)") \
    COL(ADMIN_STAFF_EMAIL, "s.email") \
    COL(ADMIN_STAFF_NOTIFY, "s.notify") \
    LAST(ADMIN_STAFF_LAST_SEEN, "s.last_seen_at")
enum { PM_COLS_ADMIN_STAFF(PM_COL_NAME, PM_COL_NAME) };

/* `clients list`: printed as they come, in this order */
#define PM_COLS_ADMIN_CLIENT(COL, LAST) \
    COL(ADMIN_CLIENT_ID, "id") \
    COL(ADMIN_CLIENT_LAST_NAME, "last_name") \
    COL(ADMIN_CLIENT_FIRST_NAME, "first_name") \
    COL(ADMIN_CLIENT_DATE_OF_BIRTH, "date_of_birth") \
    LAST(ADMIN_CLIENT_EMAIL, "coalesce(email, '')")
enum { PM_COLS_ADMIN_CLIENT(PM_COL_NAME, PM_COL_NAME) };

/* PM_SQL_BOUNCE_TARGET: the outbox row a bounce names, its bounce so far, and the
 * client and invitation it was for (NULL for a test email) */
#define PM_COLS_BOUNCE_TARGET(COL, LAST) \
    COL(BOUNCE_OUTBOX_ID, "o.id") \
    COL(BOUNCE_TYPE, "o.bounce_type") \
    COL(BOUNCE_INVITATION_ID, "o.invitation_id") \
    COL(BOUNCE_PURPOSE, "o.purpose") \
    LAST(BOUNCE_CLIENT_ID, "coalesce(i.client_id, o.client_id)")
enum { PM_COLS_BOUNCE_TARGET(PM_COL_NAME, PM_COL_NAME) };

/* `staff sync-caseloads`: a staff member's granted clients, with their chart numbers */
#define PM_COLS_CASELOAD(COL, LAST) \
    COL(CASELOAD_CLIENT_ID, "client_id") \
    LAST(CASELOAD_EXTERNAL_ID, "external_id")
enum { PM_COLS_CASELOAD(PM_COL_NAME, PM_COL_NAME) };

#endif
