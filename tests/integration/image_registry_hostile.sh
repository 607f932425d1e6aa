#!/bin/bash
# cell pull / push against a hostile registry on loopback
# (tests/lib/hostile_registry.py, 127.0.0.1 and 127.0.0.2 as the foreign
# host): every refusal is one line naming the reference and the cause, exit
# 125, and leaves no temp file, layer, blob or image record; credentials never
# reach 127.0.0.2; a token expiring mid-pull is refreshed; what a pull or load
# killed -9 left is removed by the next store operation.
. "$(dirname "$0")/../lib/tap.sh"
need_root
tmpdir
python3 "$(dirname "$0")/../lib/hostile_registry.py" "$TMPD/port" "$TMPD/log" & srv=$!
defer "kill $srv; wait $srv"
for _ in $(seq 100); do [ -s "$TMPD/port" ] && break; sleep 0.1; done
check "the hostile registry listens" -- test -s "$TMPD/port"
P=$(cat "$TMPD/port")
REG=127.0.0.1:$P

store_state() {	# what a store holds, and its bytes
	echo "$(find "$1/blobs" "$1/layers" "$1/tmp" -mindepth 1 2>/dev/null | wc -l)" \
		"$(du -sb "$1/blobs" "$1/layers" "$1/tmp" 2>/dev/null | awk '{s += $1} END {print s + 0}')"
}

# refused SCENARIO CAUSE-REGEX [ENV=VALUE...] [-- extra pull args]
refused() {
	local scen=$1 why=$2 R=$TMPD/r-$1 out rc before; shift 2
	local envs=() args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ "${1:-}" = -- ] && { shift; args=("$@"); }
	"$CELL" --root "$R" image ls -q >/dev/null	# the store exists, empty
	before=$(store_state "$R")
	out=$(env "${envs[@]}" "$CELL" --root "$R" pull -q "${args[@]}" "$REG/$scen:1" 2>&1); rc=$?
	is "$rc" 125 "$scen: the pull fails with 125"
	is "$(printf '%s\n' "$out" | wc -l)" 1 "$scen: one line"
	like "$out" "^cell: pull \`$REG/$scen:1\`: .*($why)" "$scen: names the reference and the cause"
	is "$(find "$R" -name '.tmp-*' | wc -l)" 0 "$scen: no temp file"
	is "$(ls -A "$R/layers" | wc -l)" 0 "$scen: no layer, partial or whole"
	is "$("$CELL" --root "$R" image ls -q | wc -l)" 0 "$scen: no image record"
	is "$(store_state "$R")" "$before" "$scen: the store's size is unchanged"
}

# sanity: the registry serves a good image
check "a good image pulls" -- "$CELL" --root "$TMPD/r-good" pull -q "$REG/good:1"
check "and runs nothing hostile: its file is there" -- \
	test -s "$TMPD/r-good/layers/$(ls "$TMPD/r-good/layers" | head -1)/hello"

# sizes: the declared size bounds the download and must be met
refused bigger 'sent more than the 100 bytes the manifest declares'
refused shorter 'the registry sent [0-9]+ bytes, the manifest declares [0-9]+'
refused endless 'sent more than the [0-9]+ bytes the manifest declares'

# a gzip bomb: 200 MiB of zeros in ~200 KB (ratio bound: 64 MiB allowed)
refused bomb 'layer `sha256:[0-9a-f]{64}`: refused: it decompresses to more than 64 MiB'
refused bomb 'layer `sha256:[0-9a-f]{64}`: refused: the store.s file system has [0-9]+ MiB free' \
	CELL_STORE_MIN_FREE=999999999

# NUL in the config: one digest, two texts
refused nul 'image config: contains a NUL byte'

# a server at 1 byte/s: the minimum rate over a window, and the deadline
refused slow 'ran below 1000 bytes/s for 2 s' CELL_PULL_MIN_RATE=1000 CELL_PULL_RATE_WINDOW=2
refused slow 'gave up after 2 s' CELL_PULL_TIMEOUT=2

# not images
refused manylayers 'an image of 20000 layers \(more than the [0-9]+ one overlay mount can stack\)'
refused artifact 'an artifact of type `application/vnd.cncf.helm.config.v1\+json`, not an image'
refused nolayers 'an image without layers'
refused badlayer 'layer 0 of media type `application/vnd.example.weird`: not an image layer'
refused hugemanifest 'the answer is larger than the 64 MiB cell accepts'
refused nested 'nested indexes are not supported'

# tokens: control characters, size
refused inject 'control, space or non-ASCII character'
is "$(grep -c 'X-Injected' "$TMPD/log")" 0 "inject: no request carried the injected header"
refused hugetoken 'a token of 102400 bytes \(more than the 64 KiB cell accepts\)'

# credentials: a redirect target asking for a token gets nothing
refused redirect 'a redirect target asks for authentication' -- --creds user:s3cret
like "$(grep '^127.0.0.2 ' "$TMPD/log")" 'blobs' "redirect: the blob request did reach 127.0.0.2"
is "$(grep '^127.0.0.2 ' "$TMPD/log" | grep -vc 'auth=-$')" 0 \
	"redirect: 127.0.0.2 never saw an Authorization header"

# a realm on another host gets no credentials (and the pull still works anonymously)
check "realm on 127.0.0.2: the pull succeeds" -- "$CELL" --root "$TMPD/r-realm" pull -q --creds user:s3cret \
	"$REG/realmforeign:1"
like "$(grep '^127.0.0.2 GET /token/realmforeign' "$TMPD/log")" 'auth=-$' \
	"realm on 127.0.0.2: the token request carried no Authorization"
like "$(grep '^127.0.0.1 GET /v2/realmforeign' "$TMPD/log" | tail -1)" 'auth=Bearer goodtok$' \
	"realm on 127.0.0.2: the token is used on the registry"

# ... unless config.json holds credentials for that host itself
mkdir -p "$TMPD/dockercfg"
printf '{"auths":{"127.0.0.2:%s":{"auth":"%s"}}}' "$P" "$(printf realm:pw | base64)" > "$TMPD/dockercfg/config.json"
check "realm on 127.0.0.2 with its own config.json entry: the pull succeeds" -- env DOCKER_CONFIG="$TMPD/dockercfg" \
	"$CELL" --root "$TMPD/r-realm2" pull -q "$REG/realmforeign:1"
like "$(grep '^127.0.0.2 GET /token/realmforeign' "$TMPD/log" | tail -1)" "auth=Basic $(printf realm:pw | base64)\$" \
	"realm on 127.0.0.2: it gets the credentials configured for it, and only those"

# a token expiring between the config and the layer: refreshed, the blob intact
check "refresh: a 401 mid-pull gets a new token and the pull succeeds" -- \
	"$CELL" --root "$TMPD/r-refresh" pull -q "$REG/refresh:1"
is "$(grep -c '^127.0.0.1 GET /token/refresh' "$TMPD/log")" 2 "refresh: two tokens were asked"
is "$("$CELL" --root "$TMPD/r-refresh" image inspect -f '{{json .Config.Cmd}}' "$REG/refresh:1")" '["sh"]' \
	"refresh: the image is recorded whole"

# push: the upload Location on another host gets no credentials
RP=$TMPD/r-good
check "push to a registry whose upload Location is on 127.0.0.2" -- \
	"$CELL" --root "$RP" push -q --creds user:s3cret "$REG/good:1" "$REG/push:1"
like "$(grep '^127.0.0.2 PUT /upload' "$TMPD/log")" 'auth=-' "push: the blobs went to 127.0.0.2"
is "$(grep '^127.0.0.2 ' "$TMPD/log" | grep -c 'PUT.*auth=Basic')" 0 \
	"push: 127.0.0.2 never saw the credentials"
like "$(grep '^127.0.0.1 PUT /v2/push/manifests' "$TMPD/log")" 'auth=Basic' "push: the registry itself did"

# a pull killed -9 mid-blob: its temp file goes at the next store operation
RK=$TMPD/r-killed
"$CELL" --root "$RK" pull -q "$REG/slow:1" >/dev/null 2>&1 & kp=$!
for _ in $(seq 100); do [ -n "$(find "$RK/blobs" -name '.tmp-*' 2>/dev/null)" ] && break; sleep 0.1; done
is "$(find "$RK/blobs" -name '.tmp-*' | wc -l)" 1 "killed pull: its temp blob exists while it runs"
kill -9 $kp; wait $kp 2>/dev/null
check "killed pull: the next pull succeeds" -- "$CELL" --root "$RK" pull -q "$REG/good:1"
is "$(find "$RK" -name '.tmp-*' | wc -l)" 0 "killed pull: no temp file left after the next pull"
