#!/bin/bash
# `cell unshare`: the seeds' cases (pid 1 with --fork, ps right with
# --mount-proc, a hostname change invisible outside, the seeds' container
# command line with --root and --map-root-user), util-linux agreement, and
# the warnings at each trap. Every command runs in the foreground under
# timeout; nothing outlives the test.
. "$(dirname "$0")/../lib/tap.sh"
need_root
command -v unshare >/dev/null || skip_all "needs util-linux unshare to compare with"
tmpdir
# a private copy: other builds relink $CELL while tests run; take it whole
chmod 755 "$TMPD"
for _i in $(seq 30); do
	cp "$CELL" "$TMPD/cell" 2>/dev/null && "$TMPD/cell" ns ls -n -o NS >/dev/null 2>&1 && break
	sleep 1
done
"$TMPD/cell" ns ls -n -o NS >/dev/null 2>&1 || skip_all "no working $CELL to test (the build is broken or relinking)"
CELL=$TMPD/cell
T="timeout -k 5 30"
host_name=$(hostname)
proc_mounts() { grep -c ' /proc ' /proc/self/mountinfo; }
host_proc=$(proc_mounts)

# --- the seeds' cases ---
is "$($T "$CELL" unshare --fork --pid --mount-proc sh -c 'echo $$')" 1 "--fork --pid --mount-proc: the command is pid 1"
is "$($T "$CELL" unshare --fork --pid --mount-proc ps -e -o pid= | tr -d ' ')" 1 "--mount-proc: ps sees only itself, pid 1"
is "$($T "$CELL" unshare --fork --pid --mount-proc ps -e -o pid,comm | tr -s ' ')" \
	"$($T unshare --fork --pid --mount-proc ps -e -o pid,comm | tr -s ' ')" "... as util-linux unshare shows it"
n=$($T "$CELL" unshare -q --fork --pid ps -e -o pid= | wc -l)
ok $([ "$n" -gt 5 ]; echo $?) "without --mount-proc ps lists the host's processes ($n): the trap the warning names"
is "$($T "$CELL" unshare --uts sh -c 'hostname celltest-unshare; hostname')" celltest-unshare "--uts: the hostname changes inside"
is "$(hostname)" "$host_name" "... and not outside"
is "$(proc_mounts)" "$host_proc" "the host's /proc mounts are untouched after --mount-proc"

# --- the traps: a one-line warning naming the flag that avoids it ---
err=$($T "$CELL" unshare --pid true 2>&1 >/dev/null)
like "$err" "--pid without --fork.*Cannot allocate memory.*add --fork" "--pid without --fork: warns that forks will fail, says add --fork"
like "$err" "--pid without --mount-proc.*host's processes.*add --mount-proc" "--pid without --mount-proc: warns that ps shows the host's, says add --mount-proc"
is "$(printf '%s\n' "$err" | grep -c 'warning')" 2 "... one line each"
err=$($T "$CELL" unshare --fork --pid --mount-proc true 2>&1 >/dev/null)
is "$(printf '%s\n' "$err" | grep -c warning)" 0 "--fork --pid --mount-proc: no warning"
err=$($T "$CELL" unshare --fork --pid --mount-proc=/proc true 2>&1)
like "$err" "info: --mount-proc implies --mount" "--mount-proc without --mount: a note says it implies --mount"
err=$($T "$CELL" unshare -q --pid true 2>&1)
is "$err" "" "-q silences the warnings"
# the trap itself, as the seeds show it: the second fork fails
out=$($T "$CELL" unshare -q --pid sh -c '/bin/true; /bin/true; echo reached' 2>&1)
like "$out" "Cannot fork|Cannot allocate memory" "--pid without --fork: the shell's second fork fails, as the warning says"
out=$($T unshare --pid sh -c '/bin/true; /bin/true; echo reached' 2>&1)
like "$out" "Cannot fork|Cannot allocate memory" "... exactly as with util-linux unshare"
is "$($T "$CELL" unshare -q --fork --pid sh -c '/bin/true; /bin/true; echo reached' 2>&1)" reached "with --fork, the same script runs"

# --- time namespaces: offsets set before anyone enters ---
if [ -e /proc/self/ns/time ]; then
	up=$(cut -d. -f1 /proc/uptime)
	got=$($T "$CELL" unshare --fork --boottime 100000 cat /proc/uptime | cut -d. -f1)
	ok $([ "$got" -ge $((up + 100000)) ] && [ "$got" -lt $((up + 100100)) ]; echo $?) "--boottime 100000: uptime inside is ours + 100000 s ($got vs $up)"
	is "$($T "$CELL" unshare --monotonic 5 --boottime 7 cat /proc/self/timens_offsets 2>&1 | tr -s ' ' | tr '\n' '|')" \
		"$($T unshare -T --monotonic 5 --boottime 7 cat /proc/self/timens_offsets 2>&1 | tr -s ' ' | tr '\n' '|')" \
		"--monotonic/--boottime without --fork: exec enters the time namespace, offsets as util-linux sets them"
else
	skip "no time namespaces in this kernel"
fi

# --- exit statuses ---
$T "$CELL" unshare --fork --uts sh -c 'exit 5'
is $? 5 "--fork: the child's exit status is ours"
$T "$CELL" unshare --uts sh -c 'exit 6'
is $? 6 "without --fork: exec, the status is the command's"
$T "$CELL" unshare --fork --uts sh -c 'kill -TERM $$' 2>/dev/null
is $? 143 "a child killed by a signal: 128+signal"
$T "$CELL" unshare --fork --pid --mount-proc sh -c 'kill -TERM $$; exit 3' 2>/dev/null
is $? 3 "pid 1 of a new pid namespace ignores its own SIGTERM (no handler): the kernel protects init"
fails "a missing command fails" -- $T "$CELL" unshare --uts /nonexistent/celltest
like "$LAST_OUT" "exec ./nonexistent/celltest.*No such file" "... naming it"
fails "a bad --propagation is refused" -- "$CELL" unshare --propagation sideways true
like "$LAST_OUT" "propagation .sideways." "... naming the value"

# --- -r: setgroups denied before gid_map (CVE-2014-8989), uid 0 is the caller ---
is "$($T "$CELL" unshare -r sh -c 'id -u; cat /proc/self/setgroups; cat /proc/self/uid_map; cat /proc/self/gid_map' | tr -s ' ' | tr '\n' '|')" \
	"$($T unshare -r sh -c 'id -u; cat /proc/self/setgroups; cat /proc/self/uid_map; cat /proc/self/gid_map' | tr -s ' ' | tr '\n' '|')" \
	"-r as root: same uid, setgroups, uid_map and gid_map as util-linux"
if setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	out=$($T setpriv --reuid=65534 --regid=65534 --clear-groups "$CELL" unshare -r sh -c 'id -u; cat /proc/self/setgroups; cat /proc/self/uid_map' 2>&1 | tr -s ' ' | tr '\n' '|')
	is "$out" "0|deny| 0 65534 1|" "-r as uid 65534: root inside, setgroups denied, the seeds' '0 1000 1' reading with 65534"
	asnobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
	q='id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups'
	is "$($T $asnobody "$CELL" unshare -c sh -c "$q" 2>&1 | tr -s ' ' | tr '\n' '|')" \
		"$($T $asnobody unshare -c sh -c "$q" 2>&1 | tr -s ' ' | tr '\n' '|')" "-c (--map-current-user) as uid 65534: the maps util-linux writes"
	is "$($T $asnobody "$CELL" unshare --map-user=1000 --map-group=1000 sh -c "$q" 2>&1 | tr -s ' ' | tr '\n' '|')" \
		"$($T $asnobody unshare --map-user=1000 --map-group=1000 sh -c "$q" 2>&1 | tr -s ' ' | tr '\n' '|')" "--map-user/--map-group as uid 65534: the maps util-linux writes"
	fails "--setgroups allow with an unprivileged gid_map is refused by the kernel" -- $T $asnobody "$CELL" unshare -r --setgroups allow true
	like "$LAST_OUT" "setgroups allow forbids" "... and the error says why"
	fails "without -r an unprivileged caller cannot unshare --uts" -- $T setpriv --reuid=65534 --regid=65534 --clear-groups "$CELL" unshare --uts true
	like "$LAST_OUT" "CAP_SYS_ADMIN.*-r" "... and the error says why and suggests -r"
else
	skip "setpriv cannot drop to uid 65534"
fi

# --- the seeds' container: every namespace, --root, --mount-proc=proc, -r ---
R=$TMPD/c1
cp -a "$(test_rootfs)" "$R" && echo "the new root" > "$R/celltest-marker"
out=$($T "$CELL" unshare --user --uts --net --ipc --pid --cgroup --mount --fork --mount-proc=proc --root="$R" --map-root-user \
	sh -c 'hostname c1; hostname; id -u; ps -o pid,comm > /tmp/ps; sed -n 2p /tmp/ps | tr -s " "; wc -l < /tmp/ps; cat /celltest-marker' 2>&1)
is "$(printf '%s\n' "$out" | tr '\n' '|')" "c1|0| 1 sh|3|the new root|" \
	"the seeds' command line: own hostname, root inside, ps shows pid 1 first, the new root"
is "$(hostname)" "$host_name" "... the host's hostname unchanged"
is "$($T "$CELL" unshare --root="$R" --wd=/bin /bin/pwd)" "$($T unshare --root="$R" --wd=/bin /bin/pwd)" "--root --wd: the working directory is taken inside the new root, as util-linux"
is "$(proc_mounts)" "$host_proc" "the host's /proc mounts are untouched at the end"

# --- --TYPE=FILE: the namespace outlives its processes through a bind mount ---
touch "$TMPD/uts" && defer "umount '$TMPD/uts'"
$T "$CELL" unshare --uts="$TMPD/uts" sh -c 'hostname celltest-persist'
is "$(nsenter --uts="$TMPD/uts" hostname)" celltest-persist "--uts=FILE: the namespace lives on, bound on FILE (nsenter --uts=FILE sees its hostname)"
uino=$(stat -L -c %i "$TMPD/uts")
is "$("$CELL" ns ls -J -t uts | jq -c --argjson n "$uino" '.namespaces[] | select(.ns == $n) | [.nprocs, .pid]')" "[0,null]" \
	"... and ns ls lists it with no process"
if command -v ip >/dev/null; then
	nn=celltest-unshare-$$
	[ -d /run/netns ] || { mkdir -p /run/netns && defer "rmdir /run/netns"; }
	defer "ip netns del $nn"
	$T "$CELL" unshare --net=/run/netns/$nn true
	like "$(ip netns list)" "^$nn" "--net=/run/netns/NAME: ip netns lists it, as if made by ip netns add"
	is "$(ip netns exec $nn ip -o link | awk '{print $2}')" "lo:" "... and ip netns exec runs in it (only lo)"
else
	skip "ip(8) missing"
fi
fails "--uts=FILE in a missing directory fails" -- $T "$CELL" unshare --uts=/nonexistent/celltest true
like "$LAST_OUT" "create ./nonexistent/celltest." "... naming the file"
