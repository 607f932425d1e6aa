#!/bin/bash
# `cell network disconnect` through the library's cell_net_detach_network():
# a container joined to two networks (each with a published port) leaves
# one; its interface, lease and that network's DNAT rule go, the other
# network's rule stays (put back after the container's rules were cleared),
# its /etc/hosts passes to the network it keeps, a second disconnect is
# refused in one line, and rm leaves nothing. Packets go only to loopback
# and to the namespaces of the containers made here.
. "$(dirname "$0")/../lib/tap.sh"
need_root
command -v jq >/dev/null || skip_all "needs jq"
"$CELL" network --help 2>/dev/null | grep -q disconnect || skip_all "no \`cell network disconnect\` in this build"
tmpdir
# private copies: a rebuild of build/ meanwhile cannot break the test
mkdir -p "$TMPD/bin" && cp "$CELL" "$TMPD/bin/" && CELL=$TMPD/bin/cell
for m in "$CELL_BUILD/cell-monitor" "$CELL_BUILD/src/monitor/cell-monitor"; do [ -x "$m" ] && cp "$m" "$TMPD/bin/" && break; done
for m in "$CELL_BUILD/cell-dns" "$CELL_BUILD/src/dns/cell-dns"; do [ -x "$m" ] && cp "$m" "$TMPD/bin/" && break; done
R=$TMPD/root
c() { "$CELL" --root "$R" "$@"; }
cleanup() {
	local i
	for i in $(c ps -aq --no-trunc 2>/dev/null); do c rm -f "$i" >/dev/null; done
	for i in $(ls "$R/networks" 2>/dev/null | sed -n 's/\.json$//p'); do c network rm -f "$i" >/dev/null; done
	grep -o " $R/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
}
defer cleanup
tar -C "$(test_rootfs)" -cf "$TMPD/rootfs.tar" . || skip_all "cannot build the test rootfs"
c image import --change 'CMD ["sh"]' "$TMPD/rootfs.tar" busybox:latest >/dev/null 2>&1 || skip_all "image import failed"
tag=$$ S=$((tag % 200))
free_port P1; free_port P2

check "network create n1" -- c network create --subnet 10.236.$S.0/24 n1
check "network create n2" -- c network create --subnet 10.237.$S.0/24 n2
id=$(c run -d --name t$tag --network none busybox sleep 600)
like "$id" '^[0-9a-f]{64}$' "a container without a network runs"
check "connect n1 with -p 127.0.0.1:$P1:80" -- c network connect -p 127.0.0.1:$P1:80 n1 t$tag
check "connect n2 with -p 127.0.0.1:$P2:80" -- c network connect -p 127.0.0.1:$P2:80 n2 t$tag
V1=$(c network inspect n1 | jq -r ".[0].Containers[\"$id\"].Veth")
IP2=$(c network inspect n2 | jq -r ".[0].Containers[\"$id\"].IPv4Address" | cut -d/ -f1)
is "$(nft list chain inet cell published | grep -c "cell-ctr:$id\"")" 2 "two DNAT rules"
check "its n1 veth $V1 is on the host" -- ip link show dev "$V1"

check "disconnect n1" -- c network disconnect n1 t$tag
is "$(c network inspect n1 | jq -r '.[0].Containers | length')" 0 "no lease left on n1"
fails "the n1 veth is gone" -- ip link show dev "$V1"
is "$(nft list chain inet cell published | grep "cell-ctr:$id\"" | grep -c "dport $P1 ")" 0 "n1's DNAT rule is gone"
is "$(nft list chain inet cell published | grep "cell-ctr:$id\"" | grep -c "dport $P2 dnat ip to $IP2:80")" 1 \
	"n2's DNAT rule is back"
like "$(c exec t$tag cat /etc/hosts)" "$IP2	" "its /etc/hosts now follows n2 ($IP2)"
is "$(c exec t$tag ip -o -4 addr show | grep -c "10.236.$S.")" 0 "no n1 address inside"
fails "a second disconnect is refused" -- c network disconnect n1 t$tag
like "$LAST_OUT" "container \`t$tag\` is not connected to network \`n1\`" "in one line naming both"
is "$(printf '%s\n' "$LAST_OUT" | wc -l)" 1 "(one line)"

check "disconnect n2" -- c network disconnect n2 t$tag
like "$(c exec t$tag cat /etc/hosts)" "127.0.1.1	" "with no network left its /etc/hosts keeps its own name"
is "$(nft list chain inet cell published | grep -c "cell-ctr:$id\"")" 0 "no DNAT rule left"
check "rm -f" -- c rm -f t$tag
check "network rm n1 n2" -- c network rm n1 n2
