#!/bin/sh
# Install from Debian's archive what `make` (build) or `make check` (test)
# needs, and nothing when it is all there already.
set -eu
build="meson ninja-build pkg-config gcc libc6-dev libjson-c-dev libseccomp-dev libcap-dev
 libmnl-dev libnftables-dev libarchive-dev libcurl4-openssl-dev nettle-dev busybox-static
 libnftables1 libarchive13 libcurl4 libmicrohttpd-dev libsystemd-dev"
test="iproute2 nftables util-linux procps runc tmux skopeo umoci podman containerd docker.io
 docker-registry jq crun criu python3-docker docker-compose python3-grpcio python3-protobuf python3-websocket containernetworking-plugins qemu-system-x86 linux-image-cloud-amd64 cpio kmod apache2-utils file mmdebstrap iperf3 strace"
case "${1:-build}" in
build) want=$build ;;
test) want="$build $test" ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# dockerd, containerd and registries must not start by themselves: tests start
# their own instances with private state and remove them afterwards.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends $missing >/dev/null
