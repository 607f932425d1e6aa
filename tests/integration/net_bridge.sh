#!/bin/bash
# The seeds' scenario through cell's networking library: two "containers"
# (plain processes in new network namespaces) on one bridge network, talking
# to each other and to the gateway, masqueraded towards a namespace that
# plays the outside world, reached through a published port from the host
# (127.0.0.1 and the host's own address), from the outside namespace, and
# from the other container (hairpin); an internal network with no egress and
# isolated from the first; bad input refused with nothing left behind;
# detach, crash cleanup, `cell netns attach` + `ip netns exec`, none and phys.
#
# Packets go only to loopback and to namespaces this test creates.
. "$(dirname "$0")/../lib/tap.sh"
need_root
for t in ip nft unshare nsenter busybox; do
	command -v $t >/dev/null || skip_all "needs $t"
done
NT=$CELL_BUILD/tests/nettool
[ -x "$NT" ] || skip_all "needs $NT (ninja -C build)"

tmpdir; R=$TMPD/root
C() { "$CELL" --root "$R" "$@"; }
in_ns() { local p=$1; shift; nsenter --net=/proc/$p/ns/net "$@"; }
tag=$$
SERVERS=()
OUT=198.51.100	# TEST-NET-2: the outside world, checked free below

# What this test must leave as it found it.
fwd_before=$(cat /proc/sys/net/ipv4/ip_forward)
defer "echo $fwd_before > /proc/sys/net/ipv4/ip_forward"
others() { nft list tables | grep -v '^table inet cell$' | while read -r _ fam name; do nft list table "$fam" "$name"; done; }
others_before=$(others)
had_table=0; nft list table inet cell >/dev/null 2>&1 && had_table=1
if ip -4 route show table all | awk '{print $1}' | grep -q "^$OUT\."; then
	skip_all "$OUT.0/24 is used on this host; the outside namespace needs a free range"
fi

# The containers: processes in new network namespaces, killed at exit.
spawn() { unshare --net sleep 1000 & PID=$!; defer "kill $PID"; }
spawn; P1=$PID; spawn; P2=$PID; spawn; P3=$PID
sleep 0.2

# ---- networks ------------------------------------------------------------
check "network create picks a free subnet" -- C network create neta
defer "'$CELL' --root '$R' network rm -f neta"
SUBNET=$(C network inspect neta | jq -r '.[0].IPAM.Config[0].Subnet')
GW=$(C network inspect neta | jq -r '.[0].IPAM.Config[0].Gateway')
BR=$(C network inspect neta | jq -r '.[0].Options["com.docker.network.bridge.name"]')
defer "ip link del '$BR'"
like "$SUBNET" '^(10|172)\.[0-9]+\.0\.0/16$' "subnet chosen: $SUBNET"
ok "$(ip -4 route show table all | grep -v " dev $BR" | awk '{print $1}' | grep -c "^${SUBNET%%.0.0/16}\.")" "no host route in $SUBNET but the bridge's"
is "$(ip -4 -br addr show dev "$BR" | awk '{print $3}')" "$GW/16" "bridge $BR carries the gateway $GW"
fails "a subnet overlapping a host route is refused" -- C network create --subnet 192.0.2.0/25 netx
like "$LAST_OUT" "overlaps the host's route 192.0.2.0/24" "the error names the colliding route"
fails "a subnet overlapping another network is refused" -- C network create --subnet "${SUBNET%/16}/24" netx
fails "a gateway outside the subnet is refused" -- C network create --subnet 10.251.$((tag % 200)).0/24 --gateway 10.1.1.1 netx
is "$(C network ls -q | wc -l)" 1 "nothing created by the refused commands"
is "$(cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward on for a network with egress"

# ---- two containers --------------------------------------------------------
check "attach c1 (ports 18080->80/tcp, 18053->53/udp published)" -- "$NT" attach "$R" neta c1-$tag $P1 --hostname c1 -p 18080:80 -p 18053:53/udp \
	--hosts-file "$TMPD/hosts1"
check "attach c2" -- "$NT" attach "$R" neta c2-$tag $P2 --hostname c2 --alias web --hosts-file "$TMPD/hosts2"
defer "'$NT' detach '$R' c1-$tag; '$NT' detach '$R' c2-$tag"
IP1=$(C network inspect neta | jq -r ".[0].Containers[\"c1-$tag\"].IPv4Address")
IP2=$(C network inspect neta | jq -r ".[0].Containers[\"c2-$tag\"].IPv4Address")
like "$IP1" "^${SUBNET%%.0.0/16}\.[0-9]+\.[0-9]+/16$" "c1 leased $IP1"
is "$(in_ns $P1 ip -4 -br addr show dev eth0 | awk '{print $3}')" "$IP1" "c1's eth0 has $IP1"
is "$(in_ns $P2 ip -4 -br addr show dev eth0 | awk '{print $3}')" "$IP2" "c2's eth0 has $IP2"
is "$(in_ns $P1 ip route show default)" "default via $GW dev eth0 " "c1's default route via the gateway"
like "$(in_ns $P1 ip -br link show dev lo)" "UP|UNKNOWN" "c1's lo is up"
like "$(in_ns $P1 ip -br link show dev eth0)" "^eth0@if[0-9]+ +UP" "c1's eth0 is up"
VETH1=$(C network inspect neta | jq -r ".[0].Containers[\"c1-$tag\"].Veth")
is "$(ip -o link show dev "$VETH1" | grep -o "master [^ ]*")" "master $BR" "c1's host veth $VETH1 is on $BR"
check "c1 pings c2" -- in_ns $P1 busybox ping -c1 -W2 "${IP2%/16}"
check "c2 pings c1" -- in_ns $P2 busybox ping -c1 -W2 "${IP1%/16}"
check "c1 pings the gateway" -- in_ns $P1 busybox ping -c1 -W2 "$GW"
like "$("$NT" hosts "$R" neta c1-$tag c1 "${IP1%/16}")" "${IP1%/16}	c1" "c1's /etc/hosts names c1"
ok "$(grep -c c2 "$TMPD/hosts1")" "c1's hosts file is not rewritten when c2 joins (peers come from DNS)"
like "$(cat "$TMPD/hosts2")" "${IP2%/16}	c2 web" "c2's hosts file has its own name and alias"
# peers by DNS: the root's resolver on the gateway, started by the first attach
echo "nameserver $GW" > "$TMPD/resolv.dns"
by_name() { in_ns $1 unshare -m sh -c "mount --bind '$TMPD/resolv.dns' /etc/resolv.conf && busybox ping -c1 -W2 $2"; }
check "c1 pings c2 by name" -- by_name $P1 c2
check "c1 pings c2 by alias" -- by_name $P1 web
check "c2 pings c1 by name" -- by_name $P2 c1

# ---- bad input: nothing half-made -------------------------------------------
nveth=$(ip -o link show type veth | wc -l)
fails "an address already leased is refused" -- "$NT" attach "$R" neta c3-$tag $P3 --ip "${IP2%/16}"
like "$LAST_OUT" "already leased to container .c2-$tag." "the error names the holder"
fails "an address outside the subnet is refused" -- "$NT" attach "$R" neta c3-$tag $P3 --ip 10.1.2.3
fails "a port published by another container is refused" -- "$NT" attach "$R" neta c3-$tag $P3 -p 18080:80
busybox nc -l -p 18099 >/dev/null 2>&1 & NCP=$!; defer "kill $NCP"; sleep 0.2
fails "a port bound on the host is refused" -- "$NT" attach "$R" neta c3-$tag $P3 -p 18099:80
fails "a second attach of c1 is refused" -- "$NT" attach "$R" neta c1-$tag $P1
fails "a failure inside the netns (MTU 60) is refused" -- "$NT" attach "$R" neta c3-$tag $P3 --mtu 60 -p 18098:80
like "$LAST_OUT" "set MTU 60 on link .cell[0-9a-f]+.: Invalid argument" "the error names the link and the value"
is "$(nft list chain inet cell published | grep -c "cell-ctr:c3-$tag")" 0 "and leaves no DNAT rule"
is "$(in_ns $P3 ip -o link show | wc -l)" 1 "nor a link in the netns"
is "$(ip -o link show type veth | wc -l)" "$nveth" "no veth left by the refused attaches"
is "$(ls "$R/networks/neta.leases" | wc -l)" 2 "no lease left by the refused attaches"
fails "network rm of a network in use is refused" -- C network rm neta

# ---- the outside world, masquerade, published ports ---------------------------
ONS=cellt-out-$tag; OV=ctout$tag
ip netns add $ONS; defer "ip netns del $ONS"
ip link add $OV type veth peer name eth0 netns $ONS; defer "ip link del $OV"
ip addr add $OUT.1/24 dev $OV; ip link set $OV up
ip -n $ONS addr add $OUT.2/24 dev eth0; ip -n $ONS link set eth0 up; ip -n $ONS link set lo up
ip -n $ONS route add default via $OUT.1
ip netns exec $ONS "$NT" serve 7000 >/dev/null 2>&1 & S=$!; defer "kill $S"; SERVERS+=($S)
ip netns exec $ONS "$NT" userve 7001 >/dev/null 2>&1 & S=$!; defer "kill $S"; SERVERS+=($S)
nsenter --net=/proc/$P1/ns/net "$NT" serve 80 >/dev/null 2>&1 & S=$!; defer "kill $S"; SERVERS+=($S)	# nsenter execs: $! is the server
nsenter --net=/proc/$P1/ns/net "$NT" userve 53 >/dev/null 2>&1 & S=$!; defer "kill $S"; SERVERS+=($S)	# nsenter execs: $! is the server
sleep 0.3
is "$(in_ns $P1 "$NT" connect $OUT.2 7000)" "peer $OUT.1" "c1 reaches the outside, masqueraded to the host's address"
is "$(in_ns $P1 "$NT" connect $OUT.2 7000 hello | tail -1)" "hello" "and the echo comes back"
is "$(in_ns $P1 "$NT" uconnect $OUT.2 7001 hi)" "peer $OUT.1 hi" "UDP to the outside, masqueraded"
check "ICMP to the outside" -- in_ns $P1 busybox ping -c1 -W2 $OUT.2
is "$(ip netns exec $ONS "$NT" uconnect $OUT.1 18053 q)" "peer $OUT.2 q" "published UDP port from the outside namespace"
is "$("$NT" connect 127.0.0.1 18080)" "peer $GW" "published port from the host via 127.0.0.1"
is "$("$NT" connect $OUT.1 18080)" "peer $OUT.1" "published port from the host via its own address"
is "$(ip netns exec $ONS "$NT" connect $OUT.1 18080)" "peer $OUT.2" "published port from the outside namespace (source kept)"
is "$(in_ns $P2 "$NT" connect "$GW" 18080)" "peer $GW" "published port from c2 on the same bridge (hairpin)"
is "$(in_ns $P1 "$NT" connect "$GW" 18080)" "peer $GW" "published port from c1 itself (hairpin to itself)"
like "$(nft list chain inet cell published)" "comment \"cell-ctr:c1-$tag\"" "c1's DNAT rule carries its id"
spawn; P5=$PID; sleep 0.1
check "attach c5 publishing on 127.0.0.1 only" -- "$NT" attach "$R" neta c5-$tag $P5 -p 127.0.0.1:18082:80
defer "'$NT' detach '$R' c5-$tag"
nsenter --net=/proc/$P5/ns/net "$NT" serve 80 >/dev/null 2>&1 & S=$!; defer "kill $S"; SERVERS+=($S)
sleep 0.2
like "$("$NT" connect 127.0.0.1 18082)" "^peer " "reachable on 127.0.0.1:18082"
fails "not from the outside namespace" -- ip netns exec $ONS "$NT" connect $OUT.1 18082
check "detach c5" -- "$NT" detach "$R" c5-$tag
# the host port index: one link per published port, naming its lease
is "$(readlink "$R/networks/.ports/tcp-18080")" "neta/${IP1%/16}" "the port index names c1's lease for 18080/tcp"
is "$(readlink "$R/networks/.ports/udp-18053")" "neta/${IP1%/16}" "and for 18053/udp"
fails "c5's index link went with its lease" -- test -L "$R/networks/.ports/tcp-18082"
check "so 18082 can be published again" -- "$NT" attach "$R" neta c5-$tag $P5 -p 127.0.0.1:18082:80
check "detach c5 again" -- "$NT" detach "$R" c5-$tag
ln -s neta/10.99.99.99 "$R/networks/.ports/tcp-18083"
check "a stale index link (its lease gone) does not hold the port" -- "$NT" attach "$R" neta c5-$tag $P5 -p 127.0.0.1:18083:80
check "detach c5 (18083)" -- "$NT" detach "$R" c5-$tag
rm -rf "$R/networks/.ports"
fails "without the index (a root from before it), c1's port is still refused" -- "$NT" attach "$R" neta c5-$tag $P5 -p 18080:80
like "$LAST_OUT" "host port 18080/tcp is already published by container .c1-$tag." "naming c1"
is "$(readlink "$R/networks/.ports/tcp-18080")" "neta/${IP1%/16}" "and the index is made again from every lease"

# ---- an internal network, isolated --------------------------------------------
check "network create --internal" -- C network create --internal --subnet 10.251.$((tag % 200)).0/24 netb
BRB=$(C network inspect netb | jq -r '.[0].Options["com.docker.network.bridge.name"]')
defer "'$CELL' --root '$R' network rm -f netb; ip link del '$BRB'"
check "attach c3 to the internal network" -- "$NT" attach "$R" netb c3-$tag $P3
defer "'$NT' detach '$R' c3-$tag"
is "$(in_ns $P3 ip route show default)" "" "no default route on an internal network"
check "c3 pings its gateway" -- in_ns $P3 busybox ping -c1 -W2 10.251.$((tag % 200)).1
fails "c3 has no egress" -- in_ns $P3 "$NT" connect $OUT.2 7000
in_ns $P3 ip route add "$SUBNET" via 10.251.$((tag % 200)).1 2>/dev/null
fails "c3 cannot reach c1 on the other network, even with a route" -- in_ns $P3 busybox ping -c1 -W1 "${IP1%/16}"

# ---- diagram ---------------------------------------------------------------------
like "$(C network diagram)" "$VETH1.*" "the mermaid diagram shows c1's veth"
like "$(C network diagram --format dot | head -1)" "^digraph" "the dot diagram"

# ---- netns files, none, phys ---------------------------------------------------------
NS=cellt-c1-$tag
check "cell netns attach names c1's netns" -- C netns attach $NS $P1
defer "ip netns del $NS"
is "$(ip netns exec $NS ip -4 -br addr show dev eth0 | awk '{print $3}')" "$IP1" "ip netns exec sees c1's address"
like "$(C netns ls)" "^$NS( |$)" "cell netns ls lists it"
check "cell netns del" -- C netns del $NS
fails "and it is gone for ip netns too" -- ip netns exec $NS true

spawn; P4=$PID; sleep 0.1
check "none: loopback only" -- "$NT" none $P4
like "$(in_ns $P4 ip -br link show dev lo)" "UNKNOWN|UP" "lo up in the none netns"
is "$(in_ns $P4 ip -o link show | wc -l)" 1 "and no other link"
PH=ctph$tag	# a veth end stands in for a physical NIC (no dummy module here)
ip link add $PH type veth peer name ctpp$tag; defer "ip link del ctpp$tag"
check "phys: moves a host interface in" -- "$NT" phys-attach $P4 $PH
fails "it is gone from the host" -- ip link show dev $PH
like "$(in_ns $P4 ip -br link show dev $PH)" "^$PH[@ ]" "and inside under its own name"
check "phys-detach gives it back" -- "$NT" phys-detach $P4 $PH
check "it is on the host again" -- ip link show dev $PH
fails "phys: of an unknown interface is refused" -- "$NT" phys-attach $P4 nosuchif$tag
MV=ctmv$tag
ip link add $MV type veth peer name ctmp$tag; defer "ip link del ctmp$tag"
check "move a link into a netns by pid, renamed on the way" -- "$NT" move $MV $P4 eth7
like "$(in_ns $P4 ip -br link show dev eth7)" "^eth7@" "it is eth7 inside"
check "rename inside the netns" -- "$NT" rename $P4 eth7 eth8
like "$(in_ns $P4 ip -br link show dev eth8)" "^eth8@" "it is eth8 now"
fails "renaming a missing link fails" -- "$NT" rename $P4 eth7 eth9
like "$LAST_OUT" "rename link .eth7. to .eth9.: No such device" "naming the link"

# ---- detach, crash cleanup, removal -----------------------------------------------------
check "detach c1" -- "$NT" detach "$R" c1-$tag
is "$(grep -c "c1" "$TMPD/hosts2")" 0 "c2's hosts file no longer names c1"
fails "c1's veth is gone" -- ip link show dev "$VETH1"
is "$(nft list table inet cell | grep -c "cell-ctr:c1-$tag")" 0 "c1's DNAT rule is gone"
is "$(ls "$R/networks/neta.leases" | wc -l)" 1 "c1's lease is gone"
check "detach again is a no-op" -- "$NT" detach "$R" c1-$tag
kill -9 $P2; wait $P2 2>/dev/null
is "$("$NT" prune "$R")" 1 "prune releases the lease of the killed c2"
is "$(ls "$R/networks/neta.leases" | wc -l)" 0 "no lease left in neta"
check "detach c3" -- "$NT" detach "$R" c3-$tag
check "network rm neta netb" -- C network rm neta netb
fails "bridge $BR is gone" -- ip link show dev "$BR"
if [ $had_table = 0 ]; then
	fails "table inet cell is gone with the last network" -- nft list table inet cell
else
	skip "table inet cell was there before this test (another user of cell)"
fi
is "$(others)" "$others_before" "every other nft table is unchanged"
_run_deferred; _deferred=()
# links of this test only: other tests may come and go meanwhile
mine() { sed -E 's/^[0-9]+: //' | grep -E "^($BR|$BRB|$OV|ctp[hp]$tag|ctm[vp]$tag)(@|:)|alias cell:[a-z0-9]+-$tag"; }
is "$(ip -o link show | mine)" "" "no link left behind (bridges, veths, stand-ins)"
sleep 0.2
left=0; for p in "${SERVERS[@]}"; do [ -d /proc/$p ] && [ "$(cat /proc/$p/comm 2>/dev/null)" = nettool ] && left=$((left + 1)); done
is "$left" 0 "no test server process left behind"
