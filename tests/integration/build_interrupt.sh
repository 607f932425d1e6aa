#!/bin/bash
# cell build interrupted: SIGINT (Ctrl-C) during a RUN whose pid 1 ignores it
# ends the step at once and leaves no container, mount or temp dir; after
# kill -9 of cell build, `builder prune` removes the step's container (and
# its process) and whatever the build left.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/engine.sh"
need_root
engine_setup
mkdir -p "$TMPD/ctx"
printf 'FROM busybox\nRUN sleep 60\n' > "$TMPD/ctx/Dockerfile"
# wait until the step's container runs (at most 10 s)
running() { local i; for i in $(seq 100); do [ "$(c ps -q | wc -l)" = 1 ] && return 0; sleep 0.1; done; return 1; }

"$CELL" --root "$R" build --network none --no-cache "$TMPD/ctx" > "$TMPD/out" 2>&1 & pid=$!
defer "kill -9 $pid 2>/dev/null"
running; ok $? "the RUN step runs"
kill -INT $pid
wait $pid; st=$?
is "$st" 125 "SIGINT fails the build"
like "$(cat "$TMPD/out")" 'Dockerfile:2: RUN: interrupted by signal 2' "the error says it was interrupted"
is "$(c ps -aq | wc -l)" 0 "no step container is left"
is "$(grep -c " $R/" /proc/mounts)" 0 "no mount is left"

"$CELL" --root "$R" build --network none --no-cache "$TMPD/ctx" > "$TMPD/out" 2>&1 & pid=$!
defer "kill -9 $pid 2>/dev/null"
running; ok $? "the RUN step runs again"
kill -9 $pid; wait $pid 2>/dev/null
is "$(c ps -aq | wc -l)" 1 "kill -9 leaves the step's container"
like "$(c builder prune -f)" 'Total reclaimed space' "builder prune"
is "$(c ps -aq | wc -l)" 0 "removes it"
is "$(grep -c " $R/" /proc/mounts)" 0 "no mount is left"
is "$(ls "$R/build-tmp" 2>/dev/null | wc -l)" 0 "no temp dir is left"
