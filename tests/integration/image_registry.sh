#!/bin/bash
# cell pull / cell push against Debian's docker-registry on loopback (its
# own config, storage in a temp dir, killed by PID at the end): OCI and
# Docker v2s2 manifests, gzip and zstd layers, an index with two platforms,
# pull by digest, present blobs skipped, htpasswd auth, concurrent pulls, a
# pull killed -9 then run again.
. "$(dirname "$0")/../lib/tap.sh"
need_root
command -v docker-registry >/dev/null || skip_all "docker-registry not installed (scripts/deps.sh test)"
command -v skopeo >/dev/null || skip_all "skopeo not installed (scripts/deps.sh test)"
tmpdir
R1=$TMPD/r1 R2=$TMPD/r2
c1() { "$CELL" --root "$R1" "$@"; }
c2() { "$CELL" --root "$R2" "$@"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_registry NAME [htpasswd-file]: sets PORT
start_registry() {
	local d=$TMPD/$1 auth=""
	PORT=$(free_port)
	mkdir -p "$d/data"
	[ -n "${2:-}" ] && auth="auth:
  htpasswd:
    realm: cell-test
    path: $2"
	cat > "$d/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $d/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
$auth
EOF
	docker-registry serve "$d/config.yml" > "$d/log" 2>&1 &
	local pid=$!
	defer "kill $pid; wait $pid"
	for _ in $(seq 50); do
		curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/" && return 0
		sleep 0.1
	done
	echo "# registry did not start:"; sed 's/^/# /' "$d/log"
	return 1
}

start_registry plain
check "registry on 127.0.0.1:$PORT" -- curl -sf -o /dev/null "http://127.0.0.1:$PORT/v2/"
REG=127.0.0.1:$PORT

# a source image: busybox and a few files, gzip layer
mkdir -p "$TMPD/src/bin" "$TMPD/src/etc"
cp /bin/busybox "$TMPD/src/bin/"
echo 'root:x:0:0::/root:/bin/sh' > "$TMPD/src/etc/passwd"
tar -C "$TMPD/src" -czf "$TMPD/src.tar.gz" .
c1 image import -q -c 'CMD ["sh"]' "$TMPD/src.tar.gz" src:1 >/dev/null
id=$(c1 image inspect -f '{{.Id}}' src:1)

out=$(c1 push src:1 "$REG/test/a:oci")
ok $? "push to the registry"
like "$out" 'Pushed' "push reports pushed blobs"
digest=$(printf '%s\n' "$out" | sed -n 's/^Digest: //p')
is "$(skopeo inspect --tls-verify=false --config "docker://$REG/test/a:oci" | jq -c .config.Cmd)" '["sh"]' \
	"skopeo reads the pushed image's config"
like "$(c1 push src:1 "$REG/test/a:oci")" 'Layer already exists' "a second push skips present blobs"

out=$(c2 pull "$REG/test/a:oci")
ok $? "pull into a fresh store"
like "$out" "Digest: $digest" "pull reports the manifest digest"
is "$(c2 image inspect -f '{{.Id}}' "$REG/test/a:oci")" "$id" "pulled image has the pushed id"
out=$(c2 pull "$REG/test/a:oci")
like "$out" 'Already exists' "a second pull finds the blobs present"
like "$out" 'Status: Image is up to date for' "and says the image is up to date"
check "pull by digest" -- c2 pull "$REG/test/a@$digest"
fails "pull of an unknown tag" -- c2 pull "$REG/test/a:nosuch"
like "$LAST_OUT" '404|MANIFEST_UNKNOWN' "the error carries the registry's answer"

# Docker v2s2 manifest and zstd layers, pushed by skopeo
c1 image save --format oci-archive -o "$TMPD/src.oci.tar" src:1
check "skopeo pushes a v2s2 image" -- skopeo copy -q --dest-tls-verify=false --format v2s2 \
	"oci-archive:$TMPD/src.oci.tar" "docker://$REG/test/b:v2s2"
check "pull a v2s2 image" -- c2 pull "$REG/test/b:v2s2"
is "$(c2 image inspect -f '{{json .RootFS.Layers}}' "$REG/test/b:v2s2")" \
	"$(c1 image inspect -f '{{json .RootFS.Layers}}' src:1)" "v2s2 image has the same layers"
tar -C "$TMPD/src" -cf - . | zstd -q -c > "$TMPD/src.tar.zst"
c1 image import -q "$TMPD/src.tar.zst" zst:1 >/dev/null
check "push an image with a zstd layer" -- c1 push -q zst:1 "$REG/test/c:zstd"
like "$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/test/c/manifests/zstd")" \
	'layer.v1.tar\+zstd' "the registry holds a zstd layer"
check "pull an image with a zstd layer" -- c2 pull "$REG/test/c:zstd"
is "$(c2 image inspect -f '{{json .RootFS.Layers}}' "$REG/test/c:zstd")" \
	"$(c1 image inspect -f '{{json .RootFS.Layers}}' src:1)" "zstd layer unpacks to the same diff id as gzip"

# an index with two platforms: amd64 (src:1) and a fake arm64 twin
c1 image import -q -c 'CMD ["arm"]' "$TMPD/src.tar.gz" twin:1 >/dev/null
c1 push -q twin:1 "$REG/test/twin:1" >/dev/null
mt=application/vnd.oci.image.manifest.v1+json
m_amd=$(curl -sf -H "Accept: $mt" "http://$REG/v2/test/a/manifests/oci")
m_twin=$(curl -sf -H "Accept: $mt" "http://$REG/v2/test/twin/manifests/1")
# the twin's manifest into repository test/a too (blobs mounted by push)
c1 push -q twin:1 "$REG/test/a:twin" >/dev/null
d_amd=sha256:$(printf '%s' "$m_amd" | sha256sum | cut -d' ' -f1)
d_twin=sha256:$(printf '%s' "$m_twin" | sha256sum | cut -d' ' -f1)
arch=$(c1 image inspect -f '{{.Architecture}}' src:1)
other=arm64; [ "$arch" = arm64 ] && other=amd64
index=$(jq -cn --arg a "$d_amd" --argjson asz "${#m_amd}" --arg t "$d_twin" --argjson ts "${#m_twin}" \
	--arg arch "$arch" --arg other "$other" --arg mt "$mt" '{schemaVersion:2,
	mediaType:"application/vnd.oci.image.index.v1+json", manifests:[
	{mediaType:$mt, digest:$t, size:$ts, platform:{os:"linux", architecture:$other}},
	{mediaType:$mt, digest:$a, size:$asz, platform:{os:"linux", architecture:$arch}}]}')
check "PUT an OCI index with two platforms" -- curl -sf -X PUT \
	-H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary "$index" \
	"http://$REG/v2/test/a/manifests/multi"
check "pull the index" -- c2 pull "$REG/test/a:multi"
is "$(c2 image inspect -f '{{.Id}}' "$REG/test/a:multi")" "$id" "the host's platform was chosen"
check "pull --platform linux/$other" -- c2 pull --platform "linux/$other" "$REG/test/a:multi"
is "$(c2 image inspect -f '{{json .Config.Cmd}}' "$REG/test/a:multi")" '["arm"]' "--platform picks the other image"
fails "pull --platform of a missing platform" -- c2 pull --platform linux/s390x "$REG/test/a:multi"
like "$LAST_OUT" 'no image for platform linux/s390x' "says which platform is missing"

# two pulls at once into one store; a pull killed -9 then run again
R3=$TMPD/r3
"$CELL" --root "$R3" pull -q "$REG/test/a:oci" >/dev/null 2>&1 & p1=$!
"$CELL" --root "$R3" pull -q "$REG/test/a:oci" >/dev/null 2>&1 & p2=$!
wait $p1; s1=$?; wait $p2; s2=$?
is "$s1$s2" 00 "two concurrent pulls both succeed"
is "$("$CELL" --root "$R3" image ls -q | wc -l)" 1 "and make one image"
R4=$TMPD/r4
"$CELL" --root "$R4" pull -q "$REG/test/a:oci" >/dev/null 2>&1 & p=$!
sleep 0.05; kill -9 $p 2>/dev/null; wait $p 2>/dev/null
check "a pull after one killed -9 completes" -- "$CELL" --root "$R4" pull -q "$REG/test/a:oci"
"$CELL" --root "$R4" image prune >/dev/null
is "$(ls -A "$R4/layers" "$R4/blobs/sha256" | grep -c '^\.tmp')" 0 "no temp file left after prune"

# htpasswd auth
htpasswd -Bbn cell s3cret > "$TMPD/htpasswd"
start_registry authed "$TMPD/htpasswd"
AREG=127.0.0.1:$PORT
fails "push without credentials refused" -- c1 push -q src:1 "$AREG/test/p:1"
like "$LAST_OUT" 'user name and password|401' "says credentials are needed"
check "push with --creds" -- c1 push -q --creds cell:s3cret src:1 "$AREG/test/p:1"
fails "pull with wrong credentials refused" -- c2 pull -q --creds cell:wrong "$AREG/test/p:1"
mkdir -p "$TMPD/dockercfg"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$AREG" "$(printf cell:s3cret | base64)" > "$TMPD/dockercfg/config.json"
check "pull with credentials from docker's config.json" -- env DOCKER_CONFIG="$TMPD/dockercfg" \
	"$CELL" --root "$R2" pull -q "$AREG/test/p:1"

# bearer tokens, as Docker Hub does them: a small registry in python that
# wants a token from its realm and redirects blob downloads elsewhere
mkdir -p "$TMPD/fake"
tar -C "$TMPD/fake" -xf "$TMPD/src.oci.tar"
FPORT=$(free_port)
python3 - "$TMPD/fake" "$FPORT" > "$TMPD/fake.log" 2>&1 <<'PY' &
import base64, hashlib, http.server, json, os, sys
root, port = sys.argv[1], int(sys.argv[2])
index = json.load(open(os.path.join(root, "index.json")))
mdesc = index["manifests"][0]
def blob(d): return open(os.path.join(root, "blobs", "sha256", d.split(":")[1]), "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def send(self, code, body=b"", ctype="application/json", extra={}):
        self.send_response(code)
        self.send_header("Content-Type", ctype); self.send_header("Content-Length", str(len(body)))
        for k, v in extra.items(): self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def do_HEAD(self): self.do_GET()
    def do_GET(self):
        p = self.path
        if p.startswith("/token"):
            auth = self.headers.get("Authorization", "")
            with open(os.path.join(root, "token-requests"), "a") as f: f.write(p + " " + auth + "\n")
            return self.send(200, json.dumps({"token": "tok-123"}).encode())
        if p.startswith("/direct/"):
            return self.send(200, blob(p[len("/direct/"):]), "application/octet-stream")
        if self.headers.get("Authorization") != "Bearer tok-123":
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"token please"}]}', extra={
                "WWW-Authenticate": 'Bearer realm="http://127.0.0.1:%d/token",service="fake",scope="repository:test/a:pull"' % port})
        if p == "/v2/":
            return self.send(200, b"{}")
        if p.startswith("/v2/test/a/manifests/"):
            ref = p.rsplit("/", 1)[1]
            if ref not in ("latest", mdesc["digest"]): return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
            return self.send(200, blob(mdesc["digest"]), mdesc["mediaType"], {"Docker-Content-Digest": mdesc["digest"]})
        if p.startswith("/v2/test/a/blobs/"):
            return self.send(307, b"", extra={"Location": "/direct/" + p.rsplit("/", 1)[1]})
        self.send(404, b"{}")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
fpid=$!
defer "kill $fpid"
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$FPORT/v2/" && break; sleep 0.1; done
R5=$TMPD/r5
check "pull from a registry that wants a bearer token" -- "$CELL" --root "$R5" pull "127.0.0.1:$FPORT/test/a"
is "$("$CELL" --root "$R5" image inspect -f '{{.Id}}' "127.0.0.1:$FPORT/test/a")" "$id" "the image arrived whole"
like "$(cat "$TMPD/fake/token-requests")" 'service=fake&scope=repository%3Atest%2Fa%3Apull' \
	"the token was asked for the repository's pull scope"
rm -f "$TMPD/fake/token-requests"
check "pull with --creds sends them to the token realm" -- "$CELL" --root "$R5" pull -q --creds u:p "127.0.0.1:$FPORT/test/a"
like "$(cat "$TMPD/fake/token-requests")" "Basic $(printf u:p | base64)" "basic credentials went to the realm"
