#!/bin/bash
# cgroup setup cost per container (issue 3): `run` of /bin/true with and
# without linux.resources (memory+swap, cpu shares/quota/cpuset, pids,
# devices deny-all + defaults), cell-runtime against runc and crun (where
# crun can run: not on hybrid) on this host's
# layout, interleaved so that drift hits all alike. Prints the median ms per
# container, the cost of the resources (with - without) and cell/runc ratios.
# Only the layout it runs on is measured (hybrid on the development
# machines); bench/cgroup-vm.sh runs it also inside pure-v2 and legacy-v1
# VMs. Needs only bash, jq and busybox tools, so it runs in those VMs too.
#   bench/cgroup.sh [N]     N containers per case, default 40
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
RT=${CELL_RUNTIME:-$top/build/cell-runtime}
N=${1:-40}
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 77; }
[ -x "$RT" ] || { echo "bench: $RT not built (run make)" >&2; exit 1; }
command -v jq >/dev/null || { echo "bench: needs jq" >&2; exit 77; }
W=$(mktemp -d /tmp/cell-bench-cg.XXXXXX)
S=$(mktemp -d /run/cell-bench-cg.XXXXXX)
declare -A CMD BUNDLE
names=()
cleanup() {
	local n id
	for n in "${names[@]}"; do
		for id in $(${CMD[$n]} list -q 2>/dev/null); do ${CMD[$n]} delete -f "$id" >/dev/null 2>&1; done
	done
	rm -rf "$W" "$S"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rootfs=$(CELL_TOP=$top bash -c '. "$CELL_TOP/tests/lib/tap.sh" >/dev/null; trap - EXIT; test_rootfs') || exit 1
mkdir -p "$W/plain" "$W/res"
cp -a "$rootfs" "$W/plain/rootfs"
(cd "$W/plain" && "$RT" spec) || exit 1
jq '.process.args = ["/bin/true"] | .process.terminal = false | .root.readonly = true' \
	"$W/plain/config.json" > "$W/c" && mv "$W/c" "$W/plain/config.json"
jq --arg r "$W/plain/rootfs" '.root.path = $r |
    .linux.resources.memory = {"limit": 67108864, "swap": 134217728} |
    .linux.resources.cpu = {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"} |
    .linux.resources.pids = {"limit": 100} |
    .linux.resources.devices = [{"allow": false, "access": "rwm"}]' \
	"$W/plain/config.json" > "$W/res/config.json"

add() {	# name bundle command...
	local n=$1 b=$2; shift 2
	local err
	if err=$("$@" run -b "$b" "probe-$n" < /dev/null 2>&1 >/dev/null); then
		names+=("$n"); CMD[$n]="$*"; BUNDLE[$n]=$b
	else
		"$@" delete -f "probe-$n" >/dev/null 2>&1
		echo "# $n left out: $(printf '%s' "$err" | tail -1)"
	fi
}
add cell "$W/plain" "$RT" --root "$S/cell"
add cell+res "$W/res" "$RT" --root "$S/cell"
if command -v runc >/dev/null; then
	add runc "$W/plain" runc --root "$S/runc"
	add runc+res "$W/res" runc --root "$S/runc"
fi
# crun 1.8 rejects ociVersion 1.2.0, and refuses hybrid layouts (it says so)
if command -v crun >/dev/null; then
	for b in plain res; do
		mkdir -p "$W/crun-$b"
		jq --arg r "$W/plain/rootfs" '.ociVersion = "1.0.2" | .root.path = $r' "$W/$b/config.json" > "$W/crun-$b/config.json"
	done
	add crun "$W/crun-plain" crun --root "$S/crun"
	add crun+res "$W/crun-res" crun --root "$S/crun"
fi
[ ${#names[@]} -gt 0 ] || { echo "bench: no runtime can run a container here" >&2; exit 77; }

declare -A T
for ((i = 0; i < N; i++)); do
	for n in "${names[@]}"; do
		t0=$EPOCHREALTIME
		${CMD[$n]} run -b "${BUNDLE[$n]}" "b$i-${n//+/_}" < /dev/null > /dev/null 2>&1 ||
			echo "# $n: run $i failed" >&2
		t1=$EPOCHREALTIME
		T[$n]+="$(( (10#${t1/./} - 10#${t0/./}) )) "
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m/1000}'; }
declare -A M
# (no stat -f: busybox's does not name cgroup2fs)
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then layout=unified
elif [ -d /sys/fs/cgroup/unified ]; then layout=hybrid
else layout=legacy; fi
echo "cgroup setup cost, $N containers per case, layout $layout"
printf '%-10s %10s\n' case "median ms"
for n in "${names[@]}"; do
	M[$n]=$(printf '%s' "${T[$n]}" | median)
	printf '%-10s %10s\n' "$n" "${M[$n]}"
done
if [ -n "${M[cell]:-}" ] && [ -n "${M[cell+res]:-}" ]; then
	printf 'cell: resources add %s ms\n' "$(awk -v a="${M[cell+res]}" -v b="${M[cell]}" 'BEGIN {printf "%.2f", a-b}')"
fi
if [ -n "${M[runc]:-}" ] && [ -n "${M[runc+res]:-}" ]; then
	printf 'runc: resources add %s ms\n' "$(awk -v a="${M[runc+res]}" -v b="${M[runc]}" 'BEGIN {printf "%.2f", a-b}')"
	printf 'ratio cell/runc: %s without resources, %s with\n' \
		"$(awk -v a="${M[cell]:-0}" -v b="${M[runc]}" 'BEGIN {printf "%.2f", a/b}')" \
		"$(awk -v a="${M[cell+res]:-0}" -v b="${M[runc+res]}" 'BEGIN {printf "%.2f", a/b}')"
fi
if [ -n "${M[crun]:-}" ] && [ -n "${M[crun+res]:-}" ]; then
	printf 'ratio cell/crun: %s without resources, %s with\n' \
		"$(awk -v a="${M[cell]:-0}" -v b="${M[crun]}" 'BEGIN {printf "%.2f", a/b}')" \
		"$(awk -v a="${M[cell+res]:-0}" -v b="${M[crun+res]}" 'BEGIN {printf "%.2f", a/b}')"
fi
