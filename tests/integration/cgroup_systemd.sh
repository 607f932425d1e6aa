#!/bin/bash
# The systemd cgroup driver on a host without systemd as init (this one):
# cell-runtime --systemd-cgroup and cell --cgroup-manager systemd fail with
# one line naming it and leave nothing; bad cgroupsPath forms are refused
# naming the path; cell info shows the driver. The driver against a real
# systemd is tests/vm/systemd.sh.
. "$(dirname "$0")/../lib/tap.sh"
need_root
command -v jq >/dev/null || skip_all "needs jq"
[ -e /run/systemd/system ] && skip_all "systemd runs here: tests/vm/systemd.sh covers the driver"
ROOT=$(mktemp -d /tmp/cell-rt-root.XXXXXX); defer "rm -rf '$ROOT'"
defer 'for i in $(ls "$ROOT" 2>/dev/null); do "$RT" --root "$ROOT" delete --force "$i"; done'
make_bundle; B=$BUNDLE
cfg "$B" '.process.terminal = false | .process.args = ["payload", "exit", "0"]'

# ---- cell-runtime --systemd-cgroup ----
for p in "system.slice:cell:sd-$$" "" ; do
	cfg "$B" ".linux.cgroupsPath = \"$p\""
	fails "--systemd-cgroup run, cgroupsPath \"$p\", no systemd" -- "$RT" --root "$ROOT" --systemd-cgroup run --bundle "$B" sd-$$
	like "$LAST_OUT" "systemd is not running \(no /run/systemd/system\)" "... names the missing systemd"
	is "$(printf '%s\n' "$LAST_OUT" | wc -l)" 1 "... in one line"
	is "$(ls "$ROOT")" "" "... leaving no state"
done
ls -d /sys/fs/cgroup/*/system.slice/cell-sd-$$.scope /sys/fs/cgroup/unified/system.slice/cell-sd-$$.scope 2>/dev/null | grep -q .
ok $(( ! $? )) "no cgroup named after the scope anywhere"

# ---- cell --cgroup-manager ----
. "$(dirname "$0")/../lib/engine.sh"
engine_setup
fails "--cgroup-manager bogus" -- "$CELL" --root "$R" --cgroup-manager bogus info
like "$LAST_OUT" "--cgroup-manager .bogus.: expected systemd or cgroupfs" "... names the values"
is "$LAST_RC" 125 "... exit 125"
is "$("$CELL" --root "$R" --cgroup-manager systemd info --format json | jq -r .CgroupDriver)" systemd "info: CgroupDriver systemd"
is "$(CELL_CGROUP_MANAGER=systemd "$CELL" --root "$R" info --format json | jq -r .CgroupDriver)" systemd "CELL_CGROUP_MANAGER=systemd is the default"
is "$(CELL_CGROUP_MANAGER=systemd "$CELL" --root "$R" --cgroup-manager cgroupfs info --format json | jq -r .CgroupDriver)" cgroupfs "the flag wins over CELL_CGROUP_MANAGER"
fails "cell --cgroup-manager systemd run without systemd" -- "$CELL" --root "$R" --cgroup-manager systemd run --rm --network none busybox:latest true
like "$LAST_OUT" "systemd is not running" "... names the missing systemd"
fails "--cgroup-parent that is not a slice" -- "$CELL" --root "$R" --cgroup-manager systemd run --rm --network none --cgroup-parent /x busybox:latest true
like "$LAST_OUT" "cgroup-parent ./x.: with --cgroup-manager systemd it is a slice" "... says it must be a slice"
check "cgroupfs (default) still runs" -- c run --rm busybox:latest true
