#!/bin/bash
# Docker's run flags, each checked from inside the container (or its cgroup)
# and each bad value refused with one line, 125 and nothing created:
# --sysctl --shm-size --group-add --oom-score-adj --oom-kill-disable --ipc
# --uts --pid --cgroupns --cgroup-parent --annotation --memory-reservation
# --cpu-period --cpu-quota --cpuset-mems --blkio-weight --device
# --device-{read,write}-{bps,iops} --cidfile --label-file --platform
# --runtime --log-driver --pull. Everything removed after.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
engine_setup
left() { ls "$R/containers" 2>/dev/null | grep -cv '^\.names$'; }
r() { c run --rm busybox "$@"; }
cgfile() {	# container controller file
	local cg; cg=$(awk -F: -v k="$2" '$2==k {print $3}' /proc/$(c inspect -f '{{.State.Pid}}' "$1")/cgroup)
	cat "/sys/fs/cgroup/$2$cg/$3"
}

is "$(c run --rm --sysctl net.ipv4.ip_forward=1 busybox cat /proc/sys/net/ipv4/ip_forward)" "1" "--sysctl net.ipv4.ip_forward=1"
is "$(c run --rm --sysctl kernel.shmmax=123456789 busybox cat /proc/sys/kernel/shmmax)" "123456789" "--sysctl kernel.shmmax"
like "$(c run --rm --shm-size 2m busybox grep /dev/shm /proc/mounts)" "size=2048k" "--shm-size 2m"
is "$(c run --rm --group-add 1001 --group-add 2000 busybox id -G)" "0 1001 2000" "--group-add gids"
is "$(c run --rm --group-add extra busybox id -G)" "0 1001" "--group-add a name from the image's /etc/group"
is "$(c run --rm --oom-score-adj 500 busybox cat /proc/self/oom_score_adj)" "500" "--oom-score-adj 500"
is "$(c run --rm --ipc host busybox readlink /proc/self/ns/ipc)" "$(readlink /proc/self/ns/ipc)" "--ipc host: the host's IPC namespace"
is "$(c run --rm busybox readlink /proc/self/ns/ipc | grep -c "$(readlink /proc/self/ns/ipc)")" "0" "default: its own IPC namespace"
ok "$(c run --rm --ipc none busybox grep -q /dev/shm /proc/mounts; [ $? = 1 ]; echo $?)" "--ipc none: no /dev/shm"
is "$(c run --rm --uts host busybox hostname)" "$(hostname)" "--uts host: the host's name"
is "$(c run --rm --pid host busybox readlink /proc/self/ns/pid)" "$(readlink /proc/self/ns/pid)" "--pid host: the host's pid namespace"
is "$(c run --rm --cgroupns private busybox readlink /proc/self/ns/cgroup | grep -c "$(readlink /proc/self/ns/cgroup)")" "0" "--cgroupns private: a cgroup namespace of its own"
is "$(c run --rm --cgroupns host busybox readlink /proc/self/ns/cgroup)" "$(readlink /proc/self/ns/cgroup)" "--cgroupns host"

# cgroup values
par=cellflags-$$
defer "for d in /sys/fs/cgroup/*/$par; do rmdir \$d 2>/dev/null; done; true"
c run -d --name res --cgroup-parent $par --memory 128m --memory-reservation 32m --oom-kill-disable \
	--cpu-period 50000 --cpu-quota 25000 --cpuset-mems 0 --annotation org.test=yes \
	--device-read-bps /dev/vda:1mb --device-write-iops /dev/vda:100 busybox sleep 300 >/dev/null
id=$(c inspect -f '{{.Id}}' res)
like "$(cat /proc/$(c inspect -f '{{.State.Pid}}' res)/cgroup)" "memory:/$par/$id" "--cgroup-parent: the cgroup is below it"
is "$(cgfile res memory memory.soft_limit_in_bytes)" "33554432" "--memory-reservation 32m"
like "$(cgfile res memory memory.oom_control)" "oom_kill_disable 1" "--oom-kill-disable"
is "$(cgfile res cpu cpu.cfs_period_us) $(cgfile res cpu cpu.cfs_quota_us)" "50000 25000" "--cpu-period, --cpu-quota"
is "$(cgfile res cpuset cpuset.mems)" "0" "--cpuset-mems 0"
is "$(cgfile res blkio blkio.throttle.read_bps_device)" "254:0 1048576" "--device-read-bps /dev/vda:1mb"
is "$(cgfile res blkio blkio.throttle.write_iops_device)" "254:0 100" "--device-write-iops /dev/vda:100"
is "$(jq -r '.annotations["org.test"]' "$R/containers/$id/bundle/config.json")" "yes" "--annotation in the runtime config"
is "$(c inspect -f '{{.HostConfig.MemoryReservation}} {{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}} {{.HostConfig.OomKillDisable}} {{.HostConfig.CgroupParent}}' res)" \
	"33554432 50000 25000 true $par" "inspect's HostConfig"
c rm -f res >/dev/null

# --device
is "$(c run --rm --device /dev/null:/dev/mynull busybox sh -c 'test -c /dev/mynull && echo x > /dev/mynull && echo ok')" "ok" "--device HOST:CTR: a usable node"
c run -d --name dev --device /dev/vda:/dev/xvda:r busybox sleep 300 >/dev/null
is "$(c exec dev stat -c '%t:%T' /dev/xvda)" "fe:0" "--device /dev/vda:/dev/xvda:r: the node"
like "$(cgfile dev devices devices.list)" "b 254:0 r" "--device ...:r: read only in the devices cgroup"
c rm -f dev >/dev/null

# the command line's own
check "--cidfile" -- c run -d --cidfile "$TMPD/cid" --name cid busybox true
is "$(cat "$TMPD/cid")" "$(c inspect -f '{{.Id}}' cid)" "--cidfile holds the id"
printf '# labels\nteam=blue\n\nenv=test\n' > "$TMPD/labels"
c create --name lf --label-file "$TMPD/labels" busybox true >/dev/null
is "$(c inspect -f '{{.Config.Labels.team}} {{.Config.Labels.env}}' lf)" "blue test" "--label-file"
c run -d --name nolog --log-driver none busybox sh -c 'echo hello; sleep 300' >/dev/null
sleep 0.3
is "$(c inspect -f '{{.HostConfig.LogConfig.Type}}' nolog)" "none" "--log-driver none recorded"
ok "$([ ! -s "$R/containers/$(c inspect -f '{{.Id}}' nolog)/ctr.log" ]; echo $?)" "--log-driver none: no ctr.log written"
c rm -f nolog >/dev/null
check "--pull never, --platform linux/amd64, --runtime runc, --log-driver json-file" -- \
	c run --rm --pull never --platform linux/amd64 --runtime runc --log-driver json-file busybox true
c rm -f cid lf >/dev/null

# bad values: one line, 125, nothing created
n0=$(left)
bad() {	# want-regex flags...
	local want=$1; shift
	local out rc; out=$(c run -d "$@" busybox true 2>&1); rc=$?
	is "$rc $(echo "$out" | wc -l)" "125 1" "$* : 125, one line"
	like "$out" "$want" "$* : $want"
}
bad "sysctl 'kernel.domainname' is not allowed" --sysctl kernel.domainname=x
bad "expected KEY=VALUE" --sysctl net.ipv4.ip_forward
n1=$(left)
out=$("$CELL" --root "$R" run -d --network host --sysctl net.ipv4.ip_forward=1 busybox true 2>&1)
is "$?:$out" "125:cell: sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace" "--sysctl net.* with --network host"
is "$(left)" "$n1" "... nothing created"
bad "invalid size: 'lots'" --shm-size lots
bad "range for oom score adj is \[-1000, 1000\]" --oom-score-adj 2000
bad "invalid IPC mode: bogus" --ipc bogus
bad "invalid UTS mode: bogus" --uts bogus
bad "invalid PID mode: bogus" --pid bogus
bad "invalid cgroup namespace mode: bogus" --cgroupns bogus
bad "Minimum memory limit can not be less than memory reservation" --memory 32m --memory-reservation 64m
bad "Nano CPUs and CPU Period cannot both be set" --cpus 1 --cpu-period 50000
bad "CPU cfs period can not be less than 1ms" --cpu-period 10
bad "CPU cfs quota can not be less than 1ms" --cpu-quota 10
bad "invalid value x for cpuset mems" --cpuset-mems x
bad "Range of blkio weight is from 10 to 1000" --blkio-weight 5
bad "is not a block device" --device-read-bps /dev/null:1mb
bad "expected PATH:RATE" --device-write-bps /dev/vda
bad "custom device \"/dev/nosuch\"" --device /dev/nosuch
bad "invalid device mode: rx" --device /dev/null:/dev/n:rx
bad "group name or gid" --group-add a:b
bad "expected KEY=VALUE" --annotation novalue
bad "only this machine's platform" --platform linux/s390x
bad "unknown or invalid runtime name: crun" --runtime crun
bad "json-file and none are the log drivers" --log-driver syslog
bad "invalid pull option: 'sometimes'" --pull sometimes
bad "Container ID file found" --cidfile "$TMPD/cid"
bad "--label-file: open" --label-file "$TMPD/nosuch"
is "$(left)" "$n0" "the bad flags created nothing"
