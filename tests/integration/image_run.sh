#!/bin/bash
# Images run: a container root made by `cell image mount` (the engine's
# overlay of the image's layers plus an upper dir) as the bundle of
# cell-runtime, for an image made by umoci + skopeo, one saved by podman,
# and cell's own rootfs import; the container's writes stay in its upper dir.
. "$(dirname "$0")/../lib/tap.sh"
need_root
[ -x "$RT" ] || skip_all "cell-runtime not built"
tmpdir
R=$TMPD/root
c() { "$CELL" --root "$R" "$@"; }

mkdir -p "$TMPD/src/bin" "$TMPD/src/etc"
cp /bin/busybox "$TMPD/src/bin/"
ln -s busybox "$TMPD/src/bin/sh"
echo 'root:x:0:0::/root:/bin/sh' > "$TMPD/src/etc/passwd"
echo rootfs-import > "$TMPD/src/etc/origin"
tar -C "$TMPD/src" -czf "$TMPD/src.tar.gz" .
c image import -q "$TMPD/src.tar.gz" run/rootfs:1 >/dev/null

if command -v umoci >/dev/null && command -v skopeo >/dev/null; then
	umoci init --layout "$TMPD/oci" && umoci new --image "$TMPD/oci:t" && umoci unpack --image "$TMPD/oci:t" "$TMPD/b" >/dev/null
	cp -a "$TMPD/src/." "$TMPD/b/rootfs/"
	echo umoci > "$TMPD/b/rootfs/etc/origin"
	umoci repack --image "$TMPD/oci:t" "$TMPD/b" >/dev/null
	skopeo copy -q "oci:$TMPD/oci:t" "oci-archive:$TMPD/umoci.tar:t"
	c image import -q "$TMPD/umoci.tar" run/umoci:1 >/dev/null
fi
if command -v podman >/dev/null; then
	P=(podman --root "$TMPD/podman" --runroot "$TMPD/podman-run" --tmpdir "$TMPD/podman-tmp" --storage-driver vfs)
	"${P[@]}" import -q "$TMPD/src.tar.gz" localhost/run/podman:1 >/dev/null 2>&1
	"${P[@]}" save -q --format docker-archive -o "$TMPD/podman.tar" localhost/run/podman:1 >/dev/null 2>&1
	c load -q -i "$TMPD/podman.tar" >/dev/null
fi

run_image() {	# IMAGE EXPECTED-ORIGIN
	local b=$TMPD/ctr-$RANDOM id
	new_id; id=$ID
	if ! c image mount "$1" "$b" >/dev/null; then ok 1 "$1: mount"; return; fi
	defer "'$CELL' --root '$R' image unmount --rm '$b'; umount -l '$b/rootfs'"
	(cd "$b" && "$RT" spec) || { ok 1 "$1: spec"; return; }
	cfg "$b" '.process.args = ["/bin/sh", "-c", "cat /etc/origin; echo written > /new"] | .process.terminal = false | .root.readonly = false'
	is "$(cd "$b" && timeout 30 "$RT" run "$id" 2>&1)" "$2" "$1 runs through cell-runtime"
	is "$(cat "$b/upper/new" 2>/dev/null)" written "$1: the container's write is in its upper dir"
	L=$(c image inspect -f '{{.GraphDriver.Data.LowerDir}}' "$1" | cut -d: -f1)
	[ ! -e "$L/new" ]; ok $? "$1: the image's layers are untouched"
}
run_image run/rootfs:1 rootfs-import
if [ -f "$TMPD/umoci.tar" ]; then run_image run/umoci:1 umoci; else skip "umoci/skopeo not installed"; fi
if c image inspect localhost/run/podman:1 >/dev/null 2>&1; then run_image localhost/run/podman:1 rootfs-import
else skip "podman not installed or its save failed"; fi
