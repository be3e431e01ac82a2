/* Unit tests for the seam between the operations layer and the handlers
 * (src/httpd/pm_op.c, pm_api_outcome.c): every outcome has its own name, a
 * handler table row for the operation wins over the row for any operation, and
 * an outcome becomes its answer (503 for a database failure, 500 and a log line
 * for an outcome the table forgot), on a fake request (fake_httpd.c). */
#include "pm_op.h"
#include "fake_httpd.h"
#include "tap.h"

#include "http_protocol.h"

static apr_pool_t *pool;

static const pm_api_answer table[] = {
    { PM_OP_NO_CLIENT, NULL, HTTP_NOT_FOUND, "not_found", "There is no client with this id.",
      NULL },
    { PM_OP_NOT_PENDING, "revoke", HTTP_CONFLICT, "not_pending", "revoked", NULL },
    { PM_OP_NOT_PENDING, NULL, HTTP_CONFLICT, "not_pending", "resent", NULL },
    { PM_OP_USERNAME_TAKEN, NULL, HTTP_CONFLICT, "username_taken", "taken", "username" },
    { 0, NULL, 0, NULL, NULL, NULL }
};

static void test_names(void)
{
    int o, p, distinct = 1, named = 1;

    for (o = 0; o < PM_OP_OUTCOMES; o++) {
        named &= strcmp(pm_op_outcome_name((pm_op_outcome)o), "unknown") != 0;
        for (p = 0; p < o; p++) {
            distinct &= strcmp(pm_op_outcome_name((pm_op_outcome)o),
                               pm_op_outcome_name((pm_op_outcome)p)) != 0;
        }
    }
    ok(named, "every outcome has a name");
    ok(distinct, "no two outcomes share a name");
    is_str(pm_op_outcome_name(PM_OP_OK), "ok", "PM_OP_OK is ok");
    is_str(pm_op_outcome_name(PM_OP_OUTCOMES), "unknown", "past the last: unknown");
}

static void test_find(void)
{
    const pm_api_answer *a;

    a = pm_api_answer_find(table, "revoke", PM_OP_NOT_PENDING);
    is_str(a ? a->message : NULL, "revoked", "the row naming the operation wins");
    a = pm_api_answer_find(table, "resend", PM_OP_NOT_PENDING);
    is_str(a ? a->message : NULL, "resent", "another operation gets the row for any");
    a = pm_api_answer_find(table, NULL, PM_OP_NOT_PENDING);
    is_str(a ? a->message : NULL, "resent", "no operation named: the row for any");
    ok(pm_api_answer_find(table, "revoke", PM_OP_PENDING) == NULL,
       "an outcome without a row: NULL");
    ok(pm_api_answer_find(table, "revoke", PM_OP_OK) == NULL, "the end row is never found");
}

/* The status pm_api_send_outcome answered with. */
static int answer(const char *when, pm_op_outcome o)
{
    request_rec *r = fake_request(pool, "POST", "/portal-manager/api/invitations/1/revoke", 0);
    pm_req *q = pm_http_begin(r);

    pm_api_send_outcome(q, table, when, o);
    return r->status;
}

static void test_send(void)
{
    int logs;

    ok(answer("revoke", PM_OP_NO_CLIENT) == HTTP_NOT_FOUND, "NO_CLIENT: 404");
    is_str(fake_error_code(pool), "not_found", "with its code");
    ok(strstr(fake_response(), "There is no client with this id.") != NULL, "and its message");
    ok(answer("revoke", PM_OP_NOT_PENDING) == HTTP_CONFLICT, "NOT_PENDING: 409");
    ok(strstr(fake_response(), "\"revoked\"") != NULL, "with the revoke row's message");
    ok(answer(NULL, PM_OP_USERNAME_TAKEN) == HTTP_CONFLICT, "USERNAME_TAKEN: 409");
    ok(strstr(fake_response(), "\"username\"") != NULL, "naming its field");
    ok(answer("revoke", PM_OP_DB_UNAVAILABLE) == HTTP_SERVICE_UNAVAILABLE,
       "DB_UNAVAILABLE: 503 without a row");
    is_str(fake_error_code(pool), "database_unavailable", "the one database answer");
    logs = fake_log_count();
    ok(answer("revoke", PM_OP_PENDING) == HTTP_INTERNAL_SERVER_ERROR,
       "an outcome without a row: 500");
    is_str(fake_error_code(pool), "internal_error", "internal_error");
    ok(fake_log_count() == logs + 1 && strncmp(fake_last_log(), "PM00183", 7) == 0,
       "logged once with its id");
    ok(strstr(fake_last_log(), "pending") != NULL, "naming the outcome");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_names();
    test_find();
    test_send();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
