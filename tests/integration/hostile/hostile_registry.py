#!/usr/bin/env python3
"""A registry that lies, for the hostile-input tests (standard library only).

  hostile_registry.py PORTFILE

Binds 127.0.0.1 on a free port (written to PORTFILE). The repository name
chooses the lie; every tag of it answers the same:
  huge            a manifest that never ends (gigabytes of spaces)
  manifest-types  a manifest whose fields have the wrong types
  index-types     an index whose "manifests" is a string
  no-layers       a manifest without "layers"
  config-json     a config that is not JSON
  config-types    a config whose diff_ids are numbers
  config-count    a config with no diff ids for a manifest with one layer
  config-huge     a config descriptor declaring a terabyte
  token-types     asks for a bearer token; the token server's reply is {"token": 5}
  token-huge      asks for a bearer token; the reply never ends
"""
import hashlib
import http.server
import json
import os
import sys

MT = "application/vnd.oci.image.manifest.v1+json"


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


LAYER = b"\0" * 1024
CONFIGS = {
    "config-json": b"not json",
    "config-types": json.dumps({"rootfs": {"type": "layers", "diff_ids": [1]}}).encode(),
    "config-count": json.dumps({"rootfs": {"type": "layers", "diff_ids": []}}).encode(),
}
BLOBS = {digest(LAYER): LAYER}
for c in CONFIGS.values():
    BLOBS[digest(c)] = c


def manifest_for(repo):
    if repo in CONFIGS:
        c = CONFIGS[repo]
        return json.dumps({"schemaVersion": 2, "mediaType": MT,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": digest(c), "size": len(c)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                       "digest": digest(LAYER), "size": len(LAYER)}]}), MT
    if repo == "config-huge":
        return json.dumps({"schemaVersion": 2, "mediaType": MT,
                           "config": {"digest": digest(b"x"), "size": 10 ** 12},
                           "layers": []}), MT
    if repo == "manifest-types":
        return json.dumps({"schemaVersion": 2, "mediaType": MT,
                           "config": {"digest": 5, "size": "x"}, "layers": 5}), MT
    if repo == "index-types":
        return json.dumps({"schemaVersion": 2, "manifests": "x"}), \
            "application/vnd.oci.image.index.v1+json"
    if repo == "no-layers":
        return json.dumps({"schemaVersion": 2, "mediaType": MT,
                           "config": {"digest": digest(LAYER), "size": len(LAYER)}}), MT
    return json.dumps({"schemaVersion": 2, "mediaType": MT}), MT


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def endless(self, start):
        self.send_response(200)
        self.send_header("Content-Type", MT)
        self.send_header("Content-Length", str(4 << 30))
        self.end_headers()
        try:
            self.wfile.write(start)
            chunk = b" " * (1 << 20)
            for _ in range(4 << 10):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/token":
            if "token-huge" in self.path:
                return self.endless(b'{"token": "')
            return self.send(200, json.dumps({"token": 5}).encode())
        parts = path.split("/")
        if path in ("/v2", "/v2/"):
            return self.send(200, b"{}")
        if len(parts) < 5 or parts[1] != "v2":
            return self.send(404, b"{}")
        repo, kind, ref = "/".join(parts[2:-2]), parts[-2], parts[-1]
        if repo.startswith("token-") and "Authorization" not in self.headers:
            port = self.server.server_address[1]
            realm = f'Bearer realm="http://127.0.0.1:{port}/token",service="x",scope="{repo}"'
            return self.send(401, b"{}", headers=[("WWW-Authenticate", realm)])
        if kind == "manifests":
            if repo == "huge":
                return self.endless(b'{"schemaVersion": 2, "layers": [')
            body, ctype = manifest_for(repo)
            return self.send(200, body.encode(), ctype)
        if kind == "blobs" and ref in BLOBS:
            return self.send(200, BLOBS[ref], "application/octet-stream")
        return self.send(404, b"{}")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
