#!/bin/bash
# `make image`: busybox:latest from Debian's busybox-static, offline,
# idempotent, and runnable (a shell in its mounted root).
. "$(dirname "$0")/../lib/tap.sh"
need_root
tmpdir
export CELL_ROOT=$TMPD/root CELL
c() { "$CELL" --root "$CELL_ROOT" "$@"; }

check "mkimage-busybox.sh builds the image" -- "$CELL_TOP/scripts/mkimage-busybox.sh"
like "$(c image ls)" '^busybox +latest +[0-9a-f]{12} ' "image ls shows busybox:latest"
id=$(c image inspect -f '{{.Id}}' busybox)
out=$("$CELL_TOP/scripts/mkimage-busybox.sh")
like "$out" "up to date" "a second run says it is up to date"
is "$(c image inspect -f '{{.Id}}' busybox)" "$id" "and leaves the image as it was"
is "$(c image ls -q | wc -l)" 1 "one image in the store"
is "$(c image inspect -f '{{json .Config.Cmd}}' busybox)" '["sh"]' "CMD is sh"
like "$(c image inspect -f '{{json .Config.Env}}' busybox)" 'PATH=/usr/local/sbin' "PATH set"
check "mount its root" -- c image mount busybox "$TMPD/ctr"
defer "'$CELL' --root '$CELL_ROOT' image unmount --rm '$TMPD/ctr'; umount -l '$TMPD/ctr/rootfs'"
is "$(chroot "$TMPD/ctr/rootfs" /bin/sh -c 'echo hello from $(whoami) | cat')" "hello from root" \
	"applets and /etc/passwd work in the root"
is "$(stat -c %a "$TMPD/ctr/rootfs/tmp")" 1777 "/tmp is 1777"
c image unmount --rm "$TMPD/ctr"
