#!/bin/bash
# What keeps `cell` quick to start and `run --rm` quick to finish:
#   - cell (and cell-runtime) link neither libcurl, libarchive, libnftables
#     nor libcrypto: the first three are dlopen()ed by the commands that use
#     them, and those commands still work (import and save through
#     libarchive; pull through libcurl is image_registry.sh's)
#   - a missing library is one clear line naming the Debian package
#   - `run --rm` mounts its overlay volatile (no sync at unmount), a kept
#     container never (its upper dir must survive an unmount)
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
engine_setup

libs=$(ldd "$CELL")
for l in libcurl libarchive libnftables libcrypto libssl libgnutls; do
	is "$(echo "$libs" | grep -c "$l")" 0 "cell does not link $l"
done
is "$(ldd "$RT" | grep -cE 'libcurl|libarchive|libnftables|libcrypto')" 0 "cell-runtime links none of them"
n=$(echo "$libs" | grep -c '=>')
ok "$([ "$n" -le 6 ] && echo 0 || echo 1)" "cell links at most 6 shared libraries ($n)"

# libarchive is loaded where it is needed: save and import work
check "image save (libarchive, dlopened)" -- c image save -o "$TMPD/bb.tar" busybox:latest
like "$(tar -tf "$TMPD/bb.tar" | head -20 | tr '\n' ' ')" 'manifest.json' "the archive is a docker-archive"
check "image import of the saved archive" -- c image import "$TMPD/bb.tar" again:1
_capture c run --rm again:1 cat /etc/passwd
like "$out" '^root:' "a container of the re-imported image runs"

# a library that cannot be found: an empty library path and no ld.so.cache
# entry for it are out of reach here, so point the loader at a fake one
mkdir -p "$TMPD/lib"
printf 'not an ELF file\n' > "$TMPD/lib/libarchive.so.13"
_capture env LD_LIBRARY_PATH="$TMPD/lib" "$CELL" --root "$R" image save -o "$TMPD/x.tar" busybox:latest
is "$?" 125 "a broken libarchive: exit 125"
like "$out" 'libarchive\.so\.13.*install Debian package libarchive13' "the error names the library and the package"
is "$(printf '%s\n' "$out" | wc -l)" 1 "in one line"
_capture env LD_LIBRARY_PATH="$TMPD/lib" "$CELL" --root "$R" run --rm --network none busybox true
is "$?" 0 "run does not need libarchive"

# --rm: volatile overlay; kept containers: not
_capture c run --rm busybox cat /proc/self/mountinfo
like "$(printf '%s\n' "$out" | awk '$5 == "/"')" 'volatile' "run --rm: the root overlay is volatile"
id=$(c run -d busybox sleep 100)
like "$id" '^[0-9a-f]{64}$' "run -d without --rm"
is "$(awk -v d="$R/containers/$id/rootfs" '$5 == d' /proc/self/mountinfo | grep -c volatile)" 0 \
	"a kept container's overlay is not volatile"
_capture c exec "$id" sh -c 'echo kept > /kept'
c stop -t 1 "$id" >/dev/null
check "stop then start again" -- c start "$id"
is "$(c exec "$id" cat /kept)" kept "what it wrote is still there"
c rm -f "$id" >/dev/null
is "$(ls "$R/containers" | grep -cv '^\.names$')" 0 "no container directory left"
