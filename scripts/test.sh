#!/usr/bin/env bash
# make test: the set-up of 'make start' in a throwaway cluster, then every
# test suite: pg_regress, then each benchmark once at a tiny size.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
commitopt_mode test

bash "$COMMITOPT_SRC/scripts/install-deps.sh"
log_step "building the extension"
bash "$COMMITOPT_SRC/scripts/overlay.sh"
bash "$COMMITOPT_SRC/scripts/cluster.sh" test destroy
trap 'bash "$COMMITOPT_SRC/scripts/cluster.sh" test destroy' EXIT
bash "$COMMITOPT_SRC/scripts/cluster.sh" test start
bash "$COMMITOPT_SRC/scripts/setup-db.sh" test
bash "$COMMITOPT_SRC/scripts/report.sh" test >/dev/null

log_step "pg_regress"
# pg_regress writes its results next to the tests; the server reads only
# what setup-db.sh copied to $COMMITOPT_DATA.
status=0
make -s -C "$COMMITOPT_SRC" installcheck \
	PG_REGRESS_DIFF_OPTS=-u \
	||
	status=$?
if [[ $status -ne 0 && -f $COMMITOPT_SRC/regression.diffs ]]; then
	head -n 200 "$COMMITOPT_SRC/regression.diffs"
fi

log_step "benchmarks at a tiny size"
bash "$COMMITOPT_SRC/scripts/bench.sh" --tiny test || status=1

exit $status
