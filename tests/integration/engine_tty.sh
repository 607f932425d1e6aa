#!/bin/bash
# cell run -it driven through tmux: a real terminal, keystrokes in, screen
# out, window size and its changes, the exit status recorded.
. "$(dirname "$0")/../lib/tap.sh"
need_root
command -v tmux >/dev/null || skip_all "tmux is not installed"
. "$(dirname "$0")/../lib/engine.sh"
engine_setup

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
