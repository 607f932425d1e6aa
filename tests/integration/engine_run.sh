#!/bin/bash
# cell run: every flag, end to end, with a busybox image imported into a
# temporary engine root. Asserts from inside the container (tests/payload).
. "$(dirname "$0")/../lib/tap.sh"
need_root
"$CELL" run --help >/dev/null 2>&1 || skip_all "\`cell run\` is not in this build yet"
tmpdir
R=$TMPD/root
# containers join a network of this test's own (a bridge cb-*, a /24 of
# 10.250-254), removed at the end; cell0 is the host's shared default
NET=ctest$$
c() { case $1 in run|create) local a=$1; shift; "$CELL" --root "$R" "$a" --network "$NET" "$@";; *) "$CELL" --root "$R" "$@";; esac; }
engine_cleanup() {
	local i
	for i in $(c ps -aq --no-trunc 2>/dev/null); do c rm -f "$i"; done
	grep -o " $R/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
}
defer "'$CELL' --root '$R' network rm -f '$NET'"
defer engine_cleanup
tar -C "$(test_rootfs)" -cf "$TMPD/rootfs.tar" . || skip_all "cannot build the test rootfs"
c image import --change 'CMD ["sh"]' --change 'ENV IMG=from-image' "$TMPD/rootfs.tar" busybox:latest >/dev/null 2>&1 ||
	skip_all "\`cell image import\` of the test rootfs failed"
for i in $(seq 20); do
	"$CELL" --root "$R" network create --subnet "10.$((250 + RANDOM % 5)).$((RANDOM % 256)).0/24" "$NET" >/dev/null 2>&1 && break
done
"$CELL" --root "$R" network inspect "$NET" >/dev/null 2>&1 || skip_all "cannot create a test network"

# no container left behind by a --rm run
left() { ls "$R/containers" | grep -cv '^\.names$'; }

is "$(c run --rm busybox echo hello)" "hello" "run --rm prints the container's output"
is "$(left)" 0 "run --rm removes the container"
c run --rm busybox sh -c 'exit 7'; is $? 7 "exit status of the container"
is "$(c run --name fglog busybox sh -c 'echo o; echo e >&2' 2>&1 >/dev/null)" "e" "foreground stderr on stderr"
is "$(c logs fglog 2>&1 | sort | tr '\n' ' ')" "e o " "a foreground run is logged too"
c rm fglog >/dev/null
c run --rm busybox no-such-cmd 2>/dev/null; is $? 127 "command not found: 127"
c run --rm busybox /etc/passwd 2>/dev/null; is $? 126 "not executable: 126"
is "$(left)" 0 "failed --rm runs leave nothing"

# environment
is "$(c run --rm busybox payload env IMG)" "from-image" "image Env honoured"
is "$(c run --rm -e A=1 -e IMG=over busybox sh -c 'echo $A $IMG')" "1 over" "-e sets and overrides"
printf '# comment\nB=2\n\nC=x y\n' > "$TMPD/envfile"
is "$(c run --rm --env-file "$TMPD/envfile" busybox sh -c 'echo $B $C')" "2 x y" "--env-file"
export CELL_TEST_PASS=through
is "$(c run --rm -e CELL_TEST_PASS busybox payload env CELL_TEST_PASS)" "through" "-e NAME takes our value"
like "$(c run --rm busybox payload env PATH)" "/usr/bin" "PATH set"
is "$(c run --rm --hostname box1 busybox sh -c 'hostname; cat /etc/hostname; echo $HOSTNAME')" "box1
box1
box1" "--hostname: uts, /etc/hostname and HOSTNAME"
like "$(c run --rm busybox hostname)" "^[0-9a-f]{12}$" "default hostname is the short id"

# process
is "$(c run --rm -w /tmp busybox payload cwd)" "/tmp" "-w"
is "$(c run --rm -u 1000 busybox payload id)" "1000 1000" "-u uid (gid from passwd)"
is "$(c run --rm -u tester busybox sh -c 'payload id; payload groups')" "1000 1000
1001" "-u name: uid, gid and supplementary groups from the image"
is "$(c run --rm -u nobody:tester busybox payload id)" "65534 1000" "-u user:group"
c run --rm -u nosuchuser busybox true 2>/dev/null; is $? 125 "-u unknown user: 125"
is "$(c run --rm --hostname ep --entrypoint /bin/payload busybox hostname)" "ep" "--entrypoint replaces the command's program"
is "$(c run --rm --entrypoint sh busybox -c 'echo via-ep')" "via-ep" "--entrypoint with args from the command"
is "$(c run --rm -t busybox payload isatty 1 | tr -d '\r')" "yes" "-t gives a terminal"
is "$(c run --rm busybox payload isatty 1)" "no" "no -t: no terminal"

# mounts
mkdir -p "$TMPD/vol"; echo data > "$TMPD/vol/f"
is "$(c run --rm -v "$TMPD/vol:/data" busybox cat /data/f)" "data" "-v host:ctr"
c run --rm -v "$TMPD/vol:/data" busybox sh -c 'echo new > /data/g'
is "$(cat "$TMPD/vol/g" 2>/dev/null)" "new" "-v is writable"
c run --rm -v "$TMPD/vol:/data:ro" busybox sh -c 'echo x > /data/h' 2>/dev/null; ok $([ $? != 0 ] && [ ! -e "$TMPD/vol/h" ]; echo $?) "-v :ro is read-only"
is "$(c run --rm --mount "type=bind,source=$TMPD/vol,target=/m,readonly" busybox cat /m/f)" "data" "--mount type=bind"
like "$(c run --rm --mount type=tmpfs,target=/scratch busybox sh -c 'grep " /scratch " /proc/mounts')" "tmpfs" "--mount type=tmpfs"
like "$(c run --rm --tmpfs /t busybox sh -c 'grep " /t " /proc/mounts')" "tmpfs" "--tmpfs"
c run --rm --read-only busybox touch /x 2>/dev/null; ok $([ $? != 0 ]; echo $?) "--read-only root"
check "no --read-only: root writable" -- c run --rm busybox touch /x

# security
is "$(c run --rm busybox payload caps)" "00000000a80425fb" "Docker's default capability set"
is "$(c run --rm --cap-add NET_ADMIN busybox payload caps)" "00000000a80435fb" "--cap-add NET_ADMIN"
is "$(c run --rm --cap-drop chown busybox payload caps)" "00000000a80425fa" "--cap-drop chown"
is "$(c run --rm --cap-drop ALL busybox payload caps)" "0000000000000000" "--cap-drop ALL"
like "$(c run --rm --privileged busybox payload caps)" "^000001ff" "--privileged: every capability"
is "$(c run --rm busybox payload nnp)" "0" "no-new-privileges off by default"
is "$(c run --rm --security-opt no-new-privileges busybox payload nnp)" "1" "--security-opt no-new-privileges"
is "$(c run --rm busybox payload seccomp)" "2" "a default seccomp filter"
is "$(c run --rm --cap-add SYS_ADMIN busybox sh -c 'mkdir /m && mount -t tmpfs none /m && echo mounted')" "mounted" "default filter lets CAP_SYS_ADMIN mount"
is "$(c run --rm --security-opt seccomp=unconfined busybox payload seccomp)" "0" "seccomp=unconfined"
is "$(c run --rm --privileged busybox payload seccomp 2>/dev/null)" "0" "--privileged: no filter"
is "$(echo from-stdin | c run --rm -i busybox cat)" "from-stdin" "-i passes stdin"
is "$(echo from-stdin | c run --rm busybox cat)" "" "no -i: stdin is empty"
printf '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}' > "$TMPD/sc.json"
c run --rm --security-opt no-new-privileges --security-opt "seccomp=$TMPD/sc.json" busybox mkdir /newdir 2>/dev/null
ok $([ $? != 0 ]; echo $?) "--security-opt seccomp=FILE applied"
is "$(c run --rm busybox sh -c 'wc -c < /proc/timer_list')" "0" "masked /proc/timer_list"
c run --rm busybox sh -c 'echo 1 > /proc/sysrq-trigger' 2>/dev/null; ok $([ $? != 0 ]; echo $?) "read-only /proc/sysrq-trigger"
is "$(c run --rm --ulimit nofile=100:200 busybox payload rlimit RLIMIT_NOFILE)" "100 200" "--ulimit"

# resources, read in the container's cgroup on the host
cg() {	# flags -- controller file: the value while a container with those flags runs
	local flags=() id v
	while [ "$1" != -- ]; do flags+=("$1"); shift; done; shift
	id=$(c run -d "${flags[@]}" busybox sleep 60) || return
	v=$(cat "/sys/fs/cgroup/$1/cell/$id/$2" 2>/dev/null || echo none)
	c rm -f "$id" >/dev/null
	echo "$v"
}
is "$(cg -m 64m -- memory memory.limit_in_bytes)" "67108864" "--memory"
is "$(cg -m 64m --memory-swap 96m -- memory memory.memsw.limit_in_bytes)" "100663296" "--memory-swap"
is "$(cg --cpus 0.5 -- cpu cpu.cfs_quota_us) $(cg --cpus 0.5 -- cpu cpu.cfs_period_us)" "50000 100000" "--cpus → quota/period"
is "$(cg --cpu-shares 512 -- cpu cpu.shares)" "512" "--cpu-shares"
is "$(cg --cpuset-cpus 0 -- cpuset cpuset.cpus)" "0" "--cpuset-cpus"
is "$(cg --pids-limit 20 -- pids pids.max)" "20" "--pids-limit"
id=$(c run -d -m 8m --memory-swap 8m busybox payload memhog 64)
is "$(timeout 30 "$CELL" --root "$R" wait "$id")" "137" "OOM: killed"
is "$(c inspect -f '{{.State.OOMKilled}}' "$id")" "true" "OOM: inspect shows OOMKilled"
c rm "$id" >/dev/null

# network
is "$(c run --rm --network none busybox sh -c 'grep -c : /proc/net/dev')" "1" "--network none: lo only"
like "$(c run --rm busybox ip -4 addr show eth0)" "inet 10\.[0-9.]+/" "bridge network: eth0 with an address"
like "$(c run --rm busybox ip route)" "default via" "bridge network: a default route"
like "$(c run --rm --name netname busybox cat /etc/hosts)" "netname" "/etc/hosts names the container"
mkdir -p "$TMPD/www"; echo hello-web > "$TMPD/www/index.html"
port=$((20000 + RANDOM % 20000))
id=$(c run -d -p "127.0.0.1:$port:80" -v "$TMPD/www:/www" busybox httpd -f -p 80 -h /www)
is "$(c port "$id")" "80/tcp -> 127.0.0.1:$port" "port lists the published port"
like "$(c ps --format '{{.Ports}}')" "127.0.0.1:$port->80/tcp" "ps shows the port"
for i in $(seq 20); do out=$(timeout 3 wget -qO- "http://127.0.0.1:$port/" 2>/dev/null) && break; sleep 0.1; done
is "$out" "hello-web" "-p publishes on the host (loopback)"
ip=$(c inspect -f '{{.NetworkSettings.IPAddress}}' "$id")
like "$ip" "^10\." "inspect: NetworkSettings.IPAddress"
c rm -f "$id" >/dev/null
ok $(nft list table inet cell 2>/dev/null | grep -q "cell-ctr:$id"; [ $? != 0 ]; echo $?) "rm -f removed the port rules"
ok $(ip link | grep -q "$(echo "$id" | cut -c1-8)"; [ $? != 0 ]; echo $?) "no veth left"
is "$(c run --rm --network host busybox readlink /proc/1/ns/net)" "$(readlink /proc/self/ns/net)" "--network host"

# labels and metadata
id=$(c create --label a=1 --label b=two --name labelled busybox true)
is "$(c inspect -f '{{.Config.Labels.a}} {{index .Config.Labels "b"}}' labelled)" "1 two" "--label in inspect"
is "$(c ps -a --filter label=b=two --format '{{.Names}}')" "labelled" "ps --filter label="
c rm labelled >/dev/null
is "$(left)" 0 "everything removed"
