#!/bin/bash
# cgroup setup cost per container on all three layouts (issue 3): runs
# bench/cgroup.sh (cell-runtime against runc, `run` of /bin/true with and
# without resources) on this host (hybrid on the development machines), then
# inside two qemu VMs booted from Debian's cloud kernel with an initramfs
# made here: pure cgroup v2 (cgroup_no_v1=all) and legacy v1 (only v1
# hierarchies mounted, co-mounted as distributions do) — the VMs of
# tests/vm/cgroup_v2.sh, rebuilt here with runc and the bench inside.
# The VMs run under TCG software emulation (nested KVM hangs here): their
# absolute figures are many times the host's; read only the ratios.
#   bench/cgroup-vm.sh [N]      N containers per case, default 20
#   CELL_VM_TIMEOUT=secs        per VM, default 420
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${CELL_BUILD:-$top/build}
N=${1:-20}
BOOT_TIMEOUT=${CELL_VM_TIMEOUT:-420}
die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 77; }
[ -x "$build/cell-runtime" ] || die "$build/cell-runtime not built (run make)"
[ -x "$build/tests/payload" ] || die "$build/tests/payload not built (run make)"
for t in qemu-system-x86_64 cpio jq; do
	command -v $t >/dev/null || die "$t missing (scripts/deps.sh test installs it)"
done
[ -x /bin/busybox ] || die "/bin/busybox missing (busybox-static)"
RUNC=$(command -v runc || echo /usr/sbin/runc)
[ -x "$RUNC" ] || echo "# runc missing: cell alone will be measured"
KVER=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -1)
[ -n "$KVER" ] || die "no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)"
KERNEL=/boot/vmlinuz-$KVER
MODDIR=/lib/modules/$KVER

W=$(mktemp -d /tmp/cell-bench-cgvm.XXXXXX)
QPID=""
cleanup() {
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "=== host (figures on real hardware)"
"$top/bench/cgroup.sh" "$N" | tee "$W/host.out"

# the initramfs tree, shared by both layouts except /init
ROOT=$W/root
mkdir -p "$ROOT"/{bin,sbin,proc,sys,dev,tmp,run,etc}
cp /bin/busybox "$ROOT/bin/busybox"
copy_with_libs() {
	local f=$1 lib
	mkdir -p "$ROOT$(dirname "$f")"
	cp -p "$f" "$ROOT$f"
	for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$ROOT$lib" ] && continue
		mkdir -p "$ROOT$(dirname "$lib")"
		cp -L "$lib" "$ROOT$lib"
	done
}
for f in "$build/cell-runtime" "$build/tests/payload" /bin/bash "$(command -v jq)"; do
	copy_with_libs "$f"
done
[ -x "$RUNC" ] && copy_with_libs "$RUNC"
# crun: the fastest peer; it cannot run on hybrid layouts, so the VMs are
# where it is compared (a refusal is printed, not hidden)
CRUN=$(command -v crun || true)
[ -n "$CRUN" ] && copy_with_libs "$CRUN"
# the bench, the tap library it borrows test_rootfs from, and the rootfs
# (made here first, so that the VM finds it fresh)
CELL_TOP=$top bash -c '. "$CELL_TOP/tests/lib/tap.sh" >/dev/null; trap - EXIT; test_rootfs' >/dev/null ||
	die "making the test rootfs failed"
mkdir -p "$ROOT$top/bench" "$ROOT$top/tests"
cp "$top/bench/cgroup.sh" "$ROOT$top/bench/"
cp -r "$top/tests/lib" "$ROOT$top/tests/"
cp -a "$build/test-rootfs" "$ROOT$build/"
# no kernel modules: the default spec's run needs no overlay, veth or bridge

mkinit() {	# layout
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
mkdir -p /tmp && chmod 1777 /tmp
mount -t tmpfs tmpfs /run
if [ $1 = unified ]; then
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
ip link set lo up 2>/dev/null
echo
echo "=== CELL BENCH BEGIN"
CELL_BUILD=$build PATH=/bin:/sbin:/usr/bin:/usr/sbin /bin/bash $top/bench/cgroup.sh $N 2>&1
echo "=== CELL BENCH END rc=\$?"
poweroff -f
EOF
	chmod 755 "$ROOT/init"
}

vm() {	# layout cmdline
	local layout=$1 cmdline=$2 log=$W/$1.log start rc
	mkinit "$layout"
	(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1) > "$W/initrd.gz" ||
		die "building the initramfs failed"
	echo "=== VM $layout (kernel $KVER under TCG emulation: ratios only)"
	start=$(date +%s)
	qemu-system-x86_64 -accel tcg -m 768 -smp 2 \
		-nographic -monitor none -serial stdio -no-reboot \
		-kernel "$KERNEL" -initrd "$W/initrd.gz" \
		-append "console=ttyS0 $cmdline panic=-1 quiet loglevel=3" \
		< /dev/null > "$log" 2>&1 &
	QPID=$!
	local t=0
	while kill -0 "$QPID" 2>/dev/null && [ $t -lt "$BOOT_TIMEOUT" ]; do
		sleep 1; t=$((t + 1))
	done
	if kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID"; echo "# VM $layout: timed out after ${BOOT_TIMEOUT}s"
	fi
	wait "$QPID"; rc=$?; QPID=""
	tr -d '\r' < "$log" | sed -n '/=== CELL BENCH BEGIN/,/=== CELL BENCH END/p' | grep -v '^=== CELL BENCH BEGIN' > "$W/$layout.out"
	if ! grep -q '^ratio\|^cell' "$W/$layout.out"; then
		echo "# VM $layout gave no figures (qemu status $rc); last console lines:"
		tr -d '\r' < "$log" | tail -20 | sed 's/^/#   /'
		return 1
	fi
	cat "$W/$layout.out"
	echo "# VM $layout: $(( $(date +%s) - start ))s"
}
vm unified "cgroup_no_v1=all"
vm legacy ""

echo "=== summary: cell/runc and cell/crun ratios of median ms per container (without, with resources)"
for l in host unified legacy; do
	r=$(grep '^ratio cell/runc' "$W/$l.out" 2>/dev/null | sed 's/ratio cell\/runc: //')
	rc=$(grep '^ratio cell/crun' "$W/$l.out" 2>/dev/null | sed 's/ratio cell\/crun: //')
	lay=$(sed -n 's/.*, layout //p' "$W/$l.out" 2>/dev/null)
	printf '%-8s %-8s runc: %s; crun: %s\n' "$l" "${lay:-?}" "${r:-no figures}" "${rc:-cannot run}"
done
