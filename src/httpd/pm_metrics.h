/* pm_metrics.h — the module's counters, shared by every child of one generation:
 * API requests by route group and status class, their durations, database
 * connection failures, and the delivery worker's passes, outcomes and errors. */
#ifndef PM_METRICS_H
#define PM_METRICS_H

#include "pm_common.h"

/* Route groups: a fixed set, so no label can ever carry client data. */
typedef enum {
    PM_GROUP_ME = 0, PM_GROUP_CLIENTS, PM_GROUP_INVITATIONS, PM_GROUP_REPRESENTATIVES,
    PM_GROUP_ADMIN, PM_GROUP_RECIPIENT, PM_GROUP_HEALTH, PM_GROUP_OTHER, PM_GROUP_COUNT
} pm_route_group;

#define PM_STATUS_CLASSES 5            /* 1xx .. 5xx */
#define PM_DURATION_BUCKETS 11         /* plus +Inf */
#define PM_METRICS_TEXT 240

/* Upper bounds of the duration buckets, in seconds. */
extern const double pm_metrics_bucket_le[PM_DURATION_BUCKETS];
extern const char *const pm_metrics_group_name[PM_GROUP_COUNT];

/* What a reader sees: a copy taken at one moment. */
typedef struct {
    apr_uint64_t requests[PM_GROUP_COUNT][PM_STATUS_CLASSES];
    apr_uint64_t buckets[PM_GROUP_COUNT][PM_DURATION_BUCKETS + 1];   /* not cumulative */
    apr_uint64_t duration_us[PM_GROUP_COUNT];
    apr_uint64_t db_failures;
    apr_uint64_t sent, retried, failed, passes;
    apr_time_t started, last_pass, last_progress, last_error_at;
    char last_error[PM_METRICS_TEXT];
    char mail_config_error[PM_METRICS_TEXT];       /* "" when the mail setup works */
} pm_metrics_view;

/* post_config (second pass): the shared segment of this generation. */
int pm_metrics_post_config(apr_pool_t *pconf, server_rec *s);

/* log_transaction: counts a request the staff or recipient API answered. */
int pm_metrics_log_transaction(request_rec *r);

/* Marks the request's route (its pattern) for the count. */
void pm_metrics_note_route(request_rec *r, const char *pattern);

void pm_metrics_db_failure(void);

/* An audited write's outcome (its audit row, its commit). PM_WRITES_FAILING_AFTER
 * failures in a row, the last one less than PM_WRITES_FAILING_WITHIN ago, with no
 * success since: pm_metrics_writes_failing is 1 and the health check answers 503
 * (one transient failure does not; an idle server goes back to ok after a minute,
 * so a balancer that took it out tries it again). */
#define PM_WRITES_FAILING_AFTER  3
#define PM_WRITES_FAILING_WITHIN apr_time_from_sec(60)
void pm_metrics_write_outcome(request_rec *r, int ok);
int pm_metrics_writes_failing(void);

/* The delivery worker (one per httpd: the only writer of the worker fields). */
void pm_metrics_worker_progress(int pass_done);
void pm_metrics_worker_outcome(int sent, int retried, int failed, const char *error);
void pm_metrics_mail_config_error(const char *error);
/* 1 while a certificate/TLS-policy failure holds the queue (until a restart). */
int pm_metrics_mail_held(void);

/* A consistent copy; 0 when there is no shared segment (first config pass). */
int pm_metrics_read(pm_metrics_view *out);

#endif
