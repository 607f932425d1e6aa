#!/bin/bash
# Unpack throughput of one layer: `tar -x` (the floor), `cell image import`
# (copy into the store + sha256 + guarded unpack), `umoci unpack` and
# `podman load` when installed. One run each after a warm-up, page cache warm;
# prints wall seconds, CPU seconds (user+sys: steadier on a busy machine)
# and the ratios to tar. Goal: cell within 1.25x of tar.
#   bench/image-unpack.sh [LAYER.tar]   default: a tar of /usr/share + /usr/lib/python3
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
CELL=${CELL:-$top/build/cell}
w=$(mktemp -d /tmp/cell-bench.XXXXXX)
trap 'set +e; grep -o "$w[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l; rm -rf "$w"' EXIT
layer=${1:-}
if [ -z "$layer" ]; then
	layer=$w/layer.tar
	tar -C / -cf "$layer" usr/share/doc usr/share/locale usr/lib/python3 2>/dev/null || true
fi
n=$(tar -tf "$layer" | wc -l)
size=$(du -m "$layer" | cut -f1)
echo "layer: $layer ($size MiB, $n entries)"
cat "$layer" > /dev/null	# warm the cache

t() {	# command... : prints "wall cpu"
	sync
	/usr/bin/time -f '%e %U %S' -o "$w/time" "$@" >/dev/null 2>&1 || true
	awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$w/time"
}
row() {	# name "wall cpu"
	set -- "$1" $2
	printf '%-22s %6.2fs wall %5.2fx   %6.2fs cpu %5.2fx\n' "$1" "$2" "$(echo "$2 / $tar_wall" | bc -l)" \
		"$3" "$(echo "$3 / $tar_cpu" | bc -l)"
}
mkdir -p "$w/tar"
read -r tar_wall tar_cpu < <(t tar -C "$w/tar" -xf "$layer")
rm -rf "$w/tar"
row "tar -x" "$tar_wall $tar_cpu"
row "cell image import" "$(t "$CELL" --root "$w/store" image import -q "$layer" bench:1)"
if command -v umoci >/dev/null && command -v skopeo >/dev/null; then
	"$CELL" --root "$w/store" image save --format oci-archive -o "$w/img.tar" bench:1
	skopeo copy -q "oci-archive:$w/img.tar" "oci:$w/oci:b" >/dev/null
	row "umoci unpack" "$(t umoci unpack --image "$w/oci:b" "$w/umoci")"
fi
if command -v podman >/dev/null; then
	[ -f "$w/img.tar" ] || "$CELL" --root "$w/store" image save --format oci-archive -o "$w/img.tar" bench:1
	row "podman load" "$(t podman --root "$w/podman" --runroot "$w/podman-run" --tmpdir "$w/podman-tmp" load -i "$w/img.tar")"
fi
