#!/bin/bash
# cell run --init (cell-init as process 1), the default seccomp allow-list
# and its capability groups, --userns remapping. Everything removed after.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
engine_setup

# A static helper that makes one syscall and prints its errno name ("ok"
# when it succeeds): what the seccomp filter answers, seen from inside.
cat > "$TMPD/sc.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static int child(void *a) { (void)a; return 0; }
static char stack[65536];
int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	long r = -1;
	errno = 0;
	if (!strcmp(c, "ptrace"))
		r = syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
	else if (!strcmp(c, "keyctl"))	/* KEYCTL_GET_KEYRING_ID of the session keyring */
		r = syscall(SYS_keyctl, 0, -3, 0);
	else if (!strcmp(c, "clone-newns")) {
		r = clone(child, stack + sizeof(stack), CLONE_NEWNS | SIGCHLD, NULL);
		if (r > 0) waitpid((pid_t)r, NULL, 0);
	} else if (!strcmp(c, "clone")) {
		r = clone(child, stack + sizeof(stack), SIGCHLD, NULL);
		if (r > 0) waitpid((pid_t)r, NULL, 0);
	} else if (!strcmp(c, "clone3"))
		r = syscall(SYS_clone3, NULL, 0);
	else if (!strcmp(c, "personality-query"))
		r = syscall(SYS_personality, 0xffffffffUL);
	else if (!strcmp(c, "personality-rie"))	/* READ_IMPLIES_EXEC */
		r = syscall(SYS_personality, 0x0400000UL);
	else if (!strcmp(c, "vsock"))
		r = socket(40, SOCK_STREAM, 0);
	else if (!strcmp(c, "unix"))
		r = socket(AF_UNIX, SOCK_STREAM, 0);
	else if (!strcmp(c, "io_uring"))
		r = syscall(425, 1, NULL);
	else if (!strcmp(c, "unknown"))
		r = syscall(1000);
	else if (!strcmp(c, "chroot"))
		r = chroot("/");
	else
		return fprintf(stderr, "sc: unknown `%s`\n", c), 2;
	printf("%s\n", r < 0 ? strerrorname_np(errno) : "ok");
	return 0;
}
EOF
if cc -static -O -o "$TMPD/sc" "$TMPD/sc.c" 2>"$TMPD/cc.err"; then
	mkdir -p "$TMPD/h" && cp "$TMPD/sc" "$TMPD/h/sc"
	sc() { c run --rm -v "$TMPD/h:/h:ro" "$@"; }
	have_sc=1
else
	have_sc=0
	echo "# no static helper (cc -static failed: $(head -1 "$TMPD/cc.err")): syscall checks skipped"
fi

# ---- --init ----
like "$(c run --rm --init busybox ps -o pid,args)" "^PID +COMMAND
 +1 /sbin/docker-init -- ps" "--init: cell-init is process 1, the command its child"
c run --rm --init busybox sh -c 'exit 7'; is $? 7 "--init: the command's exit status"
c run --rm --init busybox sh -c 'kill -KILL $$'; is $? 137 "--init: killed by a signal gives 128+N"
out=$(c run --rm --init busybox no-such-cmd 2>&1); rc=$?
is "$rc" 127 "--init: command not found exits 127"
like "$out" "cell-init: exec \`no-such-cmd\`" "--init: says which command it could not run"
c run --rm --init busybox /etc/passwd 2>/dev/null; is $? 126 "--init: not executable exits 126"
is "$(c run --rm --init busybox sh -c 'test -x /sbin/docker-init && ! touch /sbin/docker-init 2>/dev/null && echo ro')" \
	"ro" "--init: the binary is bound read-only"

# zombies: the orphaned `sleep` is reparented to process 1; a `sleep` as
# process 1 never waits for it, cell-init does
zombies() { c exec "$1" ps -o stat | grep -c '^Z'; }
orphan='sh -c "sleep 0.2 & exec true"; exec sleep 30'
c run -d --name noinit busybox sh -c "$orphan" >/dev/null
c run -d --name withinit --init busybox sh -c "$orphan" >/dev/null
sleep 1
is "$(zombies noinit)" 1 "without --init the orphan stays a zombie (the test can fail)"
is "$(zombies withinit)" 0 "--init reaps orphaned zombies"

# signals: a `sleep` as process 1 has no SIGTERM handler, so the kernel drops
# it and stop waits for the SIGKILL; cell-init forwards it at once
s=$(date +%s%N); c stop -t 5 withinit >/dev/null; ms=$(( ($(date +%s%N) - s) / 1000000 ))
ok $([ $ms -lt 2500 ]; echo $?) "--init: stop forwards SIGTERM (stopped in ${ms} ms)"
is "$(c inspect -f '{{.State.ExitCode}}' withinit)" 143 "--init: exit code 143 after SIGTERM"
s=$(date +%s%N); c stop -t 2 noinit >/dev/null; ms=$(( ($(date +%s%N) - s) / 1000000 ))
ok $([ $ms -ge 1800 ]; echo $?) "without --init SIGTERM is dropped, stop waits for the timeout (${ms} ms)"
like "$(c inspect withinit)" '"Init": true' "inspect: HostConfig.Init"
# -it: the command is the terminal's foreground process group, so ^C reaches it
if command -v script >/dev/null; then
	is "$(script -qec "\"$CELL\" --root \"$R\" run --rm -it --network none --init busybox sh -c 'cut -d\" \" -f5,8 /proc/\$\$/stat'" /dev/null | tr -dc '0-9 ')" \
		"2 2" "--init -t: the command leads the terminal's foreground process group"
	(sleep 1.5; printf '\003'; sleep 1) | timeout 20 script -qec "\"$CELL\" --root \"$R\" run --rm -it --network none --init busybox sleep 30" /dev/null >/dev/null
	is $? 130 "--init -it: ^C kills the command (exit 130)"
else
	skip "no script(1)"; skip "no script(1)"
fi
is "$(c inspect -f '{{.Path}}' withinit)" "sh" "inspect: Path is the command, not the init"
like "$(c inspect -f '{{json .Mounts}}' withinit)" '^\[\]$' "inspect: the init binary is not listed in Mounts"
c rm -f noinit withinit >/dev/null

# ---- the default seccomp profile ----
like "$(c run --rm busybox grep Seccomp: /proc/self/status)" "Seccomp:[[:space:]]+2" "a filter by default"
is "$(c run --rm busybox sh -c 'ls /bin >/dev/null && echo a >/tmp/x && cat /tmp/x && ps >/dev/null && date >/dev/null && id -u && sleep 0.1 && echo done')" \
	"a
0
done" "ordinary busybox work runs under the filter"
fails "mount refused" -- c run --rm busybox mount -t tmpfs t /tmp
like "$(c run --rm busybox unshare -m true 2>&1)" "Operation not permitted" "unshare refused"
check "--cap-add SYS_ADMIN: unshare works" -- c run --rm --cap-add SYS_ADMIN busybox unshare -m true
check "--privileged: mount works" -- c run --rm --privileged busybox mount -t tmpfs t /tmp
check "seccomp=unconfined: no filter" -- \
	sh -c "\"$CELL\" --root \"$R\" run --rm --network none --security-opt seccomp=unconfined busybox grep Seccomp: /proc/self/status | grep -q '[[:space:]]0$'"
printf '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}' > "$TMPD/prof.json"
is "$(c run --rm --security-opt seccomp="$TMPD/prof.json" busybox payload syscall getcwd)" "Permission denied" \
	"seccomp=FILE replaces the default"
if [ $have_sc = 1 ]; then
	is "$(sc busybox /h/sc ptrace)" "EPERM" "ptrace refused"
	is "$(sc --cap-add SYS_PTRACE busybox /h/sc ptrace)" "ok" "--cap-add SYS_PTRACE: ptrace allowed"
	is "$(sc busybox /h/sc keyctl)" "EPERM" "keyctl refused"
	is "$(sc --privileged busybox /h/sc keyctl)" "ok" "keyctl works without the filter (--privileged)"
	is "$(sc busybox /h/sc clone)" "ok" "clone without namespace flags allowed"
	is "$(sc busybox /h/sc clone-newns)" "EPERM" "clone with CLONE_NEWNS refused"
	is "$(sc busybox /h/sc clone3)" "ENOSYS" "clone3 answers ENOSYS (glibc falls back to clone)"
	is "$(sc busybox /h/sc personality-query)" "ok" "personality query allowed"
	is "$(sc busybox /h/sc personality-rie)" "EPERM" "personality READ_IMPLIES_EXEC refused"
	is "$(sc busybox /h/sc vsock)" "EPERM" "socket(AF_VSOCK) refused"
	is "$(sc busybox /h/sc unix)" "ok" "socket(AF_UNIX) allowed"
	is "$(sc busybox /h/sc io_uring)" "EPERM" "io_uring refused"
	is "$(sc busybox /h/sc unknown)" "ENOSYS" "a syscall number above the highest known one gets ENOSYS (runc), so libcs fall back"
	is "$(sc busybox /h/sc chroot)" "ok" "chroot allowed with the default CAP_SYS_CHROOT"
	is "$(sc --cap-drop SYS_CHROOT busybox /h/sc chroot)" "EPERM" "--cap-drop SYS_CHROOT: chroot refused by the filter too"
	is "$(sc --init busybox /h/sc clone)" "ok" "--init under the filter"
else
	for i in $(seq 16); do skip "no static helper"; done
fi

# ---- --userns ----
# the container's root is an unprivileged host id: its directory and the
# test root must be searchable by others (mktemp -d makes them 0700)
chmod 711 "$TMPD"
ns_ids() { c inspect -f '{{json .HostConfig.IDMappings}}' "$1"; }
is "$(c run --rm busybox cat /proc/self/uid_map | tr -s ' ')" " 0 0 4294967295" "--userns host (default): the host's user namespace"
c run -d --name u1 --userns auto busybox sleep 60 >/dev/null
u1=$(c inspect -f '{{.Id}}' u1 2>/dev/null)
like "$(ns_ids u1)" '"UidMap":\["0:[0-9]+:65536"\]' "--userns auto: a 65536-id range in HostConfig.IDMappings"
base=$(ns_ids u1 | grep -o '"UidMap":\["0:[0-9]*' | grep -o '[0-9]*$')
ok $([ "${base:-0}" -ge 100000 ]; echo $?) "--userns auto: the range starts at or above 100000 ($base)"
is "$(c exec u1 cat /proc/self/uid_map | tr -s ' ')" " 0 $base 65536" "uid_map inside shows the mapping"
is "$(c exec u1 cat /proc/self/gid_map | tr -s ' ')" " 0 $base 65536" "gid_map inside shows the mapping"
is "$(c exec u1 id -u):$(c exec u1 id -g)" "0:0" "id inside says root"
pid=$(c inspect -f '{{.State.Pid}}' u1)
is "$(awk '/^Uid:/ {print $2}' /proc/$pid/status)" "$base" "on the host the container's root is uid $base"
is "$(c exec u1 stat -c '%u:%g' / /bin/busybox /etc/passwd | sort -u)" "0:0" "the root file system looks owned by root inside"
check "the container's root writes its root file system" -- c exec u1 sh -c 'echo x > /newfile && mkdir /newdir && chown 1000:1000 /newdir'
is "$(stat -c '%u:%g' "$R/containers/$u1/upper/newfile")" "$base:$base" "a file it creates is host uid base+0 on disk"
is "$(stat -c '%u' "$R/containers/$u1/upper/newdir")" "$((base + 1000))" "uid 1000 inside is base+1000 on disk"
echo secret > "$TMPD/secret"; chmod 600 "$TMPD/secret"
c rm -f u1 >/dev/null
c run -d --name u2 --userns auto -v "$TMPD/secret:/secret:ro" busybox sleep 60 >/dev/null
like "$(c exec u2 cat /secret 2>&1)" "Permission denied" "a host root-only file bound in is unreadable to the container's root"
is "$(c exec u2 stat -c %u /secret)" 65534 "... it shows as the overflow uid"
c run -d --name u3 --userns auto busybox sleep 60 >/dev/null
b2=$(ns_ids u2 | grep -o '"UidMap":\["0:[0-9]*' | grep -o '[0-9]*$')
b3=$(ns_ids u3 | grep -o '"UidMap":\["0:[0-9]*' | grep -o '[0-9]*$')
ok $([ -n "$b2" ] && [ -n "$b3" ] && [ "$b2" != "$b3" ]; echo $?) "two auto containers get different ranges ($b2, $b3)"
id2=$(c inspect -f '{{.Id}}' u2)
ok $([ "$(grep -c "$R/containers/$id2/lower" /proc/mounts)" -ge 1 ]; echo $?) "the layers are mounted id-mapped under the container"
c rm -f u2 >/dev/null
is "$(grep -c "$id2" /proc/mounts)" 0 "rm leaves no mount behind (rootfs and id-mapped layers)"
c run -d --name u4 --userns auto busybox sleep 60 >/dev/null
is "$(ns_ids u4 | grep -o '"UidMap":\["0:[0-9]*' | grep -o '[0-9]*$')" "$b2" "rm released the range: the next container gets it"
c rm -f u3 u4 >/dev/null
is "$(c run --rm --userns auto -v secvol:/data busybox sh -c 'touch /data/f && stat -c %u:%g /data/f')" "0:0" \
	"--userns auto: a new named volume belongs to the container's root"
like "$(stat -c %u "$R/volumes/secvol/_data/f")" "^[1-9][0-9]{5,}$" "... which is an unprivileged uid on the host"
is "$(c run --rm --userns auto -v secvol2:/etc busybox stat -c %u /etc/passwd)" 0 \
	"--userns auto: image content copied into a volume keeps its owners inside"
c volume rm secvol secvol2 >/dev/null
is "$(c run --rm --uidmap 0:200000:1000 --gidmap 0:300000:1000 busybox sh -c 'cat /proc/self/uid_map /proc/self/gid_map' | tr -s ' ')" \
	" 0 200000 1000
 0 300000 1000" "--uidmap/--gidmap: podman's explicit mappings"
is "$(c run --rm --uidmap 0:200000:65536 busybox sh -c 'id -u; cat /proc/self/gid_map' | tr -s ' ')" "0
 0 200000 65536" "--uidmap alone maps the gids the same way"
like "$(c run --rm --userns auto --init busybox ps -o pid,user,args | sed -n 2p | tr -s ' ')" "^ 1 root /sbin/docker-init -- ps" \
	"--userns auto with --init"
fails "--userns bogus refused" -- c run --rm --userns bogus busybox true
like "$LAST_OUT" "invalid --userns \`bogus\`" "... saying why"
fails "--uidmap malformed refused" -- c run --rm --uidmap 0:1 busybox true
fails "--userns auto with --privileged refused" -- c run --rm --userns auto --privileged busybox true
is "$(ls "$R/containers" | grep -cv '^\.')" 0 "nothing left by the refused ones"
