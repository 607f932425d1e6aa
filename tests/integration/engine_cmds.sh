#!/bin/bash
# Docker's everyday commands: top-level save, tag, history; diff (A/C/D from
# the upper dir); export (a tar of the container's file system); update (live
# cgroup limits, kept for the next start, restart policy); login/logout
# (Docker's config.json format). Everything removed after.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
engine_setup

# top-level aliases of image commands
check "tag" -- c tag busybox mybox:1
like "$(c images)" "mybox +1" "tag: the new name is listed"
like "$(c history busybox)" "IMAGE|CREATED" "history"
check "save -o" -- c save -o "$TMPD/save.tar" mybox:1
like "$(tar -tf "$TMPD/save.tar" | tr '\n' ' ')" "manifest.json|index.json" "save wrote an image archive"

# diff
c run -d --name d busybox sh -c 'echo new > /tmp/added; echo x >> /etc/passwd; rm /bin/vi; mkdir -p /newdir/sub; sleep 300' >/dev/null
for i in $(seq 50); do [ -e "$R/containers/$(c inspect -f '{{.Id}}' d)/upper/newdir/sub" ] && break; sleep 0.1; done
out=$(c diff d)
like "$out" "A /tmp/added" "diff: A for an added file"
like "$out" "C /etc/passwd" "diff: C for a changed one"
like "$out" "D /bin/vi" "diff: D for a deletion (a whiteout)"
like "$out" "A /newdir/sub" "diff: A below an added directory"
like "$out" "C /etc
" "diff: C for a directory whose content changed"
is "$(echo "$out" | sort -k2 | md5sum)" "$(echo "$out" | md5sum)" "diff: sorted by path"
is "$(c diff nosuch 2>&1)" "cell: no such container: \`nosuch\`" "diff of an unknown container"

# export
check "export -o" -- c export -o "$TMPD/d.tar" d
l=$(tar -tf "$TMPD/d.tar")
like "$l" "^bin/" "export: names relative to the root"
like "$l" "tmp/added" "export: the container's own files"
ok "$(echo "$l" | grep -qx 'bin/vi'; [ $? = 1 ]; echo $?)" "export: a deleted file is not in it"
is "$(tar -xOf "$TMPD/d.tar" tmp/added)" "new" "export: file content"
is "$(tar -tvf "$TMPD/d.tar" bin/sh | cut -c1)" "l" "export: symlinks stay symlinks"
c export d > "$TMPD/d2.tar"; is $? 0 "export to stdout"
is "$(tar -tf "$TMPD/d2.tar" | wc -l)" "$(echo "$l" | wc -l)" "stdout: the same entries"

# update: the live cgroup, and the record
id=$(c inspect -f '{{.Id}}' d)
check "update --memory 64m --pids-limit 50 --cpus 0.5" -- c update --memory 64m --pids-limit 50 --cpus 0.5 d
cg=$(awk -F: '$2=="memory" {print $3}' /proc/$(c inspect -f '{{.State.Pid}}' d)/cgroup)
is "$(cat /sys/fs/cgroup/memory$cg/memory.limit_in_bytes)" "67108864" "update: the running container's memory limit changed"
pcg=$(awk -F: '$2=="pids" {print $3}' /proc/$(c inspect -f '{{.State.Pid}}' d)/cgroup)
is "$(cat /sys/fs/cgroup/pids$pcg/pids.max)" "50" "update: pids.max changed"
is "$(c inspect -f '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}}' d)" "67108864 50 500000000" "update: HostConfig records it"
is "$(jq .linux.resources.memory.limit "$R/containers/$id/bundle/config.json")" "67108864" "update: the bundle keeps it for the next start"
check "update --restart on-failure:3" -- c update --restart on-failure:3 d
is "$(c inspect -f '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}' d)" "on-failure:3" "update --restart"
out=$(c update --memory 1k d 2>&1); rc=$?
is "$rc:$out" "125:cell: Minimum memory limit allowed is 6MB" "update --memory 1k: Docker's message, 125"
out=$(c update --blkio-weight 5 d 2>&1); is "$?:$out" "125:cell: Range of blkio weight is from 10 to 1000" "update --blkio-weight 5"
out=$(c update d 2>&1); is "$?" 125 "update without flags: 125"
like "$(c update --cpus x d 2>&1)" "cpus" "update --cpus x names the flag"
check "import of an export" -- c import "$TMPD/d.tar" fromexport:1
is "$(c run --rm fromexport:1 cat /tmp/added)" "new" "export | import round trip"
c rm -f d >/dev/null

# login / logout
export REGISTRY_AUTH_FILE=$TMPD/auth.json
is "$(echo s3cret | c login -u alice --password-stdin localhost:5000)" "Login Succeeded" "login --password-stdin"
is "$(jq -r '.auths["localhost:5000"].auth' "$REGISTRY_AUTH_FILE" | base64 -d)" "alice:s3cret" "auth.json: Docker's config.json format"
is "$(stat -c %a "$REGISTRY_AUTH_FILE")" "600" "the credentials file is 0600"
check "login docker.io" -- c login -u bob -p pw docker.io
is "$(jq -r '.auths | keys | join(" ")' "$REGISTRY_AUTH_FILE")" "https://index.docker.io/v1/ localhost:5000" "docker.io is Docker's index key"
out=$(c login -u x -p y --password-stdin r 2>&1); is "$?" 125 "login -p with --password-stdin: 125"
is "$(c logout localhost:5000)" "Removing login credentials for localhost:5000" "logout"
is "$(c logout localhost:5000)" "Not logged in to localhost:5000" "logout again"
is "$(jq -r '.auths | keys | join(" ")' "$REGISTRY_AUTH_FILE")" "https://index.docker.io/v1/" "logout removed only that entry"
unset REGISTRY_AUTH_FILE
