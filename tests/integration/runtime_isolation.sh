#!/bin/bash
# Isolation of cell-runtime containers (issue 18): device rules, --no-pivot,
# seccomp corner cases, and the 2025 runc advisories on masked paths and
# /dev. Each check fails on a runtime that lets the container through.
# No test writes to a host device: /dev/kmsg is only opened, never written.
. "$(dirname "$0")/../lib/tap.sh"
need_root
ROOT=$(mktemp -d /tmp/cell-rt-root.XXXXXX); defer "rm -rf '$ROOT'"
defer 'for i in $(ls "$ROOT" 2>/dev/null); do "$RT" --root "$ROOT" delete --force "$i"; done'
make_bundle; B=$BUNDLE; chmod 755 "$B"
cfg "$B" '.process.terminal = false'
cp "$B/config.json" "$B/base.json"
n=0
# inside [RUNOPTS...] -- FILTER ARGS...: reset config, apply the jq filter,
# run payload ARGS (stdout and stderr)
inside() {
	local opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done; shift
	local filter=$1; shift
	n=$((n + 1))
	jq "$filter | .process.args = [\"payload\"] + \$ARGS.positional" "$B/base.json" --args "$@" > "$B/config.json"
	"$RT" --root "$ROOT" run "${opts[@]}" --bundle "$B" "iso$n-$$" 2>&1
}
DENY='.linux.resources.devices = [{"allow":false,"access":"rwm"}]'

# --- device rules
like "$(inside -- "$DENY"' | .linux.devices = [{"path":"/dev/kmsg","type":"c","major":1,"minor":11,"fileMode":438}]' openw /dev/kmsg)" \
	"open /dev/kmsg: Operation not permitted" \
	"device in linux.devices gets no implicit allow rule (deny-all: opening /dev/kmsg write-only refused)"
is "$(inside -- "$DENY"' | .linux.resources.devices += [{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}] | .linux.devices = [{"path":"/dev/mine","type":"c","major":1,"minor":3,"fileMode":438}]' open /dev/mine)" ok \
	"a linux.devices node allowed by resources.devices opens (positive control)"
for d in null zero full random urandom tty ptmx; do
	out=$(inside -- "$DENY" open /dev/$d)
	# /dev/tty has no controlling terminal here: ENXIO means the cgroup let it through
	case $d in tty) like "$out" "^ok$|No such device or address" "default device /dev/$d allowed under deny-all";;
	*) is "$out" ok "default device /dev/$d allowed under deny-all";; esac
done

# --- seccomp
# an allow-list profile, default EPERM, with what the payload and the last
# steps of the init need
ALLOW='["arch_prctl","brk","execve","execveat","exit","exit_group","getrandom","mprotect","mmap","munmap","newfstatat","fstat","prlimit64","readlink","rseq","set_robust_list","set_tid_address","write","read","close","close_range","fcntl","dup2","dup3","rt_sigaction","rt_sigprocmask","rt_sigreturn","futex","getpid","gettid","capget","capset","prctl","setresuid","setresgid","setgroups","chdir","fchdir","openat","ioctl","sched_yield","uname"]'
PROF='.linux.seccomp = {"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[{"names":'"$ALLOW"',"action":"SCMP_ACT_ALLOW"}]}'
is "$(inside -- "$PROF" syscall 1000)" "Function not implemented" \
	"seccomp: a syscall number above the arch's highest known one returns ENOSYS, not the default action's EPERM"
is "$(inside -- "$PROF" syscall mkdir)" "Operation not permitted" \
	"... a known syscall outside the profile still gets the default action"
is "$(inside -- '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}' syscall 1000)" "Function not implemented" \
	"... and ENOSYS under a default-allow profile"
out=$(inside -- '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/nonexistent.sock","syscalls":[{"names":["mkdir","write"],"action":"SCMP_ACT_NOTIFY"}]}' exit 0); rc=$?
is "$rc" 1 "seccomp: SCMP_ACT_NOTIFY on write refused at create (exit 1)"
like "$out" 'syscalls\[0\]\.names\[1\].*SCMP_ACT_NOTIFY cannot be used for the write syscall' "... naming the field and why"

# a seccomp agent: receives notify fds on a unix socket and answers every
# notification with EXDEV, which no real mkdir returns here
tmpdir
cat > "$TMPD/agent.py" <<'PY'
import array, fcntl, os, socket, struct, sys, threading
RECV, SEND = 0xC0502100, 0xC0182101	# SECCOMP_IOCTL_NOTIF_RECV/SEND
def serve(fd):
	while True:
		buf = bytearray(80)
		try:
			fcntl.ioctl(fd, RECV, buf)
		except OSError:
			return
		nid = struct.unpack_from("=Q", buf)[0]
		try:
			fcntl.ioctl(fd, SEND, struct.pack("=QqiI", nid, 0, -18, 0))
		except OSError:
			pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
open(sys.argv[2], "w").close()
while True:
	c, _ = s.accept()
	msg, fds, _, _ = socket.recv_fds(c, 65536, 4)
	c.close()
	for fd in fds:
		threading.Thread(target=serve, args=(fd,), daemon=True).start()
PY
python3 "$TMPD/agent.py" "$TMPD/agent.sock" "$TMPD/agent.ready" & agent=$!
defer "kill $agent 2>/dev/null; wait $agent 2>/dev/null"
for _ in $(seq 100); do [ -e "$TMPD/agent.ready" ] && break; sleep 0.05; done
jq '.process.args = ["payload", "sleep", "60"] | .linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"'"$TMPD/agent.sock"'","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}' \
	"$B/base.json" > "$B/config.json"
"$RT" --root "$ROOT" run --detach --bundle "$B" "notify-$$" < /dev/null > /dev/null 2>&1
is "$("$RT" --root "$ROOT" exec "notify-$$" payload syscall mkdir 2>&1)" "Invalid cross-device link" \
	"seccomp: under SCMP_ACT_NOTIFY a process started by exec reaches the listener (not ENOSYS)"
"$RT" --root "$ROOT" delete --force "notify-$$" > /dev/null 2>&1

# --- --no-pivot
NP='.process.capabilities.bounding += ["CAP_SETFCAP"] | .process.capabilities.permitted += ["CAP_SETFCAP"] | .process.capabilities.effective += ["CAP_SETFCAP"]'
jq "$NP"' | .process.args = ["unshare", "-mrpf", "sh", "-c", "mount -t proc none /proc && echo MOUNTED"]' "$B/base.json" > "$B/config.json"
out=$("$RT" --root "$ROOT" run --no-pivot --bundle "$B" "nopivot-$$" 2>&1 < /dev/null)
like "$out" "ermission denied" "--no-pivot: no fully visible host /proc stays reachable (a new proc mount in a user namespace is refused)"
unlike() { [[ ! "$1" =~ $2 ]]; ok $? "$3"; }
unlike "$out" MOUNTED "... and nothing got mounted"
jq "$NP"' | .process.args = ["unshare", "-mrpf", "sh", "-c", "mount -t proc none /proc && echo MOUNTED"]' "$B/base.json" > "$B/config.json"
like "$("$RT" --root "$ROOT" run --bundle "$B" "pivot-$$" 2>&1 < /dev/null)" "ermission denied" "... as with pivot_root (control)"
ln -s "$B" "$B.lnk"; defer "rm -f '$B.lnk'"
jq '.process.args = ["payload", "exists", "/proc/self/status"]' "$B/base.json" > "$B/config.json"
is "$("$RT" --root "$ROOT" run --no-pivot --bundle "$B.lnk" "nopivot2-$$" 2>&1 < /dev/null)" yes \
	"--no-pivot through a symlinked bundle path keeps the container's own /proc"

# --- masked paths and /dev (runc's 2025 advisories)
# CVE-2025-31133: the image's own /dev (no tmpfs on /dev) has /dev/null as a
# symlink to a procfs file; a runtime binding "/dev/null" by name onto the
# masked /proc/timer_list binds that file there, writable past readonlyPaths.
# hostname is namespaced, so the redirected file is harmless here.
# The image's /dev gets real nodes over such links (as runc makes them), so
# the case that remains is a /dev bind-mounted from a directory with one.
H=$(mktemp -d /tmp/cell-bundle.XXXXXX); defer "rm -rf '$H'"
cp -a "$(test_rootfs)" "$H/rootfs"
mkdir "$H/dev"
ln -s /proc/sys/kernel/hostname "$H/dev/null"
jq '.hostname = "cvebox" | del(.mounts[] | select(.destination | startswith("/dev"))) | .mounts += [{"destination":"/dev","type":"bind","source":"'"$H"'/dev","options":["rbind"]}] | .process.args = ["sh", "-c", "cat /proc/timer_list; echo; stat -c %F:%t:%T /proc/timer_list"]' "$B/base.json" > "$H/config.json"
out=$("$RT" --root "$ROOT" run --bundle "$H" "cve31133-$$" 2>&1 < /dev/null)
unlike "$out" cvebox "masked path not bound from a /dev/null the container replaced by a symlink (CVE-2025-31133)"
like "$out" "/dev/null in the container is not the null device" "... the container is refused, saying why"
ln -s /proc/sys/kernel/hostname "$H/rootfs/dev/null"
jq '.hostname = "cvebox" | del(.mounts[] | select(.destination == "/dev")) | .process.args = ["sh", "-c", "cat /proc/timer_list; stat -c %F:%t:%T /proc/timer_list"]' "$B/base.json" > "$H/config.json"
is "$("$RT" --root "$ROOT" run --bundle "$H" "cve31133b-$$" 2>&1 < /dev/null | tr '\n' ' ')" "character special file:1:3 " \
	"... an image's /dev/null planted as a symlink is replaced by the node before masking"
jq '.process.args = ["sh", "-c", "cat /proc/timer_list; stat -c %F:%t:%T /proc/timer_list /proc/keys; ls -A /proc/acpi /sys/firmware | grep -vc \":$\\|^$\"; grep -c \" /proc/acpi .* - tmpfs \\| /sys/firmware .* - tmpfs \" /proc/self/mountinfo"]' "$B/base.json" > "$B/config.json"
is "$("$RT" --root "$ROOT" run --bundle "$B" "masked-$$" 2>&1 < /dev/null | tr '\n' ' ')" \
	"character special file:1:3 character special file:1:3 0 2 " \
	"maskedPaths: files bound from the null device, directories each an empty mount"

# CVE-2025-52881: procfs writes redirected by a mount over the file; the
# runtime must write through a procfs of its own, not the path it sees
printf 'untouched\n' > "$B/rootfs/tmp/fake-proc-file"
jq '.linux.sysctl = {"kernel.domainname": "redirected.example"} | .mounts += [{"destination":"/proc/sys/kernel/domainname","type":"bind","source":"'"$B"'/rootfs/tmp/fake-proc-file","options":["bind"]}] | .process.args = ["payload", "domainname"]' \
	"$B/base.json" > "$B/config.json"
is "$("$RT" --root "$ROOT" run --bundle "$B" "cve52881-$$" 2>&1 < /dev/null)" redirected.example \
	"a sysctl is written to procfs even with a file bound over its /proc path (CVE-2025-52881)"
is "$(cat "$B/rootfs/tmp/fake-proc-file")" untouched "... and the file bound there is not written"

# startContainer hooks run in the container under its seccomp filter (runc)
rm -rf "$B/rootfs/tmp/hook-mkdir"
jq '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]} | .hooks = {"startContainer":[{"path":"/bin/mkdir","args":["mkdir","/tmp/hook-mkdir"]}]} | .process.noNewPrivileges = true | .root.readonly = false | .process.args = ["payload", "exit", "0"]' \
	"$B/base.json" > "$B/config.json"
out=$("$RT" --root "$ROOT" run --bundle "$B" "hookseccomp-$$" 2>&1 < /dev/null)
is "$([ -d "$B/rootfs/tmp/hook-mkdir" ] && echo made || echo refused)" refused \
	"seccomp: a startContainer hook runs under the container's filter (its mkdir refused)"
like "$out" "startContainer" "... and the hook's failure is reported"

# CVE-2025-52565: /dev/console gets the container's pty through its fd, and
# never through a symlink the image planted at /dev/console
if command -v script > /dev/null; then
	jq '.process.terminal = true | .process.args = ["sh", "-c", "stat -c %t:%T /dev/console; [ /dev/console -ef /proc/self/fd/0 ] && echo same"]' "$B/base.json" > "$B/config.json"
	out=$(timeout 20 script -qec "'$RT' --root '$ROOT' run --bundle '$B' console-$$" /dev/null < /dev/null | tr -d '\r')
	like "$out" "88:0" "process.terminal: /dev/console is the container's pty (char 136:0)"
	like "$out" "same" "... the very pty of the process's stdin"
	C=$(mktemp -d /tmp/cell-bundle.XXXXXX); defer "rm -rf '$C'"
	cp -a "$(test_rootfs)" "$C/rootfs"
	printf 'target\n' > "$C/rootfs/tmp/console-target"
	ln -s /tmp/console-target "$C/rootfs/dev/console"
	jq '.process.terminal = true | .root.readonly = false | del(.mounts[] | select(.destination == "/dev" or .destination == "/dev/pts")) | .mounts += [{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620"]}] | .process.args = ["sh", "-c", "grep -c console-target /proc/self/mountinfo"]' "$B/base.json" > "$C/config.json"
	ln -sf pts/ptmx "$C/rootfs/dev/ptmx"
	out=$(timeout 20 script -qec "'$RT' --root '$ROOT' run --bundle '$C' console2-$$" /dev/null < /dev/null | tr -d '\r')
	like "$out" "/dev/console in the container is a symlink" "/dev/console planted as a symlink: the console is not mounted through it (CVE-2025-52565)"
	is "$(cat "$C/rootfs/tmp/console-target")" target "... and its target is untouched"
else
	skip "no script(1) to give the runtime a terminal"
fi
