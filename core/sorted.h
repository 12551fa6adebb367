/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Looking an address up in an array sorted by start address (symbols,
 * mappings): one binary search for ksyms, ELF symbols, perf maps and
 * /proc/PID/maps.
 */
#ifndef KT_SORTED_H
#define KT_SORTED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * How many of the n elements of base (each size bytes, sorted by the u64 at
 * key_off) start at or below addr: the element that may contain addr is the
 * one before that index, none when it is 0.
 */
static inline size_t kt_sorted_upto(const void *base, size_t n, size_t size, size_t key_off,
				    uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t key;

		memcpy(&key, (const char *)base + mid * size + key_off, sizeof(key));
		if (key <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#define KT_SORTED_UPTO(arr, n, field, addr) \
	kt_sorted_upto((arr), (n), sizeof(*(arr)), offsetof(__typeof__(*(arr)), field), (addr))

#endif
