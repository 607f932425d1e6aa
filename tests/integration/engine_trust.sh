#!/bin/bash
# Hostile image content: an image (or a process of a running container)
# whose /etc/passwd or /etc/group is a symlink to a host file (absolute or
# ../../..), to /dev/zero, a fifo, a 1 GiB sparse file or a directory.
# `cell run -u`, `cell exec -u` and `--group-add NAME` must fail at once with
# a clear message and never read the host's file: the host-side file the
# links point at holds a marker user (uid 4242) that must not be resolved.
# Every wait is bounded by `timeout` so that a regression (a read of
# /dev/zero or a fifo) fails instead of hanging. Everything removed after.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
engine_setup

host=$TMPD/host
mkdir -p "$host"
printf 'root:x:0:0::/root:/bin/sh\ntester:x:4242:4242::/:/bin/sh\n' > "$host/passwd"
printf 'root:x:0:\nextra:x:4243:tester\n' > "$host/group"
# `c` with a bound: timeout runs programs, not shell functions
T() { case $1 in run) shift; timeout 30 "$CELL" --root "$R" run --network none "$@";;
	*) timeout 30 "$CELL" --root "$R" "$@";; esac; }

# an image whose etc/FILE is made by the shell command given (run in etc/)
mkimg() {	# name file command
	local d=$TMPD/img-$1
	cp -a "$(test_rootfs)" "$d"
	(cd "$d/etc" && rm -f "$2" && eval "$3")
	tar -C "$d" --sparse -cf "$d.tar" . && rm -rf "$d"
	c image import "$d.tar" "hostile-$1:latest" >/dev/null 2>&1
	local rc=$?; rm -f "$d.tar"; return $rc
}
refused() {	# description -- command
	local d=$1; shift; [ "${1:-}" = -- ] && shift
	fails "$d" -- "$@"
	printf '%s' "$LAST_OUT" | grep -q 4242 && ok 1 "$d: the host file's uid 4242 is not used" ||
		ok 0 "$d: the host file's uid 4242 is not used"
	like "$LAST_OUT" "symlink|not a regular file|over the|refused" "$d: says why"
	[ "$LAST_RC" = 124 ] && echo "#   timed out: the engine read a file that never ends"
	return 0
}

ok 0 "the test image runs as tester by name (control)"
is "$(c run --rm -u tester busybox id -u)" "1000" "-u tester from the image's own /etc/passwd"

mkimg pabs passwd "ln -s '$host/passwd' passwd" || skip_all "cannot import a test image"
mkimg prel passwd "ln -s ../../../../../../../../../..$host/passwd passwd"
mkimg pzero passwd "ln -s /dev/zero passwd"
mkimg psparse passwd "truncate -s 1G passwd"
mkimg pdir passwd "mkdir passwd"
mkimg gabs group "ln -s '$host/group' group"
mkimg grel group "ln -s ../../../../../../../../../..$host/group group"
mkimg gzero group "ln -s /dev/zero group"

for v in pabs prel pzero psparse pdir; do
	refused "run -u tester, /etc/passwd $v" -- T run --rm -u tester hostile-$v id -u
done
for v in gabs grel gzero; do
	refused "run --group-add extra, /etc/group $v" -- T run --rm --group-add extra hostile-$v id -G
	refused "run -u 0:extra, /etc/group $v" -- T run --rm -u 0:extra hostile-$v id -g
done

# a running container swaps its own files before `exec -u`
c run -d --name box busybox sleep 600 >/dev/null
check "a container to exec into" -- c exec box true
is "$(T exec -u tester box id -u)" "1000" "exec -u tester (control)"
swap() { c exec box sh -c "cd /etc && rm -rf passwd && $1"; }
for v in "ln -s $host/passwd passwd:abs-link" "ln -s ../../../../../..$host/passwd passwd:rel-link" \
	"ln -s /dev/zero passwd:dev-zero" "mkfifo passwd:fifo" "dd if=/dev/null of=passwd bs=1 seek=1073741824 2>/dev/null:sparse-1g" \
	"mkdir passwd:dir"; do
	swap "${v%%:*}"
	refused "exec -u tester, /etc/passwd ${v##*:}" -- T exec -u tester box id -u
done

# the image's /etc/shadow (inside the root) is not reached through an
# absolute link either: links at the end are refused, not followed
mkimg pshadow passwd "ln -s /etc/shadow passwd; printf 'tester:x:4242:4242::/:/bin/sh\n' > shadow"
refused "run -u tester, /etc/passwd -> /etc/shadow" -- T run --rm -u tester hostile-pshadow id -u

# exec -u USER:GROUP and exec -u USER (its supplementary groups) read the
# running container's /etc/group the same way
c exec box sh -c 'cd /etc && rm -rf passwd && cp /dev/null passwd && printf "root:x:0:0::/:/bin/sh\ntester:x:1000:1000::/:/bin/sh\n" > passwd'
printf 'root:x:0:\nextra:x:4242:tester\n' > "$host/group2"
for v in "ln -s $host/group2 group:abs-link" "ln -s ../../../../../..$host/group2 group:rel-link" \
	"ln -s /dev/zero group:dev-zero" "mkfifo group:fifo" "mkdir group:dir"; do
	c exec box sh -c "cd /etc && rm -rf group && ${v%%:*}"
	refused "exec -u 0:extra, /etc/group ${v##*:}" -- T exec -u 0:extra box id -g
	refused "exec -u tester (its groups), /etc/group ${v##*:}" -- T exec -u tester box id -G
done
