#!/bin/bash
# cell run -it driven through tmux: a real terminal, keystrokes in, screen
# out, window size and its changes, the exit status recorded.
. "$(dirname "$0")/../lib/tap.sh"
need_root
"$CELL" run --help >/dev/null 2>&1 || skip_all "\`cell run\` is not in this build yet"
command -v tmux >/dev/null || skip_all "tmux is not installed"
tmpdir
R=$TMPD/root
# no bridge here (engine_run.sh tests networks): nothing to leave on the host
c() { case $1 in run|create) local a=$1; shift; "$CELL" --root "$R" "$a" --network none "$@";; *) "$CELL" --root "$R" "$@";; esac; }
engine_cleanup() {
	local i
	for i in $(c ps -aq --no-trunc 2>/dev/null); do c rm -f "$i"; done
	grep -o " $R/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
}
defer engine_cleanup
tar -C "$(test_rootfs)" -cf "$TMPD/rootfs.tar" . || skip_all "cannot build the test rootfs"
c image import --change 'CMD ["sh"]' "$TMPD/rootfs.tar" busybox:latest >/dev/null 2>&1 ||
	skip_all "\`cell image import\` of the test rootfs failed"

S=celltest-tty-$$
defer "tmux kill-session -t $S"
screen() { tmux capture-pane -p -t "$S"; }
# wait until the screen matches a regex (5 s at most)
wait_for() { local i; for i in $(seq 50); do screen | grep -Eq -- "$1" && return 0; sleep 0.1; done; return 1; }

tmux new-session -d -s "$S" -x 100 -y 30 "$CELL --root '$R' run -it --network none --name tty busybox sh; echo EXITED=\$?; sleep 30"
wait_for '#' ; ok $? "a shell prompt appears"
tmux send-keys -t "$S" 'echo hi-$((40+2))' Enter
wait_for 'hi-42'; ok $? "keystrokes reach the shell, output comes back"
tmux send-keys -t "$S" 'payload isatty 0; stty size' Enter
wait_for '^30 100'; ok $? "the terminal has the window's size"
like "$(screen)" "yes" "stdin is a tty"
tmux send-keys -t "$S" 'clear' Enter
tmux resize-window -t "$S" -x 90 -y 25 2>/dev/null || tmux resize-pane -t "$S" -x 90 -y 25
sleep 0.3
tmux send-keys -t "$S" 'stty size' Enter
wait_for '^25 90'; ok $? "a window-size change follows"
is "$(c inspect -f '{{.State.Status}} {{.Config.Tty}}' tty)" "running true" "inspect: running with a tty"
tmux send-keys -t "$S" 'exit 3' Enter
wait_for 'EXITED=3'; ok $? "cell run -it returns the shell's status"
is "$(c inspect -f '{{.State.Status}} {{.State.ExitCode}}' tty)" "exited 3" "exit recorded"
c rm tty >/dev/null
