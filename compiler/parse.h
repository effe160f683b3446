/*
 * parse.h: the front end's entry point and the state the scanner (lexer.l)
 * and the grammar (parser.y) share.  Only the front end includes this.
 */
#ifndef SOAC_PARSE_H
#define SOAC_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "ast.h"
#include "source.h"

/* A token's value: its text (identifier, number, decoded string) and the
 * `///` doc comment that came right before it, if any. */
typedef struct soac_tok {
    const char *text;
    const char *doc;
} soac_tok;

typedef struct soac_parser {
    soac_arena *arena;
    soac_diag *diag;
    const soac_source *src;
    soac_file *file;
    /* the scanner's position: where the next token starts */
    uint32_t line, col, offset;
    /* `///` lines seen since the last token (malloc'd) */
    char *doc;
    size_t doc_len, doc_cap;
    /* the outermost '{' still open, for "never closed" messages */
    soac_loc brace_loc;
    unsigned syntax_errors;  /* reported by the grammar (not the scanner) */
    soac_loc comment_loc;   /* where an open block comment started */
    const char *tok_text;   /* the last token's text: the lookahead's when
                             * the grammar reports an error */
    unsigned depth;
} soac_parser;

/*
 * Scans and parses one source into a soac_file allocated in `arena`.
 * Errors go to `diag` (the parser recovers at ';' and '}' and goes on); the
 * returned file holds whatever parsed.  Never NULL.  *syntax_errors is
 * incremented by the number of grammar errors: scanner errors (a bad
 * number, escape or character) leave the tree's shape intact, grammar
 * errors do not, and a tree with those is not worth checking.
 */
soac_file *soac_parse(soac_arena *arena, soac_diag *diag,
                      const soac_source *src, unsigned *syntax_errors);

/* A location from the scanner's current token start. */
static inline soac_loc soac_parser_loc(const soac_parser *p)
{
    soac_loc l;
    l.src = p->src;
    l.line = p->line;
    l.col = p->col;
    l.offset = p->offset;
    return l;
}

#endif /* SOAC_PARSE_H */
