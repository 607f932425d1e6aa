#!/bin/bash
# cell network connect/disconnect: two engine containers started without a
# network (--network none) joined to a network afterwards; they reach each
# other by address, name and alias, an "outside world" namespace through the
# masquerade, and the host reaches a published port on 127.0.0.1. Then
# errors, a second network (eth1), disconnect of one network, and nothing
# left behind. Packets go only to loopback and to namespaces made here.
. "$(dirname "$0")/../lib/tap.sh"
need_root
"$CELL" network --help 2>/dev/null | grep -q connect || skip_all "no \`cell network connect\` in this build"
command -v jq >/dev/null || skip_all "needs jq"
tmpdir
R=$TMPD/root
c() { "$CELL" --root "$R" "$@"; }
had_table=0; nft list table inet cell >/dev/null 2>&1 && had_table=1
engine_cleanup() {
	local i
	for i in $(c ps -aq --no-trunc 2>/dev/null); do c rm -f "$i"; done
	c network prune
	for i in $(ls "$R/networks" 2>/dev/null | sed -n 's/\.json$//p'); do c network rm -f "$i"; done
	grep -o " $R/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
}
defer engine_cleanup
tar -C "$(test_rootfs)" -cf "$TMPD/rootfs.tar" . || skip_all "cannot build the test rootfs"
c image import "$TMPD/rootfs.tar" busybox:latest >/dev/null 2>&1 || skip_all "\`cell image import\` failed"

# A /24 that no host address or route covers, in PREFIX.X.0/24.
free24() {
	local try
	for try in $(shuf -i 0-255 -n 60); do
		if [ -z "$(ip -4 route show to match "$1.$try.1" | grep -v '^default')" ] &&
		   [ -z "$(ip -4 addr show to "$1.$try.0/24")" ]; then echo "$try"; return; fi
	done
}
# the outside world: 198.18.X.0/30 (RFC 2544 benchmark range)
X=$(free24 198.18)
[ -n "$X" ] || skip_all "no free 198.18.X.0/24 on this host"
# the networks: in 100.64.0.0/10 (shared address space), away from the
# 10.x and 172.x subnets other roots' networks pick by themselves
A=$(shuf -i 64-127 -n 1); B1=$(free24 "100.$A"); B2=$(free24 "100.$A")
[ -n "$B1" ] && [ -n "$B2" ] && [ "$B1" != "$B2" ] || skip_all "no free 100.$A.X.0/24 on this host"
OUT=cellt-out-$$ HV=cto$$h NV=cto$$n
defer "ip link del '$HV'"
defer "ip netns del '$OUT'"
ip netns add "$OUT" && ip link add "$HV" type veth peer name "$NV" netns "$OUT" &&
	ip addr add "198.18.$X.1/30" dev "$HV" && ip link set "$HV" up &&
	ip -n "$OUT" addr add "198.18.$X.2/30" dev "$NV" && ip -n "$OUT" link set "$NV" up &&
	ip -n "$OUT" link set lo up || skip_all "cannot make the outside namespace"
# an echo server there: one line in, "outside:" + the line back
ip netns exec "$OUT" busybox nc -ll -p 7777 -e /bin/sh -c 'read l; echo "outside:$l"' &
SRV=$!
defer "kill $SRV"

check "network create net1" -- c network create --subnet "100.$A.$B1.0/24" net1
SUB=$(c network inspect net1 | jq -r '.[0].IPAM.Config[0].Subnet // .[0].Subnet // empty')
like "$SUB" '^[0-9.]+/[0-9]+$' "the network's subnet: $SUB"

HP=""
for try in $(shuf -i 20000-40000 -n 20); do
	ss -Htln "sport = :$try" | grep -q . || { HP=$try; break; }
done
id1=$(c run -d --name t1 --network none busybox sleep 600)
id2=$(c run -d --name t2 --network none busybox sh -c \
	'mkdir -p /www && echo hello-from-t2 > /www/index.html && exec httpd -f -p 80 -h /www')
like "$id1$id2" '^[0-9a-f]{128}$' "two containers without a network run"
is "$(c exec t1 ip -o link | grep -c eth)" 0 "t1 has no interface but lo"

check "connect t1" -- c network connect net1 t1
check "connect t2 with an alias and a published port" -- \
	c network connect --alias two -p "127.0.0.1:$HP:80" net1 t2
ip1=$(c exec t1 ip -o -4 addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
ip2=$(c exec t2 ip -o -4 addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
like "$ip1 $ip2" '^[0-9.]+ [0-9.]+$' "both have an address on eth0 ($ip1, $ip2)"
like "$(c exec t1 ip route)" "^default via" "t1 has a default route via the gateway"
check "t1 pings t2 by address" -- c exec t1 ping -c1 -W2 "$ip2"
check "t1 pings t2 by name" -- c exec t1 ping -c1 -W2 t2
check "t1 pings t2 by alias" -- c exec t1 ping -c1 -W2 two
check "t2 pings t1 by name (by the network's DNS)" -- c exec t2 ping -c1 -W2 t1
like "$(c exec t1 cat /etc/resolv.conf)" "nameserver " "connect gave t1 (made with --network none) a resolv.conf"
ok "$(c exec t1 grep -c t2 /etc/hosts)" "t1's /etc/hosts is not rewritten with its peers"

# the outside namespace has no route to the containers' subnet: a reply
# reaches t1 only because its packets left masqueraded as 198.18.X.1
is "$(ip -n "$OUT" route | grep -c "${SUB%%/*}")" 0 "the outside namespace has no route back to $SUB"
is "$(c exec t1 sh -c "echo hi | timeout 5 nc 198.18.$X.2 7777")" "outside:hi" \
	"t1 reaches the outside world through the masquerade"

got=""
for i in 1 2 3 4 5 6 7 8 9 10; do
	got=$(timeout 3 busybox wget -qO- "http://127.0.0.1:$HP/" 2>/dev/null) && break
	sleep 0.3
done
is "$got" "hello-from-t2" "published port: the host fetches t2's page on 127.0.0.1:$HP"

# errors
out=$(c network connect net1 t1 2>&1); rc=$?
is "$rc" 125 "connect twice: 125"; like "$out" "already connected" "connect twice: says so"
out=$(c network connect nosuchnet t1 2>&1); rc=$?
is "$rc" 125 "unknown network: 125"; like "$out" "nosuchnet.*not found" "unknown network: says so"
out=$(c network connect net1 nosuchctr 2>&1); rc=$?
is "$rc" 125 "unknown container: 125"; like "$out" "nosuchctr" "unknown container: named"
c run -d --name t3 --network none busybox true >/dev/null; c wait t3 >/dev/null 2>&1
out=$(c network connect net1 t3 2>&1); rc=$?
is "$rc" 125 "stopped container: 125"; like "$out" "not running" "stopped container: says so"
out=$(c network connect -p nonsense net1 t1 2>&1); rc=$?
is "$rc" 125 "bad -p: 125"
out=$(c network connect net1 2>&1); rc=$?
is "$rc" 125 "missing CONTAINER: 125"

# a second network: eth1, then leave it again
check "network create net2" -- c network create --subnet "100.$A.$B2.0/24" net2
check "connect t1 to a second network" -- c network connect net2 t1
like "$(c exec t1 ip -o -4 addr show dev eth1)" "inet " "t1 has eth1 on net2"
check "disconnect t1 from net2" -- c network disconnect net2 t1
is "$(c exec t1 ip -o link | grep -c eth1)" 0 "eth1 is gone"
check "t1 still reaches t2 on net1" -- c exec t1 ping -c1 -W2 t2
is "$(ls "$R/networks/net2.leases" | wc -l)" 0 "no lease left on net2"
got=$(timeout 3 busybox wget -qO- "http://127.0.0.1:$HP/" 2>/dev/null)
is "$got" "hello-from-t2" "t2's published port survives another container's disconnect"

# disconnect t2: its port goes
check "disconnect t2" -- c network disconnect net1 t2
is "$(nft list table inet cell 2>/dev/null | grep -c "cell-ctr:$id2")" 0 "t2's DNAT rules are gone"
is "$(c exec t2 ip -o link | grep -c eth)" 0 "t2 has no interface but lo again"
is "$(c exec t2 cat /etc/hosts | grep -vc localhost)" 1 "t2's hosts file keeps only its own name"
timeout 3 busybox wget -qO- "http://127.0.0.1:$HP/" >/dev/null 2>&1; rc=$?
ok $([ "$rc" = 1 ] && echo 0 || echo 1) "the host port no longer answers (wget status $rc)"
is "$(c exec t1 grep -c two /etc/hosts)" 0 "t2's alias left t1's hosts file"
out=$(c network disconnect net1 t2 2>&1); rc=$?
is "$rc" 125 "disconnect twice: 125"; like "$out" "not connected" "disconnect twice: says so"

# --ip, and the hosts file handed on when its network is left
out=$(c network connect --ip 192.0.2.77 net2 t2 2>&1); rc=$?
is "$rc" 125 "--ip outside the subnet: 125"
check "connect t2 to net2 with --ip" -- c network connect --ip "100.$A.$B2.50" net2 t2
like "$(c exec t2 ip -o -4 addr show dev eth0)" "100\.$A\.$B2\.50/24" "t2's eth0 has the requested address"
check "connect t1 to net2 again" -- c network connect net2 t1
check "t2 (hosts file from net2) pings t1 by name" -- c exec t2 ping -c1 -W2 t1
check "disconnect t1 from net1, its first network" -- c network disconnect net1 t1
is "$(c exec t1 ip -o link | grep -c 'eth0')" 0 "t1's eth0 (net1) is gone, eth1 stays"
check "t1's hosts file now follows net2: it pings t2 by name" -- c exec t1 ping -c1 -W2 t2

# t1 and t2 removed while connected: rm releases the leases that connect
# gave them, whatever their network mode
pid1=$(c inspect t1 | jq -r '.[0].State.Pid') pid2=$(c inspect t2 | jq -r '.[0].State.Pid')
c rm -f t1 t2 t3 >/dev/null
for i in $(seq 50); do [ -e "/proc/$pid1" ] || [ -e "/proc/$pid2" ] || break; sleep 0.1; done
is "$(cat "$R"/networks/*.leases/* 2>/dev/null | grep -c "$id1\|$id2")" 0 "rm released the leases of t1 and t2"
c network prune >/dev/null
ls "$R/networks" 2>/dev/null | grep -q '\.json$'; is $? 1 "prune removed both networks"
is "$(ip -o link | grep -c "cell:$id1\|cell:$id2")" 0 "no veth of t1 or t2 on the host"
is "$(nft list table inet cell 2>/dev/null | grep -c "cell-ctr:$id1\|cell-ctr:$id2\|cell-net:net[12]\"")" 0 \
	"no nft rule of the test's containers or networks"
if [ "$had_table" = 0 ]; then
	# another root may have made networks meanwhile: then the table stays
	if nft list table inet cell 2>/dev/null | grep -q 'cell-net:'; then skip "table inet cell is used by another root"
	else fails "table inet cell removed with the last network" -- nft list table inet cell; fi
else
	skip "table inet cell existed before the test"
fi
