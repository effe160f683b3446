/*
 * physics: the seed's wiring example in C.
 *
 * Position and Velocity come from schemas/physics.soa (generated/physics.h),
 * and so does system Integrate { read Velocity; write Position; }.  Each
 * simulated 60 Hz frame the scheduler builds Integrate's snapshot (SoA
 * columns of every entity with both components), runs the kernel below over
 * it on the worker pool, and commits the changed rows back into the world.
 * In `local` mode the same update runs as a local system straight on the
 * world instead; both modes print the same checksum for any thread count.
 *
 *   physics [-n ENTITIES] [-f FRAMES] [-t THREADS] [-m offloaded|local]
 *           [-e EVERY]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "physics_sim.h"

#define HZ PHYSICS_HZ

typedef struct options {
    size_t entities, frames, every;
    unsigned threads;
    int local;
} options;

/* The same update as a local system: walks the world itself. */
typedef struct local_ctx {
    soa_cid pos, vel;
} local_ctx;

static void integrate_local(soa_world *w, const soa_frame *f, void *ctx)
{
    const local_ctx *c = ctx;
    float dt = (float)f->dt;
    soa_cid all[2] = {c->vel, c->pos};
    soa_query q = {all, 2, NULL, 0};
    soa_query_iter it;
    soa_chunk ch;
    soa_query_begin(w, &q, &it);
    while (soa_query_next_chunk(&it, &ch)) { /* a block of one table */
        const float *vx = soa_chunk_column(&ch, 0, 0);
        const float *vy = soa_chunk_column(&ch, 0, 1);
        float *px = soa_chunk_column(&ch, 1, 0);
        float *py = soa_chunk_column(&ch, 1, 1);
        for (size_t i = ch.begin; i < ch.end; i++) {
            px[i] += vx[i] * dt;
            py[i] += vy[i] * dt;
        }
    }
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [-n ENTITIES] [-f FRAMES] [-t THREADS] "
            "[-m offloaded|local] [-e EVERY]\n"
            "  -n  entities (default 200000; every 10th has no Velocity)\n"
            "  -f  frames at a simulated 60 Hz (default 120)\n"
            "  -t  threads, the caller included (default 0: one per CPU)\n"
            "  -m  offloaded (snapshot, kernel on the pool, commit) or local\n"
            "  -e  print a line every EVERY frames (default 20)\n",
            argv0);
    return 2;
}

static int parse_options(int argc, char **argv, options *o)
{
    size_t t = 0;
    int c;
    *o = (options){200000, 120, 20, 0, 0};
    while ((c = getopt(argc, argv, "n:f:t:m:e:h")) != -1) {
        switch (c) {
        case 'n': if (physics_parse_size(optarg, 1, UINT32_MAX - 3u, &o->entities)) return -1; break;
        case 'f': if (physics_parse_size(optarg, 1, 100000000, &o->frames)) return -1; break;
        case 'e': if (physics_parse_size(optarg, 1, 100000000, &o->every)) return -1; break;
        case 't':
            if (physics_parse_size(optarg, 0, 1024, &t))
                return -1;
            o->threads = (unsigned)t;
            break;
        case 'm':
            if (strcmp(optarg, "local") == 0)
                o->local = 1;
            else if (strcmp(optarg, "offloaded") == 0)
                o->local = 0;
            else
                return -1;
            break;
        default: return -1;
        }
    }
    return optind == argc ? 0 : -1;
}

typedef struct totals {
    double build, run, commit; /* ns */
    size_t frames;
} totals;

/* One line: mean build/run/commit time per frame over the window, and per
 * moving entity. */
static void report(const char *label, const totals *t, size_t moving)
{
    double n = (double)t->frames, per = moving ? (double)moving : 1.0;
    printf("%-12s build %8.1f us  run %8.1f us  commit %8.1f us"
           "  (%.2f / %.2f / %.2f ns per entity)\n",
           label, t->build / n / 1e3, t->run / n / 1e3, t->commit / n / 1e3,
           t->build / n / per, t->run / n / per, t->commit / n / per);
}

static int simulate(const options *o, soa_world *w, soa_sched *s,
                    const soa_entity *ents, soa_cid pos)
{
    totals sum = {0}, window = {0};
    soa_sched_stats st = {0};
    size_t moving = o->entities - o->entities / 10; /* have a Velocity */
    for (size_t f = 0; f < o->frames; f++) {
        if (soa_sched_run_frame(s, 1.0 / HZ, (double)f / HZ) != 0) {
            fprintf(stderr, "physics: frame %zu: %s\n", f, strerror(errno));
            return -1;
        }
        soa_sched_get_stats(s, 0, &st);
        window.build += (double)st.build_ns;
        window.run += (double)st.run_ns;
        window.commit += (double)st.commit_ns;
        window.frames++;
        if (window.frames == o->every || f + 1 == o->frames) {
            char label[32];
            snprintf(label, sizeof label, "frame %zu", f + 1);
            report(label, &window, moving);
            sum.build += window.build;
            sum.run += window.run;
            sum.commit += window.commit;
            sum.frames += window.frames;
            window = (totals){0};
        }
    }
    report("mean", &sum, moving);
    printf("checksum %016llx\n",
           (unsigned long long)physics_checksum(w, ents, o->entities, pos));
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    if (parse_options(argc, argv, &o) != 0)
        return usage(argv[0]);
    soa_world *w = soa_world_create(NULL);
    soa_pool *pool = soa_pool_create(o.threads);
    soa_sched *s = w ? soa_sched_create(w, pool) : NULL;
    if (!w || !pool || !s) {
        fprintf(stderr, "physics: setup failed: %s\n", strerror(errno));
        return 1;
    }
    local_ctx lc = {soa_world_register(w, &Position_desc),
                    soa_world_register(w, &Velocity_desc)};
    soa_entity *ents = physics_populate(w, o.entities, lc.pos, lc.vel);
    if (!ents) {
        fprintf(stderr, "physics: out of memory for %zu entities\n",
                o.entities);
        return 1;
    }
    const soa_component_desc *reads[] = {&Velocity_desc};
    const soa_component_desc *writes[] = {&Position_desc};
    soa_sched_spec spec = {0};
    spec.name = o.local ? "integrate (local)" : "Integrate (offloaded)";
    if (o.local) {
        spec.reads = reads;
        spec.nreads = 1;
        spec.writes = writes;
        spec.nwrites = 1;
        spec.run = integrate_local;
        spec.ctx = &lc;
    } else {
        spec.system = &Integrate_system;
        spec.kernel = Integrate_kernel_fn(physics_integrate);
    }
    int rc = soa_sched_add(s, &spec);
    if (rc < 0) {
        fprintf(stderr, "physics: %s\n", soa_sched_strerror(rc));
        return 1;
    }
    printf("physics: %zu entities, %zu frames at %.0f Hz, %u threads, %s\n",
           o.entities, o.frames, HZ, soa_pool_size(pool),
           o.local ? "local" : "offloaded");
    rc = simulate(&o, w, s, ents, lc.pos);
    free(ents);
    soa_sched_destroy(s);
    soa_pool_destroy(pool);
    soa_world_destroy(w);
    return rc ? 1 : 0;
}
