#!/bin/bash
# One check per config.json field, asserted from inside the container with
# the payload program.
. "$(dirname "$0")/../lib/tap.sh"
need_root
ROOT=$(mktemp -d /tmp/cell-rt-root.XXXXXX); defer "rm -rf '$ROOT'"
defer 'for i in $(ls "$ROOT" 2>/dev/null); do "$RT" --root "$ROOT" delete --force "$i"; done'
make_bundle; B=$BUNDLE; chmod 755 "$B"
cfg "$B" '.process.terminal = false'
cp "$B/config.json" "$B/base.json"
n=0
# inside FILTER ARGS...: reset config, apply the jq filter, run payload ARGS
inside() {
	local filter=$1; shift
	n=$((n + 1))
	jq "$filter | .process.args = [\"payload\"] + \$ARGS.positional" "$B/base.json" --args "$@" > "$B/config.json"
	"$RT" --root "$ROOT" run --bundle "$B" "cfg$n-$$" 2>&1
}

is "$(inside '.hostname = "box"' hostname)" box "hostname"
is "$(inside '.domainname = "example.org"' domainname)" example.org "domainname"
is "$(inside '.process.env += ["X=1"]' env X)" 1 "process.env"
is "$(inside '.process.cwd = "/tmp"' cwd)" /tmp "process.cwd"
is "$(inside '.process.user = {"uid": 1000, "gid": 1001}' id)" "1000 1001" "process.user uid/gid"
is "$(inside '.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [5, 7]}' groups)" "5 7" "process.user.additionalGids"
is "$(inside '.process.user = {"uid": 0, "gid": 0, "umask": 63}' umask)" 0077 "process.user.umask"
is "$(inside '.process.capabilities = {"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]}' caps Eff)" 0000000000000020 "capabilities: effective set"
is "$(inside '.process.capabilities = {"bounding":["CAP_KILL","CAP_CHOWN"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]}' caps Bnd)" 0000000000000021 "capabilities: bounding set"
is "$(inside '.process.capabilities = {"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"],"inheritable":["CAP_KILL"],"ambient":["CAP_KILL"]}' caps Amb)" 0000000000000020 "capabilities: ambient set"
is "$(inside '.process.rlimits = [{"type":"RLIMIT_NOFILE","soft":512,"hard":768}]' rlimit RLIMIT_NOFILE)" "512 768" "process.rlimits"
is "$(inside '.process.noNewPrivileges = true' nnp)" 1 "process.noNewPrivileges"
is "$(inside '.process.noNewPrivileges = false' nnp)" 0 "noNewPrivileges false"
is "$(inside '.process.oomScoreAdj = 500' oomscore)" 500 "process.oomScoreAdj"
is "$(inside '.process.scheduler = {"policy":"SCHED_BATCH"}' sched)" 3 "process.scheduler"
is "$(inside '.process.ioPriority = {"class":"IOPRIO_CLASS_IDLE","priority":0}' ioprio)" 24576 "process.ioPriority"
is "$(inside '.linux.personality = {"domain":"LINUX32"}' personality)" 0x8 "linux.personality"
is "$(inside '.' pid)" 1 "pid namespace: the process is pid 1"
like "$(inside '.' cat /proc/net/dev)" '^(.*\n)?.*lo:' "network namespace has lo"
is "$(inside '.' cat /proc/net/dev | grep -c ':')" 1 "network namespace has only lo"
[ "$(inside '.' ns ipc)" != "$(readlink /proc/self/ns/ipc)" ]; ok $? "ipc namespace differs from the host"
[ "$(inside '.linux.namespaces += [{"type":"cgroup"}]' ns cgroup)" != "$(readlink /proc/self/ns/cgroup)" ]; ok $? "cgroup namespace differs from the host"
is "$(inside '.linux.namespaces = [.linux.namespaces[] | select(.type != "network")]' ns net)" "$(readlink /proc/self/ns/net)" "without a network namespace the host's is shared"
# user namespace with mappings
is "$(inside '.linux.namespaces += [{"type":"user"}] | .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}] | .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]' cat /proc/self/uid_map | tr -s ' ')" " 0 100000 65536" "user namespace uid_map"
# time namespace with offsets
up=$(cut -d. -f1 /proc/uptime)
t=$(inside '.linux.namespaces += [{"type":"time"}] | .linux.timeOffsets = {"boottime":{"secs":86400,"nanosecs":0}}' cat /proc/uptime | cut -d. -f1)
[ "$t" -ge $((up + 86400)) ] 2>/dev/null; ok $? "time namespace: boottime offset applied ($t vs $up)"
# mounts
is "$(inside '.mounts += [{"destination":"/mnt/t","type":"tmpfs","source":"tmpfs","options":["size=1m","mode=700"]}]' mounts | awk '$5=="/mnt/t"{print $9}')" tmpfs "tmpfs mount"
tmpdir; H=$TMPD; echo host > "$H/f"
is "$(inside ".mounts += [{\"destination\":\"/mnt/h\",\"type\":\"bind\",\"source\":\"$H\",\"options\":[\"rbind\",\"ro\"]}]" cat /mnt/h/f)" host "bind mount"
like "$(inside ".mounts += [{\"destination\":\"/mnt/h\",\"type\":\"bind\",\"source\":\"$H\",\"options\":[\"rbind\",\"ro\"]}]" write /mnt/h/g x)" "Read-only" "ro bind mount is read-only"
is "$(inside ".mounts += [{\"destination\":\"mnt/rel\",\"type\":\"bind\",\"source\":\"$H\",\"options\":[\"bind\"]}]" cat /mnt/rel/f)" host "relative destination"
is "$(inside ".mounts += [{\"destination\":\"/etc/hostfile\",\"type\":\"bind\",\"source\":\"$H/f\",\"options\":[\"bind\"]}]" cat /etc/hostfile)" host "file bind mount"
like "$(inside '.root.readonly = true' write /x y)" "Read-only" "root.readonly"
is "$(inside '.root.readonly = false' write /x y; echo $?)" 0 "root writable when readonly is false"
is "$(inside '.linux.maskedPaths = ["/proc/timer_list","/proc/scsi"]' cat /proc/timer_list | wc -c)" 0 "maskedPaths: file masked"
is "$(inside '.linux.maskedPaths = ["/proc/timer_list","/proc/acpi"]' mounts | awk '$5=="/proc/acpi"{print $9}')" tmpfs "maskedPaths: directory masked"
like "$(inside '.linux.readonlyPaths = ["/proc/sys"]' write /proc/sys/kernel/hostname x)" "Read-only" "readonlyPaths"
is "$(inside '.linux.sysctl = {"net.ipv4.ip_forward":"1"}' cat /proc/sys/net/ipv4/ip_forward)" 1 "linux.sysctl (namespaced)"
# devices
is "$(inside '.linux.devices = [{"path":"/dev/mynull","type":"c","major":1,"minor":3,"fileMode":384,"uid":0,"gid":0}]' exists /dev/mynull)" yes "linux.devices creates the node"
is "$(inside '.' exists /dev/null)" yes "default devices"
is "$(inside '.' exists /dev/ptmx)" yes "/dev/ptmx symlink"
is "$(inside '.' exists /dev/fd)" yes "/dev/fd symlink"
# seccomp
is "$(inside '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}' syscall mkdir)" "Operation not permitted" "seccomp: errnoRet"
is "$(inside '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW"}' seccomp)" 2 "seccomp filter mode"
# hooks
tmpdir; HK=$TMPD
cat > "$HK/hook.sh" <<H
#!/bin/sh
cat > "$HK/\$1.json"
H
chmod +x "$HK/hook.sh"
inside ".hooks = {\"prestart\":[{\"path\":\"$HK/hook.sh\",\"args\":[\"hook\",\"prestart\"]}],\"createRuntime\":[{\"path\":\"$HK/hook.sh\",\"args\":[\"hook\",\"createRuntime\"]}],\"poststart\":[{\"path\":\"$HK/hook.sh\",\"args\":[\"hook\",\"poststart\"]}],\"poststop\":[{\"path\":\"$HK/hook.sh\",\"args\":[\"hook\",\"poststop\"]}]}" exit 0 >/dev/null
for h in prestart createRuntime poststart poststop; do
	is "$(jq -r .id "$HK/$h.json" 2>/dev/null)" "cfg$n-$$" "hooks.$h ran with the state on stdin"
done
is "$(jq -r .status "$HK/createRuntime.json")" creating "createRuntime sees status creating"
is "$(jq -r .status "$HK/poststop.json")" stopped "poststop sees status stopped"
is "$(ls "$ROOT")" "" "nothing left in the root"
# linux.netDevices: a host interface moved in (renamed), and given back on delete
# (a veth: the dummy module is not everywhere; its peer stays on the host)
ip link add cellt$$ type veth peer name celltp$$ && defer "ip link del celltp$$"
like "$(inside ".linux.netDevices = {\"cellt$$\": {\"name\": \"eth9\"}}" cat /proc/net/dev)" "eth9:" "linux.netDevices moves and renames the interface"
ip link show cellt$$ >/dev/null 2>&1 || ip link add cellt$$ type veth peer name celltp$$
jq ".linux.netDevices = {\"cellt$$\": {\"name\": \"eth9\"}} | .process.args = [\"payload\", \"sleep\", \"100\"]" "$B/base.json" > "$B/config.json"
check "create with netDevices" -- "$RT" --root "$ROOT" create --bundle "$B" nd-$$
ip link show cellt$$ >/dev/null 2>&1; ok $((! $?)) "the interface left the host"
check "delete --force" -- "$RT" --root "$ROOT" delete --force nd-$$
check "the interface is back on the host under its own name" -- ip link show cellt$$
# id-mapped bind mount: on-disk uid 0 seen through the mapping 0 -> 1000
tmpdir; I=$TMPD; chmod 755 "$I"; echo x > "$I/f"; chown 0:0 "$I/f"
jq ".mounts += [{\"destination\":\"/mnt/i\",\"type\":\"bind\",\"source\":\"$I\",\"options\":[\"bind\",\"idmap\"],\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}] | .process.args = [\"stat\", \"-c\", \"%u:%g\", \"/mnt/i/f\"]" "$B/base.json" > "$B/config.json"
is "$("$RT" --root "$ROOT" run --bundle "$B" idm-$$ 2>&1)" "1000:1000" "idmap bind mount maps the owner"
is "$(stat -c %u "$I/f")" 0 "the file on disk is unchanged"
# a filter without no_new_privs is loaded while the init still has CAP_SYS_ADMIN (Docker's default)
is "$(inside '.process.noNewPrivileges = false | .linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}' syscall mkdir)" "Operation not permitted" "seccomp without noNewPrivileges and without CAP_SYS_ADMIN in the process"
# a linux.devices node gets no allow rule of its own: 1:3 stays usable as one of the default set
is "$(inside '.linux.devices = [{"path":"/dev/mynull","type":"c","major":1,"minor":3,"fileMode":438}] | .linux.resources.devices = [{"allow":false,"access":"rwm"}]' open /dev/mynull)" ok "linux.devices usable under deny-all resources.devices"
like "$(inside '.linux.resources.devices = [{"allow":false,"access":"rwm"}] | .linux.devices = [{"path":"/dev/mynull","type":"c","major":1,"minor":3,"fileMode":438}] | .mounts += [{"destination":"/dev/kmsg2","type":"bind","source":"/dev/kmsg","options":["bind"]}]' open /dev/kmsg2)" "not permitted" "a device outside the rules is denied"
# namespaces joined by path
ip netns add cellt-ns$$ && defer "ip netns del cellt-ns$$"
is "$(inside ".linux.namespaces = [.linux.namespaces[] | if .type == \"network\" then {\"type\":\"network\",\"path\":\"/run/netns/cellt-ns$$\"} else . end]" ns net)" "$(ip netns exec cellt-ns$$ readlink /proc/self/ns/net)" "network namespace joined by path"
fails "a path that is not a namespace is refused" -- bash -c "jq '.linux.namespaces = [.linux.namespaces[] | if .type == \"ipc\" then {\"type\":\"ipc\",\"path\":\"/etc/hostname\"} else . end]' '$B/base.json' > '$B/config.json'; '$RT' --root '$ROOT' run --bundle '$B' nsbad-$$"
like "$LAST_OUT" "not a namespace|not a ipc namespace" "... with a clear message"
# createContainer and startContainer hooks run in the container's namespaces
tmpdir; HK2=$TMPD; chmod 755 "$HK2"
inside ".hooks = {\"createContainer\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"hostname > $HK2/cc\"]}],\"startContainer\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"hostname\"]}]} | .hostname = \"hooked\"" exit 0 > "$HK2/out"
is "$(cat "$HK2/cc" 2>/dev/null)" hooked "createContainer hook runs in the container's uts namespace"
is "$(cat "$HK2/out")" hooked "startContainer hook runs inside the container"
# a new cgroup namespace is rooted at the container's own cgroup
is "$(inside '.linux.namespaces += [{"type":"cgroup"}]' cat /proc/self/cgroup | grep -vc ':/$')" 0 "cgroup namespace: every hierarchy shows the container's cgroup as /"
# without a cgroup namespace, the cgroup mount shows the container's own cgroup (its limits)
is "$(inside '.linux.resources.pids = {"limit": 77}' cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || inside '.linux.resources.pids = {"limit": 77}' cat /sys/fs/cgroup/pids.max)" 77 "the cgroup mount shows the container's own limits"
# a user namespace joined by path owns the namespaces created with it (a pod
# sharing one user namespace): they are made from inside it, and the
# container runs as its root
make_bundle; U=$BUNDLE; chmod 755 "$U"
chown -R 100000:100000 "$U/rootfs"
userns='.process.terminal = false | .linux.namespaces += [{"type":"user"}] | .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}] | .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]'
cfg "$U" "$userns | .process.args = [\"payload\", \"sleep\", \"100\"]"
check "create the container that owns a user namespace" -- "$RT" --root "$ROOT" create --bundle "$U" uown-$$
upid=$("$RT" --root "$ROOT" state uown-$$ | jq -r .pid)
cfg "$U" ".linux.namespaces = [.linux.namespaces[] | if .type == \"user\" then {\"type\":\"user\",\"path\":\"/proc/$upid/ns/user\"} else . end] | del(.linux.uidMappings, .linux.gidMappings)"
check "create a container joining that user namespace with new mount, pid, uts, ipc, net namespaces" -- \
	"$RT" --root "$ROOT" create --bundle "$U" ujoin-$$
jpid=$("$RT" --root "$ROOT" state ujoin-$$ 2>/dev/null | jq -r .pid)
is "$(readlink "/proc/$jpid/ns/user")" "$(readlink "/proc/$upid/ns/user")" "it is in the joined user namespace"
uino=$(stat -L -c %i "/proc/$upid/ns/user")
is "$(lsns -n -o ONS -p "$jpid" -t net | tr -d ' ')" "$uino" "its new network namespace is owned by the joined user namespace"
is "$(lsns -n -o ONS -p "$jpid" -t mnt | tr -d ' ')" "$uino" "its new mount namespace is owned by it"
[ "$(readlink "/proc/$jpid/ns/net")" != "$(readlink "/proc/$upid/ns/net")" ]; ok $? "and it is a new one"
is "$(awk '/^Uid:/ {print $2}' "/proc/$jpid/status")" 100000 "it runs as the user namespace's root (host uid 100000)"
is "$(awk -F: '$2 == "pids" {print $3}' "/proc/$jpid/cgroup" | grep -c "ujoin-$$")" 1 "it was moved into its own cgroup"
check "delete both" -- "$RT" --root "$ROOT" delete --force ujoin-$$
check "... and the owner" -- "$RT" --root "$ROOT" delete --force uown-$$
