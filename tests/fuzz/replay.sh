#!/bin/sh
# Replays the fuzz corpus (and every schema we have) through the front end
# under gcc's ASan+UBSan: what the fuzzer once found stays fixed.
cd "$(dirname "$0")/../.." || exit 2
exec build/asan/bin/soac_fuzz_replay tests/fuzz/corpus schemas \
    tests/compiler/bad tests/compiler/golden tests/compiler/schemas
