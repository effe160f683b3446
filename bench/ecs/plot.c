/*
 * plot.c: results.svg, drawn by hand so the bench needs no plotting tool.
 *
 * Top: the machine and thread count, then one panel per scenario run at a
 * single size (move, sparse, heavy), a horizontal bar per variant, scaled
 * to the panel's slowest but clipped at 3x the baseline, soac's system
 * variants split into build, run and commit, labelled with ns per entity
 * and how much faster or slower than the baseline.  Bottom: the scale
 * scenario as lines, ns per entity against N, both axes logarithmic, so
 * the steps where the data leaves each cache level stand out.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define W 960
#define LEFT 130     /* room for variant names */
#define BAR_W 560    /* longest bar */
#define BAR_H 18
#define BAR_GAP 6

static const char *const colors[] = {"#7f7f7f", "#ff7f0e", "#2ca02c",
                                     "#1f77b4", "#9467bd", "#17becf",
                                     "#d62728", "#8c564b"};
#define NCOLORS (sizeof colors / sizeof colors[0])

/* A stable color per variant name, in order of first appearance. */
static const char *color_of(const bench_result *r, size_t nr, const char *v)
{
    const char *seen[NCOLORS];
    size_t ns = 0;
    for (size_t i = 0; i < nr; i++) {
        size_t k = 0;
        while (k < ns && strcmp(seen[k], r[i].variant) != 0)
            k++;
        if (k == ns && ns < NCOLORS)
            seen[ns++] = r[i].variant;
        if (k < ns && strcmp(seen[k], v) == 0)
            return colors[k];
    }
    return "#000000";
}

/* Whether a result is drawn as a bar (scale has its chart; memory is not
 * a time). */
static int bars(const bench_result *r)
{
    return strcmp(r->scenario, "scale") != 0 &&
           strcmp(r->scenario, "memory") != 0;
}

/* Bars longer than this many times the baseline's are clipped (drawn to
 * the edge, marked and labelled), so one outlier does not squash the
 * others into slivers. */
#define CLIP_RATIO 3.0

/* One segment of a bar: x from `at`, `len` long, filled with `color` at
 * `opacity`. */
static void segment(FILE *f, double at, double len, int y, const char *color,
                    double opacity)
{
    if (len > 0.05)
        fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                   "fill=\"%s\" fill-opacity=\"%.2f\"/>\n",
                at, y, len, BAR_H, color, opacity);
}

/* Draws the bars of results [from, to) at y; returns the next free y.  A
 * soac system variant's bar is split into its phases (build, run, commit,
 * and the rest of the frame), lightest to darkest. */
static int bar_panel(FILE *f, const bench_result *r, size_t nr, size_t from,
                     size_t to, int y)
{
    double max = 0, base = 0;
    for (size_t i = from; i < to; i++) {
        if (r[i].ns_per_entity > max)
            max = r[i].ns_per_entity;
        if (strcmp(r[i].variant, "baseline") == 0)
            base = r[i].ns_per_entity;
    }
    double scale_max = base > 0 && max > CLIP_RATIO * base ? CLIP_RATIO * base
                                                           : max;
    fprintf(f,
            "<text x=\"10\" y=\"%d\" class=\"h\">%s, n = %zu: ns per entity "
            "per frame (shorter is faster)%s</text>\n",
            y + 14, r[from].scenario, r[from].n,
            scale_max < max ? "; bars past 3x the baseline are clipped" : "");
    y += 24;
    for (size_t i = from; i < to; i++) {
        const bench_result *x = &r[i];
        const char *c = color_of(r, nr, x->variant);
        double per = scale_max > 0 ? BAR_W / scale_max : 0; /* px per ns */
        double len = x->ns_per_entity * per;
        bool clipped = len > BAR_W + 0.5;
        if (clipped)
            len = BAR_W;
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n",
                LEFT - 8, y + 13, x->variant);
        double n = (double)x->n, at = LEFT;
        if (clipped) /* the phases keep their proportions in the clipped bar */
            per = BAR_W / x->ns_per_entity;
        if (x->has_phases && n > 0) {
            const double ph[3] = {x->build_ns / n, x->run_ns / n,
                                  x->commit_ns / n};
            const double op[3] = {0.35, 1.0, 0.6};
            for (int k = 0; k < 3; k++) {
                double l = ph[k] * per;
                if (at + l > LEFT + len)
                    l = LEFT + len - at;
                segment(f, at, l, y, c, op[k]);
                at += l > 0 ? l : 0;
            }
            segment(f, at, LEFT + len - at, y, c, 0.15); /* the rest */
        } else {
            segment(f, at, len < 1 ? 1 : len, y, c, 1.0);
        }
        char words[32];
        fprintf(f, "<text x=\"%.1f\" y=\"%d\">%s%.3g ns  (%s, %u thr)</text>\n",
                LEFT + len + 6, y + 13, clipped ? "&#x25B6; " : "",
                x->ns_per_entity,
                strcmp(x->variant, "baseline") == 0
                    ? "the baseline"
                    : bench_speed(x->ratio, words, sizeof words),
                x->threads);
        y += BAR_H + BAR_GAP;
    }
    return y + 12;
}

/* The scale scenario: lines over log2(n) and log10(ns). */
static int scale_panel(FILE *f, const bench_result *r, size_t nr, int y)
{
    const int px = LEFT, pw = 700, ph = 300;
    double nmin = 0, nmax = 0, ymin = 0, ymax = 0;
    for (size_t i = 0; i < nr; i++) {
        if (strcmp(r[i].scenario, "scale") != 0 || r[i].ns_per_entity <= 0)
            continue;
        double n = (double)r[i].n, v = r[i].ns_per_entity;
        if (nmin == 0 || n < nmin) nmin = n;
        if (n > nmax) nmax = n;
        if (ymin == 0 || v < ymin) ymin = v;
        if (v > ymax) ymax = v;
    }
    if (nmax <= nmin || ymax <= 0)
        return y;
    double ly0 = floor(log10(ymin)), ly1 = ceil(log10(ymax));
    if (ly1 <= ly0)
        ly1 = ly0 + 1;
    double lx0 = log2(nmin), lx1 = log2(nmax);
    fprintf(f,
            "<text x=\"10\" y=\"%d\" class=\"h\">scale (move at each n): ns "
            "per entity per frame against n, both axes logarithmic</text>\n",
            y + 14);
    int top = y + 30, bottom = top + ph;
#define XOF(n) (px + (log2(n) - lx0) / (lx1 - lx0) * pw)
#define YOF(v) (bottom - (log10(v) - ly0) / (ly1 - ly0) * ph)
    for (double d = ly0; d <= ly1; d += 1) {
        double gy = bottom - (d - ly0) / (ly1 - ly0) * ph;
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                "class=\"g\"/>\n<text x=\"%d\" y=\"%.1f\" "
                "text-anchor=\"end\">%g ns</text>\n",
                px, gy, px + pw, gy, px - 6, gy + 4, pow(10, d));
    }
    for (double n = nmin; n <= nmax; n *= 4) {
        double gx = XOF(n);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                "class=\"g\"/>\n<text x=\"%.1f\" y=\"%d\" "
                "text-anchor=\"middle\">%g%s</text>\n",
                gx, top, gx, bottom, gx, bottom + 16,
                n < 1048576 ? n / 1024 : n / 1048576, n < 1048576 ? "k" : "M");
    }
    /* One polyline per variant, in the order variants first appear. */
    int legend = 0;
    for (size_t i = 0; i < nr; i++) {
        if (strcmp(r[i].scenario, "scale") != 0)
            continue;
        size_t j = 0;
        while (j < i && !(strcmp(r[j].scenario, "scale") == 0 &&
                          strcmp(r[j].variant, r[i].variant) == 0))
            j++;
        if (j < i)
            continue; /* drawn already */
        const char *c = color_of(r, nr, r[i].variant);
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                   "points=\"", c);
        for (size_t k = i; k < nr; k++)
            if (strcmp(r[k].scenario, "scale") == 0 &&
                strcmp(r[k].variant, r[i].variant) == 0 &&
                r[k].ns_per_entity > 0)
                fprintf(f, "%.1f,%.1f ", XOF((double)r[k].n),
                        YOF(r[k].ns_per_entity));
        fprintf(f, "\"/>\n<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" "
                   "fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n",
                px + pw + 12, top + legend * 18, c, px + pw + 28,
                top + legend * 18 + 11, r[i].variant);
        legend++;
    }
#undef XOF
#undef YOF
    return bottom + 40;
}

int bench_write_svg(const char *path, const bench_result *r, size_t nr)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    /* Height: a panel per scenario of one size (as many bars as its
     * variants, plus a header), then the line chart. */
    int height = 76 + 380;
    for (size_t i = 0; i < nr; i++) {
        if (!bars(&r[i]))
            continue;
        height += BAR_H + BAR_GAP;
        if (i == 0 || strcmp(r[i].scenario, r[i - 1].scenario) != 0)
            height += 24 + 12;
    }
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<style>.h{font-weight:bold;font-size:13px}"
            ".g{stroke:#ddd}</style>\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"10\" y=\"24\" font-size=\"16\" font-weight=\"bold\">"
            "soac benchmark: cost per entity per frame, median of runs"
            "</text>\n",
            W, height);
    char machine[320];
    unsigned threads = 1;
    for (size_t i = 0; i < nr; i++)
        if (r[i].threads > threads)
            threads = r[i].threads;
    fprintf(f,
            "<text x=\"10\" y=\"42\">%s; parallel variants on %u threads; "
            "soac system bars: build (light), run, commit, rest of the "
            "frame (faint)</text>\n",
            bench_machine(machine, sizeof machine), threads);
    int y = 56;
    for (size_t i = 0; i < nr;) {
        size_t j = i + 1;
        while (j < nr && strcmp(r[j].scenario, r[i].scenario) == 0 &&
               r[j].n == r[i].n)
            j++;
        if (bars(&r[i]))
            y = bar_panel(f, r, nr, i, j, y);
        i = j;
    }
    scale_panel(f, r, nr, y);
    fprintf(f, "</svg>\n");
    int err = ferror(f);
    if (fclose(f) != 0 || err) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}
