#!/usr/bin/env python3
"""Loopback helpers for registry_test.sh, standard library only.

token KEY.pem ISSUER SERVICE USER PASSWORD PORTFILE LOG
    A bearer-token server for docker-registry's `auth: token`: GET /token
    with Basic USER:PASSWORD answers a JWT (RS256, signed with openssl)
    granting the scopes asked for (a line in LOG each); anything else gets
    401.
proxy UPSTREAM_PORT PORTFILE LOG [MODE]
    An HTTP proxy in front of a registry that fails on purpose. MODE flaky
    (the default): the first request for each path gets 503, the second GET
    of each blob is cut off after 1000 bytes (a dropped connection); later
    ones pass. MODE busy: the first two requests for each path get 429 Too
    Many Requests. MODE down: every request gets 503. Each failure it causes
    is a line in LOG.
Both bind 127.0.0.1 on a free port and write it to PORTFILE.
"""
import base64
import hashlib
import http.client
import http.server
import json
import subprocess
import sys
import threading
import time
import urllib.parse


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(key_file):
    der = subprocess.run(["openssl", "rsa", "-in", key_file, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


def serve(handler, portfile):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    server.serve_forever()


def token_server(key, issuer, service, user, password, portfile, log):
    kid = libtrust_key_id(key)
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            if url.path != "/token" or self.headers.get("Authorization") != expected:
                return self.reply(401, {"details": "bad credentials"})
            query = urllib.parse.parse_qs(url.query)
            with open(log, "a") as f:
                f.write("token " + " ".join(query.get("scope", [])) + "\n")
            access = []
            for scope in query.get("scope", []):
                for one in scope.split(" "):
                    kind, name, actions = one.split(":")
                    access.append({"type": kind, "name": name, "actions": actions.split(",")})
            now = int(time.time())
            claims = {"iss": issuer, "sub": user, "aud": service, "exp": now + 300,
                      "nbf": now - 10, "iat": now, "jti": str(now) + str(id(self)),
                      "access": access}
            header = {"alg": "RS256", "typ": "JWT", "kid": kid}
            signing = (b64url(json.dumps(header).encode()) + "." +
                       b64url(json.dumps(claims).encode()))
            signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                                       input=signing.encode(), check=True,
                                       capture_output=True).stdout
            token = signing + "." + b64url(signature)
            self.reply(200, {"token": token, "access_token": token, "expires_in": 300})

    serve(Handler, portfile)


def flaky_proxy(upstream_port, portfile, log, mode="flaky"):
    seen = {}
    lock = threading.Lock()

    def note(line):
        with lock, open(log, "a") as f:
            f.write(line + "\n")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def forward(self):
            key = (self.command, self.path)
            with lock:
                seen[key] = seen.get(key, 0) + 1
                n = seen[key]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            status = (503 if mode == "down" or (mode == "flaky" and n == 1)
                      else 429 if mode == "busy" and n <= 2 else None)
            if status:
                note(f"{status} {self.command} {self.path}")
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port)
            headers = {k: v for k, v in self.headers.items()}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            cut = (mode == "flaky" and self.command == "GET" and "/blobs/sha256:" in self.path and n == 2
                   and resp.status == 200 and len(data) > 1000)
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            if self.command == "HEAD":
                self.send_header("Content-Length", resp.getheader("Content-Length") or "0")
            else:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if cut:
                note(f"cut {self.command} {self.path}")
                self.wfile.write(data[:1000])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = forward

    serve(Handler, portfile)


if __name__ == "__main__":
    if sys.argv[1] == "token":
        token_server(*sys.argv[2:9])
    elif sys.argv[1] == "proxy":
        flaky_proxy(int(sys.argv[2]), *sys.argv[3:6])
    else:
        sys.exit("usage: registry_helper.py token|proxy ...")
