#!/bin/bash
# The network flags of `cell run`: --ip, --ip6, --mac-address, --network-alias,
# --dns*, --add-host (host-gateway), several networks (--network a --network b,
# a,b), container:NAME, phys:HOSTIF (a dummy moved in and back, also after
# kill -9 of the monitor), --netns-name, -P; restarts keep --ip/--mac; bad
# values fail with 125 and create nothing. Networks are our own (random
# 10.2xx.x.0/24); packets go only to loopback and to our containers.
. "$(dirname "$0")/../lib/tap.sh"
need_root
"$CELL" run --help 2>/dev/null | grep -q -- --netns-name || skip_all "no \`cell run --netns-name\` in this build"
command -v jq >/dev/null || skip_all "needs jq"
tmpdir
# our own copy: another build relinking build/cell mid-test cannot break it
for m in "$(dirname "$CELL")/cell-monitor" "$(dirname "$CELL")/src/monitor/cell-monitor"; do
	[ -x "$m" ] && cp "$m" "$TMPD/cell-monitor" && break
done
for m in "$(dirname "$CELL")/cell-dns" "$(dirname "$CELL")/src/dns/cell-dns"; do
	[ -x "$m" ] && cp "$m" "$TMPD/cell-dns" && break
done
cp "$CELL" "$TMPD/cell" && CELL=$TMPD/cell
R=$TMPD/root
c() { "$CELL" --root "$R" "$@"; }
DUM=ctd$$ DUM2=cte$$ NSN=cellt-$$
engine_cleanup() {
	local i
	for i in $(c ps -aq --no-trunc 2>/dev/null); do c rm -f "$i"; done
	c network prune >/dev/null
	for i in $(ls "$R/networks" 2>/dev/null | sed -n 's/\.json$//p'); do c network rm -f "$i"; done
	grep -o " $R/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
}
defer engine_cleanup
defer "ip link del '$DUM' 2>/dev/null; ip link del '$DUM2' 2>/dev/null; ip netns del '$NSN' 2>/dev/null; ip netns del '$NSN-b' 2>/dev/null; true"
tar -C "$(test_rootfs)" -cf "$TMPD/rootfs.tar" . || skip_all "cannot build the test rootfs"
c image import --change 'CMD ["sh"]' --change 'EXPOSE 80' --change 'EXPOSE 53/udp' "$TMPD/rootfs.tar" \
	busybox:latest >/dev/null 2>&1 || skip_all "\`cell image import\` failed"

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
check "network create net1 ($N1.0/24)" -- c network create --subnet "$N1.0/24" net1
check "network create net2 ($N2.0/24)" -- c network create --subnet "$N2.0/24" net2

insp() { c inspect "$1" | jq -r ".[0]$2"; }
count() { c ps -aq | wc -l; }
leases() { find "$R/networks" -path '*.leases/*' -type f ! -name '.*' 2>/dev/null | wc -l; }
# fails125 DESC REGEX -- cmd: exit status 125, the message matches, one line
fails125() {
	local d=$1 re=$2; shift 3
	_capture "$@"; local rc=$?
	if [ $rc = 125 ] && [[ $out =~ $re ]] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ]; then
		ok 0 "$d"
	else
		ok 1 "$d"; echo "# rc=$rc out: $out"
	fi
}

# ---- c1 with every flag, c2 beside it ----
MAC=02:42:0a:c8:00:10
check "run c1 --ip --mac-address --network-alias --dns* --add-host" -- c run -d --name c1 --network net1 \
	--ip "$N1.10" --mac-address "$MAC" --network-alias web --network-alias www --dns "$N1.53" \
	--dns-search example.test --dns-option ndots:3 --add-host gw:host-gateway --add-host foo=10.1.2.3 \
	busybox sleep 1000
is "$(insp c1 .NetworkSettings.Networks.net1.IPAddress)" "$N1.10" "inspect: Networks.net1.IPAddress is --ip"
is "$(insp c1 .NetworkSettings.Networks.net1.MacAddress)" "$MAC" "inspect: Networks.net1.MacAddress"
is "$(insp c1 .NetworkSettings.Networks.net1.Gateway)" "$N1.1" "inspect: Networks.net1.Gateway"
is "$(insp c1 '.NetworkSettings.Networks.net1.Aliases|join(",")')" "web,www" "inspect: Networks.net1.Aliases"
is "$(insp c1 '.HostConfig.Dns|join(",")')" "$N1.53" "inspect: HostConfig.Dns"
is "$(insp c1 '.HostConfig.ExtraHosts|join(",")')" "gw:host-gateway,foo=10.1.2.3" "inspect: HostConfig.ExtraHosts"
is "$(insp c1 .NetworkSettings.IPAddress)" "$N1.10" "inspect: NetworkSettings.IPAddress"
like "$(c exec c1 ip addr show eth0)" "inet $N1.10/24" "eth0 has the --ip address"
like "$(c exec c1 ip link show eth0)" "link/ether $MAC" "eth0 has the --mac-address"
RC=$(c exec c1 cat /etc/resolv.conf)
like "$RC" "nameserver $N1.53" "resolv.conf: --dns"
like "$RC" "search example.test" "resolv.conf: --dns-search"
like "$RC" "options ndots:3" "resolv.conf: --dns-option"
H=$(c exec c1 cat /etc/hosts)
like "$H" "$N1.1[[:space:]]+gw" "hosts: --add-host gw:host-gateway is the network's gateway"
like "$H" "10.1.2.3[[:space:]]+foo" "hosts: --add-host foo=10.1.2.3"
like "$H" "$N1.10[[:space:]].*web" "hosts: its own aliases"

check "run c2 --network-alias db" -- c run -d --name c2 --network net1 --network-alias db busybox sleep 1000
IP2=$(insp c2 .NetworkSettings.Networks.net1.IPAddress)
like "$IP2" "^$N1\." "c2 has an address on net1 ($IP2)"
check "c1 pings c2 by $IP2" -- c exec c1 ping -c1 -W2 "$IP2"
# c1 has --dns: that server, not the network's resolver, answers its names
# (peers by name from c2, which has none)
for t in "$N1.10" c1 web www; do
	check "c2 pings c1 by $t" -- c exec c2 ping -c1 -W2 "$t"
done
check "run c4 on net1" -- c run -d --name c4 --network net1 busybox sleep 1000
check "c4 pings c2 by db" -- c exec c4 ping -c1 -W2 db
check "rm -f c2" -- c rm -f c2
H=$(c exec c1 cat /etc/hosts)
ok "$(echo "$H" | grep -Ewc '(c2|db)')" "c1's hosts never listed c2 nor its alias"
fails "c4 no longer resolves db" -- c exec c4 ping -c1 -W1 db
check "rm -f c4" -- c rm -f c4

# ---- restarts keep --ip and --mac-address ----
check "stop c1" -- c stop -t 1 c1
is "$(leases)" 0 "no lease while c1 is stopped"
check "start c1" -- c start c1
like "$(c exec c1 ip addr show eth0)" "inet $N1.10/24" "restarted c1 has the same --ip"
like "$(c exec c1 ip link show eth0)" "link/ether $MAC" "restarted c1 has the same MAC"
check "run r1 --restart always --ip (exits after 1 s)" -- c run -d --name r1 --restart always --network net1 \
	--ip "$N1.20" --mac-address 02:42:0a:c8:00:20 busybox sh -c 'sleep 1; exit 3'
for i in $(seq 50); do [ "$(insp r1 .RestartCount)" -ge 1 ] && [ "$(insp r1 .State.Status)" = running ] && break; sleep 0.2; done
ok "$([ "$(insp r1 .RestartCount)" -ge 1 ] && echo 0 || echo 1)" "r1 was restarted by its policy"
like "$(c exec r1 ip addr show eth0 2>&1)" "inet $N1.20/24" "the restarted r1 has its --ip again"
is "$(insp r1 .NetworkSettings.Networks.net1.MacAddress)" 02:42:0a:c8:00:20 "and its MAC"
check "rm -f r1" -- c rm -f r1

# ---- several networks ----
check "run m1 --network net1 --network net2" -- c run -d --name m1 --network net1 --network net2 busybox sleep 1000
is "$(insp m1 '.NetworkSettings.Networks|keys|join(",")')" "net1,net2" "inspect: both networks"
is "$(c ps --filter name=m1 --format '{{.Networks}}')" "net1,net2" "ps: .Networks lists both, in order"
is "$(c ps --filter network=net2 --format '{{.Names}}' | grep -c '^m1$')" 1 "ps --filter network=net2 finds it"
is "$(c ps --filter network=nosuchnet -q | wc -l)" 0 "ps --filter network= of another network does not"
like "$(c exec m1 ip addr show eth1)" "inet $N2\." "eth1 is on net2"
like "$(c exec m1 ip route show default)" "via $N1.1 dev eth0" "the first network holds the default route"
check "run m2 --network net2,net1" -- c run -d --name m2 --network net2,net1 busybox sleep 1000
like "$(c exec m2 ip route show default)" "via $N2.1 dev eth0" "net2,net1: net2 holds the default route"
check "m2 pings m1 on net2 by name" -- c exec m2 ping -c1 -W2 "$(insp m1 .NetworkSettings.Networks.net2.IPAddress)"
# a container on several networks resolves the peers of each, not only the first's
check "run m3 on net2 only" -- c run -d --name m3 --network net2 busybox sleep 1000
m3ip=$(insp m3 .NetworkSettings.Networks.net2.IPAddress)
like "$(c exec m1 nslookup m3 2>&1)" "Address: $m3ip" "m1 (net1 first) resolves m3, a peer on net2 only"
check "m1 pings m3 by name" -- c exec m1 ping -c1 -W2 m3
check "m3 pings m1 by name" -- c exec m3 ping -c1 -W2 m1
check "network disconnect net2 m1" -- c network disconnect net2 m1
fails "after the disconnect m1 no longer resolves m3" -- c exec m1 ping -c1 -W1 m3
fails "nor m3 m1" -- c exec m3 ping -c1 -W1 m1
check "rm -f m1 m2 m3" -- c rm -f m1 m2 m3
# Docker 25's per-network options: --network name=NET,ip=,alias=,mac-address=
check "run a1 --network net1 --network name=net2,ip=...,alias=,mac-address=" -- \
	c run -d --name a1 --network net1 --network "name=net2,ip=$N2.50,alias=a1two,mac-address=02:42:00:00:00:50" busybox sleep 1000
like "$(c exec a1 ip addr show eth1)" "inet $N2.50/24" "eth1 has the address given for net2"
like "$(c exec a1 ip link show eth1)" "02:42:00:00:00:50" "and its MAC"
is "$(insp a1 '.NetworkSettings.Networks.net2.Aliases|join(",")')" "a1two" "inspect: the alias is net2's"
check "run a2 on net2" -- c run -d --name a2 --network net2 busybox sleep 1000
check "a2 pings a1 by its net2 alias" -- c exec a2 ping -c1 -W2 a1two
fails "an address outside the named network" -- c run --rm --network "name=net2,ip=$N1.51" busybox true
like "$LAST_OUT" "not a host address of network .net2." "... says which network"
fails "an unknown key" -- c run --rm --network name=net2,speed=fast busybox true
like "$LAST_OUT" "unknown key .speed." "... names it"
fails "--ip and ip= for the same network" -- c run --rm --ip "$N2.52" --network "name=net2,ip=$N2.53" busybox true
like "$LAST_OUT" "conflicting options" "... is a conflict"
fails "options on none" -- c run --rm --network name=none,alias=x busybox true
check "rm -f a1 a2" -- c rm -f a1 a2

# ---- --ip6 on a dual-stack network (the IPv6 address carries the IPv4 host part) ----
N3=$(free24 "$N1"); while [ "$N3" = "$N2" ]; do N3=$(free24 "$N1"); done
P6=fdce:$(printf %x $((RANDOM % 65536))):$(printf %x $(($$ % 65536)))
check "network create net6 ($N3.0/24, $P6::/64)" -- c network create --subnet "$N3.0/24" --subnet "$P6::/64" net6
check "run v1 --ip6 $P6::21" -- c run -d --name v1 --network net6 --ip6 "$P6::21" busybox sleep 1000
is "$(insp v1 .NetworkSettings.Networks.net6.GlobalIPv6Address)" "$P6::21" "inspect: GlobalIPv6Address is --ip6"
is "$(insp v1 .NetworkSettings.Networks.net6.IPAddress)" "$N3.33" "the IPv4 address is the one --ip6 carries"
like "$(c exec v1 ip -6 addr show eth0)" "inet6 $P6::21/64" "eth0 has the --ip6 address"
fails125 "--ip6 outside the IPv6 subnet" "not an address cell can give" -- c run -d --network net6 --ip6 fd00:1::5 busybox true
fails125 "--ip6 that does not go with --ip" "does not go with" -- c run -d --network net6 --ip "$N3.40" --ip6 "$P6::21" busybox true
fails125 "--ip6 leased already" "already leased" -- c run -d --network net6 --ip6 "$P6::21" busybox true
check "rm -f v1" -- c rm -f v1

# ---- container: ----
check "run j1 --network container:c1" -- c run -d --name j1 --network container:c1 busybox sleep 1000
is "$(insp j1 .HostConfig.NetworkMode)" "container:$(insp c1 .Id)" "inspect: NetworkMode container:<id>"
is "$(c exec j1 ip -o addr | awk '{print $2, $4}')" "$(c exec c1 ip -o addr | awk '{print $2, $4}')" \
	"j1 sees c1's interfaces and addresses"
is "$(c exec j1 hostname)" "$(c exec c1 hostname)" "j1 has c1's hostname"
like "$(c exec j1 cat /etc/hosts)" "foo" "j1 has c1's hosts file"
check "j1 reaches c1's loopback-bound nothing but pings c1's address" -- c exec j1 ping -c1 -W2 "$N1.10"
check "create j2 --network container:c1" -- c create --name j2 --network container:c1 busybox sleep 1000
check "stop c1" -- c stop -t 1 c1
fails125 "start j2 while c1 is stopped: 125" "not running|is exited" -- c start j2
check "start c1" -- c start c1
check "start j2 once c1 runs again" -- c start j2
is "$(c exec j2 ip -4 -o addr show eth0 | awk '{print $4}')" "$N1.10/24" "j2 joined c1's new namespace"
check "rm -f c1 while j1 shares its namespace" -- c rm -f c1
is "$(insp j1 .State.Status)" running "j1 keeps running"
check "rm -f j1 j2" -- c rm -f j1 j2

# ---- -P ----
check "run w1 -P (EXPOSE 80, 53/udp)" -- c run -d --name w1 --network net1 -P busybox sh -c \
	'while :; do echo hello | nc -l -p 80; done'
P=$(c port w1)
like "$P" "80/tcp -> 0.0.0.0:[0-9]+" "port: 80/tcp on a host port"
like "$P" "53/udp -> 0.0.0.0:[0-9]+" "port: 53/udp on a host port"
HP=$(c port w1 80 | sed 's/.*://')
like "$(c ps --filter name=w1 --format '{{.Ports}}')" "0.0.0.0:$HP->80/tcp" "ps PORTS"
GOT=""; for i in $(seq 20); do GOT=$(timeout 3 busybox nc 127.0.0.1 "$HP" </dev/null 2>/dev/null) && [ -n "$GOT" ] && break; sleep 0.2; done
is "$GOT" hello "127.0.0.1:$HP reaches port 80 of w1"
check "run w2 -P -p 8080:80 ... keeps -p" -- c run -d --name w2 --network net1 -P -p 127.0.0.1::80 busybox sleep 1000
is "$(c port w2 | grep -c '^80/tcp')" 1 "-p and -P: 80/tcp published once"
like "$(c port w2 80)" "^127.0.0.1:" "the -p binding wins"
check "rm -f w1 w2" -- c rm -f w1 w2

# ---- --netns-name ----
check "run n1 --netns-name $NSN" -- c run -d --name n1 --network net1 --netns-name "$NSN" busybox sleep 1000
IPN=$(insp n1 .NetworkSettings.IPAddress)
like "$(ip netns exec "$NSN" ip addr show eth0)" "inet $IPN/" "ip netns exec $NSN ip addr shows n1's address"
is "$(insp n1 .NetworkSettings.SandboxKey)" "/run/netns/$NSN" "inspect: SandboxKey"
fails125 "a second --netns-name $NSN: 125" "in use" -- c run -d --name n2 --network net1 --netns-name "$NSN" busybox sleep 1
fails "and no n2" -- c inspect n2
check "stop n1" -- c stop -t 1 n1
fails "/run/netns/$NSN is gone after stop" -- test -e "/run/netns/$NSN"
check "start n1" -- c start n1
check "/run/netns/$NSN is back" -- ip netns exec "$NSN" ip link show eth0
check "run n3 --network none --netns-name $NSN-b" -- c run -d --name n3 --network none --netns-name "$NSN-b" busybox sleep 1000
like "$(ip netns exec "$NSN-b" ip link show lo)" "UP" "none: loopback up in $NSN-b"
check "rm -f n1 n3" -- c rm -f n1 n3
fails "/run/netns/$NSN is gone after rm" -- test -e "/run/netns/$NSN"
fails "/run/netns/$NSN-b is gone after rm" -- test -e "/run/netns/$NSN-b"

# ---- bad input: 125, one line, nothing created ----
check "run h1 --ip $N1.40 (holds the address)" -- c run -d --name h1 --network net1 --ip "$N1.40" busybox sleep 1000
N=$(count); L=$(leases)
fails125 "--ip outside the subnet" "not a host address" -- c run -d --network net1 --ip 10.9.9.9 busybox true
fails125 "--ip already leased" "already leased" -- c run -d --network net1 --ip "$N1.40" busybox true
fails125 "--ip the gateway" "gateway" -- c run -d --network net1 --ip "$N1.1" busybox true
fails125 "--ip not an address" "invalid --ip" -- c run -d --network net1 --ip 10.1 busybox true
fails125 "--ip6 on a network without IPv6" "no IPv6" -- c run -d --network net1 --ip6 fd00::5 busybox true
fails125 "--mac-address garbage" "invalid --mac-address" -- c run -d --network net1 --mac-address 02:42:zz:00:00:01 busybox true
fails125 "--mac-address multicast" "invalid --mac-address" -- c run -d --network net1 --mac-address 01:00:5e:00:00:01 busybox true
fails125 "--dns not an address" "invalid --dns" -- c run -d --network net1 --dns example.com busybox true
fails125 "--add-host without IP" "invalid --add-host" -- c run -d --network net1 --add-host foo busybox true
fails125 "--add-host host-gateway with --network none" "host-gateway" -- c run -d --network none --add-host g:host-gateway busybox true
fails125 "phys: of an unknown interface" "no interface" -- c run -d --network phys:nosuch$$ busybox true
fails125 "container: of an unknown container" "container:nosuch" -- c run -d --network container:nosuch$$ busybox true
fails125 "--ip with --network none" "conflicting options" -- c run -d --network none --ip "$N1.30" busybox true
fails125 "--dns with --network container:" "conflicting options" -- c run -d --network container:x --dns 1.1.1.1 busybox true
fails125 "-P with --network host" "-P cannot publish" -- c run -d --network host -P busybox true
fails125 "none with another network" "cannot be combined" -- c run -d --network none,net1 busybox true
fails125 "a network given twice" "given twice" -- c run -d --network net1 --network net1 busybox true
fails125 "an unknown second network" "not found" -- c run -d --network net1,nosuch$$ busybox true
fails125 "--netns-name with a slash" "invalid --netns-name" -- c run -d --network net1 --netns-name a/b busybox true
is "$(count)" "$N" "no container was created by the bad runs"
is "$(leases)" "$L" "no lease was taken by the bad runs"

# ---- phys: (h1 keeps net1 in use across `network prune`) ----
# a dummy, or a veth where the kernel has no dummy module: either would die
# with the container's netns, so this also shows that cell keeps the netns
# until the interface is given back
if ip link add "$DUM" type dummy 2>/dev/null; then
	ok 0 "a dummy $DUM on the host"
else
	check "a veth $DUM on the host (no dummy module)" -- ip link add "$DUM" type veth peer name "$DUM2"
fi
check "run p1 --network phys:$DUM" -- c run -d --name p1 --network "phys:$DUM" busybox sleep 1000
like "$(c exec p1 ip link show "$DUM")" "$DUM" "$DUM is in p1"
fails "and not on the host" -- ip link show "$DUM"
check "stop p1" -- c stop -t 1 p1
check "$DUM is back on the host after stop" -- ip link show "$DUM"
check "start p1" -- c start p1
like "$(c exec p1 ip link show "$DUM")" "$DUM" "$DUM moved in again"
MON=$(insp p1 .State.MonitorPid)
check "kill -9 p1's monitor ($MON)" -- kill -9 "$MON"
sleep 0.2
check "rm -f p1" -- c rm -f p1
check "$DUM is back on the host after monitor kill -9 + rm -f" -- ip link show "$DUM"
check "run p2 --network phys:$DUM" -- c run -d --name p2 --network "phys:$DUM" busybox sleep 1000
MON=$(insp p2 .State.MonitorPid); PID=$(insp p2 .State.Pid)
kill -9 "$MON"; sleep 0.2; kill -9 "$PID"; sleep 0.3
check "network prune after kill -9 of monitor and container" -- c network prune
check "$DUM is back on the host after prune" -- ip link show "$DUM"
check "rm -f p2" -- c rm -f p2

# ---- the receive backlog follows the bridge's ports ----
# (a broadcast is one packet per port into one backlog: at ~1,000 ports the
# default 1000 dropped the gateway's ARP replies to new containers)
BL=/proc/sys/net/core/netdev_max_backlog
BL0=$(cat $BL); defer "echo $BL0 > $BL"
echo 1000 > $BL
check "run b1 on net1 with netdev_max_backlog at the kernel's default 1000" -- c run -d --name b1 --network net1 busybox sleep 1000
ok "$([ "$(cat $BL)" -ge 1024 ] && echo 0 || echo 1)" "the backlog was raised for the bridge's ports ($(cat $BL))"
check "rm -f b1" -- c rm -f b1

# ---- rm -f of a running container: its veth goes with its netns ----
# once killed, the container is a zombie that has left its namespaces: no
# RTM_DELLINK from cell, whose RCU wait cost ~50 ms of each removal of rm -f
check "run z1 on net1" -- c run -d --name z1 --network net1 busybox sleep 1000
ZID=$(insp z1 .Id)
ZV=$(c network inspect net1 | jq -r ".[0].Containers[\"$ZID\"].Veth")
like "$ZV" "^cell[0-9a-f]{8}$" "z1's host veth is $ZV"
check "rm -f z1 (traced)" -- strace -f -qq -e trace=sendto,sendmsg -o "$TMPD/rmf.trace" "$CELL" --root "$R" rm -f z1
is "$(grep -c RTM_DELLINK "$TMPD/rmf.trace")" 0 "rm -f deletes no link itself (the kernel does, with the netns)"
for _ in $(seq 50); do ip link show dev "$ZV" >/dev/null 2>&1 || break; sleep 0.1; done
fails "and z1's veth is gone" -- ip link show dev "$ZV"

# ---- nothing left behind ----
engine_cleanup
is "$(leases)" 0 "no lease left"
fails "no /run/netns/$NSN left" -- test -e "/run/netns/$NSN"
is "$(ls "$R/netstate" 2>/dev/null | wc -l)" 0 "no netstate left"
check "$DUM still on the host" -- ip link show "$DUM"
