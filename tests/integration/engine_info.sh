#!/bin/bash
# cell info, cell version, cell system df / prune, cell stats: shapes as
# Docker's, numbers checked against what the test created.
. "$(dirname "$0")/../lib/tap.sh"
need_root
command -v jq >/dev/null || skip_all "needs jq"
. "$(dirname "$0")/../lib/engine.sh"
engine_setup

# ---- version ----
v=$(c version)
like "$v" "^Client:" "version: Client section"
like "$v" " Version: +[0-9]+\.[0-9]+" "version: Version"
like "$v" " OS/Arch: +linux/" "version: OS/Arch"
like "$v" " C compiler: +gcc" "version: C compiler"
like "$v" "Runtime:" "version: the runtime's section"
j=$(c version --format json)
is "$(jq -r '.Client.Os + " " + .Runtime.Name' <<<"$j")" "linux cell-runtime" "version --format json"
like "$(jq -r .Client.GitCommit <<<"$j")" '^([0-9a-f]{7,40})?$' "version: git commit (when built from a checkout)"
is "$(c version --format '{{.Client.Version}}')" "$(jq -r .Client.Version <<<"$j")" "version --format template"
like "$("$CELL" --version)" "^cell version " "cell --version: one line"

# ---- info ----
c create --name i1 busybox true >/dev/null
c run -d --name i2 busybox sleep 100 >/dev/null
c run -d --name i3 busybox sleep 100 >/dev/null
c pause i3 >/dev/null
c volume create iv >/dev/null
j=$(c info --format json)
is "$(jq -r '[.Containers, .ContainersRunning, .ContainersPaused, .ContainersStopped] | map(tostring) | join(" ")' <<<"$j")" \
	"3 1 1 1" "info: containers running/paused/stopped"
is "$(jq -r .Images <<<"$j")" 1 "info: images"
is "$(jq -r .Volumes <<<"$j")" 1 "info: volumes"
is "$(jq -r .Driver <<<"$j")" "overlay" "info: storage driver"
is "$(jq -r .DockerRootDir <<<"$j")" "$R" "info: root dir"
is "$(jq -r .KernelVersion <<<"$j")" "$(uname -r)" "info: kernel"
is "$(jq -r .NCPU <<<"$j")" "$(nproc)" "info: CPUs"
like "$(jq -r .MemTotal <<<"$j")" '^[1-9][0-9]{6,}$' "info: memory"
like "$(jq -r .OperatingSystem <<<"$j")" "." "info: OS"
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then want=2; else want=1; fi
is "$(jq -r .CgroupVersion <<<"$j")" "$want" "info: cgroup version as Docker reports it"
is "$(jq -r .CgroupDriver <<<"$j")" "cgroupfs" "info: cgroup driver"
if [ -d /sys/fs/cgroup/memory ]; then
	is "$(jq -r .CgroupControllers.memory <<<"$j")" "v1 /sys/fs/cgroup/memory" "info: cgroup layout per controller (memory on v1)"
else
	like "$(jq -r .CgroupControllers.memory <<<"$j")" "^v2 " "info: cgroup layout per controller (memory on v2)"
fi
like "$(jq -r '.SecurityOptions | join(",")' <<<"$j")" "name=seccomp,profile=builtin" "info: security options"
is "$(jq -r .IPv4Forwarding <<<"$j")" "$([ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] && echo true || echo false)" \
	"info: ip_forward as the kernel has it"
is "$(jq -r .DefaultNetwork.Name <<<"$j")" "cell0" "info: default network"
like "$(jq -r '.Runtimes["cell-runtime"].path' <<<"$j")" "cell-runtime" "info: runtime path"
t=$(c info 2>/dev/null)
like "$t" " Containers: 3" "info: text Containers"
like "$t" "  Paused: 1" "info: text Paused"
like "$t" " Storage Driver: overlay" "info: text Storage Driver"
like "$t" " Cgroup Version: $want" "info: text Cgroup Version"
like "$t" " IPv4 Forwarding: (enabled|disabled)" "info: text IPv4 Forwarding"
is "$(c info --format '{{.Containers}}')" 3 "info --format template"
is "$(c system info --format '{{.Images}}')" 1 "system info"
c info bogus >/dev/null 2>&1; is $? 125 "info with an argument: 125"
c unpause i3 >/dev/null

# ---- system df ----
c run --name dfc -v dfv:/v busybox sh -c 'head -c 100000 /dev/zero > /big; head -c 5000 /dev/zero > /v/f'
d=$(c system df)
like "$d" "^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE" "system df: header"
like "$d" "Images +1 +1 " "system df: images total and active"
like "$d" "Containers +4 +2 " "system df: containers total and running"
like "$d" "Local Volumes +2 +1 " "system df: volumes total and in use"
like "$d" "Build Cache +0 +0 +0B +0B" "system df: build cache 0"
dj=$(c system df --format json)
is "$(jq -r 'select(.Type=="Local Volumes") | .Size' <<<"$dj")" "5kB" "system df --format json: volume size"
like "$(jq -r 'select(.Type=="Containers") | .Reclaimable' <<<"$dj")" "^10[0-9]\.?[0-9]*kB \([0-9]+%\)$" \
	"system df: a stopped container's writable layer is reclaimable"
is "$(jq -s length <<<"$dj")" 4 "system df --format json: four lines"
dv=$(c system df -v)
like "$dv" "Images space usage:" "system df -v: images"
like "$dv" "Containers space usage:" "system df -v: containers"
like "$dv" "dfv +1 +5kB" "system df -v: volume links and size"
like "$dv" "Build cache usage: 0B" "system df -v: build cache"

# ---- system prune ----
NET=cinfo$$ NET2=cinfo2$$
# removed before the engine root goes (after engine_cleanup: defers run last first)
defer "'$CELL' --root '$R' network rm -f '$NET' >/dev/null 2>&1"
defer "'$CELL' --root '$R' network rm -f '$NET2' >/dev/null 2>&1"
for i in $(seq 20); do
	"$CELL" --root "$R" network create --subnet "10.$((230 + RANDOM % 5)).$((RANDOM % 256)).0/24" "$NET" >/dev/null 2>&1 && break
done
for i in $(seq 20); do
	"$CELL" --root "$R" network create --subnet "10.$((230 + RANDOM % 5)).$((RANDOM % 256)).0/24" "$NET2" >/dev/null 2>&1 && break
done
"$CELL" --root "$R" run -d --name onnet --network "$NET2" busybox sleep 100 >/dev/null
echo n | c system prune >/dev/null 2>&1
check "system prune answered no removes nothing" -- c inspect dfc
c run -v /anonp busybox true >/dev/null
p=$(c system prune -f --volumes)
like "$p" "Deleted Containers:" "system prune -f: lists the containers"
like "$p" "Deleted Volumes:" "system prune --volumes: lists the volumes"
fails "system prune removes stopped containers" -- c inspect dfc
check "system prune keeps running containers" -- c inspect i2
is "$(c volume ls -q | sort | tr '\n' ' ')" "dfv iv " "system prune --volumes: anonymous unused ones only"
check "system prune keeps used images" -- c image inspect busybox
like "$p" "Deleted Networks:" "system prune: lists the networks"
fails "system prune removes unused networks" -- c network inspect "$NET"
check "system prune keeps networks a container uses" -- c network inspect "$NET2"
c rm -f onnet >/dev/null

# ---- stats ----
c create --name i4 busybox true >/dev/null
s=$(c stats --no-stream)
like "$s" "CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS" "stats: Docker's columns"
like "$(grep ' i2 ' <<<"$s")" " i2 " "stats: a running container"
ok $(! grep -q ' i4 ' <<<"$s"; echo $?) "stats: stopped ones only with --all"
like "$(c stats --no-stream --all)" " i4 " "stats --all shows stopped ones"
sj=$(c stats --no-stream --format json i2 i3)
is "$(jq -s length <<<"$sj")" 2 "stats of two containers: two lines"
is "$(jq -r 'select(.Name=="i2") | .PIDs' <<<"$sj")" 1 "stats: pids"
like "$(jq -r 'select(.Name=="i2") | .NetIO' <<<"$sj")" "/" "stats --format json: NetIO"
like "$(jq -r 'select(.Name=="i2") | .BlockIO' <<<"$sj")" "/" "stats --format json: BlockIO"
c stats --no-stream nosuch >/dev/null 2>&1; is $? 125 "stats of a missing container: 125"
st=$(timeout -s INT 3.6 "$CELL" --root "$R" stats --format json i2)
ok $([ "$(grep -c '"Name":"i2"' <<<"$st")" -ge 2 ]; echo $?) "stats streams: a JSON line every second until interrupted"
like "$(jq -r .CPUPercText <<<"$(tail -1 <<<"$st")")" '^[0-9]+\.[0-9]{2}%$' "streamed frames carry the CPU rate"
