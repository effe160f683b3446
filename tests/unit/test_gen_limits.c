/*
 * The boundaries of every scalar type as defaults
 * (tests/compiler/schemas/scalar_limits.soa): what the generated header
 * gives back is exactly the type's limit, as C spells it.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scalar_limits.h"

static void ints(void **state)
{
    (void)state;
    const Ints d = Ints_default();
    assert_true(d.i8_min == INT8_MIN && d.i8_max == INT8_MAX);
    assert_true(d.i16_min == INT16_MIN && d.i16_max == INT16_MAX);
    assert_true(d.i32_min == INT32_MIN && d.i32_max == INT32_MAX);
    assert_true(d.i64_min == INT64_MIN && d.i64_max == INT64_MAX);
    assert_true(d.u8_min == 0 && d.u8_max == UINT8_MAX);
    assert_true(d.u16_min == 0 && d.u16_max == UINT16_MAX);
    assert_true(d.u32_min == 0 && d.u32_max == UINT32_MAX);
    assert_true(d.u64_min == 0 && d.u64_max == UINT64_MAX);
    assert_true(!d.no && d.yes);
}

static void floats(void **state)
{
    (void)state;
    const Floats d = Floats_default();
    assert_true(d.f32_max == FLT_MAX);
    assert_true(d.f32_max_short == FLT_MAX);
    assert_true(d.f32_max_edge == FLT_MAX);
    assert_true(d.f32_max_int == FLT_MAX);
    assert_true(d.f32_lowest == -FLT_MAX);
    assert_true(d.f32_min_normal == FLT_MIN);
    assert_true(d.f32_true_min == FLT_TRUE_MIN);
    assert_true(d.f32_min_edge == FLT_TRUE_MIN);
    assert_true(d.f64_max == DBL_MAX);
    assert_true(d.f64_max_edge == DBL_MAX);
    assert_true(d.f64_lowest == -DBL_MAX);
    assert_true(d.f64_min_normal == DBL_MIN);
    assert_true(d.f64_true_min == DBL_TRUE_MIN);
    assert_true(d.f64_min_edge == DBL_TRUE_MIN);
    assert_true(d.f32_zero == 0.0f && !signbit(d.f32_zero));
    assert_true(d.f64_neg_zero == 0.0 && signbit(d.f64_neg_zero));
    assert_true(d.f64_hex == -16.0);
    assert_true(d.f32_tie == 16777216.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ints),
        cmocka_unit_test(floats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
