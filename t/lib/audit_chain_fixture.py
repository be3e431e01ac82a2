#!/usr/bin/env python3
"""t/lib/audit_chain_fixture.py — SQL for an old, properly chained audit trail, made
independently of the module's C code from the encoding docs/security.md documents:
SHA-256 over "pm-audit-v1", the previous hash, the place and the nine fields, each
as its length in bytes, ':' and its bytes (or '-' for NULL), one per line.

  audit_chain_fixture.py FIRST_PLACE PREV_HASH AT [AT ...]
prints one INSERT per AT (a client.view by 'archivist' at that Unix time) taking
places FIRST_PLACE, FIRST_PLACE+1, …, and the UPDATE that moves the chain's head."""
import hashlib
import sys


def enc(v):
    if v is None:
        return b"-\n"
    b = v.encode()
    return str(len(b)).encode() + b":" + b + b"\n"


def main():
    place, prev, ats = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    for at in ats:
        fields = [at, "archivist", "client.view", None, None, "ok", '{"old":true}',
                  "192.0.2.1", "req-%d" % place]
        h = hashlib.sha256(enc("pm-audit-v1") + enc(prev) + enc(str(place))
                           + b"".join(enc(f) for f in fields)).hexdigest()
        print("INSERT INTO audit_log (at, username, action, client_id, object_id, result, "
              "detail, remote_ip, request_id, chain_seq, row_hash) VALUES "
              "(%s, 'archivist', 'client.view', NULL, NULL, 'ok', '{\"old\":true}', "
              "'192.0.2.1', 'req-%d', %d, '%s');" % (at, place, place, h))
        prev, place = h, place + 1
    print("UPDATE audit_chain SET seq = %d, hash = '%s' WHERE id = 1;" % (place - 1, prev))


main()
