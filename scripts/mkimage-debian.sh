#!/bin/bash
# Build a Debian image with nginx (the seeds' `docker run nginx`) with
# mmdebstrap from Debian's archive, no container registry involved, and
# import it with `cell image import`.
#
# Idempotent: skipped when the image exists with the same suite and nginx
# version (label org.cell.debian); FORCE=1 rebuilds.
#   CELL=path/to/cell CELL_ROOT=/var/lib/cell IMAGE=debian-nginx:latest
#   SUITE=bookworm MIRROR=<from the host's apt sources> PACKAGES="nginx ..."
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
CELL=${CELL:-$top/build/cell}
IMAGE=${IMAGE:-debian-nginx:latest}
SUITE=${SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")}
PACKAGES=${PACKAGES:-nginx-light ca-certificates curl procps iproute2 iputils-ping}
cell() { "$CELL" ${CELL_ROOT:+--root "$CELL_ROOT"} "$@"; }

[ "$(id -u)" = 0 ] || { echo "mkimage-debian: needs root" >&2; exit 1; }
[ -x "$CELL" ] || { echo "mkimage-debian: $CELL not built (run make)" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "mkimage-debian: mmdebstrap missing (scripts/deps.sh test)" >&2; exit 1; }

# the host's own mirror: the one apt here can reach
if [ -z "${MIRROR:-}" ]; then
	MIRROR=$(sed -n 's/^URIs: *\([^ ]*\/debian\)\/\{0,1\}$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
	[ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
	[ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
fi

version=$(apt-cache policy nginx-light 2>/dev/null | sed -n 's/ *Candidate: //p')
label="org.cell.debian=$SUITE/${version:-unknown}"
if [ "${FORCE:-0}" != 1 ] &&
	cell image inspect --format '{{json .Config.Labels}}' "$IMAGE" 2>/dev/null | grep -qF "\"org.cell.debian\":\"$SUITE/${version:-unknown}\""; then
	echo "$IMAGE is up to date ($SUITE, nginx $version)"
	exit 0
fi

work=$(mktemp -d /tmp/cell-mkimage-debian.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "mkimage-debian: mmdebstrap $SUITE from $MIRROR with: $PACKAGES" >&2
# nginx logs to the container's stdout/stderr, as the official image does
mmdebstrap --quiet --variant=minbase --include="${PACKAGES// /,}" \
	--customize-hook='ln -sf /dev/stdout "$1/var/log/nginx/access.log"' \
	--customize-hook='ln -sf /dev/stderr "$1/var/log/nginx/error.log"' \
	--customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
	"$SUITE" "$work/rootfs.tar" "$MIRROR"
cell image import -q \
	--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'CMD ["nginx", "-g", "daemon off;"]' \
	--change 'EXPOSE 80' \
	--change 'STOPSIGNAL SIGQUIT' \
	--change "LABEL $label" \
	--message "mmdebstrap $SUITE + nginx $version" \
	"$work/rootfs.tar" "$IMAGE" >/dev/null
echo "built $IMAGE ($SUITE, nginx $version)"
