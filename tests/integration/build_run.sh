#!/bin/bash
# cell build's RUN: shell and exec form, SHELL, heredocs (RUN <<EOF, RUN cat
# <<EOF > f, COPY <<EOF), a deleted file and a replaced directory (whiteouts
# through commit's code), a RUN that changes nothing adds no layer, build
# args as variables, RUN --mount=type=secret|tmpfs|cache|bind (the secret
# and the mount points never land in the image, the cache dir is kept
# between builds), -q, and two builds of one context at once.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/engine.sh"
need_root
engine_setup
b() { c build --network none "$@"; }

X=$TMPD/ctx
mkdir -p "$X"
echo ctxfile > "$X/f.txt"
echo s3cr3t > "$TMPD/secret"
cat > "$X/Dockerfile" <<'EOF'
FROM busybox
ARG WHO=world
RUN mkdir -p /d/old && echo o > /d/old/f && echo x > /gone
RUN rm /gone && rm -rf /d/old && mkdir /d/old && echo n > /d/old/new
RUN ["/bin/sh", "-c", "echo exec-$WHO > /exec"]
RUN true
SHELL ["/bin/sh", "-e", "-c"]
RUN <<EOT
echo script-line1 > /hd
echo script-line2 >> /hd
EOT
RUN cat <<EOT > /hd2
in a heredoc
EOT
COPY <<EOT /etc/from-heredoc
copied heredoc
EOT
RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /seen-secret
RUN --mount=type=tmpfs,target=/scratch echo t > /scratch/t && ls /scratch > /tmpfs-ls
RUN --mount=type=cache,target=/cache echo run >> /cache/runs && wc -l < /cache/runs > /cache-count
RUN --mount=type=bind,target=/src cat /src/f.txt > /bound
EOF

out=$(b --secret id=tok,src="$TMPD/secret" --build-arg WHO=cell -t runimg "$X" 2>&1)
ok $? "the build succeeds"
r() { c run --rm runimg "$@"; }
is "$(r sh -c 'ls /d/old; [ -e /gone ] || echo gone-ok')" "$(printf 'new\ngone-ok')" \
	"a deleted file and a replaced dir are gone in the image"
is "$(r cat /exec)" exec-cell "exec form RUN sees the build arg"
is "$(r cat /hd)" "$(printf 'script-line1\nscript-line2')" "RUN <<EOF runs the body"
is "$(r cat /hd2)" "in a heredoc" "RUN cat <<EOF > f"
is "$(r cat /etc/from-heredoc)" "copied heredoc" "COPY <<EOF /file"
is "$(r cat /seen-secret)" 7 "RUN --mount=type=secret sees the secret (its 7 bytes)"
is "$(r sh -c 'ls /run/secrets 2>&1; ls -d /scratch 2>&1 | grep -c "No such"')" \
	"$(printf 'ls: /run/secrets: No such file or directory\n1')" "no secret or mount point in the image"
is "$(r cat /tmpfs-ls)" t "RUN --mount=type=tmpfs"
is "$(r cat /bound)" ctxfile "RUN --mount=type=bind of the context"
! grep -rqs s3cr3t "$R/blobs" "$R/layers"
ok $? "the secret is in no blob or layer"
id=$(tail -n1 <<<"$out")
is "$(jq '[.history[] | select(.created_by | test("RUN /bin/sh -c true"))][0].empty_layer' "$R/blobs/sha256/$id")" \
	true "RUN true adds no layer (empty_layer)"
is "$(r cat /cache-count)" 1 "first build: the cache mount is empty"
b --no-cache --secret id=tok,src="$TMPD/secret" -t runimg "$X" >/dev/null 2>&1
is "$(r cat /cache-count)" 2 "the cache mount is kept between builds"
like "$(b --secret id=tok,src="$TMPD/secret" -q "$X" 2>&1)" '^sha256:[0-9a-f]{64}$' "-q prints the image id alone"

printf 'FROM busybox\nRUN --mount=type=secret,id=missing,required cat /run/secrets/missing\n' > "$TMPD/Dockerfile.req"
like "$(b -f "$TMPD/Dockerfile.req" "$X" 2>&1)" 'secret `missing` is required' "a required secret not given fails"

printf 'FROM busybox\nUSER tester\nRUN id -u > /tmp/uid\nWORKDIR /home/w\nRUN touch f && pwd > /tmp/pwd\n' > "$TMPD/Dockerfile.user"
check "RUN as USER, in a WORKDIR it made" -- b -t userimg -f "$TMPD/Dockerfile.user" "$X"
is "$(c run --rm userimg sh -c 'cat /tmp/uid /tmp/pwd; stat -c %u /home/w /home/w/f')" "$(printf '1000\n/home/w\n1000\n1000')" \
	"RUN runs as the USER; WORKDIR is made owned by it (as BuildKit)"

# bind mounts: from a stage; a context symlink pointing out is resolved inside the context
printf 'FROM busybox AS st\nRUN echo from-stage > /s\nFROM busybox\nRUN --mount=type=bind,from=st,source=/s,target=/m cat /m > /got\n' > "$TMPD/Dockerfile.bind"
check "RUN --mount=type=bind,from=STAGE" -- b -t bindimg -f "$TMPD/Dockerfile.bind" "$X"
is "$(c run --rm bindimg cat /got)" from-stage "the stage's file is mounted"
out=$(b -t bindimg -f "$TMPD/Dockerfile.bind" "$X" 2>&1)
is "$(grep -c 'Using cache' <<<"$out")" 2 "bind-mount steps are cached (keyed by what is mounted)"
ln -s /etc "$X/etclink"
printf 'FROM busybox\nRUN --mount=type=bind,source=etclink,target=/e ls /e\n' > "$TMPD/Dockerfile.bind2"
like "$(b -f "$TMPD/Dockerfile.bind2" "$X" 2>&1)" '--mount source in the build context: `etclink`: No such file' \
	"a bind of a context symlink to /etc is resolved inside the context (no /etc there)"
rm "$X/etclink"

printf 'FROM busybox\nARG T=/argtmp\nRUN --mount=type=tmpfs,target=$T mount | grep -q " /argtmp " && echo ok > /argmount\n' > "$TMPD/Dockerfile.margs"
check "a --mount value with a build arg" -- b -t margs -f "$TMPD/Dockerfile.margs" "$X"
is "$(c run --rm margs cat /argmount)" ok "the arg is expanded in the --mount value"

# two builds of one context at once
printf 'FROM busybox\nARG N\nRUN echo $N > /n\nCOPY f.txt /\n' > "$TMPD/Dockerfile.par"
b --no-cache --build-arg N=1 -t par1 -f "$TMPD/Dockerfile.par" "$X" > "$TMPD/p1" 2>&1 & p1=$!
b --no-cache --build-arg N=2 -t par2 -f "$TMPD/Dockerfile.par" "$X" > "$TMPD/p2" 2>&1 & p2=$!
wait $p1; s1=$?; wait $p2; s2=$?
is "$s1 $s2" "0 0" "two builds at once both succeed"
is "$(c run --rm par1 cat /n) $(c run --rm par2 cat /n)" "1 2" "each got its own result"
is "$(c ps -aq | wc -l)" 0 "no build container is left"
is "$(grep -c " $R/" /proc/mounts)" 0 "no mount is left"
