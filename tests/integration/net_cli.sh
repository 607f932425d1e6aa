#!/bin/bash
# `cell network` and `cell netns` from the command line: create/ls/inspect/
# rm/prune with their refusals, the default network cell0 (on a bridge of
# the root's own), and /run/netns
# files that `ip netns` and `cell netns` share both ways.
. "$(dirname "$0")/../lib/tap.sh"
need_root
for t in ip nft jq unshare; do command -v $t >/dev/null || skip_all "needs $t"; done
NT=$CELL_BUILD/tests/nettool
tmpdir; R=$TMPD/root
C() { "$CELL" --root "$R" "$@"; }
tag=$$
fwd_before=$(cat /proc/sys/net/ipv4/ip_forward)
defer "echo $fwd_before > /proc/sys/net/ipv4/ip_forward"
had_table=0; nft list table inet cell >/dev/null 2>&1 && had_table=1

# ---- cell network -------------------------------------------------------------
is "$(C network ls -q)" "" "no network in a fresh root"
S1=10.249.$((tag % 200)).0/24
id=$(C network create --subnet $S1 --gateway 10.249.$((tag % 200)).254 --ip-range 10.249.$((tag % 200)).128/25 n1)
like "$id" '^[0-9a-f]{64}$' "create prints the network id"
BR=$(C network inspect n1 | jq -r '.[0].Options["com.docker.network.bridge.name"]')
defer "'$CELL' --root '$R' network rm -f n1; ip link del '$BR'"
is "$(C network inspect n1 | jq -r '.[0].IPAM.Config[0] | "\(.Subnet) \(.Gateway) \(.IPRange)"')" \
	"$S1 10.249.$((tag % 200)).254 10.249.$((tag % 200)).128/25" "inspect shows subnet, gateway and range"
is "$(C network inspect -f '{{.Name}} {{.Driver}}' n1)" "n1 bridge" "inspect -f TEMPLATE"
is "$(C network inspect --format json n1 | jq -r '.[0].Name')" "n1" "inspect --format json"
fails "inspect with an unknown option" -- C network inspect --bogus n1
like "$LAST_OUT" "unknown option" "... says so"
is "$(ip -4 -br addr show dev "$BR" | awk '{print $3}')" "10.249.$((tag % 200)).254/24" "the bridge has the chosen gateway"
is "$(cat "$R/networks/n1.json" | jq -r .subnet)" "$S1" "stored in <root>/networks/n1.json"
is "$(C network ls -q)" "${id:0:12}" "ls -q prints the short id"
is "$(C network ls -q --no-trunc)" "$id" "ls -q --no-trunc the full one"
is "$(C network ls --format json | jq -r '.[0].Name')" n1 "ls --format json"
like "$(C network ls)" "^NETWORK ID +NAME +DRIVER" "ls prints a table header"
fails "a second n1 is refused" -- C network create n1
like "$LAST_OUT" "network .n1. exists already" "with a clear message"
fails "inspect of an unknown network fails" -- C network inspect nope$tag
like "$LAST_OUT" "network .nope$tag. not found" "and says so"
fails "--subnet that is not a prefix" -- C network create --subnet 10.1.2 nx
fails "--ip-range outside the subnet" -- C network create --subnet 10.248.1.0/24 --ip-range 10.248.2.0/25 nx
fails "a bad name" -- C network create 'a b'
fails "--driver other than bridge" -- C network create --driver macvlan nx
is "$(C network ls -q | wc -l)" 1 "the refusals created nothing"

unshare --net sleep 1000 & P=$!; defer "kill $P"; sleep 0.2
"$NT" attach "$R" n1 ctr-$tag $P --hostname box >/dev/null
defer "'$NT' detach '$R' ctr-$tag"
like "$(C network inspect n1 | jq -r ".[0].Containers[\"ctr-$tag\"].IPv4Address")" \
	"^10\.249\.$((tag % 200))\.(1[3-9][0-9]|2[0-4][0-9]|12[89])/24$" "the address comes from --ip-range"
fails "rm of a network in use is refused" -- C network rm n1
like "$LAST_OUT" "in use by container .ctr-$tag." "naming the container"
C network prune >/dev/null
is "$(C network ls -q | wc -l)" 1 "prune keeps a network in use"
kill $P; wait $P 2>/dev/null
like "$(C network prune)" "Released 1 lease" "prune releases the dead container's lease"
is "$(C network ls -q | wc -l)" 0 "and removes the network it no longer uses"
fails "and its bridge" -- ip link show dev "$BR"

# ---- the default network ---------------------------------------------------------------
# a root of its own gets a bridge of its own, never the host's shared cell0
unshare --net sleep 1000 & P=$!; defer "kill $P"; sleep 0.2
check "attach to the default network creates it" -- "$NT" attach "$R" cell0 d-$tag $P
BR0=$(C network inspect cell0 | jq -r '.[0].Options["com.docker.network.bridge.name"]')
defer "'$CELL' --root '$R' network rm -f cell0; ip link del '$BR0' 2>/dev/null"
defer "'$NT' detach '$R' d-$tag"
like "$BR0" '^c0-[0-9a-f]{8}$' "its bridge is $BR0 (c0-<hash of the root>), not cell0"
SUB0=$(C network inspect cell0 | jq -r '.[0].IPAM.Config[0].Subnet')
ok "$(ip -4 route show table all | grep -v " dev $BR0" | awk '{print $1}' | while read -r r; do
	[ "$r" = default ] && continue; python3 -c "import ipaddress,sys; sys.exit(0 if ipaddress.ip_network('$r',False).overlaps(ipaddress.ip_network('$SUB0')) else 1)" && echo "$r"; done | wc -l)" \
	"the default network's subnet $SUB0 collides with no host route"
like "$(ip -d link show dev "$BR0")" "alias cell:net=[0-9a-f]+ root=$(realpath "$R")$" "bridge $BR0 names its root"
check "detach" -- "$NT" detach "$R" d-$tag
check "network rm cell0" -- C network rm cell0
fails "its bridge is gone" -- ip link show dev "$BR0"

# ---- netns files, both ways ------------------------------------------------------------
A=cellt-a-$tag B=cellt-b-$tag
check "cell netns add" -- C netns add $A
defer "ip netns del $A"
like "$(ip netns list)" "^$A( |$)" "ip netns sees it"
check "ip netns exec runs in it" -- ip netns exec $A ip link set lo up
like "$(C netns exec $A ip -br link show dev lo)" "UNKNOWN|UP" "cell netns exec sees the change"
ip netns add $B; defer "ip netns del $B"
like "$(C netns ls)" "$B" "cell netns ls sees ip's netns"
mkdir -p /etc/netns/$B; defer "rm -rf /etc/netns/$B"
echo "nameserver 10.9.9.9" > /etc/netns/$B/resolv.conf
is "$(C netns exec $B cat /etc/resolv.conf)" "nameserver 10.9.9.9" "exec binds /etc/netns/NAME files over /etc"
is "$(C netns exec $B ls /sys/class/net)" "lo" "exec remounts /sys for the netns"
C netns exec $B false; is $? 1 "exec returns the command's status"
C netns exec $B /nonexistent/cmd 2>/dev/null; is $? 127 "127 when the command cannot run"
fails "add of an existing name fails" -- C netns add $A
check "cell netns del of ip's netns" -- C netns del $B
fails "gone for ip netns too" -- ip netns exec $B true
check "cell netns del" -- C netns del $A
is "$(findmnt -no PROPAGATION /run/netns)" shared "/run/netns stays a shared mount point"

# ---- attach by netns file (no process), as `cell run --netns-name` would --------------
check "network create" -- C network create --subnet 10.249.$((tag % 200)).0/24 n2
BR2=$(C network inspect n2 | jq -r '.[0].Options["com.docker.network.bridge.name"]')
defer "'$CELL' --root '$R' network rm -f n2; ip link del '$BR2'"
C netns add $A
check "attach a named netns with pid 0" -- "$NT" attach "$R" n2 byfile-$tag 0 --netns /run/netns/$A
defer "'$NT' detach '$R' byfile-$tag"
like "$(ip netns exec $A ip -4 -br addr show dev eth0)" "10\.249\.$((tag % 200))\.2/24" "ip netns exec sees the address"
is "$("$NT" info "$R" | jq -c '[.ip_forward, .nft_table, .networks, .leases]')" "[true,true,1,1]" "cell_net_info reports forwarding, table, networks, leases"
C network prune >/dev/null
is "$(ls "$R/networks/n2.leases" | wc -l)" 1 "prune keeps the lease while the netns file exists"
C netns del $A
like "$(C network prune)" "Released 1 lease" "and releases it once the file is gone"
is "$(C network ls -q | wc -l)" 0 "the unused network goes too"

if [ $had_table = 0 ]; then
	fails "no table inet cell left" -- nft list table inet cell
else
	skip "table inet cell was there before this test"
fi
