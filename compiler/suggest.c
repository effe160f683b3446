/* suggest.c: the nearest candidate to a name not found (see suggest.h). */
#include <string.h>

#include "suggest.h"

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

void soac_suggest_init(soac_suggest *s, const char *name)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    s->len = strlen(name);
    s->limit = s->len / 3;
    if (s->limit == 0 && s->len >= 2)
        s->limit = 1;
}

/* The optimal string alignment distance of a[0..n) and b[0..m), both at
 * most SOAC_SUGGEST_MAX_LEN long, ignoring case. */
static size_t distance(const char *a, size_t n, const char *b, size_t m)
{
    size_t rows[3][SOAC_SUGGEST_MAX_LEN + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = lower(a[i - 1]) != lower(b[j - 1]);
            size_t d = prev[j - 1] + cost;
            if (prev[j] + 1 < d)
                d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && prev2[j - 2] + 1 < d)
                d = prev2[j - 2] + 1;
            cur[j] = d;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[m];
}

void soac_suggest_try(soac_suggest *s, const char *candidate)
{
    size_t m = strlen(candidate);
    if (s->len > SOAC_SUGGEST_MAX_LEN || m > SOAC_SUGGEST_MAX_LEN ||
        (m > s->len ? m - s->len : s->len - m) > s->limit ||
        strcmp(candidate, s->name) == 0)
        return;
    size_t d = distance(s->name, s->len, candidate, m);
    if (d <= s->limit && (!s->best || d < s->dist)) {
        s->best = candidate;
        s->dist = d;
    }
}
