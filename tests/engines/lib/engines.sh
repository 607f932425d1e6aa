# Helpers for tests/engines/*.sh (sourced after tests/lib/tap.sh): the test
# image and cleanup of what an engine leaves behind.

# eng_image_tar OUT: a tar of the test rootfs (busybox-static + payload).
eng_image_tar() {
	local r; r=$(test_rootfs) || return 1
	tar -C "$r" --numeric-owner -cf "$1" .
}

# eng_cgroup_snapshot NAME: prints "yes" if /sys/fs/cgroup/<ctrl>/NAME already
# exists in some hierarchy, so that eng_cgroup_rm leaves it alone later.
eng_cgroup_snapshot() {
	local d
	for d in /sys/fs/cgroup/*/"$1"; do [ -d "$d" ] && { echo yes; return; }; done
	echo ""
}

# eng_cgroup_rm NAME EXISTED: removes /sys/fs/cgroup/*/NAME and NAME deeper (depth first,
# rmdir only: a cgroup with processes stays and is reported) unless EXISTED.
eng_cgroup_rm() {
	local d
	[ -n "$2" ] && return 0
	# also below the caller's own cgroup: a relative cgroup parent lands
	# there (e.g. under a CI runner's memory cgroup)
	for d in /sys/fs/cgroup/*/"$1" $(find /sys/fs/cgroup -mindepth 3 -maxdepth 6 -type d -name "$1" 2>/dev/null); do
		[ -d "$d" ] && [ ! -L "${d%/*}" ] || continue
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
		[ -d "$d" ] && echo "# cgroup $d still there" >&2
	done
	return 0
}

# eng_umount_under DIR: unmounts everything mounted at or below DIR, deepest
# first (lazy, so that a busy mount does not keep the rest).
eng_umount_under() {
	local m
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	return 0
}

# eng_wait_socket SOCK SECONDS CMD...: polls CMD until it succeeds.
eng_wait() {
	local n=$(( $1 * 10 )); shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

# eng_kill_pid PID: SIGTERM, then SIGKILL after 10 s, and reap.
eng_kill_pid() {
	local p=$1 i
	kill "$p" 2>/dev/null || return 0
	for i in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

# eng_docker_archive OUT NAME: a docker-archive (docker load / ctr import)
# of the test rootfs tagged NAME (e.g. celltest/busybox:1), built with umoci
# (OCI layout) and skopeo (to docker-archive). CMD is /bin/sh.
eng_docker_archive() {
	local out=$1 name=$2 w r
	r=$(test_rootfs) || return 1
	w=$(mktemp -d /tmp/cell-engimg.XXXXXX)
	(
		set -e
		umoci init --layout "$w/oci"
		umoci new --image "$w/oci:1"
		umoci unpack --image "$w/oci:1" "$w/b" >/dev/null
		cp -a "$r/." "$w/b/rootfs/"
		umoci repack --image "$w/oci:1" "$w/b"
		umoci config --image "$w/oci:1" --config.cmd /bin/sh \
			--config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin
		rm -f "$out"
		skopeo copy -q "oci:$w/oci:1" "docker-archive:$out:$name"
	) >&2
	local rc=$?
	rm -rf "$w"
	return $rc
}

# eng_kill_children_of PATTERN: processes whose command line contains
# PATTERN (a path under the test's temp dir, so only processes this test's
# engine started) get eng_kill_pid.
eng_kill_matching() {
	local p
	for p in $(grep -lsF -- "$1" /proc/[0-9]*/cmdline | cut -d/ -f3); do
		[ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
		eng_kill_pid "$p"
	done
}

# eng_private_runtime DIR: copies $RT to DIR/bin/cell-runtime and points RT
# at the copy, so that a rebuild of build/ while the engine runs (the binary
# is briefly not executable while the linker writes it) cannot fail a step.
eng_private_runtime() {
	mkdir -p "$1/bin" && cp "$RT" "$1/bin/cell-runtime" && RT=$1/bin/cell-runtime
}
