#!/bin/bash
# `cell run --rm busybox true` against cell-runtime alone (same rootfs, a
# bundle made once), `cell exec` against `cell-runtime exec`, and N
# concurrent `run -d` then `rm -f`; podman when installed. Prints medians
# and ratios. Needs root and a built tree (make).
#   bench/engine.sh [ITERATIONS]
set -u
N=${1:-20}
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${CELL_BUILD:-$TOP/build}
CELL=$B/cell RT=$B/cell-runtime
[ "$(id -u)" = 0 ] || { echo "bench/engine.sh: needs root" >&2; exit 1; }
. "$TOP/tests/lib/tap.sh" >/dev/null
trap - EXIT
W=$(mktemp -d /tmp/cell-bench.XXXXXX)
R=$W/root
NET=cbench$$
cleanup() {
	for i in $("$CELL" --root "$R" ps -aq --no-trunc 2>/dev/null); do "$CELL" --root "$R" rm -f "$i" >/dev/null 2>&1; done
	"$RT" --root "$W/rt" delete --force bench-exec >/dev/null 2>&1
	grep -o " $W/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
	"$CELL" --root "$R" network rm -f "$NET" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
rootfs=$(CELL_BUILD=$B test_rootfs)
tar -C "$rootfs" -cf "$W/rootfs.tar" .
"$CELL" --root "$R" image import --change 'CMD ["sh"]' "$W/rootfs.tar" busybox:latest >/dev/null
# a bridge network of our own: cell0 is shared with whatever else runs here
"$CELL" --root "$R" network create --subnet "10.253.$((RANDOM % 256)).0/24" "$NET" >/dev/null
mkdir -p "$W/bundle" && cp -a "$rootfs" "$W/bundle/rootfs"
(cd "$W/bundle" && "$RT" spec && jq '.process.args = ["true"] | .process.terminal = false' config.json > c && mv c config.json)

now() { date +%s%N; }
# median of N runs of a command, in microseconds
median() {
	local i s t=()
	for ((i = 0; i < N; i++)); do
		s=$(now); "$@" >/dev/null 2>&1; t+=($(( ($(now) - s) / 1000 )))
	done
	printf '%s\n' "${t[@]}" | sort -n | sed -n "$(( (N + 1) / 2 ))p"
}
k=0
rt_run() { k=$((k + 1)); "$RT" --root "$W/rt" run --bundle "$W/bundle" "bench-$$-$k"; }

echo "# $N iterations each, medians; load: $(cut -d' ' -f1-3 /proc/loadavg)"
a=$(median rt_run)
b=$(median "$CELL" --root "$R" run --rm --network none busybox true)
n=$(median "$CELL" --root "$R" run --rm --network "$NET" busybox true)
printf '%-40s %8d us\n' "cell-runtime run (true)" "$a" "cell run --rm --network none" "$b" \
	"cell run --rm (bridge network)" "$n"
echo "ratio cell run / cell-runtime run: $(echo "scale=2; $b / $a" | bc) (goal <= 1.5)"
if command -v podman >/dev/null &&
   podman run --rm --network none docker-archive:"$W/rootfs.tar" true >/dev/null 2>&1; then
	p=$(median podman run --rm --network none docker-archive:"$W/rootfs.tar" true)
	printf '%-40s %8d us  (cell is %sx faster)\n' "podman run --rm" "$p" "$(echo "scale=1; $p / $b" | bc)"
else
	echo "podman: not measured (not installed, or it cannot run the test rootfs archive)"
fi
# what every `cell` command pays before main(): its shared libraries
v1=$(median "$CELL" version); v2=$(median "$RT" --version)
printf '%-40s %8d us\n' "cell version (process start)" "$v1" "cell-runtime --version" "$v2"

id=$("$CELL" --root "$R" run -d --network none busybox sleep 1000)
e1=$(median "$CELL" --root "$R" exec "$id" true)
"$RT" --root "$W/rt" run -d --bundle "$W/bundle" bench-exec >/dev/null 2>&1 ||
	{ jq '.process.args = ["sleep", "1000"]' "$W/bundle/config.json" > "$W/c" && mv "$W/c" "$W/bundle/config.json" &&
	  "$RT" --root "$W/rt" run -d --bundle "$W/bundle" bench-exec >/dev/null 2>&1; }
e2=$(median "$RT" --root "$W/rt" exec bench-exec true)
printf '%-40s %8d us\n' "cell exec" "$e1" "cell-runtime exec" "$e2"
rss=$(ps -o rss= -p "$("$CELL" --root "$R" inspect -f '{{.State.MonitorPid}}' "$id")")
echo "monitor RSS: ${rss} KiB (goal < 1024)"
"$CELL" --root "$R" rm -f "$id" >/dev/null

C=${CONCURRENT:-50}
s=$(now)
for ((i = 0; i < C; i++)); do "$CELL" --root "$R" run -d --network "$NET" busybox sleep 1000 >/dev/null & done; wait
m=$(now)
"$CELL" --root "$R" rm -f $("$CELL" --root "$R" ps -aq) >/dev/null
e=$(now)
printf '%d concurrent run -d: %d ms, rm -f of all: %d ms\n' "$C" $(( (m - s) / 1000000 )) $(( (e - m) / 1000000 ))
