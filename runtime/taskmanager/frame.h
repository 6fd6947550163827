/*
 * frame.h - the data plane's wire format: frames carrying record batches, watermarks, barriers,
 * idleness and end of input over TCP between TaskManagers (docs/network.md).
 *
 *   header (24 bytes, little-endian)
 *     0  u32  magic 0x31465257 ("WRF1")
 *     4  u8   kind (rt_frame_kind)
 *     5  u8   flags (bit 0: the barrier belongs to a savepoint)
 *     6  u16  reserved, 0
 *     8  i64  value: watermark (ms), checkpoint id, END: 1 drained / 0 stopped
 *    16  u32  payload length (at most RT_FRAME_MAX_PAYLOAD)
 *    20  u32  checksum: low 32 bits of XXH3-64 of the payload (0 when empty)
 *
 * The decoder trusts nothing: every length, count, type and flag is checked against the
 * channel's schema and the batch capacity before a byte is copied, and a bad frame is an error
 * naming what is wrong (the connection is then closed).
 *
 * Layer: runtime/taskmanager leaf. Depends on batch.h and xxhash.
 */
#ifndef WEIR_RT_FRAME_H
#define WEIR_RT_FRAME_H

#include "lib/error.h"
#include "runtime/engine/batch.h"

#include <stddef.h>
#include <stdint.h>

#define RT_FRAME_MAGIC       0x31465257u
#define RT_FRAME_HEADER      24
#define RT_FRAME_MAX_PAYLOAD (64u << 20)

typedef enum rt_frame_kind {
    RT_FRAME_HELLO = 1,  /* producer -> consumer: which channel (payload: rt_frame_hello) */
    RT_FRAME_ACCEPT = 2, /* consumer -> producer: channel found, frames may flow */
    RT_FRAME_RETRY = 3,  /* consumer -> producer: not deployed yet, connect again */
    RT_FRAME_REJECT = 4, /* consumer -> producer: stale attempt or bad channel (payload: text) */
    RT_FRAME_BATCH = 10, /* payload: an encoded batch */
    RT_FRAME_WATERMARK = 11,
    RT_FRAME_BARRIER = 12,
    RT_FRAME_IDLE = 13,
    RT_FRAME_END = 14
} rt_frame_kind;

typedef struct rt_frame_header {
    uint8_t kind, flags;
    int64_t value;
    uint32_t len, checksum;
} rt_frame_header;

/* The HELLO payload (fixed 60 bytes + 1 per column): which edge and which channel. */
typedef struct rt_frame_hello {
    char job_id[33];
    uint32_t attempt;
    uint32_t chain;    /* consumer chain */
    uint32_t consumer; /* consumer subtask */
    uint32_t producer; /* the consumer's input channel: the producer subtask, numbered on
                        * across the inputs of a union (graph.h rt_chain_input.first) */
    uint32_t ncols;
    uint8_t phys[256]; /* the physical type of every column, to catch a plan mismatch */
} rt_frame_hello;

void rt_frame_header_encode(const rt_frame_header *h, uint8_t out[RT_FRAME_HEADER]);
/* Decodes and checks a header (magic, kind, reserved bits, length limit). */
int rt_frame_header_decode(const uint8_t in[RT_FRAME_HEADER], rt_frame_header *h,
                           weir_error *err) WEIR_MUST_CHECK;
/* The checksum of a payload. */
uint32_t rt_frame_checksum(const void *p, size_t len);

/* Encodes a HELLO payload into buf (at least 60 + ncols bytes); returns its length. */
size_t rt_frame_hello_encode(const rt_frame_hello *h, uint8_t *buf);
int rt_frame_hello_decode(const uint8_t *p, size_t len, rt_frame_hello *h,
                          weir_error *err) WEIR_MUST_CHECK;

/* Bytes rt_frame_batch_encode() needs for `b`. */
size_t rt_frame_batch_size(const rt_batch *b);
/* Encodes `b` into buf (rt_frame_batch_size bytes); returns the length. */
size_t rt_frame_batch_encode(const rt_batch *b, uint8_t *buf);
/*
 * Decodes a batch payload into `b` (reset first; its column types are the channel's schema).
 * Returns 0, or WEIR_EPARSE with `err` naming the problem (row count over capacity, column
 * count or type mismatch, bad row kind or NULL flag, string lengths not matching the payload),
 * or WEIR_ENOMEM.
 */
int rt_frame_batch_decode(const uint8_t *p, size_t len, rt_batch *b,
                          weir_error *err) WEIR_MUST_CHECK;

#endif
