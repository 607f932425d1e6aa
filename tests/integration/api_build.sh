#!/bin/bash
# The Docker API's archive routes: POST /build (the classic builder's
# protocol, as docker 20.10 and 28 and docker-compose use it), /build/prune,
# /images/load, /images/get (docker save), push, pull and /auth (docker
# login) against Debian's docker-registry on loopback. Bodies are spooled
# to an unlinked file in the engine root: one larger than the free space is
# refused (507) and leaves nothing; a hostile context cannot make the
# builder read a host file.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
for t in curl jq; do command -v $t >/dev/null || skip_all "$t is not installed"; done
engine_setup

SOCK=$TMPD/api.sock
# start_service ROOT SOCKET: sets SVC
start_service() {
	"$CELL" --root "$1" system service -t 0 "unix://$2" 2>>"$TMPD/service.log" &
	SVC=$!
	defer "kill $SVC 2>/dev/null; wait $SVC 2>/dev/null"
	local i
	for i in $(seq 100); do [ -S "$2" ] && return 0; sleep 0.05; done
	return 1
}
start_service "$R" "$SOCK"; ok $? "system service listens"
api() { curl -s --unix-socket "$SOCK" "$@"; }
code() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" "$@"; }

mkdir -p "$TMPD/ctx"
printf 'FROM busybox\nARG GREETING=hi\nRUN echo "$GREETING" > /greeting\nCMD ["cat","/greeting"]\n' > "$TMPD/ctx/Dockerfile"
printf 'FROM busybox AS one\nRUN echo one > /f\nFROM busybox AS two\nRUN echo two > /f\nCMD ["cat","/f"]\n' > "$TMPD/ctx/Stages.Dockerfile"
tar -C "$TMPD/ctx" -cf "$TMPD/ctx.tar" .

# ---- POST /build by hand ----
out=$(api -X POST -H 'Content-Type: application/x-tar' --data-binary @"$TMPD/ctx.tar" \
	'http://x/v1.41/build?t=hand:1&t=hand2&networkmode=none&buildargs=%7B%22GREETING%22%3A%22hello%22%7D')
like "$out" '"stream":"STEP 1/4: FROM busybox' "build: the builder's progress as stream lines"
id=$(printf '%s\n' "$out" | jq -r 'select(.aux) | .aux.ID')
like "$id" '^sha256:[0-9a-f]{64}$' "build: the image id in an aux line"
like "$out" "Successfully built ${id:7:12}" "build: 'Successfully built' (what older SDKs parse)"
is "$(c image inspect -f '{{.Id}}' hand:1)" "$id" "build: t= tags the image"
is "$(c image inspect -f '{{.Id}}' hand2:latest)" "$id" "build: a second t= too (:latest added)"
is "$(c run --rm hand:1)" "hello" "build: buildargs reached the RUN step"
out=$(api -X POST --data-binary @"$TMPD/ctx.tar" 'http://x/v1.41/build?dockerfile=Stages.Dockerfile&target=one&t=st&networkmode=none')
is "$(c run --rm st cat /f)" "one" "build: dockerfile= and target="
out=$(api -X POST --data-binary @"$TMPD/ctx.tar" 'http://x/v1.41/build?q=1&networkmode=none')
qid=$(printf '%s\n' "$out" | jq -r 'select(.aux) | .aux.ID')
is "$(printf '%s\n' "$out" | jq -r 'select(.stream) | .stream')" "$qid" "build: q=1 streams only the id"
is "$(code -X POST --data-binary @"$TMPD/ctx.tar" 'http://x/v1.41/build?remote=http://127.0.0.1:1/x.tar')" 400 \
	"build: a remote context is refused (400), nothing fetched"
is "$(code -X POST 'http://x/v1.41/build')" 400 "build: no body: 400"
is "$(code -X POST --data-binary @"$TMPD/ctx.tar" 'http://x/v1.41/build?buildargs=notjson')" 400 "build: buildargs not JSON: 400"
is "$(code -X POST --data-binary @"$TMPD/ctx.tar" 'http://x/v1.41/build?platform=linux/arm64')" 400 \
	"build: another platform: 400"

# ---- hostile contexts ----
mkdir -p "$TMPD/evil"
ln -s /etc/shadow "$TMPD/evil/Dockerfile"
tar -C "$TMPD/evil" -cf "$TMPD/evil.tar" .
out=$(api -X POST --data-binary @"$TMPD/evil.tar" 'http://x/v1.41/build')
like "$out" '"errorDetail"' "build: a Dockerfile that is a link to a host file is an error"
unlike "$out" 'root:' "... and nothing of the host file comes back"
out=$(api -X POST --data-binary @"$TMPD/ctx.tar" 'http://x/v1.41/build?dockerfile=../../../../../etc/passwd')
like "$out" 'Cannot locate specified Dockerfile' "build: dockerfile=../../etc/passwd is looked for inside the context"
unlike "$out" 'root:' "... and the host's passwd is not read"
printf 'FROM busybox\nRUN exit 3\n' > "$TMPD/evil/Dockerfile2"
tar -C "$TMPD/evil" -cf "$TMPD/fail.tar" Dockerfile2
out=$(api -X POST --data-binary @"$TMPD/fail.tar" 'http://x/v1.41/build?dockerfile=Dockerfile2&networkmode=none')
like "$(printf '%s\n' "$out" | tail -1)" '"errorDetail":\{"message":"Dockerfile2:2: RUN' \
	"build: a failed RUN ends the stream with errorDetail naming the line"
is "$(c ps -aq | wc -l)" 0 "build: no step container left"

# ---- a body larger than the free space: 507, nothing left ----
SMALL=$TMPD/small
mkdir -p "$SMALL"
if mount -t tmpfs -o size=8m tmpfs "$SMALL"; then
	defer "umount -l '$SMALL'"
	S2=$TMPD/small.sock
	start_service "$SMALL/root" "$S2"
	head -c 20000000 /dev/zero > "$TMPD/20m"
	is "$(curl -s -o "$TMPD/r" -w '%{http_code}' --unix-socket "$S2" -X POST --data-binary @"$TMPD/20m" \
		http://x/v1.41/images/load)" 507 "a body announced larger than the free space: 507 at once"
	like "$(jq -r .message "$TMPD/r")" "bytes free" "... saying how much space there is"
	is "$(curl -s -o "$TMPD/r" -w '%{http_code}' --unix-socket "$S2" -X POST -H 'Transfer-Encoding: chunked' \
		--data-binary @"$TMPD/20m" http://x/v1.41/images/load)" 507 "a chunked body that fills the disk: 507"
	like "$(jq -r .message "$TMPD/r")" "no space left" "... saying so"
	used=$(df --output=used -B1 "$SMALL" | tail -1)
	ok "$([ "$used" -lt 1000000 ]; echo $?)" "the spooled body is gone ($used bytes used)"
	is "$(ls -A "$SMALL/root/tmp" 2>/dev/null)" "" "no file left in the root's tmp"
	is "$(curl -s --unix-socket "$S2" http://x/_ping)" OK "the service still answers"
else
	skip "cannot mount a small tmpfs"
fi

# ---- the docker CLIs ----
for D in /usr/bin/docker /usr/local/bin/docker; do
	[ -x "$D" ] || { skip "$D is not installed"; continue; }
	v=$("$D" --version | sed 's/Docker version \([0-9]*\).*/\1/')
	d() { DOCKER_HOST="unix://$SOCK" DOCKER_CONFIG="$TMPD/dc$v" DOCKER_BUILDKIT=0 timeout 60 "$D" "$@"; }
	t="docker $v"
	check "$t: build -t" -- d build --network none -t "app$v:1" --build-arg GREETING="from $v" "$TMPD/ctx"
	is "$(c run --rm "app$v:1")" "from $v" "$t: the built image runs in cell"
	out=$(d build -q --network none "$TMPD/ctx" 2>/dev/null)
	like "$out" '^sha256:[0-9a-f]{64}$' "$t: build -q prints the id"
	d build --network none -f "$TMPD/evil/Dockerfile2" "$TMPD/evil" >"$TMPD/out" 2>&1
	is "$?" 1 "$t: a failed RUN: build exits 1"
	like "$(cat "$TMPD/out")" "Dockerfile2:2: RUN" "$t: ... naming the line"
	check "$t: save -o" -- d save -o "$TMPD/save$v.tar" "app$v:1"
	like "$(tar tf "$TMPD/save$v.tar")" "manifest.json" "$t: the saved file is a docker archive"
	check "$t: rmi" -- d rmi "app$v:1"
	like "$(d load -i "$TMPD/save$v.tar")" "Loaded image: app$v:1" "$t: load -i"
	is "$(c run --rm "app$v:1")" "from $v" "$t: the loaded image runs"
	like "$(d save "app$v:1" | d load)" "Loaded image: app$v:1" "$t: save | load through pipes"
	d save nosuch:image >/dev/null 2>"$TMPD/out"
	ok "$([ $? != 0 ]; echo $?)" "$t: save of no such image fails"
	head -c 5000 /dev/urandom > "$TMPD/junk.tar"
	d load -i "$TMPD/junk.tar" >"$TMPD/out" 2>&1
	ok "$([ $? != 0 ]; echo $?)" "$t: load of a file that is no archive fails"
	like "$(cat "$TMPD/out")" "the archive sent" "$t: ... naming the archive, not a spool file"
done
D=/usr/bin/docker
if [ -x $D ]; then
	like "$(DOCKER_HOST="unix://$SOCK" timeout 60 $D builder prune -f 2>&1)" "Total reclaimed space" \
		"docker builder prune: the build cache pruned"
fi

# ---- registry: login (/auth), push, pull with X-Registry-Auth ----
if command -v docker-registry >/dev/null && command -v htpasswd >/dev/null && [ -x $D ]; then
	free_port RPORT
	RD=$TMPD/registry
	mkdir -p "$RD/data"
	htpasswd -Bbn cell s3cret > "$RD/htpasswd"
	cat > "$RD/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $RD/data
http:
  addr: 127.0.0.1:$RPORT
auth:
  htpasswd:
    realm: cell-test
    path: $RD/htpasswd
EOF
	docker-registry serve "$RD/config.yml" > "$RD/log" 2>&1 &
	REG=$!
	defer "kill $REG; wait $REG 2>/dev/null"
	for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$RPORT/v2/" && break; sleep 0.1; done
	d() { DOCKER_HOST="unix://$SOCK" DOCKER_CONFIG="$TMPD/dcreg" timeout 60 $D "$@"; }
	d login -u cell -p wrong "127.0.0.1:$RPORT" >"$TMPD/out" 2>&1
	ok "$([ $? != 0 ]; echo $?)" "login with a wrong password fails"
	like "$(cat "$TMPD/out")" "unauthorized" "... saying unauthorized"
	like "$(d login -u cell -p s3cret "127.0.0.1:$RPORT" 2>&1)" "Login Succeeded" "login with the right password"
	check "tag for the registry" -- d tag hand:1 "127.0.0.1:$RPORT/team/hand:1"
	check "push with the CLI's credentials (X-Registry-Auth)" -- d push "127.0.0.1:$RPORT/team/hand:1"
	check "rmi" -- d rmi "127.0.0.1:$RPORT/team/hand:1"
	check "pull it back" -- d pull "127.0.0.1:$RPORT/team/hand:1"
	is "$(c image inspect -f '{{.Id}}' "127.0.0.1:$RPORT/team/hand:1")" "$id" "the pulled image is the one pushed"
	check "logout" -- d logout "127.0.0.1:$RPORT"
	d pull "127.0.0.1:$RPORT/team/hand:1" >"$TMPD/out" 2>&1
	ok "$([ $? != 0 ]; echo $?)" "after logout, a pull without credentials is refused"
	is "$(code -X POST -H 'X-Registry-Auth: %%%notbase64' "http://x/v1.41/images/create?fromImage=127.0.0.1:$RPORT/team/hand&tag=1")" 400 \
		"an X-Registry-Auth that is not base64url JSON: 400"
else
	skip "registry tests need docker-registry, htpasswd and docker"
fi

# ---- docker-compose 1.29 builds through the API ----
if command -v docker-compose >/dev/null; then
	mkdir -p "$TMPD/proj"
	cat > "$TMPD/proj/docker-compose.yml" <<EOF
version: "3"
services:
  app:
    build:
      context: $TMPD/ctx
      args:
        GREETING: composed
      network: none
    image: composed-app:1
    network_mode: none
EOF
	dc() { (cd "$TMPD/proj" && DOCKER_HOST="unix://$SOCK" timeout 120 docker-compose -p cbuild "$@"); }
	check "docker-compose build" -- dc build
	is "$(c run --rm composed-app:1)" "composed" "the image compose built runs"
else
	skip "docker-compose is not installed"
fi

# ---- docker cp: /containers/{id}/archive (HEAD, GET, PUT) ----
c run -d --name cpt busybox sleep 300 >/dev/null
echo hello > "$TMPD/f.txt"; mkdir -p "$TMPD/dd/sub"; echo deep > "$TMPD/dd/sub/y"
hdr=$(curl -sI --unix-socket "$SOCK" "http://x/v1.41/containers/cpt/archive?path=/etc/hostname" | tr -d '\r' |
	sed -n 's/^X-Docker-Container-Path-Stat: //Ip')
is "$(printf '%s' "$hdr" | base64 -d | jq -r '.name + " " + (.mode|tostring)')" "hostname 420" \
	"archive HEAD: the path's stat (name, Go mode 0644) in X-Docker-Container-Path-Stat"
is "$(code -I "http://x/v1.41/containers/cpt/archive?path=/nosuch")" 404 "archive HEAD of a missing path: 404"
is "$(code "http://x/v1.41/containers/nosuchctr/archive?path=/")" 404 "archive of no such container: 404"
is "$(code "http://x/v1.41/containers/cpt/archive")" 400 "archive without path: 400"
ln -s /etc/shadow "$TMPD/evil/shadowlink"
tar -C "$TMPD/evil" -cf "$TMPD/link.tar" shadowlink
is "$(code -X PUT --data-binary @"$TMPD/link.tar" "http://x/v1.41/containers/cpt/archive?path=/tmp")" 200 \
	"archive PUT of a tar holding a symlink to a host file"
c exec cpt sh -c 'echo owned > /tmp/shadowlink' 2>/dev/null
unlike "$(head -c 200 /etc/shadow)" "owned" "... the host's file is not reached through it"
python3 -c 'import tarfile,io,sys
t=tarfile.open(sys.argv[1],"w"); i=tarfile.TarInfo("../../../../escape"); d=b"x"; i.size=1; t.addfile(i,io.BytesIO(d)); t.close()' "$TMPD/dotdot.tar"
is "$(code -X PUT --data-binary @"$TMPD/dotdot.tar" "http://x/v1.41/containers/cpt/archive?path=/tmp")" 400 \
	"archive PUT of a tar entry with ..: 400"
ok "$([ ! -e /escape ] && [ ! -e "$TMPD/escape" ]; echo $?)" "... nothing written outside"
for D in /usr/bin/docker /usr/local/bin/docker; do
	[ -x "$D" ] || { skip "$D is not installed"; continue; }
	v=$("$D" --version | sed 's/Docker version \([0-9]*\).*/\1/')
	d() { DOCKER_HOST="unix://$SOCK" timeout 60 "$D" "$@"; }
	t="docker $v"
	check "$t: cp a file in" -- d cp "$TMPD/f.txt" cpt:/tmp/
	check "$t: cp a directory in" -- d cp "$TMPD/dd" cpt:/tmp/
	is "$(c exec cpt cat /tmp/f.txt /tmp/dd/sub/y)" "hello
deep" "$t: the container sees both"
	rm -rf "$TMPD/cpout"; mkdir "$TMPD/cpout"
	check "$t: cp a directory out" -- d cp cpt:/tmp/dd "$TMPD/cpout/"
	is "$(cat "$TMPD/cpout/dd/sub/y")" deep "$t: ... with its content"
	is "$(d cp cpt:/etc/hostname - | tar t)" hostname "$t: cp out to - is a tar"
	fails "$t: cp of a missing path out fails" -- d cp cpt:/nosuch "$TMPD/cpout/"
done
c rm -f cpt >/dev/null

# ---- export, diff (changes), commit, history ----
c run -d --name chg busybox sh -c 'echo x > /newfile; mkdir /etc/zz; rm /bin/true; sleep 300' >/dev/null
for _ in $(seq 50); do c exec chg test -e /newfile 2>/dev/null && break; sleep 0.1; done
ch=$(api http://x/v1.41/containers/chg/changes)
is "$(printf '%s' "$ch" | jq -r '.[] | select(.Path == "/newfile") | .Kind')" 1 "changes: an added file is Kind 1"
is "$(printf '%s' "$ch" | jq -r '.[] | select(.Path == "/bin/true") | .Kind')" 2 "changes: a deleted file is Kind 2"
is "$(printf '%s' "$ch" | jq -r '.[] | select(.Path == "/etc") | .Kind')" 0 "changes: a changed directory is Kind 0"
is "$(code http://x/v1.41/containers/nosuch/changes)" 404 "changes of no such container: 404"
like "$(api http://x/v1.41/containers/chg/export | tar t)" "newfile" "export: the container's files as a tar"
out=$(api -X POST -H 'Content-Type: application/json' -d '{"Cmd": ["cat", "/newfile"], "Env": ["A=b"]}' \
	'http://x/v1.41/commit?container=chg&repo=snap&tag=1&comment=hello&author=me')
like "$(printf '%s' "$out" | jq -r .Id)" '^sha256:[0-9a-f]{64}$' "commit: the new image's id"
is "$(c run --rm snap:1)" x "commit: the body's Cmd is the image's, the file is in it"
is "$(c image inspect -f '{{.Author}} {{.Config.Env}}' snap:1)" "me [A=b]" \
	"commit: author and Env"
is "$(c inspect -f '{{.State.Status}}' chg)" running "commit: the container runs on after its pause"
is "$(code -X POST 'http://x/v1.41/commit?container=nosuch')" 404 "commit of no such container: 404"
is "$(api http://x/v1.41/images/snap:1/history | jq -r '.[0].Comment + " " + .[0].Tags[0]')" "hello snap:1" \
	"history: newest first, with the comment and the tags"
is "$(code http://x/v1.41/images/nosuch:9/history)" 404 "history of no such image: 404"
for D in /usr/bin/docker /usr/local/bin/docker; do
	[ -x "$D" ] || { skip "$D is not installed"; continue; }
	v=$("$D" --version | sed 's/Docker version \([0-9]*\).*/\1/')
	d() { DOCKER_HOST="unix://$SOCK" timeout 60 "$D" "$@"; }
	t="docker $v"
	like "$(d diff chg)" "A /newfile" "$t: diff"
	like "$(d export chg | tar t)" "newfile" "$t: export"
	like "$(d commit -c 'CMD ["cat","/newfile"]' -m "by $v" chg "snap$v:1")" '^sha256:' "$t: commit -c -m"
	is "$(c run --rm "snap$v:1")" x "$t: the committed image runs with the changed CMD"
	like "$(d history "snap$v:1")" "by $v" "$t: history shows the message"
done
c rm -f chg >/dev/null

# ---- docker update: POST /containers/{id}/update ----
c run -d --name upd busybox sleep 300 >/dev/null
for D in /usr/bin/docker /usr/local/bin/docker; do
	[ -x "$D" ] || { skip "$D is not installed"; continue; }
	v=$("$D" --version | sed 's/Docker version \([0-9]*\).*/\1/')
	d() { DOCKER_HOST="unix://$SOCK" timeout 60 "$D" "$@"; }
	t="docker $v"
	m=$((64 + v))
	check "$t: update --memory ${m}m --pids-limit $v --cpus 0.5 --restart always" -- \
		d update --memory ${m}m --pids-limit "$v" --cpus 0.5 --restart always upd
	cg=$(awk -F: '$2=="memory" {print $3}' /proc/$(c inspect -f '{{.State.Pid}}' upd)/cgroup)
	is "$(cat /sys/fs/cgroup/memory$cg/memory.limit_in_bytes)" "$((m * 1024 * 1024))" "$t: update: the live memory limit"
	is "$(c inspect -f '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}' upd)" \
		"$((m * 1024 * 1024)) $v 500000000 always" "$t: update: the record"
	d update --memory 1k upd >"$TMPD/out" 2>&1
	ok "$([ $? != 0 ]; echo $?)" "$t: update --memory 1k is refused"
	like "$(cat "$TMPD/out")" "Minimum memory limit allowed is 6MB" "$t: ... with Docker's message"
done
is "$(code -X POST -H 'Content-Type: application/json' -d '{"Memory": "x"}' http://x/v1.41/containers/upd/update)" 400 \
	"update with a wrong type: 400"
is "$(code -X POST -H 'Content-Type: application/json' -d '{"Memory": 99999999}' http://x/v1.41/containers/nosuch/update)" 404 \
	"update of no such container: 404"
c rm -f upd >/dev/null

# ---- the service's config: group, uri, time ----
G=$(getent group nogroup >/dev/null && echo nogroup || echo root)
printf '{"service": {"group": "%s", "uri": "unix://%s", "time": 1}}\n' "$G" "$TMPD/cfg.sock" > "$TMPD/cell.json"
CELL_CONFIG=$TMPD/cell.json "$CELL" --root "$R" system service 2>"$TMPD/cfg.log" &
CS=$!
defer "kill $CS 2>/dev/null"
for _ in $(seq 100); do [ -S "$TMPD/cfg.sock" ] && break; sleep 0.05; done
is "$(stat -c '%G %a' "$TMPD/cfg.sock" 2>&1)" "$G 660" "config: the socket at service.uri, group service.group, 0660"
for _ in $(seq 60); do kill -0 $CS 2>/dev/null || break; sleep 0.1; done
fails "config: service.time 1: the idle service exits" -- kill -0 $CS
printf '{"service": {"group": 5}}' > "$TMPD/bad.json"
CELL_CONFIG=$TMPD/bad.json "$CELL" --root "$R" system service "unix://$TMPD/bad.sock" >"$TMPD/out" 2>&1
rc=$?
is "$rc" 125 "config: a wrong type: the service does not start (125)"
like "$(cat "$TMPD/out")" "bad.json.*service.group must be a group name" "... naming the file and the key"
printf 'not json' > "$TMPD/bad.json"
CELL_CONFIG=$TMPD/bad.json "$CELL" --root "$R" system service "unix://$TMPD/bad.sock" >"$TMPD/out" 2>&1
like "$(cat "$TMPD/out")" "not a JSON object" "config: not JSON: said"

# ---- cell compose: docker-compose against a service made for the call ----
if command -v docker-compose >/dev/null; then
	mkdir -p "$TMPD/cproj"
	cat > "$TMPD/cproj/docker-compose.yml" <<EOF2
version: "3"
services:
  web:
    image: busybox
    command: sh -c 'echo web-up; sleep 300'
    network_mode: none
EOF2
	cc() { (cd "$TMPD/cproj" && timeout 120 "$CELL" --root "$R" compose -p ccmp "$@"); }
	before=$(ls /run/cell 2>/dev/null | grep -c '^compose-')
	check "cell compose up -d" -- cc up -d
	is "$(c inspect -f '{{.State.Status}}' ccmp_web_1)" running "cell compose: the service's container runs"
	like "$(cc ps)" "ccmp_web_1 .* Up" "cell compose ps"
	like "$(cc logs web)" "web-up" "cell compose logs"
	check "cell compose down" -- cc down
	fails "cell compose down removed the container" -- c inspect ccmp_web_1
	is "$(ls /run/cell 2>/dev/null | grep -c '^compose-')" "$before" "cell compose leaves no socket dir"
	cc nosuchcommand >/dev/null 2>&1
	ok "$([ $? != 0 ]; echo $?)" "cell compose passes compose's failure on"
	like "$(PATH=/nonexistent "$CELL" --root "$R" compose ps 2>&1)" "apt-get install docker-compose" \
		"cell compose without compose: the install hint"
else
	skip "docker-compose is not installed"
fi
