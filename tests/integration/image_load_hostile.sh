#!/bin/bash
# cell load of odd and interrupted archives: a docker-archive whose members
# are not named by digests is loaded as the image it describes (never as a
# root filesystem of its own files), a plain tar is refused as docker load
# refuses it, and what loads killed -9 left in the store goes at the next
# store operation.
. "$(dirname "$0")/../lib/tap.sh"
need_root
tmpdir
R=$TMPD/root
c() { "$CELL" --root "$R" "$@"; }

# mkarchive OUT LAYER-BYTES: a docker-archive named config.json / layer.tar
mkarchive() {
	python3 - "$1" "$2" <<'EOF'
import hashlib, io, json, os, sys, tarfile
out, n = sys.argv[1], int(sys.argv[2])
def tar_of(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in files:
            i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o644
            t.addfile(i, io.BytesIO(data))
    return b.getvalue()
layer = tar_of([("hello", b"hello\n")] + ([("big", os.urandom(n))] if n else []))
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
man = json.dumps([{"Config": "config.json", "RepoTags": ["odd:1"], "Layers": ["layer.tar"]}]).encode()
with open(out, "wb") as f:
    f.write(tar_of([("manifest.json", man), ("config.json", cfg), ("layer.tar", layer)]))
EOF
}

mkarchive "$TMPD/odd.tar" 0
check "a docker-archive with members not named by digests loads" -- c load -q -i "$TMPD/odd.tar"
is "$(c image inspect -f '{{json .Config.Cmd}}' odd:1)" '["sh"]' "as the image its manifest.json describes"
layer=$(ls "$R/layers" | head -1)
check "its layer holds the layer's file" -- test -s "$R/layers/$layer/hello"
! test -e "$R/layers/$layer/manifest.json"; ok $? "not the archive's own files"

mkdir -p "$TMPD/rootfs/etc"
echo x > "$TMPD/rootfs/etc/hostname"
tar -C "$TMPD/rootfs" -cf "$TMPD/rootfs.tar" .
n=$(c image ls -q | wc -l)
fails "a root filesystem tar is refused by load" -- c load -i "$TMPD/rootfs.tar"
like "$LAST_OUT" 'not an image archive \(no manifest.json, index.json or oci-layout' "says it is no image archive"
is "$(printf '%s\n' "$LAST_OUT" | wc -l)" 1 "in one line"
is "$(c image ls -q | wc -l)" "$n" "and records nothing"

# leftovers of killed operations, as they look: the next load removes them
mkdir -p "$R/layers/.tmp-AbC123/usr" "$R/tmp/XyZ987"
head -c 1M /dev/zero > "$R/blobs/sha256/.tmp-DeF456"
head -c 1M /dev/zero > "$R/tmp/XyZ987/layer.tar"
check "a load with leftovers in the store succeeds" -- c load -q -i "$TMPD/odd.tar"
is "$(find "$R" -name '.tmp-*' | wc -l)" 0 "and removes the temp blob and the half-unpacked layer"
is "$(ls -A "$R/tmp" | wc -l)" 0 "and the scratch dir"

# a real load killed -9 mid-way, then another
mkarchive "$TMPD/big.tar" $((200 << 20))
"$CELL" --root "$R" load -q -i "$TMPD/big.tar" >/dev/null 2>&1 & kp=$!	# $CELL itself, not a subshell
for _ in $(seq 500); do
	[ -n "$(ls -A "$R/tmp")" ] && break
	sleep 0.02
done
kill -9 $kp 2>/dev/null; wait $kp 2>/dev/null
isnt_empty=$(find "$R/tmp" "$R/layers" "$R/blobs" \( -name '.tmp-*' -o -path "$R/tmp/*" \) -prune | wc -l)
[ "$isnt_empty" -gt 0 ]; ok $? "a load of a 200 MiB archive killed -9 left temp files ($isnt_empty)"
check "a later load succeeds" -- c load -q -i "$TMPD/odd.tar"
is "$(find "$R" -name '.tmp-*' | wc -l)" 0 "no temp blob or half-unpacked layer is left"
is "$(ls -A "$R/tmp" | wc -l)" 0 "no scratch dir is left"
check "the loaded image is still whole" -- test -s "$R/layers/$layer/hello"

# ten loads killed -9 at once, then another kind of store operation (an
# import): what they left goes
pids=()
for _ in $(seq 10); do
	"$CELL" --root "$R" load -q -i "$TMPD/big.tar" >/dev/null 2>&1 & pids+=($!)
done
for _ in $(seq 500); do
	[ "$(ls -A "$R/tmp" | wc -l)" -ge 5 ] && break
	sleep 0.02
done
sleep 0.3
kill -9 "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null
left=$(du -sm "$R/tmp" | cut -f1)
[ "$left" -gt 10 ]; ok $? "ten loads killed -9 left ${left} MiB in the store's scratch dir"
check "an import after them succeeds" -- c import "$TMPD/rootfs.tar" after:1
is "$(find "$R" -name '.tmp-*' | wc -l)" 0 "and no temp blob or half-unpacked layer is left"
is "$(ls -A "$R/tmp" | wc -l)" 0 "nor a scratch dir"
