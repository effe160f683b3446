// A C++ program of the outside project.  Its body.h is made in build/gen
// by a rule of the project's own (with soac.mk's SOAC_RECIPE).  The
// generated header and libsoa's headers must give C linkage, or this does
// not link.
#include <cstdio>

#include "body.h"

int main()
{
    Health h = Health_default();
    Position_cols cols;
    if (Position_cols_init(&cols, 64, soa_alloc_heap()) != 0)
        return 1;
    Position p = {1.5f, -2.0f};
    Position_cols_store(&cols, 3, &p);
    Position_mark_changed(&cols, 3);
    Position q = Position_cols_load(&cols, 3);
    std::printf("c++ hp %d team %s changed %zu y %g libsoa %s\n", static_cast<int>(h.hp),
                Team_str(h.team), Position_count_changed(&cols, 64),
                static_cast<double>(q.y), soa_version());
    Position_cols_release(&cols, soa_alloc_heap());
    return 0;
}
