#!/bin/bash
# What a careless or unlucky user gives the engine, and a full disk: a mount
# over the container's root (-v /tmp/x:/, --mount dst=/, --tmpfs /) is
# refused; logs --since with a value that is no time is refused (125, a
# message); a -w the image lacks is made as Docker makes it (root's, 0755,
# inside the root even through the image's symlinks). Everything removed.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
engine_setup
mkdir -p "$TMPD/x"

# -v, --mount and --tmpfs over /
for spec in "-v $TMPD/x:/" "-v $TMPD/x:///" "-v $TMPD/x:/." "-v $TMPD/x:/..:ro" "-v vol1:/" "-v /" \
	"--mount type=bind,src=$TMPD/x,dst=/" "--mount type=volume,dst=/" "--tmpfs /"; do
	fails "run $spec is refused" -- c run --rm $spec busybox true
	is "$LAST_RC" 125 "run $spec: exit 125"
	like "$LAST_OUT" "container path .* is the container's root file system" "run $spec: says why"
done
is "$(c ps -aq | wc -l)" 0 "no container is left by the refused runs"
check "-v HOST:/... is a path below the root: accepted" -- c run --rm -v "$TMPD/x:/..." busybox true
check "-v HOST:/data still works" -- c run --rm -v "$TMPD/x:/data" busybox true

# logs --since: garbage refused, a time or a duration kept
c run -d --name lg busybox sh -c 'echo early; sleep 2; echo late; sleep 600' >/dev/null
sleep 0.7
mid=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ) mid_unix=$(date +%s.%N)
sleep 2
for v in garbage 2026-13-45 10x ""; do
	fails "logs --since '$v' is refused" -- c logs --since "$v" lg
	is "$LAST_RC" 125 "logs --since '$v': exit 125"
	like "$LAST_OUT" "invalid --since .*unix time, an RFC 3339 date" "logs --since '$v': says what it takes"
done
is "$(c logs --since "$mid" lg 2>&1)" "late" "logs --since RFC 3339: the lines after it"
is "$(c logs --since "$mid_unix" lg 2>&1)" "late" "logs --since unix time with a fraction"
# whole seconds back to at most 1 s after $mid: before "late" (1.3 s after it)
back=$(awk -v m="$mid_unix" -v n="$(date +%s.%N)" 'BEGIN { print int(n - m) }')
is "$(c logs --since "${back}s" lg 2>&1)" "late" "logs --since ${back}s: a duration back from now"
is "$(c logs --since 10m lg 2>&1 | tr '\n' ' ')" "early late " "logs --since 10m: both"
c rm -f lg >/dev/null

# -w a directory the image lacks: made as the container's root, 0755
is "$(c run --rm busybox sh -c 'pwd')" "/" "no -w: / (control)"
is "$(c run --rm -w /new/sub busybox pwd 2>&1)" "/new/sub" "-w /new/sub: made and entered"
is "$(c run --rm -u tester -w /made//by/./docker/ busybox sh -c 'pwd; stat -c "%u %a" /made /made/by/docker' 2>&1 | tr '\n' ' ')" \
	"/made/by/docker 0 755 0 755 " "-w as -u tester: made by root, 0755, entered by the user"
c image import --change 'WORKDIR /app/work' "$TMPD/rootfs.tar" wd:1 >/dev/null 2>&1
is "$(c run --rm wd:1 pwd 2>&1)" "/app/work" "an image's WORKDIR it lacks: made"
# the image's own links are followed inside its root, never to the host's
hostdir=$TMPD/hostdir
mkdir -p "$hostdir" "$TMPD/lnk"
cp -a "$(test_rootfs)/." "$TMPD/lnk/"
ln -s "$hostdir" "$TMPD/lnk/abs"
ln -s "../../../../../../..$hostdir" "$TMPD/lnk/rel"
touch "$TMPD/lnk/afile"
tar -C "$TMPD/lnk" -cf "$TMPD/lnk.tar" . && c image import "$TMPD/lnk.tar" lnk:1 >/dev/null 2>&1
# (pwd: the physical path, the link's target made inside the root)
is "$(c run --rm -w /abs/sub lnk:1 pwd 2>&1)" "$hostdir/sub" "-w through an absolute link of the image"
is "$(c run --rm -w /rel/sub2 lnk:1 pwd 2>&1)" "$hostdir/sub2" "-w through a ../../.. link of the image"
is "$(ls -A "$hostdir")" "" "neither made anything in the host directory the links name"
fails "-w below a file is refused" -- c run --rm -w /afile/sub lnk:1 pwd
like "$LAST_OUT" "working directory .*/afile/sub" "and says which"

# a full disk: a root on a small tmpfs, filled up; stop, kill, exec, rm -f,
# start and a restart policy still work and the exits are recorded
FD=$TMPD/full
mkdir -p "$FD" && mount -t tmpfs -o size=48m tmpfs "$FD" || skip_all "cannot mount a tmpfs"
R2=$FD/root
c2() { case $1 in run) shift; "$CELL" --root "$R2" run --network none "$@";; *) "$CELL" --root "$R2" "$@";; esac; }
full_cleanup() {
	local id
	rm -f "$FD/fill"
	for id in $(c2 ps -aq --no-trunc 2>/dev/null); do c2 rm -f "$id"; done
	grep -o " $FD/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
	umount -l "$FD"
}
defer full_cleanup
CELL_STORE_MIN_FREE=1 c2 image import "$TMPD/rootfs.tar" busybox:latest >/dev/null 2>&1
for n in f1 f2 f3 f4; do
	c2 run -d --name $n busybox sh -c 'trap "exit 3" TERM; while :; do sleep 0.1; done' >/dev/null
done
c2 run -d --name f5 --restart always busybox sh -c 'sleep 0.3; exit 2' >/dev/null
dd if=/dev/zero of="$FD/fill" bs=1M >/dev/null 2>&1
is "$(df --output=avail "$FD" | tail -1 | tr -d ' ')" 0 "the disk is full"
is "$(c2 exec f1 echo hi 2>&1)" "hi" "exec works on a full disk"
check "stop works on a full disk" -- c2 stop -t 5 f1
is "$(c2 inspect -f '{{.State.Status}} {{.State.ExitCode}}' f1)" "exited 3" "and the exit is recorded (3)"
check "kill works on a full disk" -- c2 kill f2
sleep 0.5
is "$(c2 inspect -f '{{.State.Status}} {{.State.ExitCode}}' f2)" "exited 137" "the monitor records the kill"
like "$(c2 inspect -f '{{.State.FinishedAt}}' f2)" "^20[0-9][0-9]-" "with a FinishedAt"
check "rm -f works on a full disk" -- c2 rm -f f3
fails "and the container is gone" -- c2 inspect f3
check "stop then start works on a full disk" -- sh -c "'$CELL' --root '$R2' stop -t 0 f4 && '$CELL' --root '$R2' start f4"
is "$(c2 inspect -f '{{.State.Status}}' f4)" "running" "and it runs"
n0=$(c2 inspect -f '{{.RestartCount}}' f5)
sleep 1.5
n1=$(c2 inspect -f '{{.RestartCount}}' f5)
[ "$n1" -gt "$n0" ]; ok $? "--restart always keeps restarting on a full disk ($n0 -> $n1)"
c2 rm -f f1 f2 f4 f5 >/dev/null 2>&1
is "$(c2 ps -aq | wc -l)" 0 "all removed on a full disk"
rm -f "$FD/fill"
