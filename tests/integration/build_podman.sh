#!/bin/bash
# cell build against podman build --format docker (Debian's podman, buildah
# inside, runc, --network none, a private root) on the same context and the
# same busybox rootfs: podman's image is saved and loaded into cell, then the
# config fields and the flattened file trees (paths, types, modes, owners,
# sizes, contents, link targets) are compared. Known differences left out:
# buildah's io.buildah.version label, and empty values buildah writes where
# cell leaves a field out ("User": "" against none).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/engine.sh"
need_root
command -v podman >/dev/null || skip_all "podman not installed"
command -v runc >/dev/null || skip_all "runc not installed (podman build's runtime here)"
engine_setup
. "$(dirname "$0")/../engines/lib/engines.sh"
P=(podman --root "$TMPD/podman" --runroot "$TMPD/podman-run" --tmpdir "$TMPD/podman-tmp"
   --cgroup-manager cgroupfs --events-backend file --runtime runc)
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n' > "$TMPD/containers.conf"
export CONTAINERS_CONF=$TMPD/containers.conf
lp=$(eng_cgroup_snapshot libpod_parent)
defer "eng_cgroup_rm libpod_parent '$lp'"
defer "eng_cgroup_rm celltest-bpod-$$ ''"
defer "eng_umount_under '$TMPD'"
defer "${P[*]} system reset -f >/dev/null 2>&1"
"${P[@]}" import --change 'CMD ["sh"]' "$TMPD/rootfs.tar" localhost/busybox:latest >/dev/null 2>&1 ||
	skip_all "podman cannot import the test rootfs"

# tree ROOT: one line per file, sorted
tree() {
	python3 - "$1" <<'EOF'
import hashlib, os, stat, sys
root = sys.argv[1]
skip = {"proc", "sys", "dev", "run", "etc/hosts", "etc/hostname", "etc/resolv.conf"}
for d, dirs, files in os.walk(root):
    dirs.sort()
    for n in sorted(dirs + files):
        p = os.path.join(d, n); rel = os.path.relpath(p, root)
        if rel in skip or rel.split("/")[0] in skip:
            continue
        st = os.lstat(p); m = st.st_mode
        extra = ""
        if stat.S_ISREG(m):
            extra = hashlib.sha256(open(p, "rb").read()).hexdigest()[:16]
        elif stat.S_ISLNK(m):
            extra = "-> " + os.readlink(p)
        size = st.st_size if stat.S_ISREG(m) else 0
        print(f"{rel} {stat.filemode(m)} {st.st_uid}:{st.st_gid} {size} {extra}")
EOF
}
cfg() {	# IMAGE: the config fields compared
	c image inspect -f '{{json .Config}}' "$1" | jq -S -c '{Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts,
		Volumes, StopSignal, Labels: ((.Labels // {}) | del(."io.buildah.version"))}
		| with_entries(if .value == "" or .value == [] or .value == {} then .value = null else . end)'
}

# compare NAME DIR [BUILD ARGS...]: build DIR with both, compare
compare() {
	local name=$1 dir=$2; shift 2
	if ! "${P[@]}" build --format docker --network none --cgroup-parent "/celltest-bpod-$$" -t "p-$name" "$@" \
		"$dir" > "$TMPD/p-$name.log" 2>&1; then
		ok 1 "podman builds $name"; tail -5 "$TMPD/p-$name.log" | sed 's/^/# /'
		return
	fi
	"${P[@]}" save --format docker-archive -o "$TMPD/p-$name.tar" "localhost/p-$name:latest" >/dev/null 2>&1
	c load -i "$TMPD/p-$name.tar" >/dev/null 2>&1
	check "cell builds $name" -- c build --network none -t "c-$name" "$@" "$dir"
	is "$(cfg "c-$name")" "$(cfg "localhost/p-$name")" "$name: the configs match podman's"
	c image mount "c-$name" "$TMPD/mc-$name" >/dev/null && c image mount "localhost/p-$name" "$TMPD/mp-$name" >/dev/null
	defer "'$CELL' --root '$R' image unmount --rm '$TMPD/mc-$name' 2>/dev/null; '$CELL' --root '$R' image unmount --rm '$TMPD/mp-$name' 2>/dev/null"
	diff <(tree "$TMPD/mp-$name/rootfs" | grep -v "^${SKIP_TREE:-^$}") <(tree "$TMPD/mc-$name/rootfs" | grep -v "^${SKIP_TREE:-^$}") > "$TMPD/diff-$name"
	ok $? "$name: the file trees match podman's"
	[ -s "$TMPD/diff-$name" ] && head -20 "$TMPD/diff-$name" | sed 's/^/# /'
	c image unmount --rm "$TMPD/mc-$name" >/dev/null; c image unmount --rm "$TMPD/mp-$name" >/dev/null
}

# 1: COPY in its forms, ENV, WORKDIR, metadata
A=$TMPD/a
mkdir -p "$A/dir/sub"
echo a > "$A/a.txt"; echo b > "$A/dir/b.txt"; echo c > "$A/dir/sub/c.txt"; ln -s a.txt "$A/link"
chmod 600 "$A/dir/b.txt"
cat > "$A/Dockerfile" <<'EOF'
FROM busybox
ENV A=1 B="two words"
ENV C=${A}x PATH=/opt/bin:$PATH
WORKDIR /abs/dir
COPY a.txt .
COPY dir /copied/
COPY dir/*.txt /glob/
COPY --chmod=700 a.txt /chmod/a
COPY --chown=1000:1000 link /lnk
COPY --chown=tester:tester dir /owned/
EXPOSE 8080 53/udp
VOLUME ["/vol"]
USER 1000
ENTRYPOINT ["sh", "-c"]
CMD ["echo hi"]
LABEL x="y z" other=1
STOPSIGNAL SIGKILL
EOF
compare copy "$A"

# 2: multi-stage with ARG scoping, whiteouts and an opaque dir, COPY --from
B=$TMPD/b
mkdir -p "$B"
cat > "$B/Dockerfile" <<'EOF'
ARG V=1
ARG IMG=busybox
FROM $IMG AS one
ARG V
RUN echo "v=$V" > /v && mkdir -p /w/d && echo x > /w/d/f && echo y > /w/g && echo z > /etc/zz
FROM one
ARG V=3
ARG W=${V}-w
ENV FROMARG=$W
RUN rm /w/g /etc/zz && rm -rf /w/d && mkdir /w/d && echo new > /w/d/n
COPY --from=0 /v /v0
EOF
compare multistage "$B" --build-arg V=9

# 3: .dockerignore with an exception, ADD of a tar, --chown by name
D=$TMPD/d
mkdir -p "$D/keep" "$D/logs" "$D/src"
echo k > "$D/keep/k"; echo l > "$D/logs/l.log"; echo keepme > "$D/logs/keep.log"; echo s > "$D/src/s"
printf 'logs\n!logs/keep.log\n*.tmp\n' > "$D/.dockerignore"
echo t > "$D/x.tmp"
tar -C "$D/src" -cf "$D/s.tar" s
cat > "$D/Dockerfile" <<'EOF'
FROM busybox
COPY . /ctx/
ADD s.tar /unpacked/
COPY --chown=nobody keep /k/
EOF
compare ignore "$D"

# a built image goes to podman the other way round
check "cell saves a built image" -- c image save -o "$TMPD/c-copy.tar" c-copy
check "podman loads it" -- "${P[@]}" load -i "$TMPD/c-copy.tar"
is "$("${P[@]}" image inspect --format '{{json .Config.Entrypoint}} {{.Config.User}}' localhost/c-copy:latest 2>/dev/null)" \
	'["sh","-c"] 1000' "podman sees its config"
