#!/usr/bin/env python3
"""SMTP sink for SlugBase's mail tests.

Listens on 127.0.0.1, accepts every message and writes each one as a JSON file into --out.

    python3 smtp_sink.py --port 0 --out DIR
        [--starttls CERT KEY]        offer STARTTLS with this certificate (PEM) and key
        [--implicit-tls CERT KEY]    TLS from the first byte (SMTPS, "port 465 style")
        [--require-auth USER:PASS]   refuse MAIL FROM before a successful AUTH PLAIN/LOGIN
        [--tempfail N]               answer the first N DATA commands with 451 (retry tests)
        [--reject-rcpt ADDR]         answer RCPT TO:<ADDR> with 550 (permanent-failure tests; repeatable)
        [--delay SECONDS]            wait this long before answering DATA (timeout tests)

First line on stdout, once the socket is listening:

    READY {"port": 12345, "pid": 4242, "tls": "none|starttls|implicit", "auth": false}

Nothing else is printed on stdout (logs go to stderr). Each accepted message becomes
DIR/<ns-timestamp>-<seq>.json, written under a dot-prefixed temporary name and renamed into
place, so a reader that lists DIR and ignores names starting with "." never sees half a file.
The JSON holds: mail_from, rcpt_tos, raw (the message as received, str), parsed {subject,
from, to, message_id, date, content_language (+ content_language_top_level), content_type,
parts[{content_type, charset, transfer_encoding, content_language}], text, html (decoded, \n line ends),
headers[[name, value], ...] (decoded)}, session {peer_port, tls, auth_user}, received_at, seq.

SIGTERM / SIGINT: stop listening, drop open connections, exit 0. The listening socket has
SO_REUSEADDR, so a new sink can bind the same port at once (the "SMTP down, then back" test).
Works with aiosmtpd 1.4.x (PyPI 1.4.6 and Debian bookworm's python3-aiosmtpd 1.4.3).
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import os
import signal
import socket
import ssl
import sys
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse_message(raw: bytes) -> dict:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    text = html = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        try:
            content = part.get_content()
        except Exception as exc:  # undecodable part: keep going, say so
            content = f"<undecodable: {exc}>"
        if isinstance(content, str):
            content = content.replace("\r\n", "\n")  # SMTP carries CRLF; tests compare with "\n"
        if ctype == "text/plain" and text is None:
            text = content
        elif ctype == "text/html" and html is None:
            html = content

    def hdr(name):
        v = msg.get(name)
        return None if v is None else str(v)

    parts = [
        {
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "transfer_encoding": part.get("Content-Transfer-Encoding"),
            "content_language": part.get("Content-Language"),
        }
        for part in msg.walk()
    ]
    # Content-Language: the top-level header, else the first part that carries one (Python's
    # EmailMessage.add_alternative moves Content-* headers into the first part, for example).
    content_language = hdr("Content-Language") or next(
        (p["content_language"] for p in parts if p["content_language"]), None)

    return {
        "subject": hdr("Subject"),
        "from": hdr("From"),
        "to": hdr("To"),
        "message_id": hdr("Message-ID"),
        "date": hdr("Date"),
        "content_language": content_language,
        "content_language_top_level": hdr("Content-Language") is not None,
        "content_type": msg.get_content_type(),
        "parts": parts,
        "text": text,
        "html": html,
        # str() of a header from policy.default is the decoded (RFC 2047) value
        "headers": [[k, str(v)] for k, v in msg.items()],
    }


class Sink:
    def __init__(self, out_dir, tempfail, reject_rcpts, delay):
        self.out_dir = out_dir
        self.tempfail_left = tempfail
        self.reject_rcpts = {a.lower() for a in reject_rcpts}
        self.delay = delay
        self.seq = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject_rcpts:
            return "550 5.1.1 Recipient rejected by test sink"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.tempfail_left > 0:
            self.tempfail_left -= 1
            return "451 4.3.0 Temporary failure (test sink)"
        raw = envelope.original_content or b""
        if not isinstance(raw, bytes):
            raw = raw.encode("utf-8", "surrogateescape")
        self.seq += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "raw": raw.decode("utf-8", "replace"),
            "parsed": parse_message(raw),
            "session": {
                "peer_port": (session.peer or [None, None])[1],
                "tls": server.sink_tls_mode(),
                "auth_user": (
                    session.auth_data.login.decode("utf-8", "replace")
                    if isinstance(session.auth_data, LoginPassword)
                    else None
                ),
            },
            "received_at": time.time(),
            "seq": self.seq,
        }
        name = f"{time.time_ns():020d}-{self.seq:06d}.json"
        tmp = os.path.join(self.out_dir, "." + name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.out_dir, name))
        print(f"sink: stored {name} from {envelope.mail_from} to {envelope.rcpt_tos}", file=sys.stderr)
        return "250 2.0.0 Message accepted for delivery"


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # handled=False: let aiosmtpd send "535 5.7.8 Authentication credentials invalid" itself
        # (the default handled=True on failure means "I already answered", and the client hangs).
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticator


def server_tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


async def main():
    # aiosmtpd warns on every connection for plaintext AUTH (deliberate in test mode --require-auth without TLS)
    # and about its own deprecated Session.login_data; keep stderr to our one line per message.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--out", required=True)
    ap.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--require-auth", metavar="USER:PASS")
    ap.add_argument("--tempfail", type=int, default=0)
    ap.add_argument("--reject-rcpt", action="append", default=[])
    ap.add_argument("--delay", type=float, default=0.0)
    args = ap.parse_args()
    if args.starttls and args.implicit_tls:
        ap.error("--starttls and --implicit-tls exclude each other")
    os.makedirs(args.out, exist_ok=True)

    tls_mode = "starttls" if args.starttls else "implicit" if args.implicit_tls else "none"
    starttls_ctx = server_tls_context(*args.starttls) if args.starttls else None
    implicit_ctx = server_tls_context(*args.implicit_tls) if args.implicit_tls else None

    auth_kwargs = {}
    if args.require_auth:
        user, _, password = args.require_auth.partition(":")
        auth_kwargs = dict(
            authenticator=make_authenticator(user, password),
            auth_required=True,
            # aiosmtpd only counts STARTTLS as "TLS": with implicit TLS (or no TLS at all) AUTH
            # would never be offered unless this is off. With --starttls it stays on, so AUTH is
            # only advertised after the upgrade (a client that skips STARTTLS cannot log in).
            auth_require_tls=bool(args.starttls),
        )

    sink = Sink(args.out, args.tempfail, args.reject_rcpt, args.delay)
    loop = asyncio.get_running_loop()
    connections = set()

    class SinkSMTP(SMTP):
        def sink_tls_mode(self):
            if implicit_ctx is not None:
                return "implicit"
            return "starttls" if self._tls_protocol is not None else "none"

        def connection_made(self, transport):
            connections.add(self)  # called again after STARTTLS; a set keeps one entry
            super().connection_made(transport)

        def connection_lost(self, exc):
            connections.discard(self)
            super().connection_lost(exc)

    def factory():
        return SinkSMTP(
            sink,
            hostname="smtp-sink.test",
            ident="SlugBase test SMTP sink",
            tls_context=starttls_ctx,
            require_starttls=bool(starttls_ctx),
            enable_SMTPUTF8=True,
            loop=loop,
            **auth_kwargs,
        )

    server = await loop.create_server(
        factory,
        host=args.host,
        port=args.port,
        ssl=implicit_ctx,
        reuse_address=True,  # SO_REUSEADDR: a restarted sink can take the same port at once
        family=socket.AF_INET,
    )
    port = server.sockets[0].getsockname()[1]

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    print("READY " + json.dumps({"port": port, "pid": os.getpid(), "tls": tls_mode,
                                 "auth": bool(args.require_auth)}), flush=True)
    await stop.wait()
    server.close()
    # Python >= 3.12's wait_closed() waits for every open connection: drop them first.
    for proto in list(connections):
        for t in (proto.transport, getattr(proto, "_original_transport", None)):
            if t is not None:
                t.abort()
    await asyncio.wait_for(server.wait_closed(), 5)


if __name__ == "__main__":
    asyncio.run(main())
