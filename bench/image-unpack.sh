#!/bin/bash
# Unpack throughput of one layer: `tar -x` (the floor), `cell image import`
# (copy into the store + sha256 + guarded unpack), `umoci unpack` and
# `podman load` when installed. One run each after a warm-up, page cache warm;
# prints seconds and the ratio to tar. Goal: cell within 1.25x of tar.
#   bench/image-unpack.sh [LAYER.tar]   default: a tar of /usr/share + /usr/lib/python3
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
CELL=${CELL:-$top/build/cell}
w=$(mktemp -d /tmp/cell-bench.XXXXXX)
trap 'umount -l "$w"/*/rootfs 2>/dev/null; rm -rf "$w"' EXIT
layer=${1:-}
if [ -z "$layer" ]; then
	layer=$w/layer.tar
	tar -C / -cf "$layer" usr/share/doc usr/share/locale usr/lib/python3 2>/dev/null || true
fi
n=$(tar -tf "$layer" | wc -l)
size=$(du -m "$layer" | cut -f1)
echo "layer: $layer ($size MiB, $n entries)"
cat "$layer" > /dev/null	# warm the cache

t() {	# name command... : prints seconds
	local s e
	sync
	s=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s.%N)
	echo "$e - $s" | bc
}
mkdir -p "$w/tar"
tar_s=$(t tar -C "$w/tar" -xf "$layer")
rm -rf "$w/tar"
cell_s=$(t "$CELL" --root "$w/store" image import -q "$layer" bench:1)
printf '%-22s %6.2fs  %5.2fx\n' "tar -x" "$tar_s" 1
printf '%-22s %6.2fs  %5.2fx\n' "cell image import" "$cell_s" "$(echo "$cell_s / $tar_s" | bc -l)"
if command -v umoci >/dev/null && command -v skopeo >/dev/null; then
	"$CELL" --root "$w/store" image save --format oci-archive -o "$w/img.tar" bench:1
	skopeo copy -q "oci-archive:$w/img.tar" "oci:$w/oci:b" >/dev/null
	u_s=$(t umoci unpack --image "$w/oci:b" "$w/umoci")
	printf '%-22s %6.2fs  %5.2fx\n' "umoci unpack" "$u_s" "$(echo "$u_s / $tar_s" | bc -l)"
fi
if command -v podman >/dev/null; then
	[ -f "$w/img.tar" ] || "$CELL" --root "$w/store" image save --format oci-archive -o "$w/img.tar" bench:1
	p_s=$(t podman --root "$w/podman" --runroot "$w/podman-run" load -i "$w/img.tar")
	printf '%-22s %6.2fs  %5.2fx\n' "podman load" "$p_s" "$(echo "$p_s / $tar_s" | bc -l)"
	podman --root "$w/podman" --runroot "$w/podman-run" system reset -f >/dev/null 2>&1 || true
fi
