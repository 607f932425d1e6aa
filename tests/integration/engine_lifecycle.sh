#!/bin/bash
# cell run -d and the monitor; ps, logs, exec, inspect, pause, top, stats,
# stop, start, restart, kill, wait, rm, rename; restart policies; the CLI and
# the monitor killed -9; many containers at once. Everything removed after.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
engine_setup
left() { ls "$R/containers" | grep -cv '^\.names$'; }
# nothing of container $1 (full id) left: dir, runtime state, cgroups, mounts, processes
gone() {
	local id=$1 bad=""
	[ -e "$R/containers/$id" ] && bad+=" dir"
	[ -e "/run/cell/runtime/$id" ] && bad+=" runtime-state"
	ls -d /sys/fs/cgroup/*/cell/"$id" >/dev/null 2>&1 && bad+=" cgroup"
	grep -q "$id" /proc/mounts && bad+=" mount"
	echo "${bad:-none}"
}
status() { c inspect -f '{{.State.Status}}' "$1"; }

# run -d, ps, logs
id=$(c run -d --name web busybox sh -c 'echo out; echo err >&2; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done')
like "$id" "^[0-9a-f]{64}$" "run -d prints the full id"
is "$(status web)" "running" "inspect: running"
pid=$(c inspect -f '{{.State.Pid}}' web)
like "$(cat /proc/$pid/cmdline 2>/dev/null | tr '\0' ' ')" "^sh -c" "inspect: State.Pid is the container's init"
like "$(c ps)" "web" "ps lists it"
is "$(c ps -q)" "${id:0:12}" "ps -q"
like "$(c ps --format json)" '"Names":"web"' "ps --format json"
is "$(c ps --filter name=web --format '{{.ID}} {{.State}}')" "${id:0:12} running" "ps --filter, --format template"
like "$(ps -o comm= -p $(c inspect -f '{{.State.MonitorPid}}' web))" "cell-monitor" "a monitor named cell-monitor watches it"
sleep 0.5
is "$(c logs web 2>/dev/null | head -2)" "out
tick 0" "logs: stdout"
is "$(c logs web 2>&1 >/dev/null)" "err" "logs: stderr on stderr"
is "$(c logs --tail 1 web 2>/dev/null | wc -l)" "1" "logs --tail 1"
like "$(c logs -t web 2>/dev/null | head -1)" "^20[0-9-]+T[0-9:.]+Z out" "logs -t"
like "$(head -1 "$R/containers/$id/ctr.log")" '^\{"log":"out\\n","stream":"stdout","time":"[^"]+"\}$' "ctr.log holds JSON lines"

# exec
is "$(c exec web payload hostname)" "${id:0:12}" "exec runs in the container"
c exec web sh -c 'exit 5'; is $? 5 "exec exit status"
is "$(c exec -e X=42 web sh -c 'echo $X')" "42" "exec -e"
is "$(c exec -w /tmp web payload cwd)" "/tmp" "exec -w"
is "$(c exec -u tester web payload id)" "1000 1000" "exec -u name"
is "$(c exec -t web payload isatty 1 | tr -d '\r')" "yes" "exec -t"
c exec web no-such-cmd 2>/dev/null; is $? 127 "exec: not found 127"
check "exec -d" -- c exec -d web sh -c 'touch /tmp/detached'
sleep 0.3
is "$(c exec web payload exists /tmp/detached)" "yes" "exec -d ran"

# pause, top, stats
check "pause" -- c pause web
is "$(status web)" "paused" "inspect: paused"
like "$(c ps)" "Paused" "ps shows Paused"
c exec web true 2>/dev/null; is $? 125 "exec in a paused container: 125"
check "unpause" -- c unpause web
is "$(status web)" "running" "running again"
like "$(c top web)" "sh -c" "top lists the init"
like "$(c stats --no-stream web)" "web .*%" "stats --no-stream"
like "$(c stats --no-stream --format json web)" '"PIDs":[1-9]' "stats json counts pids"

# stop, start, restart, wait
t0=$(date +%s)
check "stop -t 1" -- c stop -t 1 web
t1=$(date +%s)
ok $([ $((t1 - t0)) -lt 5 ]; echo $?) "stop -t 1 did not wait the default 10 s"
is "$(c inspect -f '{{.State.Status}} {{.State.ExitCode}}' web)" "exited 137" "sh ignores TERM: killed, 137"
like "$(c ps -a)" "Exited \(137\)" "ps -a shows it exited"
is "$(c ps -q)" "" "ps without -a hides it"
c exec web true 2>/dev/null; is $? 125 "exec in a stopped container: 125"
check "start" -- c start web
is "$(status web)" "running" "started again"
check "restart" -- c restart -t 0 web
is "$(status web)" "running" "restarted"
(sleep 0.5; c kill web >/dev/null) &
is "$(timeout 30 "$CELL" --root "$R" wait web)" "137" "wait prints the exit code"
wait
check "rename" -- c rename web web2
is "$(status web2)" "exited" "renamed"
c inspect web >/dev/null 2>&1; is $? 125 "old name gone"
check "rm" -- c rm web2
is "$(gone "$id")" "none" "rm removed everything"

# stop signal, kill -s
id=$(c run -d --stop-signal USR1 busybox payload waitsig)
sleep 0.3
check "stop with --stop-signal" -- c stop -t 5 "$id"
is "$(c logs "$id" | tail -1)" "signal 10" "--stop-signal USR1 delivered"
is "$(c inspect -f '{{.State.ExitCode}}' "$id")" "0" "stopped cleanly"
c rm "$id" >/dev/null
id=$(c run -d busybox payload waitsig)
sleep 0.3
check "kill -s HUP" -- c kill -s HUP "$id"
timeout 30 "$CELL" --root "$R" wait "$id" >/dev/null
is "$(c logs "$id" | tail -1)" "signal 1" "kill -s HUP delivered"
c rm "$id" >/dev/null

# logs -f while the container writes
id=$(c run -d busybox sh -c 'for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done')
is "$(timeout 10 "$CELL" --root "$R" logs -f "$id" | tr '\n' ' ')" "line1 line2 line3 line4 line5 " "logs -f follows to the end"
c rm "$id" >/dev/null

# log rotation by size
id=$(c run -d --log-opt max-size=8k busybox sh -c 'i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done')
timeout 30 "$CELL" --root "$R" wait "$id" >/dev/null
ok $([ -s "$R/containers/$id/ctr.log.1" ] && [ "$(stat -c %s "$R/containers/$id/ctr.log")" -le 8192 ]; echo $?) "--log-opt max-size rotates ctr.log"
is "$(c logs --tail 1 "$id")" "line-399" "logs reads across the rotation"
c rm "$id" >/dev/null

# create + start -a, run --rm -d, rm refusing a running one
id=$(c create busybox sh -c 'echo created-out; exit 3')
is "$(status "$id")" "created" "create: created"
out=$(c start -a "$id"); rc=$?
is "$out/$rc" "created-out/3" "start -a attaches and returns the status"
c rm "$id" >/dev/null
id=$(c run -d --rm busybox true)
for i in $(seq 50); do [ -e "$R/containers/$id" ] || break; sleep 0.1; done
is "$(gone "$id")" "none" "run -d --rm: removed by the monitor"
id=$(c run -d busybox sleep 100)
c rm "$id" >/dev/null 2>&1; is $? 125 "rm of a running container refused"
check "rm -f" -- c rm -f "$id"
is "$(gone "$id")" "none" "rm -f removed everything"

# restart policies
id=$(c run -d --restart on-failure:2 busybox sh -c 'exit 3')
for i in $(seq 100); do [ "$(c inspect -f '{{.RestartCount}} {{.State.Status}}' "$id")" = "2 exited" ] && break; sleep 0.1; done
is "$(c inspect -f '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' "$id")" "2 exited 3" "on-failure:2 restarts twice"
c rm -f "$id" >/dev/null
id=$(c run -d --restart always busybox sh -c 'sleep 0.2; exit 0')
for i in $(seq 100); do [ "$(c inspect -f '{{.RestartCount}}' "$id")" -ge 2 ] && break; sleep 0.1; done
ok $([ "$(c inspect -f '{{.RestartCount}}' "$id")" -ge 2 ]; echo $?) "always restarts after exit 0"
check "stop of an always container" -- c stop -t 1 "$id"
sleep 1
is "$(status "$id")" "exited" "stopped by the user: not restarted"
c rm -f "$id" >/dev/null
is "$(gone "$id")" "none" "restarting container removed"

# the monitor killed -9: the container lives on, ps tells the truth, rm -f cleans
id=$(c run -d busybox sleep 100)
mon=$(c inspect -f '{{.State.MonitorPid}}' "$id")
kill -9 "$mon"; sleep 0.2
is "$(status "$id")" "running" "monitor killed: container still running"
check "rm -f after the monitor died" -- c rm -f "$id"
is "$(gone "$id")" "none" "nothing left"
# the container killed while its monitor is dead
id=$(c run -d busybox sleep 100)
kill -9 "$(c inspect -f '{{.State.MonitorPid}}' "$id")"
kill -9 "$(c inspect -f '{{.State.Pid}}' "$id")"; sleep 0.3
is "$(status "$id")" "exited" "monitor and init dead: exited"
check "start again after both died" -- c start "$id"
is "$(status "$id")" "running" "and runs"
c rm -f "$id" >/dev/null
is "$(gone "$id")" "none" "nothing left"
# a foreground run whose CLI is killed -9
"$CELL" --root "$R" run --network none --name fg busybox sleep 100 &
fgpid=$!
for i in $(seq 50); do [ "$(status fg 2>/dev/null)" = running ] && break; sleep 0.1; done
kill -9 $fgpid; wait $fgpid 2>/dev/null
id=$(c inspect -f '{{.Id}}' fg)
is "$(status fg)" "running" "foreground CLI killed: ps still sees it running"
check "rm -f" -- c rm -f fg
is "$(gone "$id")" "none" "nothing left"

# cp both ways, never out of the container's root
id=$(c run -d busybox sh -c 'mkdir -p /d/sub; echo in-ctr > /d/sub/f; ln -s /etc/hostname /d/link; ln -s / /d/escape; sleep 100')
sleep 0.3
mkdir -p "$TMPD/cp"
check "cp CTR:dir host" -- c cp "$id:/d" "$TMPD/cp/"
is "$(cat "$TMPD/cp/d/sub/f")" "in-ctr" "cp copied a file from the container"
is "$(readlink "$TMPD/cp/d/link")" "/etc/hostname" "cp keeps symlinks as links"
echo from-host > "$TMPD/cp/h"
check "cp host CTR:path" -- c cp "$TMPD/cp/h" "$id:/d/h2"
is "$(c exec "$id" cat /d/h2)" "from-host" "cp copied a file into the container"
check "cp host CTR:existing-dir" -- c cp "$TMPD/cp/h" "$id:/d/escape"
is "$(c exec "$id" cat /h)" "from-host" "a symlink to / in the container stays in the container"
ok $([ ! -e /h ] || [ "$(cat /h 2>/dev/null)" != from-host ]; echo $?) "nothing written to the host's /"
c cp "$id:/no/such" "$TMPD/cp/x" 2>/dev/null; is $? 125 "cp of a missing path: 125"
c rm -f "$id" >/dev/null

# container prune removes stopped ones only
a=$(c create busybox true); b=$(c run -d busybox sleep 100)
like "$(c container prune)" "$a" "container prune removes a created container"
is "$(c container ls -aq --no-trunc)" "$b" "and keeps the running one"
c rm -f "$b" >/dev/null

# a create or rm killed half-way leaves a directory without a record: dead, and rm -f cleans it
id=$(c create busybox true)
rm "$R/containers/$id/config.json"
is "$(c ps -a --no-trunc --format '{{.ID}} {{.State}}')" "$id dead" "a half-made container shows as dead"
check "rm -f of a dead container" -- c rm -f "$id"
is "$(gone "$id")" "none" "nothing left of it"
# the CLI killed -9 at random points of run -d
for i in $(seq 15); do
	timeout -s KILL "0.0$((RANDOM % 8 + 1))" "$CELL" --root "$R" run -d --network none busybox sleep 100 >/dev/null 2>&1
done
all=$(c ps -aq --no-trunc)
c rm -f $all >/dev/null
is "$(left)" "0" "run -d killed at random points: rm -f of ps -a removes everything"
ok $(for id in $all; do [ "$(gone "$id")" = none ] || exit 1; done; echo 0) "no dir, state, cgroup or mount left"
ok $(grep -q " $R/" /proc/mounts; [ $? != 0 ]; echo $?) "no mount under the engine root"

# many at once
ids=$(for i in $(seq 20); do c run -d busybox sleep 100 & done; wait)
is "$(echo "$ids" | grep -c .)" "20" "20 concurrent run -d"
is "$(c ps -q | wc -l)" "20" "ps shows 20"
c rm -f $(c ps -q) >/dev/null
is "$(left)" "0" "all removed"
ok $(for id in $ids; do [ "$(gone "$id")" = none ] || exit 1; done; echo 0) "no dir, state, cgroup or mount left"
