/* pm_reviews.h — coming of age: the practice's clock for it (today in its zone, how
 * many days ahead reviews open), whether a client is a minor and a representative's
 * grant is due for review, the staff routes GET /reviews and POST
 * /grants/{id}/review, and the delivery worker's end of unreviewed grants at 18. */
#ifndef PM_REVIEWS_H
#define PM_REVIEWS_H

#include "pm_http.h"
#include "pm_db.h"

typedef struct {
    int loaded;
    const char *today;          /* YYYY-MM-DD in the practice's zone */
    const char *zone;
    long review_days;           /* setting minor_review_days */
    int end_at_majority;        /* setting end_representative_access_at_majority */
} pm_review_clock;

/* Reads the settings into k once (PM_NEXT, or the 503 answer sent). */
int pm_review_clock_load(pm_req *q, pm_review_clock *k);

/* The client view's "minor" and, for a minor, "turns_18_on" (settings read only for a
 * client within a day of their 18th birthday by the server's clock). */
int pm_reviews_client_json(pm_req *q, pm_review_clock *k, const char *dob, json_t *view);

/* An account's "review_due" and "review" in the client view (representatives only;
 * settings read only for a grant that could be due). row: PM_COLS_ACCOUNT. */
int pm_reviews_account_json(pm_req *q, pm_review_clock *k, const struct pm_row *row, json_t *a);

int pm_api_reviews_list(pm_req *q);
int pm_api_grant_review(pm_req *q);

/* The worker: with end_representative_access_at_majority, ends the unreviewed grants
 * of clients who turned 18 (audited as "system"). At most once an hour per child. */
void pm_reviews_majority_sweep(server_rec *s, apr_pool_t *p);

#endif
