#!/bin/bash
# `cell enter` against util-linux `nsenter` on namespaces this test makes:
# hostname of a UTS namespace, pid 1 of a pid namespace, links of a network
# namespace, a user namespace entered first, --root/--wd, exit statuses, a
# runc container by name; both setns paths (pidfd, and /proc/PID/ns files).
# Every process is killed by pid at exit.
. "$(dirname "$0")/../lib/tap.sh"
need_root
command -v nsenter >/dev/null && command -v unshare >/dev/null || skip_all "needs util-linux nsenter and unshare"
tmpdir
# a private copy: other builds relink $CELL while tests run; take it whole
chmod 755 "$TMPD"
for _i in $(seq 30); do
	cp "$CELL" "$TMPD/cell" 2>/dev/null && "$TMPD/cell" ns ls -n -o NS >/dev/null 2>&1 && break
	sleep 1
done
"$TMPD/cell" ns ls -n -o NS >/dev/null 2>&1 || skip_all "no working $CELL to test (the build is broken or relinking)"
CELL=$TMPD/cell

bg() {
	local v=$1; shift
	"$@" </dev/null >/dev/null 2>&1 &
	printf -v "$v" %s "$!"
	defer "kill -KILL $! 2>/dev/null; wait $! 2>/dev/null"
}
child_of() {
	local i c
	for i in $(seq 50); do
		c=$(cat /proc/"$1"/task/*/children 2>/dev/null | awk '{print $1}')
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.1
	done
	return 1
}
# wait until PID's uts namespace says NAME (the shell set it before exec sleep)
wait_hostname() {
	local i
	for i in $(seq 50); do
		[ "$(nsenter -t "$1" -u hostname 2>/dev/null)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

bg U unshare --uts --net sh -c 'hostname celltest-enter; exec sleep 300'
wait_hostname "$U" celltest-enter
bg P unshare --kill-child --fork --pid --mount-proc sleep 300
PS=$(child_of "$P") && defer "kill -KILL $PS 2>/dev/null"
sleep 0.2

for mode in pidfd procfiles; do
	if [ $mode = procfiles ]; then export CELL_ENTER_NO_PIDFD=1; fi
	is "$("$CELL" enter -t "$U" hostname)" "$(nsenter -t "$U" -u hostname)" "[$mode] enter -t PID (all differing namespaces): hostname as nsenter -u shows it"
	is "$("$CELL" enter -t "$U" -u hostname)" celltest-enter "[$mode] enter -u: the uts namespace's hostname"
	is "$("$CELL" enter -t "$U" -n ip -o link 2>&1 | awk '{print $2}')" "$(nsenter -t "$U" -n ip -o link | awk '{print $2}')" \
		"[$mode] enter -n: the same links as nsenter -n (only lo)"
	is "$("$CELL" enter -t "$PS" -p -m cat /proc/1/comm)" "$(nsenter -t "$PS" -p -m cat /proc/1/comm)" \
		"[$mode] enter -p -m: pid 1 inside is the same process as nsenter sees"
	is "$("$CELL" enter -t "$PS" -p -m cat /proc/1/comm)" sleep "[$mode] ... and it is the namespace's sleep"
	inner=$("$CELL" enter -t "$PS" sh -c 'echo $$')
	ok $([ "$inner" -gt 1 ] && [ "$inner" -lt 100 ]; echo $?) "[$mode] the command forks into the pid namespace: its pid there is small ($inner)"
	unset CELL_ENTER_NO_PIDFD
done

err=$("$CELL" enter -t "$P" -u true 2>&1)
like "$err" "pid $P created a pid namespace it is not in.*use -t $PS" "enter -t <unshare --fork's pid>: warns that its child $PS is the one to name (the seeds' 'right PID' trap)"
err=$("$CELL" enter -t "$PS" -u true 2>&1)
is "$err" "" "enter -t <the child>: no warning"

"$CELL" enter -t "$U" sh -c 'exit 7'
is $? 7 "the command's exit status is cell enter's"
"$CELL" enter -t "$PS" -p -m sh -c 'kill -TERM $$' 2>/dev/null
is $? 143 "a command killed by SIGTERM in a pid namespace: 128+15"
ok $([ "$(hostname)" != celltest-enter ]; echo $?) "the host's hostname is untouched"

fails "enter a missing pid fails" -- "$CELL" enter -t 999999999 true
like "$LAST_OUT" "999999999" "... naming the pid"
fails "enter an unknown container fails" -- "$CELL" enter celltest-no-such-container true
like "$LAST_OUT" "celltest-no-such-container.*no running container" "... saying no such container runs"

# --TYPE=FILE: a namespace bound on a file (ip netns add, unshare --net=FILE)
if command -v ip >/dev/null; then
	nn=celltest-enter-$$
	[ -d /run/netns ] || defer '[ -z "$(ls -A /run/netns)" ] && { umount /run/netns; rmdir /run/netns; }'
	ip netns add $nn && defer "ip netns del $nn"
	ip netns exec $nn ip link set lo up
	is "$("$CELL" enter --net=/run/netns/$nn ip -o link | awk '{print $2, $3}')" "$(ip netns exec $nn ip -o link | awk '{print $2, $3}')" \
		"enter --net=/run/netns/NAME: the links ip netns exec shows"
	is "$("$CELL" enter -t "$U" -u --net=/run/netns/$nn sh -c 'hostname; ip -o link | wc -l')" "celltest-enter
1" "-t PID -u with --net=FILE: the pid's uts, the file's net"
else
	skip "ip(8) missing"
fi
fails "--uts with no file and no target fails" -- "$CELL" enter --net=/proc/self/ns/net -u true
like "$LAST_OUT" "give --uts=FILE, -t PID" "... saying what to give"
fails "a missing namespace file fails" -- "$CELL" enter --net=/nonexistent/celltest true
like "$LAST_OUT" "enter: open ./nonexistent/celltest.: No such file" "... naming the file"

# a user namespace: entered first, then uid 0 in it (the seeds' uid_map reading)
bg N unshare --user --map-root-user --uts sh -c 'hostname celltest-userns; exec sleep 300'
wait_hostname "$N" celltest-userns
is "$("$CELL" enter -t "$N" sh -c 'id -u; cat /proc/self/uid_map' | tr -s ' ' | tr '\n' ' ')" \
	"$(nsenter -t "$N" -U -u sh -c 'id -u; cat /proc/self/uid_map' | tr -s ' ' | tr '\n' ' ')" \
	"enter a user namespace: same uid and uid_map as nsenter -U"
if id nobody >/dev/null 2>&1 && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	bg M setpriv --reuid=65534 --regid=65534 --clear-groups unshare --map-root-user --uts sh -c 'hostname celltest-unpriv; exec sleep 300'
	wait_hostname "$M" celltest-unpriv
	for mode in pidfd procfiles; do
		e=""; [ $mode = procfiles ] && e="CELL_ENTER_NO_PIDFD=1"
		is "$(env $e setpriv --reuid=65534 --regid=65534 --clear-groups "$CELL" enter -t "$M" hostname 2>&1)" celltest-unpriv \
			"[$mode] an unprivileged user enters its own unprivileged namespaces (user namespace first)"
	done
else
	skip "no nobody user or setpriv"
fi

# --root and --wd are opened before entering, as the seeds' nsenter --root=c1 --wd=c1
R=$TMPD/root
cp -a "$(test_rootfs)" "$R" && mkdir -p "$R/work"
is "$("$CELL" enter -t "$U" --root="$R" --wd="$R/work" /bin/sh -c 'pwd; hostname')" \
	"$(nsenter -t "$U" -u --root="$R" --wd="$R/work" /bin/sh -c 'pwd; hostname')" \
	"--root=DIR --wd=DIR: chroot and working directory as nsenter's"
is "$("$CELL" enter -t "$U" --root="$R" /bin/sh -c 'pwd')" / "--root without --wd starts in / of the new root"

# a runc container by name
if command -v runc >/dev/null; then
	rb=$TMPD/runc-bundle rid=celltest-enter-runc-$$
	mkdir -p "$rb" && cp -a "$(test_rootfs)" "$rb/rootfs" && echo "$rid" > "$rb/rootfs/celltest-marker"
	(cd "$rb" && runc spec && jq '.process.args = ["sleep","300"] | .process.terminal = false | .hostname = "celltest-runc"' config.json > c && mv c config.json)
	defer "runc delete --force $rid"
	if timeout 30 runc run -d --bundle "$rb" "$rid" </dev/null >/dev/null 2>"$TMPD/runc.err"; then
		rpid=$(runc state "$rid" | jq .pid)
		is "$("$CELL" enter "$rid" hostname)" "$(nsenter -t "$rpid" -a hostname)" "enter CONTAINER: its hostname, as nsenter -a -t PID"
		is "$("$CELL" enter "runc:$rid" cat /proc/1/comm)" sleep "enter runc:ID: pid 1 is the container's init"
		is "$("$CELL" enter "${rid:0:18}" cat /celltest-marker)" "$rid" "a unique id prefix names it; its root is the container's"
	else
		skip "runc could not start a container here: $(head -c 200 "$TMPD/runc.err")"
	fi
else
	skip "runc missing"
fi
