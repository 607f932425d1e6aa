#!/bin/bash
# The Docker Engine API's exec, events, system df and prune (`cell system
# service`), driven by the docker CLIs (Debian's 20.10 and the 28 client)
# and the Python SDK: exec (attached, -i, -t, -d, -u, -w, -e, exit codes),
# its inspect, the errors dockerd gives (409 stopped, 404 unknown); events
# with since/until/filters, live; df as `cell system df` counts; container
# and image prune with their filters; top (ps_args) and stats (one reading,
# one-shot, streamed).
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
command -v jq >/dev/null || skip_all "jq is not installed"
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
api() { curl -s --unix-socket "$SOCK" "$@"; }
code() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" "$@"; }
post() { local u=$1; shift; api -X POST -H 'Content-Type: application/json' "$@" "http://x/v1.41$u"; }
postc() { local u=$1; shift; code -X POST -H 'Content-Type: application/json' "$@" "http://x/v1.41$u"; }

# ---- exec through the bare API ----
c run -d --name box busybox sleep 600 >/dev/null
c create --name stopped busybox true >/dev/null
is "$(postc /containers/nosuch/exec -d '{"Cmd":["true"]}')" 404 "exec create on no such container: 404"
is "$(postc /containers/stopped/exec -d '{"Cmd":["true"]}')" 409 "exec create on a container that is not running: 409"
like "$(post /containers/stopped/exec -d '{"Cmd":["true"]}' | jq -r .message)" "is not running" "... saying it is not running"
is "$(postc /containers/box/exec -d '{"Cmd":[]}')" 400 "exec create without a command: 400"
is "$(postc /containers/box/exec -d '{"Cmd":"ls"}')" 400 "exec create with Cmd not an array: 400"
is "$(postc /containers/box/exec -d '{"Cmd":["ls"],"Tty":"yes"}')" 400 "exec create with Tty not a boolean: 400"
is "$(postc /containers/box/exec -d '{"Cmd":["ls"],"DetachKeys":"ctrl-"}')" 400 "exec create with bad DetachKeys: 400"
is "$(postc /containers/box/exec -d '{not json')" 400 "exec create with a body that is not JSON: 400"
is "$(postc /exec/nosuch/start -d '{"Detach":true}')" 404 "exec start of no such exec: 404"
is "$(code http://x/v1.41/exec/nosuch/json)" 404 "exec inspect of no such exec: 404"
like "$(api http://x/v1.41/exec/nosuch/json | jq -r .message)" "No such exec instance: nosuch" "... dockerd's message"
eid=$(post /containers/box/exec -d '{"Cmd":["sh","-c","echo hi; exit 4"],"AttachStdout":true}' | jq -r .Id)
like "$eid" "^[0-9a-f]{64}$" "exec create answers an Id"
is "$(api http://x/v1.41/exec/$eid/json | jq -c '[.Running, .ExitCode, .ContainerID[0:0], .ProcessConfig.entrypoint, .ProcessConfig.arguments]')" \
	'[false,null,"","sh",["-c","echo hi; exit 4"]]' "exec inspect before the start: not running, no exit code"
is "$(postc /exec/$eid/start -d '{"Detach":false}')" 400 "exec start without Upgrade and not detached: 400"
out=$(post /exec/$eid/start -H 'Connection: Upgrade' -H 'Upgrade: tcp' -d '{"Detach":false}' --output - | od -An -c | tr -s ' ' | tr -d '\n')
like "$out" '001 \\0 \\0 \\0 \\0 \\0 \\0 003 h i \\n' "exec start: the output in a stdout frame"
is "$(api http://x/v1.41/exec/$eid/json | jq -c '[.Running, .ExitCode]')" '[false,4]' "exec inspect after: the exit code"
is "$(postc /exec/$eid/start -d '{"Detach":true}')" 409 "a second start of one exec: 409"
eid=$(post /containers/box/exec -d '{"Cmd":["sleep","30"]}' | jq -r .Id)
is "$(postc /exec/$eid/start -d '{"Detach":true}')" 200 "exec start detached: 200"
js=$(api http://x/v1.41/exec/$eid/json)
is "$(jq -c '[.Running, .ExitCode]' <<<"$js")" '[true,null]' "a detached exec is running"
pid=$(jq -r .Pid <<<"$js")
like "$(tr '\0' ' ' < /proc/$pid/cmdline 2>&1)" "^sleep 30" "its Pid is the exec'd process"
kill "$pid"
for i in $(seq 50); do [ "$(api http://x/v1.41/exec/$eid/json | jq .Running)" = false ] && break; sleep 0.1; done
is "$(api http://x/v1.41/exec/$eid/json | jq -c '[.Running, .ExitCode]')" '[false,143]' "... its exit code once killed"
eid=$(post /containers/box/exec -d '{"Cmd":["sh","-c","sleep 0.5; stty size > /tmp/size"],"Tty":true}' | jq -r .Id)
is "$(postc /exec/$eid/start -d '{"Detach":true}')" 200 "a detached exec with a tty"
is "$(postc "/exec/$eid/resize?h=33&w=77")" 200 "exec resize: 200"
for i in $(seq 50); do [ "$(api http://x/v1.41/exec/$eid/json | jq .Running)" = false ] && break; sleep 0.1; done
is "$(c exec box cat /tmp/size 2>&1)" "33 77" "... the pty has the size asked for"
is "$(postc "/exec/$eid/resize?h=0&w=77")" 400 "exec resize to 0 rows: 400"
is "$(postc "/exec/nosuch/resize?h=10&w=10")" 404 "exec resize of no such exec: 404"
eid=$(post /containers/box/exec -d '{"Cmd":["true"]}' | jq -r .Id)
c stop -t 0 box >/dev/null
is "$(postc /exec/$eid/start -d '{"Detach":true}')" 409 "exec start once the container stopped: 409"
c start box >/dev/null

# ---- the docker CLIs ----
for D in /usr/bin/docker /usr/local/bin/docker; do
	[ -x "$D" ] || { skip "$D is not installed"; continue; }
	v=$("$D" --version | sed 's/Docker version \([0-9]*\).*/\1/')
	d() { DOCKER_HOST="unix://$SOCK" timeout 30 "$D" "$@"; }
	t="docker $v"
	is "$(d exec box echo hello 2>&1)" hello "$t: exec: the output"
	d exec box sh -c 'exit 7' >/dev/null 2>&1
	is "$?" 7 "$t: exec: the exit code"
	out=$(d exec box sh -c 'echo out; echo err >&2' 2>"$TMPD/err")
	is "$out|$(cat "$TMPD/err")" "out|err" "$t: exec: stdout and stderr apart"
	is "$(printf 'a\nb\n' | d exec -i box sh -c 'cat; echo end')" "$(printf 'a\nb\nend')" "$t: exec -i: stdin in, EOF ends it"
	head -c 3000000 /dev/urandom > "$TMPD/big"
	is "$(d exec -i box cat < "$TMPD/big" | md5sum)" "$(md5sum < "$TMPD/big")" "$t: exec -i: 3 MB through cat, unchanged"
	is "$(d exec -u nobody -w /tmp -e A=1 -e B=two box sh -c 'echo $(id -un) $PWD $A $B')" "nobody /tmp 1 two" \
		"$t: exec -u -w -e"
	out=$(script -eqc "DOCKER_HOST=unix://$SOCK $D exec -t box sh -c 'tty >/dev/null && echo is-a-tty; exit 5'" /dev/null </dev/null)
	rc=$?
	like "$out" "is-a-tty" "$t: exec -t: a terminal inside"
	is "$rc" 5 "$t: exec -t: its exit status"
	if [ "$v" -ge 23 ]; then	# ConsoleSize (API 1.42): 20.10 resizes after the start, too late for stty
		out=$(script -eqc "stty cols 123 rows 45; DOCKER_HOST=unix://$SOCK $D exec -it box stty size" /dev/null </dev/null)
		like "$out" "45 123" "$t: exec -it: the terminal's size is the pty's from the start"
	fi
	(sleep 1; printf '\x10\x11'; sleep 1) | timeout 10 script -qc "DOCKER_HOST=unix://$SOCK $D exec -it box sleep 7$v" /dev/null >/dev/null
	like "$(c exec box ps 2>&1)" "sleep 7$v" "$t: exec -it: ctrl-p ctrl-q detaches, the process runs on"
	is "$(d exec --privileged box sh -c 'grep CapEff /proc/self/status')" "$(grep CapEff /proc/self/status)" \
		"$t: exec --privileged: every capability"
	check "$t: exec -d" -- d exec -d box sh -c "echo done > /tmp/d$v"
	for i in $(seq 50); do c exec box test -f /tmp/d$v 2>/dev/null && break; sleep 0.1; done
	is "$(c exec box cat /tmp/d$v 2>&1)" done "$t: exec -d ran in the background"
	fails "$t: exec of a missing command" -- d exec box nosuchcmd
	like "$LAST_OUT" "nosuchcmd" "$t: ... naming it"
	d exec box nosuchcmd >/dev/null 2>&1
	is "$?" 127 "$t: ... exit code 127"
	fails "$t: exec in a stopped container" -- d exec stopped true
	like "$LAST_OUT" "is not running" "$t: ... says it is not running"
	fails "$t: exec in no such container" -- d exec nosuch true
done

# ---- the Python SDK ----
if python3 -c 'import docker' 2>/dev/null; then
	out=$(python3 - "$SOCK" <<'EOF' 2>&1
import sys, docker
c = docker.DockerClient(base_url="unix://" + sys.argv[1])
b = c.containers.get("box")
r = b.exec_run(["sh", "-c", "echo py; exit 3"])
print(r.exit_code, r.output.decode().strip())
r = b.exec_run("pwd", workdir="/etc", user="nobody")
print(r.exit_code, r.output.decode().strip())
r = b.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
print(r.output[0].decode().strip(), r.output[1].decode().strip())
EOF
)
	is "$out" "$(printf '3 py\n0 /etc\no e')" "python3-docker: exec_run: output, exit codes, workdir, user, demux"
else
	skip "python3-docker is not installed"
fi

# ---- events ----
T0=$(date +%s.%N)
c run --name ev1 -l team=blue busybox sh -c 'exit 3' >/dev/null 2>&1
T1=$(date +%s.%N)
ev=$(api "http://x/v1.41/events?since=$T0&until=$T1")
is "$(jq -r 'select(.Actor.Attributes.name == "ev1") | .Action' <<<"$ev" | tr '\n' ' ')" "create start die " \
	"GET /events since/until: ev1's create, start, die"
is "$(jq -c 'select(.Action == "die") | [.status, .id[0:0], .from, .Type, .Actor.Attributes.exitCode, .scope, (.time|type), (.timeNano|type)]' <<<"$ev")" \
	'["die","","busybox","container","3","local","number","number"]' "... in dockerd's JSON (status, id, from, Type, Actor, scope, time, timeNano)"
f=$(jq -rn --arg f '{"event":["die"],"label":["team=blue"]}' '$f|@uri')
is "$(api "http://x/v1.41/events?since=$T0&until=$T1&filters=$f" | jq -r .Action | tr '\n' ' ')" "die " "filters event and label"
is "$(code "http://x/v1.41/events?since=$T0&until=$T1&filters=$(jq -rn '"{\"colour\":[\"red\"]}"|@uri')")" 400 "an unknown filter: 400"
is "$(code "http://x/v1.41/events?since=yesterday")" 400 "since that is not a time: 400"
is "$(code "http://x/v1.41/events?filters=notjson")" 400 "filters that are not JSON: 400"
for D in /usr/bin/docker /usr/local/bin/docker; do
	[ -x "$D" ] || { skip "$D is not installed"; continue; }
	v=$("$D" --version | sed 's/Docker version \([0-9]*\).*/\1/')
	d() { DOCKER_HOST="unix://$SOCK" timeout 30 "$D" "$@"; }
	t="docker $v"
	out=$(d events --since "$T0" --until "$T1" --filter container=ev1 --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}')
	is "$(tr '\n' '|' <<<"$out")" "container create ev1|container start ev1|container die ev1|" \
		"$t: events --since --until returns, with the container's events"
	is "$(d events --since "$T0" --until "$T1" --filter event=die --filter image=busybox --format '{{.Actor.Attributes.exitCode}}')" 3 \
		"$t: events --filter event=die --filter image=: the exit code"
	is "$(d events --since "$T0" --until "$T1" --filter type=image | wc -l)" 0 "$t: events --filter type=image: none"
	d events --filter container=live$v --format '{{.Action}}' > "$TMPD/live$v" 2>&1 &
	EP=$!
	defer "kill $EP 2>/dev/null"
	sleep 0.5
	d run --name live$v --network none busybox true >/dev/null 2>&1
	for i in $(seq 50); do grep -q die "$TMPD/live$v" && break; sleep 0.1; done
	kill $EP 2>/dev/null; wait $EP 2>/dev/null
	is "$(tr '\n' ' ' < "$TMPD/live$v")" "create start die " "$t: a live docker events sees docker run's create, start, die"
	c rm -f live$v >/dev/null
done
c rm -f ev1 >/dev/null

c rm -f box stopped >/dev/null

# ---- system df, prune ----
c run -d --name up busybox sleep 600 >/dev/null
c run --name dfc -l keep=yes -v dvol:/data busybox sh -c 'head -c 1000000 /dev/zero > /big; echo x > /data/f' >/dev/null
df=$(api http://x/v1.41/system/df)
is "$(jq -c '[(.Images|length), (.LayersSize > 0 and .LayersSize == .Images[0].Size), (.Images[0].RepoTags), .Images[0].Containers]' <<<"$df")" '[1,true,["busybox:latest"],2]' \
	"system/df: the image, its layers' size, its containers"
is "$(jq -c '.Containers[] | select(.Names[0] == "/dfc") | [(.SizeRw >= 1000000), .State, .Mounts[0].Driver]' <<<"$df")" '[true,"exited","local"]' \
	"system/df: the container's writable layer (1 MB), its volume"
is "$(jq -c '.Volumes[] | [.Name, .UsageData.Size, .UsageData.RefCount]' <<<"$df")" '["dvol",2,1]' "system/df: the volume's size and links"
want=$(c system df --format '{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}' 2>&1)
for D in /usr/bin/docker /usr/local/bin/docker; do
	[ -x "$D" ] || { skip "$D is not installed"; continue; }
	v=$("$D" --version | sed 's/Docker version \([0-9]*\).*/\1/')
	d() { DOCKER_HOST="unix://$SOCK" timeout 30 "$D" "$@"; }
	is "$(d system df --format '{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}')" "$want" \
		"docker $v: system df says what cell system df says"
	out=$(d system df -v)
	like "$(grep -A3 'Containers space' <<<"$out" | grep dfc)" "busybox .* 1 +1MB .* dfc" "docker $v: system df -v: the container, its volume, its size"
	like "$(grep -A3 'Local Volumes space' <<<"$out" | grep dvol)" "dvol +1 +2B" "docker $v: system df -v: the volume"
done
is "$(postc '/containers/prune?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D')" 400 "containers/prune with an unknown filter: 400"
is "$(postc '/containers/prune?filters=%7B%22until%22%3A%5B%22soon%22%5D%7D')" 400 "containers/prune with an until that is no time: 400"
c create --name p2 -l keep=no busybox true >/dev/null
f=$(jq -rn '{"label":["keep=maybe"]}|tojson|@uri')
is "$(post "/containers/prune?filters=$f" | jq -c .ContainersDeleted)" '[]' "containers/prune label=keep=maybe: none"
f=$(jq -rn '{"until":["1h"]}|tojson|@uri')
is "$(post "/containers/prune?filters=$f" | jq -c .ContainersDeleted)" '[]' "containers/prune until=1h: none (all newer)"
p2=$(c inspect -f '{{.Id}}' p2)
f=$(jq -rn '{"label":["keep=no"]}|tojson|@uri')
is "$(post "/containers/prune?filters=$f" | jq -c .ContainersDeleted)" "[\"$p2\"]" "containers/prune label=keep=no: that one"
out=$(DOCKER_HOST="unix://$SOCK" timeout 30 docker container prune -f)
like "$out" "$(c ps -aq --no-trunc -f name=dfc 2>/dev/null | head -c 64).*Total reclaimed space: 1MB" "docker container prune: the stopped one, 1MB"
is "$(c ps -a --format '{{.Names}}' | tr '\n' ' ')" "up " "... the running one stays"
c image import --change 'LABEL a=b' "$TMPD/rootfs.tar" >/dev/null 2>&1
c image import "$TMPD/rootfs.tar" tagged:v1 >/dev/null 2>&1
f=$(jq -rn '{"label":["a=c"]}|tojson|@uri')
is "$(post "/images/prune?filters=$f" | jq -c '[.ImagesDeleted, .SpaceReclaimed]')" '[null,0]' "images/prune label=a=c: none"
f=$(jq -rn '{"label":["a=b"]}|tojson|@uri')
out=$(post "/images/prune?filters=$f")
is "$(jq -c '[(.ImagesDeleted|length), (.ImagesDeleted[0].Deleted|test("^sha256:")), (.SpaceReclaimed > 0)]' <<<"$out")" '[1,true,true]' \
	"images/prune label=a=b: the dangling image with it, space reclaimed"
is "$(postc '/images/prune?filters=%7B%22dangling%22%3A%7B%22nope%22%3Atrue%7D%2C%22x%22%3A%5B%5D%7D')" 400 "images/prune with an unknown filter: 400"
out=$(DOCKER_HOST="unix://$SOCK" timeout 30 docker image prune -a -f)
like "$out" "untagged: tagged:v1" "docker image prune -a: the unused tagged image untagged"
is "$(c images | awk 'NR > 1 {print $1":"$2}' | tr '\n' ' ')" "busybox:latest " "... busybox, used by a container, stays"

# ---- top, stats ----
top=$(api "http://x/v1.41/containers/up/top")
is "$(jq -c '[.Titles[1], .Titles[-1], (.Processes|length), (.Processes[0][-1])]' <<<"$top")" '["PID","CMD",1,"sleep 600"]' \
	"top: ps -ef's titles, the container's one process"
is "$(api "http://x/v1.41/containers/up/top?ps_args=aux" | jq -r '.Titles[-1]')" COMMAND "top ps_args=aux: ps aux's columns"
is "$(code "http://x/v1.41/containers/up/top?ps_args=--nosuchflag")" 500 "top with ps_args ps refuses: 500"
c create --name idle busybox true >/dev/null
is "$(code "http://x/v1.41/containers/idle/top")" 409 "top of a container that is not running: 409"
is "$(code "http://x/v1.41/containers/nosuch/top")" 404 "top of no such container: 404"
st=$(api "http://x/v1.41/containers/up/stats?stream=false")
is "$(jq -c '[.name, .pids_stats.current, (.cpu_stats.cpu_usage.total_usage > 0), (.precpu_stats.system_cpu_usage > 0), (.cpu_stats.system_cpu_usage > .precpu_stats.system_cpu_usage), (.memory_stats.usage > 0), (.memory_stats.limit > 0), (.networks|type)]' <<<"$st")" \
	'["/up",1,true,true,true,true,true,"object"]' "stats stream=false: one reading with the one before (dockerd's keys)"
is "$(api "http://x/v1.41/containers/up/stats?stream=false&one-shot=true" | jq -r .preread)" "0001-01-01T00:00:00Z" "stats one-shot: no reading before"
is "$(curl -s --max-time 2.6 --unix-socket "$SOCK" "http://x/v1.41/containers/up/stats" | jq -r .name | tr '\n' ' ')" "/up /up /up " \
	"stats streamed: a reading a second until the client goes"
is "$(code "http://x/v1.41/containers/idle/stats?stream=false")" 409 "stats of a container that is not running: 409"
for D in /usr/bin/docker /usr/local/bin/docker; do
	[ -x "$D" ] || { skip "$D is not installed"; continue; }
	v=$("$D" --version | sed 's/Docker version \([0-9]*\).*/\1/')
	d() { DOCKER_HOST="unix://$SOCK" timeout 30 "$D" "$@"; }
	like "$(d top up)" "root +[0-9]+ .* sleep 600" "docker $v: top"
	like "$(d stats --no-stream --format '{{.Name}} {{.PIDs}} {{.MemUsage}}' up)" "^up 1 [0-9.]+[KMG]?i?B / " "docker $v: stats --no-stream"
done
if python3 -c 'import docker' 2>/dev/null; then
	out=$(python3 - "$SOCK" <<'EOF' 2>&1
import sys, docker
c = docker.DockerClient(base_url="unix://" + sys.argv[1]).containers.get("up")
s = c.stats(stream=False)
print(s["pids_stats"]["current"], s["cpu_stats"]["cpu_usage"]["total_usage"] > 0)
print(c.top()["Processes"][0][-1])
EOF
)
	is "$out" "$(printf '1 True\nsleep 600')" "python3-docker: stats(stream=False), top()"
else
	skip "python3-docker is not installed"
fi
c rm -f up idle >/dev/null
c volume rm dvol >/dev/null
is "$(ls -A /run/cell/runtime 2>/dev/null | grep -c "^\.exec-")" 0 "no exec temp dirs left under /run/cell/runtime"
