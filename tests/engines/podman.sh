#!/bin/bash
# podman driving build/cell-runtime: `run --rm` with podman's defaults
# (seccomp profile, capabilities, rlimits from containers.conf), then one
# long-running container for exec, pause/unpause and stop.
# podman gets private storage, runroot and tmpdir under the test's temp dir,
# no network (--network none), its own cgroup parent, and a containers.conf
# whose ulimits fit under this machine's hard limits (no CAP_SYS_RESOURCE)
# and that lists cell-runtime in runtime_supports_json (so podman passes
# --log-format=json and reads errors from the JSON log).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/engines.sh"
need_root
command -v podman >/dev/null || skip_all "podman not installed (scripts/deps.sh test installs it)"
command -v conmon >/dev/null || skip_all "conmon not installed (podman needs it)"
[ -x "$RT" ] || skip_all "$RT not built (run make)"
tmpdir
T=$TMPD
eng_private_runtime "$T" || exit 1
# the test rootfs plus /bin/pause for a pod's infra container
mkdir -p "$T/root"
cp -a "$(test_rootfs)/." "$T/root/"
printf '#!/bin/sh\nexec sleep 100000\n' > "$T/root/bin/pause"
chmod 755 "$T/root/bin/pause"
tar -C "$T/root" --numeric-owner -cf "$T/root.tar" .

cat > "$T/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime_supports_json = ["cell-runtime", "crun", "runc"]
EOF
export CONTAINERS_CONF=$T/containers.conf
cg=celltest-podman-$$
P=(podman --root "$T/storage" --runroot "$T/run" --tmpdir "$T/tmp" --storage-driver vfs
   --cgroup-manager cgroupfs --events-backend file --runtime "$RT")
R=(--network none --cgroup-parent "/$cg")
# podman made libpod_parent/ for conmon if it was not there before: remove it
# again if it is empty then.
lp=$(eng_cgroup_snapshot libpod_parent)
defer "eng_cgroup_rm libpod_parent '$lp'"
defer "eng_cgroup_rm '$cg' ''"
defer "eng_umount_under '$T'"
defer "${P[*]} system reset -f"
defer "${P[*]} rm -f -a -t 0"
defer "${P[*]} pod rm -f -a"

check "podman imports the busybox root" -- "${P[@]}" import --change 'CMD ["/bin/sh"]' "$T/root.tar" localhost/celltest:1
I=localhost/celltest:1

# 1. run --rm, podman's defaults: its seccomp profile without noNewPrivileges
_capture timeout 60 "${P[@]}" run --rm "${R[@]}" --hostname pod1 $I /bin/payload hostname
is "$out" pod1 "podman run --rm (default seccomp profile, no no-new-privileges)"
# the rest does not depend on the order of seccomp and capabilities
N=(--security-opt no-new-privileges)
_capture timeout 60 "${P[@]}" run --rm "${R[@]}" "${N[@]}" $I /bin/sh -c 'exit 7'
is "$?" 7 "podman run --rm passes the exit code on"
_capture timeout 60 "${P[@]}" run --rm "${R[@]}" "${N[@]}" $I /bin/payload rlimit RLIMIT_NOFILE
like "$out" '^1024 1024$' "the containers.conf ulimits reach the container"
is "$("${P[@]}" ps -a -q | wc -l)" 0 "--rm left no container"

_capture timeout 60 "${P[@]}" run --rm -t "${R[@]}" "${N[@]}" $I /bin/payload isatty 1
is "$out" "yes"$'\r' "podman run -t: a terminal through the console socket"
_capture timeout 60 "${P[@]}" run --rm "${R[@]}" "${N[@]}" --memory 64m --pids-limit 50 $I \
	/bin/sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'
is "$(echo $out)" "67108864 50" "--memory and --pids-limit reach the container's cgroups"

# 2. one container for exec, pause, stop
_capture timeout 60 "${P[@]}" run -d --name c1 "${R[@]}" "${N[@]}" $I \
	/bin/sh -c 'trap "exit 3" TERM; while :; do sleep 0.1; done'
check "podman run -d" -- test -n "$out"
is "$("${P[@]}" inspect -f '{{.State.Status}}' c1 2>&1)" running "running"
pid=$("${P[@]}" inspect -f '{{.State.Pid}}' c1)
_capture timeout 30 "${P[@]}" exec c1 /bin/payload echo from exec
is "$out" "from exec" "podman exec"
_capture timeout 30 "${P[@]}" exec c1 /bin/sh -c 'exit 5'
is "$?" 5 "podman exec passes the exit code on"
_capture timeout 30 "${P[@]}" exec c1 /bin/payload ns pid
is "$out" "$(readlink "/proc/$pid/ns/pid")" "podman exec joins the container's pid namespace"
_capture timeout 30 "${P[@]}" exec -u 1000 -w /tmp c1 /bin/sh -c 'echo $(id -u) $(pwd)'
is "$out" "1000 /tmp" "podman exec --user --workdir"
_capture timeout 30 "${P[@]}" exec -d c1 /bin/sh -c 'echo detached > /tmp/d'
sleep 0.5
_capture timeout 30 "${P[@]}" exec c1 cat /tmp/d
is "$out" detached "podman exec -d (the process outlives the runtime)"
_capture timeout 30 "${P[@]}" top c1 pid args
like "$out" 'sleep' "podman top"

_capture timeout 30 "${P[@]}" exec -t c1 /bin/payload isatty 1
is "$out" "yes"$'\r' "podman exec -t"
check "podman kill -s USR2 (the shell ignores it)" -- timeout 30 "${P[@]}" kill -s USR2 c1
is "$("${P[@]}" inspect -f '{{.State.Status}}' c1 2>&1)" running "still running"

check "podman pause" -- timeout 30 "${P[@]}" pause c1
is "$("${P[@]}" inspect -f '{{.State.Status}}' c1 2>&1)" paused "paused"
fz=/sys/fs/cgroup/freezer$(awk -F: '$2 == "freezer" {print $3}' "/proc/$pid/cgroup")
is "$(cat "$fz/freezer.state" 2>&1)" FROZEN "its freezer cgroup is FROZEN"
fails "exec into a paused container fails" -- timeout 30 "${P[@]}" exec c1 true
check "podman unpause" -- timeout 30 "${P[@]}" unpause c1
is "$("${P[@]}" inspect -f '{{.State.Status}}' c1 2>&1)" running "running again"
_capture timeout 30 "${P[@]}" exec c1 /bin/payload echo thawed
is "$out" thawed "exec works after unpause"

t0=$(date +%s)
check "podman stop (SIGTERM)" -- timeout 60 "${P[@]}" stop -t 20 c1
is "$(( $(date +%s) - t0 < 15 ))" 1 "stopped by SIGTERM, not by the SIGKILL after the timeout"
is "$("${P[@]}" inspect -f '{{.State.Status}} {{.State.ExitCode}}' c1 2>&1)" "exited 3" "exit code of the trap"
check "its process is gone" -- bash -c "! kill -0 $pid 2>/dev/null"
check "podman rm" -- timeout 30 "${P[@]}" rm c1

# 3. a pod: the container joins the infra container's namespaces by path
check "podman pod create" -- timeout 60 "${P[@]}" pod create --name p1 --network none --cgroup-parent "/$cg" \
	--infra-image $I --infra-command /bin/pause
check "podman pod start" -- timeout 60 "${P[@]}" pod start p1
infra=$("${P[@]}" pod inspect -f '{{.InfraContainerID}}' p1)
ipid=$("${P[@]}" inspect -f '{{.State.Pid}}' "$infra")
_capture timeout 60 "${P[@]}" run --rm --pod p1 "${N[@]}" $I /bin/sh -c '/bin/payload ns ipc; /bin/payload ns net; /bin/payload ns uts'
is "$(echo $out)" "$(readlink "/proc/$ipid/ns/ipc" "/proc/$ipid/ns/net" "/proc/$ipid/ns/uts" | xargs)" \
	"a pod member is in the infra container's ipc, net and uts namespaces"
check "podman pod rm -f" -- timeout 60 "${P[@]}" pod rm -f p1

# 4. errors from the runtime come back to podman's user, through the JSON
# log: a wrapper named cell-runtime records the arguments podman gives it
mkdir -p "$T/wrap"
printf '#!/bin/sh\necho "$*" >> %s/args\nexec %s "$@"\n' "$T" "$RT" > "$T/wrap/cell-runtime"
chmod +x "$T/wrap/cell-runtime"
_capture timeout 60 "${P[@]}" --runtime "$T/wrap/cell-runtime" run --rm "${R[@]}" "${N[@]}" $I /no/such/binary
like "$out" 'no/such/binary' "a missing executable is reported with its name"
like "$(grep -m1 ' create ' "$T/args")" '--log-format[= ]json' "podman asks cell-runtime for JSON logs (runtime_supports_json)"
is "$("${P[@]}" ps -a -q | wc -l)" 0 "no container left"
