/* pm_notices.c — staff notices (issue 15). The audit trail is the record of what
 * happened; a staff member with an email and notify "immediate" or "daily" gets the
 * events on their caseload worth a notice (accepted, declined by the recipient, an
 * email that failed or bounced, or that went out after all on a retry, an invitation
 * locked) with the client's first name and
 * last initial and a link to the client view, never an address or a note. A mark per
 * person (staff.notices_after, an audit id) says how far theirs are done: moving it is
 * the claim, so two workers never send one notice twice; a relay that refuses puts it
 * back for the next pass. Only to staff seen within staff_notice_max_idle_days
 * (staff.last_seen_at, issue 11): an idle person's mark is dropped, and when they
 * are seen again their notices start from then. */
#include "pm_notices.h"
#include "pm_locale.h"
#include "pm_mail_format.h"
#include "pm_outbox.h"
#include "pm_settings.h"
#include "pm_store.h"
#include "pm_text.h"

#include <jansson.h>

APLOG_USE_MODULE(portal_manager);

#define IMMEDIATE_MAX  50            /* events per immediate notice; the rest next time */
#define DIGEST_MAX     200           /* events a digest lists; it says when there were more */
#define DIGEST_HOUR    7             /* practice time */

static apr_time_t last_pass;         /* the worker thread's own */

/* Addresses the relay refused for good (5xx): that person's notices wait (their mark
 * stays) and are tried again after REFUSED_FIRST, doubling up to REFUSED_MAX, or at
 * once when their address changes; the others' notices go on. The worker thread's
 * own, like last_pass; a restart forgets them (one more try each). */
#define REFUSED_SLOTS 64
#define REFUSED_FIRST apr_time_from_sec(60)
#define REFUSED_MAX   apr_time_from_sec(6 * 3600)
static struct {
    char user[128], email[256];
    apr_time_t next, delay;
} refused[REFUSED_SLOTS];

typedef struct {
    server_rec *s;
    apr_pool_t *p;
    pm_db *db;
    pm_settings st;
    long long now, last_id;          /* the trail's end when this pass began */
    long long seen_since;            /* staff last seen before this are idle; 0: none */
    const char *today;               /* practice time, YYYY-MM-DD */
    int hour;                        /* practice time */
    pm_smtp *smtp;                   /* opened for the first notice */
    int relay_failed;                /* stop this pass: the rest waits too */
} notice_run;

typedef struct {
    const char *subject, *text, *html;
    int events;
} notice_mail;

/* Whether an audit row's JSON detail has key equal to value (NULL: key is true). */
static int detail_says(const char *detail, const char *key, const char *value)
{
    json_t *doc = detail ? json_loads(detail, 0, NULL) : NULL;
    json_t *v = doc ? json_object_get(doc, key) : NULL;
    int yes = value ? json_is_string(v) && strcmp(json_string_value(v), value) == 0
                    : json_is_true(v);

    json_decref(doc);
    return yes;
}

/* "Ana L.": the first name and the last name's first character (UTF-8). */
static const char *short_name(apr_pool_t *p, const char *first, const char *last)
{
    unsigned char c = last ? (unsigned char)last[0] : 0;
    int n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    int i;

    if (c == 0) {
        return first ? first : "";
    }
    for (i = 1; i < n; i++) {
        if (last[i] == '\0') {
            n = i;
            break;
        }
    }
    return apr_psprintf(p, "%s %.*s.", first ? first : "", n, last);
}

/* What an audit row says in a notice, or NULL when it is not worth one. An event
 * of a representative's invitation names the representative ("representative
 * Tom B. accepted the invitation"): the client did nothing. */
static const char *event_words(apr_pool_t *p, const pm_row *row)
{
    const char *action = pm_row_str(row, NEVENT_ACTION);
    const char *result = pm_row_str(row, NEVENT_RESULT);
    const char *detail = pm_row_str(row, NEVENT_DETAIL);
    const char *rep_first = pm_row_str(row, NEVENT_REP_FIRST_NAME);
    const char *rep = rep_first ? apr_pstrcat(p, "representative ", short_name(p, rep_first,
                                              pm_row_str(row, NEVENT_REP_LAST_NAME)), NULL)
                                : NULL;
    int ok = result && strcmp(result, "ok") == 0;

    if (strcmp(action, "invitation.accept") == 0) {
        return !ok ? NULL : rep ? apr_pstrcat(p, rep, " accepted the invitation", NULL)
                                : "invitation accepted";
    }
    if (strcmp(action, "invitation.decline") == 0) {
        return !ok ? NULL : rep ? apr_pstrcat(p, rep, " declined the invitation", NULL)
                                : "invitation declined by the recipient";
    }
    if (strcmp(action, "email.failed") == 0
        && detail_says(detail, "purpose", "address_notice")) {
        return "the notice of an email address change (to the old address) could not be "
               "delivered";
    }
    if (strcmp(action, "email.delivered") == 0
        && detail_says(detail, "purpose", "address_notice")) {
        return "the notice of an email address change that could not be delivered went out "
               "after all";
    }
    if (strcmp(action, "email.failed") == 0) {
        return rep ? apr_pstrcat(p, "the invitation email to ", rep, " could not be delivered",
                                 NULL)
                   : "the invitation email could not be delivered";
    }
    if (strcmp(action, "email.delivered") == 0) {       /* only after a failure */
        return rep ? apr_pstrcat(p, "the invitation email to ", rep, " that could not be "
                                 "delivered went out after all", NULL)
                   : "the invitation email that could not be delivered went out after all";
    }
    if (strcmp(action, "email.bounced") == 0) {
        /* an old address that no longer works is no news (issue 14) */
        return !detail_says(detail, "type", "hard")
               || detail_says(detail, "purpose", "address_notice") ? NULL
               : rep ? apr_pstrcat(p, "the invitation email to ", rep, " bounced", NULL)
                     : "the invitation email bounced";
    }
    if (strcmp(action, "invitation.verify_failed") == 0) {
        return !detail_says(detail, "locked", NULL) ? NULL
               : rep ? apr_pstrcat(p, "the invitation of ", rep, " locked (too many wrong "
                                   "dates of birth)", NULL)
                     : "invitation locked (too many wrong dates of birth)";
    }
    return NULL;
}

static const char *client_link(notice_run *run, const char *client_id)
{
    const char *base = pm_server_config(run->s)->staff_url;

    return base ? apr_pstrcat(run->p, base, "#client=", client_id, NULL) : NULL;
}

/* One event as a text line (and its link) and an HTML list item. */
static void add_event(notice_run *run, const pm_row *row, const char *words,
                      apr_array_header_t *text, apr_array_header_t *html)
{
    apr_pool_t *p = run->p;
    const char *who = short_name(p, pm_row_str(row, NEVENT_FIRST_NAME),
                                 pm_row_str(row, NEVENT_LAST_NAME));
    const char *when = pm_outbox_date_time(p, &run->st, "en", pm_row_int(row, NEVENT_AT, 0));
    const char *link = client_link(run, pm_row_str(row, NEVENT_CLIENT_ID));
    const char *line = apr_psprintf(p, "%s: %s (%s)", who, words, when);

    APR_ARRAY_PUSH(text, const char *) = apr_pstrcat(p, "- ", line, "\r\n",
                                                     link ? "  " : "", link ? link : "",
                                                     link ? "\r\n" : "", NULL);
    APR_ARRAY_PUSH(html, const char *) = link
        ? apr_pstrcat(p, "<li><a href=\"", pm_html_escape(p, link), "\">",
                      pm_html_escape(p, line), "</a></li>", NULL)
        : apr_pstrcat(p, "<li>", pm_html_escape(p, line), "</li>", NULL);
}

/* The notice for these rows; mail->events 0 when none is worth one. */
static void compose(notice_run *run, const pm_row *staff, const apr_array_header_t *rows,
                    int digest, int more, notice_mail *mail)
{
    apr_pool_t *p = run->p;
    apr_array_header_t *text = apr_array_make(p, 8, sizeof(const char *));
    apr_array_header_t *html = apr_array_make(p, 8, sizeof(const char *));
    const char *name = pm_html_escape(p, pm_row_str(staff, NSTAFF_DISPLAY_NAME));
    const char *why, *more_line = "";
    int i;

    mail->events = 0;
    for (i = 0; i < rows->nelts; i++) {
        const pm_row *row = &APR_ARRAY_IDX(rows, i, pm_row);
        const char *words = event_words(p, row);
        if (words) {
            add_event(run, row, words, text, html);
            mail->events++;
        }
    }
    if (mail->events == 0) {
        return;
    }
    if (more) {
        more_line = "More happened than fits in one email: open the staff page for the rest.";
    }
    why = digest ? "\"A daily digest\"" : "\"At once\"";
    mail->subject = digest
        ? apr_psprintf(p, "Client Portal Manager: your daily digest (%d update%s)",
                       mail->events, mail->events == 1 ? "" : "s")
        : apr_psprintf(p, "Client Portal Manager: %d update%s for your clients",
                       mail->events, mail->events == 1 ? "" : "s");
    mail->text = apr_pstrcat(p, "Hello ", pm_row_str(staff, NSTAFF_DISPLAY_NAME), ",\r\n\r\n",
                             "This is what happened for your clients:\r\n\r\n",
                             apr_array_pstrcat(p, text, '\0'), "\r\n", more_line,
                             *more_line ? "\r\n\r\n" : "",
                             "You get these emails because your notices on the Client "
                             "Portal Manager's staff page are set to ", why, "; you can "
                             "change that there.\r\n", NULL);
    mail->html = apr_pstrcat(p, "<!DOCTYPE html><html lang=\"en\"><body><p>Hello ", name,
                             ",</p><p>This is what happened for your clients:</p><ul>",
                             apr_array_pstrcat(p, html, '\0'), "</ul>",
                             *more_line ? "<p>" : "", more_line, *more_line ? "</p>" : "",
                             "<p>You get these emails because your notices on the Client "
                             "Portal Manager's staff page are set to ", pm_html_escape(p, why),
                             "; you can change that there.</p></body></html>", NULL);
}

static pm_send_result send_mail(notice_run *run, const pm_row *staff, const notice_mail *mail,
                                const char **error)
{
    pm_server_conf *conf = pm_server_config(run->s);
    pm_mail_message m;

    if (run->smtp == NULL) {
        run->smtp = pm_outbox_open_smtp(run->s, run->p, conf->mail_timeout != PM_UNSET
                                                        ? conf->mail_timeout
                                                        : PM_DEFAULT_MAIL_TIMEOUT);
    }
    memset(&m, 0, sizeof(m));
    m.to_name = pm_row_str(staff, NSTAFF_DISPLAY_NAME);
    m.to_addr = pm_row_str(staff, NSTAFF_EMAIL);
    m.subject = mail->subject;
    m.text = mail->text;
    m.html = mail->html;
    m.lang = "en";                /* the staff pages' language */
    m.message_id = pm_outbox_message_id(run->p, run->s);
    m.date = apr_time_now();
    return run->smtp ? pm_smtp_send(run->smtp, run->p, &m, error) : PM_SEND_RELAY_DOWN;
}

/* The slot of a person whose current address was refused, or -1 (a changed address
 * frees the slot). */
static int refused_slot(const char *user, const char *email)
{
    int i;

    for (i = 0; i < REFUSED_SLOTS; i++) {
        if (refused[i].next != 0 && strcmp(refused[i].user, user) == 0) {
            if (strcmp(refused[i].email, email ? email : "") != 0) {
                refused[i].next = 0;             /* a new address: try it now */
                return -1;
            }
            return i;
        }
    }
    return -1;
}

/* Whether this person's notices wait for their refused address's next try. */
static int refused_waits(const pm_row *staff)
{
    int i = refused_slot(pm_row_str(staff, NSTAFF_USERNAME), pm_row_str(staff, NSTAFF_EMAIL));

    return i >= 0 && apr_time_now() < refused[i].next;
}

/* A 5xx for this person's address: their next try after the doubled delay; logged at
 * warning the first time, then at info. */
static void note_refused(notice_run *run, const pm_row *staff, const char *error)
{
    const char *user = pm_row_str(staff, NSTAFF_USERNAME), *email = pm_row_str(staff, NSTAFF_EMAIL);
    int i = refused_slot(user, email), first = i < 0;

    if (first) {
        for (i = 0; i < REFUSED_SLOTS && refused[i].next != 0; i++) {
        }
        if (i == REFUSED_SLOTS) {
            i = 0;                               /* all taken: the first one's goes */
        }
        apr_cpystrn(refused[i].user, user, sizeof(refused[i].user));
        apr_cpystrn(refused[i].email, email ? email : "", sizeof(refused[i].email));
        refused[i].delay = REFUSED_FIRST;
    }
    else if ((refused[i].delay *= 2) > REFUSED_MAX) {
        refused[i].delay = REFUSED_MAX;
    }
    refused[i].next = apr_time_now() + refused[i].delay;
    ap_log_error(APLOG_MARK, first ? APLOG_WARNING : APLOG_INFO, 0, run->s, PM_LOGNO(00707)
                 "staff notice for %s refused by the mail server: %s; that person's notices "
                 "wait and are tried again in %d minute(s), or when their address changes "
                 "(portal-manager-admin staff update %s --email ADDRESS)", user,
                 pm_mask_reply(run->p, error, email), (int)apr_time_sec(refused[i].delay) / 60,
                 user);
}

static void forget_refused(const pm_row *staff)
{
    int i = refused_slot(pm_row_str(staff, NSTAFF_USERNAME), pm_row_str(staff, NSTAFF_EMAIL));

    if (i >= 0) {
        refused[i].next = 0;
    }
}

/* Sends the notice the mark was moved for; a refusal moves the mark back. A relay that
 * fails (down, 4xx) ends the pass for everyone; a refused address only its owner's. */
static void deliver(notice_run *run, const pm_row *staff, const notice_mail *mail,
                    long long before, long long moved_to)
{
    const char *user = pm_row_str(staff, NSTAFF_USERNAME), *error = "no SMTP sender";
    apr_pool_t *p = run->p;
    pm_send_result r = send_mail(run, staff, mail, &error);

    if (r == PM_SEND_OK) {
        forget_refused(staff);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, run->s, PM_LOGNO(00590)
                     "staff notice sent to %s (%d event(s))", user, mail->events);
        return;
    }
    pm_db_exec(run->db, PM_SQL_NOTICE_UNDO, NULL, pm_arg_int(p, before),
               pm_row_str(staff, NSTAFF_DIGEST_DAY), user, pm_arg_int(p, moved_to));
    if (r == PM_SEND_FAILED) {
        note_refused(run, staff, error);
        return;
    }
    run->relay_failed = 1;
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, run->s, PM_LOGNO(00591)
                 "staff notice for %s not sent, tried again later: %s", user,
                 pm_mask_reply(p, error, pm_row_str(staff, NSTAFF_EMAIL)));
}

static int read_events(notice_run *run, const pm_row *staff, long long after, int limit,
                       apr_array_header_t **rows)
{
    apr_pool_t *p = run->p;

    return pm_db_select(run->db, PM_SQL_NOTICE_EVENTS, rows, pm_arg_int(p, after),
                        pm_arg_int(p, run->last_id),
                        pm_row_int(staff, NSTAFF_ALL_CLIENTS, 0) == 1 ? "1" : "0",
                        pm_row_str(staff, NSTAFF_USERNAME), pm_arg_int(p, limit)) == APR_SUCCESS;
}

/* notify immediate: what is new since the mark, at most IMMEDIATE_MAX events a time */
static void serve_immediate(notice_run *run, const pm_row *staff, long long after)
{
    apr_pool_t *p = run->p;
    apr_array_header_t *rows;
    notice_mail mail;
    long long upto = run->last_id;
    int moved = 0;

    if (!read_events(run, staff, after, IMMEDIATE_MAX, &rows)) {
        return;
    }
    if (rows->nelts == IMMEDIATE_MAX) {      /* the rest next time */
        upto = pm_row_int(&APR_ARRAY_IDX(rows, rows->nelts - 1, pm_row), NEVENT_ID, after);
    }
    compose(run, staff, rows, 0, 0, &mail);
    if (pm_db_exec(run->db, PM_SQL_NOTICE_ADVANCE, &moved, pm_arg_int(p, upto),
                   pm_row_str(staff, NSTAFF_USERNAME), pm_arg_int(p, after)) != APR_SUCCESS
        || moved != 1 || mail.events == 0) {
        return;                              /* another worker's, or nothing to say */
    }
    deliver(run, staff, &mail, after, upto);
}

/* notify daily: once a practice day from DIGEST_HOUR, everything since the mark */
static void serve_digest(notice_run *run, const pm_row *staff, long long after)
{
    apr_pool_t *p = run->p;
    const char *day = pm_row_str(staff, NSTAFF_DIGEST_DAY);
    apr_array_header_t *rows;
    notice_mail mail;
    int moved = 0;

    if (run->hour < DIGEST_HOUR || (day && strcmp(day, run->today) == 0)
        || !read_events(run, staff, after, DIGEST_MAX + 1, &rows)) {
        return;
    }
    if (rows->nelts > DIGEST_MAX) {
        rows->nelts = DIGEST_MAX;
    }
    compose(run, staff, rows, 1, rows->nelts == DIGEST_MAX, &mail);
    if (pm_db_exec(run->db, PM_SQL_NOTICE_DIGEST, &moved, pm_arg_int(p, run->last_id),
                   run->today, pm_row_str(staff, NSTAFF_USERNAME), pm_arg_int(p, after),
                   run->today) != APR_SUCCESS
        || moved != 1 || mail.events == 0) {
        return;
    }
    deliver(run, staff, &mail, after, run->last_id);
}

/* Not seen within staff_notice_max_idle_days (removed from the login source, or
 * away): no notices, and the mark goes, so that when they are seen again their
 * notices start from then, not with what happened while they were away. */
static void pause_idle(notice_run *run, const pm_row *staff, long long after)
{
    const char *user = pm_row_str(staff, NSTAFF_USERNAME);
    int paused = 0;

    if (pm_db_exec(run->db, PM_SQL_NOTICE_PAUSE, &paused, user, pm_arg_int(run->p, after))
        == APR_SUCCESS && paused == 1) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, run->s, PM_LOGNO(00630)
                     "staff notices for %s paused: not seen in %d days "
                     "(staff_notice_max_idle_days)", user,
                     (int)run->st.staff_notice_max_idle_days);
    }
}

static void serve(notice_run *run, const pm_row *staff)
{
    const char *user = pm_row_str(staff, NSTAFF_USERNAME);
    long long after = pm_row_int(staff, NSTAFF_AFTER, -1);

    if (pm_row_int(staff, NSTAFF_IDLE, 0) == 1) {
        pause_idle(run, staff, after);
        return;
    }
    if (pm_row_str(staff, NSTAFF_AFTER) == NULL) {      /* new reader: from now on */
        pm_db_exec(run->db, PM_SQL_NOTICE_START, NULL, pm_arg_int(run->p, run->last_id), user);
        return;
    }
    if ((after >= run->last_id && strcmp(pm_row_str(staff, NSTAFF_NOTIFY), "daily") != 0)
        || refused_waits(staff)) {
        return;
    }
    if (strcmp(pm_row_str(staff, NSTAFF_NOTIFY), "immediate") == 0) {
        serve_immediate(run, staff, after);
    }
    else {
        serve_digest(run, staff, after);
    }
}

/* The practice's clock and the trail's end; 0 when either cannot be read. */
static int start_run(notice_run *run)
{
    char zone_buf[64];
    const char *zone, *hour;
    apr_array_header_t *rows;

    if (pm_settings_load(run->db, run->p, &run->st) != APR_SUCCESS
        || pm_db_select(run->db, PM_SQL_NOTICE_LAST_AUDIT, &rows) != APR_SUCCESS
        || rows->nelts != 1) {
        return 0;
    }
    run->last_id = pm_row_int(pm_first_row(rows), 0, 0);
    run->now = apr_time_sec(apr_time_now());
    run->seen_since = run->st.staff_notice_max_idle_days > 0
                      ? run->now - run->st.staff_notice_max_idle_days * 86400LL
                        - PM_STAFF_SEEN_EVERY : 0;
    zone = pm_time_zone_name(run->st.time_zone, zone_buf, sizeof(zone_buf));
    run->today = pm_locale_day_of(run->p, run->now, zone);
    hour = pm_locale_date_time(run->p, run->now, "en", zone, "H");
    run->hour = hour ? atoi(hour) : -1;
    return run->today != NULL;
}

void pm_notices_pass(server_rec *s, apr_pool_t *pool)
{
    apr_time_t now = apr_time_now();
    apr_array_header_t *staff;
    notice_run run;
    int i;

    if (now - last_pass < pm_sweep_interval(s)) {
        return;
    }
    last_pass = now;
    memset(&run, 0, sizeof(run));
    run.s = s;
    if (apr_pool_create(&run.p, pool) != APR_SUCCESS) {
        return;
    }
    if ((run.db = pm_db_open(s, run.p)) != NULL) {
        if (start_run(&run)
            && pm_db_select(run.db, PM_SQL_NOTICE_STAFF, &staff,
                            pm_arg_int(run.p, run.seen_since),
                            pm_arg_int(run.p, run.seen_since)) == APR_SUCCESS) {
            for (i = 0; i < staff->nelts && !run.relay_failed; i++) {
                serve(&run, &APR_ARRAY_IDX(staff, i, pm_row));
            }
        }
        pm_db_close(run.db);
    }
    apr_pool_destroy(run.p);
}
