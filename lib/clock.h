/*
 * clock.h - the few clock helpers every layer needs: monotonic time for intervals and
 * timeouts, wall-clock epoch milliseconds for what users see, and a sleep.
 *
 * Layer: lib/ leaf. Depends on POSIX clocks only.
 */
#ifndef WEIR_CLOCK_H
#define WEIR_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds / milliseconds (intervals, deadlines). */
uint64_t clock_mono_ns(void);
int64_t clock_mono_ms(void);
/* CLOCK_REALTIME as epoch milliseconds (timestamps in status, metadata and REST answers). */
int64_t clock_epoch_ms(void);
/* A Kubernetes timestamp ("2026-11-23T15:47:12Z", RFC 3339 in UTC) as epoch milliseconds, or 0
 * when `s` is NULL or not such a time. */
int64_t clock_parse_k8s_ms(const char *s);
/* Sleeps `ms` milliseconds (<= 0: returns at once). */
void clock_sleep_ms(int64_t ms);

#endif
