-- bench/floor.sql — pgbench script (bench/run --pg, scenario z): the least database work
-- a client view needs, without the module: read the client by id, write one audit row,
-- commit. Fewer columns and statements than the view's real ones, and no hash chain, so
-- what it costs PostgreSQL is a floor under any audited view.
\set id random(1, :n)
BEGIN;
SELECT id, first_name, last_name, date_of_birth, email, external_id, active, declined_at
  FROM clients WHERE id = :id;
INSERT INTO bench_floor_audit (at, username, action, client_id, result)
  VALUES (1, 'admin', 'client.view', :id, 'ok');
COMMIT;
