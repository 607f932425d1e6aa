#!/bin/bash
# The Docker API (issue 12): the docker CLI (Debian's 20.10) driving
#   - cell's `system service` on a socket of its own,
#   - a dockerd started here with its own --data-root, --exec-root, pidfile
#     and socket, --bridge=none, no iptables, no masquerade (no docker0, no
#     firewall rule), stopped by PID at the end,
# against `cell run --rm` itself:
#   - `docker run --rm --network none busybox true` through each, and
#     `cell run --rm --network none busybox true` (cell's two interleaved)
#   - `docker ps` with PS_N (100) containers running under each
# Goals: docker through cell >= 5x faster than through dockerd for run,
# <= 1.3x `cell run --rm`; `docker ps` of 100 under 20 ms.
#   bench/api.sh [ITERATIONS]       (20 by default; PS_N=100)
set -u
N=${1:-20}
PS_N=${PS_N:-100}
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${CELL_BUILD:-$TOP/build}
[ "$(id -u)" = 0 ] || { echo "bench/api.sh: needs root" >&2; exit 1; }
command -v docker >/dev/null || { echo "bench/api.sh: needs the docker CLI (docker.io)"; exit 77; }
DOCKER=/usr/bin/docker
[ -x $DOCKER ] || DOCKER=$(command -v docker)
. "$TOP/tests/lib/tap.sh" >/dev/null
. "$TOP/tests/engines/lib/engines.sh"
trap - EXIT
W=$(mktemp -d /tmp/cell-bench.XXXXXX)
mkdir -p "$W/bin" && cp "$B/cell" "$B/cell-runtime" "$W/bin/" || exit 1
for m in "$B/cell-monitor" "$B/src/monitor/cell-monitor"; do [ -x "$m" ] && cp "$m" "$W/bin/" && break; done
CELL=$W/bin/cell
R=$W/root
SOCK=$W/cell.sock
DCG=cellbench-docker-$$
D=$W/docker
DK=($DOCKER -H "unix://$D/docker.sock")
CK=($DOCKER -H "unix://$SOCK")
SVC="" DPID=""
DOCKER_LEFT=()
[ -e /etc/docker/key.json ] || DOCKER_LEFT+=(/etc/docker/key.json /etc/docker)
[ -e /run/docker ] || DOCKER_LEFT+=(/run/docker/plugins /run/docker)
[ -e /run/containerd ] || DOCKER_LEFT+=(/run/containerd/s /run/containerd/fifo /run/containerd)
[ -e /opt/containerd ] || DOCKER_LEFT+=(/opt/containerd/bin /opt/containerd/lib /opt/containerd)

cleanup() {
	for i in $("$CELL" --root "$R" ps -aq --no-trunc 2>/dev/null); do "$CELL" --root "$R" rm -f "$i" >/dev/null 2>&1; done
	[ -n "$SVC" ] && eng_kill_pid "$SVC"
	if [ -n "$DPID" ]; then
		"${DK[@]}" rm -f $("${DK[@]}" ps -aq 2>/dev/null) >/dev/null 2>&1
		eng_kill_pid "$DPID"
	fi
	eng_kill_matching "$W/"
	eng_umount_under "$W"
	eng_cgroup_rm "$DCG" ""
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
"$CELL" --root "$R" system service -t 0 "unix://$SOCK" 2>"$W/service.log" &
SVC=$!
eng_wait 10 "${CK[@]}" version || { echo "cell system service did not start: $(cat "$W/service.log")"; exit 1; }

docker_ok=""
if ! command -v dockerd >/dev/null; then
	docker_why="dockerd is not installed"
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

declare -a T
measure() {	# measure N CMD...: interleaved; T[j] the wall times in us
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
ms() { printf '%.1f' "$(echo "scale=2; $1 / 1000" | bc)"; }
ratio() { printf '%.2f' "$(echo "scale=3; $1 / $2" | bc)"; }

echo "# $N iterations each, medians; the docker CLI: $($DOCKER --version); load: $(cut -d' ' -f1-3 /proc/loadavg)"
measure "$N" "${CK[*]} run --rm --network none busybox true" "$CELL --root $R run --rm --network none busybox true"
api_run=$(median "${T[0]}") cell_run=$(median "${T[1]}")
printf '%-50s %8s ms\n' "docker run --rm through cell's API" "$(ms "$api_run")" \
	"cell run --rm" "$(ms "$cell_run")"
if [ -n "$docker_ok" ]; then
	measure "$N" "${DK[*]} run --rm --network none busybox:latest true"
	d_run=$(median "${T[0]}")
	printf '%-50s %8s ms\n' "docker run --rm through dockerd" "$(ms "$d_run")"
	echo "dockerd / cell's API, run: $(ratio "$d_run" "$api_run") (goal >= 5)"
else
	echo "dockerd: not measured ($docker_why)"
fi
echo "cell's API / cell run --rm: $(ratio "$api_run" "$cell_run") (goal <= 1.3)"

# docker ps with PS_N running containers under each
for ((i = 0; i < PS_N; i++)); do "${CK[@]}" run -d --network none busybox sleep 1000 >/dev/null; done
[ -n "$docker_ok" ] && for ((i = 0; i < PS_N; i++)); do "${DK[@]}" run -d --network none busybox:latest sleep 1000 >/dev/null; done
measure "$N" "${CK[*]} ps"
c_ps=$(median "${T[0]}")
printf '%-50s %8s ms  (%d listed)\n' "docker ps through cell's API, $PS_N running" "$(ms "$c_ps")" "$("${CK[@]}" ps -q | wc -l)"
if [ -n "$docker_ok" ]; then
	measure "$N" "${DK[*]} ps"
	d_ps=$(median "${T[0]}")
	printf '%-50s %8s ms  (%d listed)\n' "docker ps through dockerd, $PS_N running" "$(ms "$d_ps")" "$("${DK[@]}" ps -q | wc -l)"
fi
measure "$N" "$CELL --root $R ps"
printf '%-50s %8s ms\n' "cell ps, $PS_N running" "$(ms "$(median "${T[0]}")")"
# the request alone, without the docker CLI's own start
measure "$N" "curl -s --unix-socket $SOCK http://x/v1.41/containers/json"
printf '%-50s %8s ms  (goal < 20)\n' "GET /containers/json (curl), $PS_N running" "$(ms "$(median "${T[0]}")")"
