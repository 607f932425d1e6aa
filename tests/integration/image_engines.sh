#!/bin/bash
# cell's images in the other engines and back: `cell image save` output
# loaded (and run) by podman and by containerd's ctr; `podman save` output
# (docker-archive and oci-archive) loaded by cell. Each engine gets private
# state under the test's temp dir; containerd is started by the test and
# killed by PID, its cgroup namespace dirs removed.
. "$(dirname "$0")/../lib/tap.sh"
need_root
tmpdir
R=$TMPD/root
c() { "$CELL" --root "$R" "$@"; }

mkdir -p "$TMPD/src/bin" "$TMPD/src/etc"
cp /bin/busybox "$TMPD/src/bin/"
for a in sh echo cat; do ln -s busybox "$TMPD/src/bin/$a"; done
echo 'root:x:0:0::/root:/bin/sh' > "$TMPD/src/etc/passwd"
echo engines > "$TMPD/src/etc/marker"
tar -C "$TMPD/src" -czf "$TMPD/src.tar.gz" .
c image import -q -c 'CMD ["cat","/etc/marker"]' "$TMPD/src.tar.gz" eng/test:1 >/dev/null
id=$(c image inspect -f '{{.Id}}' eng/test:1)
c image save -o "$TMPD/cell.docker.tar" eng/test:1
c image save --format oci-archive -o "$TMPD/cell.oci.tar" eng/test:1

if command -v podman >/dev/null; then
	P=(podman --root "$TMPD/podman" --runroot "$TMPD/podman-run" --tmpdir "$TMPD/podman-tmp" --storage-driver vfs
	   --cgroup-manager cgroupfs --events-backend file)
	check "podman loads cell's docker-archive" -- "${P[@]}" load -i "$TMPD/cell.docker.tar"
	is "$("${P[@]}" image inspect --format '{{.Id}}' localhost/eng/test:1)" "${id#sha256:}" "podman sees the same image id"
	is "$("${P[@]}" image inspect --format '{{json .Config.Cmd}}' localhost/eng/test:1)" '["cat","/etc/marker"]' \
		"podman sees the config"
	check "podman loads cell's oci-archive" -- "${P[@]}" load -i "$TMPD/cell.oci.tar"
	# podman's default rlimits exceed this machine's hard limits (no
	# CAP_SYS_RESOURCE): a containers.conf of ours, and cell-runtime as its
	# runtime (crun refuses hybrid cgroups), in a cgroup parent of ours
	. "$(dirname "$0")/../engines/lib/engines.sh"
	printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n' > "$TMPD/containers.conf"
	lp=$(eng_cgroup_snapshot libpod_parent)
	defer "eng_cgroup_rm libpod_parent '$lp'"
	defer "eng_cgroup_rm celltest-imgeng-$$ ''"
	eng_private_runtime "$TMPD/rt"
	out=$(CONTAINERS_CONF=$TMPD/containers.conf "${P[@]}" --runtime "$RT" run --rm --network none \
		--cgroup-parent /celltest-imgeng-$$ localhost/eng/test:1 2>&1)
	is "$out" engines "podman runs cell's image (through cell-runtime)"
	check "podman save docker-archive" -- "${P[@]}" save --format docker-archive -o "$TMPD/p.docker.tar" localhost/eng/test:1
	check "podman save oci-archive" -- "${P[@]}" save --format oci-archive -o "$TMPD/p.oci.tar" localhost/eng/test:1
	R2=$TMPD/root2
	is "$("$CELL" --root "$R2" load -i "$TMPD/p.docker.tar")" "Loaded image: localhost/eng/test:1" \
		"cell loads podman's docker-archive with its name"
	check "cell loads podman's oci-archive" -- "$CELL" --root "$R2" load -i "$TMPD/p.oci.tar"
	is "$("$CELL" --root "$R2" image inspect -f '{{json .RootFS.Layers}}' localhost/eng/test:1)" \
		"$(c image inspect -f '{{json .RootFS.Layers}}' eng/test:1)" "same layers after the trip through podman"
	check "mount podman's image in cell" -- "$CELL" --root "$R2" image mount localhost/eng/test:1 "$TMPD/ctr"
	defer "'$CELL' --root '$R2' image unmount --rm '$TMPD/ctr'; umount -l '$TMPD/ctr/rootfs'"
	is "$(chroot "$TMPD/ctr/rootfs" /bin/cat /etc/marker)" engines "its root has the files"
	"$CELL" --root "$R2" image unmount --rm "$TMPD/ctr"
else
	skip "podman not installed"
fi

if command -v containerd >/dev/null && command -v ctr >/dev/null; then
	ns=celltest-$$
	cat > "$TMPD/containerd.toml" <<EOF
version = 2
root = "$TMPD/containerd/root"
state = "$TMPD/containerd/state"
[grpc]
  address = "$TMPD/containerd/c.sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable = true
EOF
	containerd --config "$TMPD/containerd.toml" > "$TMPD/containerd.log" 2>&1 &
	cpid=$!
	defer "for d in /sys/fs/cgroup/*/$ns; do [ -d \"\$d\" ] && find \"\$d\" -depth -type d -exec rmdir {} \\;; done"
	defer "kill $cpid; wait $cpid; grep -o '$TMPD/containerd[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l"
	A=(ctr -a "$TMPD/containerd/c.sock" -n "$ns")
	for _ in $(seq 50); do "${A[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
	check "ctr imports cell's oci-archive" -- "${A[@]}" images import "$TMPD/cell.oci.tar"
	is "$("${A[@]}" images ls -q)" "docker.io/eng/test:1" "ctr names it from the archive"
	is "$(timeout 60 "${A[@]}" run --rm docker.io/eng/test:1 "t$$" 2>&1)" engines "ctr runs cell's image"
	"${A[@]}" images rm docker.io/eng/test:1 >/dev/null
	check "ctr imports cell's docker-archive" -- "${A[@]}" images import "$TMPD/cell.docker.tar"
	is "$(timeout 60 "${A[@]}" run --rm docker.io/eng/test:1 "u$$" 2>&1)" engines "ctr runs it too"
else
	skip "containerd not installed"
fi
