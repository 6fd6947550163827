/*
 * sql_token.h - the SQL tokenizer: identifiers (plain, case-preserving, or `quoted`), keywords
 * (case-insensitive; a keyword is an identifier the parser recognises by its upper-case text),
 * 'strings' with '' escapes, numbers, operators, and -- / block comments skipped.
 *
 * Layer: runtime/sql.
 */
#ifndef WEIR_RT_SQL_TOKEN_H
#define WEIR_RT_SQL_TOKEN_H

#include "lib/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum sql_tok {
    TK_EOF,
    TK_IDENT,  /* text: as written; upper: upper-cased */
    TK_QIDENT, /* `quoted`: text without the quotes, `` unescaped */
    TK_STRING, /* text: the value, '' unescaped */
    TK_NUMBER, /* text: as written */
    TK_OP      /* text: ( ) , ; . * + - / % = <> != < <= > >= || [ ] => */
} sql_tok;

typedef struct sql_token {
    sql_tok kind;
    char *text;  /* owned by the token list */
    char *upper; /* TK_IDENT only */
    int line, col;
    size_t offset;
} sql_token;

typedef struct sql_tokens {
    sql_token *v;
    size_t n;
} sql_tokens;

/* Tokenizes `text`. Errors (unterminated string, comment or quoted identifier, a stray
 * character) give "file:line:col: ..." in err. Caller frees with sql_tokens_free(). */
int sql_tokenize(const char *text, size_t len, const char *file, sql_tokens *out,
                 weir_error *err) WEIR_MUST_CHECK;
void sql_tokens_free(sql_tokens *t);

#endif
