/*
 * frame.c - encoding and checked decoding of data-plane frames (see frame.h).
 *
 * Layer: runtime/taskmanager leaf.
 */
#include "runtime/taskmanager/frame.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <string.h>

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

void rt_frame_header_encode(const rt_frame_header *h, uint8_t out[RT_FRAME_HEADER])
{
    put32(out, RT_FRAME_MAGIC);
    out[4] = h->kind;
    out[5] = h->flags;
    out[6] = out[7] = 0;
    put64(out + 8, (uint64_t)h->value);
    put32(out + 16, h->len);
    put32(out + 20, h->checksum);
}

int rt_frame_header_decode(const uint8_t in[RT_FRAME_HEADER], rt_frame_header *h, weir_error *err)
{
    if (get32(in) != RT_FRAME_MAGIC)
        return weir_error_set(err, WEIR_EPARSE, "bad frame magic 0x%08x", get32(in));
    h->kind = in[4];
    h->flags = in[5];
    h->value = (int64_t)get64(in + 8);
    h->len = get32(in + 16);
    h->checksum = get32(in + 20);
    if (in[6] || in[7] || (h->flags & ~1u))
        return weir_error_set(err, WEIR_EPARSE, "frame with unknown flags or reserved bits");
    switch (h->kind) {
    case RT_FRAME_HELLO:
    case RT_FRAME_REJECT:
    case RT_FRAME_BATCH:
        break;
    case RT_FRAME_ACCEPT:
    case RT_FRAME_RETRY:
    case RT_FRAME_WATERMARK:
    case RT_FRAME_BARRIER:
    case RT_FRAME_IDLE:
    case RT_FRAME_END:
        if (h->len)
            return weir_error_set(err, WEIR_EPARSE, "frame kind %u carries no payload",
                                  (unsigned)h->kind);
        break;
    default:
        return weir_error_set(err, WEIR_EPARSE, "unknown frame kind %u", (unsigned)h->kind);
    }
    if (h->len > RT_FRAME_MAX_PAYLOAD)
        return weir_error_set(err, WEIR_ETOOBIG, "frame payload of %u bytes exceeds %u", h->len,
                              RT_FRAME_MAX_PAYLOAD);
    if (h->kind == RT_FRAME_BARRIER && h->value <= 0)
        return weir_error_set(err, WEIR_EPARSE, "barrier with checkpoint id %lld",
                              (long long)h->value);
    if (h->kind == RT_FRAME_END && h->value != 0 && h->value != 1)
        return weir_error_set(err, WEIR_EPARSE, "end-of-input frame with value %lld",
                              (long long)h->value);
    return 0;
}

uint32_t rt_frame_checksum(const void *p, size_t len)
{
    return len ? (uint32_t)XXH3_64bits(p, len) : 0;
}

size_t rt_frame_hello_encode(const rt_frame_hello *h, uint8_t *buf)
{
    memcpy(buf, h->job_id, 32);
    put32(buf + 32, h->attempt);
    put32(buf + 36, h->chain);
    put32(buf + 40, h->consumer);
    put32(buf + 44, h->producer);
    put32(buf + 48, h->ncols);
    memset(buf + 52, 0, 8);
    memcpy(buf + 60, h->phys, h->ncols);
    return 60 + h->ncols;
}

int rt_frame_hello_decode(const uint8_t *p, size_t len, rt_frame_hello *h, weir_error *err)
{
    if (len < 60)
        return weir_error_set(err, WEIR_EPARSE, "hello frame of %zu bytes (at least 60)", len);
    memcpy(h->job_id, p, 32);
    h->job_id[32] = '\0';
    if (strspn(h->job_id, "0123456789abcdef") != 32)
        return weir_error_set(err, WEIR_EPARSE, "hello frame: job id is not 32 hex digits");
    h->attempt = get32(p + 32);
    h->chain = get32(p + 36);
    h->consumer = get32(p + 40);
    h->producer = get32(p + 44);
    h->ncols = get32(p + 48);
    if (h->ncols > sizeof(h->phys) || len != 60 + (size_t)h->ncols)
        return weir_error_set(err, WEIR_EPARSE, "hello frame: %u columns in %zu bytes", h->ncols,
                              len);
    memcpy(h->phys, p + 60, h->ncols);
    for (uint32_t i = 0; i < h->ncols; i++)
        if (h->phys[i] >= RT_PHYS_COUNT)
            return weir_error_set(err, WEIR_EPARSE, "hello frame: column %u has type %u", i,
                                  h->phys[i]);
    return 0;
}

/*
 * Batch payload:
 *   u32 rows, u32 columns, rows bytes of row kinds, then per column:
 *   u8 physical type, rows bytes of NULL flags, then
 *     I64/F64: rows * 8 bytes; I128: rows * 16 bytes (low 8, then high 8);
 *     STR: rows * u32 lengths, then the bytes of every value.
 */
size_t rt_frame_batch_size(const rt_batch *b)
{
    size_t n = 8 + b->n;
    for (uint32_t c = 0; c < b->ncols; c++) {
        const rt_col *col = &b->cols[c];
        n += 1 + b->n;
        if (rt_type_phys(col->type) == RT_PHYS_STR) {
            n += (size_t)b->n * 4;
            for (uint32_t r = 0; r < b->n; r++)
                n += col->null[r] ? 0 : col->str[r].len;
        } else
            n += (size_t)b->n * (rt_type_phys(col->type) == RT_PHYS_I128 ? 16 : 8);
    }
    return n;
}

size_t rt_frame_batch_encode(const rt_batch *b, uint8_t *buf)
{
    uint8_t *p = buf;
    put32(p, b->n);
    put32(p + 4, b->ncols);
    p += 8;
    memcpy(p, b->kind, b->n);
    p += b->n;
    for (uint32_t c = 0; c < b->ncols; c++) {
        const rt_col *col = &b->cols[c];
        rt_phys ph = rt_type_phys(col->type);
        *p++ = (uint8_t)ph;
        for (uint32_t r = 0; r < b->n; r++)
            *p++ = col->null[r] ? 1 : 0;
        if (ph == RT_PHYS_STR) {
            for (uint32_t r = 0; r < b->n; r++, p += 4)
                put32(p, col->null[r] ? 0 : col->str[r].len);
            for (uint32_t r = 0; r < b->n; r++)
                if (!col->null[r] && col->str[r].len) {
                    memcpy(p, col->str[r].ptr, col->str[r].len);
                    p += col->str[r].len;
                }
        } else if (ph == RT_PHYS_I128) {
            for (uint32_t r = 0; r < b->n; r++, p += 16) {
                rt_u128 v = col->null[r] ? 0 : (rt_u128)col->i128[r];
                put64(p, (uint64_t)v);
                put64(p + 8, (uint64_t)(v >> 64));
            }
        } else {
            /* i64 and f64 share the 8-byte layout */
            for (uint32_t r = 0; r < b->n; r++, p += 8)
                put64(p, col->null[r] ? 0 : (uint64_t)col->i64[r]);
        }
    }
    return (size_t)(p - buf);
}

int rt_frame_batch_decode(const uint8_t *p, size_t len, rt_batch *b, weir_error *err)
{
    rt_batch_reset(b);
    const uint8_t *end = p + len;
    if (len < 8)
        return weir_error_set(err, WEIR_EPARSE, "batch frame of %zu bytes", len);
    uint32_t rows = get32(p), cols = get32(p + 4);
    p += 8;
    if (rows == 0 || rows > b->cap)
        return weir_error_set(err, WEIR_EPARSE, "batch frame with %u rows (capacity %u)", rows,
                              b->cap);
    if (cols != b->ncols)
        return weir_error_set(err, WEIR_EPARSE, "batch frame with %u columns, channel has %u", cols,
                              b->ncols);
    if ((size_t)(end - p) < rows)
        goto short_;
    for (uint32_t r = 0; r < rows; r++)
        if (p[r] > RT_DELETE)
            return weir_error_set(err, WEIR_EPARSE, "batch frame: row %u has kind %u", r, p[r]);
    memcpy(b->kind, p, rows);
    p += rows;
    for (uint32_t c = 0; c < cols; c++) {
        rt_col *col = &b->cols[c];
        rt_phys ph = rt_type_phys(col->type);
        if ((size_t)(end - p) < 1 + (size_t)rows)
            goto short_;
        if (*p != (uint8_t)ph)
            return weir_error_set(err, WEIR_EPARSE,
                                  "batch frame: column %u has physical type %u, channel %u", c, *p,
                                  (unsigned)ph);
        p++;
        for (uint32_t r = 0; r < rows; r++)
            if (p[r] > 1)
                return weir_error_set(err, WEIR_EPARSE, "batch frame: bad NULL flag in column %u",
                                      c);
        memcpy(col->null, p, rows);
        p += rows;
        if (ph == RT_PHYS_STR) {
            if ((size_t)(end - p) < (size_t)rows * 4)
                goto short_;
            const uint8_t *lens = p;
            p += (size_t)rows * 4;
            uint64_t total = 0;
            for (uint32_t r = 0; r < rows; r++) {
                uint32_t l = get32(lens + 4 * r);
                if (col->null[r] && l)
                    return weir_error_set(err, WEIR_EPARSE,
                                          "batch frame: NULL value with a length in column %u", c);
                total += l;
            }
            if (total > (uint64_t)(end - p))
                goto short_;
            char *dst = total ? rt_arena_alloc(&b->arena, (size_t)total) : NULL;
            if (total && !dst)
                return weir_error_set(err, WEIR_ENOMEM, "out of memory");
            if (total)
                memcpy(dst, p, (size_t)total);
            size_t off = 0;
            for (uint32_t r = 0; r < rows; r++) {
                uint32_t l = get32(lens + 4 * r);
                col->str[r].ptr = l ? dst + off : NULL;
                col->str[r].len = l;
                off += l;
            }
            p += total;
        } else if (ph == RT_PHYS_I128) {
            if ((size_t)(end - p) < (size_t)rows * 16)
                goto short_;
            for (uint32_t r = 0; r < rows; r++, p += 16)
                col->i128[r] = (rt_i128)(((rt_u128)get64(p + 8) << 64) | get64(p));
        } else {
            if ((size_t)(end - p) < (size_t)rows * 8)
                goto short_;
            for (uint32_t r = 0; r < rows; r++, p += 8)
                col->i64[r] = (int64_t)get64(p);
        }
    }
    if (p != end)
        return weir_error_set(err, WEIR_EPARSE, "batch frame: %zu bytes after the last column",
                              (size_t)(end - p));
    b->n = rows;
    return 0;
short_:
    return weir_error_set(err, WEIR_EPARSE, "batch frame: payload ends early (%zu bytes)", len);
}
