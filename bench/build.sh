#!/bin/bash
# cell build against podman build (issue 11), interleaved (cell, podman,
# cell, podman ...) so that the machine's noise hits both alike:
#   - a cold build (--no-cache) of a three-instruction Containerfile on
#     busybox (FROM, RUN, CMD)
#   - the same build fully cached
#   - a five-step Containerfile (FROM, COPY, RUN, ENV, CMD) rebuilt after its
#     copied file changed (COPY and what follows rerun)
#   - context hashing: a cached rebuild of `COPY . /c/` over a context of
#     CTX_MB MiB (default 1024) in 64 files, an eighth of them excluded by
#     .dockerignore, against `sha256sum` of the files the build reads (both
#     from the page cache, interleaved); throughput ratio cell/sha256sum
# podman gets private state under the temp dir (--root, --runroot, --tmpdir,
# cgroupfs, runc) and the same busybox rootfs through `podman import`; both
# use --network none. Everything is removed at the end. Medians in ms and the
# ratios podman/cell.
#   bench/build.sh [ITERATIONS]       (10 by default)
set -u
N=${1:-10}
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${CELL_BUILD:-$TOP/build}
[ "$(id -u)" = 0 ] || { echo "bench/build.sh: needs root" >&2; exit 1; }
. "$TOP/tests/lib/tap.sh" >/dev/null
. "$TOP/tests/engines/lib/engines.sh"
trap - EXIT
W=$(mktemp -d /tmp/cell-bench-build.XXXXXX)
mkdir -p "$W/bin" && cp "$B/cell" "$B/cell-runtime" "$W/bin/" || exit 1
for m in "$B/cell-monitor" "$B/src/monitor/cell-monitor"; do [ -x "$m" ] && cp "$m" "$W/bin/" && break; done
CELL=$W/bin/cell
R=$W/root
PCG=cellbench-podman-$$
LP=$(eng_cgroup_snapshot libpod_parent)
P=(podman --root "$W/podman/storage" --runroot "$W/podman/run" --tmpdir "$W/podman/tmp"
   --cgroup-manager cgroupfs --events-backend file --runtime runc)

cleanup() {
	for i in $("$CELL" --root "$R" ps -aq --no-trunc 2>/dev/null); do "$CELL" --root "$R" rm -f "$i" >/dev/null 2>&1; done
	if [ -d "$W/podman" ]; then
		"${P[@]}" rm -f -a -t 0 >/dev/null 2>&1
		"${P[@]}" system reset -f >/dev/null 2>&1
	fi
	eng_kill_matching "$W/"
	eng_umount_under "$W"
	eng_cgroup_rm "$PCG" ""
	eng_cgroup_rm libpod_parent "$LP"
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rootfs=$(CELL_BUILD=$B test_rootfs)
tar -C "$rootfs" -cf "$W/rootfs.tar" .
"$CELL" --root "$R" image import --change 'CMD ["sh"]' "$W/rootfs.tar" busybox:latest >/dev/null || exit 1

mkdir -p "$W/c3" "$W/c5"
printf 'FROM busybox\nRUN echo hello > /hello\nCMD ["cat", "/hello"]\n' > "$W/c3/Containerfile"
printf 'FROM busybox\nCOPY f.txt /f.txt\nRUN cat /f.txt > /g.txt\nENV A=b\nCMD ["cat", "/g.txt"]\n' > "$W/c5/Containerfile"
echo 0 > "$W/c5/f.txt"

podman_ok=""
if ! command -v podman >/dev/null; then
	podman_why="not installed"
else
	mkdir -p "$W/podman"
	printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n' > "$W/podman/containers.conf"
	export CONTAINERS_CONF=$W/podman/containers.conf
	if "${P[@]}" import --change 'CMD ["sh"]' "$W/rootfs.tar" localhost/busybox:latest >/dev/null 2>"$W/podman.err" &&
	   "${P[@]}" build --network none --cgroup-parent "/$PCG" -t warm "$W/c3" >"$W/podman.err" 2>&1; then
		podman_ok=1
	else
		podman_why="cannot build: $(tail -2 "$W/podman.err" | tr '\n' ' ')"
	fi
fi
"$CELL" --root "$R" build --network none -t warm "$W/c3" >/dev/null || { echo "cell build failed" >&2; exit 1; }

now() { date +%s%N; }
declare -a T
# T[k]: the wall times in us of command k, space-separated
tm() {	# k command...
	local k=$1; shift
	local t0; t0=$(now)
	"$@" >/dev/null 2>&1 || echo "# failed: $*" >&2
	T[k]="${T[k]:-} $((($(now) - t0) / 1000))"
}
cb() { "$CELL" --root "$R" build --network none "$@"; }
pb() { "${P[@]}" build --network none --cgroup-parent "/$PCG" "$@"; }
for i in $(seq "$N"); do
	tm 0 cb --no-cache -t c3 "$W/c3"
	[ -n "$podman_ok" ] && tm 1 pb --no-cache -t c3 "$W/c3"
	tm 2 cb -t c3 "$W/c3"
	[ -n "$podman_ok" ] && tm 3 pb -t c3 "$W/c3"
	echo "$i" > "$W/c5/f.txt"
	tm 4 cb -t c5 "$W/c5"
	[ -n "$podman_ok" ] && tm 5 pb -t c5 "$W/c5"
done

# context hashing
CTX_MB=${CTX_MB:-1024}
mkdir -p "$W/big/data"
for f in $(seq 64); do head -c $((CTX_MB * 1024 * 1024 / 64)) /dev/urandom > "$W/big/data/f$f"; done
printf 'data/f*0\n' > "$W/big/.dockerignore"	# f10 f20 ... f60: 6 of 64 files
printf 'FROM busybox\nCOPY . /c/\n' > "$W/big/Containerfile"
cb -t big "$W/big" >/dev/null 2>&1 || echo "# cell build of the big context failed" >&2
kept=$(ls "$W/big/data" | grep -v '0$' | sed "s|^|$W/big/data/|")
bytes=$(cat $kept | wc -c)
sha() { sha256sum $kept; }
for i in $(seq 3); do
	tm 6 cb -t big "$W/big"
	tm 7 sha
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }
ms() { awk -v u="$1" 'BEGIN {printf "%.1f ms", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1fx", a / b}'; }
echo "cell build against podman build ($N rounds, interleaved, medians):"
names=("cold build, 3 instructions" "cached rebuild, 3 instructions" "rebuild after a copied file changed, 5 steps")
for j in 0 1 2; do
	c=$(median "${T[$((2 * j))]}")
	if [ -n "$podman_ok" ]; then
		p=$(median "${T[$((2 * j + 1))]}")
		echo "  ${names[j]}: cell $(ms "$c"), podman $(ms "$p"), podman/cell $(ratio "$p" "$c")"
	else
		echo "  ${names[j]}: cell $(ms "$c")"
	fi
done
[ -n "$podman_ok" ] || echo "podman: not measured ($podman_why)"
h=$(median "${T[6]}") s=$(median "${T[7]}")
echo "context hashing, $((bytes / 1048576)) MiB read of $CTX_MB MiB (cached rebuild of COPY . /c/): cell $(ms "$h"), sha256sum $(ms "$s"), cell throughput $(ratio "$s" "$h") of sha256sum's"
