#!/bin/bash
# cell-runtime's lifecycle as runc's command line drives it: create, state,
# start, kill, delete, run, list, ps, exec, pause/resume, and what is left
# behind afterwards (nothing).
. "$(dirname "$0")/../lib/tap.sh"
need_root
ROOT=$(mktemp -d /tmp/cell-rt-root.XXXXXX); defer "rm -rf '$ROOT'"
rt() { "$RT" --root "$ROOT" "$@"; }
defer 'for i in $(ls "$ROOT" 2>/dev/null); do "$RT" --root "$ROOT" delete --force "$i"; done'

make_bundle; B=$BUNDLE
cfg "$B" '.process.terminal = false | .process.args = ["payload", "sleep", "100"]'

# create / state / start
ID=c1-$$
check "create" -- rt create --bundle "$B" --pid-file "$B/pid" "$ID"
is "$(rt state "$ID" | jq -r .status)" created "state after create is created"
pid=$(rt state "$ID" | jq -r .pid)
is "$(cat "$B/pid")" "$pid" "--pid-file holds the init pid"
like "$(cat /proc/$pid/comm)" 'cell' "init waits as a cell process before start"
is "$(rt state "$ID" | jq -r .bundle)" "$B" "state names the bundle"
fails "a second create with the same id fails" -- rt create --bundle "$B" "$ID"
like "$LAST_OUT" "already exists" "... saying the id is in use"
check "start" -- rt start "$ID"
sleep 0.2
is "$(rt state "$ID" | jq -r .status)" running "state after start is running"
is "$(cat /proc/$pid/comm)" payload "the init is now the container's program"
fails "start twice fails" -- rt start "$ID"
like "$(rt list)" "$ID +$pid +running" "list shows the container"
is "$(rt list --format json | jq -r '.[0].id')" "$ID" "list --format json"
is "$(rt list -q)" "$ID" "list -q"
is "$(rt ps --format json "$ID" | jq -r '.[0]')" "$pid" "ps --format json lists the init"

# exec
is "$(rt exec "$ID" payload hostname)" "$(jq -r .hostname "$B/config.json")" "exec runs in the container's uts namespace"
is "$(rt exec "$ID" payload ppid)" 0 "exec'd processes are in the container's pid namespace (parent outside it)"
is "$(rt exec --env FOO=bar "$ID" payload env FOO)" bar "exec --env"
is "$(rt exec --cwd /tmp "$ID" payload cwd)" /tmp "exec --cwd"
is "$(rt exec --user 1000:1000 "$ID" payload id)" "1000 1000" "exec --user"
rt exec "$ID" payload exit 7; is "$?" 7 "exec returns the process's exit status"
fails "exec of a missing program fails" -- rt exec "$ID" /nope
like "$LAST_OUT" "nope" "... naming the program"

# pause / resume
check "pause" -- rt pause "$ID"
is "$(rt state "$ID" | jq -r .status)" paused "state is paused"
like "$(grep State /proc/$pid/status)" 'D|S|T' "init is frozen"
check "resume" -- rt resume "$ID"
is "$(rt state "$ID" | jq -r .status)" running "state is running after resume"

# kill / delete
fails "delete of a running container without --force fails" -- rt delete "$ID"
check "kill KILL" -- rt kill "$ID" KILL
sleep 0.3
is "$(rt state "$ID" | jq -r .status)" stopped "stopped after kill"
check "delete" -- rt delete "$ID"
fails "state of a deleted container fails" -- rt state "$ID"
check "delete --force of a missing container succeeds" -- rt delete --force "$ID"
is "$(ls "$ROOT")" "" "no state left"
is "$(find /sys/fs/cgroup -name "$ID" 2>/dev/null)" "" "no cgroup left"

# run: exit status and stdio
cfg "$B" '.process.args = ["payload", "echo", "hello"]'
is "$(rt run --bundle "$B" r1-$$)" hello "run passes stdout through"
cfg "$B" '.process.args = ["payload", "exit", "3"]'
rt run --bundle "$B" r2-$$; is "$?" 3 "run returns the container's exit status"
is "$(ls "$ROOT")" "" "run deletes the container after it exits"
cfg "$B" '.process.args = ["payload", "sleep", "100"]'
check "run --detach" -- rt run --detach --bundle "$B" r3-$$
is "$(rt state r3-$$ | jq -r .status)" running "detached container runs"
check "kill --all" -- rt kill --all r3-$$ 9
sleep 0.3
is "$(rt state r3-$$ | jq -r .status)" stopped "kill --all stops it"
check "delete after kill --all" -- rt delete r3-$$

# delete --force of a created container, kill -9 of the runtime mid-create is covered in runtime_recovery.sh
check "create for force delete" -- rt create --bundle "$B" r4-$$
check "delete --force of a created container" -- rt delete --force r4-$$
is "$(ls "$ROOT")" "" "nothing left in the root"

# terminal: run relays the pty when there is no --console-socket
cfg "$B" '.process.terminal = true | .process.args = ["payload", "isatty", "0"]'
out=$(timeout 20 script -qec "'$RT' --root '$ROOT' run --bundle '$B' t1-$$" /dev/null < /dev/null | grep -o yes | head -1)
is "$out" yes "run with process.terminal gives the container a pty"
fails "create with process.terminal needs --console-socket" -- rt create --bundle "$B" t2-$$
like "$LAST_OUT" "console-socket" "... and says so"
cfg "$B" '.process.terminal = false'

# --log-format json: errors as runc's JSON lines, which containerd's shim reads
rt_log=$(mktemp); defer "rm -f '$rt_log'"
"$RT" --root "$ROOT" --log "$rt_log" --log-format json state nope >/dev/null 2>&1
is "$(jq -r .level "$rt_log")" error "--log-format json writes the level"
like "$(jq -r .msg "$rt_log")" "does not exist" "... the message"
like "$(jq -r .time "$rt_log")" '^20[0-9-]+T' "... and the time"

# crash recovery: the runtime killed -9 in the middle of create
cfg "$B" '.hooks = {"createRuntime":[{"path":"/bin/sleep","args":["sleep","30"]}]}'
"$RT" --root "$ROOT" create --bundle "$B" k9-$$ > /dev/null 2>&1 &
cpid=$!
for i in $(seq 50); do pgrep -f "sleep 30" -P $cpid >/dev/null && break; sleep 0.1; done
hook=$(pgrep -f "sleep 30" -P $cpid); defer "kill $hook"
kill -9 $cpid; wait $cpid 2>/dev/null
is "$(rt state k9-$$ | jq -r .status)" stopped "a create killed -9 leaves a stopped container"
check "delete --force cleans it up" -- rt delete --force k9-$$
is "$(ls "$ROOT")" "" "no state left after the killed create"
is "$(find /sys/fs/cgroup -name "k9-$$" 2>/dev/null)" "" "no cgroup left after the killed create"
cfg "$B" 'del(.hooks)'

# no runtime fd leaks into the container, but the preserved ones
cfg "$B" '.process.args = ["payload", "fds"]'
is "$(rt run --bundle "$B" fd1-$$ | tr '\n' ' ')" "0 1 2 " "only stdio reaches the container"
is "$(rt run --preserve-fds 1 --bundle "$B" fd2-$$ 3</dev/null | tr '\n' ' ')" "0 1 2 3 " "--preserve-fds 1 passes fd 3"

# CVE-2019-5736: the parked init (still the runtime binary) is not reachable through /proc/1/exe
cfg "$B" '.process.args = ["payload", "sleep", "100"] | .process.capabilities = {"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]}'
check "create for the /proc/1/exe check" -- rt create --bundle "$B" cve-$$
like "$(rt exec cve-$$ payload cat /proc/1/exe 2>&1 | head -c 200)" "Permission denied" "/proc/1/exe of the parked init is out of the container's reach"
check "delete it" -- rt delete --force cve-$$

# --systemd-cgroup without systemd: a clear error
cfg "$B" '.process.args = ["payload", "exit", "0"] | .linux.cgroupsPath = "system.slice:cell:sd-'$$'"'
fails "--systemd-cgroup without systemd fails" -- "$RT" --root "$ROOT" --systemd-cgroup run --bundle "$B" sd-$$
like "$LAST_OUT" "systemd" "... and names systemd"
is "$(ls "$ROOT")" "" "... leaving nothing"
cfg "$B" 'del(.linux.cgroupsPath)'

# exec: --process, --cap, --detach with --pid-file
cfg "$B" '.process.args = ["payload", "sleep", "100"] | .process.capabilities = {"bounding":["CAP_KILL","CAP_CHOWN"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]}'
check "create for exec" -- rt create --bundle "$B" ex-$$
check "start it" -- rt start ex-$$
jq -n '{"args":["payload","env","Y"],"env":["Y=from-process-json"],"cwd":"/","user":{"uid":0,"gid":0}}' > "$B/process.json"
is "$(rt exec --process "$B/process.json" ex-$$)" from-process-json "exec --process runs an OCI process.json"
is "$(rt exec --cap CAP_CHOWN ex-$$ payload caps Eff)" 0000000000000021 "exec --cap adds a capability"
is "$(rt exec --no-new-privs ex-$$ payload nnp)" 1 "exec --no-new-privs"
check "exec --detach --pid-file" -- rt exec --detach --pid-file "$B/exec.pid" ex-$$ payload sleep 30
xp=$(cat "$B/exec.pid" 2>/dev/null)
[ -n "$xp" ] && kill -0 "$xp" 2>/dev/null; ok $? "the detached exec process outlives the runtime"
like "$(rt ps --format json ex-$$)" "$xp" "ps lists the exec'd process"
check "delete --force" -- rt delete --force ex-$$
