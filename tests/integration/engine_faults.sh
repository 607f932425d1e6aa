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
