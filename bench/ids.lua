-- bench/ids.lua — wrk script: GET BENCH_PATH_PREFIX<random id in BENCH_ID_BASE+1 ..
-- BENCH_ID_BASE+BENCH_N>
local n = tonumber(os.getenv("BENCH_N") or "100000")
local base = tonumber(os.getenv("BENCH_ID_BASE") or "0")
local prefix = os.getenv("BENCH_PATH_PREFIX") or "/portal-manager/api/clients/"

function init(args)
  -- a different sequence per thread
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

function request()
  return wrk.format("GET", prefix .. (base + math.random(1, n)))
end
