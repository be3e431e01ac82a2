"""bench/plans.py DRIVER TARGET < statements (label TAB sql, from bench/print-sql.c)

For the client list statements (and the client view and audit trail): the query plan
for a first page and a later page, and the time of the real query.
  sqlite3 TARGET=file: EXPLAIN QUERY PLAN with ? placeholders (what the module's
          prepared statement gets), then the query with literal values, timed by the
          sqlite3 shell (the system libsqlite3, as apr_dbd_sqlite3 uses).
  pgsql   TARGET=conninfo: PREPARE with the types apr_dbd_pgsql declares (%s varchar,
          %d int4, %lld int8) and EXPLAIN (ANALYZE, BUFFERS) EXECUTE.
BENCH_Q (default smi) is the search prefix.
"""
import os
import re
import subprocess
import sys

driver, target = sys.argv[1], sys.argv[2]
q = os.environ.get('BENCH_Q', 'smi')
HI = 'HI'   # the prefix range's upper bound: q || U+10FFFF (KEY_MAX_SUFFIX)

CASES = {
    'pm_client_list_all': [("first page", ["''", "''", '0', '51']),
                           ("later page", ["'martin'", "'james'", '50000', '51'])],
    'pm_client_list_all_search': [("first page", [f"'{q}'", HI, f"'{q}'", HI, "''", "''", '0', '51']),
                                  ("later page", [f"'{q}'", HI, f"'{q}'", HI, "'smith'", "'james'", '50000', '51']),
                                  ("no match (q=zz)", ["'zz'", 'HIZZ', "'zz'", 'HIZZ', "''", "''", '0', '51']),
                                  # the two-range form (bench/out/proposed-fixes.diff): last-name
                                  # lower bound, upper bound, limit; first-name range, cursor, limit; limit
                                  ("first page", [f"'{q}'", "''", '0', HI, '51', f"'{q}'", HI, "''", "''", '0', '51', '51']),
                                  ("later page", ["'smith'", "'james'", '50000', HI, '51', f"'{q}'", HI, "'smith'", "'james'", '50000', '51', '51']),
                                  ("no match (q=zz)", ["'zz'", "''", '0', 'HIZZ', '51', "'zz'", 'HIZZ', "''", "''", '0', '51', '51'])],
    'pm_client_list_mine': [("first page", ["'clin1'", "''", "''", '0', '51'])],
    'pm_client_list_mine_search': [("first page", ["'clin1'", f"'{q}'", HI, f"'{q}'", HI, "''", "''", '0', '51'])],
    'pm_client_get_visible': [("client 4242", ['4242', "'admin'", "'admin'"])],
    'pm_audit_by_client': [("client 4242", ['4242', '9223372036854775807', '51'])],
}
PH = re.compile(r'%(lld|s|d)')


def literal(v):
    if v == 'HI':
        return f"'{q}' || " + ('char(1114111)' if driver == 'sqlite3' else 'chr(1114111)')
    if v == 'HIZZ':
        return "'zz' || " + ('char(1114111)' if driver == 'sqlite3' else 'chr(1114111)')
    return v


def bind(sql, vals):
    it = iter(vals)
    return PH.sub(lambda m: next(it), sql)


def run(cmd, stdin):
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    return r.stdout + r.stderr


for line in sys.stdin:
    label, sql = line.rstrip('\n').split('\t', 1)
    if label not in CASES:
        continue
    print('=' * 100)
    print(f'== {label}')
    print(sql)
    nargs = len(PH.findall(sql))
    for name, vals in CASES[label]:
        if len(vals) != nargs:
            continue   # bind values for the other form of this statement
        print(f'---- {name}: {" ".join(vals)}')
        lits = [literal(v) for v in vals]
        if driver == 'sqlite3':
            plan = run(['sqlite3', target], f'EXPLAIN QUERY PLAN {bind(sql, ["?"] * len(vals))};\n')
            print(plan.rstrip())
            timed = run(['sqlite3', target], f'.timer on\n{bind(sql, lits)};\n')
            rows = [l for l in timed.splitlines() if not l.startswith('Run Time')]
            times = [l for l in timed.splitlines() if l.startswith('Run Time')]
            print(f'rows: {len(rows)}; {times[0] if times else "no timing"}')
        else:
            n = 0

            def dollar(m):
                global n
                n += 1
                return f'${n}'
            types = ','.join({'lld': 'int8', 's': 'varchar', 'd': 'int4'}[t] for t in PH.findall(sql))
            n = 0
            pg_sql = PH.sub(dollar, sql)
            script = (f'PREPARE p ({types}) AS {pg_sql};\n'
                      f'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE p({", ".join(lits)});\n')
            env = dict(os.environ, PGOPTIONS='--client-min-messages=warning')
            r = subprocess.run(['psql', '-X', '-q', target], input=script, capture_output=True,
                               text=True, env=env)
            print((r.stdout + r.stderr).rstrip())
