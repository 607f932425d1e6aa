#!/bin/bash
# The image store through `cell image`: rootfs tar imports (plain, gzip, xz,
# zstd) with --change, ls/inspect/tag/history/rm/prune, layers shared and
# removed only when unused, images used by a container kept, save → load
# round trips in both archive formats, metadata preserved by the unpacker.
. "$(dirname "$0")/../lib/tap.sh"
need_root
tmpdir
R=$TMPD/root
c() { "$CELL" --root "$R" "$@"; }

# a small root: busybox, a symlink, a hard link, a fifo, a device, an xattr,
# a file capability, an odd owner and mode, a fixed mtime
src=$TMPD/src
mkdir -p "$src"/{bin,etc,dev,data}
cp /bin/busybox "$src/bin/busybox"
ln -s busybox "$src/bin/sh"
ln "$src/bin/busybox" "$src/bin/hardlinked"
mkfifo "$src/data/fifo"
mknod "$src/dev/null" c 1 3
echo secret > "$src/data/owned"
chown 1234:5678 "$src/data/owned"
chmod 4751 "$src/data/owned"
touch -d '2001-02-03 04:05:06' "$src/data/owned"
echo x > "$src/data/attr"
setfattr -n user.cell -v hello "$src/data/attr" 2>/dev/null ||
	python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.cell", b"hello")' "$src/data/attr"
echo 'root:x:0:0::/root:/bin/sh' > "$src/etc/passwd"
if command -v setcap >/dev/null; then setcap cap_net_raw+ep "$src/bin/busybox"; fi
tar --xattrs --xattrs-include='*' -C "$src" -cf "$TMPD/root.tar" .
gzip -c "$TMPD/root.tar" > "$TMPD/root.tar.gz"
xz -T1 -c "$TMPD/root.tar" > "$TMPD/root.tar.xz"
zstd -q -c "$TMPD/root.tar" > "$TMPD/root.tar.zst"
diff_id=sha256:$(sha256sum < "$TMPD/root.tar" | cut -d' ' -f1)

check "import a gzip rootfs tar with --change" -- \
	c image import -c 'CMD ["/bin/sh","-c","echo hi"]' -c 'ENV FOO=bar' -c 'WORKDIR /data' \
	-c 'EXPOSE 8080' -c 'LABEL purpose=test' "$TMPD/root.tar.gz" test/gz:1
is "$(c image inspect -f '{{json .Config.Cmd}}' test/gz:1)" '["/bin/sh","-c","echo hi"]' "CMD recorded"
is "$(c image inspect -f '{{.Config.WorkingDir}} {{json .Config.Env}} {{.Config.Labels.purpose}}' test/gz:1)" \
	'/data ["FOO=bar"] test' "WORKDIR, ENV, LABEL recorded"
is "$(c image inspect -f '{{json .RootFS.Layers}}' test/gz:1)" "[\"$diff_id\"]" \
	"diff id is the sha256 of the uncompressed tar"
for z in tar tar.xz tar.zst; do
	check "import a .$z rootfs" -- c image import "$TMPD/root.$z" "test/${z//./-}:1"
done
is "$(ls "$R/layers" | wc -l)" 1 "four imports of the same content share one layer dir"
L=$R/layers/${diff_id#sha256:}

# metadata preserved
is "$(stat -c '%u:%g %a %Y' "$L/data/owned")" "1234:5678 4751 $(stat -c %Y "$src/data/owned")" \
	"owner, setuid mode and mtime preserved"
is "$(stat -c %i "$L/bin/busybox")" "$(stat -c %i "$L/bin/hardlinked")" "hard link preserved"
is "$(readlink "$L/bin/sh")" busybox "symlink preserved"
is "$(stat -c %F "$L/data/fifo")" fifo "fifo preserved"
is "$(stat -c '%F %t:%T' "$L/dev/null")" "character special file 1:3" "device node preserved"
is "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.cell").decode())' "$L/data/attr")" hello \
	"user xattr preserved"
if command -v getcap >/dev/null && getcap "$src/bin/busybox" | grep -q cap_net_raw; then
	like "$(getcap "$L/bin/busybox")" cap_net_raw "file capability (security.capability) preserved"
else
	skip "setcap/getcap not installed"
fi

out=$(c image ls)
like "$out" '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE' "ls prints Docker's header"
like "$out" 'test/gz +1 +[0-9a-f]{12} ' "ls lists test/gz:1"
is "$(c image ls -q test/gz | wc -l)" 1 "ls -q REPOSITORY filters"
is "$(c image ls --format json | jq -r '.[].Names[]' | sort | tr '\n' ' ')" \
	"test/gz:1 test/tar-xz:1 test/tar-zst:1 test/tar:1 " "ls --format json lists every name"
check "tag" -- c image tag test/gz:1 localhost:5000/other/name:v2
is "$(c image inspect -f '{{json .RepoTags}}' localhost:5000/other/name:v2)" \
	'["test/gz:1","localhost:5000/other/name:v2"]' "tag adds a name"
like "$(c image history test/gz:1)" 'cell image import' "history shows the import"
id=$(c image inspect -f '{{.Id}}' test/gz:1)
is "$(c image inspect -f '{{.Id}}' "${id:7:10}")" "$id" "image found by id prefix"
fails "unknown image refused" -- c image inspect nosuch:1
like "$LAST_OUT" 'no such image: `nosuch:1`' "error names the image"
fails "bad tag refused" -- c image tag test/gz:1 'UPPER:x'
fails "rm by id with two names refused without -f" -- c image rm "$id"
like "$LAST_OUT" 'must be forced' "says it must be forced"

# a container using the image keeps it
mkdir -p "$R/containers/ctr1"
echo "{\"id\":\"ctr1\",\"image\":\"$id\"}" > "$R/containers/ctr1/config.json"
check "rm of one of two names only untags" -- c image rm localhost:5000/other/name:v2
fails "rm refused while a container uses the image" -- c image rm test/gz:1
like "$LAST_OUT" 'container `ctr1`' "refusal names the container"
rm -rf "$R/containers/ctr1"

# remove: the shared layer stays while any image holds it
c image rm test/tar:1 test/tar-xz:1 test/tar-zst:1 >/dev/null
ok $? "rm three images"
[ -d "$L" ]; ok $? "layer kept while test/gz:1 uses it"
out=$(c image rm test/gz:1)
like "$out" "Deleted: $id" "rm prints Deleted"
[ ! -e "$L" ]; ok $? "layer removed with the last image"
is "$(ls -A "$R/blobs/sha256" | wc -l)" 0 "no blob left"

# save → load round trips
c image import -q -c 'CMD ["sh"]' "$TMPD/root.tar.gz" rt:1 >/dev/null
id=$(c image inspect -f '{{.Id}}' rt:1)
for fmt in oci-archive docker-archive; do
	check "save --format $fmt" -- c image save --format "$fmt" -o "$TMPD/rt.$fmt" rt:1
	R2=$TMPD/root-$fmt
	out=$("$CELL" --root "$R2" load -i "$TMPD/rt.$fmt" 2>&1)
	is "$out" "Loaded image: rt:1" "$fmt loads into a fresh store"
	is "$("$CELL" --root "$R2" image inspect -f '{{json .Config.Cmd}} {{json .RootFS.Layers}}' rt:1)" \
		"[\"sh\"] [\"$diff_id\"]" "$fmt keeps the config and layer"
	[ "$fmt" = oci-archive ] && is "$("$CELL" --root "$R2" image inspect -f '{{.Id}}' rt:1)" "$id" \
		"oci-archive keeps the image id"
	is "$(cd "$R2/layers/${diff_id#sha256:}" && find . | sort | md5sum)" "$(cd "$src" && find . | sort | md5sum)" \
		"$fmt round trip unpacks the same tree"
done

# prune: untagged images and unreferenced files go
c image tag rt:1 rt:2 && c image rm rt:1 >/dev/null
d1=$(c image import -q -c 'CMD ["one"]' "$TMPD/root.tar.gz" dang:1)
d2=$(c image import -q -c 'CMD ["two"]' "$TMPD/root.tar.gz" dang:1)
is "$(c image ls -q -f dangling=true)" "${d1:7:12}" "a name moved to a new import leaves the old image dangling"
is "$(c image ls -q --filter dangling=false | sort | tr '\n' ' ')" "$(printf '%s\n' "${id:7:12}" "${d2:7:12}" | sort | tr '\n' ' ')" \
	"ls --filter dangling=false lists the named ones"
out=$(c image prune)
like "$out" "deleted: $d1" "prune removes the dangling image"
! printf '%s' "$out" | grep -q "deleted: $id"; ok $? "prune keeps named images"
c image rm dang:1 >/dev/null
[ -d "$R/layers/${diff_id#sha256:}" ]; ok $? "layer of rt:2 kept by prune"
mkdir -p "$R/layers/.tmp-stale" && touch "$R/blobs/sha256/.tmp-stale"
out=$(c image prune -a)
like "$out" "deleted: $id" "prune -a removes unused images"
is "$(ls -A "$R/layers" "$R/blobs/sha256" | grep -c .)" 2 "prune removes stale temp files too (only dir headers left)"
fails "save of an unknown image" -- c image save -o "$TMPD/x.tar" nosuch
[ ! -e "$TMPD/x.tar" ]; ok $? "failed save leaves no file"
fails "import of a missing file" -- c image import "$TMPD/nosuch.tar"
"$CELL" --root "$R" image import "$TMPD/nosuch.tar" >/dev/null 2>&1
is "$?" 125 "cell's own errors exit 125"

# archives on stdin, as `docker load < file`
R3=$TMPD/root3
is "$("$CELL" --root "$R3" load < "$TMPD/rt.oci-archive")" "Loaded image: rt:1" "load reads stdin"
like "$("$CELL" --root "$R3" image import - std:1 < "$TMPD/root.tar.zst")" '^sha256:' "import - reads stdin"
is "$(ls /var/tmp | grep -c '^cell-load-')" 0 "no stdin copy left in /var/tmp"

# concurrent imports and prunes on one store: the lock keeps it whole
R4=$TMPD/root4
pids=()
for i in 1 2 3 4; do
	"$CELL" --root "$R4" image import -q "$TMPD/root.tar.gz" "par:$i" >/dev/null 2>&1 & pids+=($!)
	"$CELL" --root "$R4" image prune -a >/dev/null 2>&1 & pids+=($!)
done
st=0; for p in "${pids[@]}"; do wait "$p" || st=1; done
is "$st" 0 "four imports racing four prunes all succeed"
for i in 1 2 3 4; do
	L4=$("$CELL" --root "$R4" image inspect -f '{{.GraphDriver.Data.LowerDir}}' "par:$i" 2>/dev/null)
	[ -z "$L4" ] || [ -x "$L4/bin/busybox" ] || { st=1; echo "# par:$i layer incomplete"; }
done
is "$st" 0 "every image still listed has its whole layer"
is "$(jq . "$R4/images.json" >/dev/null && echo valid)" valid "images.json is valid JSON"

# the lock protocol: a long import holds gc.lock shared; readers never wait
# for it, a second import runs beside it, prune waits for it
flock -s "$R4/gc.lock" sleep 6 & holder=$!
defer "kill $holder"
sleep 0.3
check "image ls does not wait for a running import" -- timeout 3 "$CELL" --root "$R4" image ls
check "a second import runs beside it" -- timeout 5 "$CELL" --root "$R4" image import -q "$TMPD/root.tar.gz" beside:1
timeout 2 "$CELL" --root "$R4" image prune -a >/dev/null 2>&1
is "$?" 124 "prune waits for the running import"
kill $holder 2>/dev/null; wait $holder 2>/dev/null
check "and runs once it is done" -- timeout 10 "$CELL" --root "$R4" image prune -a
