#!/bin/bash
# cell build against a hostile context and hostile images: context symlinks
# pointing out are copied as symlinks and never followed out of the context;
# a source outside the context is refused; an image's /etc/passwd that is a
# symlink (to /etc/shadow, a fifo, a device) or too big is read inside the
# image or refused, never the host's; a COPY destination through an image
# symlink pointing at a host path lands inside the image; an ADD tar with
# `../` entries is refused; ADD of a URL is refused; nothing is left behind.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/engine.sh"
need_root
engine_setup
b() { c build --network none "$@"; }
df() { printf '%s\n' "$@" > "$X/Dockerfile"; }

X=$TMPD/ctx
mkdir -p "$X"
echo data > "$X/a.txt"
ln -s /etc/shadow "$X/abs"
ln -s ../../../../../../etc/passwd "$X/rel"
ln -s / "$X/root"

df 'FROM busybox' 'COPY . /c/'
check "COPY . with symlinks pointing out of the context" -- b -t links "$X"
is "$(c run --rm links sh -c "for f in /c/abs /c/rel /c/root; do readlink \$f; done" | tr "\n" " ")" "/etc/shadow ../../../../../../etc/passwd / " \
	"they are copied as symlinks"
df 'FROM busybox' 'COPY abs /x'
out=$(b "$X" 2>&1)
is $? 125 "COPY of a symlink to /etc/shadow fails"
like "$out" 'Dockerfile:2: COPY: `abs`: no such file' "it is resolved inside the context, where there is no /etc/shadow"
df 'FROM busybox' 'COPY root/etc/passwd /x'
like "$(b "$X" 2>&1)" 'no such file' "a path through a symlink to / stays in the context"
df 'FROM busybox' 'COPY ../outside /x'
like "$(b "$X" 2>&1)" '`../outside` is outside the build context' "../ is refused"
df 'FROM busybox' 'ADD http://127.0.0.1:1/x /x'
like "$(b "$X" 2>&1)" 'remote URLs are not supported' "ADD of a URL is refused with a clear message"

# images whose /etc/passwd is hostile
df 'FROM busybox' "RUN printf 'evil:x:4242:4242::/:/bin/sh\\n' > /etc/shadow && ln -sf /etc/shadow /etc/passwd"
check "an image whose /etc/passwd is a symlink to /etc/shadow" -- b -t evil-shadow "$X"
df 'FROM evil-shadow' 'COPY --chown=evil a.txt /a'
check "COPY --chown reads the image's own /etc/shadow through it" -- b -t evil-shadow2 "$X"
# (cell run refuses an image whose /etc/passwd is a symlink: look at its files)
c image mount evil-shadow2 "$TMPD/m" >/dev/null
defer "'$CELL' --root '$R' image unmount --rm '$TMPD/m' 2>/dev/null; umount -l '$TMPD/m/rootfs' 2>/dev/null"
is "$(stat -c %u:%g "$TMPD/m/rootfs/a")" "4242:4242" "the id comes from inside the image"
c image unmount --rm "$TMPD/m" >/dev/null
df 'FROM evil-shadow' 'COPY --chown=root a.txt /a'
like "$(b "$X" 2>&1)" 'no user `root`' "the host's /etc/shadow (which has root) is never read"

df 'FROM busybox' 'RUN mkfifo /etc/fifo && ln -sf /etc/fifo /etc/passwd'
check "an image whose /etc/passwd is a symlink to a fifo" -- b -t evil-fifo "$X"
df 'FROM evil-fifo' 'COPY --chown=tester a.txt /a'
like "$(timeout 20 "$CELL" --root "$R" build --network none "$X" 2>&1)" 'not a regular file' \
	"COPY --chown refuses it without blocking"

df 'FROM busybox' 'RUN mknod /etc/zero c 1 5 && ln -sf ../../../../etc/zero /etc/passwd'
if b -t evil-dev "$X" >/dev/null 2>&1; then
	df 'FROM evil-dev' 'COPY --chown=tester a.txt /a'
	like "$(timeout 20 "$CELL" --root "$R" build --network none "$X" 2>&1)" 'not a regular file' \
		"a /etc/passwd linked to a device (/dev/zero's numbers) is refused"
else
	skip "mknod refused in the build container"
fi

df 'FROM busybox' 'RUN rm /etc/passwd && dd if=/dev/zero of=/etc/passwd bs=1M count=0 seek=5 2>/dev/null'
check "an image with a 5 MiB sparse /etc/passwd" -- b -t evil-big "$X"
df 'FROM evil-big' 'COPY --chown=tester a.txt /a'
like "$(b "$X" 2>&1)" 'over [0-9]+ bytes' "an over-sized /etc/passwd is refused"

# a destination through an image symlink pointing at a host path
mkdir -p "$TMPD/host"
df 'FROM busybox' "RUN ln -s $TMPD/host /esc" 'COPY a.txt /esc/' 'WORKDIR /esc/wd'
check "COPY into a symlink to a host path" -- b -t esc "$X"
[ ! -e "$TMPD/host/a.txt" ] && [ ! -e "$TMPD/host/wd" ]
ok $? "nothing lands on the host"
is "$(c run --rm esc cat "$TMPD/host/a.txt")" data "it lands inside the image"

# ADD of a tar whose entries leave the destination
python3 - "$X/evil.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name in ("ok.txt", "../../../../../../" + sys.argv[1].rsplit("/", 2)[0].lstrip("/") + "/escaped"):
        data = b"x\n"
        i = tarfile.TarInfo(name); i.size = len(data)
        t.addfile(i, io.BytesIO(data))
EOF
df 'FROM busybox' 'ADD evil.tar /t/'
out=$(b "$X" 2>&1)
is $? 125 "ADD of a tar with ../ entries fails"
[ ! -e "$TMPD/escaped" ]
ok $? "and writes nothing outside"
tar -C "$X" -cf "$TMPD/good.tar" a.txt && mv "$TMPD/good.tar" "$X/good.tar"
df 'FROM busybox' 'ADD good.tar /t/'
check "ADD of a local tar" -- b -t addtar "$X"
is "$(c run --rm addtar cat /t/a.txt)" data "is unpacked into the destination"

is "$(c ps -aq | wc -l)" 0 "no build container is left"
is "$(grep -c " $R/" /proc/mounts)" 0 "no mount is left"
is "$(ls "$R/build-tmp" 2>/dev/null | wc -l)" 0 "no temp dir is left"
