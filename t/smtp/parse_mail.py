#!/usr/bin/python3
"""parse_mail.py — parse messages the SMTP catcher received, for the Perl tests.

    /usr/bin/python3 t/smtp/parse_mail.py FILE.eml [...]   -> one JSON array on stdout

Parsing uses Python's email package with policy.strict (any defect raises), so a message
that parses here is well-formed. For each file:
  {"file", "ok": true|false, "error": "..." (when not ok),
   "headers": [[name, decoded value], ...]   every header, in order,
   "subject", "from", "to", "message_id", "date", "auto_submitted",
   "content_type", "parts": [{"content_type", "charset", "cte", "text"}] (leaf parts),
   "tree": the MIME structure, e.g. "multipart/mixed(multipart/alternative(text/plain,text/html))",
   "defects": [...] (header/part defects; any makes ok false),
   "long_lines": N (lines over 998 octets), "bare_lf": true|false}
"""

import json
import sys
from email import policy
from email.parser import BytesParser


def tree(part):
    if part.is_multipart():
        return "%s(%s)" % (part.get_content_type(),
                           ",".join(tree(p) for p in part.get_payload()))
    return part.get_content_type()


def parse(path):
    out = {"file": path}
    with open(path, "rb") as fh:
        raw = fh.read()
    lines = raw.split(b"\r\n")
    out["long_lines"] = sum(1 for l in lines if len(l) > 998)
    out["bare_lf"] = any(b"\n" in l for l in lines)
    try:
        msg = BytesParser(policy=policy.strict).parsebytes(raw)
        out["headers"] = [[k, str(v)] for k, v in msg.items()]
        # header values are parsed lazily: their defects are listed, not raised
        defects = ["%s: %s" % (k, d) for k, v in msg.items() for d in getattr(v, "defects", ())]
        for key, name in (("subject", "Subject"), ("from", "From"), ("to", "To"),
                          ("message_id", "Message-ID"), ("date", "Date"),
                          ("auto_submitted", "Auto-Submitted")):
            v = msg.get(name)
            out[key] = None if v is None else str(v)
        out["content_type"] = msg.get_content_type()
        out["tree"] = tree(msg)
        parts = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            parts.append({
                "content_type": part.get_content_type(),
                "charset": part.get_content_charset(),
                "cte": part.get("Content-Transfer-Encoding"),
                "text": part.get_content() if part.get_content_maintype() == "text" else None,
            })
            defects += ["part %s: %s" % (part.get_content_type(), d) for d in part.defects]
        out["parts"] = parts
        out["defects"] = defects
        out["ok"] = not defects
        if defects:
            out["error"] = "; ".join(defects)
    except Exception as e:  # policy.strict raises on any defect
        out["ok"] = False
        out["error"] = "%s: %s" % (type(e).__name__, e)
    return out


def main(argv):
    json.dump([parse(p) for p in argv[1:]], sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
