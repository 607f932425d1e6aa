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
