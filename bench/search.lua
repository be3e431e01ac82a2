-- bench/search.lua — wrk script: POST /clients/search {"q": BENCH_Q, "limit": BENCH_LIMIT
-- (50)}, as the staff page sends it (the search text in the body, never in the URL)
local q = os.getenv("BENCH_Q") or "smi"
local limit = os.getenv("BENCH_LIMIT") or "50"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Requested-With"] = "portal-manager"
wrk.body = '{"q":"' .. q .. '","limit":' .. limit .. '}'
