#!/bin/bash
# Dual stack: a network with --ipv6 gives each container an IPv6 address
# (the ULA subnet + the host part of its IPv4 address) and a default route
# via the bridge; containers reach each other and the gateway over IPv6,
# and an outside namespace over IPv6 through masquerade. Published ports:
# -p PORT publishes on both families (reached through a host IPv6 address
# from the host and from the outside namespace), -p [IPv6]:H:P on that
# address only, [::1] is refused (no proxy process: the kernel drops
# loopback packets coming in from a bridge). Refusals: a subnet on a host
# route, a gateway among container addresses, [IPv6] on an IPv4 network.
# Packets go only to namespaces this test creates.
. "$(dirname "$0")/../lib/tap.sh"
need_root
for t in ip nft jq unshare nsenter busybox; do command -v $t >/dev/null || skip_all "needs $t"; done
NT=$CELL_BUILD/tests/nettool
[ -x "$NT" ] || skip_all "needs $NT (ninja -C build)"
[ -e /proc/sys/net/ipv6/conf/all/forwarding ] || skip_all "no IPv6 in this kernel"
tmpdir; R=$TMPD/root
C() { "$CELL" --root "$R" "$@"; }
in_ns() { local p=$1; shift; nsenter --net=/proc/$p/ns/net "$@"; }
tag=$$
OUT6=2001:db8:ce11:$((tag % 9000 + 1000))	# documentation prefix: the outside world
if ip -6 route show table all | awk '{print $1}' | grep -qi "^2001:db8"; then
	skip_all "2001:db8::/32 is routed on this host; the outside namespace needs a free range"
fi
fwd6_before=$(cat /proc/sys/net/ipv6/conf/all/forwarding)
for k in net/ipv4/ip_forward net/ipv6/conf/all/forwarding; do
	defer "echo $(cat /proc/sys/$k) > /proc/sys/$k"
done
had_table=0; nft list table inet cell >/dev/null 2>&1 && had_table=1

fails "an IPv6 subnet on a host route is refused" -- C network create --subnet 10.245.1.0/24 --subnet fd00::/64 nx
fails "a gateway among the container addresses is refused" -- \
	C network create --subnet 10.245.1.0/24 --subnet fdce:11::/64 --gateway fdce:11::7 nx
check "network create --ipv6 picks a ULA /64" -- C network create --ipv6 --subnet 10.245.$((tag % 200)).0/24 v6
BR=$(C network inspect v6 | jq -r '.[0].Options["com.docker.network.bridge.name"]')
defer "'$CELL' --root '$R' network rm -f v6; ip link del '$BR'"
S6=$(C network inspect v6 | jq -r '.[0].IPAM.Config[1].Subnet')
GW6=$(C network inspect v6 | jq -r '.[0].IPAM.Config[1].Gateway')
like "$S6" '^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::/64$' "subnet $S6"
is "$(C network inspect v6 | jq -r '.[0].EnableIPv6')" true "inspect says EnableIPv6"
like "$(ip -6 addr show dev "$BR")" "inet6 $GW6/64" "the bridge carries $GW6"

unshare --net sleep 1000 & P1=$!; defer "kill $P1"
unshare --net sleep 1000 & P2=$!; defer "kill $P2"
sleep 0.2
check "attach c1" -- "$NT" attach "$R" v6 c1-$tag $P1 --hostname c1 --hosts-file "$TMPD/h1"
check "attach c2" -- "$NT" attach "$R" v6 c2-$tag $P2 --hostname c2 --hosts-file "$TMPD/h2"
defer "'$NT' detach '$R' c1-$tag; '$NT' detach '$R' c2-$tag"
A1=$(C network inspect v6 | jq -r ".[0].Containers[\"c1-$tag\"].IPv6Address")
A2=$(C network inspect v6 | jq -r ".[0].Containers[\"c2-$tag\"].IPv6Address")
like "$(in_ns $P1 ip -6 addr show dev eth0)" "inet6 $A1 scope global" "c1's eth0 has $A1"
like "$(in_ns $P1 ip -6 route show default)" "^default via $GW6 dev eth0" "c1's IPv6 default route via $GW6"
check "c1 pings c2 over IPv6" -- in_ns $P1 busybox ping -6 -c1 -W2 "${A2%/64}"
GW4=10.245.$((tag % 200)).1
like "$(in_ns $P1 busybox nslookup -type=AAAA c2 $GW4 2>&1)" "Address: ${A2%/64}" "c1 resolves c2's IPv6 address (AAAA from the network's resolver)"
like "$(in_ns $P1 busybox nslookup c2 $GW6 2>&1)" "Address: ${A2%/64}" "asking the resolver at the IPv6 gateway $GW6"
like "$(cat "$TMPD/h2")" "${A2%/64}	c2" "c2's own IPv6 line"
check "c2 pings the IPv6 gateway" -- in_ns $P2 busybox ping -6 -c1 -W2 "$GW6"
check "IPv4 still works next to it" -- in_ns $P1 busybox ping -c1 -W2 10.245.$((tag % 200)).1

ONS=cellt-o6-$tag; OV=cto6$tag
ip netns add $ONS; defer "ip netns del $ONS"
ip link add $OV type veth peer name eth0 netns $ONS; defer "ip link del $OV"
ip addr add $OUT6::1/64 dev $OV nodad; ip link set $OV up
ip -n $ONS addr add $OUT6::2/64 dev eth0 nodad; ip -n $ONS link set eth0 up; ip -n $ONS link set lo up
ip -n $ONS route add default via $OUT6::1
ip netns exec $ONS "$NT" serve 7000 >/dev/null 2>&1 & S=$!; defer "kill $S"
sleep 0.3
is "$(in_ns $P1 "$NT" connect $OUT6::2 7000)" "peer $OUT6::1" "c1 reaches the outside over IPv6, masqueraded"

# ---- published ports over IPv6 (the host's own address here is $OUT6::1) ----
P=$((20000 + tag % 20000)); Q=$((P + 1))
unshare --net sleep 1000 & P3=$!; defer "kill $P3"
sleep 0.2
check "attach c3 with -p $P:80 and -p [$OUT6::1]:$Q:80" -- \
	"$NT" attach "$R" v6 c3-$tag $P3 -p $P:80 -p "[$OUT6::1]:$Q:80"
defer "'$NT' detach '$R' c3-$tag"
A3=$(C network inspect v6 | jq -r ".[0].Containers[\"c3-$tag\"].IPv6Address")
# nsenter itself, not a subshell running it: nsenter execs the server, so
# $! is the server and the kill reaches it
nsenter --net=/proc/$P3/ns/net "$NT" serve 80 >/dev/null 2>&1 & S3=$!; defer "kill $S3"
sleep 0.3
is "$(nft list chain inet cell published | grep -c "dnat ip6 to \[${A3%/64}\]:80 comment \"cell-ctr:c3-$tag\"")" 2 \
	"two IPv6 DNAT rules to c3's ${A3%/64}"
is "$("$NT" connect $OUT6::1 $P)" "peer $OUT6::1" "host -> [$OUT6::1]:$P (its own IPv6 address) reaches c3"
is "$(ip netns exec $ONS "$NT" connect $OUT6::1 $P)" "peer $OUT6::2" "the outside namespace reaches c3 over IPv6, its address kept"
is "$("$NT" connect 127.0.0.1 $P)" "peer 10.245.$((tag % 200)).1" "-p $P:80 publishes on IPv4 too (127.0.0.1)"
is "$("$NT" connect $OUT6::1 $Q)" "peer $OUT6::1" "[$OUT6::1]:$Q reaches c3"
fails "[$OUT6::1]:$Q is not published on IPv4" -- "$NT" connect 127.0.0.1 $Q
t0=$(date +%s%N)
fails "[::1]:$P is not DNATed (the kernel would drop the reply)" -- "$NT" connect ::1 $P
ok "$(( ($(date +%s%N) - t0) >= 2000000000 ))" "[::1]:$P is refused at once, not left to time out"
unshare --net sleep 1000 & P4=$!; defer "kill $P4"
sleep 0.1
fails "-p [::1]:H:P is refused" -- "$NT" attach "$R" v6 c4-$tag $P4 -p "[::1]:$((Q + 1)):80"
like "$LAST_OUT" "::1 cannot be published without a proxy" "the error says why"
check "network create v4only" -- C network create --subnet 10.245.$((tag % 200 + 1)).0/24 v4only
defer "'$CELL' --root '$R' network rm -f v4only"
fails "-p [IPv6]:H:P on a network without IPv6 is refused" -- \
	"$NT" attach "$R" v4only c4-$tag $P4 -p "[$OUT6::1]:$((Q + 1)):80"
like "$LAST_OUT" "has no IPv6" "the error says the network has no IPv6"
is "$(ls "$R/networks/v4only.leases" | wc -l)" 0 "and leaves no lease"
check "network rm v4only" -- C network rm v4only
check "detach c3" -- "$NT" detach "$R" c3-$tag
kill $S3; wait $S3 2>/dev/null
fails "the test's server is gone" -- kill -0 $S3
is "$(nft list table inet cell | grep -c "cell-ctr:c3-$tag")" 0 "c3's DNAT rules (both families) are gone"

check "detach c1" -- "$NT" detach "$R" c1-$tag
check "detach c2" -- "$NT" detach "$R" c2-$tag
check "network rm" -- C network rm v6
if [ $had_table = 0 ]; then
	fails "no table inet cell left" -- nft list table inet cell
else
	skip "table inet cell was there before this test"
fi
_run_deferred; _deferred=()
# links of this test only: other tests may come and go meanwhile
is "$(ip -o link show | sed -E 's/^[0-9]+: //' | grep -E "^($BR|$OV)(@|:)|alias cell:c[0-9]-$tag")" "" "no link left behind"
is "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" "$fwd6_before" "IPv6 forwarding restored"
