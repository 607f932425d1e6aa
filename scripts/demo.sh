#!/bin/bash
# `make demo`: the seeds' scenario (two containers, each in its own network
# namespace, joined to a bridge by veth pairs, one subnet, routed through the
# bridge, masqueraded to the outside, reached from outside by DNAT) played
# with cell, each command echoed before it runs, one comment per step saying
# which kernel feature it shows.
#
#   scripts/demo.sh [--root DIR]     (or CELL_ROOT=DIR; default /var/lib/cell)
#   CELL=path/to/cell                (default build/cell)
#
# Needs root and busybox:latest in the root (`make image`; imported here when
# missing). Sends packets only to loopback and to namespaces it creates, and
# removes everything it made when it ends, also when a step fails.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
CELL=${CELL:-$top/build/cell}
ROOT=${CELL_ROOT:-}
while [ $# -gt 0 ]; do
	case $1 in
	--root) ROOT=${2:?--root needs a directory}; shift 2 ;;
	--root=*) ROOT=${1#--root=}; shift ;;
	-h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo: unknown argument \`$1\` (see --help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "demo: needs root (namespaces, bridges, nftables)" >&2; exit 1; }
[ -x "$CELL" ] || { echo "demo: $CELL not built (run make)" >&2; exit 1; }
command -v ip >/dev/null && command -v ss >/dev/null ||
	{ echo "demo: needs ip and ss (apt-get install iproute2) for the outside world" >&2; exit 1; }
command -v busybox >/dev/null ||
	{ echo "demo: needs busybox on the host for the outside world's server (make deps installs busybox-static)" >&2; exit 1; }

cell() { "$CELL" ${ROOT:+--root "$ROOT"} "$@"; }
bold=""; plain=""
if [ -t 1 ]; then bold=$'\e[1m'; plain=$'\e[0m'; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
say() { printf '   # %s\n' "$*"; }
# Echo a command line, then run it (a string, so that pipes show as typed).
run() { printf '%s$ %s%s\n' "$bold" "$1" "$plain"; eval "$1"; }

NET=demo0 OUTNS=demo-outside HOSTVETH=demo-out0 PORT=8080
made_net=0 made_ns=0 made_veth=0 server=""
cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	step "(g) cleanup: everything the demo made goes"
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	cell network inspect "$NET" 2>/dev/null | grep -q '"c2"' && run "cell network disconnect $NET c2"
	for c in c1 c2 c3; do
		cell inspect "$c" >/dev/null 2>&1 && run "cell rm -f $c >/dev/null"
	done
	[ "$made_net" = 1 ] && run "cell network rm $NET"
	[ "$made_veth" = 1 ] && run "ip link del $HOSTVETH"
	[ "$made_ns" = 1 ] && run "cell netns del $OUTNS"
	if [ "$rc" = 0 ]; then echo; echo "demo: done; everything it made is removed"
	else echo; echo "demo: a step failed (status $rc); cleaned up" >&2; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# what the demo is about to make must not exist yet (never take over a
# user's container, network or namespace)
for c in c1 c2 c3; do
	if cell inspect "$c" >/dev/null 2>&1; then
		echo "demo: a container named $c exists in ${ROOT:-/var/lib/cell}: remove it or use --root DIR" >&2
		trap - EXIT; exit 1
	fi
done
if cell network inspect "$NET" >/dev/null 2>&1; then
	echo "demo: network $NET exists already: remove it or use --root DIR" >&2; trap - EXIT; exit 1
fi
if [ -e "/run/netns/$OUTNS" ] || ip link show "$HOSTVETH" >/dev/null 2>&1; then
	echo "demo: /run/netns/$OUTNS or link $HOSTVETH exists (an earlier demo killed hard?): remove it first" >&2
	trap - EXIT; exit 1
fi
if ! cell image inspect busybox:latest >/dev/null 2>&1; then
	echo "demo: importing busybox:latest (scripts/mkimage-busybox.sh)"
	CELL=$CELL CELL_ROOT=${ROOT:-/var/lib/cell} "$top/scripts/mkimage-busybox.sh"
fi

# A /30 for the outside world that no host address or route covers, in the
# RFC 2544 benchmark range 198.18.0.0/15 (never routed on the internet).
OUT=""
for x in $(shuf -i 0-255 -n 60); do
	if [ -z "$(ip -4 route show to match "198.18.$x.1" | grep -v '^default')" ] &&
	   [ -z "$(ip -4 addr show to "198.18.$x.0/24")" ]; then OUT=198.18.$x; break; fi
done
[ -n "$OUT" ] || { echo "demo: no free 198.18.X.0/24 for the outside world" >&2; exit 1; }

echo "cell demo: the seeds' two containers, step by step${ROOT:+ (engine root $ROOT)}"

step "(a) PID namespace: unshare(CLONE_NEWPID), then fork"
say "with --fork the command is the first process of the new pid namespace: pid 1,"
say "and --mount-proc gives it a /proc that shows only that namespace"
run "cell unshare --fork --pid --mount-proc sh -c 'echo \"my pid: \$\$\"; ps -o pid,comm'"
say "without --fork the caller stays outside: only its first child is pid 1 (cell warns)"
run "cell unshare --pid sh -c 'echo \"shell pid: \$\$\"; sh -c \"echo child pid: \\\$\\\$\"'"

step "(b) a bridge network: a Linux bridge with the gateway address, IPAM, nftables masquerade"
SUBNET=""
if [ -z "$(ip -4 route show to match 172.18.0.1 | grep -v '^default')" ] &&
   [ -z "$(ip -4 route show root 172.18.0.0/16)" ]; then
	SUBNET=172.18.0.0/16	# the seeds' subnet, free on this host
	say "the seeds' subnet 172.18.0.0/16 collides with no route here: take it"
	run "cell network create --subnet $SUBNET $NET"
else
	say "the seeds' 172.18.0.0/16 is in use on this host: let cell pick a free subnet"
	run "cell network create $NET"
fi
made_net=1
run "cell network ls"

step "(c) two containers, each in its own namespaces (pid, net, mnt, uts, ipc), on $NET"
say "c1 joins $NET when it starts: a veth pair, one end on the bridge, the other renamed eth0 inside"
run "cell run -d --name c1 --hostname c1 --network $NET busybox sleep 3600"
say "c2 starts with no network (only lo), then is connected while it runs, as the seeds"
say "do with 'ip link set cpeer2 netns c2': the veth end moves into its namespace"
run "cell run -d --name c2 --hostname c2 --network none busybox sleep 3600"
run "cell exec c2 ip link"
run "cell network connect $NET c2"
say "their namespaces, found by lsns's method (/proc/*/ns), with the container owning each"
run "cell ns ls | awk 'NR == 1 || \$6 == \"c1\" || \$6 == \"c2\"'"
say "inside c1's network namespace (setns, as nsenter)"
run "cell enter c1 ip addr"
run "cell enter c1 ip route"
IP1=$(cell exec c1 ip -o -4 addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
IP2=$(cell exec c2 ip -o -4 addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
say "c1 reaches c2 through the bridge: by address, then by name (/etc/hosts kept by cell)"
run "cell exec c1 ping -c 2 -W 2 $IP2"
run "cell exec c1 ping -c 2 -W 2 c2"
run "cell exec c2 ping -c 1 -W 2 c1"

step "(d) the outside world: masquerade (nftables SNAT to the host's address) on the way out"
say "a namespace standing for the internet, made with cell netns (ip netns add)"
run "cell netns add $OUTNS"
made_ns=1
say "scaffolding only, with iproute2 (cell has no veth command): a cable from the host to it"
run "ip link add $HOSTVETH type veth peer name eth0 netns $OUTNS"
made_veth=1
run "ip addr add $OUT.1/30 dev $HOSTVETH && ip link set $HOSTVETH up"
run "cell netns exec $OUTNS sh -c 'ip addr add $OUT.2/30 dev eth0 && ip link set eth0 up && ip link set lo up'"
say "it knows no route to the containers' subnet: replies can only go to the host's $OUT.1"
run "cell netns exec $OUTNS ip route"
say "a TCP server there (busybox nc): it answers with the peer address it sees (ss)"
SERVER='read l; peer=$(ss -Htn "( sport = :7777 )" | awk "{print \$5}" | sed "s/^.::ffff://; s/]//" | head -n 1); echo "outside got \"$l\" from $peer"'
printf '%s$ %s%s\n' "$bold" "cell netns exec $OUTNS busybox nc -ll -p 7777 -e /bin/sh -c '$SERVER' &" "$plain"
# "$CELL" itself, not the cell function: $! is then the server's own pid
"$CELL" ${ROOT:+--root "$ROOT"} netns exec "$OUTNS" busybox nc -ll -p 7777 -e /bin/sh -c "$SERVER" &
server=$!
for _ in $(seq 50); do
	cell netns exec "$OUTNS" ss -Htln 'sport = :7777' 2>/dev/null | grep -q . && break
	sleep 0.1
done
say "c1 ($IP1) connects; the server sees the host's $OUT.1 instead: masqueraded"
run "cell exec c1 sh -c 'echo hello from c1 | timeout 5 nc $OUT.2 7777'"

step "(e) port publishing: DNAT from a host port to a container"
if ss -Htln "sport = :$PORT" | grep -q .; then
	PORT=$(shuf -i 20000-40000 -n 1)
	say "host port 8080 is taken here: publishing on $PORT instead"
fi
run "cell run -d --name c3 --hostname c3 --network $NET -p 127.0.0.1:$PORT:80 busybox sh -c 'mkdir -p /www && echo \"<h1>hello from c3</h1>\" > /www/index.html && exec httpd -f -p 80 -h /www'"
run "cell port c3"
command -v nft >/dev/null && run "nft list chain inet cell published | grep -e chain -e 'dport $PORT'"
if command -v busybox >/dev/null; then GET="busybox wget -qO- http://127.0.0.1:$PORT/"
elif command -v wget >/dev/null; then GET="wget -qO- http://127.0.0.1:$PORT/"
else GET="curl -fsS http://127.0.0.1:$PORT/"; fi
for _ in $(seq 30); do timeout 5 $GET >/dev/null 2>&1 && break; sleep 0.1; done
say "from the host: 127.0.0.1:$PORT is rewritten to c3's address, port 80"
run "$GET"

step "(f) the live topology, drawn like the seeds' diagram (mermaid)"
run "cell network diagram"
