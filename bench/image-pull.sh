#!/bin/bash
# Pull time from a loopback docker-registry: `cell pull` (download, verify,
# unpack into the store) against `skopeo copy` to an OCI dir (download and
# verify only, no unpack) and `podman pull` when installed. One run each.
# Goal: cell at least 1.5x faster than podman.
#   bench/image-pull.sh [ROOTFS.tar]   default: a tar of /usr/share/doc + /usr/lib/python3
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
CELL=${CELL:-$top/build/cell}
command -v docker-registry >/dev/null || { echo "docker-registry not installed" >&2; exit 77; }
w=$(mktemp -d /tmp/cell-bench-pull.XXXXXX)
pid=""
trap 'set +e; [ -n "$pid" ] && kill $pid; grep -o "$w[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l; rm -rf "$w"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$w/config.yml" <<CFG
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $w/data
http:
  addr: 127.0.0.1:$port
CFG
docker-registry serve "$w/config.yml" >/dev/null 2>&1 & pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.1; done
src=${1:-}
if [ -z "$src" ]; then
	src=$w/rootfs.tar.gz
	tar -C / -czf "$src" usr/share/doc usr/lib/python3 2>/dev/null || true
fi
"$CELL" --root "$w/src" image import -q "$src" bench:1 >/dev/null
"$CELL" --root "$w/src" push -q bench:1 "127.0.0.1:$port/bench/img:1"
echo "image: $(du -m "$src" | cut -f1) MiB compressed"
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
c=$(t "$CELL" --root "$w/dst" pull -q "127.0.0.1:$port/bench/img:1")
s=$(t skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$port/bench/img:1" "oci:$w/oci:1")
printf '%-36s %6.2fs\n' "cell pull (with unpack)" "$c" "skopeo copy to oci dir (no unpack)" "$s"
if command -v podman >/dev/null; then
	p=$(t podman --root "$w/podman" --runroot "$w/podman-run" --tmpdir "$w/podman-tmp" pull --tls-verify=false "127.0.0.1:$port/bench/img:1")
	printf '%-36s %6.2fs  (cell is %.2fx faster)\n' "podman pull" "$p" "$(echo "$p / $c" | bc -l)"
fi
