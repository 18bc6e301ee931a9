#!/usr/bin/env bash
# regress.sh [TEST...]: builds the extension, (re)starts the test cluster
# and runs pg_regress: every test in sql/, or only those named.  The
# cluster is left running for inspection; 'make test' removes it.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
commitopt_mode test

bash "$COMMITOPT_SRC/scripts/overlay.sh"
bash "$COMMITOPT_SRC/scripts/cluster.sh" test start
bash "$COMMITOPT_SRC/scripts/stage-data.sh" test

args=()
if (($#)); then
	args=(REGRESS="$*")
fi
status=0
make -s -C "$COMMITOPT_SRC" installcheck PG_REGRESS_DIFF_OPTS=-u "${args[@]}" || status=$?
if [[ $status -ne 0 && -f $COMMITOPT_SRC/regression.diffs ]]; then
	head -n 300 "$COMMITOPT_SRC/regression.diffs"
fi
exit $status
