/*
 * fuzz_multipart.c - libFuzzer target for /jars/upload's multipart parser: the first line of
 * the input is the Content-Type, the rest the body; a found part lies inside the body and has
 * a safe file name.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/jobmanager/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    if (!nl)
        return 0;
    char ct[512];
    size_t cl = (size_t)(nl - (const char *)data);
    if (cl >= sizeof(ct))
        return 0;
    memcpy(ct, data, cl);
    ct[cl] = '\0';
    const char *body = nl + 1;
    size_t len = size - cl - 1;
    multipart_file f;
    weir_error err = {0};
    int rc = multipart_find(ct, body, len, "jarfile", &f, &err);
    if (rc == 0) {
        if (f.data < body || f.data + f.len > body + len || !f.filename[0] ||
            strchr(f.filename, '/') || strcmp(f.filename, "..") == 0)
            __builtin_trap();
    } else if (!err.msg[0])
        __builtin_trap();
    return 0;
}
