# Sourced by the engine tests after tap.sh: engine_setup makes a temp engine
# root $R with the test rootfs imported as busybox:latest; `c` is cell on
# that root, `run`/`create` without a network so that no bridge is left on
# the host (engine_run.sh tests networks itself); everything is removed at
# exit.
c() { case $1 in run|create) local a=$1; shift; "$CELL" --root "$R" "$a" --network none "$@";; *) "$CELL" --root "$R" "$@";; esac; }
engine_cleanup() {
	local i
	for i in $(c ps -aq --no-trunc 2>/dev/null); do c rm -f "$i"; done
	grep -o " $R/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
}
engine_setup() {
	"$CELL" run --help >/dev/null 2>&1 || skip_all "\`cell run\` is not in this build yet"
	tmpdir
	R=$TMPD/root
	defer engine_cleanup
	tar -C "$(test_rootfs)" -cf "$TMPD/rootfs.tar" . || skip_all "cannot build the test rootfs"
	c image import --change 'CMD ["sh"]' "$TMPD/rootfs.tar" busybox:latest >/dev/null 2>&1 ||
		skip_all "\`cell image import\` of the test rootfs failed"
}
