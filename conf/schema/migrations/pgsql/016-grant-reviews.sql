-- 016: coming of age (issue 14). From the setting minor_review_days before a client's
-- 18th birthday, each active grant of one of their representatives that was made
-- while the client was a minor is due for review; staff close the review by keeping
-- the grant (a note says why, e.g. guardianship continues) or ending it. With
-- end_representative_access_at_majority the delivery worker ends the unreviewed ones
-- on the birthday (ended_by 'system', end_reason 'majority').
-- review_decision: 'keep' or 'end'; NULL while the review is open (or never due).
ALTER TABLE account_grants ADD COLUMN review_decision text
    CHECK (review_decision IN ('keep', 'end'));
ALTER TABLE account_grants ADD COLUMN review_note text;
ALTER TABLE account_grants ADD COLUMN reviewed_by text;
ALTER TABLE account_grants ADD COLUMN reviewed_at bigint;
