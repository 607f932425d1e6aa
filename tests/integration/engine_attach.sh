#!/bin/bash
# cell attach and Ctrl-P Ctrl-Q, driven through tmux (a real terminal:
# keystrokes in, screen out): attach to a -dit shell and detach; run -it
# detached and attached again; attach without a tty piping stdin; two
# clients at once; start -a; signals passed on; the monitor killed -9.
. "$(dirname "$0")/../lib/tap.sh"
need_root
command -v tmux >/dev/null || skip_all "tmux is not installed"
. "$(dirname "$0")/../lib/engine.sh"
engine_setup

S=celltest-attach-$$
defer "tmux kill-session -t $S"
screen() { tmux capture-pane -p -t "$S"; }
# wait until the screen matches a regex (5 s at most)
wait_for() { local i; for i in $(seq 50); do screen | grep -Eq -- "$1" && return 0; sleep 0.1; done; return 1; }
status() { c inspect -f '{{.State.Status}}' "$1" 2>/dev/null; }
# a shell in the tmux window, its commands typed (the window outlives them)
tmux new-session -d -s "$S" -x 100 -y 30 "sh"
type_in() { tmux send-keys -t "$S" "$@"; }
CELLC="$CELL --root '$R'"

# ---- attach to a -dit shell, Ctrl-P Ctrl-Q ----
c run -dit --name sh1 busybox sh >/dev/null
is "$(status sh1)" "running" "run -dit: running"
type_in "clear; $CELLC attach sh1; echo ATTACH_EXIT=\$?" Enter
sleep 0.5
type_in 'echo hi-$((40+2))' Enter
wait_for '^hi-42'; ok $? "attach: keystrokes reach the shell, its output comes back"
type_in 'stty size' Enter
wait_for '^30 100'; ok $? "attach: the pty gets our window's size"
type_in C-p C-q
wait_for 'ATTACH_EXIT=0'; ok $? "Ctrl-P Ctrl-Q detaches, exit status 0"
is "$(status sh1)" "running" "the container keeps running after the detach"

# again, with other detach keys; Ctrl-P alone goes through to the shell
type_in "clear; $CELLC attach --detach-keys ctrl-x,d sh1; echo ATTACH_EXIT=\$?" Enter
sleep 0.5
type_in 'echo still-$((1+1))' Enter
wait_for '^still-2'; ok $? "attach again: the same shell answers"
type_in C-x d
wait_for 'ATTACH_EXIT=0'; ok $? "--detach-keys ctrl-x,d detaches"
is "$(status sh1)" "running" "still running"
fails "--detach-keys with a bad key" -- c attach --detach-keys ctrl-1 sh1
like "$LAST_OUT" "ctrl-1" "bad --detach-keys: says which key"

# ---- two clients at once ----
tmpdir
"$CELL" --root "$R" attach --no-stdin sh1 > "$TMPD/second" 2>&1 &
second=$!
defer "kill -9 $second"
type_in "clear; $CELLC attach sh1; echo ATTACH_EXIT=\$?" Enter
sleep 0.5
type_in 'echo both-$((2*21))' Enter
wait_for '^both-42'; ok $? "first client sees its output"
for i in $(seq 50); do grep -q 'both-42' "$TMPD/second" && break; sleep 0.1; done
like "$(cat "$TMPD/second")" "both-42" "second client (--no-stdin) sees the same output"
type_in 'exit 6' Enter
wait_for 'ATTACH_EXIT=6'; ok $? "the container's exit ends the attach with its status"
wait "$second"; is "$?" "6" "the second client gets the exit status too"
is "$(c inspect -f '{{.State.Status}} {{.State.ExitCode}}' sh1)" "exited 6" "exit recorded"
fails "attach to a stopped container fails" -- c attach sh1
like "$LAST_OUT" "is exited: cannot attach" "stopped container: says why"
is "$(printf '%s\n' "$LAST_OUT" | wc -l)" "1" "stopped container: one line"
c attach sh1 >/dev/null 2>&1; is "$?" "125" "stopped container: exit status 125"
c attach nosuchctr >/dev/null 2>&1; is "$?" "125" "unknown container: exit status 125"

# ---- run -it, Ctrl-P Ctrl-Q, attach again ----
type_in "clear; $CELLC run -it --network none --name it1 busybox sh; echo RUN_EXIT=\$?" Enter
wait_for '^/ #'; ok $? "run -it: a shell prompt"
type_in 'echo in-$((3*3))' Enter
wait_for '^in-9'; ok $? "run -it: keystrokes and output"
type_in C-p C-q
wait_for 'RUN_EXIT=0'; ok $? "run -it: Ctrl-P Ctrl-Q detaches with status 0"
is "$(status it1)" "running" "run -it: the container runs on, detached"
mon=$(c inspect -f '{{.State.MonitorPid}}' it1)
is "$(cat /proc/"$mon"/comm 2>/dev/null)" "cell-monitor" "run -it: it is watched by cell-monitor"
type_in "clear; $CELLC attach it1; echo ATTACH_EXIT=\$?" Enter
sleep 0.5
type_in 'sleep 30' Enter
sleep 0.3
type_in C-c
type_in 'echo after-$((5+5))' Enter
wait_for '^after-10'; ok $? "Ctrl-C reaches the shell through the pty (sleep interrupted)"
is "$(status it1)" "running" "Ctrl-C did not stop the container"
type_in 'exit 3' Enter
wait_for 'ATTACH_EXIT=3'; ok $? "attach returns the shell's exit status"
is "$(c inspect -f '{{.State.Status}} {{.State.ExitCode}}' it1)" "exited 3" "run -it container: exit recorded"

# --rm with -it: removed when it exits, also after a detach
type_in "clear; $CELLC run -it --rm --network none --name it2 busybox sh; echo RUN_EXIT=\$?" Enter
wait_for '^/ #'; ok $? "run -it --rm: a shell prompt"
type_in C-p C-q
wait_for 'RUN_EXIT=0'; ok $? "run -it --rm: detached"
type_in "clear; $CELLC attach it2; echo ATTACH_EXIT=\$?" Enter
sleep 0.5
type_in 'exit 2' Enter
wait_for 'ATTACH_EXIT=2'; ok $? "run -it --rm: attach gets the exit status"
fails "run -it --rm: removed after the exit" -- c inspect it2
n0=$(c ps -aq | wc -l)
c run -it --rm busybox nosuchcmd </dev/null >/dev/null 2>&1; is "$?" "127" "run -it --rm of a missing command: 127"
is "$(c ps -aq | wc -l)" "$n0" "run -it --rm of a missing command: removed"

# ---- without a tty: stdin piped, stdout and stderr apart ----
c run -di --name pipe1 busybox sh -c 'read a; echo got:$a; read b; echo err:$b >&2; exit 4' >/dev/null
printf 'hello\nworld\n' | "$CELL" --root "$R" attach pipe1 > "$TMPD/out" 2> "$TMPD/err"
is "$?" "4" "attach -i without tty: exit status of the container"
is "$(cat "$TMPD/out")" "got:hello" "stdin piped in, stdout out"
is "$(cat "$TMPD/err")" "err:world" "stderr apart"
is "$(c logs pipe1 2>&1 | sort | tr '\n' ' ')" "err:world got:hello " "both in the log too"

# --sig-proxy (the default without a tty): our SIGTERM reaches the container
c run -d --name sig1 busybox sh -c 'trap "echo got-TERM; exit 9" TERM; echo ready; while :; do sleep 0.1; done' >/dev/null
"$CELL" --root "$R" attach sig1 > "$TMPD/sig" 2>&1 &
a=$!
defer "kill -9 $a"
for i in $(seq 50); do [ -S "$R/containers/$(c inspect -f '{{.Id}}' sig1)/attach.sock" ] && break; sleep 0.1; done
sleep 0.5
kill -TERM "$a"
wait "$a"; is "$?" "9" "--sig-proxy: SIGTERM passed on, the container's status back"
like "$(cat "$TMPD/sig")" "got-TERM" "--sig-proxy: the trap ran in the container"

# ---- start -a, start -ai ----
c create --name st1 busybox sh -c 'echo started-$((6*7)); exit 5' >/dev/null
out=$(c start -a st1); rc=$?
is "$out $rc" "started-42 5" "start -a: output and exit status"
c create -i --name st2 busybox sh -c 'read x; echo read-$x' >/dev/null
is "$(echo abc | c start -ai st2)" "read-abc" "start -ai: stdin attached"
c create --name st3 busybox nosuchcmd >/dev/null
c start -a st3 >/dev/null 2>&1; is "$?" "127" "start -a of a missing command: 127"

# ---- the monitor killed -9 ----
# (without a tty: a tty's container gets SIGHUP when its pty master, the
# monitor's, closes, as under conmon)
c run -d --name k1 busybox sleep 1000 >/dev/null
id=$(c inspect -f '{{.Id}}' k1)
mon=$(c inspect -f '{{.State.MonitorPid}}' k1)
pid=$(c inspect -f '{{.State.Pid}}' k1)
"$CELL" --root "$R" attach --no-stdin k1 > "$TMPD/k1" 2>&1 &
a=$!
sleep 0.5
kill -9 "$mon"
wait "$a"; is "$?" "125" "monitor killed under an attach: the client ends, status 125"
like "$(cat "$TMPD/k1")" "monitor went away" "monitor killed under an attach: says so"
is "$(status k1)" "running" "monitor killed: ps still shows the container running"
fails "monitor killed: attach fails" -- c attach k1
like "$LAST_OUT" "no monitor" "monitor killed: attach says why"
check "monitor killed: rm -f" -- c rm -f k1
ok $([ ! -e /proc/"$pid" ] || grep -q '^State:.*Z' /proc/"$pid"/status; echo $?) \
	"rm -f: the container's process is gone (or a zombie of pid 1)"
ok $([ ! -e "$R/containers/$id" ]; echo $?) "rm -f: its directory (and attach.sock) are gone"
ok $(! grep -q "$id" /proc/mounts; echo $?) "rm -f: no mount left"

# rm -f of a container someone is attached to: Docker's 137
c run -dit --name k2 busybox sh >/dev/null
"$CELL" --root "$R" attach --no-stdin k2 >/dev/null 2>&1 &
a=$!
sleep 0.5
c rm -f k2 >/dev/null
wait "$a"; is "$?" "137" "rm -f under an attach: the client ends with 137"

c rm -f sh1 it1 pipe1 sig1 st1 st2 st3 >/dev/null 2>&1
