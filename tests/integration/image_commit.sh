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
defer "'$CELL' --root '$R' image unmount --rm '$TMPD/ctr'; umount -l '$TMPD/ctr/rootfs'"
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
defer "'$CELL' --root '$R' image unmount --rm '$TMPD/ctr2'; umount -l '$TMPD/ctr2/rootfs'"
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
defer "'$CELL' --root '$R2' image unmount --rm '$TMPD/ctr3'; umount -l '$TMPD/ctr3/rootfs'"
is "$(ls "$TMPD/ctr3/rootfs/old"; [ -e "$TMPD/ctr3/rootfs/etc/gone" ] && echo gone-is-back)" two \
	"whiteouts survive save and load"

# `cell commit CONTAINER` through the engine, once `cell run` exists
if "$CELL" run --help >/dev/null 2>&1; then
	c image import -q -c 'CMD ["sh"]' "$TMPD/src.tar.gz" base:2 >/dev/null
	cname=commit-$$
	defer "'$CELL' --root '$R' rm -f '$cname'"
	check "run a container that changes files" -- timeout 60 "$CELL" --root "$R" run --name "$cname" --network none \
		base:2 sh -c 'echo from-run > /added; rm /etc/gone'
	fails "the image is in use: rm refused" -- c image rm base:2
	out=$(c commit -m "via engine" -c 'CMD ["cat","/added"]' "$cname" fromrun:1)
	like "$out" '^sha256:' "cell commit CONTAINER NAME prints the new id"
	is "$(timeout 60 "$CELL" --root "$R" run --rm --network none fromrun:1)" from-run "the committed image runs with the change"
	is "$(timeout 60 "$CELL" --root "$R" run --rm --network none fromrun:1 sh -c '[ -e /etc/gone ] && echo back || echo gone')" \
		gone "the deletion is committed too"
	# a running container is paused while committed
	check "start a long-running container" -- timeout 60 "$CELL" --root "$R" run -d --name "$cname-2" --network none \
		base:2 sh -c 'echo live > /live; sleep 60'
	defer "'$CELL' --root '$R' rm -f '$cname-2'"
	sleep 1
	check "commit it while it runs" -- c commit "$cname-2" live:1
	is "$(timeout 60 "$CELL" --root "$R" run --rm --network none live:1 cat /live)" live "the running container's file is in the image"
	st=$("$CELL" --root "$R" ps 2>/dev/null | grep "$cname-2")
	like "$st" 'Up' "and it runs on afterwards"
	! printf '%s' "$st" | grep -q Paused; ok $? "unpaused once committed"
else
	skip "cell run not available yet"
fi
