# The runtime core (bitset, arenas, pool): its tests and benchmark.
#
# `make bench` runs every benchmark: each fragment adds its own with a
# double-colon rule (`bench:: ...`), so nobody edits another's fragment.

TSAN_TESTS += test_pool test_bitset test_alloc test_snap test_region

# bench/pool.c: soa_pool against OpenMP (dispatch latency, a 1M-row loop).
# Built only for `make bench`; `make bench QUICK=1` runs a short version.
BENCH_POOL := $(BUILD)/bench/bench_pool

$(BENCH_POOL): bench/pool.c $(LIBSOA)
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) $(CFLAGS_rel) -fopenmp $(SOA_CPPFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ bench/pool.c $(LIBSOA) $(LDLIBS)

bench:: $(BENCH_POOL)
	$(BENCH_POOL) $(if $(QUICK),--quick)
