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

if [ $# = 0 ]; then
	unit
	scripts tests/integration/*.sh tests/engines/*.sh tests/vm/*.sh
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
