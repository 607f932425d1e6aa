#!/bin/bash
# containerd driving build/cell-runtime through its runc shim
# (io.containerd.runc.v2 with --runc-binary): ctr run --rm, a detached task
# with ctr task exec / ps / pause / resume / kill, and errors coming back.
# containerd runs with its own root, state and socket under the test's temp
# dir (CRI disabled, no CNI), is killed by PID at the end, and its shims,
# mounts and cgroups (/sys/fs/cgroup/*/<namespace>) are removed.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/engines.sh"
need_root
command -v containerd >/dev/null && command -v ctr >/dev/null ||
	skip_all "containerd not installed (scripts/deps.sh test installs it)"
command -v containerd-shim-runc-v2 >/dev/null || skip_all "containerd-shim-runc-v2 not installed"
command -v umoci >/dev/null && command -v skopeo >/dev/null || skip_all "umoci and skopeo are needed to make the image"
[ -x "$RT" ] || skip_all "$RT not built (run make)"
tmpdir
T=$TMPD
eng_private_runtime "$T" || exit 1
ns=celltest-$$
C=$T/containerd
mkdir -p "$C"
cat > "$C/config.toml" <<EOF
version = 2
root = "$C/root"
state = "$C/state"
[grpc]
  address = "$C/c.sock"
[ttrpc]
  address = "$C/c.sock.ttrpc"
[debug]
  address = "$C/debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable = true
[plugins."io.containerd.internal.v1.opt"]
  path = "$C/opt"
EOF

# cleanup, run in reverse: cgroups, mounts, shims, containerd, and the
# shims' socket dir (fixed: /run/containerd/s) if this test made it
[ -e /run/containerd ] || defer "rmdir /run/containerd/s /run/containerd/fifo /run/containerd"
defer "eng_cgroup_rm '$ns' ''"
defer "eng_umount_under '$T'"
defer "eng_kill_matching '$C/'"
containerd --config "$C/config.toml" > "$T/containerd.log" 2>&1 &
cpid=$!
defer "eng_kill_pid $cpid"
A=(ctr -a "$C/c.sock" -n "$ns")
if ! eng_wait 20 "${A[@]}" version; then
	kill -0 $cpid 2>/dev/null || skip_all "containerd does not start here: $(tail -3 "$T/containerd.log")"
	skip_all "containerd did not answer on $C/c.sock in 20 s: $(tail -3 "$T/containerd.log")"
fi
K=(--runc-binary "$RT" --runc-root "$T/rt" --fifo-dir "$T/fifo")

eng_docker_archive "$T/img.tar" celltest/busybox:1 || { ok 1 "make the image"; exit 1; }
check "ctr images import" -- "${A[@]}" images import "$T/img.tar"
I=docker.io/celltest/busybox:1
is "$("${A[@]}" images ls -q)" "$I" "the image is there"

# 1. run --rm: stdout back through the shim, exit code passed on
_capture timeout 60 "${A[@]}" run --rm "${K[@]}" "$I" "r1-$$" /bin/payload echo hello from cell
is "$out" "hello from cell" "ctr run --rm"
_capture timeout 60 "${A[@]}" run --rm "${K[@]}" "$I" "r2-$$" /bin/sh -c 'exit 9'
is "$?" 9 "ctr run --rm passes the exit code on"
_capture timeout 60 "${A[@]}" run --rm "${K[@]}" "$I" "r3-$$" /bin/payload ns uts
like "$out" '^uts:' "payload answers from the uts namespace"
[ "$out" != "$(readlink /proc/self/ns/uts)" ]
ok $? "in its own uts namespace"
is "$(ls "$T/rt/$ns" 2>/dev/null | wc -l)" 0 "no runtime state left in --runc-root"

# 2. a detached task
c=d-$$
check "ctr run -d" -- timeout 60 "${A[@]}" run -d "${K[@]}" "$I" "$c" \
	/bin/sh -c 'trap "exit 4" TERM; while :; do sleep 0.1; done'
_capture "${A[@]}" task ls
like "$out" "^$c +[0-9]+ +RUNNING" "ctr task ls: RUNNING"
pid=$(awk -v c="$c" '$1 == c {print $2}' <<< "$out")
is "$("$RT" --root "$T/rt/$ns" state "$c" | jq -r .status)" running "cell-runtime state under --runc-root says running"
_capture timeout 30 "${A[@]}" task exec --fifo-dir "$T/fifo" --exec-id e1 "$c" /bin/payload echo from exec
is "$out" "from exec" "ctr task exec"
_capture timeout 30 "${A[@]}" task exec --fifo-dir "$T/fifo" --exec-id e2 "$c" /bin/sh -c 'exit 6'
is "$?" 6 "ctr task exec passes the exit code on"
_capture timeout 30 "${A[@]}" task exec --fifo-dir "$T/fifo" --exec-id e3 "$c" /bin/payload ns pid
is "$out" "$(readlink "/proc/$pid/ns/pid")" "the exec joins the task's pid namespace"
_capture timeout 30 "${A[@]}" task exec --fifo-dir "$T/fifo" --exec-id e4 --user 1000 "$c" /bin/payload id
like "$out" '^1000 ' "ctr task exec --user"
"${A[@]}" task exec --fifo-dir "$T/fifo" --exec-id e5 "$c" /bin/sleep 30 > /dev/null 2>&1 &
epid=$!
defer "kill $epid"
sleep 0.5
_capture timeout 30 "${A[@]}" task ps "$c"
like "$out" "^$pid " "ctr task ps has the init's pid"
found=1
for p in $(awk '/^[0-9]+ / {print $1}' <<< "$out"); do
	[ "$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)" = "/bin/sleep 30 " ] && found=0
done
ok $found "ctr task ps has the exec'd process"
_capture timeout 30 script -qec "${A[*]} task exec -t --fifo-dir $T/fifo --exec-id t1 $c /bin/payload isatty 1" /dev/null
# (script turns its empty stdin into a NUL, echoed as ^@)
like "$out" '(^|@)yes' "ctr task exec -t: a terminal through the console socket"
check "ctr task pause" -- timeout 30 "${A[@]}" task pause "$c"
like "$("${A[@]}" task ls)" "^$c +[0-9]+ +PAUSED" "ctr task ls: PAUSED"
check "ctr task resume" -- timeout 30 "${A[@]}" task resume "$c"
like "$("${A[@]}" task ls)" "^$c +[0-9]+ +RUNNING" "RUNNING again"
check "ctr task kill (SIGTERM)" -- timeout 30 "${A[@]}" task kill "$c"
eng_wait 10 bash -c "! kill -0 $pid 2>/dev/null"
ok $? "the init exits on SIGTERM"
like "$("${A[@]}" task ls)" "^$c +[0-9]+ +STOPPED" "ctr task ls: STOPPED"
wait $epid 2>/dev/null
check "ctr task rm" -- timeout 30 "${A[@]}" task rm "$c"
check "ctr container rm" -- timeout 30 "${A[@]}" container rm "$c"
is "$(ls "$T/rt/$ns" 2>/dev/null | wc -l)" 0 "cell-runtime deleted its state"

# 3. an error from the runtime reaches ctr's user
_capture timeout 60 "${A[@]}" run --rm "${K[@]}" "$I" "e-$$" /no/such/binary
like "$out" 'no/such/binary' "a missing executable is reported with its name"
"${A[@]}" container rm "e-$$" > /dev/null 2>&1
is "$("${A[@]}" task ls -q | wc -l)" 0 "no task left"
