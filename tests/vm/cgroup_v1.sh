#!/bin/bash
# The cgroup tests on legacy cgroup v1 only (no cgroup2 mount), in the same
# VM as cgroup_v2.sh; with the host's hybrid run that covers all three layouts.
CELL_VM_LAYOUT=legacy exec bash "$(dirname "$0")/cgroup_v2.sh" "$@"
