#!/usr/bin/env bash
# Runs the gateway end-to-end suite with every gateway process under
# valgrind (memcheck, full leak check), then checks each valgrind report:
# no invalid access, no use of uninitialised memory, no leak.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
set +e
commitopt_mode test
vg_dir=$COMMITOPT_RUN/gateway
rm -f "$vg_dir"/valgrind.*.log
export GATEWAY_WRAPPER="valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --track-fds=no --log-file=$vg_dir/valgrind.%p.log"
bash "$(dirname "${BASH_SOURCE[0]}")/e2e.sh"
suite=$?
bad=0
n=0
for f in "$vg_dir"/valgrind.*.log; do
	[[ -f $f ]] || continue
	n=$((n + 1))
	if ! grep -q 'ERROR SUMMARY: 0 errors' "$f"; then
		echo "valgrind reported errors: $f" >&2
		grep -E 'Invalid|uninitialised|definitely|indirectly|possibly|ERROR SUMMARY' "$f" | head -20 >&2
		bad=1
	fi
done
echo "valgrind: $n gateway runs checked, $([[ $bad == 0 ]] && echo clean || echo ERRORS)"
((n > 0 && bad == 0 && suite == 0))
