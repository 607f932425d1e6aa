#!/bin/bash
# Names by DNS on a user network (issue 17): cell-dns, started with the
# network's first container and gone with its last, answers A for names,
# aliases (two containers behind one: both addresses, rotated), short ids,
# PTR; forwards other names to the upstream of CELL_DNS_RESOLV (a server
# this test runs in its own "outside" namespace, never a real resolver);
# drops malformed, oversized and outside queries; killed -9, the next start
# brings it back. /etc/hosts lists the container itself and --add-host only,
# and no container's file changes when a peer starts. --dns overrides.
# Packets go only to our containers, to the host's side of our bridge and
# veth, and to the namespace this test makes.
. "$(dirname "$0")/../lib/tap.sh"
need_root
for t in ip jq python3 nsenter; do command -v $t >/dev/null || skip_all "needs $t"; done
DNSX=$(dirname "$CELL")/src/dns/cell-dns
[ -x "$DNSX" ] || skip_all "no cell-dns in this build"
tmpdir
for m in "$(dirname "$CELL")/cell-monitor" "$(dirname "$CELL")/src/monitor/cell-monitor"; do
	[ -x "$m" ] && cp "$m" "$TMPD/cell-monitor" && break
done
cp "$DNSX" "$TMPD/cell-dns"
cp "$CELL" "$TMPD/cell" && CELL=$TMPD/cell
R=$TMPD/root
c() { "$CELL" --root "$R" "$@"; }
OUT=198.51.100 tag=$$
ip -4 route show table all | awk '{print $1}' | grep -q "^$OUT\." && skip_all "$OUT.0/24 is in use here"
dns_pids() { for p in $(pgrep -x cell-dns); do tr '\0' ' ' < /proc/$p/cmdline | grep -q -- "$R/" && echo $p; done; }
engine_cleanup() {
	local i
	for i in $(c ps -aq --no-trunc 2>/dev/null); do c rm -f "$i"; done
	for i in $(ls "$R/networks" 2>/dev/null | sed -n 's/\.json$//p'); do c network rm -f "$i"; done
	for i in $(dns_pids); do kill "$i"; done
	grep -o " $R/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
}
defer engine_cleanup
tar -C "$(test_rootfs)" -cf "$TMPD/rootfs.tar" . || skip_all "cannot build the test rootfs"
c image import --change 'CMD ["sh"]' "$TMPD/rootfs.tar" busybox:latest >/dev/null 2>&1 ||
	skip_all "\`cell image import\` failed"

# ---- the outside world: an upstream DNS server in its own namespace ----
ONS=cellt-dns-$tag OV=ctdns$tag
ip netns add $ONS; defer "ip netns del $ONS"
ip link add $OV type veth peer name eth0 netns $ONS; defer "ip link del $OV 2>/dev/null"
ip addr add $OUT.1/24 dev $OV; ip link set $OV up
ip -n $ONS addr add $OUT.2/24 dev eth0; ip -n $ONS link set eth0 up; ip -n $ONS link set lo up
ip -n $ONS route add default via $OUT.1
cat > "$TMPD/upstream.py" <<'EOF'
# Answers every A query with 203.0.113.7 (TEST-NET-3) and counts queries.
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 53))
while True:
    q, peer = s.recvfrom(2048)
    end = 12
    while q[end]:
        end += 1 + q[end]
    end += 5
    ans = q[:2] + b"\x81\x80" + b"\x00\x01\x00\x01\x00\x00\x00\x00" + q[12:end]
    ans += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("203.0.113.7")
    s.sendto(ans, peer)
    with open(sys.argv[1], "a") as f:
        f.write("%s\n" % peer[0])
EOF
ip netns exec $ONS python3 "$TMPD/upstream.py" "$TMPD/upstream.log" & defer "kill $!"
echo "nameserver $OUT.2" > "$TMPD/resolv.conf"
echo "search example.test" >> "$TMPD/resolv.conf"
export CELL_DNS_RESOLV=$TMPD/resolv.conf

free24() {
	local a try
	for a in $(shuf -i 200-254 -n 20); do
		for try in $(shuf -i 0-255 -n 10); do
			if [ -z "$(ip -4 route show to match "10.$a.$try.1" | grep -v '^default')" ] &&
			   [ -z "$(ip -4 addr show to "10.$a.$try.0/24")" ]; then
				echo "10.$a.$try"; return
			fi
		done
	done
}
N=$(free24); [ -n "$N" ] || skip_all "no free 10.2xx.x.0/24"
check "network create dnsnet ($N.0/24)" -- c network create --subnet "$N.0/24" dnsnet
is "$(dns_pids)" "" "no resolver while the network is empty"
check "run web1 --network-alias web" -- c run -d --name web1 --network dnsnet --network-alias web busybox sleep 1000
check "run web2 --network-alias web" -- c run -d --name web2 --network dnsnet --network-alias web busybox sleep 1000
check "run peer --add-host" -- c run -d --name peer --network dnsnet --add-host extra:10.9.9.9 busybox sleep 1000
is "$(dns_pids | wc -l)" 1 "one resolver for the root"
is "$(c network inspect dnsnet | jq -r '.[0].DNS | "\(.Address):\(.Port) \(.State) \(.Pid)"')" "$N.1:53 running $(dns_pids)" \
	"network inspect shows the resolver's address, state and pid"
IP1=$(c inspect web1 | jq -r '.[0].NetworkSettings.Networks.dnsnet.IPAddress')
IP2=$(c inspect web2 | jq -r '.[0].NetworkSettings.Networks.dnsnet.IPAddress')
IPP=$(c inspect peer | jq -r '.[0].NetworkSettings.Networks.dnsnet.IPAddress')
ID1=$(c inspect web1 | jq -r '.[0].Id')
RC=$(c exec peer cat /etc/resolv.conf)
like "$RC" "nameserver $N.1" "resolv.conf names the resolver at the gateway"
like "$RC" "options ndots:0" "with Docker's ndots:0"
HS=$(grep -E '^(search|domain)' /etc/resolv.conf | head -1)
if [ -n "$HS" ]; then like "$RC" "$HS" "and the host's search domain"; else skip "the host's resolv.conf has no search line"; fi
look() { c exec peer nslookup "$@" 2>&1; }
like "$(look web1)" "Address: $IP1" "nslookup web1 (the container name) from peer"
like "$(look "${ID1:0:12}")" "Address: $IP1" "nslookup of web1's short id"
like "$(look WEB2)" "Address: $IP2" "names are case-insensitive"
W=$(look web)
like "$W" "Address: $IP1" "alias web: web1's address"
like "$W" "Address: $IP2" "and web2's"
first() { look web | sed -n 's/^Address: //p' | grep -v ":53$" | head -1; }
a=$(first); b=$(first); c3=$(first)
ok "$([ "$a" != "$b" ] || [ "$b" != "$c3" ]; echo $?)" "the two addresses of web are rotated (round robin)"
like "$(look "$IP1")" "name = web1" "PTR: $IP1 is web1"
like "$(look outside.test)" "Address: 203.0.113.7" "an outside name is forwarded to the upstream"
like "$(cat "$TMPD/upstream.log" 2>/dev/null)" "$OUT.1" "which saw the query from the host (not from the container)"
nq=$(wc -l < "$TMPD/upstream.log")
look web2 >/dev/null; look "$IP2" >/dev/null
is "$(wc -l < "$TMPD/upstream.log")" "$nq" "a peer's name and address are answered without asking the upstream"
H=$(c exec peer cat /etc/hosts)
like "$H" "$IPP	[0-9a-f]{12} peer" "peer's /etc/hosts has its own hostname and name"
like "$H" "10.9.9.9	extra" "and its --add-host"
ok "$(printf '%s\n' "$H" | grep -c "$IP1")" "and no peer (they come from DNS)"
H1=$(md5sum < "$R/containers/$ID1/hosts" 2>/dev/null || c exec web1 md5sum /etc/hosts)
check "run web3" -- c run -d --name web3 --network dnsnet busybox sleep 1000
is "$(md5sum < "$R/containers/$ID1/hosts" 2>/dev/null || c exec web1 md5sum /etc/hosts)" "$H1" \
	"web1's hosts file is untouched by web3's start"
like "$(look web3)" "Address: " "web3 resolves at once"

# ---- a second network: one resolver serves both, names of every network a container is on ----
N2=$(free24); [ -n "$N2" ] && [ "$N2" != "$N" ] || N2=$(free24)
check "network create dnsnet2 ($N2.0/24) while the resolver runs" -- c network create --subnet "$N2.0/24" dnsnet2
check "run far on dnsnet2 only" -- c run -d --name far --network dnsnet2 busybox sleep 1000
check "run both on dnsnet and dnsnet2" -- c run -d --name both --network dnsnet --network dnsnet2 busybox sleep 1000
is "$(dns_pids | wc -l)" 1 "still one resolver"
IPF=$(c inspect far | jq -r '.[0].NetworkSettings.Networks.dnsnet2.IPAddress')
like "$(c exec both nslookup far 2>&1)" "Address: $IPF" "both (first network dnsnet) resolves far, on its second network"
like "$(c exec far nslookup both 2>&1)" "Address: $N2\." "far resolves both by its dnsnet2 address"
fails "peer (dnsnet only) does not resolve far" -- sh -c "'$CELL' --root '$R' exec peer nslookup far 2>&1 | grep -q 'Address: $IPF'"
check "rm -f far both" -- c rm -f far both
check "network rm dnsnet2" -- c network rm dnsnet2
like "$(look web1)" "Address: $IP1" "the resolver still serves dnsnet"

# ---- another root with a network of the same name: its own resolver ----
R2=$TMPD/root2
c2() { "$CELL" --root "$R2" "$@"; }
defer "for i in \$('$CELL' --root '$R2' ps -aq 2>/dev/null); do '$CELL' --root '$R2' rm -f \$i; done; '$CELL' --root '$R2' network rm -f dnsnet 2>/dev/null; true"
c2 image import --change 'CMD ["sh"]' "$TMPD/rootfs.tar" busybox:latest >/dev/null 2>&1
N3=$(free24)
check "a second root: network dnsnet ($N3.0/24) and a container on it" -- \
	sh -c "'$CELL' --root '$R2' network create --subnet '$N3.0/24' dnsnet >/dev/null && '$CELL' --root '$R2' run -d --name other --network dnsnet busybox sleep 1000"
O=$(c2 exec other nslookup web1 2>&1)
ok "$(printf '%s\n' "$O" | grep -c "$IP1")" "the other root's container does not get web1 of this root"
like "$(c2 exec other nslookup other 2>&1)" "Address: $N3\." "it resolves its own root's names"
check "rm the other root's container and network" -- sh -c "'$CELL' --root '$R2' rm -f other && '$CELL' --root '$R2' network rm dnsnet"

# ---- hostile queries ----
PP=$(c inspect peer | jq -r '.[0].State.Pid')
cat > "$TMPD/q.py" <<'EOF'
import socket, struct, sys
server, name, mode = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
if mode == "junk":
    for p in (b"", b"\x00" * 11, b"\xff" * 64, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01", b"A" * 3000):
        s.sendto(p, (server, 53))
q = b"\x42\x42\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
for l in name.split("."):
    q += bytes([len(l)]) + l.encode()
q += b"\x00\x00\x01\x00\x01"
s.sendto(q, (server, 53))
try:
    a, _ = s.recvfrom(4096)
    print("answer id=%d ancount=%d" % (struct.unpack("!H", a[:2])[0], struct.unpack("!H", a[6:8])[0]))
except socket.timeout:
    print("no answer")
EOF
is "$(nsenter --net=/proc/$PP/ns/net python3 "$TMPD/q.py" $N.1 web1 junk)" "answer id=16962 ancount=1" \
	"after empty, short, garbage, pointer-looped and 3000-byte datagrams the resolver still answers"
is "$(ip netns exec $ONS python3 "$TMPD/q.py" $N.1 web1 plain)" "no answer" \
	"a query from outside the network's subnet gets no answer"

# ---- killed, restarted ----
P=$(dns_pids)
kill -9 $P; sleep 0.2
fails "killed -9: web1 no longer resolves" -- c exec peer nslookup -timeout=1 web1
check "run web4 (restarts the resolver)" -- c run -d --name web4 --network dnsnet busybox sleep 1000
is "$(dns_pids | wc -l)" 1 "a resolver runs again"
like "$(look web1)" "Address: $IP1" "and web1 resolves again"
# killed again: a network command brings it back, as the next start does
P=$(dns_pids)
kill -9 $P; sleep 0.2
is "$(c network inspect dnsnet | jq -r '.[0].DNS.State')" "running" "killed -9: network inspect restarts the resolver"
is "$(dns_pids | wc -l)" 1 "one resolver runs again"
like "$(look web1)" "Address: $IP1" "and web1 resolves again"
like "$(c network diagram)" "cell-dns<br/>\(running, pid $(dns_pids)\)" "the diagram draws the running resolver"
like "$(c network diagram)" "-.-\|DNS $N.1:53\| dns" "joined to dnsnet's bridge at its gateway"
check "run --dns 192.0.2.53 keeps --dns" -- c run -d --name own --network dnsnet --dns 192.0.2.53 busybox sleep 1000
like "$(c exec own cat /etc/resolv.conf)" "nameserver 192.0.2.53" "--dns overrides the network's resolver"

# ---- gone with the last container ----
check "rm -f every container" -- c rm -f web1 web2 web3 web4 peer own
for _ in $(seq 30); do [ -z "$(dns_pids)" ] && break; sleep 0.1; done
is "$(dns_pids)" "" "the resolver ended with the network's last container"
fails "and removed its pid file" -- test -e "$R/networks/.dns"
check "network rm dnsnet" -- c network rm dnsnet
