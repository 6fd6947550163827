/*
 * fuzz_kubeconfig.c - libFuzzer target: arbitrary bytes as a kubeconfig, with the current
 * context and a named one. Must never crash, leak or read out of bounds; errors must carry a
 * message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/kube/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *contexts[] = {NULL, "main"};
    for (int i = 0; i < 2; i++) {
        kube_config *c = NULL;
        weir_error err = {0};
        int rc =
            kube_config_parse((const char *)data, size, "fuzz", "/base", contexts[i], &c, &err);
        if (rc == 0 && (!c || !c->server || !c->namespace))
            abort();
        if (rc != 0 && (c || !err.msg[0]))
            abort();
        kube_config_free(c);
    }
    return 0;
}
