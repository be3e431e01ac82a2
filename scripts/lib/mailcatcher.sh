#!/usr/bin/env bash
# mailcatcher.sh — the loopback SMTP server (t/smtp/catcher.py on Debian's aiosmtpd) for
# scripts and manual runs. The Apache::Test suite starts its own (t/lib/PortalTest/Env.pm).
#
#   eval "$(scripts/lib/mailcatcher.sh start DIR [PORT] [catcher.py options...])"
#       -> export PM_SMTP_PORT=N PM_MAIL_DIR=DIR   (messages land in DIR/new/*.eml)
#   scripts/lib/mailcatcher.sh stop DIR
#
# Failure injection: write lines such as "451 4.3.0 Try again later" or "RCPT 550 5.1.1 No"
# to DIR/control/replies (see t/smtp/catcher.py).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)

start() {
    local dir=${1:?usage: mailcatcher.sh start DIR [PORT]} port=${2:-}
    shift; shift || true
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [[ -n $port ]] || port=$("$here/free-port.sh")
    rm -f "$dir/ready"
    setsid /usr/bin/python3 "$top/t/smtp/catcher.py" --listen "127.0.0.1:$port" --dir "$dir" \
        --pidfile "$dir/catcher.pid" "$@" </dev/null >>"$dir/catcher.log" 2>&1 &
    local i
    for ((i = 0; i < 150; i++)); do
        [[ -s $dir/ready ]] && break
        sleep 0.1
    done
    if [[ ! -s $dir/ready ]]; then
        cat "$dir/catcher.log" >&2
        echo "mailcatcher: did not start" >&2
        exit 1
    fi
    printf 'export PM_SMTP_PORT=%q PM_MAIL_DIR=%q\n' "$port" "$dir"
}

stop() {
    local dir=${1:?usage: mailcatcher.sh stop DIR} pid
    [[ -f $dir/catcher.pid ]] || return 0
    pid=$(cat "$dir/catcher.pid")
    if [[ $pid =~ ^[0-9]+$ ]] && kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$dir/catcher.pid"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) echo "usage: $0 start DIR [PORT] | stop DIR" >&2; exit 2 ;;
esac
