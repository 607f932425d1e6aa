#!/bin/bash
# `cell events` with no daemon: the journal every command and monitor appends
# to, Docker's JSON shape, --since/--until/--filter/--format, following new
# events, concurrent writers (whole lines only), the rotation that bounds it,
# bad flags. Everything removed after.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
engine_setup
acts() { c events --since 1h --until 0s "$@" --format '{{.Action}}' | tr '\n' ' ' | sed 's/ $//'; }

t0=$(date +%s)
id=$(c run -d --name ev --label team=blue busybox sleep 300)
c pause ev >/dev/null; c unpause ev >/dev/null
c rename ev ev2
c stop -t 1 ev2 >/dev/null
c rm ev2 >/dev/null
is "$(acts --filter container=${id:0:12})" "create start pause unpause rename kill die stop destroy" \
	"a container's life: create start pause unpause rename kill die stop destroy"
is "$(acts --filter event=die --filter container=ev2 --format '{{.Actor.Attributes.exitCode}}')" "die" "--filter event=die"
is "$(c events --since 1h --until 0s --filter event=die --format '{{.Actor.Attributes.exitCode}}')" "137" "die carries exitCode (137: sleep as pid 1 ignores SIGTERM, stop -t 1 killed it)"
is "$(c events --since 1h --until 0s --filter event=rename --format '{{.Actor.Attributes.oldName}} {{.Actor.Attributes.name}}')" "/ev ev2" "rename carries oldName"
is "$(acts --filter label=team=blue --filter event=create)" "create" "--filter label=K=V (the container's labels are attributes)"
is "$(acts --filter label=team=red)" "" "--filter label=K=V that does not match"
is "$(acts --filter type=image)" "" "--filter type=image: none here"
is "$(acts --filter event=start --filter event=stop --filter container=$id)" "start stop" "one key twice: either"
j=$(c events --since 1h --until 0s --filter event=create --format '{{json .}}' | head -1)
is "$(echo "$j" | jq -r '[.Type, .Action, .Actor.ID, .Actor.Attributes.name, .Actor.Attributes.image, .scope, .status, .id, .from] | join(" ")')" \
	"container create $id ev busybox local create $id busybox" "{{json .}}: Docker's Type, Action, Actor, scope (and status, id, from)"
like "$(echo "$j" | jq -r '"\(.time) \(.timeNano)"')" "^[0-9]{10} [0-9]{19}$" "time in s, timeNano in ns"
ok "$([ "$(echo "$j" | jq .time)" -ge "$t0" ]; echo $?)" "time is now"
like "$(c events --since 1h --until 0s --filter event=create)" "^20[0-9-]+T[0-9:]+\.[0-9]{9}Z container create $id \(image=busybox, name=ev, team=blue\)$" \
	"the default line: time type action id (attributes sorted)"
is "$(acts --since "$(( $(date +%s) + 5 ))" --until 0s)" "" "--since in the future: nothing"
is "$(acts --since 2000-01-01T00:00:00Z --until 2000-01-02 )" "" "--since/--until as RFC 3339 dates"

# following: new events arrive, old ones are not replayed
"$CELL" --root "$R" events --filter container=fol --format '{{.Action}}' > "$TMPD/follow" &
fpid=$!
defer "kill $fpid 2>/dev/null"
sleep 0.3
c run -d --name fol busybox true >/dev/null
for i in $(seq 50); do grep -q die "$TMPD/follow" && break; sleep 0.1; done
kill $fpid; wait $fpid 2>/dev/null
is "$(tr '\n' ' ' < "$TMPD/follow")" "create start die " "events follows new events (inotify), without the past"
c rm fol >/dev/null

# concurrent writers: every line whole
for i in $(seq 8); do c run -d busybox true >/dev/null & done; wait
bad=$(while read -r l; do echo "$l" | jq -e . >/dev/null 2>&1 || echo bad; done < "$R/events.log" | wc -l)
is "$bad" "0" "8 concurrent runs: every journal line is whole JSON"

# the journal is bounded: past 4 MiB it is rotated to events.log.1, both read
line=$(head -1 "$R/events.log")
yes "$line" | head -c 4300000 | head -n -1 > "$R/events.log.big"
mv "$R/events.log.big" "$R/events.log"
c create --name rot busybox true >/dev/null
ok "$([ -e "$R/events.log.1" ] && [ "$(stat -c %s "$R/events.log")" -lt 10000 ]; echo $?)" "past 4 MiB the journal rotates to events.log.1"
is "$(acts --filter container=rot)" "create" "events reads the new journal after a rotation"
like "$(c events --since 1h --until 0s --format '{{.Action}}' | wc -l)" "^[1-9][0-9]{3,}$" "and the rotated one"

# image and volume events
c tag busybox evimg:1
c rmi evimg:1 >/dev/null
c volume create evvol >/dev/null
c volume rm evvol >/dev/null
is "$(c events --since 1h --until 0s --filter type=image --format '{{.Action}} {{.Actor.Attributes.name}}' | tr '\n' ' ')" "tag evimg:1 untag evimg:1 " "image tag and untag events"
is "$(acts --filter type=volume --filter volume=evvol)" "create destroy" "volume create and destroy events"

# exec
c run -d --name ex busybox sleep 300 >/dev/null
c exec ex sh -c 'exit 3'
is "$(c events --since 1h --until 0s --filter container=ex --filter event=exec_create --filter event=exec_start --filter event=exec_die --format '{{.Action}} {{.Actor.Attributes.exitCode}}' | tr '\n' '|')" \
	"exec_create: sh -c exit 3 <no value>|exec_start: sh -c exit 3 <no value>|exec_die 3|" "exec_create, exec_start, exec_die (exitCode)"
c rm -f ex >/dev/null

# network connect/disconnect
if c network create evnet >/dev/null 2>&1; then
	defer "'$CELL' --root '$R' network rm evnet >/dev/null 2>&1"
	nid=$(c run -d --name netc busybox sleep 300)
	c network connect evnet netc && c network disconnect evnet netc
	is "$(c events --since 1h --until 0s --filter type=network --format '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.container}}' | tr '\n' ' ')" \
		"connect evnet $nid disconnect evnet $nid " "network connect and disconnect events"
	c rm -f netc >/dev/null
	c network rm evnet >/dev/null
else
	skip "network create failed here"
fi

# bad input
out=$(c events --filter colour=red 2>&1); rc=$?
is "$rc" 125 "unknown filter: 125"
like "$out" "invalid --filter .colour=red.: expected KEY=VALUE" "unknown filter: says which keys"
out=$(c events --since yesterday 2>&1); rc=$?
is "$rc" 125 "--since yesterday: 125"
like "$out" "invalid --since .yesterday.: a unix time, an RFC 3339 date" "--since: says the accepted forms"
