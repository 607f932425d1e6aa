#!/bin/bash
# containerd's CRI with cell-runtime against runc as the runtime handler
# (issue 15): N pod cycles per handler, interleaved (cell runc cell runc ...)
# so that the machine's noise hits both alike. A cycle is what the kubelet
# does for a one-container pod: RunPodSandbox (cell-pause, CNI bridge),
# CreateContainer + StartContainer (busybox sleep), StopPodSandbox,
# RemovePodSandbox; timed inside one Python process of the project's CRI
# client (tests/lib/cri/cri.py), so no process start is counted. containerd,
# its CNI network and everything they make are set up and removed as in
# tests/engines/cri.sh (tests/lib/cri/setup.sh).
#   bench/cri.sh [N]      (20 by default)
set -u
N=${1:-20}
TOP=$(cd "$(dirname "$0")/.." && pwd)
export CELL_TOP=$TOP CELL_BUILD=${CELL_BUILD:-$TOP/build}
[ "$(id -u)" = 0 ] || { echo "bench/cri.sh: needs root" >&2; exit 1; }
. "$TOP/tests/lib/tap.sh" >/dev/null
. "$TOP/tests/engines/lib/engines.sh"
. "$TOP/tests/lib/cri/setup.sh"
trap '_run_deferred' EXIT
for c in containerd containerd-shim-runc-v2 runc umoci skopeo /usr/lib/cni/bridge; do
	command -v "$c" >/dev/null || { echo "bench/cri.sh: $c not installed" >&2; exit 1; }
done
tmpdir
T=$TMPD
eng_private_runtime "$T" || exit 1
CRI_CGROUP=cellbench-cri-$$
cri_setup "$T" || exit 1
cri_images "$T" || { echo "bench/cri.sh: image import failed" >&2; exit 1; }
echo "# containerd $(containerd --version | awk '{print $3}'), $N pod cycles per handler, interleaved"
/usr/bin/python3 - "$CRI_SOCK" "$N" "$CRI_IMAGE" "/$CRI_CGROUP" "$T/logs" <<'PY'
import os, statistics, sys, time
sys.path.insert(0, os.environ['CELL_TOP'] + '/tests/lib/cri')
import cri
sock, n, image, parent, logs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
c = cri.Cri(sock)

def cycle(h, i):
    pod = {'metadata': {'name': 'b-%s-%d' % (h, i), 'uid': 'b-%s-%d' % (h, i),
                        'namespace': 'bench'},
           'hostname': 'b', 'log_directory': logs,
           'linux': {'cgroup_parent': parent}}
    t = time.perf_counter()
    sb = c.call('RunPodSandbox', {'config': pod, 'runtime_handler': h})['pod_sandbox_id']
    ct = c.call('CreateContainer', {
        'pod_sandbox_id': sb, 'sandbox_config': pod,
        'config': {'metadata': {'name': 'c'}, 'image': {'image': image},
                   'command': ['/bin/sleep', '3600'], 'log_path': 'b-%s-%d.log' % (h, i)}})
    c.call('StartContainer', {'container_id': ct['container_id']})
    c.call('StopPodSandbox', {'pod_sandbox_id': sb})
    c.call('RemovePodSandbox', {'pod_sandbox_id': sb})
    return time.perf_counter() - t

res = {'cell': [], 'runc': []}
for h in res:  # one warm-up each: the first pod pays for the snapshot and CNI
    cycle(h, -1)
for i in range(n):
    for h in res:
        res[h].append(cycle(h, i))
print('%-6s %8s %8s %8s %8s' % ('', 'mean', 'median', 'min', 'max'))
for h, v in res.items():
    print('%-6s %7.0fms %7.0fms %7.0fms %7.0fms' % (h, 1e3 * statistics.mean(v),
          1e3 * statistics.median(v), 1e3 * min(v), 1e3 * max(v)))
print('cell/runc: %.2fx (means), %.2fx (medians)' % (
    statistics.mean(res['cell']) / statistics.mean(res['runc']),
    statistics.median(res['cell']) / statistics.median(res['runc'])))
PY
