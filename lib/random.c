/*
 * random.c - random identifiers (see random.h).
 *
 * Layer: lib.
 */
#include "lib/random.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

void random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char buf[64];
    if (n > sizeof(buf))
        n = sizeof(buf);
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, buf, n) : -1;
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < n; i++)
        out[i] = hex[(got == (ssize_t)n ? buf[i] : (unsigned char)rand()) & 15];
    out[n] = '\0';
}
