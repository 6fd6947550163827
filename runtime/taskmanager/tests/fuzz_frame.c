/*
 * fuzz_frame.c - libFuzzer target for the data-plane decoders: a header, a hello and a batch
 * payload (into a fixed schema) either decode consistently or fail with a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/taskmanager/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    weir_error err = {0};
    if (size >= RT_FRAME_HEADER) {
        rt_frame_header h;
        if (rt_frame_header_decode(data, &h, &err) && !err.msg[0])
            __builtin_trap();
    }
    rt_frame_hello hello;
    err.msg[0] = '\0';
    if (rt_frame_hello_decode(data, size, &hello, &err) && !err.msg[0])
        __builtin_trap();
    rt_type types[3] = {rt_type_of(RT_BIGINT), rt_type_of(RT_VARCHAR), rt_type_of(RT_DOUBLE)};
    rt_batch *b = rt_batch_new_types(types, 3, 64);
    if (!b)
        return 0;
    err.msg[0] = '\0';
    int rc = rt_frame_batch_decode(data, size, b, &err);
    if (rc == 0) {
        /* a decoded batch re-encodes to as many bytes (NULL values encode as zeros) */
        if (rt_frame_batch_size(b) != size)
            __builtin_trap();
        char line[512];
        for (uint32_t r = 0; r < b->n; r++)
            rt_batch_format_row(b, r, line, sizeof(line));
    } else if (!err.msg[0] && rc != WEIR_ENOMEM)
        __builtin_trap();
    rt_batch_free(b);
    return 0;
}
