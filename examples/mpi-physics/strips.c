/* strips.c: the strip rule and Integrate's kernel (strips.h). */
#include "strips.h"

int strip_of(const void *value, void *ctx)
{
    const Position *p = value;
    int ranks = *(const int *)ctx;
    float s = p->x / STRIPS_WIDTH * (float)ranks;
    if (!(s >= 0.0f)) /* negative or NaN */
        return 0;
    return s >= (float)ranks ? ranks - 1 : (int)s;
}

void integrate_kernel(const Integrate_view *v, const soa_frame *f, void *ctx)
{
    (void)ctx;
    float dt = (float)f->dt;
    for (size_t i = v->begin; i < v->end; i++) {
        v->Position.x[i] += v->Velocity.x[i] * dt;
        v->Position.y[i] += v->Velocity.y[i] * dt;
        soa_bitset_set(v->Position.changed, i);
    }
}
