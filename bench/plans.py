"""bench/plans.py DRIVER TARGET < statements (label TAB driver TAB sql, from bench/print-sql.c)

For the client list statements (and the client view and audit trail, and with
bench/reviews-seed the coming-of-age candidates): the query plan for a first page and a
later page, and the time of the real query.
  sqlite3 TARGET=file: EXPLAIN QUERY PLAN with ? placeholders (what the module's
          prepared statement gets), then the query with literal values, timed by the
          sqlite3 shell (the system libsqlite3, as apr_dbd_sqlite3 uses).
  pgsql   TARGET=conninfo: PREPARE with the types apr_dbd_pgsql declares (%s varchar,
          %d int4, %lld int8) and EXPLAIN (ANALYZE, BUFFERS) EXECUTE.
BENCH_Q (default smi) is the one-word search, BENCH_Q_WORDS (default "smith j")
the two-word one; their ICU lookup keys come from bench/print-sql.c.
"""
import datetime
import os
import re
import subprocess
import sys

driver, target = sys.argv[1], sys.argv[2]
q = os.environ.get('BENCH_Q', 'smi')
q_words = os.environ.get('BENCH_Q_WORDS', 'smith j').split()
lines = sys.stdin.read().splitlines()
# the ICU lookup keys print-sql computed: word -> key, as an SQL literal
KEY = {f[1]: f"'{f[2]}'" for f in (l.split('\t') for l in lines) if f[0] == '#key'}
PAIR = {f[1]: f"'{f[2]}'" for f in (l.split('\t') for l in lines) if f[0] == '#pair'}
K1, ZZ = KEY[q], KEY['zz']
# two words: the pair key of the first (the module takes the longer) with the second's
# initial, then the second whole
K2 = PAIR.get(' '.join(q_words[:2]), KEY[q_words[0]])
K3 = KEY[q_words[1]] if len(q_words) > 1 else KEY[q_words[0]]


def scalar(sql):
    """One value from the database (the sort key a later page's cursor carries)."""
    cmd = ['sqlite3', target] if driver == 'sqlite3' else ['psql', '-X', '-q', '-A', '-t', target]
    r = subprocess.run(cmd, input=sql + ';\n', capture_output=True, text=True)
    return r.stdout.strip()


LATER = "'" + scalar('SELECT sort_key FROM clients WHERE id = 50000') + "'"

CASES = {
    'pm_client_list_all': [("first page", ["''", '0', '51']),
                           ("later page", [LATER, '50000', '51'])],
    'pm_client_list_mine': [("first page", ["'clin1'", "''", '0', '51'])],
    # [username,] key(s), cursor sort_key, cursor id, limit
    'pm_client_search_word_all': [(f"q={q}, first page", [K1, "''", '0', '51']),
                                  (f"q={q}, later page", [K1, LATER, '50000', '51']),
                                  ("no match (q=zz)", [ZZ, "''", '0', '51'])],
    'pm_client_search_word_mine': [(f"q={q}, caseload", ["'clin1'", K1, "''", '0', '51'])],
    'pm_client_search_words_all': [(f"q={' '.join(q_words)}, first page",
                                    [K2, K3, "''", '0', '51'])],
    'pm_client_search_birth': [("1990-12-10", ["'1990-12-10'", '1', "'admin'", "''", '0', '51'])],
    'pm_client_search_email': [("an address", ["'client4242@example.test'", '1', "'admin'", "''", '0', '51'])],
    # a chart number as typed, in capitals, in small letters (the unique index, 3 probes)
    'pm_client_search_chart': [("MRN-4242", ["'MRN-4242'", "'MRN-4242'", "'mrn-4242'", '1', "'admin'", "''", '0', '51']),
                               ("caseload", ["'MRN-4242'", "'MRN-4242'", "'mrn-4242'", '0', "'clin1'", "''", '0', '51'])],
    'pm_client_get_visible': [("client 4242", ['4242', "'admin'", "'admin'"])],
    'pm_audit_by_client': [("client 4242", ['4242', '9223372036854775807', '51'])],
}
# the coming-of-age statements (with bench/reviews-seed's representatives): the
# worker's first page (born 18 years ago or earlier, after grant 0) and GET /reviews's
# (the 18th birthday at most 30 days ahead) for admin and for clin1's caseload
TODAY = datetime.datetime.now(datetime.timezone.utc).date()
ADULT = f"'{TODAY.year - 18:04d}-{TODAY:%m-%d}'".replace('-02-29', '-03-01')
AHEAD = TODAY + datetime.timedelta(days=30)
DUE = f"'{AHEAD.year - 18:04d}-{AHEAD:%m-%d}'".replace('-02-29', '-03-01')
CASES['pm_majority_candidates'] = [("sweep, first page", [ADULT, '0'])]
CASES['pm_review_candidates'] = [("admin, first page", [DUE, DUE, '0', "'admin'", "'admin'"]),
                                 ("clin1, first page", [DUE, DUE, '0', "'clin1'", "'clin1'"])]
for name in ('pm_majority_candidates', 'pm_review_candidates'):
    CASES[name + '_pgsql'] = CASES[name]
# PostgreSQL's forms of the name and caseload searches (pm_sql.c says why they differ) take
# the same values
for name in ('pm_client_search_word_all', 'pm_client_search_words_all', 'pm_client_list_mine',
             'pm_client_search_word_mine'):
    CASES[name + '_pgsql'] = CASES[name]
PH = re.compile(r'%(lld|s|d)')


def literal(v):
    return v


def bind(sql, vals):
    it = iter(vals)
    return PH.sub(lambda m: next(it), sql)


def run(cmd, stdin):
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    return r.stdout + r.stderr


for line in lines:
    if line.startswith('#'):
        continue
    label, only, sql = line.split('\t', 2)
    if label not in CASES or only not in ('', driver):
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
            # the custom plan (what the first five executions get), then the generic
            # plan a prepared statement may switch to after them (plan_cache_mode)
            script = (f'PREPARE p ({types}) AS {pg_sql};\n'
                      f'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE p({", ".join(lits)});\n'
                      f'SET plan_cache_mode = force_generic_plan;\n'
                      f'EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) EXECUTE p({", ".join(lits)});\n')
            env = dict(os.environ, PGOPTIONS='--client-min-messages=warning')
            r = subprocess.run(['psql', '-X', '-q', target], input=script, capture_output=True,
                               text=True, env=env)
            print((r.stdout + r.stderr).rstrip())
