/*
 * clock.c - clock helpers (see clock.h).
 *
 * Layer: lib/ leaf.
 */
#include "lib/clock.h"

#include <time.h>

uint64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t clock_mono_ms(void)
{
    return (int64_t)(clock_mono_ns() / 1000000u);
}

int64_t clock_epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int64_t clock_parse_k8s_ms(const char *s)
{
    struct tm tmv = {0};
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tmv))
        return 0;
    return (int64_t)timegm(&tmv) * 1000;
}
