-- 027: the clients without a chart number, by date of birth. A roster sync looks up,
-- for each new chart number, the unnamed clients born on that day (one of them with
-- the same name takes the chart number); through clients_by_date_of_birth that read
-- every client born that day, the ones the sync had just added included, so the sync
-- slowed with the square of the file's size as soon as one client lacked a chart
-- number. This index holds the unnamed clients only (a sync names them, and never
-- takes a chart number away): written only when such a client is added or changed.
CREATE INDEX clients_unnamed_by_birth ON clients (date_of_birth) WHERE external_id IS NULL;
