#!/bin/bash
# Networking cost of a container start, measured in-process (tests/nettool
# bench): attach to a bridge network (veth + lease + addresses + route),
# the same with one published port (one nftables transaction more), detach,
# and `none` (loopback up only). Goal (issue 6): a bridged start within
# 5 ms of a `--network none` start.
# With iperf3 installed: TCP throughput container -> container, and host ->
# published port (DNAT) against host -> container address directly.
#   bench/net_attach.sh [N]     N rounds, default 50
# Runs as root; only loopback and namespaces it creates see packets.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
CELL=${CELL:-$top/build/cell}
NT=${NT:-$top/build/tests/nettool}
N=${1:-50}
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 77; }
R=$(mktemp -d /tmp/cell-bench.XXXXXX)
pids=()
fwd=$(cat /proc/sys/net/ipv4/ip_forward)
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	"$NT" detach "$R" b1 >/dev/null 2>&1 || true
	"$NT" detach "$R" b2 >/dev/null 2>&1 || true
	"$CELL" --root "$R" network rm -f bench >/dev/null || true
	echo "$fwd" > /proc/sys/net/ipv4/ip_forward
	rm -rf "$R"
}
trap cleanup EXIT
"$CELL" --root "$R" network create --subnet 10.254.$(($$ % 200)).0/24 bench >/dev/null
unshare --net sleep 1000 & pids+=($!)
unshare --net sleep 1000 & pids+=($!)
sleep 0.2
echo "# $N rounds, milliseconds per operation"
"$NT" bench "$R" bench "${pids[0]}" "$N" | tee "$R/out"
a=$(sed -n 's/^attach_ms=//p' "$R/out"); z=$(sed -n 's/^none_ms=//p' "$R/out")
d=$(echo "$a - $z" | bc)
echo "bridged - none = $d ms (goal <= 5): $(echo "$d <= 5" | bc | sed 's/1/met/;s/0/NOT met/')"

if command -v iperf3 >/dev/null; then
	eval "$("$NT" attach "$R" bench b1 "${pids[0]}" -p 15201:5201 | sed -n 's/^ip=/IP1=/p')"
	"$NT" attach "$R" bench b2 "${pids[1]}" >/dev/null
	# best of 3 runs of 2 s each: one run on a small VM is too noisy
	best() {	# netns-pid-or-"host" target port
		local who=$1 ip=$2 port=$3 b=0 v i
		for i in 1 2 3; do
			nsenter --net=/proc/${pids[0]}/ns/net iperf3 -s -D -1 >/dev/null; sleep 0.3
			if [ "$who" = host ]; then v=$(iperf3 -c "$ip" -p "$port" -t 2 -J | jq '.end.sum_received.bits_per_second')
			else v=$(nsenter --net=/proc/$who/ns/net iperf3 -c "$ip" -p "$port" -t 2 -J | jq '.end.sum_received.bits_per_second'); fi
			[ "$(echo "$v > $b" | bc)" = 1 ] && b=$v
		done
		echo "$b"
	}
	gb() { echo "scale=2; $1 / 1000000000" | bc; }
	c2c=$(best "${pids[1]}" "$IP1" 5201)
	direct=$(best host "$IP1" 5201)
	dnat=$(best host 127.0.0.1 15201)
	echo "container -> container: $(gb "$c2c") Gbit/s"
	echo "host -> container direct: $(gb "$direct") Gbit/s"
	echo "host -> 127.0.0.1:15201 (DNAT): $(gb "$dnat") Gbit/s, ratio $(echo "scale=2; $dnat / $direct" | bc) (goal >= 0.9)"
else
	echo "iperf3 not installed: throughput part skipped (apt-get install iperf3)"
fi
