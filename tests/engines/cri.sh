#!/bin/bash
# containerd's CRI (the Kubernetes node's interface) with cell-runtime as a
# runtime handler, and the same scenario with runc as the handler, through the
# project's own CRI client (tests/lib/cri/cri.py, runtime.v1). containerd runs
# with its root, state, sockets and CNI config under the test's temp dir
# (tests/lib/cri/setup.sh); the sandbox image is the project's cell-pause; the
# pod network is Debian's CNI bridge + host-local + loopback on a bridge and a
# subnet of the test's own, with no masquerade (no firewall rule).
# Per handler: a pod (hostname, DNS config, namespace options), two
# containers in it (a busybox httpd writing to its log; a non-root one with a
# memory limit, env and a read-only host mount), the namespaces they share
# with the sandbox, the pod IP pinged from the host, exec, the cgroup under the
# pod's cgroup parent, an update of the limit, stats, the CRI log format and
# ReopenContainerLog, Exec and Attach streams, a container killed by OOM, stop
# and remove leaving no process, cgroup, veth or netns. The handlers'
# observations must agree. Before: the ImageService (a pull from a loopback
# docker-registry); after: the pod case with a user namespace joined by path.
# See docs/cri.md.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/engines.sh"
. "$(dirname "$0")/../lib/cri/setup.sh"
need_root
command -v containerd >/dev/null && command -v ctr >/dev/null ||
	skip_all "containerd not installed (scripts/deps.sh test installs it)"
command -v containerd-shim-runc-v2 >/dev/null || skip_all "containerd-shim-runc-v2 not installed"
command -v umoci >/dev/null && command -v skopeo >/dev/null || skip_all "umoci and skopeo are needed to make the images"
[ -x /usr/lib/cni/bridge ] || skip_all "containernetworking-plugins not installed"
command -v runc >/dev/null || skip_all "runc not installed"
/usr/bin/python3 -c "import grpc, google.protobuf, websocket" 2>/dev/null || skip_all "python3-grpcio, python3-protobuf and python3-websocket are needed (scripts/deps.sh test)"
[ -x "$RT" ] || skip_all "$RT not built (run make)"
[ -x "$CELL_BUILD/src/pause/cell-pause" ] || skip_all "cell-pause not built"
tmpdir
T=$TMPD
eng_private_runtime "$T" || exit 1
cri_subnet_free || skip_all "$CRI_SUBNET is routed here or bridge $CRI_BR exists (bench/cri.sh running?)"
CRI_CGROUP=celltest-cri-$$
CRI_REG=""
if command -v docker-registry >/dev/null; then
	cri_registry "$T" || CRI_REG=""
fi
cri_setup "$T" || { ok 1 "containerd with its CRI plugin starts"; exit 1; }
ok 0 "containerd with its CRI plugin starts"
cri_images "$T"
ok $? "the pause and busybox images are imported into k8s.io"

# cri CALL JSON: the response, or "ERR: ..." on stdout
cri() { "${CRI[@]}" "$@" 2>&1 || true; }
_capture "${CRI[@]}" Version '{"version":"v1"}'
is "$(jq -r .runtime_api_version <<< "$out")" v1 "Version: runtime_api_version v1"

# ImageService: the imported images, a pull from the loopback registry, remove
_capture "${CRI[@]}" ListImages
is "$(jq -r --arg a "$CRI_IMAGE" --arg b "$CRI_PAUSE" '[.images[].repo_tags[] | select(. == $a or . == $b)] | sort | join(" ")' <<< "$out")" \
	"$CRI_IMAGE $CRI_PAUSE" "ListImages: the busybox and pause images"
_capture "${CRI[@]}" ImageStatus "{\"image\": {\"image\": \"$CRI_IMAGE\"}}"
like "$(jq -r .image.id <<< "$out")" '^sha256:[0-9a-f]{64}$' "ImageStatus: the image's id"
if [ -n "$CRI_REG" ]; then
	P=$CRI_REG/celltest/pulled:1
	# an image of its own: RemoveImage removes every name of the image's id
	mkdir -p "$T/pulled" && echo pulled > "$T/pulled/hello"
	cri_oci_archive "$T/pulled.tar" "$P" "$T/pulled" --config.cmd /hello &&
		skopeo copy -q --dest-tls-verify=false "docker-archive:$T/pulled.tar" "docker://$P" >&2
	_capture "${CRI[@]}" PullImage "{\"image\": {\"image\": \"$P\"}}"
	like "$(jq -r .image_ref <<< "$out")" '^sha256:[0-9a-f]{64}$' "PullImage from the loopback registry" || echo "# $out"
	_capture "${CRI[@]}" ListImages
	like "$(jq -r '[.images[].repo_tags[]] | join(" ")' <<< "$out")" "(^| )$P( |$)" "ListImages: the pulled image"
	check "RemoveImage" -- "${CRI[@]}" RemoveImage "{\"image\": {\"image\": \"$P\"}}"
	_capture "${CRI[@]}" ImageStatus "{\"image\": {\"image\": \"$P\"}}"
	is "$(jq -r .image <<< "$out")" null "ImageStatus after RemoveImage: no image"
else
	skip "docker-registry not installed: no PullImage test"
fi

mkdir -p "$T/vol" && echo from-host > "$T/vol/f"

# cgroup_path PID CONTROLLER: the process's cgroup in a v1 hierarchy
cgroup_path() { awk -F: -v c="$2" '$2 ~ "(^|,)" c "(,|$)" {print $3}' "/proc/$1/cgroup"; }
# cgroup_file PID CONTROLLER FILE: the file in the process's v1 cgroup
cgroup_file() {
	local m
	for m in /sys/fs/cgroup/*; do
		case ",${m##*/}," in *",$2,"*) echo "$m$(cgroup_path "$1" "$2")/$3"; return;; esac
	done
}

# scenario HANDLER: runs the pod; the observations that must not depend on
# the handler go to $T/res-HANDLER
scenario() {
	local h=$1 R=$T/res-$1 L=$T/logs/$1 pod sb web app oom att ip pid wpid apid v s
	: > "$R"
	mkdir -p "$L"
	# a fresh pod config per handler: uid and name unique in containerd
	cat > "$T/pod-$h.json" <<-EOF
	{ "metadata": { "name": "pod-$h", "uid": "uid-$$-$h", "namespace": "celltest" },
	  "hostname": "pod-$h", "log_directory": "$L",
	  "dns_config": { "servers": ["10.213.7.53"], "searches": ["cell.test"], "options": ["ndots:2"] },
	  "labels": { "test": "cri-$$" },
	  "linux": { "cgroup_parent": "/$CRI_CGROUP",
	             "sysctls": { "net.ipv4.ip_local_port_range": "20000 30000", "kernel.shm_rmid_forced": "1" },
	             "security_context": { "namespace_options": { "network": "POD", "pid": "CONTAINER", "ipc": "POD" } } } }
	EOF
	pod=$(cat "$T/pod-$h.json")
	_capture "${CRI[@]}" RunPodSandbox "{\"config\": $pod, \"runtime_handler\": \"$h\"}"
	sb=$(jq -r .pod_sandbox_id <<< "$out" 2>/dev/null)
	if [ -z "$sb" ] || [ "$sb" = null ]; then
		ok 1 "$h: RunPodSandbox: $out"
		grep -iE 'level=(error|warning)' "$T/containerd.log" | tail -5 | sed 's/^/# /'
		return 1
	fi
	ok 0 "$h: RunPodSandbox"
	_capture "${CRI[@]}" PodSandboxStatus "{\"pod_sandbox_id\": \"$sb\", \"verbose\": true}"
	is "$(jq -r .status.state <<< "$out")" SANDBOX_READY "$h: PodSandboxStatus: SANDBOX_READY"
	is "$(jq -r .status.runtime_handler <<< "$out")" "$h" "$h: the pod runs with handler $h"
	ip=$(jq -r .status.network.ip <<< "$out")
	like "$ip" '^10\.213\.7\.[0-9]+$' "$h: the pod has an IP from CNI ($ip)"
	pid=$(jq -r '.info.info | fromjson | .pid' <<< "$out")
	local netns; netns=$(jq -r '.info.info | fromjson | .runtimeSpec.linux.namespaces[] | select(.type == "network") | .path' <<< "$out")
	[ -d "/proc/$pid" ] && grep -qx /pause <(tr '\0' '\n' < "/proc/$pid/cmdline")
	ok $? "$h: the sandbox's process is cell-pause (pid $pid)"
	is "$(cgroup_path "$pid" memory)" "/$CRI_CGROUP/$sb" "$h: the sandbox is in <cgroup_parent>/<id>"
	check "$h: the pod IP answers a ping from the host" -- busybox ping -c 1 -W 5 "$ip"

	# the web container: httpd on 127.0.0.1 and a line on stdout and stderr;
	# prints "tick" when /tmp/tick appears (for ReopenContainerLog)
	local webcmd='trap "exit 0" TERM; mkdir -p /tmp/www; echo hello-from-web > /tmp/www/index.html; httpd -p 127.0.0.1:8080 -h /tmp/www; echo log-line-out; echo log-line-err >&2; head -c 20000 /dev/zero | tr "\\0" a; echo; while :; do if [ -e /tmp/tick ]; then rm /tmp/tick; echo tick; fi; sleep 0.2; done'
	_capture "${CRI[@]}" CreateContainer "$(jq -n --arg sb "$sb" --argjson pod "$pod" --arg c "$webcmd" --arg img "$CRI_IMAGE" \
		'{pod_sandbox_id: $sb, sandbox_config: $pod,
		  config: {metadata: {name: "web"}, image: {image: $img}, command: ["/bin/sh", "-c", $c],
		           log_path: "web.log", linux: {}}}')"
	web=$(jq -r .container_id <<< "$out" 2>/dev/null)
	[ -n "$web" ] && [ "$web" != null ]; ok $? "$h: CreateContainer web"; [ -n "$web" ] && [ "$web" != null ] || echo "# $out"
	_capture "${CRI[@]}" CreateContainer "$(jq -n --arg sb "$sb" --argjson pod "$pod" --arg img "$CRI_IMAGE" --arg vol "$T/vol" \
		'{pod_sandbox_id: $sb, sandbox_config: $pod,
		  config: {metadata: {name: "app"}, image: {image: $img},
		           command: ["/bin/sh", "-c", "trap \"exit 0\" TERM; while :; do sleep 0.2; done"],
		           envs: [{key: "FOO", value: "bar baz"}],
		           mounts: [{container_path: "/vol", host_path: $vol, readonly: true}],
		           log_path: "app.log",
		           linux: {resources: {memory_limit_in_bytes: 67108864, cpu_shares: 512},
		                   security_context: {run_as_user: {value: 1000}, readonly_rootfs: true, no_new_privs: true,
		                                      capabilities: {drop_capabilities: ["NET_RAW"], add_capabilities: ["SYS_TIME"]},
		                                      namespace_options: {network: "POD", pid: "CONTAINER", ipc: "POD"}}}}}')"
	app=$(jq -r .container_id <<< "$out" 2>/dev/null)
	[ -n "$app" ] && [ "$app" != null ]; ok $? "$h: CreateContainer app (resources, env, mount, user 1000)"; [ -n "$app" ] && [ "$app" != null ] || echo "# $out"
	check "$h: StartContainer web" -- "${CRI[@]}" StartContainer "{\"container_id\": \"$web\"}"
	check "$h: StartContainer app" -- "${CRI[@]}" StartContainer "{\"container_id\": \"$app\"}"
	_capture "${CRI[@]}" ListContainers "{\"filter\": {\"pod_sandbox_id\": \"$sb\"}}"
	is "$(jq -r '[.containers[] | .metadata.name + "=" + .state] | sort | join(" ")' <<< "$out")" \
		"app=CONTAINER_RUNNING web=CONTAINER_RUNNING" "$h: ListContainers: both running"
	_capture "${CRI[@]}" ContainerStatus "{\"container_id\": \"$app\", \"verbose\": true}"
	is "$(jq -r .status.state <<< "$out")" CONTAINER_RUNNING "$h: ContainerStatus app: running"
	is "$(jq -r '.status.mounts[0] | .container_path + " " + (.readonly|tostring)' <<< "$out")" "/vol true" \
		"$h: ContainerStatus shows the mount"
	apid=$(jq -r '.info.info | fromjson | .pid' <<< "$out")
	wpid=$("${CRI[@]}" ContainerStatus "{\"container_id\": \"$web\", \"verbose\": true}" | jq -r '.info.info | fromjson | .pid')
	for n in net ipc uts; do
		[ "$(readlink "/proc/$apid/ns/$n")" = "$(readlink "/proc/$pid/ns/$n")" ] &&
			[ "$(readlink "/proc/$wpid/ns/$n")" = "$(readlink "/proc/$pid/ns/$n")" ]
		ok $? "$h: both containers are in the pod's $n namespace"
		echo "ns $n shared" >> "$R"
	done
	[ "$(readlink "/proc/$apid/ns/pid")" != "$(readlink "/proc/$pid/ns/pid")" ] &&
		[ "$(readlink "/proc/$apid/ns/pid")" != "$(readlink "/proc/$wpid/ns/pid")" ]
	ok $? "$h: pid namespace CONTAINER: each container has its own"

	# exec: net, uts, user, env, mount, resolv.conf
	xs() { "${CRI[@]}" ExecSync "$(jq -n --arg c "$1" --arg id "$2" '{container_id: $id, cmd: ["/bin/sh", "-c", $c], timeout: 30}')" |
		jq -r '(.stdout // "" | @base64d) + (.stderr // "" | @base64d) + "exit=" + ((.exit_code // 0) | tostring)'; }
	v=$(xs 'wget -q -O - http://127.0.0.1:8080/' "$app"); echo "wget: $v" >> "$R"
	is "$v" "hello-from-web
exit=0" "$h: app reaches web on 127.0.0.1 (the pod's network)"
	v=$(xs 'hostname' "$app"); echo "hostname: ${v/pod-$h/pod-HANDLER}" >> "$R"
	is "$v" "pod-$h
exit=0" "$h: ExecSync hostname: the pod's hostname"
	v=$(xs 'id -u; echo "$FOO"; cat /vol/f; touch /vol/g 2>/dev/null || echo ro' "$app"); echo "app: $v" >> "$R"
	is "$v" "1000
bar baz
from-host
ro
exit=0" "$h: ExecSync in app: user 1000, env, the read-only mount"
	# the security context: read-only root, no_new_privs, capabilities
	# (uid 1000's effective set is empty; the bounding set is the container's)
	v=$(xs 'touch /x 2>/dev/null || echo ro-root; grep -E "^(NoNewPrivs|CapBnd)" /proc/self/status' "$app"); echo "secctx: $v" >> "$R"
	like "$v" "^ro-root
CapBnd:	[0-9a-f]+
NoNewPrivs:	1
exit=0" "$h: ExecSync in app: read-only root file system, no_new_privs"
	bnd=$(awk '/^CapBnd/ {print $2}' <<< "$v")
	(( (0x$bnd >> 13 & 1) == 0 && (0x$bnd >> 25 & 1) == 1 ))
	ok $? "$h: the bounding set lost CAP_NET_RAW and gained CAP_SYS_TIME (CapBnd $bnd)"
	v=$(xs 'cat /proc/sys/net/ipv4/ip_local_port_range /proc/sys/kernel/shm_rmid_forced' "$app"); echo "sysctls: $v" >> "$R"
	is "$(tr -s ' \t' ' ' <<< "$v")" "20000 30000
1
exit=0" "$h: the pod's sysctls (net, ipc), set in the sandbox, seen from app"
	v=$(xs 'grep -E "^(nameserver|search|options)" /etc/resolv.conf' "$web"); echo "resolv: $v" >> "$R"
	is "$v" "search cell.test
nameserver 10.213.7.53
options ndots:2
exit=0" "$h: resolv.conf from the DNS config"
	_capture "${CRI[@]}" ExecSync "{\"container_id\": \"$app\", \"cmd\": [\"/bin/sleep\", \"7\"], \"timeout\": 1}"
	like "$out" 'DEADLINE_EXCEEDED|timeout' "$h: ExecSync with a timeout: the call times out"
	v=$(xs 'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < $f; echo; done 2>/dev/null | grep -c "^/bin/sleep 7 "' "$app"); echo "exec timeout: $v" >> "$R"
	is "$v" "0
exit=1" "$h: and the timed-out process is killed"
	v=$(xs 'echo to-err >&2; exit 3' "$web"); echo "exit: $v" >> "$R"
	is "$v" "to-err
exit=3" "$h: ExecSync passes stderr and the exit code"

	# cgroups under the pod's cgroup parent
	local mcg; mcg=$(cgroup_path "$apid" memory)
	is "$mcg" "/$CRI_CGROUP/$app" "$h: app is in <cgroup_parent>/<container id>"
	v=$(cat "$(cgroup_file "$apid" memory memory.limit_in_bytes)" "$(cgroup_file "$apid" cpu cpu.shares)" 2>&1 | tr '\n' ' ')
	echo "cgroup: $v" >> "$R"
	is "$v" "67108864 512 " "$h: memory limit and cpu shares in the container's cgroup"
	check "$h: UpdateContainerResources" -- "${CRI[@]}" UpdateContainerResources \
		"{\"container_id\": \"$app\", \"linux\": {\"memory_limit_in_bytes\": 100663296, \"cpu_shares\": 256}}"
	v=$(cat "$(cgroup_file "$apid" memory memory.limit_in_bytes)" "$(cgroup_file "$apid" cpu cpu.shares)" 2>&1 | tr '\n' ' ')
	echo "updated: $v" >> "$R"
	is "$v" "100663296 256 " "$h: the update reached the cgroup"
	_capture "${CRI[@]}" ContainerStatus "{\"container_id\": \"$app\"}"
	is "$(jq -r .status.resources.linux.memory_limit_in_bytes <<< "$out")" 100663296 "$h: ContainerStatus reports the new limit"
	_capture "${CRI[@]}" ContainerStats "{\"container_id\": \"$app\"}"
	[ "$(jq -r '.stats.memory.working_set_bytes.value // 0' <<< "$out")" -gt 0 ] &&
		[ "$(jq -r '.stats.cpu.usage_core_nano_seconds.value // 0' <<< "$out")" -gt 0 ]
	ok $? "$h: ContainerStats: memory working set and cpu usage"

	# logs in the CRI format: TIMESTAMP STREAM P|F LINE
	eng_wait 10 grep -q 'stderr F log-line-err$' "$L/web.log"
	eng_wait 10 grep -q 'stdout F a' "$L/web.log"
	v=$(grep -v ' aaaa' "$L/web.log" | sed -E 's/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+) /TS /' | sort)
	echo "log: $v" >> "$R"
	is "$v" "TS stderr F log-line-err
TS stdout F log-line-out" "$h: the log file is in the CRI format"
	# a 20000-byte line: partial (P) entries of containerd's 16 KiB, then the final (F) one
	v=$(awk '$4 ~ /^a+$/ {printf "%s %s %d\n", $2, $3, length($4)}' "$L/web.log" | tr '\n' ' ')
	echo "long line: $v" >> "$R"
	is "$v" "stdout P 16384 stdout F 3616 " "$h: a long line is logged as P entries and a final F"
	mv "$L/web.log" "$L/web.log.1"
	check "$h: ReopenContainerLog" -- "${CRI[@]}" ReopenContainerLog "{\"container_id\": \"$web\"}"
	xs 'touch /tmp/tick' "$web" > /dev/null
	eng_wait 10 grep -q 'stdout F tick$' "$L/web.log"
	ok $? "$h: after ReopenContainerLog the output goes to a new log file"
	# Exec and Attach through the streaming server (WebSocket, v4.channel.k8s.io)
	_capture "${CRI[@]}" ExecStream "{\"container_id\": \"$web\", \"stdin\": true, \"stdout\": true, \"stderr\": true,
		\"cmd\": [\"/bin/sh\", \"-c\", \"read l; echo got-\$l; echo err-\$l >&2; exit 5\"], \"input\": \"hi\\n\"}"
	like "$(jq -r .url <<< "$out")" '^http://127\.0\.0\.1:[0-9]+/exec/' "$h: Exec gives a streaming URL on 127.0.0.1"
	v=$(jq -r '"out=" + .stdout + "err=" + .stderr + "exit=" + (.exit_code|tostring)' <<< "$out"); echo "exec stream: $v" >> "$R"
	is "$v" "out=got-hi
err=err-hi
exit=5" "$h: Exec stream: stdin in, stdout, stderr and the exit code out" || echo "# $out"
	_capture "${CRI[@]}" CreateContainer "$(jq -n --arg sb "$sb" --argjson pod "$pod" --arg img "$CRI_IMAGE" \
		'{pod_sandbox_id: $sb, sandbox_config: $pod,
		  config: {metadata: {name: "att"}, image: {image: $img}, stdin: true,
		           command: ["/bin/sh", "-c", "while read l; do echo att-$l; done"], log_path: "att.log"}}')"
	att=$(jq -r .container_id <<< "$out" 2>/dev/null)
	"${CRI[@]}" StartContainer "{\"container_id\": \"$att\"}" > /dev/null
	_capture "${CRI[@]}" AttachStream "{\"container_id\": \"$att\", \"stdin\": true, \"stdout\": true, \"stderr\": true,
		\"input\": \"x\\n\", \"until\": \"att-x\"}"
	like "$(jq -r .url <<< "$out")" '^http://127\.0\.0\.1:[0-9]+/attach/' "$h: Attach gives a streaming URL on 127.0.0.1"
	v=$(jq -r .stdout <<< "$out"); echo "attach: $v" >> "$R"
	is "$v" "att-x" "$h: Attach: a line in on stdin, its answer out on stdout" || echo "# $out"
	eng_wait 10 grep -q 'stdout F att-x$' "$L/att.log"
	ok $? "$h: the attached container's output is in its log too"

	# terminals: the runtime's --console-socket under the shim, for exec and
	# for a container's own init (a tty exec without stdin loses its output
	# in containerd 1.6, whichever the runtime: stdin is asked for)
	_capture "${CRI[@]}" ExecStream "{\"container_id\": \"$web\", \"tty\": true, \"stdin\": true, \"stdout\": true,
		\"cmd\": [\"/bin/sh\", \"-c\", \"[ -t 0 ] && echo in-tty; [ -t 1 ] && echo out-tty; exit 4\"]}"
	v=$(jq -r '(.stdout | gsub("\r"; "")) + "exit=" + (.exit_code|tostring)' <<< "$out"); echo "exec tty: $v" >> "$R"
	is "$v" "in-tty
out-tty
exit=4" "$h: Exec with a terminal (stdin and stdout on it, the exit code)" || echo "# $out"
	_capture "${CRI[@]}" CreateContainer "$(jq -n --arg sb "$sb" --argjson pod "$pod" --arg img "$CRI_IMAGE" \
		'{pod_sandbox_id: $sb, sandbox_config: $pod,
		  config: {metadata: {name: "tty"}, image: {image: $img}, stdin: true, tty: true,
		           command: ["/bin/sh"], log_path: "tty.log"}}')"
	local tty; tty=$(jq -r .container_id <<< "$out" 2>/dev/null)
	"${CRI[@]}" StartContainer "{\"container_id\": \"$tty\"}" > /dev/null
	ok $? "$h: a container with a terminal starts"
	_capture "${CRI[@]}" AttachStream "{\"container_id\": \"$tty\", \"stdin\": true, \"stdout\": true, \"tty\": true,
		\"input\": \"[ -t 0 ] \\u0026\\u0026 echo tty-\$((6*7))\\n\", \"until\": \"tty-42\\r\"}"
	like "$(jq -r .stdout <<< "$out")" 'tty-42' "$h: Attach to a container's terminal: input in, output out" || echo "# $out"

	# a container killed by the OOM killer
	_capture "${CRI[@]}" CreateContainer "$(jq -n --arg sb "$sb" --argjson pod "$pod" --arg img "$CRI_IMAGE" \
		'{pod_sandbox_id: $sb, sandbox_config: $pod,
		  config: {metadata: {name: "oom"}, image: {image: $img},
		           command: ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"],
		           log_path: "oom.log",
		           linux: {resources: {memory_limit_in_bytes: 33554432, memory_swap_limit_in_bytes: 33554432}}}}')"
	oom=$(jq -r .container_id <<< "$out" 2>/dev/null)
	"${CRI[@]}" StartContainer "{\"container_id\": \"$oom\"}" > /dev/null
	eng_wait 20 bash -c "${CRI[*]} ContainerStatus '{\"container_id\": \"$oom\"}' | jq -e '.status.state == \"CONTAINER_EXITED\"'"
	_capture "${CRI[@]}" ContainerStatus "{\"container_id\": \"$oom\"}"
	v=$(jq -r '.status.state + " " + .status.reason + " " + (.status.exit_code|tostring)' <<< "$out")
	echo "oom: $v" >> "$R"
	is "$v" "CONTAINER_EXITED OOMKilled 137" "$h: a container killed by OOM reports OOMKilled"
	check "$h: RemoveContainer oom" -- "${CRI[@]}" RemoveContainer "{\"container_id\": \"$oom\"}"

	# stop and remove
	check "$h: StopContainer app" -- "${CRI[@]}" StopContainer "{\"container_id\": \"$app\", \"timeout\": 10}"
	_capture "${CRI[@]}" ContainerStatus "{\"container_id\": \"$app\"}"
	v=$(jq -r '.status.state + " " + (.status.exit_code|tostring)' <<< "$out")
	echo "stopped: $v" >> "$R"
	is "$v" "CONTAINER_EXITED 0" "$h: app exited 0 on SIGTERM"
	check "$h: RemoveContainer app" -- "${CRI[@]}" RemoveContainer "{\"container_id\": \"$app\"}"
	check "$h: StopPodSandbox (web still running)" -- "${CRI[@]}" StopPodSandbox "{\"pod_sandbox_id\": \"$sb\"}"
	_capture "${CRI[@]}" ContainerStatus "{\"container_id\": \"$web\"}"
	is "$(jq -r .status.state <<< "$out")" CONTAINER_EXITED "$h: StopPodSandbox stopped web"
	check "$h: RemovePodSandbox" -- "${CRI[@]}" RemovePodSandbox "{\"pod_sandbox_id\": \"$sb\"}"
	_capture "${CRI[@]}" ListContainers "{\"filter\": {\"pod_sandbox_id\": \"$sb\"}}"
	is "$(jq -r '.containers // [] | length' <<< "$out")" 0 "$h: no container left in the pod"
	_capture "${CRI[@]}" ListPodSandbox "{\"filter\": {\"id\": \"$sb\"}}"
	is "$(jq -r '.items // [] | length' <<< "$out")" 0 "$h: the pod is gone"
	local left=""
	for p in $pid $wpid $apid; do [ -d "/proc/$p" ] && left+=" pid $p"; done
	for c in "$sb" "$web" "$app" "$oom" "$att" "$tty"; do
		for d in /sys/fs/cgroup/*/"$CRI_CGROUP/$c"; do [ -d "$d" ] && left+=" $d"; done
		grep -qF "$c" /proc/self/mountinfo && left+=" mount of $c"
	done
	[ -n "$netns" ] && [ -e "$netns" ] && left+=" $netns"
	[ -n "$(ip -o link show master "$CRI_BR" 2>/dev/null)" ] && left+=" veth"
	[ -n "$(ls "$T/rt-$h/k8s.io" 2>/dev/null)" ] && left+=" runtime state"
	is "${left:-nothing}" nothing "$h: no process, cgroup, mount, netns, veth or runtime state left"
}

# pidpod HANDLER: a pod whose containers share its pid namespace, cell-pause
# its process 1: the orphans a container leaves are reparented to cell-pause,
# which must reap them (no zombie)
pidpod() {
	local h=$1 pod sb c v
	pod=$(jq -c --arg h "$h" '.metadata.name = "pidpod-" + $h | .metadata.uid = "pidpod-uid-" + $h
		| .linux.security_context.namespace_options.pid = "POD"' "$T/pod-$h.json")
	_capture "${CRI[@]}" RunPodSandbox "{\"config\": $pod, \"runtime_handler\": \"$h\"}"
	sb=$(jq -r .pod_sandbox_id <<< "$out" 2>/dev/null)
	_capture "${CRI[@]}" CreateContainer "$(jq -n --arg sb "$sb" --argjson pod "$pod" --arg img "$CRI_IMAGE" \
		'{pod_sandbox_id: $sb, sandbox_config: $pod,
		  config: {metadata: {name: "orphans"}, image: {image: $img}, log_path: "orphans.log",
		           command: ["/bin/sh", "-c", "for i in 1 2 3 4 5; do (sleep 0.1 &); done; touch /tmp/forked; trap \"exit 0\" TERM; while :; do sleep 0.2; done"],
		           linux: {security_context: {namespace_options: {network: "POD", pid: "POD", ipc: "POD"}}}}}')"
	c=$(jq -r .container_id <<< "$out" 2>/dev/null)
	"${CRI[@]}" StartContainer "{\"container_id\": \"$c\"}" > /dev/null
	ok $? "$h: a container in the pod's pid namespace starts"
	sleep 1
	v=$("${CRI[@]}" ExecSync "$(jq -n --arg id "$c" '{container_id: $id, timeout: 30,
		cmd: ["/bin/sh", "-c", "cat /proc/1/cmdline; echo; for f in /proc/[0-9]*/stat; do cat $f; done | awk \"\\$3 == \\\"Z\\\" {print \\$1, \\$2}\""]}')" |
		jq -r '(.stdout // "" | @base64d) + "exit=" + ((.exit_code // 0) | tostring)')
	echo "pid pod: $v" >> "$T/res-$h"
	is "$v" "/pause
exit=0" "$h: cell-pause is process 1 of the pod and reaped the orphans (no zombie)"
	"${CRI[@]}" StopPodSandbox "{\"pod_sandbox_id\": \"$sb\"}" > /dev/null &&
		"${CRI[@]}" RemovePodSandbox "{\"pod_sandbox_id\": \"$sb\"}" > /dev/null
	ok $? "$h: the pid-sharing pod is stopped and removed"
}

for h in cell runc; do
	scenario "$h"
	pidpod "$h"
done
check "the cell and runc handlers give the same results" -- diff "$T/res-runc" "$T/res-cell"

# A CNI failure: a plugin that is not there. RunPodSandbox fails with one line
# that names it, and leaves no sandbox, netns, process, cgroup or veth.
# (written in place: containerd 1.6's conf syncer ignores Create events)
cp "$T/net.d/10-$CRI_NET.conflist" "$T/good.conflist"
jq '.plugins[0].type = "cell-no-such-plugin"' "$T/net.d/10-$CRI_NET.conflist" > "$T/broken.conflist" &&
	cat "$T/broken.conflist" > "$T/net.d/10-$CRI_NET.conflist"
eng_wait 20 bash -c "${CRI[*]} Status '{\"verbose\": true}' | grep -q cell-no-such-plugin"
ok $? "containerd reloads the CNI config"
netns_before=$(ls "$T/containerd/state/io.containerd.grpc.v1.cri/netns" 2>/dev/null | wc -l)
jq '.metadata.name = "pod-fail" | .metadata.uid = "uid-fail" | .labels.test = "cri-fail"' "$T/pod-cell.json" > "$T/pod-fail.json"
_capture "${CRI[@]}" RunPodSandbox "{\"config\": $(cat "$T/pod-fail.json"), \"runtime_handler\": \"cell\"}"
rc=$?
[ $rc = 1 ] && [ "$(wc -l <<< "$out")" = 1 ]
ok $? "RunPodSandbox with a broken CNI plugin fails with one line"
like "$out" 'cell-no-such-plugin' "the error names the missing plugin"
# containerd 1.6 keeps the failed sandbox NOTREADY (its netns too) for the
# kubelet's StopPodSandbox + RemovePodSandbox, which need a working plugin
# (CNI DEL) and must then leave nothing: the config is repaired first
_capture "${CRI[@]}" ListPodSandbox '{"filter": {"label_selector": {"test": "cri-fail"}}}'
is "$(jq -r '[.items[]?.state] | join(" ")' <<< "$out")" SANDBOX_NOTREADY "the failed sandbox is NOTREADY"
cat "$T/good.conflist" > "$T/net.d/10-$CRI_NET.conflist"
eng_wait 20 bash -c "! ${CRI[*]} Status '{\"verbose\": true}' | grep -q cell-no-such-plugin"
ok $? "containerd reloads the repaired CNI config"
for sb in $(jq -r '.items[]?.id' <<< "$out"); do
	"${CRI[@]}" StopPodSandbox "{\"pod_sandbox_id\": \"$sb\"}" > /dev/null &&
		"${CRI[@]}" RemovePodSandbox "{\"pod_sandbox_id\": \"$sb\"}" > /dev/null
	ok $? "StopPodSandbox and RemovePodSandbox of the failed sandbox"
done
_capture "${CRI[@]}" ListPodSandbox '{"filter": {"label_selector": {"test": "cri-fail"}}}'
is "$(jq -r '.items // [] | length' <<< "$out")" 0 "then no sandbox is left"
is "$(ls "$T/containerd/state/io.containerd.grpc.v1.cri/netns" 2>/dev/null | wc -l)" "$netns_before" "and no netns"
left=""
for p in $(grep -lsF "/pause" /proc/[0-9]*/cmdline | cut -d/ -f3); do
	grep -qsF "$CRI_CGROUP" "/proc/$p/cgroup" && left+=" pid $p"
done
[ -n "$(find /sys/fs/cgroup/*/"$CRI_CGROUP" -mindepth 1 -type d 2>/dev/null)" ] && left+=" cgroup"
[ -n "$(ip -o link show master "$CRI_BR" 2>/dev/null)" ] && left+=" veth"
is "${left:-nothing}" nothing "no process, cgroup or veth left"

# The pod case with a user namespace (the spec's order): the user namespace
# is joined by path, the others are new and must be owned by the joined one,
# as runc does it. A process holds the user namespace (root mapped to root).
unshare --user --map-root-user sleep 300 &
holder=$!
defer "kill $holder"
eng_wait 5 bash -c "[ \"\$(cat /proc/$holder/uid_map 2>/dev/null | awk '{print \$3}')\" = 1 ]"
make_bundle
jq --arg p "/proc/$holder/ns/user" --arg cg "/$CRI_CGROUP/userns" \
	'.linux.namespaces = [{type: "user", path: $p}, {type: "mount"}, {type: "pid"}, {type: "uts"}, {type: "ipc"}, {type: "network"}]
	 | .linux.uidMappings = [{containerID: 0, hostID: 0, size: 1}] | .linux.gidMappings = [{containerID: 0, hostID: 0, size: 1}]
	 | .mounts |= map(if .destination == "/dev/pts" then .options -= ["gid=5"] else . end)
	 | .process.args = ["/bin/sleep", "300"] | .process.terminal = false | .linux.cgroupsPath = $cg' \
	"$BUNDLE/config.json" > "$T/userns.json" && mv "$T/userns.json" "$BUNDLE/config.json"
# owners PID: the user namespace of PID, and the owner of each of its other namespaces
owners() {
	/usr/bin/python3 - "$1" <<-'PY'
	import fcntl, os, sys
	NS_GET_USERNS = 0xb701
	def owner(p):
	    fd = os.open(p, os.O_RDONLY)
	    try:
	        o = fcntl.ioctl(fd, NS_GET_USERNS)
	        return os.fstat(o).st_ino
	    finally:
	        os.close(fd)
	p = sys.argv[1]
	print(os.stat('/proc/%s/ns/user' % p).st_ino,
	      *['%s:%s' % (n, owner('/proc/%s/ns/%s' % (p, n))) for n in ('mnt', 'pid_for_children', 'uts', 'ipc', 'net')])
	PY
}
u=$(stat -L -c %i "/proc/$holder/ns/user")
for r in "$RT" "$(command -v runc)"; do
	n=${r##*/}
	defer "'$r' --root '$T/rt-userns' delete --force userns-$$"
	_capture "$r" --root "$T/rt-userns" run -d --bundle "$BUNDLE" "userns-$$"
	ok $? "$n: user namespace joined by path, the others new" || echo "# $out"
	p=$("$r" --root "$T/rt-userns" state "userns-$$" 2>/dev/null | jq -r .pid)
	is "$(owners "$p" 2>&1)" "$u mnt:$u pid_for_children:$u uts:$u ipc:$u net:$u" \
		"$n: the new namespaces are owned by the joined user namespace"
	"$r" --root "$T/rt-userns" delete --force "userns-$$" > /dev/null 2>&1
done
