#!/bin/bash
# 50 containers attached and detached in parallel: the lease lock hands out
# 50 distinct addresses, every container gets its veth and DNAT rule, and
# afterwards no veth, lease, nft rule or table is left behind.
. "$(dirname "$0")/../lib/tap.sh"
need_root
for t in ip nft unshare; do command -v $t >/dev/null || skip_all "needs $t"; done
NT=$CELL_BUILD/tests/nettool
[ -x "$NT" ] || skip_all "needs $NT (ninja -C build)"
N=${NET_PARALLEL_N:-50}
tmpdir; R=$TMPD/root
tag=$$
fwd_before=$(cat /proc/sys/net/ipv4/ip_forward)
defer "echo $fwd_before > /proc/sys/net/ipv4/ip_forward"
had_table=0; nft list table inet cell >/dev/null 2>&1 && had_table=1

check "network create" -- "$CELL" --root "$R" network create --subnet 10.252.$((tag % 200)).0/24 par
BR=$("$CELL" --root "$R" network inspect par | jq -r '.[0].Options["com.docker.network.bridge.name"]')
defer "'$CELL' --root '$R' network rm -f par; ip link del '$BR'"

pids=()
for i in $(seq 1 $N); do
	unshare --net sleep 1000 & pids+=($!); defer "kill ${pids[-1]}"
	defer "'$NT' detach '$R' p$i-$tag"
done
sleep 0.3
t0=$(date +%s%N)
apids=()
for i in $(seq 1 $N); do
	"$NT" attach "$R" par p$i-$tag ${pids[$((i - 1))]} -p $((20000 + i)):80 > "$TMPD/a$i" 2>&1 & apids+=($!)
done
wait "${apids[@]}"
t1=$(date +%s%N)
echo "# $N parallel attaches in $(( (t1 - t0) / 1000000 )) ms"
is "$(grep -l '^ip=' "$TMPD"/a* | wc -l)" "$N" "$N attaches succeeded"
grep -h nettool: "$TMPD"/a* | head -3 | sed 's/^/#   /'
is "$(grep -h '^ip=' "$TMPD"/a* | sort -u | wc -l)" "$N" "$N distinct addresses"
is "$(ls "$R/networks/par.leases" | wc -l)" "$N" "$N lease files"
is "$(ip -o link show master "$BR" | wc -l)" "$N" "$N veths on the bridge"
is "$(nft list chain inet cell published | grep -c "cell-ctr:p[0-9]*-$tag\"")" "$N" "$N DNAT rules"
ok "$(for i in 1 $((N / 2)) $N; do nsenter --net=/proc/${pids[$((i - 1))]}/ns/net ip -4 -br addr show dev eth0 | grep -q 10.252. || echo bad; done | grep -c bad)" \
	"containers 1, $((N / 2)) and $N have their address"

apids=()
for i in $(seq 1 $N); do "$NT" detach "$R" p$i-$tag > "$TMPD/d$i" 2>&1 & apids+=($!); done
wait "${apids[@]}"
is "$(cat "$TMPD"/d* | wc -c)" 0 "$N parallel detaches said nothing (no error)"
is "$(ls "$R/networks/par.leases" | wc -l)" 0 "no lease left"
is "$(ip -o link show master "$BR" | wc -l)" 0 "no veth left on the bridge"
is "$(nft list chain inet cell published | grep -c "cell-ctr:p[0-9]*-$tag\"")" 0 "no DNAT rule left"
# kill -9 of attaches at random points, then the cleanup a crashed engine
# would run (detach by id): nothing may be left half-made
for i in $(seq 1 20); do
	"$NT" attach "$R" par k$i-$tag ${pids[$((i - 1))]} -p $((21000 + i)):80 >/dev/null 2>&1 & k=$!
	sleep 0.0$((RANDOM % 4))$((RANDOM % 10)); kill -9 $k 2>/dev/null; wait $k 2>/dev/null
done
for i in $(seq 1 20); do "$NT" detach "$R" k$i-$tag; done
is "$(ls "$R/networks/par.leases" | wc -l)" 0 "after 20 attaches killed with -9 and detach: no lease"
is "$(ip -o link show master "$BR" | wc -l)" 0 "no veth"
is "$(nft list chain inet cell published | grep -c "cell-ctr:k[0-9]*-$tag\"")" 0 "no DNAT rule"
for i in $(seq 1 10); do
	"$NT" attach "$R" par j$i-$tag ${pids[$((i - 1))]} >/dev/null 2>&1 & k=$!
	sleep 0.0$((RANDOM % 3))$((RANDOM % 10)); kill -9 $k 2>/dev/null; wait $k 2>/dev/null
done
for i in $(seq 1 10); do kill ${pids[$((i - 1))]}; done; sleep 0.2
"$NT" prune "$R" >/dev/null
is "$(ls "$R/networks/par.leases" | wc -l)" 0 "killed attaches of containers that then died: prune leaves no lease"
is "$(ip -o link show master "$BR" | wc -l)" 0 "and no veth"
check "network rm" -- "$CELL" --root "$R" network rm par
# this test's veths only (their alias names the container): other tests
# may make and remove veths meanwhile
is "$(ip -o link show type veth | grep -c "alias cell:[pkj][0-9]*-$tag")" 0 "no veth left on the host"
if [ $had_table = 0 ]; then
	fails "no table inet cell left" -- nft list table inet cell
else
	skip "table inet cell was there before this test"
fi
