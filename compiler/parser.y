/*
 * parser.y: the schema grammar.  A pure parser (no globals) whose actions
 * only build AST nodes; names, types and defaults are checked in check.c.
 * Errors recover at ';' and '}', so one run reports many of them.
 */
%define api.pure full
%define api.prefix {soac_yy}
%define parse.error custom
%locations
%param {void *scanner}
%parse-param {soac_parser *p}
%expect 0

%code requires {
#include "ast.h"
#include "parse.h"

/* Locations carry the byte offset too, for the caret display. */
typedef struct SOAC_YYLTYPE {
    int first_line, first_column, last_line, last_column;
    uint32_t first_offset;
} SOAC_YYLTYPE;
#define SOAC_YYLTYPE_IS_DECLARED 1
#define SOAC_YYLTYPE_IS_TRIVIAL 1
}

%code {
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "suggest.h"

int soac_yylex(SOAC_YYSTYPE *lval, SOAC_YYLTYPE *lloc, void *scanner);
static void soac_yyerror(SOAC_YYLTYPE *l, void *scanner, soac_parser *p,
                         const char *msg);

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                      \
    do {                                                                 \
        if (N) {                                                         \
            (Cur).first_line = YYRHSLOC(Rhs, 1).first_line;              \
            (Cur).first_column = YYRHSLOC(Rhs, 1).first_column;          \
            (Cur).first_offset = YYRHSLOC(Rhs, 1).first_offset;          \
            (Cur).last_line = YYRHSLOC(Rhs, N).last_line;                \
            (Cur).last_column = YYRHSLOC(Rhs, N).last_column;            \
        } else {                                                         \
            (Cur).first_line = (Cur).last_line = YYRHSLOC(Rhs, 0).last_line; \
            (Cur).first_column = (Cur).last_column =                     \
                YYRHSLOC(Rhs, 0).last_column;                            \
            (Cur).first_offset = YYRHSLOC(Rhs, 0).first_offset;          \
        }                                                                \
    } while (0)

static soac_loc L(const soac_parser *p, SOAC_YYLTYPE l);
static void *node(soac_parser *p, size_t bytes);
static void add_decl(soac_parser *p, soac_decl_kind kind, void *d);
static soac_value *int_value(soac_parser *p, soac_tok t, SOAC_YYLTYPE l,
                             bool negative);
static soac_value *float_value(soac_parser *p, soac_tok t, SOAC_YYLTYPE l,
                               bool negative);
static soac_value *simple_value(soac_parser *p, soac_value_kind kind,
                                soac_tok t, SOAC_YYLTYPE l);
static void append(soac_parser *p, soac_list *to, const soac_list *from);
}

%union {
    soac_tok tok;
    soac_value *val;
    soac_type type;
    soac_list list;
    soac_field *field;
    soac_enum_item *item;
    soac_ref *ref;
    soac_system *sys;
}

%token <tok> IDENT "identifier" INT "integer" FLOAT "number" STRING "string"
%token <tok> KW_NAMESPACE "namespace" KW_INCLUDE "include" KW_ENUM "enum"
%token <tok> KW_COMPONENT "component" KW_SYSTEM "system" KW_READ "read"
%token <tok> KW_WRITE "write" KW_WITHOUT "without" KW_TRUE "true"
%token <tok> KW_FALSE "false"
%token <tok> '{' '}' '[' ']' ';' ':' ',' '=' '-'

%type <tok> name
%type <val> value
%type <type> type
%type <list> fields enum_body enum_list refs values value_list
%type <sys> sys_body
%type <field> field
%type <item> enum_item
%type <ref> ref

%%

file
    : %empty
    | file item
    ;

item
    : KW_NAMESPACE name ';' {
          soac_ns_decl *n = node(p, sizeof *n);
          n->name = $2.text; n->loc = L(p, @2);
          soac_list_push(p->arena, &p->file->namespaces, n);
      }
    | KW_INCLUDE STRING ';' {
          soac_include *i = node(p, sizeof *i);
          i->path = $2.text; i->loc = L(p, @2);
          soac_list_push(p->arena, &p->file->includes, i);
      }
    | KW_ENUM name ':' type '{' enum_body '}' {
          soac_enum *e = node(p, sizeof *e);
          e->name = $2.text; e->loc = L(p, @2); e->doc = $1.doc;
          e->base = $4; e->items = $6;
          add_decl(p, SOAC_DECL_ENUM, e);
      }
    | KW_COMPONENT name '{' fields '}' {
          soac_component *c = node(p, sizeof *c);
          c->name = $2.text; c->loc = L(p, @2); c->doc = $1.doc;
          c->fields = $4;
          add_decl(p, SOAC_DECL_COMPONENT, c);
      }
    | KW_SYSTEM name '{' sys_body '}' {
          soac_system *s = $4;
          s->name = $2.text; s->loc = L(p, @2); s->doc = $1.doc;
          add_decl(p, SOAC_DECL_SYSTEM, s);
      }
    | ';'
    | error ';' { yyerrok; }
    | error '}' { yyerrok; }
    /* not a declaration (`struct A { ... }`): skip to its end */
    | error '{' error '}' { yyerrok; }
    /* a broken declaration head: skip its whole body */
    | KW_ENUM error '}' { yyerrok; }
    | KW_COMPONENT error '}' { yyerrok; }
    | KW_SYSTEM error '}' { yyerrok; }
    ;

name
    : IDENT
    | KW_READ
    | KW_WRITE
    | KW_WITHOUT
    ;

type
    : name {
          memset(&$$, 0, sizeof $$);
          $$.name = $1.text; $$.loc = L(p, @1);
      }
    | name '[' INT ']' {
          memset(&$$, 0, sizeof $$);
          $$.name = $1.text; $$.loc = L(p, @1); $$.is_array = true;
          soac_value *n = int_value(p, $3, @3, false);
          $$.array_len = n->too_big ? UINT64_MAX : n->magnitude;
          $$.len_loc = L(p, @3);
      }
    ;

enum_body
    : %empty { memset(&$$, 0, sizeof $$); }
    | enum_list
    | enum_list ','
    ;

enum_list
    : enum_item { memset(&$$, 0, sizeof $$); soac_list_push(p->arena, &$$, $1); }
    | enum_list ',' enum_item { $$ = $1; soac_list_push(p->arena, &$$, $3); }
    ;

enum_item
    : name {
          $$ = node(p, sizeof *$$);
          $$->name = $1.text; $$->loc = L(p, @1); $$->doc = $1.doc;
      }
    | name '=' value {
          $$ = node(p, sizeof *$$);
          $$->name = $1.text; $$->loc = L(p, @1); $$->doc = $1.doc;
          $$->value = $3;
      }
    ;

fields
    : %empty { memset(&$$, 0, sizeof $$); }
    | fields field { $$ = $1; if ($2) soac_list_push(p->arena, &$$, $2); }
    ;

field
    : name ':' type ';' {
          $$ = node(p, sizeof *$$);
          $$->name = $1.text; $$->loc = L(p, @1); $$->doc = $1.doc;
          $$->type = $3;
      }
    | name ':' type '=' value ';' {
          $$ = node(p, sizeof *$$);
          $$->name = $1.text; $$->loc = L(p, @1); $$->doc = $1.doc;
          $$->type = $3; $$->def = $5;
      }
    | error ';' { $$ = NULL; yyerrok; }
    ;

sys_body
    : %empty { $$ = node(p, sizeof *$$); }
    | sys_body KW_READ refs ';' { $$ = $1; append(p, &$$->reads, &$3); }
    | sys_body KW_WRITE refs ';' { $$ = $1; append(p, &$$->writes, &$3); }
    | sys_body KW_WITHOUT refs ';' { $$ = $1; append(p, &$$->without, &$3); }
    | sys_body error ';' { $$ = $1; yyerrok; }
    ;

refs
    : ref { memset(&$$, 0, sizeof $$); soac_list_push(p->arena, &$$, $1); }
    | refs ',' ref { $$ = $1; soac_list_push(p->arena, &$$, $3); }
    ;

ref
    : name { $$ = node(p, sizeof *$$); $$->name = $1.text; $$->loc = L(p, @1); }
    ;

value
    : INT { $$ = int_value(p, $1, @1, false); }
    | '-' INT { $$ = int_value(p, $2, @$, true); }
    | FLOAT { $$ = float_value(p, $1, @1, false); }
    | '-' FLOAT { $$ = float_value(p, $2, @$, true); }
    | KW_TRUE { $$ = simple_value(p, SOAC_VAL_BOOL, $1, @1); $$->bval = true; }
    | KW_FALSE { $$ = simple_value(p, SOAC_VAL_BOOL, $1, @1); }
    | name { $$ = simple_value(p, SOAC_VAL_NAME, $1, @1); $$->name = $1.text; }
    | '[' values ']' { $$ = simple_value(p, SOAC_VAL_ARRAY, $1, @1); $$->elems = $2; }
    | STRING { $$ = simple_value(p, SOAC_VAL_STRING, $1, @1); }
    ;

values
    : %empty { memset(&$$, 0, sizeof $$); }
    | value_list
    | value_list ','
    ;

value_list
    : value { memset(&$$, 0, sizeof $$); soac_list_push(p->arena, &$$, $1); }
    | value_list ',' value { $$ = $1; soac_list_push(p->arena, &$$, $3); }
    ;

%%

static soac_loc L(const soac_parser *p, SOAC_YYLTYPE l)
{
    soac_loc loc = { p->src, (uint32_t)l.first_line, (uint32_t)l.first_column,
                     l.first_offset };
    return loc;
}

static void *node(soac_parser *p, size_t bytes)
{
    return soac_arena_alloc(p->arena, bytes);
}

static void add_decl(soac_parser *p, soac_decl_kind kind, void *d)
{
    soac_decl *decl = node(p, sizeof *decl);
    decl->kind = kind;
    switch (kind) {
    case SOAC_DECL_ENUM: decl->u.enm = d; break;
    case SOAC_DECL_COMPONENT: decl->u.comp = d; break;
    case SOAC_DECL_SYSTEM: decl->u.sys = d; break;
    }
    soac_list_push(p->arena, &p->file->decls, decl);
}

static void append(soac_parser *p, soac_list *to, const soac_list *from)
{
    for (size_t i = 0; i < from->len; i++)
        soac_list_push(p->arena, to, from->items[i]);
}

static soac_value *simple_value(soac_parser *p, soac_value_kind kind,
                                soac_tok t, SOAC_YYLTYPE l)
{
    soac_value *v = node(p, sizeof *v);
    v->kind = kind;
    v->loc = L(p, l);
    v->text = t.text;
    return v;
}

/* Decimal or 0x hex; a magnitude past 64 bits sets too_big. */
static soac_value *int_value(soac_parser *p, soac_tok t, SOAC_YYLTYPE l,
                             bool negative)
{
    soac_value *v = simple_value(p, SOAC_VAL_INT, t, l);
    const char *s = t.text;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    uint64_t m = 0;
    for (; *s; s++) {
        unsigned d = *s >= '0' && *s <= '9' ? (unsigned)(*s - '0')
                   : (unsigned)((*s | 0x20) - 'a' + 10);
        if (m > (UINT64_MAX - d) / base)
            v->too_big = true;
        m = m * base + d;
    }
    v->negative = negative;
    v->magnitude = v->too_big ? 0 : m;
    if (negative)
        v->text = strcat(strcpy(node(p, strlen(t.text) + 2), "-"), t.text);
    return v;
}

static soac_value *float_value(soac_parser *p, soac_tok t, SOAC_YYLTYPE l,
                               bool negative)
{
    soac_value *v = simple_value(p, SOAC_VAL_FLOAT, t, l);
    if (negative)
        v->text = strcat(strcpy(node(p, strlen(t.text) + 2), "-"), t.text);
    return v;
}

static void soac_yyerror(SOAC_YYLTYPE *l, void *scanner, soac_parser *p,
                         const char *msg)
{
    (void)scanner;
    p->syntax_errors++;
    if (p->depth && strstr(msg, "end of file"))
        soac_error(p->diag, L(p, *l), "%s (the '{' at line %u, column %u is never closed)",
                   msg, p->brace_loc.line, p->brace_loc.col);
    else
        soac_error(p->diag, L(p, *l), "%s", msg);
}

/* ---- syntax error messages ---------------------------------------- */

/* The most tokens a message lists after "expecting" (bison's own limit:
 * past it, the list says too little to help). */
#define EXPECTED_SHOWN 4

/* Appends a token's name as bison's verbose messages show it: identifier,
 * ';', end of file, write (the grammar's quotes dropped). */
static void put_token(soac_out *o, yysymbol_kind_t k)
{
    const char *n = yysymbol_name(k);
    size_t len = strlen(n);
    if (len >= 2 && n[0] == '"' && n[len - 1] == '"')
        soac_out_write(o, n + 1, len - 2);
    else
        soac_out_puts(o, n);
}

/* Whether a token is a keyword (its name is its spelling). */
static bool keyword(yysymbol_kind_t k)
{
    switch (k) {
    case YYSYMBOL_KW_NAMESPACE: case YYSYMBOL_KW_INCLUDE: case YYSYMBOL_KW_ENUM:
    case YYSYMBOL_KW_COMPONENT: case YYSYMBOL_KW_SYSTEM: case YYSYMBOL_KW_READ:
    case YYSYMBOL_KW_WRITE: case YYSYMBOL_KW_WITHOUT: case YYSYMBOL_KW_TRUE:
    case YYSYMBOL_KW_FALSE:
        return true;
    default:
        return false;
    }
}

/* What other languages call a declaration at the top of a file. */
static const char *top_alias(const char *word)
{
    static const char *const alias[][2] = {
        { "struct", "component" }, { "class", "component" }, { "table", "component" },
        { "record", "component" }, { "type", "component" }, { "import", "include" },
        { "use", "include" }, { "package", "namespace" }, { "module", "namespace" },
    };
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (strcmp(alias[i][0], word) == 0)
            return alias[i][1];
    return NULL;
}

/* "; did you mean 'K'?" when the identifier `word` is near one of the
 * expected keywords (or, at the top, a word that means one of them). */
static void put_keyword_hint(soac_out *o, const char *word,
                             const yysymbol_kind_t *expected, int n, bool top)
{
    soac_suggest sg;
    soac_suggest_init(&sg, word);
    char names[YYNTOKENS][16];
    for (int i = 0; i < n && i < YYNTOKENS; i++) {
        if (!keyword(expected[i]))
            continue;
        soac_out name = { NULL, 0, 0 };
        put_token(&name, expected[i]);
        snprintf(names[i], sizeof names[i], "%s", name.data);
        soac_out_free(&name);
        soac_suggest_try(&sg, names[i]);
    }
    const char *best = top && top_alias(word) ? top_alias(word) : sg.best;
    if (best)
        soac_out_printf(o, "; did you mean '%s'?", best);
}

/* Bison's verbose message ("syntax error, unexpected X, expecting A or
 * B"), except where a declaration must start: "expected 'component',
 * 'enum', 'system', 'namespace' or 'include', not X".  An identifier near
 * an expected keyword gets "did you mean"; an end of file inside braces
 * says where they opened. */
static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner,
                                 soac_parser *p)
{
    (void)scanner;
    yysymbol_kind_t expected[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, expected, YYNTOKENS);
    if (n < 0)
        return n;
    yysymbol_kind_t got = yypcontext_token(ctx);
    bool top = false;
    for (int i = 0; i < n; i++)
        top = top || expected[i] == YYSYMBOL_KW_COMPONENT;
    soac_out msg = { NULL, 0, 0 };
    if (top && got != YYSYMBOL_YYEMPTY) {
        soac_out_puts(&msg, "expected 'component', 'enum', 'system', 'namespace' or 'include', not ");
        if (got == YYSYMBOL_IDENT || keyword(got))
            soac_out_printf(&msg, "'%s'", p->tok_text);
        else
            put_token(&msg, got);
    } else {
        soac_out_puts(&msg, "syntax error");
        if (got != YYSYMBOL_YYEMPTY) {
            soac_out_puts(&msg, ", unexpected ");
            put_token(&msg, got);
        }
        for (int i = 0; got != YYSYMBOL_YYEMPTY && n <= EXPECTED_SHOWN && i < n; i++) {
            soac_out_puts(&msg, i ? " or " : ", expecting ");
            put_token(&msg, expected[i]);
        }
    }
    if (got == YYSYMBOL_IDENT)
        put_keyword_hint(&msg, p->tok_text, expected, n, top);
    soac_yyerror(yypcontext_location(ctx), scanner, p, msg.data);
    soac_out_free(&msg);
    return 0;
}
