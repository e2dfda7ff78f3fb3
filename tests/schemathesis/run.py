#!/usr/bin/env python3
"""Schemathesis against our own /openapi.json: the document is the contract.

Starts the server (target/debug/slugbase) on a fresh SQLite database, sets up an admin with an
API token and a little data, then runs Schemathesis with every check, a fixed seed and a time
budget, as that admin. Operations that would end the run's own credentials are excluded.
Exit code: Schemathesis's (non-zero on any failure).

Usage: python3 tests/schemathesis/run.py [--max-time SECONDS] [--seed N] [extra st args...]
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Operations that would take the run's credentials away, or would make every later request
# fail for reasons that are not the document's: deleting or disabling the caller, changing its
# password, signing it out, revoking its token, turning MFA on for it.
EXCLUDE = [
    "delete_api_users_me",
    "post_api_users_me_password",
    "post_api_auth_logout",
    "post_api_auth_logout_all",
    "delete_api_tokens_id",
    "post_api_auth_mfa_enroll_begin",
    "post_api_auth_mfa_enroll_confirm",
    "put_api_admin_users_id",
    "delete_api_admin_users_id",
    "post_api_admin_users_id_reset_mfa",
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(base, method, path, body=None, token=None, cookie=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if cookie:
        req.add_header("Cookie", cookie)
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.loads(res.read() or b"null"), res.headers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-time", type=int, default=120)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "debug", "slugbase"))
    args, extra = ap.parse_known_args()

    st = shutil.which("st") or shutil.which("schemathesis")
    if not st:
        print("FATAL: schemathesis is not installed (python3 -m pip install schemathesis)", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="slugbase-st-")
    port = free_port()
    # localhost rather than 127.0.0.1: passkeys (WebAuthn) need a host name as relying party.
    base = f"http://localhost:{port}"
    env = dict(os.environ)
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        BASE_URL=base,
        DB_PATH=os.path.join(tmp, "slugbase.db"),
        JWT_SECRET="s" * 40,
        SESSION_SECRET="t" * 40,
        ENCRYPTION_KEY="00" * 32,
        GO_RATE_LIMIT="0",
        RUST_LOG="warn",
    )
    server = subprocess.Popen([args.binary], env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "server.log"), "w"))
    try:
        for _ in range(100):
            try:
                call(base, "GET", "/api/health")
                break
            except Exception:
                time.sleep(0.1)
        _, headers = call(base, "POST", "/api/auth/setup", {"email": "admin@example.com", "name": "Admin", "password": "Schema-Passw0rd!"})
        cookie = headers.get("Set-Cookie", "").split(";")[0]
        csrf, csrf_headers = call(base, "GET", "/api/csrf-token", cookie=cookie)
        csrf_cookie = csrf_headers.get("Set-Cookie", "").split(";")[0]
        req = urllib.request.Request(base + "/api/tokens", data=json.dumps({"name": "schemathesis"}).encode(), method="POST")
        req.add_header("Content-Type", "application/json")
        req.add_header("Cookie", f"{cookie}; {csrf_cookie}")
        req.add_header("X-CSRF-Token", csrf["csrfToken"])
        with urllib.request.urlopen(req, timeout=30) as res:
            token = json.loads(res.read())["token"]
        folder, _ = call(base, "POST", "/api/folders", {"name": "Reading"}, token=token)
        tag, _ = call(base, "POST", "/api/tags", {"name": "rust"}, token=token)
        call(base, "POST", "/api/bookmarks", {"title": "Rust", "url": "https://www.rust-lang.org/", "slug": "rust",
              "forwarding_enabled": True, "folder_ids": [folder["id"]], "tag_ids": [tag["id"]]}, token=token)
        call(base, "POST", "/api/admin/teams", {"name": "Core"}, token=token)

        cmd = [st, "--config-file", os.path.join(ROOT, "tests", "schemathesis", "schemathesis.toml"), "run", f"{base}/openapi.json", "--checks", "all", "--max-time", str(args.max_time),
               "--seed", str(args.seed), "--workers", "2", "-H", f"Authorization: Bearer {token}",
               "--request-timeout", "20", "--suppress-health-check", "all", "--warnings", "off"]
        for op in EXCLUDE:
            cmd += ["--exclude-operation-id", op]
        cmd += extra
        print("running:", " ".join(c if " " not in c else repr(c) for c in cmd[:4]), "…", flush=True)
        code = subprocess.call(cmd)
        if code != 0:
            print(f"server log: {os.path.join(tmp, 'server.log')}", file=sys.stderr)
        return code
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
