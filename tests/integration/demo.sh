#!/bin/bash
# scripts/demo.sh (make demo) with a temporary engine root: it exits 0 in
# under a minute, shows what each step is about, and leaves nothing behind
# (links, netns files, nft rules and table, mounts, cgroups, processes);
# then once more with a step that fails, which must clean up the same way.
. "$(dirname "$0")/../lib/tap.sh"
need_root
"$CELL" network --help 2>/dev/null | grep -q connect || skip_all "no \`cell network connect\` in this build"
[ -e /run/netns/demo-outside ] && skip_all "a demo is running on this host (/run/netns/demo-outside)"
tmpdir
# (the built cell itself: cell-monitor and cell-init are found beside it)
R=$TMPD/root
c() { "$CELL" --root "$R" "$@"; }
engine_cleanup() {	# only if the demo's own cleanup failed
	local i
	for i in $(c ps -aq --no-trunc 2>/dev/null); do c rm -f "$i"; done
	c network rm -f demo0
	ip link del demo-out0
	c netns del demo-outside
	grep -o " $R/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
}
defer engine_cleanup
tar -C "$(test_rootfs)" -cf "$TMPD/rootfs.tar" . || skip_all "cannot build the test rootfs"
c image import "$TMPD/rootfs.tar" busybox:latest >/dev/null 2>&1 || skip_all "\`cell image import\` failed"
had_table=0; nft list table inet cell >/dev/null 2>&1 && had_table=1

# Everything a demo run made is gone: $1 = its output.
nothing_left() {
	local out=$1 what=$2 ids br id n=0
	ids=$(grep -A1 '^\$ cell run -d' <<<"$out" | grep -E '^[0-9a-f]{64}$')
	br=$(grep -oE 'cb-[0-9a-f]{10}' <<<"$out" | head -1)
	ok $([ -n "$ids" ]; echo $?) "$what: the output names the containers it made"
	is "$(ip -o link | grep -cE "demo-out0|${br:-nobridge}:")" 0 "$what: no outside veth, no bridge ($br)"
	for id in $ids; do
		n=$((n + $(ip -o link | grep -c "cell:$id")))
		n=$((n + $(nft list table inet cell 2>/dev/null | grep -c "cell-ctr:$id")))
		n=$((n + $(find /sys/fs/cgroup -maxdepth 6 -type d -name "*$id*" 2>/dev/null | wc -l)))
		n=$((n + $(grep -c "$id" /proc/mounts)))
	done
	is "$n" 0 "$what: no veth, nft rule, cgroup or mount of its containers"
	ok $([ ! -e /run/netns/demo-outside ] && ! grep -q demo-outside /proc/mounts; echo $?) \
		"$what: no /run/netns/demo-outside"
	is "$(nft list table inet cell 2>/dev/null | grep -c 'cell-net:demo0"')" 0 "$what: no nft rule of demo0"
	is "$(ls "$R/networks" 2>/dev/null | grep -c '\.json$')" 0 "$what: no network left in the root"
	is "$(ls "$R/containers" 2>/dev/null | grep -cv '^\.names$')" 0 "$what: no container left in the root"
	is "$(grep -c " $R/" /proc/mounts)" 0 "$what: no mount under the root"
	is "$(pgrep -cf 'nc -ll -p 7777')" 0 "$what: the outside server is gone"
	if [ "$had_table" = 0 ] && ! nft list table inet cell 2>/dev/null | grep -q 'cell-net:'; then
		fails "$what: table inet cell removed with the last network" -- nft list table inet cell
	else
		skip "$what: table inet cell existed before or is used by another root"
	fi
}

start=$(date +%s)
out=$(CELL=$CELL "$CELL_TOP/scripts/demo.sh" --root "$R" 2>&1 </dev/null); rc=$?
secs=$(( $(date +%s) - start ))
is "$rc" 0 "make demo's script exits 0"
[ "$rc" = 0 ] || sed 's/^/# /' <<<"$out"
ok $([ "$secs" -lt 60 ]; echo $?) "it takes under a minute (${secs}s)"
like "$out" 'my pid: 1' "(a) unshare --fork --pid: the command is pid 1"
like "$out" 'without --fork.*' "(a) without --fork: cell's warning"
like "$out" 'child pid: 1' "(a) without --fork: the first child is pid 1"
like "$out" 'network create' "(b) a network is created"
like "$out" '\$ cell network connect demo0 c2' "(c) c2 connected while running"
is "$(grep -c ' 0% packet loss' <<<"$out")" 3 "(c) three pings between c1 and c2 (address, names)"
like "$out" 'PING c2 \(' "(c) c1 resolves c2 by name"
like "$out" 'outside got "hello from c1" from 198\.18\.[0-9]+\.1:' \
	"(d) the outside server sees the host's masqueraded address"
like "$out" '<h1>hello from c3</h1>' "(e) the published port answers on 127.0.0.1"
like "$out" 'flowchart LR' "(f) the diagram"
like "$out" '# ' "each step says what it shows"
nothing_left "$out" "after the demo"

# a step that fails (nft, used only to show the DNAT rule, fails): the
# trap still removes everything
mkdir -p "$TMPD/fakebin"
printf '#!/bin/sh\necho "fake nft: failing on purpose" >&2\nexit 1\n' > "$TMPD/fakebin/nft"
chmod +x "$TMPD/fakebin/nft"
out=$(PATH=$TMPD/fakebin:$PATH CELL=$CELL "$CELL_TOP/scripts/demo.sh" --root "$R" 2>&1 </dev/null); rc=$?
ok $([ "$rc" != 0 ]; echo $?) "a failing step makes the demo fail (status $rc)"
like "$out" 'a step failed' "it says so"
like "$out" 'cleanup' "and cleans up"
nothing_left "$out" "after the failed demo"

out=$(CELL=$CELL "$CELL_TOP/scripts/demo.sh" --root "$R" --bogus 2>&1); rc=$?
is "$rc" 2 "unknown argument: status 2"
