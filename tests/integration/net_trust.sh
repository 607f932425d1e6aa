#!/bin/bash
# What a container, or a host next to this one, must not reach (issue 18):
#  - the host's loopback-only services: cell turns route_localnet on for its
#    bridges (for -p 127.0.0.1:...), so a frame crafted in a container's
#    netns with destination 127.0.0.1, sent to the gateway's MAC, used to be
#    delivered to a host socket bound to 127.0.0.1 (CVE-2020-8558 class);
#    a port published on 127.0.0.1 must still work;
#  - unpublished ports from a neighbouring network that routes the subnet
#    through this host (Docker 28's default): only published ports answer,
#    replies to the containers' own connections pass, and a network created
#    with -o com.docker.network.bridge.gateway_mode_ipv4=nat-unprotected is
#    reachable directly.
# The "containers" are processes in new network namespaces attached with
# nettool (the engine's library calls); the LAN is a namespace this test
# makes. Packets go only to loopback, to the host's side of our veths and
# bridges, and to namespaces this test creates.
. "$(dirname "$0")/../lib/tap.sh"
need_root
for t in ip unshare nsenter python3 jq; do
	command -v $t >/dev/null || skip_all "needs $t"
done
NT=$CELL_BUILD/tests/nettool
[ -x "$NT" ] || skip_all "needs $NT (ninja -C build)"
"$CELL" network --help 2>&1 | grep -q gateway_mode_ipv4 || skip_all "no gateway_mode_ipv4 in this build"

tmpdir; R=$TMPD/root
C() { "$CELL" --root "$R" "$@"; }
in_ns() { local p=$1; shift; nsenter --net=/proc/$p/ns/net "$@"; }
tag=$$
LAN=198.51.100	# TEST-NET-2, checked free below
if ip -4 route show table all | awk '{print $1}' | grep -q "^$LAN\."; then
	skip_all "$LAN.0/24 is used on this host; the LAN namespace needs a free range"
fi
free24() {
	local a try
	for a in $(shuf -i 200-254 -n 20); do
		for try in $(shuf -i 0-255 -n 10); do
			if [ -z "$(ip -4 route show to match "10.$a.$try.1" | grep -v '^default')" ] &&
			   [ -z "$(ip -4 addr show to "10.$a.$try.0/24")" ] && [ "10.$a.$try" != "${1:-}" ]; then
				echo "10.$a.$try"; return
			fi
		done
	done
}
N1=$(free24); N2=$(free24 "$N1")
[ -n "$N1" ] && [ -n "$N2" ] || skip_all "no free 10.2xx.x.0/24 on this host"
fwd_before=$(cat /proc/sys/net/ipv4/ip_forward)
defer "echo $fwd_before > /proc/sys/net/ipv4/ip_forward"

spawn() { unshare --net sleep 1000 & PID=$!; defer "kill $PID"; }
spawn; P1=$PID; spawn; P2=$PID
sleep 0.2
# servers: nsenter execs, so $! is the server itself
serve() { local p=$1 port=$2; nsenter --net=/proc/$p/ns/net "$NT" serve "$port" >/dev/null 2>&1 & defer "kill $!"; }

# ---- a protected network, c1 on it -------------------------------------------
check "network create prot ($N1.0/24)" -- C network create --subnet "$N1.0/24" prot
BR1=$(C network inspect prot | jq -r '.[0].Options["com.docker.network.bridge.name"]')
defer "'$CELL' --root '$R' network rm -f prot; ip link del '$BR1' 2>/dev/null"
is "$(C network inspect prot | jq -r '.[0].Options["com.docker.network.bridge.gateway_mode_ipv4"]')" nat \
	"inspect: gateway_mode_ipv4 is nat by default"
free_port PORT_LO; free_port PORT_ALL; free_port PORT_UDP
check "attach c1 (80 published on 127.0.0.1:$PORT_LO and on *:$PORT_ALL)" -- \
	"$NT" attach "$R" prot c1-$tag $P1 -p 127.0.0.1:$PORT_LO:80 -p $PORT_ALL:80
defer "'$NT' detach '$R' c1-$tag"
IP1=$(C network inspect prot | jq -r ".[0].Containers[\"c1-$tag\"].IPv4Address"); IP1=${IP1%/*}
is "$(cat /proc/sys/net/ipv4/conf/$BR1/route_localnet)" 1 "route_localnet is on for $BR1 (what makes the guard needed)"
serve $P1 80; serve $P1 8081
sleep 0.3

# ---- loopback from a container ------------------------------------------------
# Host listeners on one UDP port: 127.0.0.1 (the target) and the gateway's
# address (the control, proving the crafted frames are delivered at all).
cat > "$TMPD/listen.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
with open(sys.argv[3], "ab", buffering=0) as f:
    while True:
        d, _ = s.recvfrom(2048)
        f.write(d + b"\n")
EOF
# One UDP datagram in an Ethernet frame from eth0, addressed to the bridge's
# MAC: what any process with CAP_NET_RAW in the container can send.
cat > "$TMPD/craft.py" <<'EOF'
import socket, struct, sys
src_mac, dst_mac, src, dst, port, msg = sys.argv[1:7]
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
data = msg.encode()
udp = struct.pack("!HHHH", 40000, int(port), 8 + len(data), 0) + data  # no UDP checksum (IPv4 allows it)
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0x4000, 64, 17, 0,
                 socket.inet_aton(src), socket.inet_aton(dst))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
eth = bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", "")) + b"\x08\x00"
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
s.send(eth + ip + udp)
EOF
GW1=$N1.1
python3 "$TMPD/listen.py" 127.0.0.1 $PORT_UDP "$TMPD/got-lo" & defer "kill $!"
python3 "$TMPD/listen.py" $GW1 $PORT_UDP "$TMPD/got-gw" & defer "kill $!"
sleep 0.3
BRMAC=$(cat /sys/class/net/$BR1/address)
C1MAC=$(in_ns $P1 cat /sys/class/net/eth0/address)
check "c1 sends a crafted UDP frame to 127.0.0.1 via its gateway" -- \
	in_ns $P1 python3 "$TMPD/craft.py" "$C1MAC" "$BRMAC" "$IP1" 127.0.0.1 $PORT_UDP to-loopback
check "and one to the gateway's address (control)" -- \
	in_ns $P1 python3 "$TMPD/craft.py" "$C1MAC" "$BRMAC" "$IP1" "$GW1" $PORT_UDP to-gateway
for _ in $(seq 50); do [ -s "$TMPD/got-gw" ] && break; sleep 0.1; done
is "$(cat "$TMPD/got-gw" 2>/dev/null)" "to-gateway" "the control datagram reached the host listener on $GW1"
is "$(cat "$TMPD/got-lo" 2>/dev/null)" "" "the datagram to 127.0.0.1 did not reach the host's loopback listener"
like "$("$NT" connect 127.0.0.1 $PORT_LO)" "^peer " "the port published on 127.0.0.1:$PORT_LO still answers from the host"
like "$("$NT" connect 127.0.0.1 $PORT_ALL)" "^peer " "and the one published on every address, via 127.0.0.1"

# ---- the LAN: a namespace that routes the container subnets via this host ----
check "network create open ($N2.0/24, gateway_mode_ipv4=nat-unprotected)" -- \
	C network create --subnet "$N2.0/24" -o com.docker.network.bridge.gateway_mode_ipv4=nat-unprotected open
BR2=$(C network inspect open | jq -r '.[0].Options["com.docker.network.bridge.name"]')
defer "'$CELL' --root '$R' network rm -f open; ip link del '$BR2' 2>/dev/null"
is "$(C network inspect open | jq -r '.[0].Options["com.docker.network.bridge.gateway_mode_ipv4"]')" nat-unprotected \
	"inspect: gateway_mode_ipv4 nat-unprotected"
check "attach c2 to it" -- "$NT" attach "$R" open c2-$tag $P2
defer "'$NT' detach '$R' c2-$tag"
IP2=$(C network inspect open | jq -r ".[0].Containers[\"c2-$tag\"].IPv4Address"); IP2=${IP2%/*}
serve $P2 8081
fails "an unknown -o is refused" -- C network create -o com.docker.network.bridge.enable_icc=false netx
like "$LAST_OUT" "enable_icc=false.: unknown network option" "naming the option"
fails "an unsupported gateway mode is refused" -- C network create -o com.docker.network.bridge.gateway_mode_ipv4=routed netx
is "$(C network ls -q | grep -c netx)" 0 "and creates nothing"

LNS=cellt-lan-$tag LV=ctlan$tag
ip netns add $LNS; defer "ip netns del $LNS"
ip link add $LV type veth peer name eth0 netns $LNS; defer "ip link del $LV 2>/dev/null"
ip addr add $LAN.1/24 dev $LV; ip link set $LV up
ip -n $LNS addr add $LAN.2/24 dev eth0; ip -n $LNS link set eth0 up; ip -n $LNS link set lo up
ip -n $LNS route add $N1.0/24 via $LAN.1
ip -n $LNS route add $N2.0/24 via $LAN.1
ip netns exec $LNS "$NT" serve 7000 >/dev/null 2>&1 & defer "kill $!"
sleep 0.3
fails "from the LAN, c1's unpublished port $IP1:8081 is unreachable" -- ip netns exec $LNS "$NT" connect $IP1 8081
is "$(ip netns exec $LNS "$NT" connect $LAN.1 $PORT_ALL)" "peer $LAN.2" "its published port $LAN.1:$PORT_ALL answers the LAN"
fails "a port published on 127.0.0.1 only is not reachable from the LAN" -- ip netns exec $LNS "$NT" connect $LAN.1 $PORT_LO
is "$(in_ns $P1 "$NT" connect $LAN.2 7000)" "peer $LAN.1" "c1 still reaches the LAN (masqueraded), replies come back"
is "$(ip netns exec $LNS "$NT" connect $IP2 8081)" "peer $LAN.2" "nat-unprotected: the LAN reaches c2's $IP2:8081 directly"
like "$(C network inspect prot open | jq -r '.[].Name' | tr '\n' ' ')" "prot open" "both networks still listed"

check "detach c1 and c2" -- sh -c "'$NT' detach '$R' c1-$tag && '$NT' detach '$R' c2-$tag"
check "network rm prot open" -- C network rm prot open
fails "bridge $BR1 is gone" -- ip link show dev "$BR1"
