#!/bin/bash
# Races and killed watchers: a container whose cell-monitor was killed -9
# (ps, inspect and wait tell the truth: an exit nobody could read is
# Docker's 255, FinishedAt a real time after StartedAt; a --restart policy
# is resumed by the next `cell ps`); `cell start` racing `cell rm -f` on
# one container, 50 times at once; `logs -f` across fast rotations
# (max-size=100k, 200,000 lines: 140 rotations in about a second) loses
# neither the end nor a line. Everything removed after.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
engine_setup
T() { timeout 30 "$CELL" --root "$R" "$@"; }
st() { c inspect -f "{{.State.$1}}" "$2"; }
# kill -9 a pid read from inspect: never 0 or 1 (kill -9 0 is our own group)
kill_pid() { [ "${1:-0}" -gt 1 ] 2>/dev/null && kill -9 "$1"; }
mon_kill() { kill_pid "$(st MonitorPid "$1")"; }
init_kill() { kill_pid "$(st Pid "$1")"; }
# FinishedAt a real time, not before StartedAt
sane_times() {	# name description
	local s f
	s=$(st StartedAt "$1") f=$(st FinishedAt "$1")
	like "$f" "^20[0-9][0-9]-" "$2: FinishedAt is a real time ($f)"
	[[ ! "$f" < "$s" ]]; ok $? "$2: FinishedAt is not before StartedAt"
}

# the monitor killed, then the container exits 5 unwatched: its status went
# to the host's init, so the code is unknown (255), never 0 or 137
c run -d --name m1 busybox sh -c 'sleep 1; exit 5' >/dev/null
mon_kill m1
is "$(T wait m1)" "255" "monitor killed -9: wait prints 255 (unknown), not 137"
is "$(st Status m1) $(st ExitCode m1)" "exited 255" "inspect: exited 255"
like "$(st Error m1)" "monitor died: exit code unknown" "inspect: Error says why"
sane_times m1 "monitor killed"
like "$(c ps -a --filter name=m1)" "Exited \(255\) (Less than a second|[0-9] seconds?) ago" "ps: Exited (255) seconds ago"

# both killed at once: the next ps/inspect records it
c run -d --name m2 busybox sleep 1000 >/dev/null
mon_kill m2
init_kill m2
sleep 0.3
like "$(c ps -a --filter name=m2)" "Exited \(255\) (Less than a second|[0-9] seconds?) ago" \
	"monitor and init killed: ps shows Exited (255) just now"
sane_times m2 "monitor and init killed"
is "$(T wait m2)" "255" "and wait agrees"
sleep 1
is "$(st Status m2)" "exited" "no restart policy: ps did not start it"

# stop of a container whose monitor is dead
c run -d --name m3 busybox sh -c 'trap "" TERM; while :; do sleep 0.1; done' >/dev/null
mon_kill m3
check "stop -t 1 with the monitor dead" -- T stop -t 1 m3
is "$(st ExitCode m3)" "137" "it took our SIGKILL: 137 is known"
sane_times m3 "stopped unwatched"
c run -d --name m4 busybox sh -c 'trap "exit 3" TERM; while :; do sleep 0.1; done' >/dev/null
mon_kill m4
check "stop with the monitor dead, the container ends on TERM" -- T stop -t 5 m4
is "$(st ExitCode m4)" "255" "its own code went to the host's init: 255"

# --restart always: resumed by the next ps
c run -d --name r1 --restart always busybox sleep 1000 >/dev/null
mon1=$(st MonitorPid r1)
mon_kill r1
init_kill r1
sleep 0.3
like "$(c ps)" "r1" "--restart always, monitor and init killed: the next ps shows it up"
is "$(st Status r1)" "running" "it runs again"
mon2=$(st MonitorPid r1)
ok $([ "$mon2" != "$mon1" ] && [ "$(ps -o comm= -p "$mon2")" = cell-monitor ]; echo $?) "under a new monitor"
is "$(c inspect -f "{{.RestartCount}}" r1)" "1" "RestartCount counts it"
init_kill r1
for _ in $(seq 50); do [ "$(c inspect -f "{{.RestartCount}}" r1)" = 2 ] && break; sleep 0.1; done
is "$(c inspect -f "{{.RestartCount}}" r1)" "2" "the new monitor applies the policy"
# killed in the wait before a restart
c run -d --name r2 --restart always busybox sh -c 'sleep 0.2; exit 1' >/dev/null
for _ in $(seq 500); do [ "$(st Status r2)" = restarting ] && break; sleep 0.01; done	# its backoff doubles: caught soon
is "$(st Status r2)" "restarting" "a container waiting to restart (control)"
mon_kill r2
sleep 0.2
n=$(c inspect -f '{{.RestartCount}}' r2)
c ps >/dev/null
sleep 1.5
[ "$(c inspect -f '{{.RestartCount}}' r2)" -gt "$n" ]; ok $? "monitor killed in the wait: ps resumed the policy"
check "rm -f of the revived containers" -- c rm -f r1 r2
# a stopped one stays stopped
c run -d --name r3 --restart always busybox sleep 1000 >/dev/null
T stop -t 0 r3 >/dev/null
c ps >/dev/null
is "$(st Status r3)" "exited" "--restart always stopped by the user: ps does not start it"
c rm -f m1 m2 m3 m4 r3 >/dev/null

# start racing rm -f on one container, 50 at once: each rm -f succeeds, a
# start either wins (and rm -f then removes it) or says the container is
# gone or being removed; never "not found" from files deleted under a
# mounted overlay, and nothing is left
N=50
for i in $(seq $N); do
	c create --name s$i busybox sleep 600 >/dev/null
	c start s$i >/dev/null && T stop -t 0 s$i >/dev/null	# its rootfs used once, unmounted
done
for i in $(seq $N); do
	(T start s$i > "$TMPD/start$i" 2>&1; echo "rc=$?" >> "$TMPD/start$i") &
	(T rm -f s$i > "$TMPD/rm$i" 2>&1; echo "rc=$?" >> "$TMPD/rm$i") &
done
wait
is "$(cat "$TMPD"/rm* | grep -c '^rc=0$')" "$N" "$N rm -f racing start all succeeded"
bad=$(cat "$TMPD"/start* | grep -v '^rc=\|^s[0-9]*$' | grep -Ev 'no such container|is being removed' | head -3)
is "${bad:-none}" "none" "start either ran or found it gone or being removed"
is "$(c ps -aq | wc -l)" "0" "no container left"
is "$(ls "$R/containers" | grep -cv '^\.names$')" "0" "no container directory left"
ok $(! grep -q " $R/containers/" /proc/mounts; echo $?) "no overlay left mounted"
# the same with the race the other way: the container exists after rm fails
for i in $(seq 20); do
	c create --name t$i busybox sleep 600 >/dev/null
	(T start t$i >/dev/null 2>&1 &); T rm -f t$i >/dev/null 2>&1 &
done
wait
sleep 0.5
is "$(c ps -aq | wc -l)" "0" "20 more: nothing left"

# logs -f across fast rotation: the end always (5 runs), and every line in
# order when the follower was there before the output began
for k in 1 2 3 4 5; do
	id=$(c run -d --log-opt max-size=100k busybox sh -c 'sleep 1; seq 1 200000')
	T logs -f "$id" > "$TMPD/follow$k" 2>&1; rc=$?
	is "$rc/$(tail -1 "$TMPD/follow$k")" "0/200000" "logs -f across 140 rotations, run $k: ends with the last line"
	is "$(wc -l < "$TMPD/follow$k")" 200000 "run $k: all 200000 lines"
	gaps=$(awk '$1 != NR { print NR ": " $0; exit }' "$TMPD/follow$k")
	is "${gaps:-none}" "none" "run $k: in order, none missing or twice"
	ok $([ "$(ls "$R/containers/$id" | grep -c '^ctr.log')" -le 2 ]; echo $?) "run $k: still two files on disk at most"
	c rm -f "$id" >/dev/null
done
