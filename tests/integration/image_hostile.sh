#!/bin/bash
# Hostile layers: every way out of the layer dir is refused with one line
# naming the entry, and nothing is written outside the store, nor left in it.
. "$(dirname "$0")/../lib/tap.sh"
need_root
tmpdir
R=$TMPD/root
OUT=$TMPD/outside	# what an escape would write into
mkdir -p "$OUT"
c() { "$CELL" --root "$R" "$@"; }

# mk NAME PYTHON: a tar made with python's tarfile; `t` is the open TarFile,
# add(name, data=b"", **attrs) adds an entry
mk() {
	python3 - "$TMPD/$1.tar" "$OUT" <<EOF
import io, sys, tarfile
out, outside = sys.argv[1], sys.argv[2]
t = tarfile.open(out, "w", format=tarfile.GNU_FORMAT)
def add(name, data=b"", **kw):
    i = tarfile.TarInfo(name)
    for k, v in kw.items(): setattr(i, k, v)
    if i.type == tarfile.REGTYPE: i.size = len(data)
    t.addfile(i, io.BytesIO(data) if data else None)
$2
t.close()
EOF
}

hostile() {	# NAME WHY ENTRY-IN-ERROR
	local out rc
	out=$(c image import "$TMPD/$1.tar" "hostile/$1" 2>&1); rc=$?
	[ "$rc" = 125 ]; ok $? "$1: refused ($2)"
	[ "$rc" = 125 ] || printf '#   %s\n' "$out"
	like "$out" "entry \`$3\`" "$1: the error names the entry"
	is "$(printf '%s\n' "$out" | wc -l)" 1 "$1: one line"
	is "$(find "$OUT" -mindepth 1 | wc -l)" 0 "$1: nothing written outside"
	is "$(ls -A "$R/layers" "$R/tmp" "$R/blobs/sha256" 2>/dev/null | grep -vc -e '^$' -e ':$')" 0 \
		"$1: no layer, blob or temp dir left"
	! c image inspect "hostile/$1" >/dev/null 2>&1; ok $? "$1: no image recorded"
}

mk dotdot 'add("ok"); add("../../../outside/pwned", b"x")'
hostile dotdot "'..' component" "../../../outside/pwned"

mk absolute "add(outside + '/pwned', b'x')"
hostile absolute "absolute path" "$OUT/pwned"

mk symlink_abs "add('lnk', type=tarfile.SYMTYPE, linkname=outside); add('lnk/pwned', b'x')"
hostile symlink_abs "write through an absolute symlink" "lnk/pwned"

mk symlink_rel "add('a/lnk', type=tarfile.SYMTYPE, linkname='../../../../../../../../..' + outside); add('a/lnk/pwned', b'x')"
hostile symlink_rel "write through a relative symlink" "a/lnk/pwned"

mk symlink_swap "add('d', type=tarfile.DIRTYPE, mode=0o755); add('d/first', b'x'); add('d', type=tarfile.SYMTYPE, linkname=outside); add('d/pwned', b'x')"
hostile symlink_swap "directory replaced by a symlink mid-archive" "d"

mk hardlink_abs "add('hl', type=tarfile.LNKTYPE, linkname='/etc/passwd')"
hostile hardlink_abs "hard link to an absolute path" "hl"

mk hardlink_rel "add('hl', type=tarfile.LNKTYPE, linkname='../../../../../../../../etc/passwd')"
hostile hardlink_rel "hard link leaving the layer" "hl"

mk hardlink_via_symlink "add('s', type=tarfile.SYMTYPE, linkname='/etc'); add('hl', type=tarfile.LNKTYPE, linkname='s/passwd')"
hostile hardlink_via_symlink "hard link through a symlink" "hl"

mk whiteout_dotdot "add('a/.wh...', b'')"
hostile whiteout_dotdot "whiteout of '..'" "a/.wh..."

# a symlink later replaced by a regular file is rewritten in place, not followed
mk symlink_then_file "add('s', type=tarfile.SYMTYPE, linkname=outside + '/target'); add('s', b'inside')"
check "symlink_then_file: accepted" -- c image import "$TMPD/symlink_then_file.tar" ok/stf
is "$(find "$OUT" -mindepth 1 | wc -l)" 0 "symlink_then_file: the file was written inside, not through the link"
L=$(c image inspect -f '{{.GraphDriver.Data.LowerDir}}' ok/stf)
is "$(cat "$L/s")" inside "symlink_then_file: the layer has the regular file"

# symlinks pointing anywhere are stored as links (resolved in the container's root later)
mk symlink_kept "add('etc/localtime', type=tarfile.SYMTYPE, linkname='/usr/share/zoneinfo/UTC'); add('up', type=tarfile.SYMTYPE, linkname='../../..')"
check "symlink_kept: accepted" -- c image import "$TMPD/symlink_kept.tar" ok/links
L=$(c image inspect -f '{{.GraphDriver.Data.LowerDir}}' ok/links)
is "$(readlink "$L/up")" "../../.." "symlink target stored verbatim, never followed"

# corrupt streams
head -c 3000 /bin/busybox | gzip -c > "$TMPD/part.gz"
tar -C /bin -cf - busybox | gzip -c | head -c 20000 > "$TMPD/truncated.tar.gz"
out=$(c image import "$TMPD/truncated.tar.gz" 2>&1); rc=$?
is "$rc" 125 "truncated gzip refused"
like "$out" 'truncated|corrupt|EOF|unexpected' "truncated gzip: error says so"
is "$(ls -A "$R/layers" | grep -c '^\.tmp')$(ls -A "$R/tmp" | wc -l)" 00 "truncated gzip: no temp dir left"
printf 'not a tar at all, just text\n' > "$TMPD/junk.tar"
fails "junk refused" -- c image import "$TMPD/junk.tar"

# a docker-archive whose manifest points outside the archive
mkdir -p "$TMPD/da"
echo '[{"Config":"../../../../../../etc/hostname","RepoTags":["x:1"],"Layers":[]}]' > "$TMPD/da/manifest.json"
tar -C "$TMPD/da" -cf "$TMPD/da.tar" manifest.json
fails "docker-archive with a config path leaving the archive refused" -- c image import "$TMPD/da.tar"

# an OCI layout whose blob does not match its digest
mkdir -p "$TMPD/oci/blobs/sha256"
echo '{"imageLayoutVersion":"1.0.0"}' > "$TMPD/oci/oci-layout"
printf 'tampered' > "$TMPD/oci/blobs/sha256/0000000000000000000000000000000000000000000000000000000000000000"
echo '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":8}]}' > "$TMPD/oci/index.json"
fails "OCI layout with a tampered blob refused" -- c image import "$TMPD/oci"
like "$LAST_OUT" 'digest mismatch' "tampered blob: says digest mismatch"
is "$(c image ls -q | wc -l)" 2 "only the two accepted archives became images"

# tar bombs: many small files, and a small gzip of a huge file
python3 - "$TMPD/many.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for i in range(3000):
        ti = tarfile.TarInfo("d/f%05d" % i); ti.size = 1
        t.addfile(ti, io.BytesIO(b"x"))
PY
out=$(CELL_LAYER_MAX_ENTRIES=1000 "$CELL" --root "$R" image import "$TMPD/many.tar" bomb:1 2>&1); rc=$?
is "$rc" 125 "tar bomb of many small files refused (limit 1000 entries)"
like "$out" 'more than 1000 entries' "says why"
is "$(ls -A "$R/layers" | grep -c '^\.tmp')$(ls -A "$R/tmp" | wc -l)" 00 "the bomb's temp dir is gone"
python3 - "$TMPD/zeros.tar.gz" <<'PY'
import gzip, io, sys, tarfile
class Zeros(io.RawIOBase):
    def __init__(self, n): self.n = n
    def readable(self): return True
    def readinto(self, b):
        k = min(len(b), self.n); b[:k] = bytes(k); self.n -= k; return k
with gzip.open(sys.argv[1], "wb", compresslevel=1) as g, tarfile.open(fileobj=g, mode="w") as t:
    ti = tarfile.TarInfo("zeros"); ti.size = 300 << 20
    t.addfile(ti, io.BufferedReader(Zeros(ti.size)))
PY
out=$(CELL_LAYER_MAX_BYTES=$((50 << 20)) "$CELL" --root "$R" image import "$TMPD/zeros.tar.gz" bomb:2 2>&1); rc=$?
is "$rc" 125 "gzip bomb refused (300 MiB of zeros, limit 50 MiB)"
like "$out" 'entry `zeros`: refused: .*more than 52428800 bytes' "names the entry and the limit"
[ "$(du -sm "$R" | cut -f1)" -lt 10 ]; ok $? "nothing of the bomb stays in the store"
