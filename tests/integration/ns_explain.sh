#!/bin/bash
# --explain --dry-run on `cell network create` and `cell run --network`:
# scripts printed, nothing created; then the printed scripts, run as root
# with this test's own names (bridge, nft table, netns, veths), build two
# containers that ping each other, and everything is removed.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
engine_setup
for t in ip nft nsenter unshare; do command -v $t >/dev/null || skip_all "no $t"; done

SUB=10.$((231 + RANDOM % 4)).$((RANDOM % 256))
NET=nx$$
ip route | grep -q "^$SUB\." && skip_all "$SUB.0/24 is in use on this host"
nodes() { ls -A "$R/containers" 2>/dev/null | grep -cv '^\.names$'; }

# network create --explain --dry-run: a script, no network
check "network create --explain --dry-run" -- \
	"$CELL" --root "$R" network create --explain --dry-run --subnet "$SUB.0/24" "$NET"
"$CELL" --root "$R" network create --explain --dry-run --subnet "$SUB.0/24" "$NET" > "$TMPD/net.sh" 2>&1
like "$(cat "$TMPD/net.sh")" "SUBNET=\\\$\\{SUBNET:-$SUB.0/24\\}" "the script uses the asked subnet"
like "$(cat "$TMPD/net.sh")" "ip link add \"\\\$BR\" type bridge" "it makes a bridge with ip"
like "$(cat "$TMPD/net.sh")" "^# .*" "it explains"
check "the network script is valid bash" -- bash -n "$TMPD/net.sh"
fails "--dry-run created no network" -- "$CELL" --root "$R" network inspect "$NET"
fails "--dry-run alone is refused" -- "$CELL" --root "$R" network create --dry-run "$NET"
ip link show "ce-$NET" >/dev/null 2>&1; ok $((!$?)) "no bridge made by the dry run"

# run --explain --dry-run on a real network: its real subnet, no container
defer "'$CELL' --root '$R' network rm -f '$NET'"
"$CELL" --root "$R" network create --subnet "$SUB.0/24" "$NET" >/dev/null 2>&1 || skip_all "cannot create network $SUB.0/24"
check "run --explain --dry-run --network" -- c run --explain --dry-run --network "$NET" --name c1 busybox sleep 100
c run --explain --dry-run --network "$NET" --name c1 busybox sleep 100 > "$TMPD/run.sh" 2>&1
like "$(cat "$TMPD/run.sh")" "SUBNET=\\\$\\{SUBNET:-$SUB.0/24\\}" "the run script uses the network's subnet"
like "$(cat "$TMPD/run.sh")" "unshare --fork .*--pid --mount --uts --ipc --net --mount-proc --root" "unshare with every namespace"
like "$(cat "$TMPD/run.sh")" "mount -t overlay overlay -o lowerdir=$R/layers/" "an overlay of the image's layers"
like "$(cat "$TMPD/run.sh")" "nsenter -t \"\\\$PID\" -n ip addr add" "nsenter for the address"
like "$(cat "$TMPD/run.sh")" "'sleep' '100' &" "the command"
check "the run script is valid bash" -- bash -n "$TMPD/run.sh"
is "$(nodes)" 0 "--dry-run created no container"
is "$(ls -A "$R/containers/.names" 2>/dev/null | wc -l)" 0 "--dry-run took no name"
fails "--dry-run alone is refused" -- c run --dry-run busybox true
c run --explain --dry-run --network "$NET" -p 8080:80 busybox true > "$TMPD/p.sh" 2>&1
like "$(cat "$TMPD/p.sh")" "dport 8080 dnat ip to \"\\\$\\{IP%/\\*\\}\":80" "-p: a DNAT rule"
# without --dry-run: the script first, then the container as usual
c run --explain --rm busybox echo ran-it > "$TMPD/real.out" 2>&1
ok $? "run --explain without --dry-run runs the container"
like "$(cat "$TMPD/real.out")" "^#!/bin/bash" "the script comes first"
like "$(tail -1 "$TMPD/real.out")" "^ran-it$" "then the container's output"
like "$("$CELL" run --help)" "--explain" "run --help names --explain"
like "$("$CELL" network --help)" "--explain" "network --help names --explain"
# the real network's bridge would own the same gateway: gone before the scripts run
"$CELL" --root "$R" network rm -f "$NET" >/dev/null 2>&1

# run the scripts: a network, two containers, each with its own names
BR=cx$$ TABLE=cell_explain_$$
defer "ip link del '$BR'"
defer "nft delete table inet '$TABLE'"
check "the network script runs" -- env BR="$BR" TABLE="$TABLE" bash "$TMPD/net.sh"
for i in 1 2; do
	ns=cellx$$-$i
	defer "ip link del 'vx$$-$i'"
	defer "ip netns delete '$ns'"
	defer "grep -o ' $TMPD/c$i/[^ ]*' /proc/mounts | xargs -r -n1 umount -l"
	env BR="$BR" TABLE="$TABLE" CTR="$ns" ROOT="$TMPD/c$i" IP="$SUB.$((i + 1))/24" VETH="vx$$-$i" \
		bash "$TMPD/run.sh" > "$TMPD/c$i.out" 2>&1
	ok $? "container $i script runs" || sed 's/^/#   /' "$TMPD/c$i.out"
	pid=$(sed -n 's/^container .*: pid \([0-9]*\)$/\1/p' "$TMPD/c$i.out")
	[ -n "$pid" ] && defer "kill -9 $pid"
	eval "PID$i=\${pid:-0}"
	# the container's init: unshare's one child (PID 1 inside)
	child=$(cat /proc/"${pid:-0}"/task/"${pid:-0}"/children 2>/dev/null | tr -d ' ')
	eval "INIT$i=\${child:-0}"
done
# ping from inside, with the container's own busybox: its mount, net and root
inside() { local n=$1; shift; nsenter -t "$n" -m -n -p -r "$@"; }
is "$(ip netns exec cellx$$-1 ip -4 -o addr show eth0 2>&1 | grep -o "$SUB\.2/24")" "$SUB.2/24" "container 1 has its address"
check "container 1 pings container 2" -- inside "$INIT1" ping -c1 -W3 "$SUB.3"
check "container 2 pings container 1" -- inside "$INIT2" ping -c1 -W3 "$SUB.2"
fails "container 1 does not reach an address nobody has" -- inside "$INIT1" ping -c1 -W1 "$SUB.9"
is "$(nsenter -t "$PID1" -u hostname 2>&1)" cellx$$-1 "the hostname is the container's"
is "$(inside "$INIT1" cat /proc/1/comm 2>&1)" sleep "pid 1 inside is the command (fresh /proc)"

# --network container:, phys:, volumes and several networks
tgt=$(c run -d --name xtgt busybox sleep 100)
tpid=$(c inspect -f '{{.State.Pid}}' xtgt)
"$CELL" --root "$R" run --explain --dry-run --network container:xtgt busybox sleep 100 > "$TMPD/ctr.sh" 2>&1
like "$(cat "$TMPD/ctr.sh")" "NETPID=\\\$\\{NETPID:-$tpid\\}" "container: the script names the other container's init"
like "$(cat "$TMPD/ctr.sh")" "nsenter --net=/proc/\\\$NETPID/ns/net unshare --fork .*--ipc --mount-proc" "container: nsenter into its netns, unshare without --net"
check "the container: script is valid bash" -- bash -n "$TMPD/ctr.sh"
defer "grep -o ' $TMPD/c3/[^ ]*' /proc/mounts | xargs -r -n1 umount -l"
CTR=cellx$$-3 ROOT="$TMPD/c3" bash "$TMPD/ctr.sh" > "$TMPD/c3.out" 2>&1
ok $? "the container: script runs" || sed 's/^/#   /' "$TMPD/c3.out"
pid3=$(sed -n 's/^container .*: pid \([0-9]*\)$/\1/p' "$TMPD/c3.out")
[ -n "$pid3" ] && defer "kill -9 $pid3"
init3=$(cat /proc/"${pid3:-0}"/task/"${pid3:-0}"/children 2>/dev/null | tr -d ' ')
is "$(readlink /proc/"${init3:-0}"/ns/net)" "$(readlink /proc/$tpid/ns/net)" "... and its process shares the other container's network namespace"
[ "$(readlink /proc/"${init3:-0}"/ns/mnt)" != "$(readlink /proc/$tpid/ns/mnt)" ]; ok $? "... but not its mount namespace"
c stop -t 0 xtgt >/dev/null
fails "container: of a stopped container is refused" -- c run --explain --dry-run --network container:xtgt busybox true
like "$LAST_OUT" "not running" "... saying why"
c rm -f xtgt >/dev/null

"$CELL" --root "$R" run --explain --dry-run --network phys:nosuch0 busybox true > "$TMPD/phys.sh" 2>&1
like "$(cat "$TMPD/phys.sh")" "ip link set \"\\\$IF\" netns \"\\\$PID\"" "phys: the interface is moved into the namespace"
like "$(cat "$TMPD/phys.sh")" "unshare --fork .*--net --mount-proc" "phys: with a new network namespace"
check "the phys: script is valid bash" -- bash -n "$TMPD/phys.sh"
c run --explain --dry-run -v vol1:/data:ro -v /anon busybox true > "$TMPD/vol.sh" 2>&1
like "$(cat "$TMPD/vol.sh")" "mount --bind '$R/volumes/vol1/_data' \"\\\$ROOT/rootfs\"'/data'" "a named volume is bound from cell's volume directory"
like "$(cat "$TMPD/vol.sh")" "-v /anon: an anonymous volume" "an anonymous volume is explained"
fails "several networks are not explained" -- "$CELL" --root "$R" run --explain --dry-run --network a --network b busybox true
like "$LAST_OUT" "one network per container" "... with a clear message"
is "$(nodes)" 0 "no container left by these dry runs"
