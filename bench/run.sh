#!/bin/bash
# `make bench`: every bench/*.sh but this one, one after another, each with
# its default size. A benchmark that exits 77 was skipped (its reason is
# printed); any other non-zero status is reported and the rest still run.
cd "$(dirname "$0")" || exit 1
rc=0
for b in ./*.sh; do
	[ "$b" = ./run.sh ] && continue
	echo "### bench/${b#./}"
	bash "$b"
	st=$?
	case $st in
	0) ;;
	77) echo "### bench/${b#./}: skipped" ;;
	*) echo "### bench/${b#./}: failed with status $st"; rc=1 ;;
	esac
	echo
done
exit $rc
