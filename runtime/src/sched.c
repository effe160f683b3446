/*
 * sched.c: stages of systems, run frame by frame, overlapping where the
 * systems' accesses allow.
 *
 * Each system gets a wave number within its stage when it is registered:
 * one more than the highest wave of any earlier system of the stage that
 * it conflicts with (0 when there is none).  Two systems conflict when one
 * writes a component the other reads or writes (`without` terms count as
 * reads: they decide which entities match), or when either is EXCLUSIVE.
 * Running waves in order, and each wave's systems in any order or at the
 * same time, therefore gives the same world as running every system one by
 * one in registration order: a conflicting pair is always in two waves, in
 * registration order, and non-conflicting systems commute.
 *
 * Offloaded systems run in place: the world stores components as SoA
 * tables, and a kernel's view points straight into their columns.  A wave
 * runs in two phases on the calling thread's watch:
 *   1. plan: every offloaded system's matching tables (plan.h: the tables
 *      made since the last frame are looked at, the rows numbered), driven
 *      by the caller (may register components, a structural change);
 *   2. run: local systems and offloaded kernels, as pool jobs submitted
 *      together (a kernel's job is chunked over its tables' rows, each
 *      chunk inside one block, so one big system still uses every thread);
 *      a wave of one system runs without jobs.
 * Systems of a wave touch only their declared components, disjoint from
 * the others' writes (a kernel writes its written columns and their
 * changed bitsets, chunks of one kernel different 64-row words), so phase
 * 2 is free of races; nothing changes structure meanwhile.
 *
 * Nothing allocates during a frame but a plan when the world made a table
 * since the last one: jobs and wave lists live in the scheduler, allocated
 * at registration.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soa/sched.h"
#include "soa/bitset.h"

#include "internal.h"
#include "plan.h"
#include "platform.h"

#define DEFAULT_STAGE "update"

typedef struct sched_sys {
    const char *name;
    uint32_t stage;
    uint32_t wave;
    unsigned flags;
    soa_local_fn run;               /* local */
    const soa_system_desc *desc;    /* offloaded */
    soa_fn kernel;
    void *ctx;
    soa__plan plan;                 /* offloaded: its tables */
    soa_cid *reads, *writes;        /* conflict sets (reads incl. without) */
    uint32_t nreads, nwrites;
    soa_sched *owner;
    soa_job job;
    bool built;                     /* this frame's plan succeeded */
    bool submitted;                 /* `job` is pending on the pool */
    bool checked;                   /* debug: saved before this run */
    uint64_t debug_runs;            /* runs seen by the check's sampling */
    bool warned;                    /* the debug check named it once */
    unsigned char *saved;           /* debug: written columns before (an
                                       array of column pointers, then the
                                       columns by virtual row) */
    size_t saved_cap;
    soa_sched_stats stats;
} sched_sys;

struct soa_sched {
    soa_world *world;
    soa_pool *pool;
    soa_alloc *alloc;               /* the world's */
    char **stages;
    uint32_t nstages, stages_cap;
    sched_sys **sys;                /* registration order */
    uint32_t nsys, sys_cap;
    uint32_t *order;                /* indices sorted by (stage, wave, index) */
    uint32_t order_cap;
    soa_frame frame;
    unsigned debug_every;           /* the unmarked-writes check: every
                                       Nth run of each system (0: off) */
    char error[256];                /* why the last add or stage failed */
};

/* ---- small helpers ------------------------------------------------- */

/* Records why a call failed (for soa_sched_error) and returns `code`. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int refuse(soa_sched *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
    errno = code == SOA_SCHED_ENOMEM ? ENOMEM
            : code == SOA_SCHED_ESTAGE ? ENOENT
            : code == SOA_SCHED_EDUP ? EEXIST : EINVAL;
    return code;
}

static uint64_t now_ns(void)
{
    return (uint64_t)soa__now_ns();
}

static void *alloc_bytes(soa_alloc *a, size_t n, size_t align)
{
    return n ? a->alloc(a, n, align) : NULL;
}

/* Grows an array of pointers-or-ints (elem bytes) to hold one more. */
static int grow(soa_alloc *a, void **p, uint32_t *cap, uint32_t len,
                size_t elem)
{
    if (len < *cap)
        return 0;
    if (*cap > UINT32_MAX / 2)
        return -1;
    uint32_t ncap = *cap ? *cap * 2 : 8;
    if (soa__grow_array(a, p, elem, sizeof(void *), *cap, ncap) != 0)
        return -1;
    *cap = ncap;
    return 0;
}

static int find_stage(const soa_sched *s, const char *name)
{
    for (uint32_t i = 0; i < s->nstages; i++)
        if (strcmp(s->stages[i], name) == 0)
            return (int)i;
    return -1;
}

/* ---- lifetime ------------------------------------------------------ */

soa_sched *soa_sched_create(soa_world *world, soa_pool *pool)
{
    if (!world) {
        errno = EINVAL;
        return NULL;
    }
    soa_alloc *a = soa_world_allocator(world);
    soa_sched *s = a->alloc(a, sizeof *s, _Alignof(soa_sched));
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->world = world;
    s->pool = pool;
    s->alloc = a;
    s->debug_every = soa__debug_every();
    if (soa_sched_stage(s, DEFAULT_STAGE) != SOA_SCHED_OK) {
        a->free(a, s, sizeof *s);
        errno = ENOMEM;
        return NULL;
    }
    return s;
}

static void sys_free(soa_alloc *a, sched_sys *y)
{
    if (!y)
        return;
    if (y->desc)
        soa__plan_free(&y->plan);
    free(y->saved);
    a->free(a, y->reads, y->nreads * sizeof *y->reads);
    a->free(a, y->writes, y->nwrites * sizeof *y->writes);
    a->free(a, y, sizeof *y);
}

void soa_sched_destroy(soa_sched *s)
{
    if (!s)
        return;
    soa_alloc *a = s->alloc;
    for (uint32_t i = 0; i < s->nsys; i++)
        sys_free(a, s->sys[i]);
    for (uint32_t i = 0; i < s->nstages; i++)
        a->free(a, s->stages[i], strlen(s->stages[i]) + 1);
    a->free(a, s->stages, s->stages_cap * sizeof *s->stages);
    a->free(a, s->sys, s->sys_cap * sizeof *s->sys);
    a->free(a, s->order, s->order_cap * sizeof *s->order);
    a->free(a, s, sizeof *s);
}

int soa_sched_stage(soa_sched *s, const char *name)
{
    if (!s) {
        errno = EINVAL;
        return SOA_SCHED_EINVAL;
    }
    if (!name || !name[0])
        return refuse(s, SOA_SCHED_EINVAL, "a stage needs a name");
    if (find_stage(s, name) >= 0)
        return refuse(s, SOA_SCHED_EINVAL, "stage '%s' already exists", name);
    size_t len = strlen(name) + 1;
    char *copy = alloc_bytes(s->alloc, len, 1);
    if (!copy ||
        grow(s->alloc, (void **)&s->stages, &s->stages_cap, s->nstages,
             sizeof *s->stages) != 0) {
        s->alloc->free(s->alloc, copy, len);
        return refuse(s, SOA_SCHED_ENOMEM, "stage '%s': out of memory", name);
    }
    memcpy(copy, name, len);
    s->stages[s->nstages++] = copy;
    return SOA_SCHED_OK;
}

/* ---- registration -------------------------------------------------- */

/* Resolves a local system's component: it must already be registered in
 * the world, with the same layout.  SOA_CID_INVALID otherwise. */
static soa_cid local_cid(const soa_world *w, const soa_component_desc *d)
{
    if (!d || !d->name)
        return SOA_CID_INVALID;
    soa_cid cid = soa_world_lookup(w, d->name);
    const soa_component_desc *have = soa_world_desc(w, cid);
    if (!have || have->layout_hash != d->layout_hash || have->size != d->size)
        return SOA_CID_INVALID;
    return cid;
}

/* Fills out[0..n) with the cids of descs: registered in the world for an
 * offloaded system (as its build would), looked up for a local one. */
static int resolve(soa_sched *s, const char *sys, bool offloaded,
                   const soa_component_desc *const *descs, uint32_t n,
                   soa_cid *out)
{
    if (n && !descs)
        return refuse(s, SOA_SCHED_EINVAL, "system '%s': a NULL component list",
                      sys);
    for (uint32_t i = 0; i < n; i++) {
        if (!descs[i] || !descs[i]->name)
            return refuse(s, SOA_SCHED_ECOMPONENT,
                          "system '%s': a NULL component", sys);
        out[i] = offloaded ? soa_world_register(s->world, descs[i])
                           : local_cid(s->world, descs[i]);
        if (out[i] == SOA_CID_INVALID)
            return refuse(s, SOA_SCHED_ECOMPONENT,
                          "system '%s': component '%s' is %s", sys,
                          descs[i]->name,
                          offloaded ? "refused by the world (another component "
                                      "of that name has another layout)"
                                    : "not registered in this world, or has "
                                      "another layout there");
    }
    return SOA_SCHED_OK;
}

static bool desc_complete(const soa_system_desc *d)
{
    return soa__layout_ok(d->layout);
}

static int check_spec(const soa_sched_spec *spec)
{
    bool local = spec->run != NULL, off = spec->system != NULL;
    if (local == off)
        return SOA_SCHED_EINVAL;
    if (off && (!spec->kernel || !desc_complete(spec->system)))
        return SOA_SCHED_EINVAL;
    if (local && ((spec->nreads && !spec->reads) ||
                  (spec->nwrites && !spec->writes)))
        return SOA_SCHED_EINVAL;
    return SOA_SCHED_OK;
}

/* Builds y's conflict sets from the spec. */
static int sys_accesses(soa_sched *s, sched_sys *y, const soa_sched_spec *sp)
{
    const soa_system_desc *d = sp->system;
    uint32_t nr = d ? d->nreads : sp->nreads;
    uint32_t nw = d ? d->nwrites : sp->nwrites;
    uint32_t nwo = d ? d->nwithout : 0;
    if (nr > UINT32_MAX / 2 - nwo)
        return SOA_SCHED_EINVAL;
    y->nreads = nr + nwo;
    y->nwrites = nw;
    y->reads = alloc_bytes(s->alloc, y->nreads * sizeof(soa_cid),
                           _Alignof(soa_cid));
    y->writes = alloc_bytes(s->alloc, y->nwrites * sizeof(soa_cid),
                            _Alignof(soa_cid));
    if ((y->nreads && !y->reads) || (y->nwrites && !y->writes))
        return refuse(s, SOA_SCHED_ENOMEM, "system '%s': out of memory",
                      y->name);
    int rc = resolve(s, y->name, d != NULL, d ? d->reads : sp->reads, nr,
                     y->reads);
    if (rc == SOA_SCHED_OK)
        rc = resolve(s, y->name, d != NULL, d ? d->writes : sp->writes, nw,
                     y->writes);
    if (rc == SOA_SCHED_OK && d)
        rc = resolve(s, y->name, true, d->without, nwo, y->reads + nr);
    return rc;
}

static bool in_set(const soa_cid *set, uint32_t n, soa_cid c)
{
    for (uint32_t i = 0; i < n; i++)
        if (set[i] == c)
            return true;
    return false;
}

static bool conflicts(const sched_sys *a, const sched_sys *b)
{
    if ((a->flags | b->flags) & SOA_SCHED_EXCLUSIVE)
        return true;
    for (uint32_t i = 0; i < a->nwrites; i++)
        if (in_set(b->writes, b->nwrites, a->writes[i]) ||
            in_set(b->reads, b->nreads, a->writes[i]))
            return true;
    for (uint32_t i = 0; i < b->nwrites; i++)
        if (in_set(a->reads, a->nreads, b->writes[i]))
            return true;
    return false;
}

/* Gives the newest system its wave and re-sorts the run order.  Insertion
 * keeps (stage, wave, registration) order; O(n) per registration. */
static void place(soa_sched *s, sched_sys *y, uint32_t idx)
{
    y->wave = 0;
    for (uint32_t i = 0; i < idx; i++) {
        const sched_sys *o = s->sys[i];
        if (o->stage == y->stage && o->wave + 1 > y->wave && conflicts(o, y))
            y->wave = o->wave + 1;
    }
    uint32_t pos = idx;
    while (pos > 0) {
        const sched_sys *o = s->sys[s->order[pos - 1]];
        if (o->stage < y->stage || (o->stage == y->stage && o->wave <= y->wave))
            break;
        s->order[pos] = s->order[pos - 1];
        pos--;
    }
    s->order[pos] = idx;
}

/* The system already added that `n` repeats, or NULL: the same stage,
 * the same function (offloaded: system and kernel; local: run function,
 * flags and declared components) and the same ctx.  Such a pair would run
 * the same work twice a frame. */
static const sched_sys *same_system(const soa_sched *s, const sched_sys *n)
{
    for (uint32_t i = 0; i < s->nsys; i++) {
        const sched_sys *y = s->sys[i];
        if (y->stage != n->stage || y->ctx != n->ctx ||
            y->desc != n->desc || y->kernel != n->kernel || y->run != n->run ||
            y->flags != n->flags || y->nreads != n->nreads ||
            y->nwrites != n->nwrites)
            continue;
        if ((!n->nreads ||
             memcmp(y->reads, n->reads, n->nreads * sizeof *n->reads) == 0) &&
            (!n->nwrites ||
             memcmp(y->writes, n->writes, n->nwrites * sizeof *n->writes) == 0))
            return y;
    }
    return NULL;
}

static int index_of(const soa_sched *s, const sched_sys *y)
{
    for (uint32_t i = 0; i < s->nsys; i++)
        if (s->sys[i] == y)
            return (int)i;
    return -1;
}

int soa_sched_add(soa_sched *s, const soa_sched_spec *spec)
{
    if (!s || !spec) {
        errno = EINVAL;
        return s ? refuse(s, SOA_SCHED_EINVAL, "no spec") : SOA_SCHED_EINVAL;
    }
    const char *name = spec->name ? spec->name
                       : spec->system && spec->system->name ? spec->system->name
                                                            : "(local)";
    int rc = check_spec(spec);
    if (rc != SOA_SCHED_OK)
        return refuse(s, rc, "system '%s': %s", name, soa_sched_strerror(rc));
    const char *stage_name = spec->stage ? spec->stage : DEFAULT_STAGE;
    int stage = find_stage(s, stage_name);
    if (stage < 0)
        return refuse(s, SOA_SCHED_ESTAGE, "system '%s': unknown stage '%s'",
                      name, stage_name);
    if (s->nsys >= (uint32_t)INT32_MAX ||
        grow(s->alloc, (void **)&s->sys, &s->sys_cap, s->nsys,
             sizeof *s->sys) != 0 ||
        grow(s->alloc, (void **)&s->order, &s->order_cap, s->nsys,
             sizeof *s->order) != 0)
        return refuse(s, SOA_SCHED_ENOMEM, "system '%s': out of memory", name);

    sched_sys *y = alloc_bytes(s->alloc, sizeof *y, _Alignof(sched_sys));
    if (!y)
        return refuse(s, SOA_SCHED_ENOMEM, "system '%s': out of memory", name);
    memset(y, 0, sizeof *y);
    y->stage = (uint32_t)stage;
    y->flags = spec->flags;
    y->run = spec->run;
    y->desc = spec->system;
    y->kernel = spec->kernel;
    y->ctx = spec->ctx;
    y->owner = s;
    y->name = name;
    if (y->desc)
        soa__plan_init(&y->plan, y->desc->layout, s->alloc);
    rc = sys_accesses(s, y, spec);
    const sched_sys *dup = rc == SOA_SCHED_OK ? same_system(s, y) : NULL;
    if (dup)
        rc = refuse(s, SOA_SCHED_EDUP,
                    "system '%s' is already added (as system %d, '%s'): it "
                    "would run twice a frame",
                    name, index_of(s, dup), dup->name);
    if (rc != SOA_SCHED_OK) {
        sys_free(s->alloc, y);
        return rc;
    }
    y->stats.name = y->name;
    y->stats.stage = s->stages[stage];
    y->stats.offloaded = y->desc != NULL;
    uint32_t idx = s->nsys++;
    s->sys[idx] = y;
    place(s, y, idx);
    y->stats.wave = y->wave;
    return (int)idx;
}

/* ---- running ------------------------------------------------------- */

static void local_job(void *ctx, size_t begin, size_t end, unsigned worker)
{
    (void)begin, (void)end, (void)worker;
    sched_sys *y = ctx;
    y->run(y->owner->world, &y->owner->frame, y->ctx);
}

static void kernel_job(void *ctx, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    sched_sys *y = ctx;
    soa__plan_run(&y->plan, y->kernel, &y->owner->frame, y->ctx, begin, end);
}

/* Finds an offloaded system's tables and numbers their rows. */
static void plan(soa_sched *s, sched_sys *y)
{
    uint64_t t0 = now_ns();
    errno = 0;
    y->built = soa__plan_match(&y->plan, s->world) == 0;
    y->stats.rows = 0;
    if (y->built) {
        soa__plan_layout(&y->plan, SOA_BLOCK_ROWS);
        for (uint32_t i = 0; i < y->plan.nm; i++)
            y->stats.rows += y->plan.m[i].rows;
    }
    y->stats.build_ns = now_ns() - t0;
    y->stats.failed = !y->built;
}

/* Rows of an offloaded system's pool job (padding included). */
static size_t job_rows(const sched_sys *y)
{
    return y->built && y->stats.rows ? y->plan.total : 0;
}

/* Runs one system on the caller; an offloaded kernel is spread over
 * `pool` (NULL: the caller alone). */
static void run_alone(soa_sched *s, sched_sys *y, soa_pool *pool)
{
    uint64_t t0 = now_ns();
    if (y->run)
        y->run(s->world, &s->frame, y->ctx);
    else if (job_rows(y))
        soa_pool_for(pool, job_rows(y), SOA_BLOCK_ROWS, kernel_job, y);
    y->stats.run_ns = now_ns() - t0;
}

/* Submits every system of the wave as pool jobs, then waits for all. */
static void run_together(soa_sched *s, sched_sys *const *ys, uint32_t n)
{
    uint64_t t0 = now_ns();
    for (uint32_t i = 0; i < n; i++) {
        sched_sys *y = ys[i];
        size_t rows = job_rows(y);
        y->submitted = false;
        if (y->run)
            y->submitted = soa_pool_submit(s->pool, &y->job, 1, 1, local_job,
                                           y) == 0;
        else if (rows)
            y->submitted = soa_pool_submit(s->pool, &y->job, rows,
                                           SOA_BLOCK_ROWS, kernel_job, y) == 0;
        assert(y->submitted || (!y->run && !rows));
    }
    for (uint32_t i = 0; i < n; i++) {
        sched_sys *y = ys[i];
        if (y->submitted) {
            soa_pool_wait(s->pool, &y->job);
            y->stats.run_ns = now_ns() - t0;
        }
    }
}

/* ---- the debug check: writes not marked changed ------------------- */

/* Copies y's written columns aside (y->saved, one array per written
 * column by virtual row): 0, or -1 when out of memory (this frame then
 * goes unchecked). */
static int debug_save(sched_sys *y)
{
    const soa_sys_layout *L = y->desc->layout;
    size_t row_bytes = 0;
    for (uint32_t j = 0; j < L->ncols; j++)
        row_bytes += L->cols[j].size;
    size_t need = row_bytes * y->plan.total + L->ncols * sizeof(unsigned char *);
    if (need > y->saved_cap) {
        unsigned char *p = realloc(y->saved, need);
        if (!p)
            return -1;
        y->saved = p;
        y->saved_cap = need;
    }
    unsigned char **cols = (unsigned char **)(void *)y->saved;
    unsigned char *at = y->saved + L->ncols * sizeof *cols;
    for (uint32_t j = 0; j < L->ncols; j++) {
        cols[j] = at;
        at += L->cols[j].size * y->plan.total;
    }
    soa__plan_save_written(&y->plan, cols);
    return 0;
}

/* Counts (and names once, on stderr) the rows y changed but did not mark. */
static void debug_check(sched_sys *y)
{
    soa_entity first;
    const char *comp;
    y->stats.unmarked = soa__plan_unmarked(
        &y->plan, (unsigned char *const *)(void *)y->saved, NULL, &first, &comp);
    soa__debug_report(&y->warned, y->name, y->stats.unmarked, comp, first,
                      y->owner->frame.index);
}

/* Runs systems order[from, to): one wave. */
static int run_wave(soa_sched *s, uint32_t from, uint32_t to)
{
    /* The wave's systems in registration order, gathered without
     * allocating: order[] is sorted, so they are contiguous. */
    sched_sys *const *all = s->sys;
    int rc = 0, err = 0;
    for (uint32_t k = from; k < to; k++) {
        sched_sys *y = all[s->order[k]];
        y->stats.run_ns = 0;
        y->stats.unmarked = 0;
        if (y->desc) {
            plan(s, y);
            if (!y->built && !err)
                err = errno ? errno : ENOMEM;
            /* Out of memory for the copy: this frame goes unchecked. */
            y->checked = y->built && soa__debug_due(s->debug_every, &y->debug_runs) &&
                         debug_save(y) == 0;
        }
    }
    if (to - from == 1 || !s->pool) {
        for (uint32_t k = from; k < to; k++)
            run_alone(s, all[s->order[k]], s->pool);
    } else {
        /* Jobs need contiguous pointers: use a small stack window. */
        sched_sys *batch[64];
        uint32_t k = from;
        while (k < to) {
            uint32_t n = 0;
            while (k < to && n < 64)
                batch[n++] = all[s->order[k++]];
            run_together(s, batch, n);
        }
    }
    for (uint32_t k = from; s->debug_every && k < to; k++) {
        sched_sys *y = all[s->order[k]];
        if (y->desc && y->checked)
            debug_check(y);
    }
    if (err) {
        errno = err;
        rc = -1;
    }
    return rc;
}

void soa_sched_set_debug(soa_sched *s, bool on)
{
    soa_sched_set_debug_every(s, on ? 1u : 0u);
}

void soa_sched_set_debug_every(soa_sched *s, unsigned every)
{
    if (!s)
        return;
    s->debug_every = every;
    for (uint32_t i = 0; i < s->nsys; i++) /* the next run is the first */
        s->sys[i]->debug_runs = 0;
}

int soa_sched_run_frame(soa_sched *s, double dt, double time)
{
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    s->frame.dt = dt;
    s->frame.time = time;
    int rc = 0, err = 0;
    uint32_t k = 0;
    while (k < s->nsys) {
        const sched_sys *first = s->sys[s->order[k]];
        uint32_t end = k + 1;
        while (end < s->nsys && s->sys[s->order[end]]->stage == first->stage &&
               s->sys[s->order[end]]->wave == first->wave)
            end++;
        if (run_wave(s, k, end) != 0 && !err) {
            err = errno;
            rc = -1;
        }
        k = end;
    }
    s->frame.index++;
    if (rc)
        errno = err;
    return rc;
}

/* ---- introspection ------------------------------------------------- */

int soa_sched_count(const soa_sched *s)
{
    return s ? (int)s->nsys : 0;
}

int soa_sched_get_stats(const soa_sched *s, int index, soa_sched_stats *out)
{
    if (!s || !out || index < 0 || (uint32_t)index >= s->nsys)
        return SOA_SCHED_EINVAL;
    *out = s->sys[index]->stats;
    return SOA_SCHED_OK;
}

uint64_t soa_sched_frames(const soa_sched *s)
{
    return s ? s->frame.index : 0;
}

const char *soa_sched_error(const soa_sched *s)
{
    return s ? s->error : "no scheduler";
}

const char *soa_sched_strerror(int code)
{
    switch (code) {
    case SOA_SCHED_OK: return "success";
    case SOA_SCHED_EINVAL:
        return "invalid system: NULL spec, neither or both of run and "
               "system, NULL kernel, or an incomplete descriptor";
    case SOA_SCHED_ESTAGE: return "unknown stage";
    case SOA_SCHED_ECOMPONENT:
        return "a component is not registered in the world or has another "
               "layout";
    case SOA_SCHED_ENOMEM: return "out of memory";
    case SOA_SCHED_EDUP:
        return "the same system (stage, function, components and ctx) is "
               "already added";
    }
    return "unknown scheduler error";
}
