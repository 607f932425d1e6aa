#!/bin/bash
# cell build: a multi-stage Containerfile with build args, WORKDIR, COPY
# --from and --chown by name, .dockerignore with an exception, metadata
# instructions into the config and history; the image runs under cell; a
# rebuild comes from the cache (same id, no new image), a changed file or
# build arg reruns only what follows it; a failing RUN names its command and
# exit code and leaves nothing behind; builder prune empties the cache.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/engine.sh"
need_root
engine_setup
b() { c build --network none "$@"; }

X=$TMPD/ctx
mkdir -p "$X/sub/deep" "$X/skip"
echo one > "$X/a.txt"
echo deep > "$X/sub/deep/kept"
echo no > "$X/sub/deep/gone"
echo log > "$X/x.log"
echo s > "$X/skip/f"
printf '*.log\nskip\nsub/deep\n!sub/deep/kept\n' > "$X/.dockerignore"
cat > "$X/Containerfile" <<'EOF'
ARG BASE=busybox
FROM ${BASE} AS builder
ARG MSG=default
RUN echo "$MSG" > /msg
FROM busybox AS broken
RUN exit 9
FROM $BASE
ENV GREETING=hi
WORKDIR /app
COPY --from=builder /msg ./
COPY --chown=tester . /ctx/
RUN echo "$GREETING" > /app/greet && cat /ctx/a.txt >> /app/greet
USER tester
LABEL org.example=yes
EXPOSE 80 53/udp
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --retries=2 CMD true
ENTRYPOINT ["cat"]
CMD ["/app/greet"]
EOF

out=$(b --build-arg MSG=hello -t app:1 -t app:2 --label from=cli --iidfile "$TMPD/iid" "$X" 2>&1)
ok $? "multi-stage build succeeds (the unused failing stage is skipped)"
like "$out" '\[1/2\] STEP 1/3: FROM \$\{BASE\} AS builder' "steps are numbered per stage"
like "$out" 'COMMIT app:1' "COMMIT names the first tag"
id=$(tail -n1 <<<"$out")
like "$id" '^[0-9a-f]{64}$' "the image id is the last line"
is "$(cat "$TMPD/iid")" "sha256:$id" "--iidfile holds the id"
is "$(c run --rm app:2)" "$(printf 'hi\none')" "the built image runs (ENV, WORKDIR, COPY, ENTRYPOINT, CMD)"
is "$(c run --rm --entrypoint cat app:1 /app/msg)" hello "COPY --from a stage built with --build-arg"
is "$(c run --rm --entrypoint sh app:1 -c 'stat -c "%u:%g" /ctx/a.txt /ctx/sub')" "$(printf '1000:1000\n1000:1000')" \
	"COPY --chown=tester resolved in the image's /etc/passwd"
is "$(c run --rm --entrypoint sh app:1 -c 'cd /ctx && find . -type f | sort | tr "\n" " "')" \
	"./.dockerignore ./Containerfile ./a.txt ./sub/deep/kept " ".dockerignore excludes, ! keeps an exception"
is "$(c image inspect -f '{{.Config.User}} {{.Config.WorkingDir}} {{.Config.StopSignal}}' app:1)" \
	"tester /app SIGTERM" "USER, WORKDIR, STOPSIGNAL in the config"
is "$(c image inspect -f '{{json .Config.ExposedPorts}}' app:1 | jq -c 'keys')" '["53/udp","80/tcp"]' "EXPOSE"
is "$(c image inspect -f '{{json .Config.Labels}}' app:1 | jq -c .)" '{"org.example":"yes","from":"cli"}' \
	"LABEL and --label"
hc=$(jq -c '.config.Healthcheck' "$R/blobs/sha256/$id")
is "$hc" '{"Test":["CMD-SHELL","true"],"Interval":5000000000,"Retries":2}' "HEALTHCHECK in the config"
is "$(jq -c '[.history[] | select(.empty_layer == true) | .created_by] | length' "$R/blobs/sha256/$id")" 8 \
	"metadata steps are empty_layer history entries"
like "$(c image history app:1)" 'RUN /bin/sh -c echo "\$GREETING"' "history names the RUN"

n_images=$(c images -q | wc -l)
out=$(b --build-arg MSG=hello -t app:1 --label from=cli "$X" 2>&1)
is "$(tail -n1 <<<"$out")" "$id" "a rebuild gives the same image id"
is "$(grep -c 'Using cache' <<<"$out")" 13 "every step comes from the cache"
is "$(c images -q | wc -l)" "$n_images" "a cached rebuild makes no image"

echo two > "$X/a.txt"
out=$(b --build-arg MSG=hello -t app:1 "$X" 2>&1)
ok $? "rebuild after a copied file changed"
like "$(tr '\n' '~' <<<"$out")" 'STEP 4/13: COPY --from=builder /msg ./~--> Using cache' "steps before the changed COPY are cached"
like "$(tr '\n' '~' <<<"$out")" 'STEP 5/13: COPY --chown=tester . /ctx/~--> [0-9a-f]{12}' "the COPY of the changed file runs again"
is "$(c run --rm app:1)" "$(printf 'hi\ntwo')" "the image has the new content"
echo changed > "$X/x.log"
out=$(b --build-arg MSG=hello -t app:1 "$X" 2>&1)
is "$(grep -c 'Using cache' <<<"$out")" 13 "an ignored file's change misses no cache step"
echo kept2 > "$X/sub/deep/kept"
out=$(b --build-arg MSG=hello -t app:1 "$X" 2>&1)
like "$(tr '\n' '~' <<<"$out")" 'STEP 5/13: COPY --chown=tester . /ctx/~--> [0-9a-f]{12}' \
	"a change to a ! exception inside an excluded dir reruns the COPY"
out=$(b --build-arg MSG=other "$X" 2>&1)
like "$(tr '\n' '~' <<<"$out")" 'STEP 3/3: RUN echo "\$MSG" > /msg~--> [0-9a-f]{12}' "a changed build arg reruns the RUN using it"
out=$(b --no-cache --build-arg MSG=hello "$X" 2>&1)
is "$(grep -c 'Using cache' <<<"$out")" 0 "--no-cache uses no cache entry"

out=$(b --target broken "$X" 2>&1)
is $? 125 "a failing RUN fails the build"
like "$out" 'Containerfile:6: RUN: process "/bin/sh -c exit 9" did not complete successfully: exit code: 9' \
	"the error names the file, line, command and exit code"
is "$(c ps -aq | wc -l)" 0 "no build container is left"
is "$(grep -c " $R/" /proc/mounts)" 0 "no mount is left"
is "$(ls "$R/build-tmp" | wc -l)" 0 "no temp dir is left"
out=$(b --target nosuch "$X" 2>&1)
like "$out" 'target `nosuch`: no such stage' "an unknown --target is refused"
printf 'FROM nosuchimage:1\nRUN true\n' > "$TMPD/Dockerfile.nobase"
like "$(b --pull=never -f "$TMPD/Dockerfile.nobase" "$X" 2>&1)" 'Dockerfile.nobase:1: FROM: no such image: `nosuchimage:1`' \
	"a missing base image is named with the line"
out=$(b --platform linux/arm64 "$X" 2>&1)
is $? 125 "another --platform is refused"

printf 'FROM busybox\nONBUILD RUN echo triggered > /onbuild\nCMD ["sh"]\n' > "$TMPD/Dockerfile.base"
check "an image with an ONBUILD trigger" -- b -t obbase -f "$TMPD/Dockerfile.base" "$X"
printf 'FROM obbase\nRUN cat /onbuild\n' | b -t obchild -f - "$X" > "$TMPD/ob.out" 2>&1
ok $? "FROM an image with ONBUILD"
like "$(cat "$TMPD/ob.out")" 'triggered' "the trigger ran"
is "$(c image inspect -f '{{json .Config.OnBuild}}' obchild)" "null" "triggers are not passed on"

printf 'FROM busybox\nMAINTAINER Jane <j@example.com>\nSHELL ["/bin/sh", "-xc"]\nHEALTHCHECK NONE\n' > "$TMPD/Dockerfile.fmt"
check "MAINTAINER, SHELL, HEALTHCHECK NONE" -- b -t fmt -f "$TMPD/Dockerfile.fmt" "$X"
fid=$(c image inspect -f '{{.Id}}' fmt)
is "$(jq -c '[.author, .config.Shell, .config.Healthcheck.Test]' "$R/blobs/sha256/${fid#sha256:}")" \
	'["Jane <j@example.com>",["/bin/sh","-xc"],["NONE"]]' "MAINTAINER is the author; SHELL and HEALTHCHECK NONE kept"
out=$(b --format oci -t fmt-oci -f "$TMPD/Dockerfile.fmt" "$X" 2>&1)
like "$out" 'HEALTHCHECK is not supported by the OCI image format and was dropped' "--format oci warns"
fid=$(c image inspect -f '{{.Id}}' fmt-oci)
is "$(jq -c '[.config.Shell, .config.Healthcheck]' "$R/blobs/sha256/${fid#sha256:}")" '[null,null]' \
	"--format oci drops SHELL and HEALTHCHECK"

mkdir -p "$X/pa/b" && echo 1 > "$X/pa/b/c.txt" && echo 2 > "$X/pa/x.txt"
printf 'FROM busybox\nCOPY --parents pa/b pa/x.txt /p/\nCOPY pa/*.txt pa/b/ /flat/\n' > "$TMPD/Dockerfile.parents"
check "COPY --parents" -- b -t parents -f "$TMPD/Dockerfile.parents" "$X"
is "$(c run --rm parents find /p /flat -type f | sort | tr '\n' ' ')" "/flat/c.txt /flat/x.txt /p/pa/b/c.txt /p/pa/x.txt " \
	"--parents keeps the source paths; without it a dir is copied as its content"
rm -r "$X/pa"

printf 'FROM scratch\nCOPY a.txt /\n' > "$TMPD/Dockerfile.scratch"
check "FROM scratch" -- b -t fromscratch -f "$TMPD/Dockerfile.scratch" "$X"
is "$(c image inspect -f '{{json .RootFS.Layers}}' fromscratch | jq length)" 1 "a scratch image with one layer"
is "$(c image inspect -f '{{json .Config.Env}}' fromscratch)" '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]' \
	"an image without PATH gets the default one (as BuildKit)"

printf 'FROM busybox\nRUN echo from-stdin\n' > "$TMPD/lone"
like "$(b - < "$TMPD/lone" 2>&1)" 'from-stdin' "CONTEXT - with a lone Dockerfile"
tar -C "$X" -cf "$TMPD/ctx.tar" .
like "$(b -t tarctx - < "$TMPD/ctx.tar" 2>&1)" 'COMMIT tarctx' "CONTEXT - with a tar"

out=$(c builder prune -f 2>&1)
like "$out" 'Deleted build cache objects: [1-9]' "builder prune removes the cache entries"
like "$out" 'Total reclaimed space: ' "and reports the space reclaimed"
out=$(b --build-arg MSG=hello -t app:1 "$X" 2>&1)
ok $? "a build after prune"
is "$(c builder prune --all -f >/dev/null; ls "$R/build-cache" | wc -l)" 0 "prune --all empties the cache"
