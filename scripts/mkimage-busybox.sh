#!/bin/bash
# Build busybox:latest from Debian's busybox-static package, no registry
# involved: `apt-get download` (or the installed /bin/busybox when the archive
# is out of reach), unpacked with dpkg-deb, a root with one symlink per applet,
# /etc/passwd and /etc/group, imported with `cell image import`.
#
# Idempotent: the image carries the package version as a label and is left
# alone when busybox:latest already has it.
#   CELL=path/to/cell  CELL_ROOT=/var/lib/cell  IMAGE=busybox:latest
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
CELL=${CELL:-$top/build/cell}
IMAGE=${IMAGE:-busybox:latest}
cell() { "$CELL" ${CELL_ROOT:+--root "$CELL_ROOT"} "$@"; }

[ "$(id -u)" = 0 ] || { echo "mkimage-busybox: needs root (the image store belongs to root)" >&2; exit 1; }
[ -x "$CELL" ] || { echo "mkimage-busybox: $CELL not built (run make)" >&2; exit 1; }

work=$(mktemp -d /tmp/cell-mkimage.XXXXXX)
trap 'rm -rf "$work"' EXIT

bb=""
version=""
if (cd "$work" && apt-get download -qq busybox-static >/dev/null 2>&1); then
	deb=$(ls "$work"/busybox-static_*.deb)
	dpkg-deb -x "$deb" "$work/pkg"
	bb=$work/pkg/bin/busybox
	version=$(dpkg-deb -f "$deb" Version)
elif [ -x /bin/busybox ] && dpkg-query -W busybox-static >/dev/null 2>&1; then
	echo "mkimage-busybox: apt-get download failed, using the installed /bin/busybox" >&2
	bb=/bin/busybox
	version=$(dpkg-query -W -f '${Version}' busybox-static)
else
	echo "mkimage-busybox: cannot get busybox-static (apt-get download failed and it is not installed)" >&2
	exit 1
fi
[ -x "$bb" ] || { echo "mkimage-busybox: no busybox binary in the package" >&2; exit 1; }

label="org.cell.busybox-static=$version"
have=$(cell image inspect --format '{{json .Config.Labels}}' "$IMAGE" 2>/dev/null || true)
if [ -n "$have" ] && printf '%s' "$have" | grep -q "\"org.cell.busybox-static\":\"$version\""; then
	echo "$IMAGE is up to date (busybox-static $version)"
	exit 0
fi

r=$work/root
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var/log,var/tmp,run,home}
chmod 1777 "$r/tmp" "$r/var/tmp"
chmod 700 "$r/root"
install -m 0755 "$bb" "$r/bin/busybox"
for a in $("$r/bin/busybox" --list-full); do
	[ -e "$r/$a" ] || [ -L "$r/$a" ] || ln -s /bin/busybox "$r/$a"
done
cat > "$r/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$r/etc/group" <<'G'
root:x:0:
daemon:x:1:
www-data:x:33:
nogroup:x:65534:
G
printf 'hosts: files dns\n' > "$r/etc/nsswitch.conf"

# reproducible: same package, same layer digest
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$r" -cf "$work/rootfs.tar" .
cell image import -q \
	--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'CMD ["sh"]' \
	--change "LABEL $label" \
	--message "busybox-static $version from Debian" \
	"$work/rootfs.tar" "$IMAGE" >/dev/null
echo "built $IMAGE from busybox-static $version"
