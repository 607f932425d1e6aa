#!/bin/bash
# cell netns: ls (table, -q, json, with the owning container), add, del,
# attach by pid and by container name, then `ip netns exec` into it; bad
# input gives one line and exit 125.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
command -v ip >/dev/null || skip_all "needs ip"
engine_setup
N=cellt-nn$$
defer "ip netns del $N-a 2>/dev/null; ip netns del $N-c 2>/dev/null; ip netns del $N-p 2>/dev/null"

check "netns add" -- c netns add "$N-a"
like "$(c netns ls)" "^NAME +CONTAINER" "netns ls has a header"
like "$(c netns ls)" "$N-a +-" "the new one is listed, with no container"
c netns ls -q | grep -qx "$N-a"; ok $? "netns ls -q prints bare names"
is "$(c netns ls --format json | jq -r ".[] | select(.Name == \"$N-a\") | .Path")" "/run/netns/$N-a" "netns ls --format json"
like "$(ip netns list)" "$N-a" "ip netns sees it"

id=$(c run -d --name nsbox busybox sleep 100)
pid=$(c inspect -f '{{.State.Pid}}' nsbox)
check "netns attach NAME CONTAINER" -- c netns attach "$N-c" nsbox
is "$(ip netns exec "$N-c" readlink /proc/self/ns/net)" "$(readlink /proc/$pid/ns/net)" "ip netns exec enters the container's network namespace"
like "$(c netns ls)" "$N-c +nsbox" "netns ls names the container"
is "$(c netns ls --format json | jq -r ".[] | select(.Name == \"$N-c\") | .Container")" "nsbox" "and so does the json"
check "netns attach NAME PID" -- c netns attach "$N-p" "$pid"
is "$(c netns exec "$N-p" readlink /proc/self/ns/net)" "$(readlink /proc/$pid/ns/net)" "cell netns exec enters it too"

fails "attach to an unknown container" -- c netns attach "$N-x" nosuchbox
like "$LAST_OUT" "no such container" "... says so"
is "$LAST_RC" 125 "... exit 125"
fails "a name already in use" -- c netns attach "$N-c" nsbox
c stop -t 1 nsbox >/dev/null
fails "attach to a stopped container" -- c netns attach "$N-y" nsbox
like "$LAST_OUT" "only a running container" "... says why"
[ ! -e "/run/netns/$N-y" ]; ok $? "... and names nothing"
fails "an unknown subcommand" -- c netns frobnicate
like "$LAST_OUT" "cell netns --help" "... points to the help"

for n in a c p; do check "netns del $N-$n" -- c netns del "$N-$n"; done
[ ! -e "/run/netns/$N-a" ] && [ ! -e "/run/netns/$N-c" ]; ok $? "the files are gone"
