#!/bin/bash
# 50 containers started with `cell run -d` at once on a bridge network, each
# publishing a port, then removed at once with `rm -f`: every run succeeds
# with its own address, and afterwards no container directory, runtime state,
# cgroup, mount, veth, lease, nft rule or netns file is left.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
for t in ip nft jq; do command -v $t >/dev/null || skip_all "needs $t"; done
engine_setup
N=${ENGINE_PARALLEL_N:-50}
NET=par$$
check "network create" -- c network create --subnet "10.247.$(($$ % 250)).0/24" "$NET"
BR=$(c network inspect "$NET" | jq -r '.[0].Options["com.docker.network.bridge.name"]')
defer "'$CELL' --root '$R' network rm -f '$NET' >/dev/null 2>&1; ip link del '$BR' 2>/dev/null"
veths_before=$(ip -o link show type veth | wc -l)
netns_before=$(ls /run/netns 2>/dev/null | wc -l)

for i in $(seq "$N"); do
	"$CELL" --root "$R" run -d --network "$NET" -p "$((30000 + i)):80" --name "p$i" busybox sleep 1000 \
		> "$TMPD/run$i" 2> "$TMPD/err$i" &
done
wait
is "$(cat "$TMPD"/run* | grep -cE '^[0-9a-f]{64}$')" "$N" "$N concurrent run -d succeeded"
cat "$TMPD"/err* | head -3 | sed 's/^/# /'
is "$(c ps -q | wc -l)" "$N" "ps shows $N running"
ips=$(for i in $(seq "$N"); do c inspect -f "{{.NetworkSettings.IPAddress}}" "p$i"; done)
is "$(echo "$ips" | grep -c '^10\.247\.')" "$N" "each has an address on the network"
is "$(echo "$ips" | sort -u | wc -l)" "$N" "$N distinct addresses"
is "$(ip -o link show master "$BR" | wc -l)" "$N" "$N veths on the bridge"
is "$(ls "$R/networks/$NET.leases" | wc -l)" "$N" "$N leases"
is "$(nft list table inet cell 2>/dev/null | grep -c 'dport 300[0-9][0-9]')" "$N" "$N published-port rules"

ids=$(c ps -aq --no-trunc)	# all: a failed run would stay as exited
for id in $ids; do c rm -f "$id" > /dev/null 2>&1 & done
wait
is "$(c ps -aq | wc -l)" "0" "all removed at once"
is "$(ls "$R/containers" | grep -cv '^\.names$')" "0" "no container directory left"
left=""
for id in $ids; do
	[ -e "/run/cell/runtime/$id" ] && left+=" state:${id:0:12}"
	ls -d /sys/fs/cgroup/*/cell/"$id" >/dev/null 2>&1 && left+=" cgroup:${id:0:12}"
	grep -q "$id" /proc/mounts && left+=" mount:${id:0:12}"
done
is "${left:-none}" "none" "no runtime state, cgroup or mount left"
is "$(ip -o link show master "$BR" | wc -l)" "0" "no veth left on the bridge"
is "$(ip -o link show type veth | wc -l)" "$veths_before" "no veth left on the host"
is "$(ls "$R/networks/$NET.leases" | wc -l)" "0" "no lease left"
is "$(nft list table inet cell 2>/dev/null | grep -c 'dport 300[0-9][0-9]')" "0" "no published-port rule left"
is "$(ls /run/netns 2>/dev/null | wc -l)" "$netns_before" "no netns file left"
