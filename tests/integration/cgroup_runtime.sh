#!/bin/bash
# linux.resources through cell-runtime: values land in the container's
# cgroup, limits bite (a memory hog is OOM-killed, a fork bomb stops at
# pids.max, a denied device cannot be opened), update changes them live (and
# a refused update leaves them), pause freezes every process, and delete
# leaves no cgroup behind. Runs on whatever layout the host has.
. "$(dirname "$0")/../lib/tap.sh"
need_root
command -v jq >/dev/null || skip_all "jq is not installed (scripts/deps.sh test)"
[ -x "$PAYLOAD" ] || skip_all "tests/payload is not built"
ROOT=$(mktemp -d /tmp/cell-cg-root.XXXXXX); defer "rm -rf '$ROOT'"
rt() { timeout -k 5 60 "$RT" --root "$ROOT" "$@"; }
defer 'for i in $(ls "$ROOT" 2>/dev/null); do timeout -k 5 30 "$RT" --root "$ROOT" delete --force "$i"; done'

tmpdir
# is the runtime able to run a container at all yet?
make_bundle >/dev/null 2>&1; B=$BUNDLE
[ -s "$B/config.json" ] || skip_all "cell-runtime cannot write a spec yet (\`cell-runtime spec\` made no config.json)"
cfg "$B" '.process.terminal = false | .process.args = ["payload", "echo", "probe-ok"]'
out=$(rt run --bundle "$B" "probe-$$" 2>&1 < /dev/null); rc=$?
rt delete --force "probe-$$" >/dev/null 2>&1
[ $rc = 0 ] && [ "$out" = probe-ok ] ||
	skip_all "cell-runtime cannot run a container yet (status $rc, output: $(printf '%s' "$out" | head -1))"

UNIFIED=0
grep -q "^[^ ]* /sys/fs/cgroup cgroup2 " /proc/mounts && UNIFIED=1

# cgdir CONTROLLER PID: the directory of PID's cgroup for that controller
cgdir() {
	local ctrl=$1 pid=$2 line hier path
	if [ $UNIFIED = 1 ]; then
		echo "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/"$pid"/cgroup)"
		return
	fi
	while IFS=: read -r _ hier path; do
		case ",$hier," in *",$ctrl,"*) echo "/sys/fs/cgroup/$hier$path"; return ;; esac
	done < /proc/"$pid"/cgroup
}

cfg "$B" '.process.args = ["payload", "sleep", "300"] |
  .linux.resources.memory = {"limit": 33554432, "swap": 33554432} |
  .linux.resources.pids = {"limit": 12} |
  .linux.resources.cpu = {"shares": 512, "quota": 20000, "period": 100000} |
  .process.capabilities.bounding += ["CAP_MKNOD"] | .process.capabilities.effective += ["CAP_MKNOD"] |
  .process.capabilities.permitted += ["CAP_MKNOD"]'
ID=cg-$$
# the container keeps create's stdio: keep it off the pipe $(...) waits on
rt create --bundle "$B" "$ID" > "$TMPD/create.out" 2>&1 < /dev/null
ok $? "create with linux.resources" || sed 's/^/#   /' "$TMPD/create.out"
check "start" -- rt start "$ID"
pid=$(rt state "$ID" | jq -r .pid)
like "$pid" '^[0-9]+$' "the init has a pid"

mem=$(cgdir memory "$pid"); cpu=$(cgdir cpu "$pid"); pids=$(cgdir pids "$pid")
echo "# memory cgroup: $mem"
like "$mem" "/$ID\$|/cell/$ID" "the container's cgroup is named after it"
if [ $UNIFIED = 1 ]; then
	is "$(cat "$mem/memory.max")" 33554432 "memory.max = 32M"
	is "$(cat "$cpu/cpu.weight")" 20 "cpu shares 512 -> cpu.weight 20"
	is "$(cat "$cpu/cpu.max")" "20000 100000" "cpu.max quota/period"
else
	is "$(cat "$mem/memory.limit_in_bytes")" 33554432 "memory.limit_in_bytes = 32M"
	is "$(cat "$cpu/cpu.shares")" 512 "cpu.shares = 512"
	is "$(cat "$cpu/cpu.cfs_quota_us")" 20000 "cpu.cfs_quota_us = 20000"
	[ -d /sys/fs/cgroup/unified ] &&
		like "$(grep '^0::' /proc/"$pid"/cgroup)" "$ID" "hybrid: 0:: names the container too"
fi
is "$(cat "$pids/pids.max")" 12 "pids.max = 12"

# limits bite
out=$(rt exec "$ID" payload forkbomb 40 2>&1); made=$(printf '%s' "$out" | tail -1)
like "$made" '^[0-9]+$' "fork bomb ran ($out)"
[ "${made:-99}" -lt 12 ]; ok $? "fork bomb stopped at pids.max ($made forks)"
out=$(rt exec "$ID" payload memhog 128 2>&1); rc=$?
is "$rc" 137 "memory hog (128M in 32M) killed with SIGKILL"
if [ $UNIFIED = 1 ]; then
	like "$(grep oom_kill "$mem/memory.events")" 'oom_kill [1-9]' "memory.events counts the OOM kill"
else
	like "$(grep oom_kill "$mem/memory.oom_control")" 'oom_kill [1-9]' "memory.oom_control counts the OOM kill"
fi
is "$(rt events --stats "$ID" | jq -r .data.memory.usage.limit)" 33554432 "events --stats: memory limit"
like "$(rt events --stats "$ID" | jq -r .data.pids.current)" '^[1-9]' "events --stats: pids.current"
# mknod is allowed for any device (runc's default list), opening is not
check "mknod of /dev/kmsg's numbers (c 1:11) is allowed" -- rt exec "$ID" payload mknod /dev/cellkmsg 1 11
out=$(rt exec "$ID" payload open /dev/cellkmsg 2>&1); rc=$?
[ $rc != 0 ]; ok $? "open of a device outside the allow list fails ($out)"
check "open /dev/null is allowed" -- rt exec "$ID" payload open /dev/null

# update
check "update --cpu-shares 256 --pids-limit 20" -- rt update --cpu-shares 256 --pids-limit 20 "$ID"
is "$(cat "$pids/pids.max")" 20 "pids.max updated live"
if [ $UNIFIED = 1 ]; then want=$(cat "$cpu/cpu.weight"); is "$want" 10 "cpu.weight 10 after shares 256"
else is "$(cat "$cpu/cpu.shares")" 256 "cpu.shares updated live"; fi
printf '{"pids":{"limit":30},"cpu":{"cpus":"0-63"}}' > "$TMPD/bad.json"
fails "update with cpus 0-63 is refused" -- rt update --resources "$TMPD/bad.json" "$ID"
like "$LAST_OUT" "cpuset.cpus = 0-63" "... naming the file and value"
is "$(cat "$pids/pids.max")" 20 "a refused update leaves pids.max as it was"

# pause / resume
check "pause" -- rt pause "$ID"
is "$(rt state "$ID" | jq -r .status)" paused "state paused"
if [ $UNIFIED = 1 ]; then is "$(cat "$mem/cgroup.freeze")" 1 "cgroup.freeze = 1"
else is "$(cat "$(cgdir freezer "$pid")/freezer.state")" FROZEN "freezer.state FROZEN"; fi
check "resume" -- rt resume "$ID"
is "$(rt state "$ID" | jq -r .status)" running "state running"

# delete leaves nothing
dirs=$(for c in memory cpu pids freezer devices; do cgdir $c "$pid"; done; [ $UNIFIED = 1 ] || sed -n 's|^0::|/sys/fs/cgroup/unified|p' /proc/"$pid"/cgroup)
check "kill" -- rt kill "$ID" KILL
sleep 0.3
check "delete" -- rt delete "$ID"
left=""
for d in $dirs; do [ -e "$d" ] && left="$left $d"; done
is "$left" "" "no cgroup directory left after delete"

# an absolute linux.cgroupsPath: placed there, both new levels removed on
# delete, also after the container's init was killed -9
P=/celltest-abs-$$/ctr
cfg "$B" ".linux.cgroupsPath = \"$P\" | del(.linux.resources)"
ID2=cg2-$$
defer "for d in /sys/fs/cgroup/*/celltest-abs-$$ /sys/fs/cgroup/celltest-abs-$$; do rmdir \$d/ctr \$d; done"
rt create --bundle "$B" "$ID2" > "$TMPD/create2.out" 2>&1 < /dev/null
ok $? "create with cgroupsPath $P" || sed 's/^/#   /' "$TMPD/create2.out"
pid2=$(rt state "$ID2" | jq -r .pid)
d2=$(cgdir pids "$pid2")
like "$d2" "$P\$" "the init is in $P"
kill -9 "$pid2"
sleep 0.3
check "delete after the init was killed -9" -- rt delete "$ID2"
[ ! -e "$d2" ] && [ ! -e "${d2%/ctr}" ]; ok $? "both levels of $P removed"
