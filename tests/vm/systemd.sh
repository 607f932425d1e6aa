#!/bin/bash
# The systemd cgroup driver (cell-runtime --systemd-cgroup) against a real
# systemd: boots Debian's cloud kernel in qemu (TCG, as cgroup_v2.sh) on a
# root file system made with mmdebstrap from Debian's archive (minbase +
# systemd, dbus, jq; cached in /var/cache/cell-tests keyed by the package
# list, so a rerun only boots), plus cell-runtime, the host's runc and a
# busybox bundle, as an ext4 image made with mke2fs -d. The host's own
# initramfs (initramfs-tools, it has virtio_blk) mounts it as root= and
# systemd boots on pure cgroup v2; cell-test.service runs tests/vm/systemd-inner
# and prints its TAP on the serial console between markers, then powers off.
# Here each of its lines becomes one of ours. A VM that does not boot is a
# failure with the reason, never a skip.
. "$(dirname "$0")/../lib/tap.sh"
need_root

BOOT_TIMEOUT=${CELL_VM_TIMEOUT:-420}
PKGS=systemd,systemd-sysv,dbus,jq,libseccomp2
CACHE_DIR=/var/cache/cell-tests
KEY=$(echo "bookworm minbase $PKGS" | sha256sum | cut -c1-12)
BASE=$CACHE_DIR/systemd-rootfs-$KEY.tar

fail_all() { ok 1 "systemd VM: $*"; exit 1; }

[ -x "$RT" ] || fail_all "$RT is not built (run make)"
for c in qemu-system-x86_64 mmdebstrap mke2fs jq; do
	command -v $c >/dev/null || fail_all "$c missing (scripts/deps.sh test installs it)"
done
[ -x /usr/sbin/runc ] || fail_all "/usr/sbin/runc missing (apt-get install runc)"
[ -x /bin/busybox ] || fail_all "/bin/busybox missing (busybox-static)"
KVER=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -1)
[ -n "$KVER" ] || fail_all "no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)"
KERNEL=/boot/vmlinuz-$KVER INITRD=/boot/initrd.img-$KVER
[ -r "$KERNEL" ] && [ -r "$INITRD" ] || fail_all "$KERNEL or $INITRD not readable"
echo "# kernel $KVER"

# the root file system, once per package list (mmdebstrap: ~35 s)
mkdir -p $CACHE_DIR
if [ ! -s "$BASE" ]; then
	(
		flock 9
		[ -s "$BASE" ] && exit 0
		rm -f "$BASE.tmp.tar"
		mmdebstrap --quiet --variant=minbase --include=$PKGS bookworm "$BASE.tmp.tar" &&
			mv "$BASE.tmp.tar" "$BASE"
	) 9> "$CACHE_DIR/systemd-rootfs.lock" > /tmp/cell-mmdebstrap.$$.log 2>&1
	[ -s "$BASE" ] || { tail -5 /tmp/cell-mmdebstrap.$$.log | sed 's/^/#   /'; rm -f /tmp/cell-mmdebstrap.$$.log
		fail_all "mmdebstrap --variant=minbase --include=$PKGS bookworm failed"; }
	rm -f /tmp/cell-mmdebstrap.$$.log
fi
echo "# root file system $BASE ($(du -h "$BASE" | cut -f1))"

tmpdir
R=$TMPD/root
mkdir -p "$R"
tar -C "$R" -xf "$BASE" || fail_all "unpacking $BASE failed"

copy_with_libs() {
	local f=$1 lib
	mkdir -p "$R$(dirname "$f")"
	cp "$f" "$R$f"
	for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$R$lib" ] && continue
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
}
copy_with_libs "$RT"
mkdir -p "$R/usr/sbin" && cp /usr/sbin/runc "$R/usr/sbin/runc"
copy_with_libs /usr/sbin/runc
mkdir -p "$R$CELL_TOP/tests/vm"
cp -r "$CELL_TOP/tests/lib" "$R$CELL_TOP/tests/"
cp "$CELL_TOP/tests/vm/systemd-inner" "$R$CELL_TOP/tests/vm/"
mkdir -p "$R/bundle"
cp -a "$(test_rootfs)" "$R/bundle/rootfs"
(cd "$R/bundle" && "$RT" spec) || fail_all "cell-runtime spec failed"

# not a first boot (systemd-firstboot would prompt on the console); no
# getty on the serial console we read
echo 5f0c1a8e9b2d4c6f8a1b3c5d7e9f0a2b > "$R/etc/machine-id"
echo cellvm > "$R/etc/hostname"
ln -sf /dev/null "$R/etc/systemd/system/serial-getty@ttyS0.service"
ln -sf /dev/null "$R/etc/systemd/system/systemd-firstboot.service"
: > "$R/etc/fstab"
cat > "$R/etc/systemd/system/cell-test.service" <<EOF
[Unit]
Description=cell's systemd cgroup driver tests
After=multi-user.target dbus.service
Requires=dbus.service

[Service]
Type=oneshot
Environment=CELL_TOP=$CELL_TOP CELL_BUILD=$CELL_BUILD CELL_RUNTIME=$RT PATH=/usr/sbin:/usr/bin:/sbin:/bin
ExecStart=/bin/sh -c 'exec > /dev/ttyS0 2>&1; echo "=== CELL TAP BEGIN systemd"; /bin/bash $CELL_TOP/tests/vm/systemd-inner; echo "=== CELL TAP END systemd rc=\$?"'
ExecStopPost=/bin/sh -c 'sync; /bin/systemctl poweroff --force --force'
TimeoutStartSec=300

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/cell-test.service "$R/etc/systemd/system/multi-user.target.wants/cell-test.service"

size=$(( $(du -sm "$R" | cut -f1) + 400 ))
mke2fs -q -t ext4 -d "$R" "$TMPD/disk.img" "${size}M" || fail_all "mke2fs -d failed"
rm -rf "$R"
echo "# disk image ${size} MiB"

LOG=$TMPD/console.log
[ -n "${CELL_VM_KEEP_LOG:-}" ] && defer "cp $TMPD/console.log.txt $CELL_VM_KEEP_LOG"
start=$(date +%s)
timeout --kill-after=10 "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg -m 1024 -smp 2 \
	-nographic -monitor none -serial stdio -no-reboot \
	-kernel "$KERNEL" -initrd "$INITRD" \
	-drive "file=$TMPD/disk.img,format=raw,if=virtio" \
	-append "console=ttyS0 root=/dev/vda rw noresume fsck.mode=skip panic=-1 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all net.ifnames=0 systemd.show_status=1 loglevel=3" \
	< /dev/null > "$LOG" 2>&1
qrc=$?
tr -d '\r' < "$LOG" > "$LOG.txt"
echo "# qemu exited with status $qrc after $(( $(date +%s) - start ))s"

if ! grep -q '^=== CELL TAP BEGIN' "$LOG.txt"; then
	why="the VM did not run cell-test.service"
	[ $qrc = 124 ] && why="$why within ${BOOT_TIMEOUT}s (timeout)"
	grep -q 'Welcome to' "$LOG.txt" && why="$why (systemd started)"
	ok 1 "systemd VM boots and runs the tests: $why"
	echo "# last console lines:"
	tail -30 "$LOG.txt" | sed 's/^/#   /'
	exit 1
fi
ok 0 "systemd VM boots systemd and runs cell-test.service (kernel $KVER, $(grep -o 'systemd [0-9]* running in system mode' "$LOG.txt" | head -1))"

sed -n '/^=== CELL TAP BEGIN/,/^=== CELL TAP END/p' "$LOG.txt" > "$TMPD/tap"
n=0
while IFS= read -r line; do
	case $line in
	"=== CELL TAP BEGIN "*) ;;
	"=== CELL TAP END "*) like "$line" "rc=0\$" "the tests inside the VM exited 0" ;;
	"ok "*"# SKIP"*) skip "${line#*# SKIP }" ;;
	"ok "*) ok 0 "vm: $(printf '%s' "$line" | sed -E 's/^ok [0-9]+ - //')"; n=$((n + 1)) ;;
	"not ok "*) ok 1 "vm: $(printf '%s' "$line" | sed -E 's/^not ok [0-9]+ - //')"; n=$((n + 1)) ;;
	"#"*) echo "$line" ;;
	esac
done < "$TMPD/tap"
[ $n -gt 20 ]; ok $? "the VM ran the systemd driver tests ($n results)"
grep -q "^=== CELL TAP END" "$TMPD/tap"; ok $? "the tests finished inside the VM"
