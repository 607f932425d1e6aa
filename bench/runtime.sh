#!/bin/bash
# cell-runtime against runc, crun and the `unshare` floor (issue 2):
#  - N containers of /bin/true (busybox) run one after another, the runtimes
#    interleaved (A B C D A B C D ...) so that drift hits all alike: mean and
#    median ms per container, and ratios to runc and to the floor
#    (`unshare --fork --pid --mount --uts --ipc --net --root ROOTFS true`);
#  - create + start + delete -f, as youki's README measures it;
#  - peak RSS (wait4's ru_maxrss through /usr/bin/time) of run, create,
#    start and delete;
#  - binary size, and the size of the shared libraries it links;
#  - the smallest linux.resources.memory.limit a container still starts
#    under (bisected from 64 MiB down, 64 KiB steps; a limit counts when
#    three starts in a row pass).
# Every runtime gets the same bundle (config.json from `cell-runtime spec`,
# read-only busybox root, no terminal) and its own --root on tmpfs (/run).
#   bench/runtime.sh [N]      N containers per runtime, default 100
# Runs as root; removes its containers, cgroups and temp dir.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
RT=${CELL_RUNTIME:-$top/build/cell-runtime}
N=${1:-100}
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 77; }
[ -x "$RT" ] || { echo "bench: $RT not built (run make)" >&2; exit 1; }
W=$(mktemp -d /tmp/cell-bench-rt.XXXXXX)
# state dirs on tmpfs, as every runtime's default (/run/<runtime>)
S=$(mktemp -d /run/cell-bench-rt.XXXXXX)

declare -A CMD	# name -> runtime command (with its --root), "" for the floor
names=()
cleanup() {
	local n id
	for n in "${names[@]}"; do
		[ -n "${CMD[$n]}" ] || continue
		for id in $(${CMD[$n]} list -q 2>/dev/null); do ${CMD[$n]} delete -f "$id" >/dev/null 2>&1; done
	done
	rm -rf "$W" "$S"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the bundle: the test rootfs (busybox-static + payload), read-only
rootfs=$(CELL_TOP=$top bash -c '. "$CELL_TOP/tests/lib/tap.sh" >/dev/null; trap - EXIT; test_rootfs') || exit 1
B=$W/bundle
mkdir -p "$B"
cp -a "$rootfs" "$B/rootfs"
(cd "$B" && "$RT" spec) || exit 1
jq '.process.args = ["/bin/true"] | .process.terminal = false | .root.readonly = true' \
	"$B/config.json" > "$W/c" && mv "$W/c" "$B/config.json"
# crun 1.8 knows OCI versions up to 1.1
mkdir -p "$W/bundle-crun"
ln -s "$B/rootfs" "$W/bundle-crun/rootfs"
jq '.ociVersion = "1.0.2"' "$B/config.json" > "$W/bundle-crun/config.json"

add() {	# name bundle command...: added when one container runs
	local n=$1 b=$2; shift 2
	local err
	if err=$("$@" run -b "$b" "probe-$n" < /dev/null 2>&1 >/dev/null); then
		names+=("$n"); CMD[$n]="$*"; BUNDLE[$n]=$b
	else
		"$@" delete -f "probe-$n" >/dev/null 2>&1
		echo "# $n left out: it cannot run a container here: $(printf '%s' "$err" | tail -1)"
	fi
}
declare -A BUNDLE
add cell "$B" "$RT" --root "$S/cell"
command -v runc >/dev/null && add runc "$B" runc --root "$S/runc"
command -v crun >/dev/null && add crun "$W/bundle-crun" crun --root "$S/crun"
FLOOR=(unshare --fork --pid --mount --uts --ipc --net --root "$B/rootfs" /bin/true)
if "${FLOOR[@]}"; then names+=(unshare); CMD[unshare]=""; else echo "# the unshare floor does not run here"; fi

now_us() { local t=$EPOCHREALTIME; echo $(( 10#${t/./} )); }

# one measurement: name kind id -> microseconds on stdout, status
one() {
	local n=$1 kind=$2 id=$3 t0 t1 rc
	local c=${CMD[$n]} b=${BUNDLE[$n]:-}
	t0=$EPOCHREALTIME
	if [ "$n" = unshare ]; then
		"${FLOOR[@]}"
	elif [ "$kind" = run ]; then
		$c run -b "$b" "$id"
	else
		$c create -b "$b" "$id" && $c start "$id" && $c delete -f "$id"
	fi < /dev/null > /dev/null 2>> "$W/err.$n"
	rc=$?
	t1=$EPOCHREALTIME
	echo $(( 10#${t1/./} - 10#${t0/./} )) >> "$W/t.$kind.$n"
	[ $rc = 0 ] || echo x >> "$W/fail.$kind.$n"
}

stats() {	# file -> "mean median" in ms
	sort -n "$1" | awk '{ a[NR] = $1; s += $1 } END {
		m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "%.2f %.2f", s / NR / 1000, m / 1000 }'
}

series() {	# kind
	local kind=$1 i n
	for ((i = 0; i < N; i++)); do
		for n in "${names[@]}"; do
			[ "$kind" = cycle ] && [ "$n" = unshare ] && continue
			one "$n" "$kind" "$kind-$i"
		done
	done
}

report() {	# kind title
	local kind=$1 n mean med f base_runc base_floor
	echo
	echo "## $2 ($N each, interleaved; ms per container)"
	printf '%-10s %9s %9s %9s %11s %8s\n' runtime mean median "/runc" "/unshare" failures
	read -r base_runc _ < <(stats "$W/t.$kind.runc" 2>/dev/null || echo 0)
	read -r base_floor _ < <(stats "$W/t.run.unshare" 2>/dev/null || echo 0)
	for n in "${names[@]}"; do
		[ -f "$W/t.$kind.$n" ] || continue
		read -r mean med < <(stats "$W/t.$kind.$n")
		f=$(cat "$W/fail.$kind.$n" 2>/dev/null | wc -l)
		printf '%-10s %9s %9s %9s %11s %8s\n' "$n" "$mean" "$med" \
			"$(awk -v a="$mean" -v b="$base_runc" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" \
			"$(awk -v a="$mean" -v b="$base_floor" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" "$f"
	done
	if [ "$kind" = run ] && [ -f "$W/t.run.runc" ] && [ -f "$W/t.run.unshare" ]; then
		read -r mean _ < <(stats "$W/t.run.cell")
		read -r base_floor _ < <(stats "$W/t.run.unshare")
		echo "goals: cell <= runc/4: $(awk -v a="$mean" -v b="$base_runc" 'BEGIN { print (a <= b / 4) ? "met" : "NOT met" }');" \
			"cell <= 1.5 x unshare: $(awk -v a="$mean" -v b="$base_floor" 'BEGIN { print (a <= 1.5 * b) ? "met" : "NOT met" }')"
	fi
	for n in "${names[@]}"; do
		[ -s "$W/err.$n" ] && echo "# $n stderr (last line): $(tail -1 "$W/err.$n")"
	done
	rm -f "$W"/err.*
}

echo "# $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); cell-runtime $("$RT" --version | head -1 | awk '{print $NF}')," \
	"$(runc --version 2>/dev/null | head -1)"
series run
report run "run /bin/true"
series cycle
report cycle "create + start + delete -f"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# peak RSS: the largest ru_maxrss of 5 runs of each command, KiB
echo
echo "## peak RSS (KiB, max of 5; for run it includes the container's /bin/true)"
printf '%-10s %8s %8s %8s %8s\n' runtime run create start delete
rss() {	# out-var command...
	local m=0 v i f=$W/rss
	for i in 1 2 3 4 5; do
		/usr/bin/time -o "$f" -f %M "$@" < /dev/null > /dev/null 2>&1
		v=$(tail -1 "$f"); [ "$v" -gt "$m" ] && m=$v
	done
	echo "$m"
}
for n in "${names[@]}"; do
	[ "$n" = unshare ] && continue
	c=${CMD[$n]} b=${BUNDLE[$n]}
	r=$(rss $c run -b "$b" rss-run)
	mc=0 ms=0 md=0
	for i in 1 2 3 4 5; do
		/usr/bin/time -o "$W/rss" -f %M $c create -b "$b" rss-c < /dev/null > /dev/null 2>&1
		v=$(tail -1 "$W/rss"); [ "$v" -gt "$mc" ] && mc=$v
		/usr/bin/time -o "$W/rss" -f %M $c start rss-c < /dev/null > /dev/null 2>&1
		v=$(tail -1 "$W/rss"); [ "$v" -gt "$ms" ] && ms=$v
		sleep 0.05
		/usr/bin/time -o "$W/rss" -f %M $c delete -f rss-c < /dev/null > /dev/null 2>&1
		v=$(tail -1 "$W/rss"); [ "$v" -gt "$md" ] && md=$v
	done
	printf '%-10s %8s %8s %8s %8s\n' "$n" "$r" "$mc" "$ms" "$md"
done
[ " ${names[*]} " = *" unshare "* ] && printf '%-10s %8s\n' unshare "$(rss "${FLOOR[@]}")"

echo
echo "## size (bytes)"
printf '%-10s %10s %12s  %s\n' runtime binary "shared libs" libs
for n in cell runc crun; do
	case $n in cell) p=$RT ;; *) p=$(command -v $n) || continue ;; esac
	libs=$(ldd "$p" 2>/dev/null | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
	ls=0 names_l=""
	for l in $libs; do ls=$((ls + $(stat -L -c %s "$l"))); names_l="$names_l ${l##*/}"; done
	printf '%-10s %10s %12s %s\n' "$n" "$(stat -L -c %s "$p")" "$ls" "$names_l"
done

echo
echo "## smallest memory limit a container still starts under (linux.resources.memory.limit)"
starts_under() {	# name limit-bytes
	local n=$1 lim=$2 d=$W/mem-$1
	mkdir -p "$d"
	jq --argjson l "$lim" --arg r "$B/rootfs" '.linux.resources.memory = {limit: $l} | .root.path = $r' \
		"${BUNDLE[$n]}/config.json" > "$d/config.json"
	timeout 20 ${CMD[$n]} run -b "$d" "mem-$lim" < /dev/null > /dev/null 2> "$W/memerr.$n"
	local rc=$?
	echo "exit status $rc" >> "$W/memerr.$n"
	${CMD[$n]} delete -f "mem-$lim" > /dev/null 2>&1
	return $rc
}
for n in "${names[@]}"; do
	[ "$n" = unshare ] && continue
	hi=$((64 << 20)) lo=0 step=$((64 << 10))
	if ! starts_under "$n" $hi; then
		printf '%-10s does not start under 64 MiB: %s\n' "$n" "$(tail -1 "$W/memerr.$n")"
		continue
	fi
	while [ $((hi - lo)) -gt $step ]; do
		mid=$(( (lo + hi) / 2 / step * step ))
		[ "$mid" -le "$lo" ] && mid=$((lo + step))
		# near the edge a start may pass once by luck: three in a row count
		if starts_under "$n" $mid && starts_under "$n" $mid && starts_under "$n" $mid; then
			hi=$mid
		else
			lo=$mid
		fi
	done
	for i in 1 2 3; do starts_under "$n" $lo || break; done
	printf '%-10s starts under %6d KiB, not always under %6d KiB (%s)\n' "$n" $((hi >> 10)) $((lo >> 10)) \
		"$(grep -v '^$' "$W/memerr.$n" | tail -2 | cut -c1-120 | paste -sd ';')"
done
