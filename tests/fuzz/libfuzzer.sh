#!/bin/bash
# Build one fuzz target with clang's libFuzzer (ASan + UBSan) and fuzz it for
# a while, starting from its corpus. The meson build instead links each
# target with replay.c, so the corpus runs as a regression test.
#
#   tests/fuzz/libfuzzer.sh TARGET [SECONDS]     e.g. seccomp 120
#
# Crashes are written to build-fuzz/crash-*; add the input to
# tests/fuzz/corpus/TARGET/ once it is fixed.
set -eu
cd "$(dirname "$0")/../.."
t=${1:?usage: $0 TARGET [SECONDS]}
secs=${2:-60}
B=${FUZZ_BUILD:-build-fuzz}
[ -f "tests/fuzz/fuzz_$t.c" ] || { echo "no target tests/fuzz/fuzz_$t.c" >&2; exit 2; }
command -v clang >/dev/null || { echo "clang is needed (apt-get install clang)" >&2; exit 2; }
if [ ! -f "$B/build.ninja" ]; then
	CC=clang meson setup "$B" -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C "$B" libcell.a >/dev/null
pkgs="json-c libseccomp libmnl libnftables libarchive libcurl nettle"
# shellcheck disable=SC2046
clang -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -DCELL_VERSION='"fuzz"' \
	-Isrc/lib -Isrc/lib/core $(pkg-config --cflags $pkgs) \
	"tests/fuzz/fuzz_$t.c" "$B/libcell.a" $(pkg-config --libs $pkgs) -o "$B/libfuzzer-$t"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -d "tests/fuzz/corpus/$t" ]; then
	cp -r "tests/fuzz/corpus/$t/." "$work/"
fi
"$B/libfuzzer-$t" -max_total_time="$secs" -timeout=10 -artifact_prefix="$B/" "$work"
