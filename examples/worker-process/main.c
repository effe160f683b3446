/*
 * worker-process: examples/physics with Integrate in a separate worker
 * binary.
 *
 * The world lives here, in a shared region (soa/region.h) that only this
 * process can write: the worker binary maps it read-only when it starts
 * (fork+exec, the region's fd on its command line).  Each request, the
 * worker reads Velocity where it lies in the world's tables, writes
 * Position into a per-request copy in a shared arena (the only column
 * copied), runs the kernel M ticks back to back, and this process commits
 * the rows it marked changed.  A worker killed mid-request leaves the world
 * at its last committed frame.  -S instead keeps the world on the heap and
 * copies every column through a snapshot (the way for programs whose
 * world another process cannot map).
 *
 * It prints ticks per second and the checksum examples/physics prints for
 * the same -n and -f.  If the worker dies or hangs, the frame is not
 * committed, the error is printed, and a fresh worker takes over.
 *
 *   worker-process [-n ENTITIES] [-f FRAMES] [-m TICKS] [-t THREADS]
 *                  [-w WORKER] [-S] [-T]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "integrate.h"

#define HZ 60.0

typedef struct options {
    size_t entities, frames, ticks;
    unsigned threads;
    const char *worker;
    int force_threads;
    int snapshot;
} options;

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [-n ENTITIES] [-f FRAMES] [-m TICKS] [-t THREADS] "
            "[-w WORKER] [-S] [-T]\n"
            "  -n  entities (default 200000; every 10th has no Velocity)\n"
            "  -f  frames (ticks) at a simulated 60 Hz (default 120)\n"
            "  -m  ticks per request to the worker (default 1)\n"
            "  -t  kernel threads inside the worker (default 1)\n"
            "  -w  the worker binary (default: worker-process-worker next "
            "to this program)\n"
            "  -S  copy every column through a snapshot instead of sharing "
            "the world\n"
            "  -T  run the worker as a thread of this process (the fallback "
            "used when shared memory is unavailable)\n",
            argv0);
    return 2;
}

static int parse_options(int argc, char **argv, options *o)
{
    size_t t = 1;
    int c;
    *o = (options){200000, 120, 1, 1, NULL, 0, 0};
    while ((c = getopt(argc, argv, "n:f:m:t:w:STh")) != -1) {
        switch (c) {
        case 'n': if (physics_parse_size(optarg, 1, UINT32_MAX - 3u, &o->entities)) return -1; break;
        case 'f': if (physics_parse_size(optarg, 1, 100000000, &o->frames)) return -1; break;
        case 'm': if (physics_parse_size(optarg, 1, 1000000, &o->ticks)) return -1; break;
        case 't':
            if (physics_parse_size(optarg, 1, 1024, &t))
                return -1;
            o->threads = (unsigned)t;
            break;
        case 'w': o->worker = optarg; break;
        case 'S': o->snapshot = 1; break;
        case 'T': o->force_threads = 1; break;
        default: return -1;
        }
    }
    return optind == argc ? 0 : -1;
}

/* worker-process-worker in the directory of this program. */
static const char *default_worker(char *buf, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return "worker-process-worker";
    self[n] = '\0';
    snprintf(buf, size, "%s/worker-process-worker", dirname(self));
    return buf;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs every frame, M ticks per request; a failed request is reported,
 * the worker respawned, and the request retried once. */
static int simulate(const options *o, soa_worker *wk, soa_worker_system *ws,
                    soa_world *w)
{
    for (size_t f = 0; f < o->frames; f += o->ticks) {
        size_t m = o->frames - f < o->ticks ? o->frames - f : o->ticks;
        soa_frame fr = {1.0 / HZ, (double)f / HZ, f};
        if (soa_worker_system_frame(ws, w, &fr, m) == 0)
            continue;
        fprintf(stderr, "worker-process: frame %zu not committed: %s\n", f,
                soa_worker_status(wk) ? soa_worker_error(wk) : strerror(errno));
        if (soa_worker_respawn(wk) != 0 ||
            soa_worker_system_frame(ws, w, &fr, m) != 0) {
            fprintf(stderr, "worker-process: giving up: %s\n",
                    soa_worker_error(wk));
            return -1;
        }
        fprintf(stderr, "worker-process: respawned: %s\n",
                soa_worker_mode(wk));
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    char path[PATH_MAX + 32];
    if (parse_options(argc, argv, &o) != 0)
        return usage(argv[0]);
    /* The world's home: a region the worker maps read-only, or (-S) the
     * heap. */
    soa_region *region = o.snapshot ? NULL
                                    : soa_region_create(SOA_REGION_DEFAULT_BYTES);
    if (!o.snapshot && !region) {
        fprintf(stderr, "worker-process: cannot create a shared region (%s): "
                "try -S\n", strerror(errno));
        return 1;
    }
    soa_world *w = soa_world_create(region ? soa_region_allocator(region) : NULL);
    if (!w)
        return 1;
    soa_cid pos = soa_world_register(w, &Position_desc);
    soa_cid vel = soa_world_register(w, &Velocity_desc);
    soa_entity *ents = physics_populate(w, o.entities, pos, vel);
    if (!ents) {
        fprintf(stderr, "worker-process: out of memory for %zu entities\n",
                o.entities);
        return 1;
    }
    char why[256] = "";
    soa_worker_opts wo = {0};
    wo.exe = o.worker ? o.worker : default_worker(path, sizeof path);
    wo.tasks = integrate_tasks;
    wo.ntasks = NTASKS;
    wo.threads = o.threads;
    wo.arena_bytes = o.entities * 64u + ((size_t)4 << 20);
    wo.timeout_ns = 5000000000; /* generous: -n may be large */
    wo.flags = o.force_threads ? SOA_WORKER_THREADS : 0;
    wo.share = region;
    wo.error = why;
    wo.error_size = sizeof why;
    soa_worker *wk = soa_worker_spawn(&wo);
    soa_worker_system *ws = wk ? soa_worker_system_create(wk, INTEGRATE_TASK)
                               : NULL;
    if (!ws) {
        fprintf(stderr, "worker-process: cannot start %s: %s\n", wo.exe,
                why[0] ? why : strerror(errno));
        return 1;
    }
    printf("worker-process: %zu entities, %zu frames at %.0f Hz, %zu ticks "
           "per request\nworker: %s\nworld: %s\n", o.entities, o.frames, HZ,
           o.ticks, soa_worker_mode(wk),
           region ? "shared, read in place (only Position is copied)"
                  : "on the heap, copied through a snapshot (-S)");
    fflush(stdout);
    double t0 = seconds();
    int rc = simulate(&o, wk, ws, w);
    double dt = seconds() - t0;
    if (rc == 0) {
        printf("%.0f ticks/s (%.3f s for %zu ticks, worker progress %llu)\n",
               (double)o.frames / dt, dt, o.frames,
               (unsigned long long)soa_worker_progress(wk));
        printf("checksum %016llx\n",
               (unsigned long long)physics_checksum(w, ents, o.entities, pos));
    }
    soa_worker_system_destroy(ws);
    soa_worker_destroy(wk);
    free(ents);
    soa_world_destroy(w);
    soa_region_destroy(region);
    return rc ? 1 : 0;
}
