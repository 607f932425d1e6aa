#!/bin/bash
# `cell cp` with volumes, bind mounts and --userns, and `cell commit` of a
# remapped container: cp works on what the container sees (its mounts, for
# running and stopped containers), never leaves the container's files, gives
# owners as Docker does (-a keeps them, mapped into a user namespace), has -L
# and `-` (tar on stdin/stdout); a commit of a remapped container holds its
# container ids. Everything under a temporary engine root, removed after.
. "$(dirname "$0")/../lib/tap.sh"
need_root
command -v jq >/dev/null || skip_all "needs jq"
command -v python3 >/dev/null || skip_all "needs python3"
. "$(dirname "$0")/../lib/engine.sh"
engine_setup
# a remapped container's root resolves paths through the test root
chmod 711 "$TMPD"
H=$TMPD/h
mkdir -p "$H/d/sub" "$TMPD/bind" "$TMPD/robind" "$TMPD/out"
echo from-host > "$H/f"
echo in-dir > "$H/d/sub/g"
vol() { echo "$R/volumes/$1/_data"; }
src_of() { c inspect "$1" | jq -r --arg d "$2" '.[0].Mounts[] | select(.Destination == $d) | .Source'; }

# ---- volumes and bind mounts ----
id=$(c run -d -v cpvol:/data -v cpin:/data/inner -v "$TMPD/bind:/b" -v "$TMPD/robind:/ro:ro" -v /anon \
	busybox sh -c 'ln -s /data /lnk; ln -s / /data/esc; echo in-ctr > /data/f0; sleep 300')
for i in $(seq 50); do [ -e "$(vol cpvol)/esc" ] && break; sleep 0.1; done
U=$R/containers/$id/upper
check "cp host CTR:/data/f (a named volume)" -- c cp "$H/f" "$id:/data/f"
is "$(cat "$(vol cpvol)/f" 2>&1)" from-host "the file is in the volume's _data"
ok $([ ! -e "$U/data/f" ]; echo $?) "and not under the container's overlay"
is "$(c exec "$id" cat /data/f)" from-host "the container sees it"
check "cp host CTR:/b/x (a bind mount)" -- c cp "$H/f" "$id:/b/x"
is "$(cat "$TMPD/bind/x" 2>&1)" from-host "the file is in the bind mount's host directory"
check "cp host CTR:/anon/ (an anonymous volume)" -- c cp "$H/f" "$id:/anon/"
is "$(cat "$(src_of "$id" /anon)/f" 2>&1)" from-host "the file is in the anonymous volume"
check "cp host CTR:/data/inner/z (nested volume: the longest Destination wins)" -- c cp "$H/f" "$id:/data/inner/z"
ok $([ -f "$(vol cpin)/z" ] && [ ! -e "$(vol cpvol)/inner/z" ]; echo $?) "the file is in the inner volume"
check "cp host dir into CTR:/data" -- c cp "$H/d" "$id:/data/"
is "$(cat "$(vol cpvol)/d/sub/g" 2>&1)" in-dir "a directory lands in the volume, recursively"
echo changed-on-host > "$(vol cpvol)/f0"
check "cp CTR:/data/f0 host" -- c cp "$id:/data/f0" "$TMPD/out/f0"
is "$(cat "$TMPD/out/f0")" changed-on-host "cp out of a volume reads the volume (not the overlay's stale copy)"
echo bound > "$TMPD/bind/y"
check "cp CTR:/b/y host" -- c cp "$id:/b/y" "$TMPD/out/y"
is "$(cat "$TMPD/out/y")" bound "cp out of a bind mount reads the host directory"
out=$(c cp "$H/f" "$id:/ro/x" 2>&1); rc=$?
ok $([ $rc = 125 ] && [ ! -e "$TMPD/robind/x" ] && [ ! -e "$U/ro/x" ]; echo $?) "cp into a :ro bind mount refused, nothing written"
like "$out" "mounted volume is marked read-only" "... with Docker's message"
check "cp host CTR:/lnk/ (a symlink to /data in the root)" -- c cp "$H/f" "$id:/lnk/vialink"
is "$(cat "$(vol cpvol)/vialink" 2>&1)" from-host "the symlink is followed in the container, into the volume"
rm -f /vialink-cell-test
check "cp host CTR:/data/esc/ (a symlink to / in the volume)" -- c cp "$H/f" "$id:/data/esc/esc-test"
is "$(c exec "$id" cat /esc-test)" from-host "the volume's symlink to / is the container's /"
ok $([ ! -e /esc-test ]; echo $?) "nothing written to the host's /"
is "$(c cp "$id:/data" - | tar -t | sort | tr '\n' ' ')" \
	"data/ data/d/ data/d/sub/ data/d/sub/g data/esc data/f data/f0 data/inner/ data/inner/z data/vialink " \
	"cp CTR:/data - : a tar of the volume, the nested volume's files included"
check "cp CTR:/data host dir" -- c cp "$id:/data" "$TMPD/out/"
ok $([ -f "$TMPD/out/data/inner/z" ] && [ -f "$TMPD/out/data/d/sub/g" ]; echo $?) "copies out cross into nested volumes"
is "$(c cp "$id:/etc/hosts" - | tar -xO)" "$(c exec "$id" cat /etc/hosts)" "/etc/hosts is the container's (its bind-mounted file)"

# stopped: the same mounts
c stop -t 1 "$id" >/dev/null
check "cp host CTR:/data/s into a stopped container" -- c cp "$H/f" "$id:/data/s"
is "$(cat "$(vol cpvol)/s" 2>&1)" from-host "lands in the volume"
check "cp CTR:/b/y out of a stopped container" -- c cp "$id:/b/y" "$TMPD/out/y2"
is "$(cat "$TMPD/out/y2")" bound "reads the bind mount"
fails "cp into a stopped container's :ro mount refused" -- c cp "$H/f" "$id:/ro/x"
c rm -f "$id" >/dev/null

# --read-only: the root refused, its volumes writable
id=$(c run -d --read-only -v rovol:/w busybox sleep 300)
out=$(c cp "$H/f" "$id:/x" 2>&1); rc=$?
ok $([ $rc = 125 ] && [ ! -e "$R/containers/$id/upper/x" ]; echo $?) "cp into a --read-only root refused"
like "$out" "container rootfs is marked read-only" "... with Docker's message"
check "cp into a volume of a --read-only container" -- c cp "$H/f" "$id:/w/x"
is "$(cat "$(vol rovol)/x" 2>&1)" from-host "... lands in the volume"
c rm -f "$id" >/dev/null

# a tmpfs mount has no files on the host
id=$(c run -d --mount type=tmpfs,destination=/tm busybox sleep 300)
out=$(c cp "$H/f" "$id:/tm/x" 2>&1); rc=$?
ok $([ $rc = 125 ] && [ ! -e "$R/containers/$id/upper/tm/x" ]; echo $?) "cp into a tmpfs mount refused (not written under it)"
like "$out" "tmpfs mount" "... saying why"
c rm -f "$id" >/dev/null

# ---- -L and - ----
id=$(c run -d busybox sh -c 'mkdir -p /d/sub; echo in-ctr > /d/sub/f; ln -s /d/sub/f /flink; sleep 300')
for i in $(seq 50); do c exec "$id" test -L /flink 2>/dev/null && break; sleep 0.1; done
check "cp CTR:/flink (a symlink) host" -- c cp "$id:/flink" "$TMPD/out/l1"
is "$(readlink "$TMPD/out/l1")" /d/sub/f "without -L the symlink is copied"
check "cp -L CTR:/flink host" -- c cp -L "$id:/flink" "$TMPD/out/l2"
ok $([ ! -L "$TMPD/out/l2" ] && [ "$(cat "$TMPD/out/l2")" = in-ctr ]; echo $?) "-L copies the file it points to (resolved in the container)"
ln -s "$H/f" "$H/hlink"
check "cp -L host-symlink CTR:/hl" -- c cp -L "$H/hlink" "$id:/hl"
is "$(c exec "$id" sh -c 'test -L /hl && echo link; cat /hl')" from-host "--follow-link copies the target's content"
check "cp host-symlink CTR:/hl2" -- c cp "$H/hlink" "$id:/hl2"
is "$(c exec "$id" readlink /hl2)" "$H/f" "without -L the host symlink is copied as a link"
is "$(c cp "$id:/d" - | tar -t | sort | tr '\n' ' ')" "d/ d/sub/ d/sub/f " "cp CTR:/d - writes a tar to stdout"
is "$(c cp "$id:/d/sub/f" - | tar -xO)" in-ctr "... with the content"
tar -C "$H" -c f d | c cp - "$id:/d" ; ok $? "cp - CTR:/d extracts a tar from stdin"
is "$(c exec "$id" cat /d/f /d/d/sub/g)" "from-host
in-dir" "... into the directory"
tar -C "$H" -c f | c cp - "$id:/nodir" 2>/dev/null; is $? 125 "cp - into a missing directory: 125"
python3 - "$TMPD/evil.tar" <<'EOF'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w")
for name, data in (("../../../../../../evil-cell-cp", b"x"),):
    i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
t.close()
EOF
c cp - "$id:/d" < "$TMPD/evil.tar" 2>/dev/null; rc=$?
ok $([ $rc = 125 ] && [ ! -e /evil-cell-cp ] && [ ! -e "$TMPD/evil-cell-cp" ]; echo $?) "a tar entry with .. is refused"
python3 - "$TMPD/link.tar" <<'EOF'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w")
i = tarfile.TarInfo("esc"); i.type = tarfile.SYMTYPE; i.linkname = "/"; t.addfile(i)
i = tarfile.TarInfo("esc/tarpwn-cell-cp"); i.size = 1; t.addfile(i, io.BytesIO(b"x"))
t.close()
EOF
rm -f /tarpwn-cell-cp
c cp - "$id:/d" < "$TMPD/link.tar"
ok $([ ! -e /tarpwn-cell-cp ] && c exec "$id" test -f /tarpwn-cell-cp; echo $?) \
	"a tar's symlink to / then a file through it: the container's /, never the host's"
c rm -f "$id" >/dev/null

# ---- --userns: owners ----
id=$(c run -d --userns auto -v uvol:/data busybox sh -c 'echo o > /o; chown 1000:1002 /o; sleep 300')
base=$(c inspect -f '{{json .HostConfig.IDMappings}}' "$id" | grep -o '"UidMap":\["0:[0-9]*' | grep -o '[0-9]*$')
ok $([ "${base:-0}" -ge 100000 ]; echo $?) "a remapped container (base $base)"
for i in $(seq 50); do c exec "$id" test -f /o 2>/dev/null && break; sleep 0.1; done
U=$R/containers/$id/upper
chown 1000:1001 "$H/f" "$H/d/sub/g"
check "cp host CTR:/f into a remapped container" -- c cp "$H/f" "$id:/f"
is "$(c exec "$id" stat -c %u:%g /f)" 0:0 "without -a the file belongs to the container's root"
is "$(stat -c %u:%g "$U/f")" "$base:$base" "... which is the base id on disk"
check "cp -a host CTR:/fa" -- c cp -a "$H/f" "$id:/fa"
is "$(c exec "$id" stat -c %u:%g /fa)" 1000:1001 "-a keeps uid/gid inside the container"
is "$(stat -c %u:%g "$U/fa")" "$((base + 1000)):$((base + 1001))" "... mapped into the container's range on disk"
check "cp -a host dir CTR:/data/ (a volume)" -- c cp -a "$H/d" "$id:/data/"
is "$(c exec "$id" stat -c %u:%g /data/d/sub/g)" 1000:1001 "-a into a volume of a remapped container"
check "cp host dir CTR:/data/d2" -- c cp "$H/d" "$id:/data/d2"
is "$(c exec "$id" stat -c %u:%g /data/d2 /data/d2/sub/g | tr '\n' ' ')" "0:0 0:0 " "without -a: the container's root, dirs too"
chown 70000 "$H/f"
out=$(c cp -a "$H/f" "$id:/bad" 2>&1); rc=$?
ok $([ $rc = 125 ] && ! c exec "$id" test -e /bad; echo $?) "cp -a of a file owned outside the mapping refused"
like "$out" "uid 70000" "... naming the id"
chown 0:0 "$H/f"
check "cp CTR:/o host" -- c cp "$id:/o" "$TMPD/out/o1"
is "$(stat -c %u:%g "$TMPD/out/o1")" 0:0 "copied out without -a: the caller's"
check "cp -a CTR:/o host" -- c cp -a "$id:/o" "$TMPD/out/o2"
is "$(stat -c %u:%g "$TMPD/out/o2")" 1000:1002 "copied out with -a: the container's ids (host id - base)"
like "$(c cp "$id:/o" - | tar -tvn)" " 1000/1002 " "a tar out carries the container's ids"
tar -C "$H" --owner=1234 --group=1235 --numeric-owner -c f > "$TMPD/own.tar"
c cp - "$id:/data" < "$TMPD/own.tar"
is "$(c exec "$id" stat -c %u:%g /data/f)" 0:0 "cp - without -a: the container's root"
c cp -a - "$id:/tmp" < "$TMPD/own.tar"
is "$(c exec "$id" stat -c %u:%g /tmp/f)" 1234:1235 "cp -a -: the tar's ids inside the container"
is "$(stat -c %u "$U/tmp/f")" "$((base + 1234))" "... mapped on disk"

# ---- commit of a remapped container ----
c exec "$id" sh -c 'echo made > /made; chown 1000:1000 /made; mkdir /md; chown 1001:1003 /md'
is "$(stat -c %u "$U/made")" "$((base + 1000))" "the upper dir holds host ids"
img=$(c commit "$id" cpcommit:1); ok $? "commit a remapped container"
is "$(c run --rm cpcommit:1 stat -c %u:%g /made /md /fa | tr '\n' ' ')" "1000:1000 1001:1003 1000:1001 " \
	"the image, run without --userns, has the container's ids"
is "$(c run --rm --userns auto cpcommit:1 stat -c %u:%g /made)" 1000:1000 "... and with --userns auto too"
chown 5 "$U/made"
out=$(c commit "$id" cpcommit:2 2>&1); rc=$?
ok $([ $rc = 125 ] && ! c image inspect cpcommit:2 >/dev/null 2>&1; echo $?) "a file owned outside the mapping fails the commit"
like "$out" "made.*host uid 5" "... naming the file and the id"
c rm -f "$id" >/dev/null
c rmi cpcommit:1 >/dev/null 2>&1

# ---- bad usage ----
like "$(c cp --help)" "follow-link" "cp --help shows -L"
c cp "$H/f" "$TMPD/out/z" 2>/dev/null; is $? 125 "cp without a container side: 125"
c cp nosuchctr:/x "$TMPD/out/z" 2>/dev/null; is $? 125 "cp from a missing container: 125"
