# Sourced by integration tests: TAP output, cleanup that always runs, and
# bundles made from the test rootfs (busybox-static + the payload binary).
#
#   . "$(dirname "$0")/../lib/tap.sh"
#   need_root
#   make_bundle; b=$BUNDLE      # a bundle dir, removed at exit
#   new_id; id=$ID              # a container id, force-deleted at exit
#   defer "rm -rf /x"           # cleanup, run in reverse order at exit
# (these set variables rather than print: a defer inside $(...) would be lost)
#   is "$(payload hostname)" "x" "hostname set"
set -u
: "${CELL_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${CELL_BUILD:=$CELL_TOP/build}"
RT=${CELL_RUNTIME:-$CELL_BUILD/cell-runtime}
CELL=$CELL_BUILD/cell
PAYLOAD=$CELL_BUILD/tests/payload
_tap_n=0 _tap_fail=0 _deferred=()

defer() { _deferred+=("$*"); }
_run_deferred() {
	local i
	for ((i = ${#_deferred[@]} - 1; i >= 0; i--)); do
		eval "${_deferred[$i]}" >/dev/null 2>&1 || true
	done
}
_tap_exit() {
	local rc=$?
	_run_deferred
	echo "1..$_tap_n"
	[ "$_tap_fail" -gt 0 ] && exit 1
	exit "$rc"
}
trap _tap_exit EXIT
trap 'exit 130' INT TERM

ok() {	# cond-status description
	local st=$1; shift
	_tap_n=$((_tap_n + 1))
	if [ "$st" = 0 ]; then echo "ok $_tap_n - $*"
	else echo "not ok $_tap_n - $*"; _tap_fail=$((_tap_fail + 1)); fi
}
# Output goes through a file, not $(...): a container started by the command
# inherits its stdout, and $(...) would wait for the container to exit.
_capture() { local f; f=$(mktemp); "$@" > "$f" 2>&1; local rc=$?; out=$(cat "$f"); rm -f "$f"; return $rc; }
check() {	# description -- command...   (passes when the command succeeds)
	local d=$1; shift; [ "${1:-}" = -- ] && shift
	local out; _capture "$@"; local rc=$?
	ok $rc "$d"
	[ $rc = 0 ] || printf '#   %s\n' "command: $*" "status: $rc" "$out" | head -20
	return $rc
}
fails() {	# description -- command...   (passes when the command fails)
	local d=$1; shift; [ "${1:-}" = -- ] && shift
	local out; _capture "$@"; local rc=$?
	[ $rc != 0 ]; ok $? "$d"
	[ $rc != 0 ] || printf '#   %s\n' "command unexpectedly succeeded: $*" "$out" | head -20
	LAST_OUT=$out LAST_RC=$rc
	return 0
}
is() {	# got want description
	[ "$1" = "$2" ]; local st=$?
	ok $st "$3"
	[ $st = 0 ] || printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
	return $st
}
like() {	# got regex description
	printf '%s' "$1" | grep -Eq -- "$2"; local st=$?
	ok $st "$3"
	[ $st = 0 ] || printf '#   got:  %s\n#   want match: %s\n' "$1" "$2"
	return $st
}
unlike() {	# got regex description   (passes when got does not match)
	! printf '%s' "$1" | grep -Eq -- "$2"; local st=$?
	ok $st "$3"
	[ $st = 0 ] || printf '#   got:  %s\n#   want no match: %s\n' "$1" "$2"
	return $st
}
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $*"; }
skip_all() { echo "# skipped: $*"; trap - EXIT; _run_deferred; exit 77; }
need_root() { [ "$(id -u)" = 0 ] || skip_all "needs root"; }

# A host port no socket holds, below the kernel's ephemeral range (32768+),
# where a client connection of another program could take it at any time.
# free_port VAR sets VAR (ports given in one script are distinct).
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		case " ${_ports_given-} " in *" $p "*) continue ;; esac
		ss -Htuan "sport = :$p" 2>/dev/null | grep -q . && continue
		_ports_given="${_ports_given-} $p"; printf -v "$1" %s "$p"; return
	done
}
# A fresh temp dir in $TMPD, removed at exit.
tmpdir() { TMPD=$(mktemp -d /tmp/cell-test.XXXXXX); defer "rm -rf '$TMPD'"; }

# The test rootfs: busybox-static with its applets, the payload, a passwd.
# Built once per build dir; containers share it read-only or copy it.
test_rootfs() {
	local r=$CELL_BUILD/test-rootfs
	if [ ! -x "$r/bin/payload" ] || [ "$PAYLOAD" -nt "$r/bin/payload" ]; then
		rm -rf "$r.tmp"
		mkdir -p "$r.tmp"/{bin,sbin,etc,proc,sys,dev,tmp,root,var,run,usr/bin,usr/sbin,home}
		cp /bin/busybox "$r.tmp/bin/busybox"
		for a in $("$r.tmp/bin/busybox" --list); do
			[ -e "$r.tmp/bin/$a" ] || ln -s busybox "$r.tmp/bin/$a"
		done
		cp "$PAYLOAD" "$r.tmp/bin/payload"
		printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\ntester:x:1000:1000:tester:/home:/bin/sh\n' > "$r.tmp/etc/passwd"
		printf 'root:x:0:\nnogroup:x:65534:\ntester:x:1000:\nextra:x:1001:tester\n' > "$r.tmp/etc/group"
		chmod 1777 "$r.tmp/tmp"
		rm -rf "$r"; mv "$r.tmp" "$r"
	fi
	echo "$r"
}

# make_bundle: a bundle with config.json from `cell-runtime spec` and
# a copy of the test rootfs (2 MiB, busybox symlinks).
make_bundle() {
	local r; BUNDLE=$(mktemp -d /tmp/cell-bundle.XXXXXX); r=$(test_rootfs)
	defer "rm -rf '$BUNDLE'"
	cp -a "$r" "$BUNDLE/rootfs"
	(cd "$BUNDLE" && "$RT" spec) || return 1
}

# Edit config.json with a jq filter: cfg BUNDLE '.process.args = ["true"]'
cfg() { local t; t=$(mktemp); jq "$2" "$1/config.json" > "$t" && mv "$t" "$1/config.json"; }

# A unique container id, deleted (force) at exit.
new_id() { ID="celltest-$$-$RANDOM"; defer "'$RT' delete --force '$ID'"; }
