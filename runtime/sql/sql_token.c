/*
 * sql_token.c - the SQL tokenizer (see sql_token.h).
 *
 * Layer: runtime/sql.
 */
#include "runtime/sql/sql_token.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int push(sql_tokens *t, size_t *cap, sql_tok kind, char *text, int line, int col, size_t off)
{
    if (t->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        sql_token *nv = realloc(t->v, nc * sizeof(*nv));
        if (!nv) {
            free(text);
            return WEIR_ENOMEM;
        }
        t->v = nv;
        *cap = nc;
    }
    sql_token *k = &t->v[t->n++];
    memset(k, 0, sizeof(*k));
    k->kind = kind;
    k->text = text;
    k->line = line;
    k->col = col;
    k->offset = off;
    if (kind == TK_IDENT && text) {
        k->upper = strdup(text);
        if (!k->upper)
            return WEIR_ENOMEM;
        for (char *p = k->upper; *p; p++)
            *p = (char)toupper((unsigned char)*p);
    }
    return 0;
}

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int sql_tokenize(const char *s, size_t len, const char *file, sql_tokens *out, weir_error *err)
{
    sql_tokens t = {0};
    size_t cap = 0, i = 0;
    int line = 1, col = 1, rc = 0;
#define ADV(k)                                                                                     \
    do {                                                                                           \
        size_t n_ = (k);                                                                           \
        for (size_t q_ = 0; q_ < n_; q_++, i++) {                                                  \
            if (s[i] == '\n') {                                                                    \
                line++;                                                                            \
                col = 1;                                                                           \
            } else if (((unsigned char)s[i] & 0xC0) != 0x80)                                       \
                col++;                                                                             \
        }                                                                                          \
    } while (0)
    while (i < len) {
        char c = s[i];
        if (c == '\0') {
            rc = weir_error_set(err, WEIR_EPARSE, "%s:%d:%d: NUL byte in the script", file, line,
                                col);
            goto fail;
        }
        if (isspace((unsigned char)c)) {
            ADV(1);
            continue;
        }
        if (c == '-' && i + 1 < len && s[i + 1] == '-') {
            while (i < len && s[i] != '\n')
                ADV(1);
            continue;
        }
        if (c == '/' && i + 1 < len && s[i + 1] == '*') {
            int l0 = line, c0 = col;
            ADV(2);
            while (i + 1 < len && !(s[i] == '*' && s[i + 1] == '/'))
                ADV(1);
            if (i + 1 >= len) {
                rc = weir_error_set(err, WEIR_EPARSE, "%s:%d:%d: unterminated comment", file, l0,
                                    c0);
                goto fail;
            }
            ADV(2);
            continue;
        }
        int l0 = line, c0 = col;
        size_t off = i;
        if (isalpha((unsigned char)c) || c == '_' || c == '$' || ((unsigned char)c & 0x80)) {
            size_t j = i;
            while (j < len && (isalnum((unsigned char)s[j]) || s[j] == '_' || s[j] == '$' ||
                               ((unsigned char)s[j] & 0x80)))
                j++;
            char *txt = dup_range(s + i, j - i);
            if (!txt || (rc = push(&t, &cap, TK_IDENT, txt, l0, c0, off)))
                goto oom;
            ADV(j - i);
            continue;
        }
        if (c == '`' || c == '\'' || c == '"') {
            char q = c;
            size_t j = i + 1, k = 0;
            char *buf = malloc(len - i + 1);
            if (!buf)
                goto oom;
            for (;;) {
                if (j >= len) {
                    free(buf);
                    rc = weir_error_set(err, WEIR_EPARSE, "%s:%d:%d: unterminated %s", file, l0, c0,
                                        q == '\'' ? "string" : "quoted identifier");
                    goto fail;
                }
                if (s[j] == q) {
                    if (j + 1 < len && s[j + 1] == q) {
                        buf[k++] = q;
                        j += 2;
                        continue;
                    }
                    break;
                }
                buf[k++] = s[j++];
            }
            buf[k] = '\0';
            if ((rc = push(&t, &cap, q == '\'' ? TK_STRING : TK_QIDENT, buf, l0, c0, off)))
                goto oom;
            ADV(j + 1 - i);
            continue;
        }
        if (isdigit((unsigned char)c) ||
            (c == '.' && i + 1 < len && isdigit((unsigned char)s[i + 1]))) {
            size_t j = i;
            while (j < len && isdigit((unsigned char)s[j]))
                j++;
            if (j < len && s[j] == '.') {
                j++;
                while (j < len && isdigit((unsigned char)s[j]))
                    j++;
            }
            if (j < len && (s[j] == 'e' || s[j] == 'E')) {
                size_t k = j + 1;
                if (k < len && (s[k] == '+' || s[k] == '-'))
                    k++;
                if (k < len && isdigit((unsigned char)s[k])) {
                    j = k;
                    while (j < len && isdigit((unsigned char)s[j]))
                        j++;
                }
            }
            char *txt = dup_range(s + i, j - i);
            if (!txt || (rc = push(&t, &cap, TK_NUMBER, txt, l0, c0, off)))
                goto oom;
            ADV(j - i);
            continue;
        }
        static const char *const ops[] = {"<>", "!=", "<=", ">=", "||", "=>", "(", ")",
                                          ",",  ";",  ".",  "*",  "+",  "-",  "/", "%",
                                          "=",  "<",  ">",  "[",  "]",  NULL};
        const char *op = NULL;
        for (const char *const *o = ops; *o; o++)
            if (i + strlen(*o) <= len && memcmp(s + i, *o, strlen(*o)) == 0) {
                op = *o;
                break;
            }
        if (!op) {
            rc = weir_error_set(err, WEIR_EPARSE, "%s:%d:%d: unexpected character '%c'", file, l0,
                                c0, isprint((unsigned char)c) ? c : '?');
            goto fail;
        }
        char *txt = strdup(op);
        if (!txt || (rc = push(&t, &cap, TK_OP, txt, l0, c0, off)))
            goto oom;
        ADV(strlen(op));
    }
    if ((rc = push(&t, &cap, TK_EOF, strdup(""), line, col, i)))
        goto oom;
    *out = t;
    return 0;
oom:
    rc = weir_error_set(err, WEIR_ENOMEM, "out of memory");
fail:
    sql_tokens_free(&t);
    return rc;
#undef ADV
}

void sql_tokens_free(sql_tokens *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].text);
        free(t->v[i].upper);
    }
    free(t->v);
    t->v = NULL;
    t->n = 0;
}
