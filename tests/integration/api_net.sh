#!/bin/bash
# The Docker Engine API's networks and volumes (`cell system service`),
# driven by Debian's docker 20.10 (/usr/bin/docker) and the docker 28 client
# (/usr/local/bin/docker): network create/ls/inspect/connect/disconnect/rm/
# prune, containers joining user networks and finding each other by name
# through cell-dns; volume create/ls/inspect/rm/prune and run -v. What the
# API makes is what `cell network` and `cell volume` see. Packets go only to
# the bridges and namespaces made here.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
command -v jq >/dev/null || skip_all "jq is not installed"
"$CELL" run --help >/dev/null 2>&1 || skip_all "\`cell run\` is not in this build yet"
tmpdir
R=$TMPD/root
net_cleanup() {
	local i
	for i in $(c ps -aq --no-trunc 2>/dev/null); do c rm -f "$i"; done
	for i in $(ls "$R/networks" 2>/dev/null | sed -n 's/\.json$//p'); do c network rm -f "$i"; done
	grep -o " $R/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
}
defer net_cleanup
tar -C "$(test_rootfs)" -cf "$TMPD/rootfs.tar" . || skip_all "cannot build the test rootfs"
c image import --change 'CMD ["sh"]' "$TMPD/rootfs.tar" busybox:latest >/dev/null 2>&1 ||
	skip_all "\`cell image import\` of the test rootfs failed"

# A /24 that no host address or route covers, in PREFIX.X.0/24.
free24() {
	local try
	for try in $(shuf -i 0-255 -n 60); do
		if [ -z "$(ip -4 route show to match "$1.$try.1" | grep -v '^default')" ] &&
		   [ -z "$(ip -4 addr show to "$1.$try.0/24")" ]; then echo "$try"; return; fi
	done
}
A=$(shuf -i 64-127 -n 1); B=$(free24 "100.$A")
[ -n "$B" ] || skip_all "no free 100.$A.X.0/24 on this host"

SOCK=$TMPD/api.sock
"$CELL" --root "$R" system service -t 0 "unix://$SOCK" 2>"$TMPD/service.log" &
SVC=$!
defer "kill $SVC 2>/dev/null; wait $SVC 2>/dev/null"
for i in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || skip_all "the service did not start: $(cat "$TMPD/service.log")"
api() { curl -s --unix-socket "$SOCK" "$@"; }
code() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" "$@"; }
post() { local u=$1; shift; code -X POST -H 'Content-Type: application/json' -d "$@" "http://x/v1.41$u"; }

# ---- networks: the HTTP side ----
is "$(api http://x/v1.41/networks)" "[]" "GET /networks on a new root: []"
is "$(code http://x/v1.41/networks/nosuch)" 404 "inspect of no such network: 404"
like "$(api http://x/v1.41/networks/nosuch | jq -r .message)" "network nosuch not found" "... dockerd's message"
is "$(code -X DELETE http://x/v1.41/networks/nosuch)" 404 "delete of no such network: 404"
is "$(post /networks/create '{"Name":"bad1","IPAM":{"Config":[{"Subnet":"300.1.2.0/24"}]}}')" 400 "a bad subnet: 400"
is "$(post /networks/create '{"Name":"bad2","IPAM":{"Config":[{"Subnet":"100.'$A.$B'.0/24","Gateway":"10.9.9.9"}]}}')" 400 \
	"a gateway outside its subnet: 400"
is "$(post /networks/create '{"Name":"bad3","Driver":"overlay"}')" 400 "driver overlay: 400"
is "$(post /networks/create '{"Name":5}')" 400 "a Name that is not a string: 400"
is "$(post /networks/create '{"Driver":"bridge"}')" 400 "no Name: 400"
is "$(post /networks/create '{not json')" 400 "a body that is not JSON: 400"
is "$(code 'http://x/v1.41/networks?filters=%7Bnope')" 400 "filters that are not JSON: 400"
is "$(code 'http://x/v1.41/networks?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D')" 400 "an unknown filter: 400"
is "$(ls "$R/networks" 2>/dev/null | grep -c 'bad')" 0 "the refused creates left no network"
is "$(post /networks/create '{"Name":"apin","CheckDuplicate":true,"Labels":{"k":"v"},"IPAM":{"Config":[{"Subnet":"100.'$A.$B'.0/24","Gateway":"100.'$A.$B'.254"}]}}')" 201 \
	"POST /networks/create: 201"
is "$(post /networks/create '{"Name":"apin","CheckDuplicate":true}')" 409 "a duplicate name: 409"
is "$(api http://x/v1.41/networks/apin | jq -r '.Name, .Driver, .Scope, .IPAM.Config[0].Subnet, .IPAM.Config[0].Gateway, .Labels.k' | tr '\n' ' ')" \
	"apin bridge local 100.$A.$B.0/24 100.$A.$B.254 v " "inspect: dockerd's keys"
like "$(c network ls 2>&1)" "apin .*100\.$A\.$B\.0/24" "cell network ls sees the API's network"
ID=$(api http://x/v1.41/networks/apin | jq -r .Id)
is "$(api "http://x/v1.41/networks/${ID:0:10}" | jq -r .Name)" apin "inspect by an id prefix"
is "$(code -X DELETE "http://x/v1.41/networks/$ID")" 204 "DELETE by id: 204"
is "$(post /networks/create '{"Name":"inty","Internal":true,"Labels":{"x":"1"}}')" 201 "create an Internal network"
is "$(api 'http://x/v1.41/networks?filters=%7B%22label%22%3A%5B%22x%3D1%22%5D%7D' | jq -r '.[] | "\(.Name) \(.Internal)"')" \
	"inty true" "GET /networks?filters={label: [x=1]}: Internal"
is "$(code -X POST 'http://x/v1.41/networks/prune?filters=%7B%22label%22%3A%5B%22x%3D2%22%5D%7D')" 200 "prune by a label none has: 200"
is "$(api http://x/v1.41/networks/inty | jq -r .Name)" inty "... and the network stays"
is "$(api -X POST http://x/v1.41/networks/prune | jq -c .NetworksDeleted)" '["inty"]' "POST /networks/prune: NetworksDeleted"
is "$(code -X DELETE http://x/v1.41/networks/bridge)" 403 "bridge cannot be removed: 403"
is "$(c network ls -q | wc -l)" 0 "gone for cell too"

# ---- networks: the docker CLIs ----
for D in /usr/bin/docker /usr/local/bin/docker; do
	[ -x "$D" ] || { skip "$D is not installed"; continue; }
	v=$("$D" --version | sed 's/Docker version \([0-9]*\).*/\1/')
	d() { DOCKER_HOST="unix://$SOCK" timeout 30 "$D" "$@"; }
	t="docker $v"
	N=nv$v
	id=$(d network create --label app=t$v --subnet "100.$A.$B.0/24" --gateway "100.$A.$B.1" "$N" 2>&1)
	like "$id" "^[0-9a-f]{64}$" "$t: network create prints the id"
	fails "$t: network create of a name that exists fails" -- d network create "$N"
	like "$LAST_OUT" "already exists" "$t: ... saying so"
	fails "$t: network create --subnet 300.0.0.0/8 fails" -- d network create --subnet 300.0.0.0/8 bad$v
	d network create lone$v >/dev/null
	like "$(d network ls --format '{{.Name}} {{.Driver}} {{.Scope}}')" "$N bridge local" "$t: network ls"
	is "$(d network ls -q --filter label=app=t$v | wc -l)" 1 "$t: network ls --filter label="
	is "$(d network ls -q --filter name=lone$v)" "$(d network inspect -f '{{.Id}}' lone$v | cut -c1-12)" \
		"$t: network ls --filter name="
	is "$(d network ls -q --filter type=custom | wc -l)" 2 "$t: network ls --filter type=custom"
	is "$(d network inspect -f '{{(index .IPAM.Config 0).Subnet}} {{.Labels.app}}' "$N")" "100.$A.$B.0/24 t$v" \
		"$t: network inspect -f"
	is "$(d network inspect -f '{{.Name}}' "${id:0:12}")" "$N" "$t: network inspect by a short id"
	fails "$t: network inspect of no such network fails" -- d network inspect nosuch
	# containers made with --network join it at their start
	d run -d --name a$v --network "$N" --network-alias web$v busybox sleep 300 >/dev/null
	like "$(d inspect -f "{{.NetworkSettings.Networks.$N.IPAddress}}" a$v)" "^100\.$A\.$B\.[0-9]+$" \
		"$t: run --network: an address on the network"
	like "$(c exec a$v ip -o -4 addr show dev eth0 2>&1)" "inet 100\.$A\.$B\." "$t: ... and inside the container"
	is "$(d network inspect -f '{{range .Containers}}{{.Name}}{{end}}' "$N")" "a$v" "$t: network inspect: its Containers"
	fails "$t: network rm of a network in use fails" -- d network rm "$N"
	like "$LAST_OUT" "in use" "$t: ... saying it is in use"
	is "$(code -X DELETE "http://x/v1.41/networks/$N")" 409 "$t: DELETE of a network in use: 409"
	# connect and disconnect a running container
	d run -d --name b$v --network none busybox sleep 300 >/dev/null
	check "$t: network connect --alias" -- d network connect --alias bee$v "$N" b$v
	like "$(c exec b$v ip -o -4 addr 2>&1)" "inet 100\.$A\.$B\." "$t: b has an address on the network"
	like "$(d inspect -f "{{.NetworkSettings.Networks.$N.IPAddress}}" b$v)" "^100\.$A\.$B\." "$t: inspect shows it"
	like "$(c exec a$v nslookup bee$v 2>&1)" "100\.$A\.$B\." "$t: a resolves b's alias (cell-dns)"
	check "$t: a pings b by name" -- c exec a$v ping -c1 -W3 b$v
	check "$t: b pings a by its --network-alias" -- c exec b$v ping -c1 -W3 web$v
	fails "$t: network connect twice fails" -- d network connect "$N" b$v
	fails "$t: network connect to no such network fails" -- d network connect nosuch b$v
	is "$(post "/networks/$N/connect" '{"Container":"nosuch"}')" 404 "$t: connect of no such container: 404"
	check "$t: network disconnect" -- d network disconnect "$N" b$v
	check "$t: network connect --ip" -- d network connect --ip "100.$A.$B.77" "$N" b$v
	like "$(c exec b$v ip -o -4 addr 2>&1)" "inet 100\.$A\.$B\.77/" "$t: b has the address asked for"
	fails "$t: network connect --ip outside the subnet fails" -- d network connect --ip 10.254.254.254 lone$v b$v
	check "$t: disconnect -f" -- d network disconnect -f "$N" b$v
	is "$(c exec b$v ip -o -4 addr 2>&1 | grep -c "100\.$A\.$B\.")" 0 "$t: b's address is gone"
	is "$(d inspect -f '{{range $k, $x := .NetworkSettings.Networks}}{{$k}} {{end}}' b$v | grep -c "$N")" 0 \
		"$t: ... and from its record"
	fails "$t: disconnect again fails" -- d network disconnect "$N" b$v
	like "$LAST_OUT" "not connected" "$t: ... saying so"
	# compose's order: create, disconnect, connect with aliases, start
	d create --name s$v --network "$N" busybox sleep 300 >/dev/null
	is "$(d inspect -f "{{len .NetworkSettings.Networks}}" s$v)" 1 "$t: a created container lists its network"
	check "$t: disconnect a created container" -- d network disconnect "$N" s$v
	check "$t: connect a created container with an alias and an address" -- \
		d network connect --alias sa$v --ip "100.$A.$B.88" "$N" s$v
	check "$t: ... start it" -- d start s$v
	like "$(c exec s$v ip -o -4 addr show dev eth0 2>&1)" "inet 100\.$A\.$B\.88/" "$t: it has the address given before the start"
	like "$(c exec a$v nslookup sa$v 2>&1)" "100\.$A\.$B\." "$t: the alias given before the start resolves"
	# a second network, kept over a restart
	check "$t: connect a to a second network" -- d network connect lone$v a$v
	like "$(c exec a$v ip -o -4 addr show dev eth1 2>&1)" "inet " "$t: a has eth1"
	check "$t: restart a" -- d restart -t 1 a$v
	like "$(c exec a$v ip -o -4 addr show dev eth1 2>&1)" "inet " "$t: a has eth1 again after the restart"
	is "$(d inspect -f '{{range $k, $x := .NetworkSettings.Networks}}{{$k}} {{end}}' a$v)" "lone$v $N " \
		"$t: ... and both networks in inspect"
	d rm -f a$v b$v s$v >/dev/null
	check "$t: network rm" -- d network rm "$N"
	is "$(code "http://x/v1.41/networks/$N")" 404 "$t: gone"
	# prune: unused networks only, by label
	d network create --label keep=no p1$v >/dev/null; d network create p2$v >/dev/null
	out=$(d network prune -f --filter label=keep=no 2>&1)
	like "$out" "p1$v" "$t: network prune --filter label= names what it removed"
	is "$(d network ls -q --filter name=p | wc -l)" 1 "$t: ... and kept the other"
	out=$(d network prune -f 2>&1)
	like "$out" "p2$v" "$t: network prune"
	is "$(d network ls -q | wc -l)" 0 "$t: no network left"
done

# ---- volumes: the HTTP side ----
is "$(api http://x/v1.41/volumes | jq -c .)" '{"Volumes":[],"Warnings":[]}' "GET /volumes on a new root"
is "$(code http://x/v1.41/volumes/nosuch)" 404 "inspect of no such volume: 404"
like "$(api http://x/v1.41/volumes/nosuch | jq -r .message)" "no such volume" "... dockerd's message"
is "$(code -X DELETE http://x/v1.41/volumes/nosuch)" 404 "delete of no such volume: 404"
is "$(code -X DELETE 'http://x/v1.41/volumes/nosuch?force=1')" 204 "... with force: 204"
is "$(post /volumes/create '{"Name":"bad/name"}')" 400 "a name with a slash: 400"
is "$(post /volumes/create '{"Name":"nfs1","Driver":"nfs"}')" 400 "driver nfs: 400"
is "$(post /volumes/create '{"Name":"o1","DriverOpts":{"type":"tmpfs"}}')" 400 "DriverOpts: 400 (plain directories only)"
is "$(post /volumes/create '{"Name":"l1","Labels":{"a":1}}')" 400 "a label that is not a string: 400"
is "$(post /volumes/create '{"Name":7}')" 400 "a Name that is not a string: 400"
is "$(c volume ls -q | wc -l)" 0 "the refused creates left no volume"
is "$(post /volumes/create '{"Name":"hv","Driver":"local","Labels":{"a":"b"}}')" 201 "POST /volumes/create: 201"
is "$(api http://x/v1.41/volumes/hv | jq -r '.Name, .Driver, .Scope, .Labels.a, .Mountpoint' | tr '\n' ' ')" \
	"hv local local b $R/volumes/hv/_data " "inspect: dockerd's keys"
is "$(post /volumes/create '{"Name":"hv"}')" 201 "create of a volume that exists: the volume (as dockerd)"
is "$(c volume ls -q)" hv "cell volume ls sees the API's volume"
is "$(api 'http://x/v1.41/volumes?filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D' | jq -r '.Volumes[].Name')" hv \
	"GET /volumes?filters={label: [a=b]}"
is "$(api 'http://x/v1.41/volumes?filters=%7B%22label%22%3A%5B%22a%3Dc%22%5D%7D' | jq -r '.Volumes | length')" 0 \
	"... and a=c: none"
is "$(code 'http://x/v1.41/volumes?filters=%7B%22dangling%22%3A%5B%22maybe%22%5D%7D')" 400 "dangling=maybe: 400"
is "$(code -X DELETE http://x/v1.41/volumes/hv)" 204 "DELETE /volumes/hv: 204"
is "$(c volume ls -q | wc -l)" 0 "gone for cell too"

# ---- volumes: the docker CLIs ----
for D in /usr/bin/docker /usr/local/bin/docker; do
	[ -x "$D" ] || { skip "$D is not installed"; continue; }
	v=$("$D" --version | sed 's/Docker version \([0-9]*\).*/\1/')
	d() { DOCKER_HOST="unix://$SOCK" timeout 30 "$D" "$@"; }
	t="docker $v"
	V=vol$v
	is "$(d volume create --label app=t$v "$V" 2>&1)" "$V" "$t: volume create prints the name"
	like "$(d volume ls --format '{{.Driver}} {{.Name}}')" "local $V" "$t: volume ls"
	is "$(d volume ls -q --filter label=app=t$v)" "$V" "$t: volume ls --filter label="
	is "$(d volume ls -q --filter name=nothing | wc -l)" 0 "$t: volume ls --filter name= that matches none"
	is "$(d volume inspect -f '{{.Mountpoint}} {{.Labels.app}}' "$V")" "$R/volumes/$V/_data t$v" "$t: volume inspect -f"
	fails "$t: volume inspect of no such volume fails" -- d volume inspect nosuch
	check "$t: run -v $V:/data writes into it" -- d run --rm --network none -v "$V:/data" busybox sh -c "echo kept$v > /data/f"
	is "$(cat "$R/volumes/$V/_data/f" 2>&1)" "kept$v" "$t: ... the file is in the volume's _data"
	d run --name rd$v --network none -v "$V:/data" busybox cat /data/f >/dev/null 2>&1
	is "$(d logs rd$v 2>&1)" "kept$v" "$t: a second container reads it"
	d rm rd$v >/dev/null
	d run -d --name vu$v --network none -v "$V:/data" busybox sleep 300 >/dev/null
	is "$(d volume ls -q --filter dangling=false)" "$V" "$t: volume ls --filter dangling=false: the one in use"
	fails "$t: volume rm of a volume in use fails" -- d volume rm "$V"
	like "$LAST_OUT" "in use" "$t: ... saying it is in use"
	is "$(code -X DELETE "http://x/v1.41/volumes/$V")" 409 "$t: DELETE of a volume in use: 409"
	d rm -f vu$v >/dev/null
	is "$(d volume ls -q --filter dangling=true)" "$V" "$t: dangling=true once its container is gone"
	check "$t: volume rm" -- d volume rm "$V"
	is "$(code "http://x/v1.41/volumes/$V")" 404 "$t: gone"
	# prune: unused ones only, by label; an anonymous one goes by default
	d volume create --label k=1 vp$v >/dev/null; d volume create vq$v >/dev/null
	d run --name an$v --network none -v /anon busybox true >/dev/null 2>&1; d rm an$v >/dev/null
	d run -d --name vk$v --network none -v vq$v:/q busybox sleep 300 >/dev/null
	is "$(c volume ls -q | wc -l)" 3 "$t: two named volumes and an anonymous one (run -v /anon, rm keeps it)"
	d run --name aw$v --network none -v /w busybox true >/dev/null 2>&1
	is "$(c volume ls -q | wc -l)" 4 "$t: run -v /w makes an anonymous volume"
	d rm -v aw$v >/dev/null
	is "$(c volume ls -q | wc -l)" 3 "$t: rm -v takes it along"
	if [ "$v" -ge 23 ]; then all=-a; else all=; fi	# 1.42+: named ones only with all
	out=$(d volume prune -f $all --filter label=k=1 2>&1)
	like "$out" "vp$v" "$t: volume prune --filter label=k=1 removes vp"
	is "$(c volume ls -q | grep -c "^vp$v\$")" 0 "$t: ... it is gone"
	is "$(c volume ls -q | wc -l)" 2 "$t: ... and only it"
	out=$(d volume prune -f $all 2>&1)
	is "$(c volume ls -q)" "vq$v" "$t: volume prune: the anonymous one goes, the one in use stays"
	d rm -f vk$v >/dev/null
	d volume rm vq$v >/dev/null
done

# ---- docker-compose 1.29: a user network, a named volume, two services ----
if ! command -v docker-compose >/dev/null; then
	skip "docker-compose is not installed"
else
	P=apit$$
	mkdir -p "$TMPD/proj"
	cat > "$TMPD/proj/docker-compose.yml" <<'YML'
version: "3.7"
services:
  web:
    image: busybox:latest
    command: sh -c 'echo hello-from-the-volume > /data/hello; echo web-up; exec httpd -f -p 8080 -h /data'
    volumes:
      - store:/data
    networks:
      - back
  client:
    image: busybox:latest
    command: sh -c 'for i in $$(seq 50); do wget -qO- http://web:8080/hello && break; sleep 0.2; done; echo client-up; exec sleep 300'
    depends_on:
      - web
    networks:
      - back
networks:
  back: {}
volumes:
  store: {}
YML
	dc() { (cd "$TMPD/proj" && timeout 120 docker-compose -H "unix://$SOCK" -p "$P" "$@"); }
	defer "cd '$TMPD/proj' && timeout 60 docker-compose -H 'unix://$SOCK' -p '$P' down -v -t 1"
	check "compose up -d" -- dc up -d
	out=$(dc ps 2>&1)
	like "$out" "${P}_web_1 .* Up" "compose ps: web is Up"
	like "$out" "${P}_client_1 .* Up" "compose ps: client is Up"
	like "$(c network ls 2>&1)" "${P}_back " "cell sees compose's network"
	is "$(c volume ls -q)" "${P}_store" "cell sees compose's named volume"
	for i in $(seq 50); do dc logs client 2>/dev/null | grep -q client-up && break; sleep 0.2; done
	out=$(dc logs --no-color 2>&1)
	like "$out" "web_1 .*web-up" "compose logs: web's output"
	like "$out" "client_1 .*hello-from-the-volume" "compose logs: the client fetched http://web:8080 by service name"
	SUB=$(c network inspect "${P}_back" | jq -r '.[0].IPAM.Config[0].Subnet' | cut -d. -f1-2)
	like "$(c exec "${P}_client_1" nslookup web 2>&1)" "Address.*$SUB\." "the client resolves web (cell-dns)"
	check "the client pings web by name" -- c exec "${P}_client_1" ping -c1 -W3 web
	is "$(cat "$R/volumes/${P}_store/_data/hello" 2>&1)" "hello-from-the-volume" "web wrote into the named volume"
	BR=$(c network inspect "${P}_back" | jq -r '.[0].Options["com.docker.network.bridge.name"]')
	check "compose down -v" -- dc down -v -t 1
	is "$(c ps -aq | wc -l)" 0 "down: no container left"
	is "$(c network ls -q | wc -l)" 0 "down: the network is gone"
	is "$(c volume ls -q | wc -l)" 0 "down -v: the volume is gone"
	fails "down: the bridge $BR is gone" -- ip link show dev "$BR"
fi
