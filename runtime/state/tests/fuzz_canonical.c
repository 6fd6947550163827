/*
 * fuzz_canonical.c - libFuzzer target for the savepoint/checkpoint state reader: the input is
 * written as a canonical state file and restored into a hashmap state. Corrupted, truncated or
 * hostile files must give WEIR_EPARSE with a message, never a crash or a huge allocation.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/state/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/weir-fuzz-canonical-%d", (int)getpid());
        mkdir(dir, 0700);
    }
    char path[128];
    snprintf(path, sizeof(path), "%s/state.kv", dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    rt_state_options o = {
        .backend = "hashmap", .max_parallelism = 128, .kg_first = 0, .kg_last = 63};
    rt_state *st = NULL;
    weir_error err = {0};
    if (rt_state_open(&o, &st, &err))
        __builtin_trap();
    json_t *h = json_pack("{s:s, s:[{s:s, s:i, s:b}]}", "format", "canonical", "files", "path",
                          "state.kv", "size", (int)size, "shared", 0);
    int rc = rt_state_restore(st, dir, &h, 1, &err);
    if (rc && !err.msg[0])
        __builtin_trap();
    json_decref(h);
    rt_state_free(st);
    unlink(path);
    return 0;
}
