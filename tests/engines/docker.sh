#!/bin/bash
# Docker driving build/cell-runtime: a private dockerd (Debian's docker.io)
# with its own data-root, exec-root, pidfile and socket under the test's temp
# dir, "runtimes": {"cell": ...} in its daemon.json, and a bridge this test
# makes (iptables/ip6tables/ip-forward/ip-masq off: no docker0, no firewall
# rules; Docker wires the container's veth from a prestart hook). `docker load` of a busybox image, `docker run --rm
# --runtime cell`, then exec, pause/unpause, stop. dockerd starts its own
# containerd; both are ended by PID, their mounts and cgroups removed.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/engines.sh"
need_root
command -v dockerd >/dev/null && command -v docker >/dev/null ||
	skip_all "dockerd not installed (scripts/deps.sh test installs docker.io)"
command -v umoci >/dev/null && command -v skopeo >/dev/null || skip_all "umoci and skopeo are needed to make the image"
[ -x "$RT" ] || skip_all "$RT not built (run make)"
tmpdir
T=$TMPD
eng_private_runtime "$T" || exit 1
D=$T/docker
mkdir -p "$D"
cg=celltest-docker-$$
br=cbr$$
net=10.199.$(( $$ % 200 ))
ip link add "$br" type bridge || skip_all "cannot make a bridge here"
defer "ip link del $br"
ip addr add "$net.1/24" dev "$br" && ip link set "$br" up
cat > "$D/daemon.json" <<EOF
{
  "data-root": "$D/data",
  "exec-root": "$D/exec",
  "pidfile": "$D/docker.pid",
  "hosts": ["unix://$D/docker.sock"],
  "bridge": "$br",
  "iptables": false,
  "ip6tables": false,
  "ip-forward": false,
  "ip-masq": false,
  "userland-proxy": false,
  "storage-driver": "vfs",
  "cgroup-parent": "$cg",
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "log-driver": "json-file",
  "features": {"buildkit": false},
  "runtimes": {"cell": {"path": "$RT"}}
}
EOF
# state dockerd may leave outside its roots
key=/etc/docker/key.json
[ -e $key ] && key=
fwd=$(cat /proc/sys/net/ipv4/ip_forward)

defer "eng_cgroup_rm '$cg' ''"
defer "eng_umount_under '$T'"
defer "eng_kill_matching '$D/'"
[ -n "$key" ] && defer "rm -f $key; rmdir /etc/docker 2>/dev/null"
# dockerd's plugin directory is fixed: /run/docker/plugins; its containerd's
# shim sockets go to /run/containerd/s and its opt plugin to /opt/containerd
[ -e /run/docker ] || defer "rmdir /run/docker/plugins /run/docker"
[ -e /run/containerd ] || defer "rmdir /run/containerd/s /run/containerd/fifo /run/containerd"
[ -e /opt/containerd ] || defer "rmdir /opt/containerd/bin /opt/containerd/lib /opt/containerd"
dockerd --config-file "$D/daemon.json" > "$T/dockerd.log" 2>&1 &
dpid=$!
defer "eng_kill_pid $dpid"
DK=(docker -H "unix://$D/docker.sock")
if ! eng_wait 30 "${DK[@]}" version; then
	kill -0 $dpid 2>/dev/null || skip_all "dockerd does not start here: $(grep -E 'level=(error|fatal)|failed' "$T/dockerd.log" | tail -3)"
	skip_all "dockerd did not answer on $D/docker.sock in 30 s: $(tail -3 "$T/dockerd.log")"
fi
like "$("${DK[@]}" info -f '{{json .Runtimes}}')" '"cell"' "dockerd lists the cell runtime"

eng_docker_archive "$T/img.tar" celltest/busybox:1 || { ok 1 "make the image"; exit 1; }
check "docker load" -- "${DK[@]}" load -i "$T/img.tar"
I=celltest/busybox:1
R=(--runtime cell --network none)

# 1. run --rm with Docker's defaults (its seccomp profile, capabilities)
_capture timeout 60 "${DK[@]}" run --rm "${R[@]}" --hostname dk1 $I /bin/payload hostname
is "$out" dk1 "docker run --rm --runtime cell (Docker's default seccomp profile)"
_capture timeout 60 "${DK[@]}" run --rm "${R[@]}" $I /bin/payload seccomp
is "$out" 2 "Docker's seccomp profile is loaded (mode 2, filter)"
_capture timeout 60 "${DK[@]}" run --rm "${R[@]}" --security-opt seccomp=unconfined $I /bin/payload seccomp
is "$out" 0 "--security-opt seccomp=unconfined: no filter"
# the rest does not depend on how the runtime orders seccomp and capabilities
N=(--security-opt no-new-privileges)
_capture timeout 60 "${DK[@]}" run --rm "${R[@]}" "${N[@]}" $I /bin/sh -c 'exit 8'
is "$?" 8 "docker run --rm passes the exit code on"
_capture timeout 60 "${DK[@]}" run --rm "${R[@]}" "${N[@]}" -e FOO=bar -w /tmp -u 1000 $I \
	/bin/sh -c 'echo $FOO $(pwd) $(id -u)'
is "$out" "bar /tmp 1000" "env, workdir and user reach the container"
_capture timeout 60 "${DK[@]}" run --rm "${R[@]}" "${N[@]}" $I /bin/payload echo from cell
is "$out" "from cell" "stdout through containerd's shim and dockerd's log"
_capture timeout 60 "${DK[@]}" run --rm -i "${R[@]}" "${N[@]}" $I /bin/cat <<< "stdin works"
is "$out" "stdin works" "docker run -i: stdin"

_capture timeout 60 "${DK[@]}" run --rm -t "${R[@]}" "${N[@]}" $I /bin/payload isatty 1
is "$out" "yes"$'\r' "docker run -t: a terminal through the console socket"
_capture timeout 60 "${DK[@]}" run --rm "${R[@]}" "${N[@]}" --memory 64m --pids-limit 50 $I \
	/bin/sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'
is "$(echo $out)" "67108864 50" "--memory and --pids-limit reach the container's cgroups"

_capture timeout 60 "${DK[@]}" run --rm "${R[@]}" "${N[@]}" --init $I /bin/sh -c 'tr "\0" " " < /proc/1/cmdline'
like "$out" '^/sbin/docker-init -- /bin/sh' "docker run --init: docker-init is pid 1"
_capture timeout 60 "${DK[@]}" run --name oom "${R[@]}" "${N[@]}" --memory 8m --memory-swap 8m $I /bin/payload memhog 64
is "$("${DK[@]}" inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}}' oom 2>&1)" "137 true" \
	"a container over its --memory is OOM-killed and Docker sees it"
"${DK[@]}" rm -f oom > /dev/null 2>&1

# 2. Docker's bridge networking: libnetwork's prestart hook runs in the
# runtime, moves the veth in and sets the address
_capture timeout 60 "${DK[@]}" run --rm --runtime cell "${N[@]}" $I /bin/sh -c 'ip -4 -o addr show eth0'
like "$out" "inet $net\\.[0-9]+/24" "docker run on a bridge: eth0 has an address (prestart hook)"
_capture timeout 60 "${DK[@]}" run --rm --runtime cell "${N[@]}" $I /bin/ping -c1 -W2 "$net.1"
like "$out" '1 packets received' "the container reaches the bridge's address"
_capture timeout 60 "${DK[@]}" run -d --name n1 --runtime cell "${N[@]}" $I /bin/sleep 60
nip=$("${DK[@]}" inspect -f '{{.NetworkSettings.IPAddress}}' n1)
check "the host reaches the container ($nip)" -- busybox ping -c1 -W2 "$nip"
check "docker rm -f" -- timeout 30 "${DK[@]}" rm -f n1

# 3. one container for exec, pause, stop
_capture timeout 60 "${DK[@]}" run -d --name c1 "${R[@]}" "${N[@]}" $I \
	/bin/sh -c 'trap "exit 3" TERM; while :; do sleep 0.1; done'
check "docker run -d" -- test -n "$out"
is "$("${DK[@]}" inspect -f '{{.State.Status}} {{.HostConfig.Runtime}}' c1 2>&1)" "running cell" "running on cell"
pid=$("${DK[@]}" inspect -f '{{.State.Pid}}' c1)
_capture timeout 30 "${DK[@]}" exec c1 /bin/payload echo from exec
is "$out" "from exec" "docker exec"
_capture timeout 30 "${DK[@]}" exec c1 /bin/sh -c 'exit 5'
is "$?" 5 "docker exec passes the exit code on"
_capture timeout 30 "${DK[@]}" exec c1 /bin/payload ns pid
is "$out" "$(readlink "/proc/$pid/ns/pid")" "docker exec joins the container's pid namespace"
_capture timeout 30 "${DK[@]}" exec -d c1 /bin/sh -c 'echo detached > /tmp/d'
sleep 0.5
_capture timeout 30 "${DK[@]}" exec c1 cat /tmp/d
is "$out" detached "docker exec -d"
_capture timeout 30 "${DK[@]}" top c1
like "$out" 'sleep' "docker top"
_capture timeout 30 "${DK[@]}" exec -t c1 /bin/payload isatty 1
is "$out" "yes"$'\r' "docker exec -t"
check "docker update --memory --pids-limit (cell-runtime update)" -- \
	timeout 30 "${DK[@]}" update --memory 96m --memory-swap 96m --pids-limit 77 c1
_capture timeout 30 "${DK[@]}" exec c1 /bin/sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'
is "$(echo $out)" "100663296 77" "the new limits are in the container's cgroups"
check "docker pause" -- timeout 30 "${DK[@]}" pause c1
is "$("${DK[@]}" inspect -f '{{.State.Status}}' c1 2>&1)" paused "paused"
check "docker unpause" -- timeout 30 "${DK[@]}" unpause c1
is "$("${DK[@]}" inspect -f '{{.State.Status}}' c1 2>&1)" running "running again"
t0=$(date +%s)
check "docker stop (SIGTERM)" -- timeout 60 "${DK[@]}" stop -t 20 c1
is "$(( $(date +%s) - t0 < 15 ))" 1 "stopped by SIGTERM, not by the SIGKILL after the timeout"
is "$("${DK[@]}" inspect -f '{{.State.Status}} {{.State.ExitCode}}' c1 2>&1)" "exited 3" "exit code of the trap"
check "docker start (again)" -- timeout 30 "${DK[@]}" start c1
is "$("${DK[@]}" inspect -f '{{.State.Status}}' c1 2>&1)" running "running again after start"
check "docker restart" -- timeout 60 "${DK[@]}" restart -t 20 c1
is "$("${DK[@]}" inspect -f '{{.State.Status}}' c1 2>&1)" running "running after restart"
check "docker kill" -- timeout 30 "${DK[@]}" kill c1
eng_wait 10 bash -c "[ \"\$(${DK[*]} inspect -f '{{.State.Status}} {{.State.ExitCode}}' c1)\" = 'exited 137' ]"
ok $? "killed: exited 137"
check "docker rm" -- timeout 30 "${DK[@]}" rm c1
_capture timeout 60 "${DK[@]}" run -d --name s1 "${R[@]}" "${N[@]}" $I /bin/sleep 1000
check "docker stop of a pid 1 that ignores SIGTERM" -- timeout 60 "${DK[@]}" stop -t 1 s1
is "$("${DK[@]}" inspect -f '{{.State.Status}} {{.State.ExitCode}}' s1 2>&1)" "exited 137" "SIGKILL after the timeout"
check "docker rm s1" -- timeout 30 "${DK[@]}" rm s1

# 4. an error from the runtime reaches docker's user
_capture timeout 60 "${DK[@]}" run --rm "${R[@]}" "${N[@]}" $I /no/such/binary
like "$out" 'no/such/binary' "a missing executable is reported with its name"
is "$("${DK[@]}" ps -a -q | wc -l)" 0 "no container left"

# dockerd made no bridge of its own and left ip_forward alone
eng_kill_pid $dpid
fails "no docker0 bridge" -- ip link show docker0
is "$(cat /proc/sys/net/ipv4/ip_forward)" "$fwd" "ip_forward unchanged"
