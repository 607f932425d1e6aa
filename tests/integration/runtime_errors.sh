#!/bin/bash
# Bad input: one clear line naming the field or file and the cause, exit 1,
# and nothing left behind.
. "$(dirname "$0")/../lib/tap.sh"
need_root
ROOT=$(mktemp -d /tmp/cell-rt-root.XXXXXX); defer "rm -rf '$ROOT'"
defer 'for i in $(ls "$ROOT" 2>/dev/null); do "$RT" --root "$ROOT" delete --force "$i"; done'
make_bundle; B=$BUNDLE
cfg "$B" '.process.terminal = false | .process.args = ["payload", "exit", "0"]'
cp "$B/config.json" "$B/base.json"
cgroups_before=$(find /sys/fs/cgroup -maxdepth 3 -name 'cell' -o -maxdepth 3 -name 'bad-*' | wc -l)
# mounts of this test: under its bundle or root (others may mount meanwhile)
our_mounts() { grep -cE "$B|$ROOT" /proc/self/mountinfo; }
mounts_before=$(our_mounts)

bad() {	# description regex jq-filter
	local d=$1 re=$2 f=$3
	jq "$f" "$B/base.json" > "$B/config.json"
	local out; _capture "$RT" --root "$ROOT" create --bundle "$B" "bad-$$"; local rc=$?
	is "$rc" 1 "$d: exit 1"
	like "$out" "$re" "$d: says why"
	is "$(echo "$out" | wc -l)" 1 "$d: one line"
	is "$(ls "$ROOT")" "" "$d: no state left"
	"$RT" --root "$ROOT" delete --force "bad-$$" >/dev/null 2>&1
}
out=$("$RT" --root "$ROOT" create --bundle /nonexistent x 2>&1); is "$?" 1 "missing bundle exits 1"; like "$out" "/nonexistent" "missing bundle names the path"
echo '{"ociVersion": "1.0.0", ' > "$B/config.json"
out=$("$RT" --root "$ROOT" create --bundle "$B" x 2>&1); is "$?" 1 "malformed JSON exits 1"; like "$out" "config.json.*line" "malformed JSON names file and line"
bad "wrong type" '`process.args`: expected array, got string' '.process.args = "sh"'
bad "unknown namespace" 'unknown namespace type `bogus`' '.linux.namespaces += [{"type":"bogus"}]'
bad "bad mount option" 'mounts\[[0-9]+\]' '.mounts += [{"destination":"/x","type":"bind","source":"/tmp","options":["rbnd"]}]'
bad "missing cwd" '`process.cwd` `/nope`: No such file' '.process.cwd = "/nope"'
bad "missing executable" '`process.args\[0\]` `nope`: not found' '.process.args = ["nope"]'
bad "relative cwd" '`process.cwd`: required, and must be an absolute path' '.process.cwd = "tmp"'
bad "failing hook" 'hooks.createRuntime\[0\]: `/bin/false`: exited with status 1' '.hooks = {"createRuntime":[{"path":"/bin/false"}]}'
bad "hanging hook" 'timed out after 1 s' '.hooks = {"prestart":[{"path":"/bin/sleep","args":["sleep","10"],"timeout":1}]}'
bad "bad mount source" 'bind source `/nonexistent-src`' '.mounts += [{"destination":"/x","type":"bind","source":"/nonexistent-src","options":["bind"]}]'
bad "non-namespaced sysctl" 'not a namespaced sysctl' '.linux.sysctl = {"vm.swappiness":"10"}'
bad "unknown rlimit" 'unknown rlimit `RLIMIT_BOGUS`' '.process.rlimits = [{"type":"RLIMIT_BOGUS","soft":1,"hard":1}]'
bad "rlimit above hard limit" 'CAP_SYS_RESOURCE|Operation not permitted' '.process.rlimits = [{"type":"RLIMIT_NOFILE","soft":1048576,"hard":1073741816}]'
out=$("$RT" --root "$ROOT" create --bundle "$B" "../x" 2>&1); is "$?" 1 "id with .. refused"; like "$out" "invalid container id" "... with a clear message"
out=$("$RT" --root "$ROOT" create --bundle "$B" "a/b" 2>&1); is "$?" 1 "id with / refused"
out=$("$RT" --root "$ROOT" kill nope 2>&1); is "$?" 1 "kill of a missing container exits 1"; like "$out" "container \`nope\` does not exist" "... says so"
out=$("$RT" --root "$ROOT" kill nope BOGUS 2>&1); like "$out" "unknown signal|does not exist" "bad signal name refused"
out=$("$RT" --root "$ROOT" delete nope 2>&1); is "$?" 1 "delete of a missing container without --force fails"
is "$(our_mounts)" "$mounts_before" "no mount left behind"
is "$(find /sys/fs/cgroup -maxdepth 3 -name 'cell' -o -maxdepth 3 -name 'bad-*' | wc -l)" "$cgroups_before" "no cgroup left behind"
