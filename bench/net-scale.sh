#!/bin/bash
# Networks at scale (issue 17): with P sleeping busybox containers on one
# user network, the time of `cell run --rm` of /bin/true on that network
# (median of R runs), of `cell rm -f` of one peer, and at the end `rm -f`
# of every peer at once; the resolver's PSS (smaps_rollup) and whether a
# peer's name resolves by DNS from a new container.
#   bench/net-scale.sh [PEERS...]     default: 1 50 100
#   RUNS=5 bench/net-scale.sh 1 50 100 300
# Runs as root; packets go only to the containers it starts. Its own root
# under /tmp, removed at the end.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${CELL_BUILD:-$TOP/build}
RUNS=${RUNS:-5}
[ "$(id -u)" = 0 ] || { echo "bench/net-scale.sh: needs root" >&2; exit 1; }
[ $# -gt 0 ] || set -- 1 50 100
W=$(mktemp -d /tmp/cell-bench.XXXXXX)
cp "$B/cell" "$W/" || exit 1
for m in "$B/cell-monitor" "$B/src/monitor/cell-monitor"; do [ -x "$m" ] && cp "$m" "$W/" && break; done
for m in "$B/cell-dns" "$B/src/dns/cell-dns"; do [ -x "$m" ] && cp "$m" "$W/" && break; done
R=$W/root
c() { "$W/cell" --root "$R" "$@"; }
cleanup() {
	local ids
	ids=$(c ps -aq 2>/dev/null)
	[ -n "$ids" ] && c rm -f $ids >/dev/null 2>&1
	c network rm -f scale >/dev/null 2>&1
	grep -o " $R/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
	rm -rf "$W"
}
trap cleanup EXIT
. "$TOP/tests/lib/tap.sh" >/dev/null; trap cleanup EXIT
CELL_BUILD=$B
tar -C "$(PAYLOAD=${PAYLOAD:-$B/tests/payload} test_rootfs)" -cf "$W/rootfs.tar" . || exit 1
c image import --change 'CMD ["sh"]' "$W/rootfs.tar" busybox:latest >/dev/null || exit 1
for a in $(shuf -i 200-254 -n 40); do
	[ -z "$(ip -4 route show to match "10.$a.0.1" | grep -v '^default')" ] && SUB=10.$a.0.0/20 && break
done
c network create --subnet "$SUB" scale >/dev/null || exit 1
ms() { echo "scale=1; ($2 - $1) * 1000 / 1" | bc; }
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null; }
have=0
printf '%-6s %-16s %-16s %-12s %-14s %s\n' peers "run --rm (ms)" "rm -f one (ms)" "dns PSS KiB" "monitor PSS" "name by DNS"
for P in "$@"; do
	while [ $have -lt "$P" ]; do
		c run -d --name "p$have" --network scale busybox sleep 100000 >/dev/null || { echo "run p$have failed" >&2; exit 1; }
		have=$((have + 1))
	done
	runs=()
	for _ in $(seq "$RUNS"); do
		t0=$EPOCHREALTIME; c run --rm --network scale busybox true; t1=$EPOCHREALTIME
		runs+=("$(ms "$t0" "$t1")")
	done
	run_ms=$(printf '%s\n' "${runs[@]}" | median)
	# rm -f of one peer (then started again, so P stays P)
	t0=$EPOCHREALTIME; c rm -f p0 >/dev/null; t1=$EPOCHREALTIME
	rm_ms=$(ms "$t0" "$t1")
	c run -d --name p0 --network scale busybox sleep 100000 >/dev/null
	dpid=$(cat "$R/networks/.dns" 2>/dev/null)
	mpid=$(pgrep -f "cell-monitor.*$R" | head -1)
	last=p$((P - 1))
	ok=$(c run --rm --network scale busybox nslookup "$last" 2>&1 | grep -c '^Address: 10\.')
	printf '%-6s %-16s %-16s %-12s %-14s %s\n' "$P" "$run_ms" "$rm_ms" "$(pss "$dpid")" "$(pss "$mpid")" \
		"$([ "$ok" -ge 1 ] && echo "$last: yes" || echo "$last: NO")"
done
ids=$(c ps -aq)
n=$(echo "$ids" | wc -w)
t0=$EPOCHREALTIME; c rm -f $ids >/dev/null; t1=$EPOCHREALTIME
echo "rm -f of all $n peers at once: $(ms "$t0" "$t1") ms"
for _ in $(seq 30); do [ -e "$R/networks/.dns" ] || break; sleep 0.1; done
echo "resolver after the last container: $([ -e "$R/networks/.dns" ] && echo "still running" || echo "gone")"
