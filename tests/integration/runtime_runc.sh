#!/bin/bash
# cell-runtime where runc 1.1.5 behaves a certain way and tools depend on it
# (issue 18, "runc's behaviour elsewhere"). Where runc is installed, the same
# bundle also goes through runc so that both are seen to agree.
. "$(dirname "$0")/../lib/tap.sh"
need_root
ROOT=$(mktemp -d /tmp/cell-rt-root.XXXXXX); defer "rm -rf '$ROOT'"
rt() { "$RT" --root "$ROOT" "$@"; }
defer 'for i in $(ls "$ROOT" 2>/dev/null); do "$RT" --root "$ROOT" delete --force "$i"; done'
RUNC=$(command -v runc || true)
RROOT=$(mktemp -d /tmp/cell-runc-root.XXXXXX); defer "rm -rf '$RROOT'"
defer '[ -n "$RUNC" ] && for i in $(ls "$RROOT" 2>/dev/null); do "$RUNC" --root "$RROOT" delete --force "$i"; done'
runc_() { "$RUNC" --root "$RROOT" "$@"; }

make_bundle; B=$BUNDLE
cfg "$B" '.process.terminal = false | .process.args = ["payload", "sleep", "100"]'
cp "$B/config.json" "$B/base.json"
reset_cfg() { cp "$B/base.json" "$B/config.json"; [ $# -gt 0 ] && cfg "$B" "$1"; true; }

# --version: runc's three lines, which containerd and podman parse
_capture "$RT" --version
like "$(echo "$out" | sed -n 1p)" '^cell-runtime version [0-9]' "--version: first line is 'cell-runtime version X'"
like "$(echo "$out" | sed -n 2p)" '^commit: [^ ]+$' "--version: second line is 'commit: ...'"
like "$(echo "$out" | sed -n 3p)" '^spec: 1\.[0-9]+\.[0-9]+' "--version: third line is 'spec: 1.x.y'"

# -h and --help on every command
bad_help=""
for c in create start run exec kill delete state list ps pause resume update events spec features checkpoint restore; do
	for h in -h --help; do
		_capture "$RT" "$c" $h; rc=$?
		if [ $rc != 0 ] || ! printf '%s' "$out" | grep -q "^Usage: cell-runtime $c"; then bad_help="$bad_help $c$h"; fi
	done
done
is "$bad_help" "" "-h and --help print the usage of every command and exit 0"
# runc's `help COMMAND` (urfave/cli), which some scripts call
bad_help=""
for c in create start run exec kill delete state list ps pause resume update events spec features checkpoint restore; do
	_capture "$RT" help "$c"; rc=$?
	if [ $rc != 0 ] || ! printf '%s' "$out" | grep -q "^Usage: cell-runtime $c"; then bad_help="$bad_help $c"; fi
	[ -n "$RUNC" ] && ! "$RUNC" help "$c" >/dev/null 2>&1 && bad_help="$bad_help runc:$c"
done
is "$bad_help" "" "help COMMAND prints the usage of every command and exits 0 (as runc)"

# kill with signal 0 (is it alive?), with and without --all
ID=k-$$
check "create + start a container" -- rt run -d --bundle "$B" "$ID"
check "kill ID 0 succeeds on a live container" -- rt kill "$ID" 0
check "kill --all ID 0 succeeds on a live container" -- rt kill --all "$ID" 0
is "$(rt state "$ID" | jq -r .status)" running "... and leaves it running"

# exec: 255 when the process cannot be started, runc's status
_capture rt exec "$ID" /nope; is "$?" 255 "exec of a missing program exits 255"
_capture rt exec --pid-file /nonexistent-dir/pid "$ID" payload exit 0; is "$?" 255 "exec --pid-file in a missing dir exits 255"
rt exec "$ID" payload exit 7; is "$?" 7 "exec still returns the process's own status"
is "$(rt exec --user 1000:1000 --additional-gids 1001 --additional-gids 1002 "$ID" payload groups)" "1001 1002" \
	"exec --additional-gids sets the supplementary groups"
# runc's short spellings (-g, -c, -e, -u) and exec --cap's sets: not the
# inheritable one (CVE-2022-29162), so a non-root user gains nothing from it
exec_caps() {	# runtime-command id
	$1 exec -e X=1 -u 1000:1000 -g 1001 -g 1002 -c CAP_NET_RAW "$2" sh -c 'echo $X $(id -G); grep -E "^Cap(Inh|Prm|Eff|Amb)" /proc/self/status' 2>&1
	$1 exec -c CAP_SYS_ADMIN "$2" sh -c 'grep -E "^Cap(Inh|Prm|Eff|Amb)" /proc/self/status' 2>&1
}
got=$(exec_caps rt "$ID" | tr '\n\t' '  ')
like "$got" '^1 1000 1001 1002 ' "exec -e -u -g (repeated) as runc spells them"
like "$got" 'CapInh: 0{16} CapPrm: 0{16} CapEff: 0{16} CapAmb: 0{16} CapInh: 0{16} CapPrm: [0-9a-f]{10}2[0-9a-f]{5} CapEff: [0-9a-f]{10}2[0-9a-f]{5} CapAmb: 0{16} ' \
	"exec -c CAP_X: into permitted and effective for root, never inheritable or ambient (none for a non-root user)"
if [ -n "$RUNC" ]; then
	runc_ run -d --bundle "$B" "$ID" >/dev/null 2>&1
	is "$(exec_caps runc_ "$ID" | tr '\n\t' '  ')" "$got" "... the same as runc"
	runc_ delete --force "$ID" >/dev/null 2>&1
fi
# exec into a paused container: refused with 255 unless --ignore-paused
check "pause" -- rt pause "$ID"
_capture rt exec "$ID" payload exit 0; rc=$?
is "$rc" 255 "exec into a paused container exits 255"
like "$out" 'paused.*--ignore-paused' "... saying it is paused and how to override"
# with --ignore-paused the process starts frozen and runs once resumed
rt exec --ignore-paused "$ID" payload exit 3 >/dev/null 2>&1 & xpid=$!
defer "kill $xpid"
sleep 0.3
check "resume" -- rt resume "$ID"
wait $xpid; is "$?" 3 "exec --ignore-paused into a paused container runs once it is resumed"
# SIGKILL to a paused container: it dies (runc thaws it after the signal)
killpaused() {	# runtime-command id -> status 0.5 s after pause + kill KILL
	$1 run -d --bundle "$B" "$2" >/dev/null 2>&1 && $1 pause "$2" && $1 kill "$2" KILL || return
	local i; for i in 1 2 3 4 5; do [ "$($1 state "$2" | jq -r .status)" = stopped ] && break; sleep 0.1; done
	$1 state "$2" | jq -r .status
	$1 delete --force "$2" >/dev/null 2>&1
}
got=$(killpaused rt "kp-$$")
is "$got" stopped "kill ID KILL of a paused container: it is thawed and dies"
[ -n "$RUNC" ] && is "$(killpaused runc_ "kp-$$")" "$got" "... as with runc"
# exec --cgroup into a sub-cgroup of the container
cgdirs() { jq -r ".\"x-cell\".cgroup.dirs[] | $1 | .dir" "$ROOT/$ID/state.json" 2>/dev/null; }
cgpath=$(cgdirs 'select(.v2)')
if [ -n "$cgpath" ] && [ -d "$cgpath" ]; then
	# no controller: every hierarchy of the container (as runc), so sub must be in each
	for d in $(cgdirs '.'); do
		mkdir "$d/sub"; defer "rmdir '$d/sub'"
		[ -f "$d/cpuset.cpus" ] && cat "$d/cpuset.cpus" > "$d/sub/cpuset.cpus" && cat "$d/cpuset.mems" > "$d/sub/cpuset.mems"
	done
	like "$(rt exec --cgroup sub "$ID" cat /proc/self/cgroup)" '^0::.*/sub$' "exec --cgroup PATH runs in the sub-cgroup (cgroup2 form)"
	like "$(rt exec --cgroup sub "$ID" cat /proc/self/cgroup)" ":memory:.*/sub$|^0::.*/sub$" "... in every hierarchy"
else
	skip "exec --cgroup (cgroup2 form): the container has no cgroup2 dir"
fi
memdir=$(cgdirs 'select(.hierarchy == "memory")')
if [ -n "$memdir" ] && [ -d "$memdir" ]; then
	mkdir "$memdir/msub"; defer "rmdir '$memdir/msub'"
	like "$(rt exec --cgroup memory:msub "$ID" cat /proc/self/cgroup)" ':memory:.*/msub$' "exec --cgroup memory:PATH runs in the v1 sub-cgroup"
	_capture rt exec --cgroup memory:nosuch "$ID" true; rc=$?
	is "$rc" 255 "exec --cgroup into a missing sub-cgroup exits 255"
	like "$out" 'nosuch.*must exist' "... naming it"
else
	skip "exec --cgroup (v1 form): no v1 memory hierarchy"
fi
rt delete --force "$ID" >/dev/null 2>&1

# cwd the container's user cannot enter: runc enters it as root first
mkdir -p "$B/rootfs/priv"; chmod 700 "$B/rootfs/priv"
reset_cfg '.process.user = {"uid": 1000, "gid": 1000} | .process.cwd = "/priv" | .process.args = ["payload", "cwd"]'
_capture rt run --bundle "$B" "cwd-$$"; rc=$?
is "$rc:$out" "0:/priv" "a cwd only root can enter works for a non-root user (as runc)"
if [ -n "$RUNC" ]; then
	_capture runc_ run --bundle "$B" "cwd-$$"; is "$?:$out" "0:/priv" "... runc agrees"
fi
rt delete --force "cwd-$$" >/dev/null 2>&1

# --debug: runc's level=debug lines, on stderr or in the --log file
tmpdir; T=$TMPD
_capture rt --debug state nope
like "$out" '^time="[^"]+" level=debug msg=' "--debug writes level=debug lines on stderr"
rt --debug --log "$T/log.txt" state nope >/dev/null 2>&1
like "$(cat "$T/log.txt")" 'level=debug msg=' "--debug --log FILE writes them to FILE in text"
rt --debug --log "$T/log.json" --log-format json state nope >/dev/null 2>&1
is "$(jq -r 'select(.level == "debug") | .level' "$T/log.json" | head -1)" debug "--debug --log-format json writes them as JSON"

# events: {"type":"oom"} when the OOM killer strikes, and the end once the
# container is gone (never a hang: the timeout only guards the test)
reset_cfg '.process.args = ["payload", "memhog", "256"] | .linux.resources.memory = {"limit": 16777216, "swap": 16777216}'
ID=oom-$$
check "create a container that will be OOM-killed" -- rt create --bundle "$B" "$ID"
timeout 30 "$RT" --root "$ROOT" events --interval 1 "$ID" > "$T/events" 2>&1 & epid=$!
defer "kill $epid"
sleep 0.3
check "start it" -- rt start "$ID"
wait $epid; rc=$?
is "$rc" 0 "events exits by itself (status 0) once the container's init is gone"
is "$(jq -r 'select(.type == "oom") | .id' "$T/events" 2>/dev/null | head -1)" "$ID" "events prints {\"type\":\"oom\",\"id\":ID} for the OOM kill"
like "$(jq -r .type "$T/events" 2>/dev/null | sort -u | tr '\n' ' ')" 'stats' "... and stats lines meanwhile"
_capture timeout 10 "$RT" --root "$ROOT" events "$ID"; rc=$?
ok $([ "$rc" = 1 ] && echo 0 || echo 1) "events on a stopped container fails at once (status $rc)"
rt delete --force "$ID" >/dev/null 2>&1

# run into a cgroup that is already frozen: refused, never a hang
FRZ=/sys/fs/cgroup/freezer
if [ -d "$FRZ" ]; then
	CGP=cell-rtc-frozen-$$
	mkdir "$FRZ/$CGP"; defer "echo THAWED > '$FRZ/$CGP/freezer.state'; rmdir '$FRZ/$CGP'"
	echo FROZEN > "$FRZ/$CGP/freezer.state"
	reset_cfg ".process.args = [\"payload\", \"exit\", \"0\"] | .linux.cgroupsPath = \"/$CGP\""
	_capture timeout 20 "$RT" --root "$ROOT" run --bundle "$B" "frz-$$"; rc=$?
	is "$rc" 1 "run into a frozen cgroup is refused (status 1, not a hang)"
	like "$out" "freezer.state.*thaw" "... saying it is frozen and what to do"
	rt delete --force "frz-$$" >/dev/null 2>&1
	is "$(find /sys/fs/cgroup -maxdepth 2 -name "$CGP" | grep -v "^$FRZ/" )" "" "... and leaves no cgroup of its own behind"
else
	skip "run into a frozen cgroup: no v1 freezer hierarchy here"
fi

# createContainer hooks start in the container's root file system
reset_cfg ".process.args = [\"payload\", \"exit\", \"0\"] | .hooks = {\"createContainer\": [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"pwd > $T/hookcwd\"]}]}"
check "run with a createContainer hook" -- rt run --bundle "$B" "hook-$$"
is "$(cat "$T/hookcwd" 2>/dev/null)" "$B/rootfs" "the createContainer hook's cwd is the container's rootfs"
if [ -n "$RUNC" ]; then
	rm -f "$T/hookcwd"; _capture runc_ run --bundle "$B" "hook-$$"
	is "$(cat "$T/hookcwd" 2>/dev/null)" "$B/rootfs" "... as with runc"
fi
rt delete --force "hook-$$" >/dev/null 2>&1
[ -n "$RUNC" ] && runc_ delete --force "hook-$$" >/dev/null 2>&1
# the runtime's own hooks start in the bundle, as runc's (run from a
# different directory; startContainer in the container's process.cwd)
hook() { printf '"%s": [{"path": "/bin/sh", "args": ["sh", "-c", "echo %s $(pwd) >> %s"]}]' "$1" "$1" "$2"; }
hooks_cwd() {	# runtime-command -> one "kind cwd" line per hook, in order
	rm -f "$T/hooks.out" "$B/rootfs/tmp/hooks.out"
	reset_cfg ".root.readonly = false | .process.cwd = \"/home\" | .process.args = [\"payload\", \"exit\", \"0\"]
		| .hooks = {$(hook prestart "$T/hooks.out"), $(hook createRuntime "$T/hooks.out"),
			$(hook startContainer /tmp/hooks.out), $(hook poststart "$T/hooks.out"), $(hook poststop "$T/hooks.out")}"
	(cd /usr && $1 run --bundle "$B" "hookd-$$" >/dev/null 2>&1)
	$1 delete --force "hookd-$$" >/dev/null 2>&1
	cat "$T/hooks.out" "$B/rootfs/tmp/hooks.out" 2>/dev/null | tr '\n' ' '
	rm -f "$T/hooks.out" "$B/rootfs/tmp/hooks.out"
}
got=$(hooks_cwd rt)
is "$got" "prestart $B createRuntime $B poststart $B poststop $B startContainer /home " \
	"prestart, createRuntime, poststart and poststop hooks start in the bundle; startContainer in process.cwd"
[ -n "$RUNC" ] && is "$(hooks_cwd runc_)" "$got" "... as with runc"
# a startContainer hook that fails: `run` exits 1, the init's status, as runc
reset_cfg '.process.args = ["payload", "exit", "0"] | .hooks = {"startContainer": [{"path": "/bin/false"}]}'
_capture rt run --bundle "$B" "hookf-$$"; rc=$?
is "$rc" 1 "run with a failing startContainer hook exits 1 (as runc)"
like "$out" 'hooks.startContainer\[0\].*/bin/false.*status 1' "... naming the hook"
rt delete --force "hookf-$$" >/dev/null 2>&1
if [ -n "$RUNC" ]; then
	_capture runc_ run --bundle "$B" "hookf-$$"; is "$?" "$rc" "... runc's status"
	runc_ delete --force "hookf-$$" >/dev/null 2>&1
fi

# tty: the pty slave belongs to the container's user, and consoleSize is
# set before the process runs. A console socket receives the master.
cat > "$T/recvtty.py" <<'PY'
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
open(sys.argv[1] + ".ready", "w").close()
c, _ = s.accept()
fds = array.array("i")
msg, anc, _, _ = c.recvmsg(4096, socket.CMSG_LEN(fds.itemsize))
fds.frombytes(anc[0][2][:fds.itemsize])
out = b""
while True:
    try: b = os.read(fds[0], 4096)
    except OSError: break
    if not b: break
    out += b
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
PY
tty_run() {	# runtime-command id -> output of the container on its pty
	local sock=$T/tty-$2.sock
	rm -f "$sock" "$sock.ready"
	python3 "$T/recvtty.py" "$sock" > "$T/tty-$2.out" 2>&1 & local rp=$!
	while [ ! -e "$sock.ready" ]; do sleep 0.05; done
	$1 create --bundle "$B" --console-socket "$sock" "$2" >/dev/null 2>&1 && $1 start "$2" >/dev/null 2>&1
	timeout 20 tail --pid=$rp -f /dev/null; kill $rp 2>/dev/null
	cat "$T/tty-$2.out"
}
reset_cfg '.process.terminal = true | .process.user = {"uid": 1000, "gid": 1000} | .process.consoleSize = {"height": 33, "width": 111} | .process.args = ["sh", "-c", "stat -L -c %u /proc/self/fd/0; stty size"]'
out=$(tty_run rt "tty-$$")
is "$(echo "$out" | sed -n 1p)" 1000 "the pty slave is owned by the container's user"
is "$(echo "$out" | sed -n 2p)" "33 111" "consoleSize is applied before the process runs"
rt delete --force "tty-$$" >/dev/null 2>&1
if [ -n "$RUNC" ]; then
	rout=$(tty_run runc_ "tty-$$")
	is "$rout" "$out" "... runc gives the same owner and size"
	runc_ delete --force "tty-$$" >/dev/null 2>&1
fi
# the same for a process started by exec (-p process.json, a console socket)
cat > "$T/proc.json" <<'EOF'
{"terminal": true, "user": {"uid": 1000, "gid": 1000}, "consoleSize": {"height": 44, "width": 99},
 "args": ["sh", "-c", "stat -L -c %u /proc/self/fd/0; stty size"], "cwd": "/", "env": ["PATH=/bin"]}
EOF
tty_exec() {	# runtime-command id -> output of the exec'd process on its pty
	local sock=$T/ttyx-$2.sock
	rm -f "$sock" "$sock.ready"
	python3 "$T/recvtty.py" "$sock" > "$T/ttyx-$2.out" 2>&1 & local rp=$!
	while [ ! -e "$sock.ready" ]; do sleep 0.05; done
	$1 exec -d --console-socket "$sock" -p "$T/proc.json" "$2" >/dev/null 2>&1
	timeout 20 tail --pid=$rp -f /dev/null; kill $rp 2>/dev/null
	cat "$T/ttyx-$2.out"
}
reset_cfg
check "run -d a container to exec into with a tty" -- rt run -d --bundle "$B" "ttyx-$$"
out=$(tty_exec rt "ttyx-$$")
is "$(echo $out)" "1000 44 99" "exec: the pty slave is owned by the process's user and consoleSize is applied"
rt delete --force "ttyx-$$" >/dev/null 2>&1
if [ -n "$RUNC" ]; then
	runc_ run -d --bundle "$B" "ttyx-$$" >/dev/null 2>&1
	is "$(echo $(tty_exec runc_ "ttyx-$$"))" "$(echo $out)" "... as with runc"
	runc_ delete --force "ttyx-$$" >/dev/null 2>&1
fi

# update --cpu-rt-period / --cpu-rt-runtime (v1 cpu controller with RT group scheduling)
reset_cfg
ID=upd-$$
check "run -d a container to update" -- rt run -d --bundle "$B" "$ID"
cpudir=$(cgdirs 'select(.hierarchy | test("(^|,)cpu(,|$)"))')
if [ -n "$cpudir" ] && [ -f "$cpudir/cpu.rt_period_us" ]; then
	check "update --cpu-rt-period --cpu-rt-runtime" -- rt update --cpu-rt-period 500000 --cpu-rt-runtime 0 "$ID"
	is "$(cat "$cpudir/cpu.rt_period_us"):$(cat "$cpudir/cpu.rt_runtime_us")" "500000:0" "... written to cpu.rt_period_us and cpu.rt_runtime_us"
	if [ "$(cat "$cpudir/../cpu.rt_runtime_us")" = 0 ]; then
		# runc fails the same way under a parent without an RT budget
		_capture rt update --cpu-rt-runtime 1000 "$ID"
		like "$out" "rt_runtime_us = 1000.*parent cgroup's cpu.rt_runtime_us" "... a runtime the parent has no budget for: refused, naming the parent's budget"
	fi
else
	skip "update --cpu-rt-*: no cpu.rt_period_us (no RT group scheduling or no v1 cpu controller)"
fi
rt delete --force "$ID" >/dev/null 2>&1

# device access strings: any order, repeats, and runc's `a` (dropped: "rwa" is "rw")
reset_cfg '.process.args = ["sh", "-c", "(echo \"<7>cell-test\" > /dev/kmsg) 2>/dev/null && echo W || echo noW"]
	| .linux.devices = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]
	| .linux.resources.devices = [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rwa"}]'
for acc in rwa mwr rrw r; do
	cfg "$B" ".linux.resources.devices[1].access = \"$acc\""
	_capture rt run --bundle "$B" "dev-$$"; got=$out
	rt delete --force "dev-$$" >/dev/null 2>&1
	if [ -n "$RUNC" ]; then
		_capture runc_ run --bundle "$B" "dev-$$"; want=$out
		runc_ delete --force "dev-$$" >/dev/null 2>&1
	else
		case $acc in r) want=noW;; *) want=W;; esac
	fi
	is "$got" "$want" "device access \"$acc\" grants what runc grants ($want)"
done
cfg "$B" '.linux.resources.devices[1].access = "a"'
_capture rt run --bundle "$B" "dev-$$"; rc=$?
is "$rc" 1 "device access \"a\" alone is refused (runc fails on it too)"
like "$out" 'grants nothing' "... saying why"
rt delete --force "dev-$$" >/dev/null 2>&1

# checkpoint / restore through CRIU, runc's flags
_capture rt --criu /nonexistent/criu checkpoint --image-path "$T/img" "nope"; rc=$?
is "$rc" 1 "checkpoint with a missing criu exits 1"
like "$out" 'criu.*not executable.*criu package' "... with one clear line naming criu"
_capture env PATH=/nonexistent "$RT" --root "$ROOT" restore --image-path "$T/img" "nope"
like "$out" '`criu` not found in \$PATH' "restore without criu in \$PATH says so"
if ! command -v criu >/dev/null; then
	skip "checkpoint/restore round trip: criu is not installed"
elif ! why=$(criu check 2>&1); then
	skip "checkpoint/restore round trip: \`criu check\` fails on this kernel ($(uname -r)): $(echo "$why" | grep -m1 Error)"
	_capture rt checkpoint --image-path "$T/img" "nope"
	like "$out" 'criu check` fails on this host' "... and checkpoint says CRIU cannot work here"
else
	reset_cfg '.process.args = ["payload", "sleep", "100"]'
	ID=cr-$$
	check "run -d a container to checkpoint" -- rt run -d --bundle "$B" "$ID"
	check "checkpoint --leave-running --image-path --work-path" -- rt checkpoint --leave-running --image-path "$T/img" --work-path "$T/work" "$ID"
	is "$(rt state "$ID" | jq -r .status)" running "... leaves it running"
	check "checkpoint (stops and deletes it, as runc)" -- rt checkpoint --image-path "$T/img2" "$ID"
	fails "... the container is gone" -- rt state "$ID"
	check "restore --image-path --bundle" -- rt restore --image-path "$T/img2" --bundle "$B" "$ID"
	is "$(rt state "$ID" | jq -r .status)" running "the restored container runs"
	rt delete --force "$ID" >/dev/null 2>&1
fi

# bind sources the container's mapped root cannot reach (a 0700 dir of the
# host's root) are opened before the switch to the user namespace
mkdir -p "$T/priv/inner" "$B/rootfs/mnt"; echo secret > "$T/priv/inner/f"; chmod 700 "$T/priv"
chmod 755 "$B"
reset_cfg ".process.args = [\"cat\", \"/mnt/f\"] | .linux.namespaces += [{\"type\": \"user\"}]
	| .linux.uidMappings = [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}]
	| .linux.gidMappings = [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}]
	| .mounts += [{\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": \"$T/priv/inner\", \"options\": [\"rbind\", \"ro\"]}]"
_capture rt run --bundle "$B" "bind-$$"; is "$?:$out" "0:secret" "a bind source the mapped user cannot reach is mounted (opened before the user switch)"
rt delete --force "bind-$$" >/dev/null 2>&1
if [ -n "$RUNC" ]; then
	_capture runc_ run --bundle "$B" "bind-$$"; is "$?:$out" "0:secret" "... as runc does"
	runc_ delete --force "bind-$$" >/dev/null 2>&1
fi
cfg "$B" '.process.args = ["sh", "-c", "touch /mnt/x 2>&1; cat /mnt/f"]'
_capture rt run --bundle "$B" "bind-$$"
like "$out" 'Read-only file system' "... keeping its options (ro)"
rt delete --force "bind-$$" >/dev/null 2>&1

# a symlinked /proc in the rootfs: refused (runc: "must be mounted on ordinary directory")
reset_cfg '.process.args = ["true"]'
mv "$B/rootfs/proc" "$B/rootfs/proc.real"; ln -s /tmp "$B/rootfs/proc"
_capture rt run --bundle "$B" "proc-$$"; rc=$?
is "$rc" 1 "a rootfs whose /proc is a symlink is refused"
like "$out" '`/proc` in the rootfs is a symlink.*ordinary directory' "... saying so"
if [ -n "$RUNC" ]; then fails "... runc refuses it too" -- runc_ run --bundle "$B" "proc-$$"; fi
rt delete --force "proc-$$" >/dev/null 2>&1; [ -n "$RUNC" ] && runc_ delete --force "proc-$$" >/dev/null 2>&1
rm "$B/rootfs/proc"; mv "$B/rootfs/proc.real" "$B/rootfs/proc"

# a read-only /dev with /dev/pts below it: mounted, then made read-only (as runc)
reset_cfg '.process.args = ["sh", "-c", "ls /dev/pts/ptmx && ls /dev/null && touch /dev/x"] | .mounts |= map(if .destination == "/dev" then .options += ["ro"] else . end)'
_capture rt run --bundle "$B" "dev-$$"
like "$out" '/dev/pts/ptmx' "a read-only /dev still gets /dev/pts"
like "$out" '/dev/null' "... and the default device nodes"
like "$out" 'Read-only file system' "... and is read-only for the container"
rt delete --force "dev-$$" >/dev/null 2>&1
if [ -n "$RUNC" ]; then
	_capture runc_ run --bundle "$B" "dev-$$"; like "$(echo $out)" 'ptmx.*Read-only file system' "... as with runc"
	runc_ delete --force "dev-$$" >/dev/null 2>&1
fi

# joining a mount namespace by path works (as runc): the container runs in
# it, set up there as in a new one (its rootfs pivoted to, its mounts made).
# runc's pivot_root changes the namespace for good, so each runtime gets its own.
mntns_run() {	# runtime-command -> "namespace-of-the-process:what-it-saw"
	unshare --mount --propagation private sleep 300 & local upid=$!
	defer "kill $upid"
	while [ "$(readlink /proc/$upid/ns/mnt)" = "$(readlink /proc/self/ns/mnt)" ]; do sleep 0.05; done
	reset_cfg ".process.args = [\"sh\", \"-c\", \"readlink /proc/self/ns/mnt; ls /bin/payload; grep -c ' /dev/pts ' /proc/self/mountinfo\"]
		| .linux.namespaces |= map(if .type == \"mount\" then .path = \"/proc/$upid/ns/mnt\" else . end)"
	_capture $1 run --bundle "$B" "mntns-$$"
	local rc=$? ns; ns=$(readlink /proc/$upid/ns/mnt); out=$(echo $out)
	echo "$rc:${out//"$ns"/JOINED}"
	$1 delete --force "mntns-$$" >/dev/null 2>&1
	kill $upid 2>/dev/null
}
got=$(mntns_run rt)
is "$got" "0:JOINED /bin/payload 1" "a mount namespace joined by path: the container runs in it, in its rootfs, with its mounts"
[ -n "$RUNC" ] && is "$(mntns_run runc_)" "$got" "... as with runc"

# mounts without a mount namespace: as runc, made in the runtime's own
# namespace below the rootfs, the process chrooted into the rootfs; unlike
# runc (which leaves them on the host), delete unmounts them
reset_cfg '.process.args = ["sh", "-c", "ls /bin/payload; cat /proc/self/cmdline | tr \"\\\\0\" \" \""] | .linux.namespaces |= map(select(.type != "mount")) | del(.linux.maskedPaths, .linux.readonlyPaths)'
defer "grep -o ' $B/rootfs/[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l"
_capture rt run --bundle "$B" "nomnt-$$"; rc=$?
is "$rc" 0 "mounts without a mount namespace: the container runs (as runc)"
like "$out" '^/bin/payload' "... chrooted into its rootfs (not the host's /)"
like "$out" 'cat /proc/self/cmdline' "... with the spec's /proc mounted"
is "$(grep -c " $B/rootfs/" /proc/self/mountinfo)" 0 "... and nothing stays mounted on the host after delete (runc leaves them)"
rt delete --force "nomnt-$$" >/dev/null 2>&1
reset_cfg '.process.args = ["true"] | .linux.namespaces |= map(select(.type != "mount"))'
_capture rt run --bundle "$B" "nomnt-$$"; rc=$?
is "$rc" 1 "maskedPaths without a mount namespace are refused (as runc)"
like "$out" 'maskedPaths.*need a mount namespace' "... saying why"
rt delete --force "nomnt-$$" >/dev/null 2>&1

# a `unified` map where the controller is on cgroup v1 (legacy or hybrid host)
mode=$(stat -fc %T /sys/fs/cgroup)
if [ "$mode" != cgroup2fs ]; then
	reset_cfg '.process.args = ["true"] | .linux.resources.unified = {"pids.max": "10"}'
	_capture rt run --bundle "$B" "uni-$$"; rc=$?
	is "$rc" 1 "linux.resources.unified for a controller on cgroup v1 is refused (as runc)"
	like "$out" 'unified.*pids.*v1' "... naming the key and why"
	rt delete --force "uni-$$" >/dev/null 2>&1
	if [ -n "$RUNC" ]; then fails "... runc refuses it too" -- runc_ run --bundle "$B" "uni-$$"; runc_ delete --force "uni-$$" >/dev/null 2>&1; fi
else
	skip "unified on a v1 host: this host is cgroup v2 only"
fi

# mount options from runc 1.1's table: nosymfollow, acl, iversion, rnostrictatime...
reset_cfg '.process.args = ["sh", "-c", "grep \" /mnt \" /proc/self/mountinfo | cut -d\" \" -f6"]
	| .mounts += [{"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["nosymfollow", "acl", "noacl", "iversion", "noiversion", "symfollow", "nosymfollow", "rnostrictatime", "rnorelatime"]}]'
_capture rt run --bundle "$B" "mopt-$$"; got="$?:$out"
like "$got" '^0:rw,.*nosymfollow' "mount options nosymfollow, acl, iversion (and their no- forms), rnostrictatime, rnorelatime are applied"
rt delete --force "mopt-$$" >/dev/null 2>&1
if [ -n "$RUNC" ]; then
	_capture runc_ run --bundle "$B" "mopt-$$"; is "$?:$out" "$got" "... as with runc"
	runc_ delete --force "mopt-$$" >/dev/null 2>&1
	missing=$(comm -23 <("$RUNC" features | jq -r '.mountOptions[]' | sort) <("$RT" features | jq -r '.mountOptions[]' | sort) | tr '\n' ' ')
	is "$missing" "" "features: every mount option runc lists"
fi

# tmpcopyup: the tmpfs gets what the image has below it (a symlink copied as
# a symlink, owners, modes), and a tmpfs on an image's directory takes that
# directory's mode unless mode= is given (runc 1.1.5 ignores mode= there)
mkdir -p "$B/rootfs/cu/sub"; echo hi > "$B/rootfs/cu/f"; ln -s /etc/shadow "$B/rootfs/cu/l"
chown 1000:1000 "$B/rootfs/cu/sub"; chmod 751 "$B/rootfs/cu/sub"; chmod 750 "$B/rootfs/cu"
reset_cfg '.process.args = ["sh", "-c", "stat -c \"%n %a %u %F\" /cu /cu/f /cu/l /cu/sub; readlink /cu/l; cat /cu/f; grep \" /cu \" /proc/self/mountinfo | cut -d\" \" -f5,9; touch /cu/x 2>&1"]
	| .mounts += [{"destination": "/cu", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "ro"]}]'
_capture rt run --bundle "$B" "cu-$$"; got=$out
like "$(echo $got)" '^/cu 750 0 directory /cu/f 644 0 regular file /cu/l 777 0 symbolic link /cu/sub 751 1000 directory /etc/shadow hi' \
	"tmpcopyup: the image's files, symlinks, owners and modes are copied into the tmpfs, which keeps the directory's mode"
like "$(echo $got)" 'hi /cu tmpfs .*Read-only file system$' "... then made read-only (ro), the rootfs left as it was"
is "$(ls "$B/rootfs/cu" | tr '\n' ' ')" "f l sub " "... the directory below is untouched"
rt delete --force "cu-$$" >/dev/null 2>&1
if [ -n "$RUNC" ]; then
	_capture runc_ run --bundle "$B" "cu-$$"; is "$(echo $out)" "$(echo $got)" "... as with runc"
	runc_ delete --force "cu-$$" >/dev/null 2>&1
fi
cfg "$B" '.process.args = ["stat", "-c", "%a", "/cu"] | .mounts[-1].options = ["mode=700"]'
_capture rt run --bundle "$B" "cu-$$"; is "$out" 700 "a tmpfs's mode= wins over the directory's"
rt delete --force "cu-$$" >/dev/null 2>&1
rm -rf "$B/rootfs/cu"
