#!/bin/bash
# Healthchecks run by the container's own cell-monitor (no daemon, no
# systemd timer): --health-* flags and the image's HEALTHCHECK, State.Health,
# ps STATUS and --filter health=, transitions starting → healthy → unhealthy
# → healthy, a check that hangs (killed at its timeout), one that prints
# megabytes (a bounded tail kept), --health-on-failure kill|restart, `cell
# healthcheck run`, health_status events, bad flags (125, nothing created),
# and the monitor's memory over many checks. Everything removed after.
. "$(dirname "$0")/../lib/tap.sh"
need_root
. "$(dirname "$0")/../lib/engine.sh"
engine_setup
left() { ls "$R/containers" 2>/dev/null | grep -cv '^\.names$'; }
hs() { c inspect -f '{{.State.Health.Status}}' "$1"; }
hlog() { c inspect -f '{{json .State.Health.Log}}' "$1" | jq -r "$2"; }	# container, jq filter
# wait (10 s at most) until container $1's health status is $2
wait_health() { local i; for i in $(seq 100); do [ "$(hs "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }

# bad input: one line naming the flag, 125, nothing created
n0=$(left)
out=$(c run -d --health-cmd true --health-interval 5x busybox sleep 9 2>&1); rc=$?
is "$rc" 125 "--health-interval 5x: exit 125"
like "$out" '--health-interval.*invalid duration "5x"' "--health-interval 5x: names the flag and the form"
is "$(c run -d --health-cmd true --health-retries -1 busybox true 2>&1)" "cell: --health-retries cannot be negative" "--health-retries -1"
like "$(c run -d --health-cmd true --no-healthcheck busybox true 2>&1)" "--no-healthcheck conflicts with --health-\* options" "--no-healthcheck with --health-cmd"
like "$(c run -d --health-cmd true --health-on-failure reboot busybox true 2>&1)" "--health-on-failure .reboot.: expected none, kill, restart or stop" "--health-on-failure reboot"
like "$(c run -d --health-cmd true --health-timeout 10us busybox true 2>&1)" "Timeout in Healthcheck cannot be less than 1ms" "--health-timeout below 1ms"
is "$(left)" "$n0" "bad flags created nothing"

# starting → healthy → unhealthy → healthy, driven by a file in the container
id=$(c run -d --name hc --health-cmd 'echo probe; test ! -e /tmp/bad' --health-interval 200ms --health-retries 2 busybox sleep 300)
like "$id" "^[0-9a-f]{64}$" "run -d --health-cmd"
is "$(c inspect -f '{{json .Config.Healthcheck.Test}}' hc)" '["CMD-SHELL","echo probe; test ! -e /tmp/bad"]' "Config.Healthcheck.Test is Docker's CMD-SHELL"
is "$(c inspect -f '{{.Config.Healthcheck.Interval}}' hc)" "200000000" "Config.Healthcheck.Interval in ns"
ok "$(wait_health hc healthy; echo $?)" "the monitor's checks make it healthy"
like "$(c ps --filter name=hc --format '{{.Status}}')" '^Up .* \(healthy\)$' "ps STATUS: Up ... (healthy)"
is "$(c ps --filter health=healthy --format '{{.Names}}')" "hc" "ps --filter health=healthy"
is "$(c ps --filter health=unhealthy --format '{{.Names}}')" "" "ps --filter health=unhealthy: none"
is "$(hlog hc '.[0].Output')" "probe" "State.Health.Log keeps the output"
c exec hc touch /tmp/bad
ok "$(wait_health hc unhealthy; echo $?)" "failing checks make it unhealthy"
like "$(c inspect -f '{{.State.Health.FailingStreak}}' hc)" '^[2-9]|[1-9][0-9]+$' "FailingStreak counts the failures"
sleep 1.5	# 7 more checks
is "$(hlog hc 'length')" "5" "State.Health.Log keeps the last 5"
is "$(hlog hc '.[-1].ExitCode')" "1" "a failed check's ExitCode"
like "$(c ps --filter name=hc --format '{{.Status}}')" '\(unhealthy\)$' "ps STATUS: (unhealthy)"
c exec hc rm /tmp/bad
ok "$(wait_health hc healthy; echo $?)" "healthy again once the check passes"
is "$(c inspect -f '{{.State.Health.FailingStreak}}' hc)" "0" "FailingStreak reset"
ev=$(c events --since 1h --until 0s --filter container=hc --filter event=health_status --format '{{.Action}}')
like "$(echo $ev)" "health_status: healthy.*health_status: unhealthy.*health_status: healthy" "health_status events for each change"
is "$(c healthcheck run hc)" "healthy" "healthcheck run: healthy, exit 0"
c exec hc touch /tmp/bad
c healthcheck run hc >/dev/null; is $? 1 "healthcheck run: a failing check exits 1"
check "rm -f" -- c rm -f hc

# a check that hangs is killed at its timeout; megabytes of output keep a bounded tail
c run -d --name slow --health-cmd 'head -c 3000000 /dev/zero | tr "\0" x; echo END; sleep 100' --health-timeout 300ms --health-interval 1h busybox sleep 300 >/dev/null
t0=$(date +%s)
c healthcheck run slow >/dev/null; rc=$?
is "$rc" 1 "a hanging check fails"
is "$(hlog slow '.[-1].ExitCode')" "-1" "a timed-out check's ExitCode is -1"
like "$(hlog slow '.[-1].Output')" "exceeded timeout" "its Output says it timed out"
sleeps() { c exec slow sh -c 'ps -o stat,comm | grep -v "^Z" | grep -c "sleep$"'; }
for i in $(seq 30); do [ "$(sleeps)" = 1 ] && break; sleep 0.1; done
is "$(sleeps)" "1" "the hung check's processes were killed (only the init's sleep is left)"
c rm -f slow >/dev/null
c run -d --name big --health-cmd 'head -c 3000000 /dev/zero | tr "\0" x; echo END' --health-interval 1h busybox sleep 300 >/dev/null
c healthcheck run big >/dev/null
len=$(hlog big '.[-1].Output' | wc -c)
ok "$([ "$len" -le 4097 ] && [ "$len" -ge 4000 ]; echo $?)" "3 MB of output keep a 4 KiB tail ($len bytes)"
like "$(hlog big '.[-1].Output' | tail -c 20)" "END" "the tail is the end of the output"
c rm -f big >/dev/null

# the image's HEALTHCHECK, and --no-healthcheck: an image whose config has
# one, made from `save` of the test image (docker-archive) with python3
mkdir "$TMPD/img"
c save -o "$TMPD/img/s.tar" busybox
python3 - "$TMPD/img" <<'PY'
import hashlib, json, sys, tarfile, io
d = sys.argv[1]
t = tarfile.open(d + "/s.tar")
man = json.load(t.extractfile("manifest.json"))
cfg = json.load(t.extractfile(man[0]["Config"]))
cfg["config"]["Healthcheck"] = {"Test": ["CMD", "true"], "Interval": 200000000}
blob = json.dumps(cfg).encode()
name = hashlib.sha256(blob).hexdigest() + ".json"
man[0]["Config"] = name
man[0]["RepoTags"] = ["hcimage:latest"]
out = tarfile.open(d + "/hc.tar", "w")
for m in t.getmembers():
    if m.name not in ("manifest.json",) and not m.name.endswith(".json"):
        out.addfile(m, t.extractfile(m) if m.isfile() else None)
for n, data in ((name, blob), ("manifest.json", json.dumps(man).encode())):
    ti = tarfile.TarInfo(n); ti.size = len(data); out.addfile(ti, io.BytesIO(data))
out.close()
PY
c load -i "$TMPD/img/hc.tar" >/dev/null
is "$(c image inspect -f '{{json .Config.Healthcheck.Test}}' hcimage 2>/dev/null)" '["CMD","true"]' "an image with a HEALTHCHECK"
c run -d --name img hcimage sleep 300 >/dev/null
is "$(c inspect -f '{{json .Config.Healthcheck.Test}}' img)" '["CMD","true"]' "the container takes the image's HEALTHCHECK"
ok "$(wait_health img healthy; echo $?)" "the image's HEALTHCHECK runs on its interval"
c run -d --name img2 --health-interval 1h hcimage sleep 300 >/dev/null
is "$(c inspect -f '{{.Config.Healthcheck.Interval}} {{json .Config.Healthcheck.Test}}' img2)" '3600000000000 ["CMD","true"]' "--health-interval overrides the image's, its Test stays"
c run -d --name nohc --no-healthcheck hcimage sleep 300 >/dev/null
is "$(c inspect -f '{{.State.Health}}' nohc)" "<no value>" "--no-healthcheck: no State.Health"
like "$(c ps --filter name=nohc --format '{{.Status}}')" '^Up [^(]*$' "--no-healthcheck: ps shows no health"
c rm -f img img2 nohc >/dev/null

# a foreground run (no -d) with a healthcheck runs under a monitor too
out=$(echo input | c run --rm --health-cmd 'touch /tmp/checked' --health-interval 100ms busybox sh -c 'sleep 1; test -e /tmp/checked && echo checked; echo err >&2; exit 3' 2>"$TMPD/err"); rc=$?
is "$out" "checked" "a foreground run is checked (its monitor's timer)"
is "$rc $(cat "$TMPD/err")" "3 err" "its exit status and stderr come through"
is "$(echo input | c run --rm -i --health-cmd true busybox cat)" "input" "-i: stdin comes through"
is "$(echo input | c run --rm --health-cmd true busybox sh -c 'cat; echo done')" "done" "without -i: stdin is not read"

# --health-on-failure restart: restarted whatever the restart policy
c run -d --name rs --health-cmd false --health-interval 100ms --health-retries 1 --health-on-failure restart busybox sleep 300 >/dev/null
for i in $(seq 100); do [ "$(c inspect -f '{{.RestartCount}}' rs)" -ge 1 ] 2>/dev/null && break; sleep 0.1; done
ok "$([ "$(c inspect -f '{{.RestartCount}}' rs)" -ge 1 ]; echo $?)" "--health-on-failure restart restarts it (RestartCount >= 1)"
c rm -f rs >/dev/null
c run -d --name kl --health-cmd false --health-interval 100ms --health-retries 1 --health-on-failure kill busybox sleep 300 >/dev/null
for i in $(seq 100); do [ "$(c inspect -f '{{.State.Status}} {{.State.ExitCode}}' kl)" = "exited 137" ] && break; sleep 0.1; done
is "$(c inspect -f '{{.State.Status}} {{.State.ExitCode}}' kl)" "exited 137" "--health-on-failure kill kills it"
c rm -f kl >/dev/null

# the monitor's memory does not grow with the number of checks (the 1,000
# checks of the issue take ~1 min here: HEALTH_CHECKS=1000 runs them)
want=${HEALTH_CHECKS:-150}
c run -d --name mem --health-cmd 'echo x >> /tmp/n' --health-interval 1ms busybox sleep 600 >/dev/null
mon=$(c inspect -f '{{.State.MonitorPid}}' mem)
checks() { c exec mem sh -c 'cat /tmp/n 2>/dev/null | wc -l'; }
for i in $(seq 300); do [ "$(checks)" -ge 20 ] && break; sleep 0.1; done
rss0=$(awk '/VmRSS/ {print $2}' /proc/$mon/status)
for i in $(seq 1200); do [ "$(checks)" -ge "$want" ] && break; sleep 0.1; done
n=$(checks)
rss1=$(awk '/VmRSS/ {print $2}' /proc/$mon/status)
echo "# monitor RSS ${rss0} KiB after 20 checks, ${rss1} KiB after $n"
ok "$([ "$n" -ge "$want" ]; echo $?)" "$n checks ran at a 1 ms interval"
is "$rss1" "$rss0" "the monitor's RSS after $n checks is what it was after 20"
c rm -f mem >/dev/null
is "$(left)" "$n0" "nothing left"
