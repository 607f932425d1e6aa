#!/bin/bash
# Volumes: `cell volume create|ls|inspect|rm|prune`, `run -v NAME:/ctr`,
# `-v /ctr`, `--mount type=volume`, the image's Volumes, filling a new volume
# from the image, rm -v and run --rm, all under a temporary engine root.
. "$(dirname "$0")/../lib/tap.sh"
need_root
command -v jq >/dev/null || skip_all "needs jq"
. "$(dirname "$0")/../lib/engine.sh"
engine_setup

vols() { c volume ls -q | sort | tr '\n' ' '; }
nvols() { c volume ls -q | grep -c .; }
hex64='^[0-9a-f]{64}$'

# ---- volume create / inspect / ls ----
is "$(c volume create v1)" "v1" "volume create prints the name"
rec=$(c volume inspect v1)
is "$(jq -r '.[0].Driver + " " + .[0].Scope + " " + .[0].Name' <<<"$rec")" "local local v1" "inspect: Driver, Scope, Name"
is "$(jq -r '.[0].Mountpoint' <<<"$rec")" "$R/volumes/v1/_data" "inspect: Mountpoint under the engine root"
ok $([ -d "$R/volumes/v1/_data" ]; echo $?) "the _data directory exists"
like "$(jq -r '.[0].CreatedAt' <<<"$rec")" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T' "inspect: CreatedAt"
is "$(c volume create v1)" "v1" "creating an existing volume is fine (Docker)"
is "$(c volume create --label team=a --label x v2)" "v2" "volume create --label"
is "$(c volume inspect --format '{{.Labels.team}}' v2)" "a" "inspect --format template"
is "$(c volume inspect v1 v2 | jq length)" 2 "inspect of two volumes: a JSON array of two"
unnamed=$(c volume create)
like "$unnamed" "$hex64" "volume create without a name: 64 hex"
out=$(c volume create a/b 2>&1); rc=$?
ok $([ $rc = 125 ] && [ "$(printf '%s\n' "$out" | grep -c .)" = 1 ]; echo $?) "volume create a/b: one line, 125"
like "$out" "invalid volume name" "volume create a/b says why"
is "$(vols)" "$(printf '%s\n' v1 v2 "$unnamed" | sort | tr '\n' ' ')" "volume ls -q lists them"
like "$(c volume ls)" "^DRIVER +VOLUME NAME" "volume ls table header"
like "$(c volume ls | grep ' v1$')" "^local +v1$" "volume ls row"
is "$(c volume ls --filter label=team=a -q)" "v2" "ls --filter label=k=v"
is "$(c volume ls --filter label=x -q)" "v2" "ls --filter label=k"
is "$(c volume ls --filter name=v1 -q)" "v1" "ls --filter name="
is "$(c volume ls --format json | jq -r 'select(.Name=="v2") | .Driver + " " + .Labels' )" "local team=a,x=" \
	"ls --format json: one object a line"
is "$(c volume ls --format '{{.Name}}' | sort | head -1)" "$(vols | cut -d' ' -f1)" "ls --format template"
c volume ls --filter bogus=1 >/dev/null 2>&1; is $? 125 "ls --filter bogus refused"

# ---- named volumes in containers ----
is "$(c run --rm -v data:/data busybox sh -c 'echo kept > /data/f; cat /data/f')" "kept" "run -v NAME:/ctr (created on first use)"
like "$(vols)" "(^| )data " "the volume exists after the container is gone"
is "$(c run --rm -v data:/data busybox cat /data/f)" "kept" "data persists across containers"
c run --rm -v data:/data:ro busybox sh -c 'echo x > /data/g' 2>/dev/null
ok $([ $? != 0 ] && [ ! -e "$R/volumes/data/_data/g" ]; echo $?) "-v NAME:/ctr:ro is read-only"
is "$(c run --rm --mount type=volume,source=m1,target=/m busybox sh -c 'echo y > /m/y && cat /m/y')" "y" \
	"--mount type=volume,source=,target="
c run --rm --mount type=volume,source=m1,target=/m,readonly busybox sh -c 'echo z > /m/z' 2>/dev/null
ok $([ $? != 0 ] && [ ! -e "$R/volumes/m1/_data/z" ]; echo $?) "--mount type=volume,readonly"

# ---- in use: rm refused, for stopped and running containers ----
c create --name user1 -v data:/data busybox true >/dev/null
m=$(c inspect user1 | jq -c '.[0].Mounts[] | select(.Type=="volume")')
is "$(jq -r '[.Name, .Destination, .Driver, (.RW|tostring)] | join(" ")' <<<"$m")" "data /data local true" \
	"inspect: Mounts lists the volume (Type volume, Name, Destination, Driver, RW)"
is "$(jq -r .Source <<<"$m")" "$R/volumes/data/_data" "inspect: the volume's Source"
out=$(c volume rm data 2>&1); rc=$?
is "$rc" 1 "volume rm of a volume a stopped container uses: exit 1"
like "$out" "in use by container" "volume rm: says it is in use"
is "$(printf '%s\n' "$out" | grep -c .)" 1 "volume rm in use: one line"
ok $([ -f "$R/volumes/data/_data/f" ]; echo $?) "the volume is still there"
c run -d --name user2 -v m1:/m busybox sleep 100 >/dev/null
c volume rm m1 >/dev/null 2>&1; is $? 1 "volume rm of a volume a running container uses: exit 1"
is "$(c volume ls --filter dangling=true -q | sort | tr '\n' ' ')" "$(printf '%s\n' v1 v2 "$unnamed" | sort | tr '\n' ' ')" \
	"ls --filter dangling=true: the unused ones"
is "$(c volume ls --filter dangling=false -q | sort | tr '\n' ' ')" "data m1 " "ls --filter dangling=false: the used ones"
c volume rm nosuch >/dev/null 2>&1; is $? 1 "volume rm of a missing volume: exit 1"
c volume rm -f nosuch >/dev/null 2>&1; is $? 0 "volume rm -f of a missing volume: fine"
is "$(c volume rm v1 v2 2>/dev/null)" "v1
v2" "volume rm of unused volumes prints their names"
c rm -f user2 >/dev/null
c rm user1 >/dev/null

# ---- anonymous volumes ----
before=$(nvols)
id=$(c create -v /anon busybox true)
anon=$(c inspect "$id" | jq -r '.[0].Mounts[] | select(.Destination=="/anon") | .Name')
like "$anon" "$hex64" "-v /ctr makes an anonymous volume (64 hex)"
is "$(c volume inspect --format '{{json .Labels}}' "$anon")" '{"com.docker.volume.anonymous":""}' "labelled anonymous as Docker 23+"
c rm "$id" >/dev/null
ok $(c volume inspect "$anon" >/dev/null 2>&1; echo $?) "rm without -v keeps the anonymous volume"
id=$(c create -v /anon2 -v keepme:/k busybox true)
anon2=$(c inspect "$id" | jq -r '.[0].Mounts[] | select(.Destination=="/anon2") | .Name')
c rm -v "$id" >/dev/null
fails "rm -v removes the anonymous volume" -- c volume inspect "$anon2"
check "rm -v keeps named volumes" -- c volume inspect keepme
n0=$(nvols)
c run --rm -v /scratch busybox true
is "$(nvols)" "$n0" "run --rm removes its anonymous volumes"
c run -d --rm -v /scratch2 busybox true >/dev/null
for i in $(seq 50); do [ "$(nvols)" = "$n0" ] && break; sleep 0.1; done
is "$(nvols)" "$n0" "run -d --rm: the monitor removes its anonymous volumes too"

# ---- prune ----
c create --name pruneuser -v /used busybox true >/dev/null
used=$(c inspect pruneuser | jq -r '.[0].Mounts[0].Name')
echo n | c volume prune >/dev/null 2>&1
check "prune answered no removes nothing" -- c volume inspect "$anon"
out=$(c volume prune -f)
like "$out" "Deleted Volumes:" "prune -f lists what it removed"
like "$out" "Total reclaimed space:" "prune -f says the space reclaimed"
fails "prune removes unused anonymous volumes" -- c volume inspect "$anon"
check "prune keeps anonymous volumes in use" -- c volume inspect "$used"
check "prune keeps named volumes without -a" -- c volume inspect keepme
check "prune keeps volumes made by volume create without a name" -- c volume inspect "$unnamed"
c volume prune -f -a >/dev/null
fails "prune -a removes unused named volumes" -- c volume inspect keepme
check "prune -a keeps volumes in use" -- c volume inspect "$used"
c rm -v pruneuser >/dev/null
is "$(nvols)" 0 "nothing left"

# ---- filled from the image ----
mkdir -p "$TMPD/img"
cp -a "$(test_rootfs)/." "$TMPD/img/"
mkdir -p "$TMPD/img/srv/app/sub" "$TMPD/hostsecret"
echo secret > "$TMPD/hostsecret/secret"
echo content > "$TMPD/img/srv/app/f"
ln -s f "$TMPD/img/srv/app/link"
chown 1000:1001 "$TMPD/img/srv/app" "$TMPD/img/srv/app/f"
chmod 0750 "$TMPD/img/srv/app"
chmod 0640 "$TMPD/img/srv/app/f"
ln -s "$TMPD/hostsecret" "$TMPD/img/escape"
tar -C "$TMPD/img" -cf "$TMPD/img.tar" .
c image import --change 'CMD ["sh"]' --change 'VOLUME ["/srv/app"]' "$TMPD/img.tar" volimg:latest >/dev/null 2>&1 ||
	skip_all "cannot import an image with a VOLUME"
id=$(c create volimg)
v=$(c inspect "$id" | jq -r '.[0].Mounts[] | select(.Destination=="/srv/app") | .Name')
like "$v" "$hex64" "the image's Volumes become anonymous volumes"
d="$R/volumes/$v/_data"
is "$(cat "$d/f" 2>/dev/null)" "content" "a new volume is filled with the image's content"
is "$(stat -c '%u:%g %a' "$d/f" 2>/dev/null)" "1000:1001 640" "file owner and mode kept"
is "$(stat -c '%u:%g %a' "$d" 2>/dev/null)" "1000:1001 750" "the mount point's owner and mode kept"
is "$(readlink "$d/link")" "f" "symlinks copied as symlinks"
ok $([ -d "$d/sub" ]; echo $?) "subdirectories copied"
is "$(c start -a "$id" >/dev/null; c logs "$id"; c run --rm volimg cat /srv/app/f)" "content" "the container sees the content"
c rm -v "$id" >/dev/null
is "$(c run --rm -v filled:/srv/app volimg sh -c 'ls /srv/app | tr "\n" " "')" "f link sub " \
	"-v NAME over an image volume: the named volume is used and filled"
is "$(c volume ls -q)" "filled" "no anonymous volume for a path a flag covers"
echo mine > "$R/volumes/filled/_data/f"
c run --rm -v filled:/srv/app volimg true
is "$(cat "$R/volumes/filled/_data/f")" "mine" "a volume with content is not overwritten"
is "$(c run --rm --mount type=volume,source=nc,target=/srv/app,volume-nocopy volimg ls -A /srv/app)" "" \
	"volume-nocopy: not filled"
is "$(c run --rm -v esc:/escape volimg ls /escape 2>/dev/null; ls -A "$R/volumes/esc/_data")" "" \
	"an image symlink at the mount point does not copy host files"
is "$(c run --rm -v inner:/srv/app/sub -v outer:/srv/app volimg sh -c 'echo x > /srv/app/sub/g; grep " /srv/app" /proc/mounts | cut -d" " -f2 | tr "\n" " "')" \
	"/srv/app /srv/app/sub " "parents are mounted before children whatever the flag order (Docker)"
ok $([ -f "$R/volumes/inner/_data/g" ]; echo $?) "the inner volume is the one written"
c volume prune -af >/dev/null

# ---- concurrency: one owner of the name, rm never takes a volume a create is picking ----
for i in 1 2 3 4 5 6; do c create -v shared:/d busybox true > "$TMPD/par.$i" 2>&1 & done; wait
is "$(cat "$TMPD"/par.* | grep -Ec '^[0-9a-f]{64}$')" 6 "6 parallel creates of one new volume all succeed"
is "$(c volume ls -q)" "shared" "and share one volume"
for i in $(c ps -aq); do c rm "$i" >/dev/null; done
# the protocol of <root>/volumes/.lock: creates hold it shared from picking
# their volumes until their record is written, rm and prune exclusive
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
c volume create lk >/dev/null
flock -s "$R/volumes/.lock" sleep 1.5 & sleep 0.2
ok $([ "$(ms c volume rm lk)" -ge 1000 ]; echo $?) "volume rm waits for a create holding the volume lock"
wait
flock -s "$R/volumes/.lock" sleep 1.5 & sleep 0.2
ok $([ "$(ms c create --name lk1 -v lk:/d busybox true)" -lt 1000 ]; echo $?) "creates share the volume lock"
wait
flock -x "$R/volumes/.lock" sleep 1.5 & sleep 0.2
ok $([ "$(ms c create --name lk2 -v lk:/d busybox true)" -ge 1000 ]; echo $?) "a create waits while rm or prune decides"
wait
c rm lk1 lk2 >/dev/null
c volume prune -af >/dev/null

# ---- bad input: one line, exit 125, nothing created ----
n0=$(nvols)
out=$(c run --rm -v x:/d busybox true 2>&1); rc=$?
ok $([ $rc = 125 ] && [ "$(printf '%s\n' "$out" | grep -c .)" = 1 ]; echo $?) "-v with a one-letter volume name: one line, 125"
out=$(c run --rm -v data:rel busybox true 2>&1); rc=$?
ok $([ $rc = 125 ] && [[ $out == *absolute* ]]; echo $?) "-v NAME:relative refused"
out=$(c run --rm -v v9:/d --cpus -1 busybox true 2>&1); rc=$?
is "$rc" 125 "a bad flag with a volume: 125"
is "$(nvols)" "$n0" "no volume created by failed runs"
c volume create -o type=tmpfs tv >/dev/null 2>&1; is $? 125 "volume create -o refused (local plain directories only)"
