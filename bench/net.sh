#!/bin/bash
# Networking benchmark (issue 6), cell only:
#   - `cell run --rm busybox true` on a bridge network against --network
#     none (and with one published port), interleaved so the machine's noise
#     hits all alike; medians; goal: bridged within 5 ms of none
#   - TCP throughput with iperf3 (best of 5 runs of 2 s, the paths taking
#     turns so that the machine's noise hits all alike): container ->
#     container on one bridge; host -> container address (the direct veth);
#     host -> published port through 127.0.0.1 (DNAT + route_localnet) and
#     through an address of the host (on a veth this script makes); host
#     loopback as the ceiling; goal: published >= 0.9x direct
# podman and Docker are not compared here: their default bridges need
# firewall rules in the host's own tables (iptables chains, netavark), which
# this machine's rules forbid touching; bench/engine.sh compares them with
# --network none. The "containers" of the throughput part are processes in
# network namespaces made here (unshare), attached through tests/nettool:
# the same library calls `cell run` makes.
# Packets go only to loopback and to namespaces this script creates.
#   bench/net.sh [ITERATIONS]          (21 by default; IPERF=0: no throughput)
set -u
N=${1:-21}
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${CELL_BUILD:-$TOP/build}
[ "$(id -u)" = 0 ] || { echo "bench/net.sh: needs root" >&2; exit 1; }
. "$TOP/tests/lib/tap.sh" >/dev/null
trap - EXIT
W=$(mktemp -d /tmp/cell-bench-net.XXXXXX)
# private copies: a rebuild of build/ meanwhile must not change what is measured
mkdir -p "$W/bin" && cp "$B/cell" "$B/cell-runtime" "$B/tests/nettool" "$W/bin/" || exit 1
for m in "$B/cell-monitor" "$B/src/monitor/cell-monitor"; do [ -x "$m" ] && cp "$m" "$W/bin/" && break; done
CELL=$W/bin/cell NT=$W/bin/nettool
R=$W/root NET=cnet$$ tag=$$
OUT=198.19.$((tag % 250))	# RFC 2544's benchmark range, on a veth of our own: "an address of the host"
PIDS=()
fwd=$(cat /proc/sys/net/ipv4/ip_forward)
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for f in "$W"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	for i in $("$CELL" --root "$R" ps -aq --no-trunc 2>/dev/null); do "$CELL" --root "$R" rm -f "$i" >/dev/null 2>&1; done
	"$NT" detach "$R" s1-$tag >/dev/null 2>&1; "$NT" detach "$R" s2-$tag >/dev/null 2>&1
	ip link del cbo$tag 2>/dev/null; ip netns del cbo$tag 2>/dev/null
	grep -o " $W/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
	"$CELL" --root "$R" network rm -f "$NET" >/dev/null 2>&1
	echo "$fwd" > /proc/sys/net/ipv4/ip_forward
	rm -rf "$W"
}
trap cleanup EXIT
rootfs=$(CELL_BUILD=$B test_rootfs)
tar -C "$rootfs" -cf "$W/rootfs.tar" .
"$CELL" --root "$R" image import --change 'CMD ["sh"]' "$W/rootfs.tar" busybox:latest >/dev/null
"$CELL" --root "$R" network create --subnet "10.252.$((RANDOM % 256)).0/24" "$NET" >/dev/null || exit 1
BR=$("$CELL" --root "$R" network inspect "$NET" | jq -r '.[0].Options["com.docker.network.bridge.name"]')

# a failing run would be timed as a fast one
for a in "--network none" "--network $NET"; do
	"$CELL" --root "$R" run --rm $a busybox true >/dev/null ||
		{ echo "bench/net.sh: cell run --rm $a busybox true fails" >&2; exit 1; }
done
echo "# cell run --rm busybox true: $N runs each, interleaved, medians; load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A T
P=$((40000 + tag % 20000))
for ((i = 0; i < N; i++)); do
	for m in none bridge port; do
		case $m in
		none) a=(--network none) ;; bridge) a=(--network "$NET") ;; port) a=(--network "$NET" -p $P:80) ;;
		esac
		s=$EPOCHREALTIME
		"$CELL" --root "$R" run --rm "${a[@]}" busybox true >/dev/null 2>&1
		e=$EPOCHREALTIME
		T[$m]+="$(( (${e/./} - ${s/./}) )) "
	done
done
med() { printf '%s\n' ${T[$1]} | sort -n | sed -n "$(( (N + 1) / 2 ))p"; }
ms() { echo "scale=1; $1 / 1000" | bc; }
none=$(med none) bridge=$(med bridge) port=$(med port)
printf '%-46s %7s ms\n' "--network none" "$(ms $none)" "--network $NET (bridge)" "$(ms $bridge)" \
	"--network $NET -p $P:80" "$(ms $port)"
d=$((bridge - none))
echo "bridged - none: $(ms $d) ms (goal <= 5: $([ $d -le 5000 ] && echo met || echo NOT met))"

[ "${IPERF:-1}" = 0 ] && exit 0
command -v iperf3 >/dev/null || { echo "iperf3 not installed: no throughput (apt-get install iperf3)"; exit 0; }
if ip -4 route show table all | awk '{print $1}' | grep -q "^$OUT\."; then
	echo "bench/net.sh: $OUT.0/24 is used on this host: no throughput" >&2; exit 1
fi
unshare --net sleep 1000 & PIDS+=($!); S1=$!
unshare --net sleep 1000 & PIDS+=($!); S2=$!
sleep 0.2
IP1=$("$NT" attach "$R" "$NET" s1-$tag $S1 -p $((P + 1)):5201 | sed -n 's/^ip=//p')
"$NT" attach "$R" "$NET" s2-$tag $S2 >/dev/null
# an address of the host, on a veth to a namespace of our own
ip netns add cbo$tag && ip link add cbo$tag type veth peer name eth0 netns cbo$tag || exit 1
ip addr add $OUT.1/24 dev cbo$tag && ip link set cbo$tag up
nsx() { local p=$1; shift; nsenter --net=/proc/$p/ns/net "$@"; }
# one run of 2 s; the server (one connection) runs in a namespace or on the host
one() {	# client (host|PID) server (host|PID) address port [server-port]
	local c=$1 s=$2 a=$3 port=$4 sp=${5:-$4} v
	if [ "$s" = host ]; then iperf3 -s -1 -D -p "$sp" -I "$W/srv.pid" >/dev/null
	else nsx "$s" iperf3 -s -1 -D -p "$sp" -I "$W/srv.pid" >/dev/null; fi
	sleep 0.3
	if [ "$c" = host ]; then v=$(iperf3 -c "$a" -p "$port" -t 2 -J | jq '.end.sum_received.bits_per_second')
	else v=$(nsx "$c" iperf3 -c "$a" -p "$port" -t 2 -J | jq '.end.sum_received.bits_per_second'); fi
	sleep 0.2
	echo "${v:-0}"
}
gb() { echo "scale=2; $1 / 1000000000" | bc; }
declare -A BEST
keep() { [ "$(echo "$2 > ${BEST[$1]:-0}" | bc)" = 1 ] && BEST[$1]=$2; }
echo "# TCP throughput, iperf3, best of 5 x 2 s, the paths taking turns"
for i in 1 2 3 4 5; do
	keep lo "$(one host host 127.0.0.1 5299)"
	keep c2c "$(one "$S2" "$S1" "$IP1" 5201)"
	keep direct "$(one host "$S1" "$IP1" 5201)"
	keep dnat_lo "$(one host "$S1" 127.0.0.1 $((P + 1)) 5201)"
	keep dnat_own "$(one host "$S1" $OUT.1 $((P + 1)) 5201)"
done
lo=${BEST[lo]} c2c=${BEST[c2c]} direct=${BEST[direct]} dnat_lo=${BEST[dnat_lo]} dnat_own=${BEST[dnat_own]}
printf '%-52s %6s Gbit/s\n' "host loopback (127.0.0.1, no namespace)" "$(gb "$lo")" \
	"container -> container (one bridge)" "$(gb "$c2c")" \
	"host -> container address (direct veth)" "$(gb "$direct")" \
	"host -> 127.0.0.1:$((P + 1)) (published: DNAT)" "$(gb "$dnat_lo")" \
	"host -> $OUT.1:$((P + 1)) (published, host address)" "$(gb "$dnat_own")"
r1=$(echo "scale=2; $dnat_lo / $direct" | bc) r2=$(echo "scale=2; $dnat_own / $direct" | bc)
echo "published / direct: 127.0.0.1 ${r1}x, host address ${r2}x (goal >= 0.9: $(
	[ "$(echo "$r1 >= 0.9 && $r2 >= 0.9" | bc)" = 1 ] && echo met || echo NOT met))"
