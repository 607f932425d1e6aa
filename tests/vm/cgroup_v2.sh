#!/bin/bash
# The cgroup tests on pure cgroup v2: boots Debian's cloud kernel in qemu
# (software emulation: nested KVM hangs on these machines) with
# cgroup_no_v1=all and an initramfs made here from busybox-static, the
# kernel's modules for overlay/veth/bridge/nf_tables (insmod, deps first),
# cell's binaries and the libraries ldd lists for them. Inside, /init runs
# the cgroup unit test (which includes the live tests as root) and prints its
# TAP on the serial console between markers; here each of its lines becomes
# one of ours. A VM that does not boot is a failure with the reason, never a
# skip: a skipped v2 run is not a passed one.
. "$(dirname "$0")/../lib/tap.sh"
need_root

# CELL_VM_LAYOUT=legacy (tests/vm/cgroup_v1.sh): the same VM with only v1
# hierarchies mounted, co-mounted as distributions do (cpu,cpuacct and
# net_cls,net_prio), so that the three layouts are all tested.
LAYOUT=${CELL_VM_LAYOUT:-unified}
TEST_BIN=$CELL_BUILD/tests/unit/test-cgroup
BOOT_TIMEOUT=${CELL_VM_TIMEOUT:-420}

fail_all() { ok 1 "cgroup $LAYOUT VM: $*"; exit 1; }

[ -x "$TEST_BIN" ] || fail_all "$TEST_BIN is not built (run make)"
command -v qemu-system-x86_64 >/dev/null || fail_all "qemu-system-x86_64 missing (scripts/deps.sh test installs qemu-system-x86)"
command -v cpio >/dev/null || fail_all "cpio missing (scripts/deps.sh test installs it)"
[ -x /bin/busybox ] || fail_all "/bin/busybox missing (busybox-static)"
# the newest installed cloud kernel; linux-image-cloud-amd64 puts it in /boot
# without a boot loader
KVER=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -1)
[ -n "$KVER" ] || fail_all "no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)"
KERNEL=/boot/vmlinuz-$KVER
MODDIR=/lib/modules/$KVER
[ -r "$KERNEL" ] || fail_all "$KERNEL not readable"
echo "# kernel $KVER"

tmpdir
ROOT=$TMPD/root
mkdir -p "$ROOT"/{bin,sbin,proc,sys,dev,tmp,run,etc,modules}
cp /bin/busybox "$ROOT/bin/busybox"

# binaries at the same paths as here, with their libraries
copy_with_libs() {
	local f=$1 lib
	mkdir -p "$ROOT$(dirname "$f")"
	cp "$f" "$ROOT$f"
	for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$ROOT$lib" ] && continue
		mkdir -p "$ROOT$(dirname "$lib")"
		cp -L "$lib" "$ROOT$lib"
	done
}
for f in "$CELL_BUILD"/cell "$CELL_BUILD"/cell-runtime "$CELL_BUILD"/tests/unit/test-* "$CELL_BUILD"/tests/payload; do
	[ -f "$f" ] && [ -x "$f" ] && copy_with_libs "$f"
done

# modules the container tests need, dependencies first, from modules.dep
mods=()
add_mod() {	# path relative to $MODDIR
	local m=$1 d
	for d in $(grep "^$m:" "$MODDIR/modules.dep" | cut -d: -f2); do
		add_mod "$d"
	done
	case " ${mods[*]} " in *" $m "*) ;; *) mods+=("$m") ;; esac
}
# virtio_pci + virtio_blk: a small disk for the blockIO throttle tests; bfq
# for blkio.bfq.weight / io.bfq.weight
for name in overlay veth bridge nf_tables virtio_pci virtio_blk bfq; do
	p=$(grep -E "/$name\.ko(\.xz|\.zst)?:" "$MODDIR/modules.dep" | head -1 | cut -d: -f1)
	[ -n "$p" ] && add_mod "$p"
done
: > "$ROOT/modules/order"
for m in "${mods[@]}"; do
	b=$(basename "$m")
	case $b in
	*.xz) xz -dc "$MODDIR/$m" > "$ROOT/modules/${b%.xz}"; b=${b%.xz} ;;
	*.zst) zstd -qdc "$MODDIR/$m" > "$ROOT/modules/${b%.zst}"; b=${b%.zst} ;;
	*) cp "$MODDIR/$m" "$ROOT/modules/$b" ;;
	esac
	echo "$b" >> "$ROOT/modules/order"
done

# the integration test: bash, jq and the test tree at the same paths
for f in /bin/bash "$(command -v jq)"; do
	[ -n "$f" ] && [ -x "$f" ] && copy_with_libs "$f"
done
mkdir -p "$ROOT$CELL_TOP/tests/integration"
cp -r "$CELL_TOP/tests/lib" "$ROOT$CELL_TOP/tests/"
cp "$CELL_TOP"/tests/integration/cgroup_*.sh "$ROOT$CELL_TOP/tests/integration/" 2>/dev/null
INTEG=$(cd "$CELL_TOP" && ls tests/integration/cgroup_*.sh 2>/dev/null | tr '\n' ' ')

# Stage 1 copies the initramfs into a tmpfs and switch_roots there: the
# runtime's pivot_root cannot leave the initramfs (rootfs) behind.
cat > "$ROOT/init" <<EOF
#!/bin/busybox sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
if [ ! -e /.stage2 ]; then
	/bin/busybox mkdir -p /newroot /proc
	/bin/busybox mount -t tmpfs -o mode=755 root /newroot
	for d in /*; do
		case \$d in /newroot|/proc|/sys|/dev) ;; *) /bin/busybox cp -a \$d /newroot/ ;; esac
	done
	/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev
	/bin/busybox touch /newroot/.stage2
	exec /bin/busybox switch_root /newroot /init
fi
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
# /tmp stays on the (tmpfs) root: the tree under test may live in /tmp, as
# a CI clone does, and a tmpfs mounted there would hide it
mkdir -p /tmp && chmod 1777 /tmp
mount -t tmpfs tmpfs /run
if [ $LAYOUT = unified ]; then
	mount -t cgroup2 cgroup2 /sys/fs/cgroup
else
	mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
	for c in cpuset cpu,cpuacct memory devices freezer blkio pids net_cls,net_prio hugetlb perf_event; do
		mkdir /sys/fs/cgroup/\$c
		mount -t cgroup -o \$c cgroup /sys/fs/cgroup/\$c || echo "# mount \$c failed"
	done
	mkdir /sys/fs/cgroup/systemd
	mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
fi
for m in \$(cat /modules/order); do
	insmod /modules/\$m 2>/dev/null || echo "# insmod \$m failed"
done
ip link set lo up 2>/dev/null
echo
echo "# controllers: \$(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null || ls /sys/fs/cgroup | tr '\n' ' ')"
echo "# mounts: \$(grep cgroup /proc/mounts | tr '\n' ';')"
echo "=== CELL TAP BEGIN unit"
$TEST_BIN
echo "=== CELL TAP END unit rc=\$?"
cd $CELL_TOP
for t in $INTEG; do
	echo "=== CELL TAP BEGIN \$t"
	CELL_TOP=$CELL_TOP CELL_BUILD=$CELL_BUILD timeout 300 /bin/bash \$t 2>&1
	echo "=== CELL TAP END \$t rc=\$?"
done
poweroff -f
EOF
chmod 755 "$ROOT/init"
(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1) > "$TMPD/initrd.gz" ||
	fail_all "building the initramfs failed"
echo "# initramfs $(du -h "$TMPD/initrd.gz" | cut -f1), modules: $(tr '\n' ' ' < "$ROOT/modules/order")"

LOG=$TMPD/console.log
CMDLINE="cgroup_no_v1=all"
[ $LAYOUT = unified ] || CMDLINE=""
[ -n "${CELL_VM_KEEP_LOG:-}" ] && defer "cp $TMPD/console.log.txt $CELL_VM_KEEP_LOG"
truncate -s 8M "$TMPD/disk.img"
start=$(date +%s)
timeout --kill-after=10 "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg -m 768 -smp 2 \
	-nographic -monitor none -serial stdio -no-reboot \
	-kernel "$KERNEL" -initrd "$TMPD/initrd.gz" \
	-drive "file=$TMPD/disk.img,format=raw,if=virtio" \
	-append "console=ttyS0 $CMDLINE panic=-1 quiet loglevel=3" \
	< /dev/null > "$LOG" 2>&1
qrc=$?
tr -d '\r' < "$LOG" > "$LOG.txt"
echo "# qemu exited with status $qrc after $(( $(date +%s) - start ))s"

if ! grep -q '^=== CELL TAP BEGIN' "$LOG.txt"; then
	why="the VM did not reach /init"
	[ $qrc = 124 ] && why="$why within ${BOOT_TIMEOUT}s (timeout)"
	ok 1 "cgroup $LAYOUT VM boots to /init: $why"
	echo "# last console lines:"
	tail -25 "$LOG.txt" | sed 's/^/#   /'
	exit 1
fi
ok 0 "cgroup $LAYOUT VM boots to /init (kernel $KVER, ${CMDLINE:-v1 hierarchies mounted by /init})"
# (the console's escape sequences may precede the first line)
grep -o '# controllers:.*\|^# insmod.*' "$LOG.txt"
like "$(grep -o '# controllers:.*' "$LOG.txt")" "memory" "the memory controller is there"
like "$(grep '^# layout:' "$LOG.txt" | head -1)" "$LAYOUT" "the library detects the $LAYOUT layout"

# each section's TAP, renumbered as ours
sed -n '/^=== CELL TAP BEGIN/,/^=== CELL TAP END/p' "$LOG.txt" > "$TMPD/tap"
n=0 sect=""
while IFS= read -r line; do
	case $line in
	"=== CELL TAP BEGIN "*) sect=${line#=== CELL TAP BEGIN }; sect=${sect##*/}; sect=${sect%.sh} ;;
	"=== CELL TAP END "*)
		like "$line" "rc=(0|77)\$" "$LAYOUT: $sect exited 0 (or skipped) inside the VM" ;;
	"ok "*"# SKIP"*|"ok "*"# skip"*) skip "$LAYOUT $sect: ${line#*# SKIP }" ;;
	"ok "*) ok 0 "$LAYOUT $sect: $(printf '%s' "$line" | sed -E 's/^ok [0-9]+ - //')"; n=$((n + 1)) ;;
	"not ok "*) ok 1 "$LAYOUT $sect: $(printf '%s' "$line" | sed -E 's/^not ok [0-9]+ - //')"; n=$((n + 1)) ;;
	"#"*) echo "$line" ;;
	esac
done < "$TMPD/tap"
[ $n -gt 0 ]; ok $? "the VM ran the cgroup tests ($n results)"
grep -q "^=== CELL TAP END unit" "$TMPD/tap"; ok $? "the unit test finished inside the VM"
