#!/bin/bash
# `cell ns ls` against util-linux `lsns` on namespaces this test makes with
# unshare(1) and ip-netns(8), plus the CONTAINER column for a runc container
# and a cell-runtime state file. Every process is killed by pid at exit,
# the netns file removed, the container deleted.
. "$(dirname "$0")/../lib/tap.sh"
need_root
command -v lsns >/dev/null && command -v jq >/dev/null && command -v unshare >/dev/null ||
	skip_all "needs lsns, unshare (util-linux) and jq"
tmpdir
# a private copy: other builds relink $CELL while tests run; take it whole
chmod 755 "$TMPD"
for _i in $(seq 30); do
	cp "$CELL" "$TMPD/cell" 2>/dev/null && "$TMPD/cell" ns ls -n -o NS >/dev/null 2>&1 && break
	sleep 1
done
"$TMPD/cell" ns ls -n -o NS >/dev/null 2>&1 || skip_all "no working $CELL to test (the build is broken or relinking)"
CELL=$TMPD/cell

# bg VAR CMD...: start CMD in the background, its pid in VAR, killed at exit
bg() {
	local v=$1; shift
	"$@" </dev/null >/dev/null 2>&1 &
	printf -v "$v" %s "$!"
	defer "kill -KILL $! 2>/dev/null; wait $! 2>/dev/null"
}
# child_of PID: the first child of PID (waits up to 5 s)
child_of() {
	local i c
	for i in $(seq 50); do
		c=$(cat /proc/"$1"/task/*/children 2>/dev/null | awk '{print $1}')
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.1
	done
	return 1
}
ino() { stat -L -c %i "$1"; }
# Same namespaces, as "ns type nprocs pid" lines, restricted to those whose
# lowest pid is one of ours (nprocs of the host's own namespaces move as
# other tests run).
sel() { jq -r --argjson pids "[$PIDS]" '.namespaces[] | select(.pid as $p | $pids | index($p)) | "\(.ns) \(.type) \(.nprocs) \(.pid)"' | sort; }

bg A unshare --uts --ipc --net sleep 300
bg B unshare --kill-child --fork --pid --mount-proc --uts sleep 300
BS=$(child_of "$B") && defer "kill -KILL $BS 2>/dev/null"
PIDS="$A,$B,$BS"
sleep 0.2

lsns_a=$(lsns -J -l -p "$A" -o NS,TYPE,NPROCS,PID | sel)
cell_a=$("$CELL" ns ls -J -p "$A" -o NS,TYPE,NPROCS,PID | sel)
is "$cell_a" "$lsns_a" "ns ls -p: same namespaces, types, counts and pids as lsns for unshare --uts --ipc --net"
is "$(printf '%s\n' "$cell_a" | wc -l)" 3 "three new namespaces for that process (uts, ipc, net)"
like "$cell_a" "^$(ino /proc/$A/ns/uts) uts 1 $A\$" "its uts namespace: inode of /proc/PID/ns/uts, 1 process"

lsns_b=$(lsns -J -l -o NS,TYPE,NPROCS,PID | sel)
cell_b=$("$CELL" ns ls -J -o NS,TYPE,NPROCS,PID | sel)
is "$cell_b" "$lsns_b" "ns ls (all): same as lsns for every namespace our processes lead"
like "$cell_b" "$(ino /proc/$BS/ns/pid) pid 1 $BS" "unshare --fork --pid: the pid namespace holds only the child"
like "$cell_b" "$(ino /proc/$B/ns/mnt) mnt 2 $B" "... while unshare and its child share the mount namespace (2 processes)"

got=$("$CELL" ns ls -J -t uts | jq -r '[.namespaces[].type] | unique | join(",")')
is "$got" uts "-t uts lists only uts namespaces"
got=$("$CELL" ns ls -n -o NS,PID -p "$A" | awk -v p="$A" '$2 == p {print $1}' | sort | tr '\n' ' ')
want=$(for t in ipc net uts; do ino /proc/$A/ns/$t; done | sort | tr '\n' ' ')
is "$got" "$want" "-n -o NS,PID: table without header, the columns asked for"
fails "unknown column is refused" -- "$CELL" ns ls -o NS,BOGUS
like "$LAST_OUT" "unknown column .BOGUS." "the error names the column"
fails "unknown type is refused" -- "$CELL" ns ls -t bogus

# --tree and PNS/ONS: a user namespace (owner) and a pid namespace (parent)
bg U unshare --kill-child --user --map-root-user --pid --net --fork sleep 300
US=$(child_of "$U") && defer "kill -KILL $US 2>/dev/null"
PIDS="$A,$B,$BS,$U,$US"
sleep 0.2
lsns_r=$(lsns -J -l -p "$US" -o NS,PNS,ONS | jq -r --argjson n "[$(ino /proc/$US/ns/user),$(ino /proc/$US/ns/pid)]" '.namespaces[] | select(.ns as $x | $n | index($x)) | "\(.ns) \(.pns) \(.ons)"' | sort)
cell_r=$("$CELL" ns ls -J -p "$US" -o NS,PNS,ONS | jq -r --argjson n "[$(ino /proc/$US/ns/user),$(ino /proc/$US/ns/pid)]" '.namespaces[] | select(.ns as $x | $n | index($x)) | "\(.ns) \(.pns) \(.ons)"' | sort)
is "$cell_r" "$lsns_r" "parent (PNS) and owner (ONS) of a new user and pid namespace agree with lsns"
hostuts=$(ino /proc/self/ns/uts) un=$(ino /proc/$US/ns/user) pn=$(ino /proc/$US/ns/pid) hostuser=$(ino /proc/self/ns/user) hostpid=$(ino /proc/self/ns/pid)
tree=$("$CELL" ns ls --tree -J -t user -t pid)
is "$(jq --argjson u "$un" --argjson h "$hostuser" '[.namespaces[] | select(.ns == $h) | .. | objects | select(.ns == $u)] | length' <<<"$tree")" 1 \
	"--tree --json: the new user namespace is nested under the host's"
is "$(jq --argjson u "$un" '[.namespaces[] | select(.ns == $u)] | length' <<<"$tree")" 0 \
	"--tree --json: ... and not at the top level"
is "$(jq --argjson p "$pn" --argjson h "$hostpid" '[.. | objects | select(.ns == $h) | .children[]? | select(.ns == $p)] | length' <<<"$tree")" 1 \
	"--tree --json: the new pid namespace is a child of the host's pid namespace"
like "$("$CELL" ns ls --tree -t user)" "[├└]─$un +user" "--tree text: tree glyphs before the child user namespace"
show=$("$CELL" ns show -t "$US")
like "$show" "user +$un +own" "ns show -t PID: its user namespace is its own"
like "$show" "uts +$hostuts +host" "ns show -t PID: the uts namespace it shares is the host's"
like "$show" "0 +0 +1 +uid 0 inside is uid 0 outside \(1 id\)" "ns show: the uid_map line read out (the seeds' '0 1000 1')"
like "$show" "$(head -1 /proc/$US/cgroup)" "ns show: its cgroups from /proc/PID/cgroup"
like "$show" "1: lo +DOWN" "ns show: the links of its network namespace (only lo, down)"

# a namespace held only by a bind mount (ip netns add), its NSFS and NETNSID
if command -v ip >/dev/null; then
	nsname=celltest-nsls-$$
	# ip makes /run/netns a shared mount of its own: undo that if we were first
	[ -d /run/netns ] || defer '[ -z "$(ls -A /run/netns)" ] && { umount /run/netns; rmdir /run/netns; }'
	ip netns add "$nsname" && defer "ip netns del $nsname"
	nsid=$((1000 + RANDOM % 5000))
	ip netns set "$nsname" "$nsid"
	nino=$(ino /run/netns/$nsname)
	row=$("$CELL" ns ls -J -t net | jq -c --argjson n "$nino" '.namespaces[] | select(.ns == $n) | {nprocs, pid, nsfs, netnsid}')
	is "$row" "{\"nprocs\":0,\"pid\":null,\"nsfs\":\"/run/netns/$nsname\",\"netnsid\":$nsid}" \
		"a netns held only by /run/netns/NAME: listed with 0 processes, its NSFS and NETNSID"
	like "$("$CELL" ns ls -t net | grep "^ *$nino ")" "kept alive by the bind mount on /run/netns/$nsname" \
		"text output says what keeps a process-less namespace alive"
	bg N ip netns exec "$nsname" sleep 300
	PIDS="$PIDS,$N"
	sleep 0.3
	q='.namespaces[] | select(.ns == '"$nino"') | "\(.nprocs) \(.pid) \(.nsfs) \(.netnsid)"'
	is "$("$CELL" ns ls -J -t net -o NS,NPROCS,PID,NSFS,NETNSID | jq -r "$q")" \
		"$(lsns -J -l -t net -o NS,NPROCS,PID,NSFS,NETNSID | jq -r "$q")" \
		"with a process in it: NPROCS, PID, NSFS and NETNSID agree with lsns"
	is "$("$CELL" ns ls -J -p "$A" -t net | jq -r '.namespaces[0].netnsid')" unassigned \
		"a netns without an id reads 'unassigned', as lsns says"
else
	skip "ip(8) missing: no netns bind-mount case"
fi

# CONTAINER: a cell-runtime state file naming process A ...
id=celltest-nsls-$$
[ -d /run/cell-runtime ] || { mkdir -p /run/cell-runtime && defer "rmdir /run/cell-runtime"; }
mkdir /run/cell-runtime/$id && defer "rm -rf /run/cell-runtime/$id"
startA=$(sed 's/.*) //' /proc/$A/stat | cut -d' ' -f20)	# field 22
printf '{"ociVersion":"1.2.0","id":"%s","pid":%d,"status":"running","bundle":"/nonexistent","x-cell":{"startTime":%s}}\n' \
	"$id" "$A" "$startA" > /run/cell-runtime/$id/state.json
q='.namespaces[] | "\(.type)=\(.container)"'
is "$("$CELL" ns ls -J -p "$A" | jq -r "$q" | sort | tr '\n' ' ')" \
	"cgroup=null ipc=$id mnt=null net=$id pid=null time=null user=null uts=$id " \
	"CONTAINER names the cell container on its own namespaces only, not on those it shares with the host"
# ... a cell engine container: runtime state in /run/cell/runtime/ID, shown by
# the Name of the engine's record (<root>/containers/ID/config.json)
eid=$(printf 'ce11%060d' $$)
[ -d /run/cell/runtime ] || { mkdir -p /run/cell/runtime && defer "rmdir /run/cell/runtime /run/cell"; }
mkdir /run/cell/runtime/$eid && defer "rm -rf /run/cell/runtime/$eid"
printf '{"ociVersion":"1.2.0","id":"%s","pid":%d,"status":"running"}\n' "$eid" "$BS" > /run/cell/runtime/$eid/state.json
mkdir -p "$TMPD/eng/containers/$eid"
printf '{"Id":"%s","Name":"/celltest-web-%d"}\n' "$eid" $$ > "$TMPD/eng/containers/$eid/config.json"
is "$("$CELL" --root "$TMPD/eng" ns ls -J -p "$BS" | jq -r '.namespaces[] | select(.container != null) | "\(.type)=\(.container)"' | sort | tr '\n' ' ')" \
	"mnt=celltest-web-$$ pid=celltest-web-$$ uts=celltest-web-$$ " "an engine container is named by its record's Name"
is "$("$CELL" --root "$TMPD/eng" enter "celltest-web-$$" -p -m cat /proc/1/comm)" sleep "enter NAME: the engine container's pid 1"
is "$("$CELL" --root "$TMPD/eng" enter "${eid:0:12}" -u hostname)" "$(nsenter -t "$BS" -u hostname)" "enter SHORT-ID: the same container"
# ... and a stale one whose pid is gone
true & dead=$!; wait $dead
mkdir /run/cell-runtime/$id-stale && defer "rm -rf /run/cell-runtime/$id-stale"
printf '{"id":"%s-stale","pid":%d}\n' "$id" "$dead" > /run/cell-runtime/$id-stale/state.json
is "$("$CELL" ns ls -J | jq -r --arg c "$id-stale" '[.namespaces[] | select(.container == $c)] | length')" 0 \
	"a container whose init is gone owns nothing"
mkdir /run/cell-runtime/$id-reused && defer "rm -rf /run/cell-runtime/$id-reused"
printf '{"id":"%s-reused","pid":%d,"x-cell":{"startTime":%d}}\n' "$id" "$US" 12345 > /run/cell-runtime/$id-reused/state.json
is "$("$CELL" ns ls -J | jq -r --arg c "$id-reused" '[.namespaces[] | select(.container == $c)] | length')" 0 \
	"a live pid with another start time is a reused pid: that container owns nothing"
# a runtime root holding another runtime's format (containerd and podman pass
# their root to cell-runtime too): cell-runtime's state under /run/runc
fid=celltest-nsls-fmt-$$
[ -d /run/runc ] || { mkdir -p /run/runc && defer "rmdir /run/runc"; }
mkdir /run/runc/$fid && defer "rm -rf /run/runc/$fid"
printf '{"id":"%s","pid":%d,"x-cell":{"startTime":%s}}\n' "$fid" "$US" "$(sed 's/.*) //' /proc/$US/stat | cut -d' ' -f20)" \
	> /run/runc/$fid/state.json
is "$("$CELL" ns ls -J -p "$US" -t net | jq -r '.namespaces[0].container')" "runc:$fid" \
	"cell-runtime's state format is understood under runc's root too"

# ... and a real runc container
if command -v runc >/dev/null; then
	rb=$TMPD/runc-bundle rid=celltest-nsls-runc-$$
	mkdir -p "$rb" && cp -a "$(test_rootfs)" "$rb/rootfs"
	(cd "$rb" && runc spec && jq '.process.args = ["sleep","300"] | .process.terminal = false | .hostname = "celltest-runc"' config.json > c && mv c config.json)
	defer "runc delete --force $rid"
	if timeout 30 runc run -d --bundle "$rb" "$rid" </dev/null >/dev/null 2>"$TMPD/runc.err"; then
		rpid=$(runc state "$rid" | jq .pid)
		is "$("$CELL" ns ls -J -p "$rpid" | jq -r '.namespaces[] | select(.container != null) | .type' | sort | tr '\n' ' ')" \
			"ipc mnt net pid uts " "runc container: its five namespaces carry CONTAINER runc:ID"
		is "$("$CELL" ns ls -J -t net | jq -r --argjson n "$(ino /proc/$rpid/ns/net)" '.namespaces[] | select(.ns == $n) | .container')" \
			"runc:$rid" "... named runc:$rid in the full listing"
		show=$("$CELL" ns show "$rid")
		like "$show" "net +$(ino /proc/$rpid/ns/net) +own" "ns show ID: its net namespace is its own"
		like "$show" "subdirectory .*$rb/rootfs" "ns show ID: its root file system is the bundle's rootfs"
	else
		skip "runc could not start a container here: $(head -c 200 "$TMPD/runc.err")"
	fi
else
	skip "runc missing: no runc container case"
fi
