#!/usr/bin/python3
"""scripts/lib/httpd-conf.py — render conf/httpd-portal.conf.in, the one httpd.conf.

  scripts/lib/httpd-conf.py [--part PART] [--caller NAME] [--extra FILE]... [-o FILE] [NAME=VALUE]...

writes the configuration to stdout (or FILE): the template's sections for PART, then each --extra
FILE's lines (the caller's own: test-only directives, more Locations, vhosts, pool sizes;
"-" reads stdin). Parts:

  full     modules + server + portal   a whole httpd.conf (demo, browser tests, bench/run,
                                        PortalTest::Standalone)
  portal   portal                       the module's configuration only (the Apache::Test
                                        server Includes it; Apache::Test writes the rest)
  modules  modules                      ServerRoot, LoadModule, TypesConfig (the base config
                                        Apache::Test inherits)
  sample   sample-head + portal         conf/portal_manager.conf, with the SAMPLE values
                                        below; takes no --extra, and NAME=VALUE only for
                                        the install paths (SAMPLE_PATHS: `make` renders
                                        the installed sample with configure's directories)

Values (NAME=VALUE) fill @NAME@; a NAME the chosen sections do not use is an error, and so
is a value holding ", \\ or a newline (they would break httpd's quoting).
"""
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(TOP, 'conf', 'httpd-portal.conf.in')

PARTS = {
    'full': ['modules', 'server', 'portal'],
    'portal': ['portal'],
    'modules': ['modules'],
    'sample': ['sample-head', 'portal', 'slow-clients'],
    'slow-clients': ['slow-clients'],
}

REQUIRED = None
# NAME: default for the rendered parts (REQUIRED: the caller must give it; '' leaves out
# the @?NAME@ lines). The server is small by default (the demo and the browser tests);
# bench/run and Standalone size it themselves.
DEFAULTS = {
    'SERVER_ROOT': '/usr/lib/apache2',
    'MODULE': os.path.join(TOP, '.libs', 'mod_portal_manager.so'),
    'PORT': REQUIRED,
    'RUNTIME_DIR': REQUIRED,          # PidFile httpd.pid and DefaultRuntimeDir
    'ERROR_LOG': REQUIRED,
    'ACCESS_LOG': '',                 # no access log
    'CHILD_USER': '',                 # User/Group when httpd starts as root
    'START_SERVERS': '1',
    'SERVER_LIMIT': '2',
    'THREADS_PER_CHILD': '16',
    'MAX_REQUEST_WORKERS': '32',
    'MIN_SPARE_THREADS': '4',
    'MAX_SPARE_THREADS': '32',
    'DOCROOT': REQUIRED,
    'DB_DRIVER': REQUIRED,            # sqlite3 | pgsql
    'DB_PARAMS': REQUIRED,
    'BASE_URL': REQUIRED,             # http://127.0.0.1:PORT: the invitation and login URLs
    'ALLOW_INSECURE_URLS': 'On',      # '' for https URLs
    'MAIL_SERVER': REQUIRED,
    'MAIL_TLS': 'none',
    'MAIL_FROM': 'Riverside Counseling <no-reply@example.test>',  # never example.org: see PM00300
    'HTDOCS': os.path.join(TOP, 'htdocs'),
    'AUTH_USER_FILE': REQUIRED,
    'AUTH_GROUP_FILE': REQUIRED,
    'SAMPLE': '',                     # '1' only for the sample: its "# EDIT:" marks
}

# the sample's values: a Debian install (portal-manager-admin's defaults, the package's paths)
SAMPLE = {
    'DB_DRIVER': 'sqlite3',
    'DB_PARAMS': '/var/lib/portal-manager/portal.db',
    'BASE_URL': 'https://portal.example.org',
    'ALLOW_INSECURE_URLS': '',
    'MAIL_SERVER': 'smtp://mail.example.org:587',
    'MAIL_TLS': 'required',
    'MAIL_FROM': 'Riverside Counseling <no-reply@example.org>',
    'HTDOCS': '/usr/share/mod_portal_manager/htdocs',
    'AUTH_USER_FILE': '/etc/apache2/portal-staff.htpasswd',
    'AUTH_GROUP_FILE': '/etc/apache2/portal-staff.groups',
    'SAMPLE': '1',
}

# the sample's values that are install paths: `make` gives them from configure
# ($(pkgdatadir), $(localstatedir)); the committed sample is the Debian package's
SAMPLE_PATHS = ('HTDOCS', 'DB_PARAMS')

PLACEHOLDER = re.compile(r'@([A-Z_]+)@')
OPTIONAL = re.compile(r'^@\?([A-Z_]+)@')


def die(msg):
    sys.stderr.write('httpd-conf: %s\n' % msg)
    sys.exit(2)


def read_sections():
    sections, name = {}, None
    with open(TEMPLATE, encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('#@section '):
                name = line.split()[1]
                sections[name] = []
            elif line.startswith('#@'):
                continue
            elif name is not None:
                sections[name].append(line)
    return sections


def names_in(lines):
    used = set()
    for line in lines:
        used.update(PLACEHOLDER.findall(line))
        used.update(OPTIONAL.findall(line))
    return used


def render_line(line, values):
    m = OPTIONAL.match(line)
    if m:
        if not values[m.group(1)]:
            return None
        line = line[m.end():]
    return PLACEHOLDER.sub(lambda v: values[v.group(1)], line)


def parse_args(argv):
    part, caller, extras, given, out = 'full', None, [], {}, None
    args = iter(argv)
    for arg in args:
        if arg in ('--part', '--caller', '--extra', '-o'):
            value = next(args, None)
            if value is None:
                die('%s needs a value' % arg)
            if arg == '--part':
                part = value
            elif arg == '--caller':
                caller = value
            elif arg == '-o':
                out = value
            else:
                extras.append(value)
        elif arg in ('-h', '--help'):
            sys.stdout.write(__doc__)
            sys.exit(0)
        elif '=' in arg and not arg.startswith('-'):
            name, value = arg.split('=', 1)
            given[name] = value
        else:
            die('unknown argument %r (try --help)' % arg)
    if part not in PARTS:
        die('--part must be one of %s' % ', '.join(sorted(PARTS)))
    if part == 'sample' and (extras or set(given) - set(SAMPLE_PATHS)):
        die('the sample takes no --extra lines and no values but %s' % ', '.join(SAMPLE_PATHS))
    return part, caller, extras, given, out


def values_for(part, given, used):
    values = dict(SAMPLE) if part == 'sample' else {}
    for name in sorted(given):
        if name not in used:
            die('%s is not used by part %s' % (name, part))
        if re.search(r'["\\\n\r]', given[name]):
            die('the value of %s holds ", \\ or a newline' % name)
        values[name] = given[name]
    for name in sorted(used):
        if name in values:
            continue
        if name not in DEFAULTS:
            die('the template uses @%s@, which has no entry in DEFAULTS' % name)
        if DEFAULTS[name] is REQUIRED:
            die('%s=VALUE is required for part %s' % (name, part))
        values[name] = DEFAULTS[name]
    return values


def main(argv):
    part, caller, extras, given, out_file = parse_args(argv)
    sections = read_sections()
    lines = [line for s in PARTS[part] for line in sections[s]]
    values = values_for(part, given, names_in(lines))
    out = []
    if caller:
        out.append('# generated by %s from conf/httpd-portal.conf.in '
                   '(scripts/lib/httpd-conf.py); do not edit' % caller)
    out += [r for r in (render_line(line, values) for line in lines) if r is not None]
    for extra in extras:
        f = sys.stdin if extra == '-' else open(extra, encoding='utf-8')
        text = f.read().rstrip('\n')
        if text:
            out += ['', '# ---- %s: its own lines ----' % (caller or 'the caller'), text]
    while out and out[-1] == '':
        out.pop()
    text = '\n'.join(out) + '\n'
    if out_file:
        with open(out_file, 'w', encoding='utf-8') as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == '__main__':
    main(sys.argv[1:])
