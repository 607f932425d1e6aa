#!/bin/bash
# Commit: a file added, changed and deleted, a dir replaced (opaque), a hard
# link, all in a container's upper dir, come back as such from the committed
# image; the new layer carries OCI whiteouts and survives save → load.
. "$(dirname "$0")/../lib/tap.sh"
need_root
tmpdir
R=$TMPD/root
c() { "$CELL" --root "$R" "$@"; }
mkdir -p "$TMPD/src/bin" "$TMPD/src/etc" "$TMPD/src/old"
cp /bin/busybox "$TMPD/src/bin/"
for a in sh cat ls rm mkdir ln echo; do ln -s busybox "$TMPD/src/bin/$a"; done
echo 'root:x:0:0::/root:/bin/sh' > "$TMPD/src/etc/passwd"
echo gone > "$TMPD/src/etc/gone"
echo o1 > "$TMPD/src/old/one"
tar -C "$TMPD/src" -czf "$TMPD/src.tar.gz" .
c image import -q "$TMPD/src.tar.gz" base:1 >/dev/null

check "mount base:1" -- c image mount base:1 "$TMPD/ctr"
defer "'$CELL' --root '$R' image unmount --rm '$TMPD/ctr'"
check "change files in the container" -- chroot "$TMPD/ctr/rootfs" /bin/sh -c \
	'echo added > /added; echo changed > /etc/passwd; rm /etc/gone; rm -rf /old; mkdir /old; echo o2 > /old/two; ln /added /link'
c image unmount "$TMPD/ctr"
out=$(c image commit -c 'CMD ["cat","/added"]' -m "test commit" -a tester base:1 "$TMPD/ctr" committed:1)
ok $? "commit"
like "$out" '^sha256:[0-9a-f]{64}$' "commit prints the new id"
is "$(c image inspect -f '{{json .RootFS.Layers}}' committed:1 | jq length)" 2 "one layer added"
is "$(c image inspect -f '{{json .Config.Cmd}} {{.Author}}' committed:1)" '["cat","/added"] tester' \
	"config changes and author recorded"
like "$(c image history committed:1)" 'cell commit .* test commit' "history shows the commit"

top=$(c image inspect -f '{{.GraphDriver.Data.LowerDir}}' committed:1 | cut -d: -f1)
blob=$(jq -r '.layers[-1].digest' "$R/blobs/sha256/$(c image inspect -f '{{json .RepoDigests}}' committed:1 | jq -r '.[0]' | sed 's/.*sha256://')")
names=$(tar -tf "$R/blobs/sha256/${blob#sha256:}" | sort | tr '\n' ' ')
like "$names" 'etc/\.wh\.gone' "the layer tar has an OCI whiteout for the deleted file"
like "$names" 'old/\.wh\.\.wh\.\.opq' "the layer tar marks the replaced dir opaque"
is "$(python3 -c 'import sys, tarfile
print(sum(1 for m in tarfile.open(sys.argv[1]) for k in m.pax_headers if "trusted.overlay" in k))' \
	"$R/blobs/sha256/${blob#sha256:}")" 0 "no trusted.overlay xattr in the tar (the opaque dir had one)"

check "mount committed:1" -- c image mount committed:1 "$TMPD/ctr2"
defer "'$CELL' --root '$R' image unmount --rm '$TMPD/ctr2'"
M=$TMPD/ctr2/rootfs
is "$(cat "$M/added")" added "added file present"
is "$(cat "$M/etc/passwd")" changed "changed file changed"
[ ! -e "$M/etc/gone" ]; ok $? "deleted file absent"
is "$(ls "$M/old" | tr '\n' ' ')" "two " "replaced dir shows only its new content"
is "$(stat -c %i "$M/added")" "$(stat -c %i "$M/link")" "hard link kept"
c image unmount --rm "$TMPD/ctr2"

check "save the committed image" -- c image save --format oci-archive -o "$TMPD/c.tar" committed:1
R2=$TMPD/root2
check "load it into another store" -- "$CELL" --root "$R2" load -i "$TMPD/c.tar"
check "mount it there" -- "$CELL" --root "$R2" image mount committed:1 "$TMPD/ctr3"
defer "'$CELL' --root '$R2' image unmount --rm '$TMPD/ctr3'"
is "$(ls "$TMPD/ctr3/rootfs/old"; [ -e "$TMPD/ctr3/rootfs/etc/gone" ] && echo gone-is-back)" two \
	"whiteouts survive save and load"
