#!/bin/bash
# Networking benchmark (issue 6): cell against podman and Docker, each on its
# default bridge, each in a network namespace of its own made here:
#   - `run --rm busybox true` with --network none, on the engine's default
#     bridge and on it with one published port (-p): per engine the three
#     interleaved (its leftovers hit all alike), engines one after another;
#     medians; the bridge cost (bridge - none); goal: cell's within 5 ms
#   - TCP throughput with iperf3, REPS (5) runs of 2 s per path, the paths
#     taking turns; median and best: container -> container on one bridge;
#     the namespace -> container address (the direct veth); the namespace ->
#     published port through 127.0.0.1 (cell: nft DNAT; Docker: docker-proxy,
#     its userland proxy) and through an address of the namespace (DNAT for
#     both); loopback as the ceiling; goal: published >= 0.9x direct
# Why namespaces: Docker's and podman's bridges write iptables/nft rules
# into the tables of the network namespace they run in, and the host's own
# tables must not be touched. So each engine runs in cellbench-ENGINE-PID
# (loopback only, with 198.19.0.1/32 on it too as "an address of the
# host"; no other link, no route out), entered through a holder process with a mount namespace of its
# own (slave of the host's) where /sys is that netns's sysfs and
# /sys/fs/cgroup the host's hierarchies (`ip netns exec` would leave no
# cgroups, which dockerd refuses). Every bridge, veth, rule and proxy an
# engine makes lives in its namespace and dies with it. The host's tables
# (nft -s list ruleset but cell's own tables, which concurrent tests change;
# iptables-save, ip6tables-save, iptables-legacy-save) are compared with
# their state at start after each part: any difference aborts (cleaning up).
# cell runs in a namespace too (same footing; its rules then are not in the
# host's table inet cell either). podman: Debian's (CNI backend), the
# default conflist (/etc/cni/net.d/87-podman-bridge.conflist) copied to a
# private --network-config-dir with its IPAM dataDir under the temp dir;
# private --root/--runroot/--tmpdir, cgroupfs, runc. dockerd: private
# --data-root/--exec-root/--pidfile/socket, defaults otherwise (docker0,
# iptables, masquerade, userland proxy). Images come from `cell image save`
# (docker-archive). Daemons are stopped by PID, their dirs removed, then the
# namespaces deleted, also on failure. The iperf3 servers run in the
# containers' network namespaces (nsenter --net), the clients in the
# engine's namespace or another container's.
# Packets go only to loopback and to namespaces this script creates.
#   bench/net.sh [ITERATIONS]    (21 by default; IPERF=0: no throughput; REPS=5)
set -u
N=${1:-21}
REPS=${REPS:-5}
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${CELL_BUILD:-$TOP/build}
[ "$(id -u)" = 0 ] || { echo "bench/net.sh: needs root" >&2; exit 77; }
. "$TOP/tests/lib/tap.sh" >/dev/null
. "$TOP/tests/engines/lib/engines.sh"
trap - EXIT
W=$(mktemp -d /tmp/cell-bench-net.XXXXXX)
# private copies: a rebuild of build/ meanwhile must not change what is measured
mkdir -p "$W/bin" && cp "$B/cell" "$B/cell-runtime" "$W/bin/" || exit 1
for m in "$B/cell-monitor" "$B/src/monitor/cell-monitor"; do [ -x "$m" ] && cp "$m" "$W/bin/" && break; done
tag=$$
CELL=$W/bin/cell R=$W/root
C=("$CELL" --root "$R")
PCG=cellbench-podman-$tag DCG=cellbench-docker-$tag
LP=$(eng_cgroup_snapshot libpod_parent)
P=(podman --root "$W/podman/storage" --runroot "$W/podman/run" --tmpdir "$W/podman/tmp"
   --cgroup-manager cgroupfs --events-backend file --runtime runc --network-config-dir "$W/podman/cni")
D=$W/docker
DK=(docker -H "unix://$D/docker.sock")
DPID=""
ADDR=198.19.0.1	# RFC 2544's benchmark range, on the loopback of each namespace
declare -A HOLDER
NSS=()
# what dockerd and CNI may leave outside their roots when it was not there before
LEFT=()
[ -e /etc/docker/key.json ] || LEFT+=(/etc/docker/key.json /etc/docker)
[ -e /run/docker ] || LEFT+=(/run/docker/plugins /run/docker)
[ -e /run/containerd ] || LEFT+=(/run/containerd/s /run/containerd/fifo /run/containerd)
[ -e /opt/containerd ] || LEFT+=(/opt/containerd/bin /opt/containerd/lib /opt/containerd)
[ -e /var/lib/cni ] || LEFT+=(/var/lib/cni/results /var/lib/cni)

# the host's firewall tables but cell's own (concurrent tests change those)
host_fw() {
	local f t
	nft -s list tables 2>&1 | while read -r _ f t; do
		case $t in cell*) continue ;; esac
		nft -s list table "$f" "$t" 2>&1
	done
	iptables-save 2>&1 | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
	ip6tables-save 2>&1 | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
	command -v iptables-legacy-save >/dev/null &&
		iptables-legacy-save 2>&1 | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
	ip -br link show type bridge 2>&1 | awk '$1 ~ /^(docker0|cni-podman)/'
}
FW0=$(host_fw)
fw_same() {	# fw_same WHEN: 0 if the host's tables are as at start
	local now; now=$(host_fw)
	[ "$now" = "$FW0" ] && return 0
	echo "bench/net.sh: the host's firewall tables changed ($1):" >&2
	diff <(echo "$FW0") <(echo "$now") | head -20 >&2
	return 1
}
fw_check() { fw_same "$1" || exit 1; }

cleanup() {
	local f ns
	for f in "$W"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	if [ -n "${HOLDER[cellbench-cell-$tag]:-}" ]; then
		for f in $(in_ns cellbench-cell-$tag "${C[@]}" ps -aq --no-trunc 2>/dev/null); do
			in_ns cellbench-cell-$tag "${C[@]}" rm -f "$f" >/dev/null 2>&1
		done
	fi
	if [ -n "${HOLDER[cellbench-podman-$tag]:-}" ] && [ -d "$W/podman" ]; then
		in_ns cellbench-podman-$tag "${P[@]}" rm -f -a -t 0 >/dev/null 2>&1
		in_ns cellbench-podman-$tag "${P[@]}" system reset -f >/dev/null 2>&1
	fi
	if [ -n "$DPID" ]; then
		"${DK[@]}" rm -f $("${DK[@]}" ps -aq 2>/dev/null) >/dev/null 2>&1
		eng_kill_pid "$DPID"	# dockerd stops the containerd it started
	fi
	eng_kill_matching "$W/"
	for ns in "${NSS[@]}"; do [ -n "${HOLDER[$ns]:-}" ] && eng_kill_pid "${HOLDER[$ns]}"; done
	eng_umount_under "$W"
	for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	eng_cgroup_rm "$PCG" ""
	eng_cgroup_rm "$DCG" ""
	eng_cgroup_rm libpod_parent "$LP"
	for f in "${LEFT[@]}"; do [ -d "$f" ] && rmdir "$f" 2>/dev/null || rm -f "$f" 2>/dev/null; done
	fw_same "at the end" || echo "bench/net.sh: LOOK AT THE HOST'S TABLES" >&2
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# mkns NS: the netns (loopback up, with $ADDR too), and a holder process
# in it with a mount namespace of its own: /sys the netns's sysfs, the
# host's cgroup hierarchies bound back under it
mkns() {
	local ns=$1 i
	ip netns add "$ns" || return 1
	NSS+=("$ns")
	ip -n "$ns" addr add "$ADDR/32" dev lo && ip -n "$ns" link set lo up || return 1
	mkdir -p "$W/cg-$ns"
	nsenter --net="/run/netns/$ns" unshare --mount --propagation slave sh -c \
		'mount --rbind /sys/fs/cgroup "$1" && mount -t sysfs "$0" /sys &&
		 mount --rbind "$1" /sys/fs/cgroup && umount -l "$1" && exec sleep infinity' \
		"$ns" "$W/cg-$ns" &
	HOLDER[$ns]=$!
	for i in $(seq 50); do
		[ "$(readlink "/proc/${HOLDER[$ns]}/exe" 2>/dev/null)" = "$(readlink -f "$(command -v sleep)")" ] && return 0
		kill -0 "${HOLDER[$ns]}" 2>/dev/null || break
		sleep 0.1
	done
	HOLDER[$ns]=""
	echo "bench/net.sh: no holder process in $ns" >&2
	return 1
}
in_ns() { local ns=$1; shift; nsenter -t "${HOLDER[$ns]}" --net --mount "$@"; }
NC=cellbench-cell-$tag NP=cellbench-podman-$tag ND=cellbench-docker-$tag
mkns "$NC" && mkns "$NP" && mkns "$ND" || exit 1

rootfs=$(CELL_BUILD=$B test_rootfs)
tar -C "$rootfs" -cf "$W/rootfs.tar" .
"${C[@]}" image import --change 'CMD ["sh"]' "$W/rootfs.tar" busybox:latest >/dev/null || exit 1
"${C[@]}" image save -o "$W/busybox.tar" busybox:latest || exit 1

# podman in its namespace, on Debian's default conflist
podman_ok=""
if ! command -v podman >/dev/null; then
	podman_why="not installed"
else
	mkdir -p "$W/podman/cni" "$W/podman/cni-data"
	jq --arg d "$W/podman/cni-data" '(.plugins[] | select(.type == "bridge") | .ipam.dataDir) = $d' \
		/etc/cni/net.d/87-podman-bridge.conflist > "$W/podman/cni/87-podman-bridge.conflist" 2>"$W/podman.err"
	# ulimits under this machine's hard limits (no CAP_SYS_RESOURCE here)
	printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n' > "$W/podman/containers.conf"
	export CONTAINERS_CONF=$W/podman/containers.conf
	pimg=$(in_ns "$NP" "${P[@]}" load -q -i "$W/busybox.tar" 2>>"$W/podman.err" | sed -n 's/^Loaded image[^:]*: //p' | head -1)
	if [ -z "$pimg" ]; then
		podman_why="cannot load the image: $(tail -2 "$W/podman.err" | tr '\n' ' ')"
	else
		podman_ok=1
	fi
fi

# docker: a dockerd of our own in its namespace, default bridge, iptables, proxy
docker_ok=""
if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
	docker_why="not installed"
else
	mkdir -p "$D"
	in_ns "$ND" dockerd --data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/docker.pid" \
		-H "unix://$D/docker.sock" --storage-driver overlay2 --cgroup-parent "$DCG" \
		--exec-opt native.cgroupdriver=cgroupfs --log-driver json-file > "$W/dockerd.log" 2>&1 &
	DPID=$!
	if ! eng_wait 30 "${DK[@]}" version; then
		docker_why="dockerd did not start: $(grep -E 'level=(error|fatal)|^failed' "$W/dockerd.log" | tail -2 | tr '\n' ' ')"
	elif ! "${DK[@]}" load -q -i "$W/busybox.tar" >/dev/null 2>"$W/docker.err"; then
		docker_why="cannot load the image: $(tail -2 "$W/docker.err" | tr '\n' ' ')"
	elif ! ip -n "$ND" link show docker0 >/dev/null 2>&1; then
		docker_why="no docker0 in $ND: $(grep -E 'level=(error|fatal)' "$W/dockerd.log" | tail -2 | tr '\n' ' ')"
	else
		docker_ok=1
	fi
fi
fw_check "after starting the engines"

PP=$((40000 + tag % 20000))
# the three commands per engine: none, default bridge, bridge with -p
declare -A CMD WHY
CMD[cell]="${C[*]} run --rm --network none busybox true
${C[*]} run --rm busybox true
${C[*]} run --rm -p $PP:80 busybox true"
if [ -n "$podman_ok" ]; then
	CMD[podman]="${P[*]} run --rm --network none --cgroup-parent /$PCG $pimg true
${P[*]} run --rm --network bridge --cgroup-parent /$PCG $pimg true
${P[*]} run --rm --network bridge -p $PP:80 --cgroup-parent /$PCG $pimg true"
else WHY[podman]=$podman_why; fi
if [ -n "$docker_ok" ]; then
	CMD[docker]="${DK[*]} run --rm --network none busybox:latest true
${DK[*]} run --rm busybox:latest true
${DK[*]} run --rm -p $PP:80 busybox:latest true"
else WHY[docker]=$docker_why; fi
declare -A NSOF=([cell]=$NC [podman]=$NP [docker]=$ND)
# measure.sh N CMD...: inside the namespace, the commands interleaved N
# times; prints the median wall time (us) of each, one a line
cat > "$W/measure.sh" <<'EOF'
n=$1; shift
declare -a T
for ((i = 0; i < n; i++)); do
	for ((j = 0; j < $#; j++)); do
		c=$((j + 1)); s=$EPOCHREALTIME
		eval "${!c}" >/dev/null 2>&1
		T[j]+="$(( ${EPOCHREALTIME/./} - ${s/./} )) "
	done
done
for ((j = 0; j < $#; j++)); do
	printf '%s\n' ${T[j]} | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
done
EOF
ms() { echo "scale=1; $1 / 1000" | bc; }
ratio() { printf '%.2f' "$(echo "scale=3; $1 / $2" | bc)"; }
echo "# run --rm busybox true, each engine in a netns of its own: $N runs of each mode, the modes interleaved, engines one after another; medians; load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A M
for e in cell podman docker; do
	[ -n "${CMD[$e]:-}" ] || continue
	mapfile -t cmds <<< "${CMD[$e]}"
	# a failing run would be timed as a fast one
	for c in "${cmds[@]}"; do
		if ! in_ns "${NSOF[$e]}" bash -c "$c" >"$W/$e.err" 2>&1; then
			WHY[$e]="fails: ${c#* run } ($(tail -2 "$W/$e.err" | tr '\n' ' '))"
			unset "CMD[$e]"; break
		fi
	done
	[ -n "${CMD[$e]:-}" ] || continue
	mapfile -t med < <(in_ns "${NSOF[$e]}" bash "$W/measure.sh" "$N" "${cmds[@]}")
	M[$e,none]=${med[0]} M[$e,bridge]=${med[1]} M[$e,port]=${med[2]}
	fw_check "after timing $e"
done
printf '%-8s %9s %9s %9s %14s %14s %13s\n' engine "none ms" "bridge" "bridge -p" "bridge-none" "bridge/none" "bridge-none"
printf '%-8s %9s %9s %9s %14s %14s %13s\n' "" "" "" "" "ms" "" "vs cell's"
for e in cell podman docker; do
	if [ -z "${CMD[$e]:-}" ]; then printf '%-8s not measured: %s\n' "$e" "${WHY[$e]}"; continue; fi
	d=$(( M[$e,bridge] - M[$e,none] ))
	vs=-
	[ -n "${CMD[cell]:-}" ] && [ $(( M[cell,bridge] - M[cell,none] )) -gt 0 ] &&
		vs="$(ratio "$d" $(( M[cell,bridge] - M[cell,none] )))x"
	printf '%-8s %9s %9s %9s %14s %14s %13s\n' "$e" "$(ms "${M[$e,none]}")" "$(ms "${M[$e,bridge]}")" \
		"$(ms "${M[$e,port]}")" "$(ms "$d")" "$(ratio "${M[$e,bridge]}" "${M[$e,none]}")" "$vs"
done
if [ -n "${CMD[cell]:-}" ]; then
	d=$(( M[cell,bridge] - M[cell,none] ))
	echo "cell bridged - none: $(ms $d) ms (goal <= 5: $([ $d -le 5000 ] && echo met || echo NOT met))"
fi

[ "${IPERF:-1}" = 0 ] && exit 0
command -v iperf3 >/dev/null || { echo "iperf3 not installed: no throughput (apt-get install iperf3)"; exit 0; }
# two containers per engine; the first publishes 5201 on $PP
declare -A PID1 IP1 PID2
if [ -n "${CMD[cell]:-}" ]; then
	c1=$(in_ns "$NC" "${C[@]}" run -d -p "$PP:5201" busybox sleep 1000) &&
	c2=$(in_ns "$NC" "${C[@]}" run -d busybox sleep 1000) || exit 1
	read -r PID1[cell] IP1[cell] < <(in_ns "$NC" "${C[@]}" inspect -f '{{.State.Pid}} {{.NetworkSettings.IPAddress}}' "$c1")
	PID2[cell]=$(in_ns "$NC" "${C[@]}" inspect -f '{{.State.Pid}}' "$c2")
fi
if [ -n "${CMD[docker]:-}" ]; then
	d1=$("${DK[@]}" run -d -p "$PP:5201" busybox:latest sleep 1000) &&
	d2=$("${DK[@]}" run -d busybox:latest sleep 1000) || exit 1
	read -r PID1[docker] IP1[docker] < <("${DK[@]}" inspect -f '{{.State.Pid}} {{.NetworkSettings.IPAddress}}' "$d1")
	PID2[docker]=$("${DK[@]}" inspect -f '{{.State.Pid}}' "$d2")
	# the published port's listener in Docker's namespace is its userland proxy
	nsenter --net="/run/netns/$ND" ss -Htlnp "sport = :$PP" | grep -q docker-proxy ||
		echo "# no docker-proxy listens on $PP in $ND: its loopback row is not the proxy's"
fi
fw_check "after starting the iperf3 containers"
# one run of 2 s: the server (one connection) in netns SNET, the client in CNET
one() {	# one CNET SNET ADDRESS PORT: bits/s
	local cn=$1 sn=$2 a=$3 port=$4 v
	nsenter --net="$sn" iperf3 -s -1 -D -p 5201 -I "$W/srv.pid" >/dev/null
	sleep 0.3
	v=$(nsenter --net="$cn" iperf3 -c "$a" -p "$port" -t 2 -J 2>/dev/null | jq '.end.sum_received.bits_per_second' 2>/dev/null)
	[ -e "$W/srv.pid" ] && kill "$(cat "$W/srv.pid")" 2>/dev/null
	rm -f "$W/srv.pid"
	sleep 0.2
	echo "${v:-0}"
}
declare -A TP
PATHS=()
add() { PATHS+=("$1|$2|$3|$4|$5"); }	# add KEY CNET SNET ADDRESS PORT
add lo "/run/netns/$NC" "/run/netns/$NC" 127.0.0.1 5201
for e in cell docker; do
	[ -n "${PID1[$e]:-}" ] || continue
	s=/proc/${PID1[$e]}/ns/net
	add "$e,c2c" "/proc/${PID2[$e]}/ns/net" "$s" "${IP1[$e]}" 5201
	add "$e,direct" "/run/netns/${NSOF[$e]}" "$s" "${IP1[$e]}" 5201
	add "$e,pub_lo" "/run/netns/${NSOF[$e]}" "$s" 127.0.0.1 "$PP"
	add "$e,pub_addr" "/run/netns/${NSOF[$e]}" "$s" "$ADDR" "$PP"
done
for ((i = 0; i < REPS; i++)); do
	for p in "${PATHS[@]}"; do
		IFS='|' read -r k cn sn a port <<< "$p"
		TP[$k]+="$(one "$cn" "$sn" "$a" "$port") "
	done
done
fw_check "after the throughput runs"
gb() { echo "scale=2; $1 / 1000000000" | bc; }
tmed() { printf '%s\n' ${TP[$1]} | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
tbest() { printf '%s\n' ${TP[$1]} | sort -g | tail -1; }
cellv() {	# cellv KEY ENGINE: "median (best) ratio" for the table
	local m b r=""
	[ -n "${TP[$2,$1]:-}" ] || { echo "-"; return; }
	m=$(tmed "$2,$1") b=$(tbest "$2,$1")
	case $1 in pub_*) r=" $(ratio "$m" "$(tmed "$2,direct")")x" ;; esac
	echo "$(gb "$m") ($(gb "$b"))$r"
}
echo "# TCP throughput, iperf3, $REPS x 2 s per path, the paths taking turns; Gbit/s: median (best); published: median / the direct path's median"
printf '%-52s %-24s %-24s\n' path cell docker
printf '%-52s %-24s\n' "loopback in a namespace (ceiling)" "$(gb "$(tmed lo)") ($(gb "$(tbest lo)"))"
printf '%-52s %-24s %-24s\n' "container -> container (one bridge)" "$(cellv c2c cell)" "$(cellv c2c docker)" \
	"netns -> container address (direct veth)" "$(cellv direct cell)" "$(cellv direct docker)" \
	"netns -> 127.0.0.1:$PP (cell DNAT, docker-proxy)" "$(cellv pub_lo cell)" "$(cellv pub_lo docker)" \
	"netns -> $ADDR:$PP (its own address; DNAT)" "$(cellv pub_addr cell)" "$(cellv pub_addr docker)"
[ -z "${PID1[docker]:-}" ] && echo "docker: not measured (${WHY[docker]:-no container})"
if [ -n "${PID1[cell]:-}" ]; then
	r1=$(ratio "$(tmed cell,pub_lo)" "$(tmed cell,direct)") r2=$(ratio "$(tmed cell,pub_addr)" "$(tmed cell,direct)")
	echo "cell published / direct (medians): 127.0.0.1 ${r1}x, own address ${r2}x (goal >= 0.9: $(
		[ "$(echo "$r1 >= 0.9 && $r2 >= 0.9" | bc)" = 1 ] && echo met || echo NOT met))"
fi
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
