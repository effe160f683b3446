#!/bin/sh
# Replays the fuzz corpora under gcc's ASan+UBSan: what the fuzzers once
# found stays fixed.  The front end gets its corpus and every schema we
# have; the command line (which prints soac's own messages) its corpus,
# quietly unless it fails.
cd "$(dirname "$0")/../.." || exit 2
build/asan/bin/soac_fuzz_replay tests/fuzz/corpus schemas \
    tests/compiler/bad tests/compiler/golden tests/compiler/schemas || exit 1
log=$(mktemp); trap 'rm -f "$log"' EXIT
if build/asan/bin/soac_cli_fuzz_replay tests/fuzz/corpus_cli >"$log" 2>&1; then
    echo "command line: $(tail -n 1 "$log")"
else
    tail -n 60 "$log"
    exit 1
fi
