# Helpers for the CRI tests and bench (sourced after tests/lib/tap.sh and
# tests/engines/lib/engines.sh): containerd with its CRI plugin under a temp
# dir, `cell` and `runc` runtime handlers, the project's pause image as the
# sandbox image, CNI from Debian's containernetworking-plugins, and the
# removal of everything that made.
#
#   cri_setup DIR    sets CRI_SOCK, CRI (the client command), CRI_BR,
#                    CRI_SUBNET, CRI_IMAGE; registers the cleanup with defer
#   cri_registry DIR starts Debian's docker-registry on loopback (before
#                    cri_setup, which then points the CRI at it over HTTP);
#                    sets CRI_REG (127.0.0.1:PORT)
#   cri_images DIR   packs cell-pause and the test rootfs as image archives
#                    and imports them into containerd's k8s.io namespace
#
# containerd keeps its root, state, sockets, netns files (netns_mounts_under_
# state_dir) and CNI config under DIR; host-local keeps its leases under DIR.
# What cannot be moved: the shims' sockets (/run/containerd/s), libcni's
# result cache (/var/lib/cni/results/<net>-*), the bridge; cleanup removes
# them by name.

CRI_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cri.py
CRI_BR=cellcri0
CRI_NET=cellcri
CRI_SUBNET=10.213.7.0/24
CRI_PAUSE=localhost/cell-pause:1
CRI_IMAGE=docker.io/celltest/busybox:1

# cri_subnet_free: no host route other than the default one covers CRI_SUBNET
cri_subnet_free() {
	[ -z "$(ip -4 route show match "$CRI_SUBNET" | grep -v '^default')" ] &&
		! ip link show "$CRI_BR" >/dev/null 2>&1
}

# cri_cleanup_net: the bridge, any veth left on it, libcni's cached results
cri_cleanup_net() {
	local l
	for l in $(ip -o link show master "$CRI_BR" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
		ip link del "$l" 2>/dev/null
	done
	ip link del "$CRI_BR" 2>/dev/null
	rm -f /var/lib/cni/results/"$CRI_NET"-* 2>/dev/null
	return 0
}

cri_registry() {
	local d=$1/registry pid i
	CRI_REG=127.0.0.1:$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	mkdir -p "$d/data"
	cat > "$d/config.yml" <<-EOF
	version: 0.1
	log:
	  level: error
	storage:
	  filesystem:
	    rootdirectory: $d/data
	  delete:
	    enabled: true
	http:
	  addr: $CRI_REG
	EOF
	docker-registry serve "$d/config.yml" > "$d/log" 2>&1 &
	pid=$!
	defer "kill $pid; wait $pid"
	for i in $(seq 50); do
		curl -s -o /dev/null "http://$CRI_REG/v2/" && return 0
		sleep 0.1
	done
	echo "# docker-registry did not start: $(tail -3 "$d/log")" >&2
	return 1
}

# cri_cleanup_pods: every pod stopped and removed through the CRI (containers
# with it), while containerd still runs: a test that failed half-way leaves
# pods running, and their processes outlive containerd and its shims
cri_cleanup_pods() {
	local sb
	for sb in $("${CRI[@]}" ListPodSandbox 2>/dev/null | jq -r '.items[]?.id'); do
		"${CRI[@]}" StopPodSandbox "{\"pod_sandbox_id\": \"$sb\"}" >/dev/null 2>&1
		"${CRI[@]}" RemovePodSandbox "{\"pod_sandbox_id\": \"$sb\"}" >/dev/null 2>&1
	done
	return 0
}

# cri_kill_cgroup NAME: SIGKILL to every process in /sys/fs/cgroup/*/NAME and
# below, the backstop for what cri_cleanup_pods could not stop (every pod's
# cgroup is under the test's own cgroup parent NAME, so only its processes)
cri_kill_cgroup() {
	local f p
	for f in $(find /sys/fs/cgroup/*/"$1" -name cgroup.procs 2>/dev/null); do
		for p in $(cat "$f"); do kill -9 "$p" 2>/dev/null; done
	done
	sleep 0.2
	return 0
}

cri_setup() {
	local T=$1 C=$1/containerd rt
	rt=$(readlink -f "$RT")
	mkdir -p "$C" "$T/net.d" "$T/logs"
	cri_subnet_free || { echo "# $CRI_SUBNET is routed here or $CRI_BR exists" >&2; return 1; }
	cat > "$T/net.d/10-$CRI_NET.conflist" <<-EOF
	{
	  "cniVersion": "0.4.0",
	  "name": "$CRI_NET",
	  "plugins": [
	    { "type": "bridge", "bridge": "$CRI_BR", "isGateway": true, "ipMasq": false,
	      "ipam": { "type": "host-local", "dataDir": "$T/ipam",
	                "ranges": [[{ "subnet": "$CRI_SUBNET" }]] } },
	    { "type": "loopback" }
	  ]
	}
	EOF
	# without CAP_SYS_RESOURCE (some VMs' and CI sandboxes' root) no runtime can
	# set the sandbox's oomScoreAdj -998 (runc: "failed to update
	# /proc/self/oom_score_adj: Permission denied"); containerd then clamps the
	# value to its own, as it does for rootless
	local restrict=false
	(echo -1 > /proc/self/oom_score_adj) 2>/dev/null || restrict=true
	cat > "$C/config.toml" <<-EOF
	version = 2
	root = "$C/root"
	state = "$C/state"
	[grpc]
	  address = "$C/c.sock"
	[ttrpc]
	  address = "$C/c.sock.ttrpc"
	[debug]
	  address = "$C/debug.sock"
	[plugins."io.containerd.internal.v1.opt"]
	  path = "$C/opt"
	[plugins."io.containerd.grpc.v1.cri"]
	  sandbox_image = "$CRI_PAUSE"
	  netns_mounts_under_state_dir = true
	  restrict_oom_score_adj = $restrict
	  stream_server_address = "127.0.0.1"
	  stream_server_port = "0"
	  [plugins."io.containerd.grpc.v1.cri".cni]
	    bin_dir = "/usr/lib/cni"
	    conf_dir = "$T/net.d"
	  [plugins."io.containerd.grpc.v1.cri".containerd]
	    default_runtime_name = "runc"
	    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cell]
	      runtime_type = "io.containerd.runc.v2"
	      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cell.options]
	        BinaryName = "$rt"
	        Root = "$T/rt-cell"
	        SystemdCgroup = false
	    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
	      runtime_type = "io.containerd.runc.v2"
	      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
	        BinaryName = "$(command -v runc)"
	        Root = "$T/rt-runc"
	        SystemdCgroup = false
	EOF
	[ -n "${CRI_REG:-}" ] && cat >> "$C/config.toml" <<-EOF
	  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$CRI_REG"]
	    endpoint = ["http://$CRI_REG"]
	EOF
	# cleanup, run in reverse: cgroups, the network, mounts, shims, containerd;
	# the bridge plugin (isGateway) turns ip_forward on: put it back
	defer "echo $(cat /proc/sys/net/ipv4/ip_forward) > /proc/sys/net/ipv4/ip_forward"
	[ -e /run/containerd ] || defer "rmdir /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null"
	[ -e /var/lib/cni ] || defer "rm -rf /var/lib/cni"
	defer "eng_cgroup_rm '${CRI_CGROUP:-celltest-cri}' ''"
	defer "cri_kill_cgroup '${CRI_CGROUP:-celltest-cri}'"
	defer cri_cleanup_net
	defer "eng_umount_under '$T'"
	defer "eng_kill_matching '$C/'"
	containerd --config "$C/config.toml" > "$T/containerd.log" 2>&1 &
	CRI_PID=$!
	defer "eng_kill_pid $CRI_PID"
	CRI_SOCK=$C/c.sock
	CRI=(/usr/bin/python3 "$CRI_PY" -s "$CRI_SOCK")
	CTR=(ctr -a "$CRI_SOCK" -n k8s.io)
	defer cri_cleanup_pods
	if ! eng_wait 30 "${CRI[@]}" Version; then
		echo "# containerd's CRI did not answer on $CRI_SOCK in 30 s: $(tail -3 "$T/containerd.log")" >&2
		return 1
	fi
}

# cri_oci_archive OUT NAME ROOTFS CONFIG-ARGS...: a docker-archive of ROOTFS
# tagged NAME, made offline with umoci and skopeo
cri_oci_archive() {
	local out=$1 name=$2 r=$3 w; shift 3
	w=$(mktemp -d /tmp/cell-criimg.XXXXXX)
	(
		set -e
		umoci init --layout "$w/oci"
		umoci new --image "$w/oci:1"
		umoci unpack --image "$w/oci:1" "$w/b" >/dev/null
		cp -a "$r/." "$w/b/rootfs/"
		umoci repack --image "$w/oci:1" "$w/b"
		umoci config --image "$w/oci:1" "$@"
		rm -f "$out"
		skopeo copy -q "oci:$w/oci:1" "docker-archive:$out:$name"
	) >&2
	local rc=$?
	rm -rf "$w"
	return $rc
}

cri_images() {
	local T=$1 p=$T/pause-rootfs
	mkdir -p "$p"
	cp "$CELL_BUILD/src/pause/cell-pause" "$p/pause" || return 1
	cri_oci_archive "$T/pause.tar" "$CRI_PAUSE" "$p" \
		--config.entrypoint /pause || return 1
	"${CTR[@]}" images import "$T/pause.tar" >/dev/null || return 1
	cri_oci_archive "$T/busybox.tar" celltest/busybox:1 "$(test_rootfs)" \
		--config.cmd /bin/sh --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin || return 1
	"${CTR[@]}" images import "$T/busybox.tar" >/dev/null || return 1
}
