#!/bin/bash
# cell-runtime run by an ordinary user on a bundle made by `spec --rootless`
# (issue 14), as runc 1.1 runs the same bundle as the same user: no cgroup
# the user may write (hybrid here), so none is used and limits are refused;
# exec joins the container's user namespace first; ps lists the pid
# namespace. A throw-away user is made for it and removed after.
. "$(dirname "$0")/../lib/tap.sh"
need_root
command -v useradd >/dev/null || skip_all "useradd missing (passwd)"
[ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)" -gt 0 ] ||
	skip_all "user namespaces are disabled (user.max_user_namespaces=0)"

U=cellrl$$
useradd -M -s /bin/sh "$U" || { ok 1 "useradd $U"; exit 1; }
defer "userdel '$U' 2>/dev/null"
uid=$(id -u "$U")

tmpdir
chmod 755 "$TMPD"
mkdir -p "$TMPD/bin" "$TMPD/state"
cp "$RT" "$TMPD/bin/cell-runtime"
chmod 755 "$TMPD/bin/cell-runtime"
R=$TMPD/bin/cell-runtime
B=$TMPD/bundle
mkdir -p "$B"
cp -a "$(test_rootfs)" "$B/rootfs"
chown -R "$U": "$TMPD/state" "$B"
defer "for i in \$(ls '$TMPD/state' 2>/dev/null); do su '$U' -s /bin/sh -c \"'$R' --root '$TMPD/state' delete --force \$i\"; done"
as() { su "$U" -s /bin/sh -c "cd '$B' && $*"; }
rt() { as "'$R' --root '$TMPD/state' $*"; }
ucfg() { cfg "$B" "$1" && chown "$U": "$B/config.json" && chmod 644 "$B/config.json"; }

check "spec --rootless as the user" -- as "'$R' spec --rootless"
ucfg '.process.terminal = false | .process.args = ["payload", "id"]'
is "$(jq -r '.linux.uidMappings[0].hostID' "$B/config.json")" "$uid" "the bundle maps the user's own id"

out=$(rt run r1 2>&1); rc=$?
is "$rc" 0 "run a rootless bundle as the user (runc does: no cgroup it may write)"
is "$out" "0 0" "... as root of its user namespace"

ucfg '.process.args = ["payload", "sleep", "100"]'
check "create" -- rt create r2 "</dev/null"
check "start" -- rt start r2
pid=$(rt state r2 | jq -r .pid)
is "$(awk '/^Uid:/ {print $2}' /proc/$pid/status)" "$uid" "the container's init runs as the user's id on the host"
is "$(rt state r2 | jq -r .status)" running "state is running"
is "$(rt exec r2 payload id)" "0 0" "exec joins the user namespace (then pid, mount...)"
is "$(rt exec r2 payload ppid)" 0 "exec'd processes are in the container's pid namespace"
check "exec --detach a second process" -- rt exec --detach r2 payload sleep 100
n=$(rt ps --format json r2 | jq length)
is "$n" 2 "ps lists the pid namespace's processes without a cgroup"
fails "pause without a cgroup fails" -- rt pause r2
like "$LAST_OUT" "no cgroup" "... saying the container has no cgroup"
check "kill --all KILL" -- rt kill --all r2 KILL
for _ in $(seq 50); do [ "$(rt state r2 | jq -r .status)" = stopped ] && break; sleep 0.1; done
is "$(rt state r2 | jq -r .status)" stopped "kill --all stops the container (its init)"
check "delete" -- rt delete r2
is "$(ls "$TMPD/state")" "" "nothing left in the state root"

ucfg '.linux.resources.memory = {"limit": 33554432}'
fails "a memory limit without a writable cgroup is refused" -- rt run r3
like "$LAST_OUT" "delegated" "... saying limits need a delegated cgroup"
is "$(ls "$TMPD/state")" "" "... and leaving nothing"
is "$(ls -d /sys/fs/cgroup/*/cell/r3 /sys/fs/cgroup/unified/cell/r3 2>/dev/null)" "" "... and no cgroup"

# the same bundle under runc, where it is installed, as the same user
if command -v runc >/dev/null; then
	mkdir -p "$TMPD/runc"; chown "$U": "$TMPD/runc"
	ucfg 'del(.linux.resources.memory) | .process.args = ["payload", "id"]'
	is "$(as "runc --root '$TMPD/runc' run x1" 2>&1)" "0 0" "runc runs the same bundle the same way"
else
	skip "runc not installed"
fi
