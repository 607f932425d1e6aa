#!/bin/bash
# Runs every test program and script, reads their TAP, and ends with the
# line CI reads: "N passed, N failed, N skipped".
#   tests/run.sh            everything
#   tests/run.sh unit       unit tests (plain and sanitized builds)
#   tests/run.sh FILE...    the given scripts
# Exit status 77 from a script means "skipped", and its reason is printed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ASAN=${ASAN:-build-asan}
export CELL_TOP=$PWD CELL_BUILD=$PWD/$BUILD
pass=0 fail=0 skip=0
failed_list=()

run_one() {	# name command...
	local name=$1; shift
	local out rc
	echo "# --- $name"
	out=$(timeout --kill-after=10 "${TEST_TIMEOUT:-600}" "$@" 2>&1 < /dev/null)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	local p f s
	p=$(printf '%s\n' "$out" | grep -Ec '^ok [0-9]+' )
	s=$(printf '%s\n' "$out" | grep -Eci '^ok [0-9]+.*# *skip' )
	f=$(printf '%s\n' "$out" | grep -Ec '^not ok [0-9]+' )
	p=$((p - s))
	if [ "$rc" = 77 ]; then
		skip=$((skip + 1)); echo "# SKIP $name (exit 77)"
		return
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc"
	fi
	[ "$rc" = 124 ] && echo "# $name timed out"
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	[ "$f" -gt 0 ] && failed_list+=("$name")
}

unit() {
	local b t
	for b in "$BUILD" "$ASAN"; do
		[ -d "$b/tests/unit" ] || continue
		for t in "$b"/tests/unit/test-*; do
			[ -f "$t" ] && [ -x "$t" ] || continue
			ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
				run_one "$t" "$t"
		done
	done
}

scripts() {
	local t
	for t in "$@"; do
		[ -f "$t" ] || continue
		run_one "$t" bash "$t"
	done
}

# What the host holds that tests could leave behind: links, netns files,
# mounts, cgroups, nft tables other than cell's (their whole content), and
# the payload/monitor processes tests start. Compared around a full run.
host_state() {
	local t
	echo "## links"; ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
	echo "## netns"; ls /run/netns 2>/dev/null | sort
	echo "## mounts"; awk '{print $5}' /proc/self/mountinfo | sort
	# deeper too, by name: a relative cgroup parent (dockerd's) lands below
	# the runner's own cgroup, e.g. memory/process_api/<job>/NAME
	echo "## cgroups"
	{ find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d
	  find /sys/fs/cgroup -mindepth 4 -maxdepth 7 -type d \( -name '*cell*' -o -name 'libpod*' -o -name '*docker*' \
		-o -name '*containerd*' -o -name 'moby' -o -name 'conmon' -o -name 'k8s.io' \); } 2>/dev/null | sort -u
	echo "## nft"
	nft list tables 2>/dev/null | sort | while read -r _ fam name; do
		case $name in cell|cell_*) continue ;; esac
		nft list table "$fam" "$name" 2>/dev/null | sed 's/ # handle [0-9]*//'
	done
	echo "## processes"
	ps -eo args= 2>/dev/null | grep -E '^[^ ]*(cell-monitor|cell-init|/payload|cell-runtime) ' | sort
}

host_check() {	# before-file
	local after diff
	after=$(mktemp); host_state > "$after"
	echo "# --- host left as found"
	for part in links netns mounts cgroups nft processes; do
		diff=$(diff <(sed -n "/^## $part\$/,/^## /p" "$1") <(sed -n "/^## $part\$/,/^## /p" "$after"))
		# gone since the start: stale objects some test cleaned up, said only
		printf '%s\n' "$diff" | grep '^<' | head -5 | sed "s/^/    # removed from the host's $part: /"
		diff=$(printf '%s\n' "$diff" | grep '^>')
		if [ -z "$diff" ]; then
			echo "    ok - no $part left behind by the tests"; pass=$((pass + 1))
		else
			echo "    not ok - the tests left $part behind:"; fail=$((fail + 1))
			printf '%s\n' "$diff" | head -20 | sed 's/^/    #   /'
			failed_list+=("host $part")
		fi
	done
	rm -f "$after"
}

if [ $# = 0 ]; then
	before=$(mktemp); host_state > "$before"
	unit
	scripts tests/integration/*.sh tests/engines/*.sh tests/vm/*.sh
	host_check "$before"; rm -f "$before"
elif [ "$1" = unit ]; then
	unit
elif [ "$1" = vm ]; then
	scripts tests/vm/*.sh
else
	scripts "$@"
fi

[ ${#failed_list[@]} -gt 0 ] && printf '# failed: %s\n' "${failed_list[@]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
