/*
 * fuzz_watch.c - libFuzzer target: arbitrary bytes as a watch stream, fed whole and in
 * chunks cut at positions taken from the input. Both ways must deliver the same events and end
 * with the same status.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/kube/watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(kube_watch_type t, json_t *obj, void *ud)
{
    size_t *n = ud;
    if (!obj || (int)t < 0 || t > KUBE_WATCH_BOOKMARK)
        abort();
    (*n)++;
    return 0;
}

static int run(const uint8_t *data, size_t size, size_t step, size_t *events)
{
    kube_watch_decoder *d = kube_watch_decoder_new(4096, count, events);
    weir_error err = {0};
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += step) {
        size_t n = size - off < step ? size - off : step;
        rc = kube_watch_decoder_feed(d, (const char *)data + off, n, &err);
    }
    if (rc == 0)
        rc = kube_watch_decoder_finish(d, &err);
    if (rc != 0 && !err.msg[0])
        abort();
    kube_watch_decoder_free(d);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t whole = 0, chunked = 0;
    int a = run(data, size, size ? size : 1, &whole);
    size_t step = size ? (size_t)data[0] % 17 + 1 : 1;
    int b = run(data, size, step, &chunked);
    if (a != b || whole != chunked)
        abort();
    return 0;
}
