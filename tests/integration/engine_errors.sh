#!/bin/bash
# Bad input to the engine: one clear line on stderr, exit status 125, and
# nothing created (no container dir, no name, no mount, no runtime state).
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
engine_setup

nothing_made() {
	local n m
	n=$(ls "$R/containers" | grep -cv '^\.names$')
	m=$(ls "$R/containers/.names" | wc -l)
	[ "$n" = 0 ] && [ "$m" = 0 ] && ! grep -q " $R/containers" /proc/mounts
}

bad() {	# description regex -- cell arguments
	local d=$1 re=$2; shift 3
	local out rc
	out=$(c "$@" 2>&1 >/dev/null); rc=$?
	is "$rc" 125 "$d: exit 125"
	like "$out" "$re" "$d: says why"
	is "$(printf '%s\n' "$out" | grep -c .)" 1 "$d: one line"
	ok $(nothing_made; echo $?) "$d: nothing created"
}

bad "--memory 12q" "invalid --memory \`12q\`" -- run --rm -m 12q busybox true
bad "-v relative without a colon" "invalid -v \`rel\`" -- run --rm -v rel busybox true
bad "-v missing host path" "no-such-dir" -- run --rm -v /no-such-dir:/x busybox true
bad "--cpus -1" "invalid --cpus \`-1\`" -- run --rm --cpus -1 busybox true
bad "--cpus abc" "invalid --cpus" -- run --rm --cpus abc busybox true
bad "--memory-swap below --memory" "memory-swap" -- run --rm -m 64m --memory-swap 32m busybox true
bad "--pids-limit 0" "pids-limit" -- run --rm --pids-limit 0 busybox true
bad "--cpu-shares x" "cpu-shares" -- run --rm --cpu-shares x busybox true
bad "--cap-add bogus" "unknown capability" -- run --rm --cap-add BOGUS busybox true
bad "--ulimit bad" "ulimit" -- run --rm --ulimit nofile busybox true
bad "--ulimit unknown" "unknown limit" -- run --rm --ulimit foo=1 busybox true
bad "--restart bad" "invalid --restart" -- run --restart sometimes busybox true
bad "--restart with --rm" "conflicting" -- run --rm --restart always busybox true
bad "--security-opt bad" "security-opt" -- run --rm --security-opt foo busybox true
bad "--security-opt seccomp=missing" "seccomp" -- run --rm --security-opt seccomp=/no/such.json busybox true
bad "--mount type=volume bad name" "not a valid volume name" -- run --rm --mount type=volume,source=a/b,target=/x busybox true
bad "--mount no target" "target" -- run --rm --mount type=tmpfs busybox true
bad "-w relative" "absolute" -- run --rm -w rel busybox true
bad "--stop-signal bad" "stop-signal" -- run --rm --stop-signal NOPE busybox true
bad "--name invalid" "invalid container name" -- run --rm --name 'a b' busybox true
bad "--network unknown" "network \`foo\` not found" -- run --rm --network foo busybox true
bad "-p bad" "80x" -- run --rm --network foo -p 80x busybox true
bad "-p with --network none" "publish" -- run --rm --network none -p 80 busybox true
bad "unknown image" "unable to find image \`nosuch:latest\`" -- run --rm nosuch:latest true
bad "no image" "requires" -- run
bad "unknown user" "unable to find user" -- run --rm -u nosuchuser busybox true
bad "--env-file missing" "env-file" -- run --rm --env-file /no/such/file busybox true

id=$(c create --name taken busybox true)
out=$(c run --rm --name taken busybox true 2>&1); rc=$?
is "$rc" 125 "name in use: 125"
like "$out" "already in use" "name in use: says so"
is "$(ls "$R/containers" | grep -cv '^\.names$')" 1 "name in use: nothing more created"
c rm taken >/dev/null

bad "container not found (rm)" "no such container" -- rm nosuch
bad "container not found (stop)" "no such container" -- stop nosuch
bad "container not found (logs)" "no such container" -- logs nosuch
bad "container not found (exec)" "no such container" -- exec nosuch true
bad "container not found (inspect)" "no such container" -- inspect nosuch
id=$(c create busybox true)
out=$(c exec "$id" true 2>&1); rc=$?
is "$rc" 125 "exec in a stopped container: 125"
like "$out" "not running" "exec in a stopped container: says so"
c rm "$id" >/dev/null
# a detached start that fails: 127, and ps tells when, not year 1
c run -d --name failstart busybox no-such-command > /dev/null 2>&1; is $? 127 "run -d of a missing command: 127"
like "$(c ps -a --filter name=failstart --format '{{.Status}}')" "^Exited \(127\) (Less than a second|[0-9]+ seconds?) ago$" "ps: the failed start finished just now"
like "$(c inspect -f '{{.State.Error}}' failstart)" "not found" "inspect: State.Error says why"
c rm failstart >/dev/null
ok $(nothing_made; echo $?) "all removed"
