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
	"$CELL" --root "$R" network rm -f bench >/dev/null 2>&1 || true
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
	nsenter --net=/proc/${pids[0]}/ns/net iperf3 -s -D -1 >/dev/null; sleep 0.3
	echo "container -> container: $(nsenter --net=/proc/${pids[1]}/ns/net iperf3 -c "$IP1" -t 3 -J | jq '.end.sum_received.bits_per_second / 1e9 | floor * 1' ) Gbit/s (floored)"
	nsenter --net=/proc/${pids[0]}/ns/net iperf3 -s -D -1 >/dev/null; sleep 0.3
	direct=$(iperf3 -c "$IP1" -t 3 -J | jq '.end.sum_received.bits_per_second')
	nsenter --net=/proc/${pids[0]}/ns/net iperf3 -s -D -1 >/dev/null; sleep 0.3
	dnat=$(iperf3 -c 127.0.0.1 -p 15201 -t 3 -J | jq '.end.sum_received.bits_per_second')
	echo "host -> container direct: $(echo "$direct / 1000000000" | bc -l | cut -c1-5) Gbit/s"
	echo "host -> 127.0.0.1:15201 (DNAT): $(echo "$dnat / 1000000000" | bc -l | cut -c1-5) Gbit/s, ratio $(echo "$dnat / $direct" | bc -l | cut -c1-4) (goal >= 0.9)"
else
	echo "iperf3 not installed: throughput part skipped (apt-get install iperf3)"
fi
