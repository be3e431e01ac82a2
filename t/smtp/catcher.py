#!/usr/bin/python3
"""catcher.py — a real SMTP server on loopback for the tests (aiosmtpd).

Every accepted message is written to DIR/new/NNNNNN.eml (the raw bytes as received,
ending in CRLF lines) with DIR/new/NNNNNN.json beside it:
{"mail_from", "rcpt_tos", "peer", "received_at", "auth_user"}. The .json is written
first and the .eml is renamed into place last, so a reader that sees the .eml sees both.

Every MAIL, RCPT and DATA command is also appended to DIR/commands.log as one JSON line
{"t": unix time, "cmd": "MAIL"|"RCPT"|"DATA", "arg": address or null, "peer": [host, port],
 "helo": the EHLO/HELO name, "tls": true once STARTTLS is done}
before any failure injection, so tests can see what reached the server even when no
message was accepted (e.g. an injected recipient), and how many connections were used.

Failure injection: DIR/control/replies holds one directive per line; each SMTP
command of the named stage consumes the first line for that stage:

    DATA 451 4.3.0 Try again later      reply 451 to the end of DATA (message dropped)
    RCPT 550 5.1.1 No such user         reply 550 to RCPT TO
    MAIL 421 4.3.2 Shutting down        reply 421 to MAIL FROM
    DATA sleep 5                        wait 5 s, then carry on normally
    DATA close                          close the connection at the end of DATA,
                                        no reply (message dropped): a relay gone mid-send
    451 4.3.0 Try again later           a line starting with a digit means DATA
    DATA 550 5.7.1 URL {link} listed    {link}: the message's first http(s) URL (its text
                                        part, decoded), as content filters quote it;
                                        {rcpt_local}: the first recipient's local part

A dead mailbox: DIR/control/refuse lists addresses (one per line, any case) that every
RCPT TO refuses with "550 5.1.1 <address>: Recipient address rejected: User unknown",
as long as they are listed (the directives above come first).

A slow relay: --delay SECONDS keeps every accepted message that long before its
"250" reply, after it is stored: a client that dies or times out meanwhile has
delivered a message whose outcome it never learnt.

Run:  /usr/bin/python3 t/smtp/catcher.py --listen 127.0.0.1:PORT --dir DIR
          [--pidfile FILE] [--auth USER:PASSWORD] [--tls-cert CERT --tls-key KEY]
          [--delay SECONDS]
It writes DIR/ready (the port) once it listens and stops cleanly on SIGTERM/SIGINT.
"""

import argparse
import asyncio
import email
import email.policy
import fcntl
import itertools
import json
import os
import re
import signal
import ssl
import sys
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, directory, delay=0.0):
        self.dir = directory
        self.delay = delay
        self.new = os.path.join(directory, "new")
        self.tmp = os.path.join(directory, "tmp")
        self.control = os.path.join(directory, "control")
        for d in (self.new, self.tmp, self.control):
            os.makedirs(d, exist_ok=True)
        existing = [int(f[:-4]) for f in os.listdir(self.new)
                    if f.endswith(".eml") and f[:-4].isdigit()]
        self.seq = itertools.count(max(existing, default=0) + 1)

    def _log(self, cmd, session, arg=None):
        line = json.dumps({"t": time.time(), "cmd": cmd, "arg": arg,
                           "peer": list(session.peer) if session.peer else None,
                           "helo": session.host_name, "tls": session.ssl is not None})
        with open(os.path.join(self.dir, "commands.log"), "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    # -- failure injection ------------------------------------------------------------
    def _take(self, stage):
        """Pop and return the first control directive for STAGE, or None."""
        path = os.path.join(self.control, "replies")
        try:
            fh = open(path, "r+", encoding="utf-8")
        except FileNotFoundError:
            return None
        with fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            lines = fh.read().splitlines()
            for i, line in enumerate(lines):
                words = line.strip().split(None, 1)
                if not words or words[0].startswith("#"):
                    continue
                if words[0][0].isdigit():
                    line_stage, action = "DATA", line.strip()
                else:
                    line_stage = words[0].upper()
                    action = words[1] if len(words) > 1 else ""
                if line_stage != stage:
                    continue
                del lines[i]
                fh.seek(0)
                fh.truncate()
                fh.write("".join(l + "\n" for l in lines))
                return action
        return None

    def _refused(self, address):
        """Whether DIR/control/refuse lists ADDRESS."""
        try:
            with open(os.path.join(self.control, "refuse"), encoding="utf-8") as fh:
                listed = {line.strip().lower() for line in fh}
        except FileNotFoundError:
            return False
        return address.lower() in listed

    async def _inject(self, stage, server=None, envelope=None):
        """Return an SMTP reply string to send instead of the normal one, or None."""
        action = self._take(stage)
        if action is None:
            return None
        if envelope is not None:
            action = fill_in(action, envelope)
        if action.lower() == "close" and server is not None:
            server.transport.close()
            return "421 4.4.2 Connection closed"     # never reaches the client
        if action.lower().startswith("sleep"):
            await asyncio.sleep(float(action.split()[1]))
            return None
        return action

    # -- aiosmtpd hooks -------------------------------------------------------------------
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self._log("MAIL", session, address)
        reply = await self._inject("MAIL")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self._log("RCPT", session, address)
        reply = await self._inject("RCPT")
        if reply:
            return reply
        if self._refused(address):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self._log("DATA", session)
        reply = await self._inject("DATA", server, envelope)
        if reply:
            return reply
        n = "%06d" % next(self.seq)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "peer": list(session.peer) if session.peer else None,
            "received_at": time.time(),
            "auth_user": getattr(session, "pm_auth_user", None),
        }
        tmp_json = os.path.join(self.tmp, n + ".json")
        tmp_eml = os.path.join(self.tmp, n + ".eml")
        with open(tmp_json, "w", encoding="utf-8") as fh:
            json.dump(meta, fh)
        with open(tmp_eml, "wb") as fh:
            fh.write(envelope.original_content or envelope.content)
        os.rename(tmp_json, os.path.join(self.new, n + ".json"))
        os.rename(tmp_eml, os.path.join(self.new, n + ".eml"))
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        return "250 2.0.0 OK queued as " + n


def fill_in(action, envelope):
    """{link} and {rcpt_local} of a DATA directive, from the message received."""
    if "{link}" in action:
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain",))
        found = re.search(r"https?://\S+", part.get_content() if part else "")
        action = action.replace("{link}", found.group(0) if found else "")
    if "{rcpt_local}" in action and envelope.rcpt_tos:
        action = action.replace("{rcpt_local}", envelope.rcpt_tos[0].split("@")[0])
    return action


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            got_user = auth_data.login.decode("utf-8", "replace")
            ok = got_user == user and auth_data.password.decode("utf-8", "replace") == password
            if ok:
                session.pm_auth_user = got_user
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)
    return authenticator


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", required=True, help="HOST:PORT")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--pidfile")
    ap.add_argument("--auth", help="USER:PASSWORD required for AUTH PLAIN/LOGIN")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--delay", type=float, default=0.0,
                    help="seconds every accepted message waits for its 250 reply")
    args = ap.parse_args()
    # aiosmtpd warns about AUTH without TLS: that is the point of a loopback test server
    warnings.filterwarnings("ignore")

    host, _, port = args.listen.rpartition(":")
    handler = Handler(args.dir, args.delay)
    kwargs = {"hostname": "catcher.test", "ident": "pm-catcher"}
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        kwargs.update(tls_context=ctx, require_starttls=False)
    if args.auth:
        user, _, password = args.auth.partition(":")
        kwargs.update(authenticator=make_authenticator(user, password),
                      auth_require_tls=False, auth_required=True)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(handler, loop=loop, **kwargs),
                           host=host or "127.0.0.1", port=int(port)))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    if args.pidfile:
        with open(args.pidfile, "w") as fh:
            fh.write("%d\n" % os.getpid())
    with open(os.path.join(args.dir, "ready"), "w") as fh:
        fh.write("%d\n" % server.sockets[0].getsockname()[1])
    try:
        loop.run_forever()
    finally:
        server.close()
        try:
            os.unlink(os.path.join(args.dir, "ready"))
        except FileNotFoundError:
            pass
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except FileNotFoundError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
