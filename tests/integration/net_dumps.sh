#!/bin/bash
# Netlink dumps while the table changes under them: the kernel then marks
# the dump interrupted (NLM_F_DUMP_INTR) and cell must read it again, not
# fail (50 concurrent `run -d` once failed with "list addresses: bad netlink
# reply: Interrupted system call"). In a network namespace of its own, with
# 1500 addresses so that a dump spans several reads, addresses are added and
# removed in a loop while nettool lists addresses and links 600 times.
. "$(dirname "$0")/../lib/tap.sh"
need_root
for t in ip unshare; do command -v $t >/dev/null || skip_all "needs $t"; done
NT=$CELL_BUILD/tests/nettool
[ -x "$NT" ] || skip_all "needs $NT (ninja -C build)"
tmpdir
cat > "$TMPD/run.sh" <<INNER
ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up || exit 2
for i in \$(seq 1 250); do for j in 1 2 3 4 5 6; do echo "addr add 10.78.\$j.\$i/32 dev v0"; done; done | ip -batch - || exit 2
( for i in \$(seq 1 4000); do ip addr add 10.77.\$((i % 200)).1/32 dev v0 2>/dev/null; ip addr del 10.77.\$(((i + 100) % 200)).1/32 dev v0 2>/dev/null; done ) &
churn=\$!
for k in 1 2 3 4 5 6; do "$NT" dumps 100 || { kill \$churn; exit 1; }; done
kill \$churn 2>/dev/null; wait
exit 0
INNER
# the namespace, its veths and addresses go with the unshare'd shell
unshare --net bash "$TMPD/run.sh" > "$TMPD/out" 2>&1
rc=$?
is "$rc" 0 "600 address and link dumps while addresses change: none fails"
[ "$rc" = 0 ] || sed 's/^/#   /' "$TMPD/out" | tail -5
