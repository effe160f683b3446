# The runtime core (bitset, arenas, pool): its tests and benchmark.
#
# `make bench` runs every benchmark: each fragment adds its own with a
# double-colon rule (`bench:: ...`), so nobody edits another's fragment.

TSAN_TESTS += test_pool test_bitset
