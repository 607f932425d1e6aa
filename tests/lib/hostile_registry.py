#!/usr/bin/env python3
"""A hostile OCI registry for tests, on loopback only.

    hostile_registry.py PORTFILE LOGFILE

Listens on 127.0.0.1:PORT and 127.0.0.2:PORT (the "foreign" host: a CDN, a
token realm or an upload target on another host), writes PORT to PORTFILE
once both listen, and logs one line per request to LOGFILE:
"HOST METHOD PATH auth=<Authorization or ->" plus "HOST header X-Injected"
when a request carried that header.

The repository name picks the behaviour (127.0.0.1:PORT/<scenario>:1):
  good          a valid image (one small gzip layer)
  bigger        the layer declared as 100 bytes, the blob is larger
  shorter       the layer declared larger than it is
  endless       the layer blob never ends (no Content-Length)
  bomb          a small gzip layer that unpacks to 200 MiB of zeros
  nul           the config is "<json>\\0garbage" (its digest is right)
  slow          the layer comes 1 byte a second
  manylayers    20,000 layers
  artifact      an artifact manifest (artifactType, helm config)
  nolayers      a config and no layers
  badlayer      a layer of an unknown media type
  hugemanifest  a 65 MiB manifest
  nested        an index naming an index
  redirect      the layer 307s to 127.0.0.2, which asks for a bearer token
                from its own realm
  realmforeign  bearer auth whose realm is on 127.0.0.2
  refresh       bearer auth, each token good for two requests
  inject        bearer auth; the token has "\\r\\nX-Injected: evil" in it
  hugetoken     bearer auth; a 100 KiB token
  push          for push: Basic auth on 127.0.0.1, the upload Location on
                127.0.0.2
"""
import gzip
import hashlib
import http.server
import io
import json
import socketserver
import sys
import tarfile
import threading
import time

PORTFILE, LOGFILE = sys.argv[1], sys.argv[2]
log_lock = threading.Lock()
OCI_M = "application/vnd.oci.image.manifest.v1+json"
OCI_I = "application/vnd.oci.image.index.v1+json"
OCI_C = "application/vnd.oci.image.config.v1+json"
OCI_L = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def layer_tgz(files):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in files:
            i = tarfile.TarInfo(name)
            i.size = len(data)
            i.mode = 0o644
            t.addfile(i, io.BytesIO(data))
    return raw.getvalue(), gzip.compress(raw.getvalue(), 6)


def bomb_tgz():
    """gzip of a tar holding a 200 MiB file of zeros, built without holding it."""
    out = io.BytesIO()
    z = gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0)
    size = 200 << 20
    i = tarfile.TarInfo("zeros")
    i.size = size
    z.write(i.tobuf(format=tarfile.GNU_FORMAT))
    chunk = b"\0" * (1 << 20)
    for _ in range(size >> 20):
        z.write(chunk)
    z.write(b"\0" * 1024)  # end of archive
    z.close()
    return out.getvalue()


def config_for(diff_ids):
    return json.dumps({"architecture": ARCH, "os": "linux", "config": {"Cmd": ["sh"]},
                       "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()


ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(__import__("os").uname().machine, "amd64")
BLOBS = {}


def blob(b):
    d = digest(b)
    BLOBS[d] = b
    return d


def desc(mt, b, size=None):
    return {"mediaType": mt, "digest": blob(b), "size": len(b) if size is None else size}


def manifest(cfg, layers, **extra):
    m = {"schemaVersion": 2, "mediaType": OCI_M, "config": cfg, "layers": layers}
    m.update(extra)
    return json.dumps(m).encode()


tar, tgz = layer_tgz([("hello", b"hello from a hostile registry\n")])
big_tar, big_tgz = layer_tgz([("big", bytes(range(256)) * 1200)])  # ~300 KB, poorly compressible
good_cfg = config_for([digest(tar)])
MANIFESTS = {}
MANIFESTS["good"] = manifest(desc(OCI_C, good_cfg), [desc(OCI_L, tgz)])
for name in ("redirect", "realmforeign", "refresh", "inject", "hugetoken", "slow", "endless"):
    MANIFESTS[name] = MANIFESTS["good"]
MANIFESTS["bigger"] = manifest(desc(OCI_C, config_for([digest(big_tar)])), [desc(OCI_L, big_tgz, 100)])
MANIFESTS["shorter"] = manifest(desc(OCI_C, good_cfg), [desc(OCI_L, tgz, len(tgz) + 5000)])
bomb = bomb_tgz()
MANIFESTS["bomb"] = manifest(desc(OCI_C, config_for(["sha256:" + "0" * 64])), [desc(OCI_L, bomb)])
MANIFESTS["nul"] = manifest(desc(OCI_C, good_cfg + b"\0garbage"), [desc(OCI_L, tgz)])
MANIFESTS["manylayers"] = manifest(desc(OCI_C, good_cfg), [desc(OCI_L, tgz)] * 20000)
MANIFESTS["artifact"] = manifest(desc("application/vnd.cncf.helm.config.v1+json", b"{}"),
                                 [desc("application/vnd.cncf.helm.chart.content.v1.tar+gzip", tgz)],
                                 artifactType="application/vnd.cncf.helm.config.v1+json")
MANIFESTS["nolayers"] = manifest(desc(OCI_C, config_for([])), [])
MANIFESTS["badlayer"] = manifest(desc(OCI_C, good_cfg), [desc("application/vnd.example.weird", tgz)])
MANIFESTS["hugemanifest"] = MANIFESTS["good"][:-1] + b" " * (65 << 20) + b"}"
inner = json.dumps({"schemaVersion": 2, "mediaType": OCI_I, "manifests": [
    dict(desc(OCI_M, MANIFESTS["good"]), platform={"os": "linux", "architecture": ARCH})]}).encode()
MANIFESTS["nested"] = json.dumps({"schemaVersion": 2, "mediaType": OCI_I, "manifests": [
    dict(desc(OCI_I, inner), platform={"os": "linux", "architecture": ARCH})]}).encode()
for m in list(MANIFESTS.values()) + [inner]:
    BLOBS[digest(m)] = m
LAYER = digest(tgz)

tokens = {}  # token -> uses left (refresh)
counter = [0]


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def host(self):
        return self.server.server_address[0]

    def note(self):
        with log_lock, open(LOGFILE, "a") as f:
            f.write("%s %s %s auth=%s\n" % (self.host(), self.command, self.path,
                                             self.headers.get("Authorization", "-")))
            if self.headers.get("X-Injected"):
                f.write("%s header X-Injected\n" % self.host())

    def send(self, code, body=b"", ctype="application/json", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def challenge(self, realm):
        self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"token needed"}]}',
                  headers=[("WWW-Authenticate", 'Bearer realm="%s",service="hostile",scope="x"' % realm)])

    def base(self, host="127.0.0.1"):
        return "http://%s:%d" % (host, self.server.server_address[1])

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.note()
        path = self.path.split("?")[0]
        if path.startswith("/token/"):
            return self.token(path[7:])
        if self.host() == "127.0.0.2":
            return self.challenge(self.base("127.0.0.2") + "/token/steal")
        parts = path.split("/")
        if len(parts) < 5 or parts[1] != "v2":
            return self.send(404)
        scen, kind, ref = parts[2], parts[3], parts[4]
        if not self.authorized(scen):
            return
        if kind == "manifests":
            m = MANIFESTS.get(scen) if ref == "1" else BLOBS.get(ref)
            if m is None:
                return self.send(404)
            mt = OCI_M if scen == "hugemanifest" else json.loads(m).get("mediaType", OCI_M)
            return self.send(200, m, mt, [("Docker-Content-Digest", digest(m))])
        if kind == "blobs":
            b = BLOBS.get(ref) if scen != "push" else None  # push: no blob is there yet
            if b is None:
                return self.send(404)
            if ref == LAYER and scen == "redirect":
                return self.send(307, headers=[("Location", self.base("127.0.0.2") + path)])
            if ref == LAYER and scen == "endless":
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    while True:
                        self.wfile.write(b"\0" * 65536)
                except OSError:
                    return
            if ref == LAYER and scen == "slow":
                self.send_response(200)
                self.send_header("Content-Length", str(len(b)))
                self.end_headers()
                try:
                    for i in range(len(b)):
                        self.wfile.write(b[i:i + 1])
                        self.wfile.flush()
                        time.sleep(1)
                except OSError:
                    return
            return self.send(200, b, "application/octet-stream")
        return self.send(404)

    def authorized(self, scen):
        a = self.headers.get("Authorization", "")
        if scen in ("realmforeign",):
            if a == "Bearer goodtok":
                return True
            self.challenge(self.base("127.0.0.2") + "/token/realmforeign")
            return False
        if scen in ("refresh", "inject", "hugetoken"):
            t = a[7:] if a.startswith("Bearer ") else None
            if t in tokens and tokens[t] > 0:
                tokens[t] -= 1
                return True
            self.challenge(self.base() + "/token/" + scen)
            return False
        if scen == "push":
            if a.startswith("Basic "):
                return True
            self.send(401, headers=[("WWW-Authenticate", 'Basic realm="hostile"')])
            return False
        return True

    def token(self, scen):
        if scen == "inject":
            return self.send(200, json.dumps({"token": "abc\r\nX-Injected: evil"}).encode())
        if scen == "hugetoken":
            t = "h" * (100 << 10)
            tokens[t] = 100
            return self.send(200, json.dumps({"token": t}).encode())
        if scen == "realmforeign":
            return self.send(200, b'{"token":"goodtok"}')
        if scen == "refresh":
            counter[0] += 1
            t = "tok%d" % counter[0]
            tokens[t] = 2
            return self.send(200, json.dumps({"token": t, "expires_in": 60}).encode())
        return self.send(200, b'{"token":"stolen"}')

    def do_POST(self):
        self.note()
        if not self.authorized("push"):
            return
        self.send(202, headers=[("Location", self.base("127.0.0.2") + "/upload/x?state=1")])

    def do_PUT(self):
        self.note()
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n else b""
        if self.host() == "127.0.0.1" and not self.authorized("push"):
            return
        if "/manifests/" in self.path:
            return self.send(201, headers=[("Docker-Content-Digest", digest(body))])
        d = self.path.split("digest=")[-1]
        return self.send(201, headers=[("Docker-Content-Digest", d)])


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


a = S(("127.0.0.1", 0), H)
port = a.server_address[1]
b = S(("127.0.0.2", port), H)
for s in (a, b):
    threading.Thread(target=s.serve_forever, daemon=True).start()
with open(PORTFILE + ".new", "w") as f:
    f.write("%d\n" % port)
__import__("os").rename(PORTFILE + ".new", PORTFILE)
threading.Event().wait()
