#!/usr/bin/env python3
"""bench/console.py — the timing half of bench/console: one keep-alive HTTP connection per
database, a fixed number of requests per scenario (so the 1k database does not grow by
thousands of audit.view rows while it is measured), the two databases in turn request by
request (a busy moment on the machine hits both), p50/p95 in milliseconds.

  console.py BIG_URL SMALL_URL AUTH_HEADER N_MEASURED N_WARMUP [PAGE]   (scenarios on
  stdin: one a line, "name<TAB>path"; a path may hold {cursor} — the cursor after 5 pages
  of the same path without it, fetched from each database)
Both databases are asked for pages of the same size: PAGE rows (default 50, the issue's
page), or as many as the small database holds for the filter when that is fewer — so the
big side does not also return 30 times the rows (the route's limit= parameter).
Prints one line a scenario: name, big p50, big p95, small p50, small p95, rows big, rows small.
"""
import http.client
import json
import sys
import time
import urllib.parse


def conn_for(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=120), u.path


def get(conn, prefix, path, auth):
    conn.request("GET", prefix + path, headers={"Authorization": auth})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"bench/console: GET {path} answered {r.status}: {body[:200]!r}")
    return json.loads(body)


def deep_cursor(conn, prefix, path, auth, pages=5):
    cursor = None
    for _ in range(pages):
        sep = "&" if "?" in path else "?"
        doc = get(conn, prefix, path + (f"{sep}cursor={cursor}" if cursor else ""), auth)
        cursor = doc.get("next_cursor")
        if not cursor:
            break
    return cursor


def with_limit(path, limit):
    return f"{path}{'&' if '?' in path else '?'}limit={limit}"


def page_rows(conn, prefix, path, auth, page):
    """the rows the small database shows for path, at most page (at least 1)"""
    base = path.replace("&cursor={cursor}", "").replace("?cursor={cursor}", "")
    return max(1, len(get(conn, prefix, with_limit(base, page), auth).get("entries", [])))


def pct(values, p):
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def main():
    big_url, small_url, auth, n, warm = sys.argv[1:6]
    n, warm = int(n), int(warm)
    page = int(sys.argv[6]) if len(sys.argv) > 6 else 50
    sides = [conn_for(big_url), conn_for(small_url)]
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        name, path = line.split("\t")
        limit = page_rows(sides[1][0], sides[1][1], path, auth, page)
        path = path.replace("cursor={cursor}", f"limit={limit}&cursor={{cursor}}") \
            if "{cursor}" in path else with_limit(path, limit)
        paths = []
        for conn, prefix in sides:
            if "{cursor}" in path:
                base = path.replace("&cursor={cursor}", "").replace("?cursor={cursor}", "")
                c = deep_cursor(conn, prefix, base, auth)
                if not c:
                    raise SystemExit(f"bench/console: {base} has fewer than 6 pages")
                paths.append(path.replace("{cursor}", urllib.parse.quote(c, safe="")))
            else:
                paths.append(path)
        times = [[], []]
        rows = [0, 0]
        for k in range(warm + n):
            for s, (conn, prefix) in enumerate(sides):
                t0 = time.perf_counter()
                doc = get(conn, prefix, paths[s], auth)
                dt = (time.perf_counter() - t0) * 1000.0
                if k >= warm:
                    times[s].append(dt)
                rows[s] = len(doc.get("entries", []))
        print("\t".join([name] + [f"{pct(times[s], q):.2f}" for s in (0, 1) for q in (50, 95)]
                        + [str(rows[0]), str(rows[1])]), flush=True)


if __name__ == "__main__":
    main()
