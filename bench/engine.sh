#!/bin/bash
# The engine against cell-runtime alone, podman and Docker (issue 5):
#   - `run --rm IMAGE true`: cell-runtime run (the same rootfs, a bundle made
#     once), cell-runtime run of the bundle cell itself writes (same config),
#     cell run --network none, interleaved (A B C ... A B C) so that the
#     machine's noise hits all alike; then, each in a loop of its own (they
#     leave work behind that would land on the next sample), cell run on a
#     bridge network, podman run --rm --network none and docker run --rm
#     --network none; medians and ratios
#   - process start: `cell version` against `cell-runtime --version`
#   - exec: cell exec against cell-runtime exec, podman exec and docker exec
#   - 50 concurrent `cell run -d` then one `rm -f` of them all
#   - the monitor's RSS, alone and with a 1 s healthcheck; a check's cost
# podman and dockerd get private state under the temp dir: podman --root,
# --runroot, --tmpdir, --cgroup-manager cgroupfs, runc (crun refuses this
# hybrid cgroup layout); a dockerd started here with its own --data-root,
# --exec-root, --pidfile and socket, --bridge=none, no iptables, no masquerade
# (no docker0, no firewall rule), stopped by PID at the end. Both get the
# busybox image through `cell image save` (docker-archive) and `load`, and
# both use overlay storage as cell does. Whatever they made (mounts, cgroups,
# processes, /run/docker) is removed at the end.
#   bench/engine.sh [ITERATIONS]       (20 by default; CONCURRENT=50)
set -u
N=${1:-20}
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${CELL_BUILD:-$TOP/build}
[ "$(id -u)" = 0 ] || { echo "bench/engine.sh: needs root" >&2; exit 1; }
. "$TOP/tests/lib/tap.sh" >/dev/null
. "$TOP/tests/engines/lib/engines.sh"
trap - EXIT
W=$(mktemp -d /tmp/cell-bench.XXXXXX)
# private copies: a rebuild of build/ meanwhile must not change what is measured
mkdir -p "$W/bin" && cp "$B/cell" "$B/cell-runtime" "$W/bin/" || exit 1
for m in "$B/cell-monitor" "$B/src/monitor/cell-monitor"; do [ -x "$m" ] && cp "$m" "$W/bin/" && break; done
CELL=$W/bin/cell RT=$W/bin/cell-runtime
R=$W/root
NET=cbench$$
PCG=cellbench-podman-$$ DCG=cellbench-docker-$$
LP=$(eng_cgroup_snapshot libpod_parent)
DPID=""
P=(podman --root "$W/podman/storage" --runroot "$W/podman/run" --tmpdir "$W/podman/tmp"
   --cgroup-manager cgroupfs --events-backend file --runtime runc)
D=$W/docker
DK=(docker -H "unix://$D/docker.sock")
# what dockerd may leave outside its roots when it was not there before
DOCKER_LEFT=()
[ -e /etc/docker/key.json ] || DOCKER_LEFT+=(/etc/docker/key.json /etc/docker)
[ -e /run/docker ] || DOCKER_LEFT+=(/run/docker/plugins /run/docker)
[ -e /run/containerd ] || DOCKER_LEFT+=(/run/containerd/s /run/containerd/fifo /run/containerd)
[ -e /opt/containerd ] || DOCKER_LEFT+=(/opt/containerd/bin /opt/containerd/lib /opt/containerd)

cleanup() {
	for i in $("$CELL" --root "$R" ps -aq --no-trunc 2>/dev/null); do "$CELL" --root "$R" rm -f "$i" >/dev/null 2>&1; done
	"$RT" --root "$W/rt" delete --force bench-exec >/dev/null 2>&1
	"$CELL" --root "$R" network rm -f "$NET" >/dev/null 2>&1
	if [ -d "$W/podman" ]; then
		"${P[@]}" rm -f -a -t 0 >/dev/null 2>&1
		"${P[@]}" system reset -f >/dev/null 2>&1
	fi
	if [ -n "$DPID" ]; then
		"${DK[@]}" rm -f $("${DK[@]}" ps -aq 2>/dev/null) >/dev/null 2>&1
		eng_kill_pid "$DPID"	# dockerd stops the containerd it started
	fi
	eng_kill_matching "$W/"
	eng_umount_under "$W"
	eng_cgroup_rm "$PCG" ""
	eng_cgroup_rm "$DCG" ""
	eng_cgroup_rm libpod_parent "$LP"
	local f
	for f in "${DOCKER_LEFT[@]}"; do [ -d "$f" ] && rmdir "$f" 2>/dev/null || rm -f "$f" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rootfs=$(CELL_BUILD=$B test_rootfs)
tar -C "$rootfs" -cf "$W/rootfs.tar" .
"$CELL" --root "$R" image import --change 'CMD ["sh"]' "$W/rootfs.tar" busybox:latest >/dev/null || exit 1
"$CELL" --root "$R" image save -o "$W/busybox.tar" busybox:latest || exit 1
# a bridge network of our own: cell0 is shared with whatever else runs here
"$CELL" --root "$R" network create --subnet "10.253.$((RANDOM % 256)).0/24" "$NET" >/dev/null
mkdir -p "$W/bundle" && cp -a "$rootfs" "$W/bundle/rootfs"
(cd "$W/bundle" && "$RT" spec && jq '.process.args = ["true"] | .process.terminal = false' config.json > c && mv c config.json)
# the bundle cell writes for `run --network none busybox true`, to run it alone
ctr=$("$CELL" --root "$R" create --network none busybox true)
CB=$R/containers/$ctr/bundle

# podman: its own state, the image loaded from cell's docker-archive
podman_ok=""
if ! command -v podman >/dev/null; then
	podman_why="not installed"
else
	mkdir -p "$W/podman"
	# ulimits under this machine's hard limits (no CAP_SYS_RESOURCE here)
	printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n' > "$W/podman/containers.conf"
	export CONTAINERS_CONF=$W/podman/containers.conf
	pimg=$("${P[@]}" load -q -i "$W/busybox.tar" 2>"$W/podman.err" | sed -n 's/^Loaded image[^:]*: //p' | head -1)
	if [ -n "$pimg" ] && "${P[@]}" run --rm --network none --cgroup-parent "/$PCG" "$pimg" true >"$W/podman.err" 2>&1; then
		podman_ok=1
	else
		podman_why="cannot run the image: $(tail -2 "$W/podman.err" | tr '\n' ' ')"
	fi
fi

# docker: a dockerd of our own
docker_ok=""
if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
	docker_why="not installed"
else
	mkdir -p "$D"
	dockerd --data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/docker.pid" \
		-H "unix://$D/docker.sock" --bridge=none --iptables=false --ip6tables=false \
		--ip-forward=false --ip-masq=false --userland-proxy=false --storage-driver overlay2 \
		--cgroup-parent "$DCG" --exec-opt native.cgroupdriver=cgroupfs --log-driver json-file \
		> "$W/dockerd.log" 2>&1 &
	DPID=$!
	if ! eng_wait 30 "${DK[@]}" version; then
		docker_why="dockerd did not start: $(grep -E 'level=(error|fatal)' "$W/dockerd.log" | tail -2 | tr '\n' ' ')"
	elif ! "${DK[@]}" load -q -i "$W/busybox.tar" >/dev/null 2>"$W/docker.err" ||
	     ! "${DK[@]}" run --rm --network none busybox:latest true >"$W/docker.err" 2>&1; then
		docker_why="cannot run the image: $(tail -2 "$W/docker.err" | tr '\n' ' ')"
	else
		docker_ok=1
	fi
fi

# cell's and cell-runtime's commands interleaved (T[k] collects the wall
# times in us of command k); podman and Docker each in a loop of its own
# afterwards: their teardown goes on after the command returns (shims,
# storage, events) and would land on the next samples otherwise
declare -a T NAMES
k=0
rt_run() { k=$((k + 1)); "$RT" --root "$W/rt" run --bundle "$1" "bench-$$-$k"; }
cmds=("rt_run $W/bundle" "rt_run $CB" "$CELL --root $R run --rm --network none busybox true")
NAMES=("cell-runtime run (spec's default bundle)" "cell-runtime run (the bundle cell writes)"
       "cell run --rm --network none" "cell run --rm (bridge network)")
# a bridged run also leaves the kernel work (its netns and veth go a grace
# period later): alone too
OTHERS=("$CELL --root $R run --rm --network $NET busybox true")
[ -n "$podman_ok" ] && OTHERS+=("${P[*]} run --rm --network none --cgroup-parent /$PCG $pimg true") &&
	NAMES+=("podman run --rm --network none")
[ -n "$docker_ok" ] && OTHERS+=("${DK[*]} run --rm --network none busybox:latest true") &&
	NAMES+=("docker run --rm --network none")
measure() {	# measure N CMD...: interleaved; fills T
	local n=$1 i j s; shift
	T=()
	for ((i = 0; i < n; i++)); do
		for ((j = 0; j < $#; j++)); do
			local c=$((j + 1))
			s=$EPOCHREALTIME
			eval "${!c}" >/dev/null 2>&1
			T[j]+="$(( ${EPOCHREALTIME/./} - ${s/./} )) "
		done
	done
}
median() { printf '%s\n' $1 | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
# measure_all CMD...: the interleaved set, then each of OTHERS alone; fills M
measure_all() {
	local j x
	M=()
	measure "$N" "$@"
	for ((j = 0; j < $#; j++)); do M[j]=$(median "${T[j]}"); done
	for x in "${OTHERS[@]}"; do
		measure "$N" "$x"
		M+=("$(median "${T[0]}")")
	done
}
ratio() { printf '%.2f' "$(echo "scale=3; $1 / $2" | bc)"; }

echo "# $N iterations each (cell and cell-runtime interleaved), medians; load: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -a M
measure_all "${cmds[@]}"
for ((j = 0; j < ${#M[@]}; j++)); do
	printf '%-44s %8.1f ms\n' "${NAMES[j]}" "$(echo "scale=1; ${M[j]} / 1000" | bc)"
done
a=${M[0]} b=${M[2]}
echo "cell run --rm / cell-runtime run: $(ratio "$b" "$a") (goal <= 1.5); against the same config: $(ratio "$b" "${M[1]}")"
j=4
if [ -n "$podman_ok" ]; then
	echo "podman run --rm / cell run --rm: $(ratio "${M[j]}" "$b") (goal >= 10)"; j=$((j + 1))
else
	echo "podman: not measured ($podman_why)"
fi
if [ -n "$docker_ok" ]; then
	echo "docker run --rm / cell run --rm: $(ratio "${M[j]}" "$b")"
else
	echo "docker: not measured ($docker_why)"
fi

# what every `cell` command pays before main(): its shared libraries
OTHERS=()
measure "$N" "$CELL version" "$RT --version"
v1=$(median "${T[0]}") v2=$(median "${T[1]}")
printf '%-44s %8.1f ms  (%d shared libraries)\n' "cell version (process start)" "$(echo "scale=1; $v1 / 1000" | bc)" \
	"$(ldd "$CELL" | grep -c '=>')" "cell-runtime --version" "$(echo "scale=1; $v2 / 1000" | bc)" \
	"$(ldd "$RT" | grep -c '=>')"

# exec into a running container
id=$("$CELL" --root "$R" run -d --network none busybox sleep 1000) || { echo "cell run -d failed" >&2; exit 1; }
jq '.process.args = ["sleep", "1000"]' "$W/bundle/config.json" > "$W/c" && mv "$W/c" "$W/bundle/config.json"
"$RT" --root "$W/rt" run -d --bundle "$W/bundle" bench-exec >/dev/null 2>&1
ecmds=("$CELL --root $R exec $id true" "$RT --root $W/rt exec bench-exec true")
ENAMES=("cell exec" "cell-runtime exec")
OTHERS=()
if [ -n "$podman_ok" ] && pid=$("${P[@]}" run -d --network none --cgroup-parent "/$PCG" "$pimg" sleep 1000 2>/dev/null); then
	OTHERS+=("${P[*]} exec $pid true"); ENAMES+=("podman exec")
fi
if [ -n "$docker_ok" ] && did=$("${DK[@]}" run -d --network none busybox:latest sleep 1000 2>/dev/null); then
	OTHERS+=("${DK[*]} exec $did true"); ENAMES+=("docker exec")
fi
measure_all "${ecmds[@]}"
for ((j = 0; j < ${#M[@]}; j++)); do
	printf '%-44s %8.1f ms\n' "${ENAMES[j]}" "$(echo "scale=1; ${M[j]} / 1000" | bc)"
done
echo "cell exec / cell-runtime exec: $(ratio "${M[0]}" "${M[1]}")"
for ((j = 2; j < ${#M[@]}; j++)); do echo "${ENAMES[j]} / cell exec: $(ratio "${M[j]}" "${M[0]}")"; done
mon=$("$CELL" --root "$R" inspect -f '{{.State.MonitorPid}}' "$id")
rss=$(ps -o rss= -p "$mon" 2>/dev/null | tr -d ' ')
echo "monitor RSS: ${rss:-?} KiB (pid $mon, $(tr '\0' ' ' < /proc/"$mon"/cmdline 2>/dev/null | cut -c1-40); goal < 1024)"
"$CELL" --root "$R" rm -f "$id" >/dev/null

# a healthcheck (issue 13): the monitor's RSS with a 1 s check running, and
# the cost of one check (an exec with its bookkeeping) against the execs
CE=${M[0]} DE=""
[ "${ENAMES[${#ENAMES[@]}-1]}" = "docker exec" ] && DE=${M[${#M[@]}-1]}
hid=$("$CELL" --root "$R" run -d --network none --health-cmd true --health-interval 1s busybox sleep 1000)
sleep 5
hmon=$("$CELL" --root "$R" inspect -f '{{.State.MonitorPid}}' "$hid")
echo "monitor RSS with a 1 s healthcheck: $(ps -o rss= -p "$hmon" | tr -d ' ') KiB ($("$CELL" --root "$R" inspect -f '{{.State.Health.Status}}' "$hid"))"
measure "$N" "$CELL --root $R healthcheck run $hid"
HC=$(median "${T[0]}")
printf '%-44s %8.1f ms\n' "cell healthcheck run (one check)" "$(echo "scale=1; $HC / 1000" | bc)"
echo "a check / cell exec: $(ratio "$HC" "$CE")${DE:+; a check / docker exec: $(ratio "$HC" "$DE")}"
"$CELL" --root "$R" rm -f "$hid" >/dev/null

C=${CONCURRENT:-50}
s=$EPOCHREALTIME pids=()
for ((i = 0; i < C; i++)); do "$CELL" --root "$R" run -d --network "$NET" busybox sleep 1000 >/dev/null & pids+=($!); done
wait "${pids[@]}"	# not dockerd, also our child
m=$EPOCHREALTIME
n=$("$CELL" --root "$R" ps -q | wc -l)
"$CELL" --root "$R" rm -f $("$CELL" --root "$R" ps -aq) >/dev/null
e=$EPOCHREALTIME
printf '%d concurrent run -d: %d ms (%d running), rm -f of all: %d ms\n' "$C" \
	$(( (${m/./} - ${s/./}) / 1000 )) "$n" $(( (${e/./} - ${m/./}) / 1000 ))
