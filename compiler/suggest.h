/*
 * suggest.h: "did you mean": the candidate nearest a name that was not
 * found (a misspelt type, component, enum value or keyword).
 *
 *   soac_suggest sg;
 *   soac_suggest_init(&sg, "Postion");
 *   soac_suggest_try(&sg, "Position");     (each candidate, in a fixed order)
 *   if (sg.best) ... "did you mean '%s'?", sg.best
 *
 * Near means an edit distance (insertions, deletions, substitutions and
 * swaps of two neighbours, letters compared without case) of at most a
 * third of the name's length (1 for a name of two to five letters, 0 for
 * one letter: only its other case); the nearest wins, the first
 * of equals.  Each candidate costs at most SOAC_SUGGEST_MAX_LEN squared
 * steps; a longer name gets no suggestion.
 */
#ifndef SOAC_SUGGEST_H
#define SOAC_SUGGEST_H

#include <stddef.h>

#define SOAC_SUGGEST_MAX_LEN 64

typedef struct soac_suggest {
    const char *name;   /* what was written */
    size_t len;
    size_t limit;       /* the largest distance that counts as near */
    const char *best;   /* the nearest candidate so far, or NULL */
    size_t dist;        /* its distance */
} soac_suggest;

void soac_suggest_init(soac_suggest *s, const char *name);
/* Considers `candidate` (a string the caller keeps alive); the name
 * itself is never suggested. */
void soac_suggest_try(soac_suggest *s, const char *candidate);

#endif /* SOAC_SUGGEST_H */
