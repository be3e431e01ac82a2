-- bench/floor-list.sql — pgbench script (bench/run --pg, scenario z2): the least database
-- work a Client list page needs, without the module: the first 50 active clients in the
-- list's order from its covering index, one audit row, commit. Fewer columns and
-- statements than the page's real ones, and no hash chain: a floor under (e).
\set id random(1, :n)
BEGIN;
SELECT id, first_name, last_name, date_of_birth, declined_at, external_id
  FROM clients WHERE active = 1 ORDER BY sort_key, id LIMIT 50;
INSERT INTO bench_floor_audit (at, username, action, client_id, result)
  VALUES (1, 'admin', 'client.search', :id, 'ok');
COMMIT;
