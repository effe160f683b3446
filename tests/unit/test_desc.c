/* test_desc: the scalar tables generated code and tools rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "soa/soa.h"

static void scalar_sizes_match_c_types(void **state)
{
    (void)state;
    assert_int_equal(soa_scalar_size(SOA_F32), sizeof(float));
    assert_int_equal(soa_scalar_size(SOA_F64), sizeof(double));
    assert_int_equal(soa_scalar_size(SOA_I8), sizeof(int8_t));
    assert_int_equal(soa_scalar_size(SOA_I16), sizeof(int16_t));
    assert_int_equal(soa_scalar_size(SOA_I32), sizeof(int32_t));
    assert_int_equal(soa_scalar_size(SOA_I64), sizeof(int64_t));
    assert_int_equal(soa_scalar_size(SOA_U8), sizeof(uint8_t));
    assert_int_equal(soa_scalar_size(SOA_U16), sizeof(uint16_t));
    assert_int_equal(soa_scalar_size(SOA_U32), sizeof(uint32_t));
    assert_int_equal(soa_scalar_size(SOA_U64), sizeof(uint64_t));
    assert_int_equal(soa_scalar_size(SOA_BOOL), sizeof(_Bool));
    assert_int_equal(soa_scalar_size((soa_scalar)0), 0);
}

static void scalar_names_are_schema_spellings(void **state)
{
    (void)state;
    assert_string_equal(soa_scalar_name(SOA_F32), "f32");
    assert_string_equal(soa_scalar_name(SOA_U64), "u64");
    assert_string_equal(soa_scalar_name(SOA_BOOL), "bool");
    assert_string_equal(soa_scalar_name((soa_scalar)99), "?");
}

static void version_matches_header(void **state)
{
    (void)state;
    assert_string_equal(soa_version(), SOA_VERSION_STRING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scalar_sizes_match_c_types),
        cmocka_unit_test(scalar_names_are_schema_spellings),
        cmocka_unit_test(version_matches_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
