#!/bin/bash
# One default bridge per engine root: two roots at once each get their own
# (c0-<hash of the root>, never the shared cell0), named as theirs in its
# alias, isolated from each other. A root deleted without `network rm`
# leaves its bridge, veths and rules; once its containers are gone too,
# `network prune` from another root, or the first network operation of a
# new root, removes them and nothing else (while a container still runs on
# it, the root may only be out of sight, in another mount namespace).
# Packets go only to namespaces this test creates.
. "$(dirname "$0")/../lib/tap.sh"
need_root
for t in ip nft jq unshare nsenter busybox; do command -v $t >/dev/null || skip_all "needs $t"; done
NT=$CELL_BUILD/tests/nettool
[ -x "$NT" ] || skip_all "needs $NT (ninja -C build)"
tmpdir
A=$TMPD/a B=$TMPD/b C=$TMPD/c
mkdir -p "$A" "$B" "$C"
in_ns() { local p=$1; shift; nsenter --net=/proc/$p/ns/net "$@"; }
tag=$$
fwd_before=$(cat /proc/sys/net/ipv4/ip_forward)
defer "echo $fwd_before > /proc/sys/net/ipv4/ip_forward"
others() { nft list tables | grep -v '^table inet cell$' | while read -r _ fam name; do nft list table "$fam" "$name"; done; }
others_before=$(others)
spawn() { unshare --net sleep 1000 & PID=$!; defer "kill $PID 2>/dev/null"; }
spawn; PA=$PID; spawn; PB=$PID; spawn; PA2=$PID
sleep 0.2
bridge_of() { "$CELL" --root "$1" network inspect cell0 | jq -r '.[0].Options["com.docker.network.bridge.name"]'; }

# ---- two roots at once ------------------------------------------------------
free_port P
# a closed connection on the port (TIME_WAIT on the side that closed first,
# here the server's, port P) does not keep it from being published
python3 -c '
import socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1]))); l.listen(1)
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s, _ = l.accept(); s.close(); c.recv(1); c.close(); l.close()' "$P"
like "$(ss -Htan "sport = :$P")" "TIME-WAIT" "a closed connection holds port $P in TIME-WAIT"
check "root A: a container on its default network, -p $P:80 (TIME-WAIT does not hold it)" -- "$NT" attach "$A" cell0 ca-$tag $PA -p $P:80
check "root B: a container on its default network" -- "$NT" attach "$B" cell0 cb-$tag $PB
BA=$(bridge_of "$A"); BB=$(bridge_of "$B")
defer "ip link del '$BA' 2>/dev/null; ip link del '$BB' 2>/dev/null"
defer "'$NT' detach '$B' cb-$tag; '$CELL' --root '$B' network rm -f cell0"
like "$BA" '^c0-[0-9a-f]{8}$' "root A's default bridge is $BA"
like "$BB" '^c0-[0-9a-f]{8}$' "root B's default bridge is $BB"
ok "$([ "$BA" != "$BB" ]; echo $?)" "the two roots have two bridges"
like "$(ip -d link show dev "$BA")" "alias cell:net=[0-9a-f]+ root=$A$" "$BA's alias names root A"
like "$(ip -d link show dev "$BB")" "alias cell:net=[0-9a-f]+ root=$B$" "$BB's alias names root B"
is "$("$NT" attach "$A" cell0 ca2-$tag $PA2 | sed -n 's/^bridge=//p')" "$BA" "root A's second container joins the same $BA"
"$NT" detach "$A" ca2-$tag
IA=$("$CELL" --root "$A" network inspect cell0 | jq -r ".[0].Containers[\"ca-$tag\"].IPv4Address" | cut -d/ -f1)
IB=$("$CELL" --root "$B" network inspect cell0 | jq -r ".[0].Containers[\"cb-$tag\"].IPv4Address" | cut -d/ -f1)
GA=$("$CELL" --root "$A" network inspect cell0 | jq -r '.[0].IPAM.Config[0].Gateway')
GB=$("$CELL" --root "$B" network inspect cell0 | jq -r '.[0].IPAM.Config[0].Gateway')
check "A's container reaches its gateway $GA" -- in_ns $PA busybox ping -c1 -W2 "$GA"
check "B's container reaches its gateway $GB" -- in_ns $PB busybox ping -c1 -W2 "$GB"
fails "A's container cannot reach B's ($IB): the roots are isolated" -- in_ns $PA busybox ping -c1 -W1 "$IB"
like "$(nft list table inet cell)" "comment \"cell-net:cell0@$BA\"" "A's rules name A's bridge"
like "$(nft list table inet cell)" "comment \"cell-net:cell0@$BB\"" "B's rules name B's bridge"
check "a network created (then removed) in root A" -- \
	"$CELL" --root "$A" network create --subnet 10.243.$((tag % 200)).0/24 other
"$CELL" --root "$A" network rm other >/dev/null
like "$(nft list table inet cell)" "comment \"cell-net:cell0@$BB\"" "B's rules are still there after"

# ---- root A deleted under it: prune from root B -----------------------------
VA=$("$CELL" --root "$A" network inspect cell0 | jq -r ".[0].Containers[\"ca-$tag\"].Veth")
rm -rf "$A"
check "network prune from root B while A's container runs" -- "$CELL" --root "$B" network prune
check "A's bridge stays while a container runs on it" -- ip link show dev "$BA"
kill $PA; wait $PA 2>/dev/null; sleep 0.1
out=$("$CELL" --root "$B" network prune 2>&1); ok $? "network prune from root B once A's container is gone"
like "$out" "^Removed [0-9]+ bridges or rules left by deleted engine roots" "prune says so"
fails "A's bridge $BA is gone" -- ip link show dev "$BA"
fails "A's veth $VA is gone" -- ip link show dev "$VA"
is "$(nft list table inet cell 2>/dev/null | grep -c "@$BA\"")" 0 "A's network rules are gone"
is "$(nft list table inet cell 2>/dev/null | grep -c "cell-ctr:ca-$tag\"")" 0 "A's DNAT rule is gone"
check "B's bridge $BB stays" -- ip link show dev "$BB"
is "$(nft list table inet cell | grep -c "cell-net:cell0@$BB\"")" "$(nft list table inet cell | grep -c "@$BB\"")" "B's rules stay"
ok "$([ "$(nft list table inet cell | grep -c "cell-net:cell0@$BB\"")" -ge 5 ]; echo $?)" "(all of them)"
check "B's container still reaches its gateway" -- in_ns $PB busybox ping -c1 -W2 "$GB"

# ---- root A2 deleted: a new root's first network operation cleans up ---------
A2=$TMPD/a2; mkdir -p "$A2"
spawn; PA3=$PID; sleep 0.1
check "root A2: a container on its default network" -- "$NT" attach "$A2" cell0 cx-$tag $PA3 -p $((P + 1)):80
BA2=$(bridge_of "$A2")
defer "ip link del '$BA2' 2>/dev/null"
rm -rf "$A2"
kill $PA3; wait $PA3 2>/dev/null; sleep 0.1
check "root C's first network operation (network create)" -- \
	"$CELL" --root "$C" network create --subnet 10.244.$((tag % 200)).0/24 cnet
defer "'$CELL' --root '$C' network rm -f cnet"
fails "A2's bridge $BA2 is gone" -- ip link show dev "$BA2"
is "$(nft list table inet cell 2>/dev/null | grep -c "@$BA2\"\|cell-ctr:cx-$tag\"")" 0 "A2's rules are gone"
check "network rm cnet" -- "$CELL" --root "$C" network rm cnet
check "detach B's container" -- "$NT" detach "$B" cb-$tag
check "network rm B's cell0" -- "$CELL" --root "$B" network rm cell0
fails "B's bridge is gone with it" -- ip link show dev "$BB"
is "$(nft list table inet cell 2>/dev/null | grep -c "@$BB\"")" 0 "and its rules"
is "$(others)" "$others_before" "every other nft table is unchanged"
