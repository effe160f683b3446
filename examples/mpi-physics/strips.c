/* strips.c: the strip rule and Integrate's kernel (strips.h). */
#include "strips.h"

/* The strip of x among `ranks`. */
static inline int strip(float x, int ranks)
{
    float s = x / STRIPS_WIDTH * (float)ranks;
    if (!(s >= 0.0f)) /* negative or NaN */
        return 0;
    return s >= (float)ranks ? ranks - 1 : (int)s;
}

int strip_of(const void *value, void *ctx)
{
    return strip(((const Position *)value)->x, *(const int *)ctx);
}

void strips_of_cols(void *const *cols, size_t begin, size_t end, int *ranks,
                    void *ctx)
{
    const float *x = cols[0];
    int n = *(const int *)ctx;
    for (size_t i = begin; i < end; i++)
        ranks[i - begin] = strip(x[i], n);
}
