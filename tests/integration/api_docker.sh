#!/bin/bash
# The Docker Engine API (`cell system service`) driven by the docker CLI:
# Debian's 20.10 (/usr/bin/docker) and 28 (/usr/local/bin/docker) when
# present. Containers made through the API are the ones `cell ps` shows and
# the other way round; errors come back with dockerd's status codes.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
engine_setup

SOCK=$TMPD/api.sock
start_service() {
	"$CELL" --root "$R" system service -t 0 "unix://$SOCK" 2>"$TMPD/service.log" &
	SVC=$!
	defer "kill $SVC 2>/dev/null; wait $SVC 2>/dev/null"
	local i
	for i in $(seq 100); do [ -S "$SOCK" ] && return 0; sleep 0.05; done
	return 1
}
start_service; ok $? "system service listens on unix://$SOCK"
is "$(stat -c %a "$SOCK")" 660 "the socket is 0660"
api() { curl -s --unix-socket "$SOCK" "$@"; }
code() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" "$@"; }

# ---- the HTTP side ----
is "$(api http://x/_ping)" "OK" "/_ping answers OK"
like "$(curl -sI --unix-socket "$SOCK" http://x/_ping | tr -d '\r')" "Api-Version: 1\.4[0-9]" "/_ping: Api-Version header"
is "$(api http://x/v1.41/version | jq -r .ApiVersion)" "1.43" "/v1.41/version: the API version"
is "$(api http://x/version | jq -r .MinAPIVersion)" "1.24" "/version without a prefix: the minimum version"
is "$(code http://x/v1.12/version)" 400 "a client older than 1.24: 400"
like "$(api http://x/v1.12/version | jq -r .message)" "too old" "... saying it is too old"
is "$(code http://x/v1.99/version)" 400 "a client newer than the server: 400"
is "$(code http://x/v1.41/nothing/here)" 404 "an unknown path: 404"
is "$(code -X DELETE http://x/v1.41/version)" 405 "a known path with the wrong method: 405"
is "$(code -X POST -H 'Content-Type: application/json' -d '{not json' http://x/v1.41/containers/create)" 400 \
	"create with a body that is not JSON: 400"
is "$(code -X POST -H 'Content-Type: application/json' -d '{"Image": 5}' http://x/v1.41/containers/create)" 400 \
	"create with a wrong type: 400"
is "$(code -X POST -H 'Content-Type: application/json' -d '{"Image":"nosuchimage:1"}' http://x/v1.41/containers/create)" 404 \
	"create of an image that is not there: 404"
is "$(code http://x/v1.41/containers/nosuch/json)" 404 "inspect of no such container: 404"
like "$(api http://x/v1.41/containers/nosuch/json | jq -r .message)" "No such container: nosuch" "... dockerd's message"
head -c 17000000 /dev/zero | tr '\0' ' ' > "$TMPD/big"
is "$(code -X POST -H 'Content-Type: application/json' --data-binary @"$TMPD/big" http://x/v1.41/containers/create)" 413 \
	"a body over 16 MiB: 413"

# ---- an attach whose client half-closes at once (docker run without -i)
# and whose start comes late still gets the output ----
id=$(api -X POST -H 'Content-Type: application/json' -d '{"Image":"busybox","Cmd":["echo","late-start"],"HostConfig":{"NetworkMode":"none"}}' \
	http://x/v1.41/containers/create | jq -r .Id)
out=$(python3 - "$SOCK" "$id" <<'PY'
import socket, sys, time
path, cid = sys.argv[1], sys.argv[2]
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(path); return s
a = conn()
a.sendall(("POST /v1.41/containers/%s/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\n"
           "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n" % cid).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += a.recv(1)
a.shutdown(socket.SHUT_WR)
time.sleep(0.6)
b = conn()
b.sendall(("POST /v1.41/containers/%s/start HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" % cid).encode())
b.recv(4096)
a.settimeout(10)
data = b""
try:
    while True:
        k = a.recv(4096)
        if not k: break
        data += k
except socket.timeout:
    pass
print(data[8:].decode(errors="replace").strip())
PY
)
is "$out" "late-start" "attach: a client that half-closed before a slow start still gets the output"
c rm -f "$id" >/dev/null 2>&1

# ---- 50 clients at once: create, start, wait, logs, rm; none lost or doubled ----
one_client() {	# N: prints "N:<its logs>", or the step that failed
	local n=$1 id
	id=$(api --max-time 60 -X POST -H 'Content-Type: application/json' \
		-d "{\"Image\":\"busybox\",\"Cmd\":[\"echo\",\"client-$n\"],\"HostConfig\":{\"NetworkMode\":\"none\"}}" \
		"http://x/v1.41/containers/create?name=load$n" | jq -r .Id)
	[ ${#id} = 64 ] || { echo "$n:create failed"; return; }
	[ "$(code --max-time 60 -X POST "http://x/v1.41/containers/$id/start")" = 204 ] || { echo "$n:start failed"; return; }
	[ "$(api --max-time 60 -X POST "http://x/v1.41/containers/$id/wait" | jq -r .StatusCode)" = 0 ] || { echo "$n:wait failed"; return; }
	echo "$n:$(api --max-time 60 "http://x/v1.41/containers/$id/logs?stdout=1" | tail -c +9 | tr -d '\n')"
	[ "$(code --max-time 60 -X DELETE "http://x/v1.41/containers/$id")" = 204 ] || echo "$n:rm failed"
}
pids=()
for n in $(seq 50); do one_client "$n" > "$TMPD/load.$n" 2>&1 & pids+=($!); done
wait "${pids[@]}"	# not a bare wait: the service is a job of this shell too
bad=0
for n in $(seq 50); do [ "$(cat "$TMPD/load.$n")" = "$n:client-$n" ] || { bad=$((bad + 1)); sed 's/^/# /' "$TMPD/load.$n"; }; done
is "$bad" 0 "50 clients at once: each created, started, waited, read its own logs and removed its container"
is "$(c ps -aq | wc -l)" 0 "... and no container is left or doubled"
is "$(api http://x/_ping)" OK "... the service still answers"

# ---- the docker CLIs ----
for D in /usr/bin/docker /usr/local/bin/docker; do
	[ -x "$D" ] || { skip "$D is not installed"; continue; }
	v=$("$D" --version | sed 's/Docker version \([0-9]*\).*/\1/')
	d() { DOCKER_HOST="unix://$SOCK" timeout 30 "$D" "$@"; }
	t="docker $v"
	like "$(d version --format '{{.Server.APIVersion}}' 2>&1)" "^1\.4" "$t: version reaches the server"
	like "$(d info --format '{{.Driver}}' 2>&1)" "overlay" "$t: info"
	is "$(d run --rm --network none busybox echo hello 2>&1)" "hello" "$t: run --rm: the output"
	d run --rm --network none busybox sh -c 'exit 3' >/dev/null 2>&1
	is "$?" 3 "$t: run: the container's exit status"
	out=$(d run --rm --network none busybox sh -c 'echo out; echo err >&2' 2>"$TMPD/err")
	is "$out|$(cat "$TMPD/err")" "out|err" "$t: stdout and stderr apart"
	is "$(echo piped | d run -i --rm --network none busybox cat 2>&1)" "piped" "$t: run -i: stdin in"
	is "$(d run --rm --network none busybox sh -c 'head -c 4000000 /dev/zero' | (sleep 3; wc -c))" 4000000 \
		"$t: run: 4 MB all arrive to a reader that starts 3 s late"
	out=$(script -eqc "DOCKER_HOST=unix://$SOCK $D run --rm -t --network none busybox sh -c 'tty >/dev/null && echo is-a-tty; exit 5'" /dev/null </dev/null)
	rc=$?
	like "$out" "is-a-tty" "$t: run -t: a terminal inside"
	is "$rc" 5 "$t: run -t: its exit status"
	is "$(c ps -aq | wc -l)" 0 "$t: --rm containers are gone"
	id=$(d run -d --name web$v --network none -l app=web -l tier=front busybox sh -c 'echo started; sleep 300')
	like "$id" "^[0-9a-f]{64}$" "$t: run -d prints the id"
	is "$(c inspect -f '{{.State.Status}}' "web$v" 2>&1)" running "$t: cell sees the API's container running"
	like "$(d ps --format '{{.Names}} {{.Status}}')" "web$v Up" "$t: ps lists it as Up"
	is "$(d ps -q --filter label=app=web | wc -l)" 1 "$t: ps --filter label=app=web"
	is "$(d ps -q --filter label=app=nope | wc -l)" 0 "$t: ps --filter label=app=nope: none"
	is "$(d ps -q --filter name=web$v | wc -l)" 1 "$t: ps --filter name="
	is "$(d inspect -f '{{.Config.Labels.tier}} {{.State.Running}}' "web$v")" "front true" "$t: inspect: labels and state"
	sleep 0.3
	is "$(d logs "web$v" 2>&1)" "started" "$t: logs"
	check "$t: pause" -- d pause "web$v"
	is "$(d inspect -f '{{.State.Status}}' "web$v")" paused "$t: paused"
	check "$t: unpause" -- d unpause "web$v"
	check "$t: rename" -- d rename "web$v" "web${v}b"
	is "$(c inspect -f '{{.Name}}' "web${v}b" 2>&1)" "/web${v}b" "$t: cell sees the new name"
	fails "$t: rm of a running container is refused" -- d rm "web${v}b"
	like "$LAST_OUT" "cannot remove a running container|Stop the container" "$t: ... saying to stop it first"
	check "$t: stop -t 1" -- d stop -t 1 "web${v}b"
	like "$(d ps -a --format '{{.Names}} {{.Status}}')" "web${v}b Exited \(137\)" "$t: ps -a: Exited (137)"
	is "$(d wait "web${v}b")" 137 "$t: wait on a stopped container: its code"
	check "$t: start" -- d start "web${v}b"
	check "$t: restart -t 1" -- d restart -t 1 "web${v}b"
	is "$(d inspect -f '{{.State.Status}}' "web${v}b")" running "$t: running after restart"
	check "$t: kill" -- d kill "web${v}b"
	check "$t: rm" -- d rm "web${v}b"
	is "$(c ps -aq | wc -l)" 0 "$t: gone for cell too"
	# made by cell, seen and removed through the API
	c run -d --name fromcell busybox sleep 300 >/dev/null
	like "$(d ps --format '{{.Names}}')" "fromcell" "$t: a container cell made is in docker ps"
	check "$t: rm -f of a running one" -- d rm -f fromcell
	is "$(c ps -aq | wc -l)" 0 "$t: rm -f removed it"
	fails "$t: rm of no such container" -- d rm nosuch
	like "$LAST_OUT" "No such container" "$t: ... says so"
	fails "$t: run of an image that is not there fails" -- d run --rm --network none --pull never nosuchimage:1 true
	# images
	like "$(d images --format '{{.Repository}}:{{.Tag}}')" "busybox:latest" "$t: images"
	check "$t: tag" -- d tag busybox:latest mybox:v$v
	like "$(c images 2>&1)" "mybox" "$t: cell sees the tag"
	check "$t: rmi" -- d rmi mybox:v$v
	fails "$t: rmi of no such image" -- d rmi nosuchimage:1
	# a publish, a memory limit, env, workdir, user through create's JSON
	d run -d --name cfg$v --network none -e A=1 -w /tmp -u 1000 -m 64m --read-only busybox sleep 300 >/dev/null
	is "$(c inspect -f '{{.Config.WorkingDir}} {{.Config.User}} {{.HostConfig.ReadonlyRootfs}}' cfg$v 2>&1)" "/tmp 1000 true" \
		"$t: -w, -u, --read-only reach the container's record"
	is "$(c exec cfg$v sh -c 'echo $A; id -u; pwd' 2>&1 | tr '\n' ' ')" "1 1000 /tmp " "$t: ... and the container"
	is "$(d inspect -f '{{.HostConfig.Memory}}' cfg$v)" 67108864 "$t: -m 64m"
	c rm -f cfg$v >/dev/null
done

# ---- the service ----
fails "tcp:// on an address not loopback is refused" -- "$CELL" --root "$R" system service -t 1 tcp://0.0.0.0:23750
like "$LAST_OUT" "allow-remote" "... naming --allow-remote"
"$CELL" --root "$R" system service -t 1 "unix://$TMPD/idle.sock" 2>/dev/null &
p=$!
defer "kill $p 2>/dev/null"
for i in $(seq 60); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
kill -0 $p 2>/dev/null
ok $((! $?)) "-t 1: the service exits when idle"
[ ! -e "$TMPD/idle.sock" ]; ok $? "... and removes its socket"
kill -TERM $SVC; wait $SVC
is "$?" 0 "SIGTERM: the service exits 0"
[ ! -e "$SOCK" ]; ok $? "... and removes its socket"
