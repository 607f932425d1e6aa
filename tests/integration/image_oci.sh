#!/bin/bash
# Images made by other tools: an OCI layout built with umoci (three layers,
# a deletion in the last), copied by skopeo to an oci-archive and a
# docker-archive; whiteouts and opaque dirs become what overlayfs expects and
# the mounted root shows the right files; cell's saves read back by skopeo.
. "$(dirname "$0")/../lib/tap.sh"
need_root
command -v umoci >/dev/null && command -v skopeo >/dev/null || skip_all "umoci and skopeo needed (scripts/deps.sh test)"
tmpdir
R=$TMPD/root
c() { "$CELL" --root "$R" "$@"; }
O=$TMPD/oci

umoci init --layout "$O" && umoci new --image "$O:t"
ok $? "umoci: new layout"
umoci unpack --image "$O:t" "$TMPD/b1" >/dev/null
mkdir -p "$TMPD/b1/rootfs"/{bin,etc,keep,gone}
cp /bin/busybox "$TMPD/b1/rootfs/bin/"
ln -s busybox "$TMPD/b1/rootfs/bin/sh"
echo 'root:x:0:0::/root:/bin/sh' > "$TMPD/b1/rootfs/etc/passwd"
echo one > "$TMPD/b1/rootfs/keep/a"
echo two > "$TMPD/b1/rootfs/gone/b"
umoci repack --image "$O:t" "$TMPD/b1" >/dev/null
umoci config --image "$O:t" --config.cmd sh --config.env FOO=bar --config.workingdir /keep \
	--config.exposedports 80/tcp --config.label made=umoci
umoci unpack --image "$O:t" "$TMPD/b2" >/dev/null
echo three > "$TMPD/b2/rootfs/keep/c"
rm -rf "$TMPD/b2/rootfs/gone" "$TMPD/b2/rootfs/keep/a"
umoci repack --image "$O:t" "$TMPD/b2" >/dev/null
ok $? "umoci: two layers, the second deleting a file and a dir"

check "import the OCI layout dir" -- c image import "$O" umoci/test:dir
is "$(c image inspect -f '{{json .Config.Cmd}} {{.Config.WorkingDir}} {{.Config.Labels.made}}' umoci/test:dir)" \
	'["sh"] /keep umoci' "config from umoci kept"
is "$(c image inspect -f '{{json .RootFS.Layers}}' umoci/test:dir | jq length)" 2 "two layers"
top=$(c image inspect -f '{{.GraphDriver.Data.LowerDir}}' umoci/test:dir | cut -d: -f1)
is "$(stat -c '%F %t:%T' "$top/keep/a")" "character special file 0:0" "whiteout of a file is a 0/0 char device"
is "$(stat -c '%F %t:%T' "$top/gone")" "character special file 0:0" "whiteout of a dir is a 0/0 char device"

check "mount the image's root" -- c image mount umoci/test:dir "$TMPD/ctr"
defer "'$CELL' --root '$R' image unmount --rm '$TMPD/ctr'; umount -l '$TMPD/ctr/rootfs'"
M=$TMPD/ctr/rootfs
is "$(ls "$M/keep" | tr '\n' ' ')" "c " "merged root: deleted file hidden, added file present"
[ ! -e "$M/gone" ]; ok $? "merged root: deleted dir hidden"
is "$(chroot "$M" /bin/sh -c 'echo new > /keep/d; busybox cat /keep/c')" three "a shell runs in the merged root"
[ -f "$TMPD/ctr/upper/keep/d" ]; ok $? "writes land in the container's upper dir"
[ ! -e "$top/keep/d" ]; ok $? "layers stay untouched"
check "unmount --rm" -- c image unmount --rm "$TMPD/ctr"
! grep -q " $M " /proc/mounts; ok $? "rootfs unmounted"
[ ! -e "$TMPD/ctr/upper" ]; ok $? "upper dir removed"

check "skopeo: OCI layout → oci-archive" -- skopeo copy -q "oci:$O:t" "oci-archive:$TMPD/t.oci.tar:t"
check "skopeo: OCI layout → docker-archive" -- skopeo copy -q "oci:$O:t" "docker-archive:$TMPD/t.docker.tar:umoci/test:docker"
check "import the oci-archive" -- c image import "$TMPD/t.oci.tar" umoci/test:ociarchive
is "$(c load -i "$TMPD/t.docker.tar")" "Loaded image: umoci/test:docker" "load the docker-archive with its name"
layers=$(c image inspect -f '{{json .RootFS.Layers}}' umoci/test:dir)
for n in ociarchive docker; do
	is "$(c image inspect -f '{{json .RootFS.Layers}}' "umoci/test:$n")" "$layers" "$n: same diff ids"
done
is "$(ls "$R/layers" | wc -l)" 2 "all three share the same two layer dirs"

# opaque dirs: a hand-made two-layer OCI layout
python3 - "$TMPD/opq" <<'EOF'
import hashlib, io, json, os, sys, tarfile
d = sys.argv[1]
os.makedirs(d + "/blobs/sha256")
def blob(b):
    h = hashlib.sha256(b).hexdigest()
    open(f"{d}/blobs/sha256/{h}", "wb").write(b)
    return "sha256:" + h, len(b)
def layer(entries):
    f = io.BytesIO()
    with tarfile.open(fileobj=f, mode="w") as t:
        for name, data in entries:
            i = tarfile.TarInfo(name)
            if data is None: i.type = tarfile.DIRTYPE; i.mode = 0o755
            else: i.size = len(data)
            t.addfile(i, io.BytesIO(data) if data else None)
    return f.getvalue()
l1 = layer([("o", None), ("o/old1", b"1"), ("o/old2", b"2")])
l2 = layer([("o", None), ("o/.wh..wh..opq", b""), ("o/new", b"n")])
descs, diffs = [], []
for l in (l1, l2):
    dg, n = blob(l)
    descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": dg, "size": n})
    diffs.append(dg)
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
cd, cn = blob(cfg)
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cn},
                "layers": descs}).encode()
md, mn = blob(m)
open(d + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
open(d + "/index.json", "w").write(json.dumps({"schemaVersion": 2, "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": mn,
     "annotations": {"org.opencontainers.image.ref.name": "opq"}}]}))
EOF
check "import a layout with an opaque dir" -- c image import "$TMPD/opq" test/opaque
top=$(c image inspect -f '{{.GraphDriver.Data.LowerDir}}' test/opaque | cut -d: -f1)
is "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())' "$top/o")" y \
	"opaque marker is trusted.overlay.opaque=y"
[ ! -e "$top/o/.wh..wh..opq" ]; ok $? "no .wh. file left in the layer"
check "mount it" -- c image mount test/opaque "$TMPD/ctr2"
defer "'$CELL' --root '$R' image unmount --rm '$TMPD/ctr2'; umount -l '$TMPD/ctr2/rootfs'"
is "$(ls "$TMPD/ctr2/rootfs/o" | tr '\n' ' ')" "new " "opaque dir hides the lower layer's files"
c image unmount --rm "$TMPD/ctr2"

# cell's saves, read by skopeo
check "save oci-archive" -- c image save --format oci-archive -o "$TMPD/s.oci.tar" umoci/test:dir
check "skopeo reads cell's oci-archive and checks every digest" -- \
	skopeo copy -q "oci-archive:$TMPD/s.oci.tar" "oci:$TMPD/back:t"
is "$(skopeo inspect --config "oci:$TMPD/back:t" | jq -c .config.Cmd)" '["sh"]' "skopeo sees the config"
check "save docker-archive" -- c image save -o "$TMPD/s.docker.tar" umoci/test:dir
check "skopeo reads cell's docker-archive" -- skopeo copy -q "docker-archive:$TMPD/s.docker.tar" "oci:$TMPD/back2:t"
is "$(skopeo inspect "docker-archive:$TMPD/s.docker.tar" | jq -r '.RepoTags[0] // .Layers[0]' | head -c 7)" sha256: \
	"skopeo lists the docker-archive's layers"
