#!/usr/bin/env bash
# Builds the gateway's libFuzzer target (clang, with AddressSanitizer and
# UndefinedBehaviorSanitizer) and runs it for a bounded time (default 60 s,
# FUZZ_SECONDS overrides).  Exits non-zero on any crash or sanitizer report.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
gw=$here/../../gateway
out=${FUZZ_OUT:-/tmp/commitopt-fuzz-$$}
mkdir -p "$out/corpus"
cp "$here"/corpus/* "$out/corpus/"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-D_GNU_SOURCE -o "$out/fuzz_request" "$here/fuzz_request.c" \
	"$gw/request.c" "$gw/buf.c" "$gw/config.c"
"$out/fuzz_request" -max_total_time="${FUZZ_SECONDS:-60}" -max_len=8192 \
	-print_final_stats=1 "$out/corpus" 2>"$out/fuzz.log" || {
	tail -n 40 "$out/fuzz.log" >&2
	exit 1
}
grep -E '^stat::number_of_executed_units|^stat::peak_rss' "$out/fuzz.log"
echo "fuzz: no crash in ${FUZZ_SECONDS:-60} s"
rm -rf "$out"
