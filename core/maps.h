/* SPDX-License-Identifier: GPL-2.0 */
/* Draining BPF hash maps into user space at each interval. */
#ifndef KT_MAPS_H
#define KT_MAPS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Calls fn(key, value, arg) for every entry of the hash map fd, deleting
 * each entry after it is read when del is set. Uses batched lookup-and-delete
 * where the kernel has it (5.6+), one entry at a time otherwise. Returns the
 * number of entries or -errno.
 */
int kt_map_drain(int fd, size_t key_size, size_t value_size, bool del,
		 int (*fn)(const void *key, const void *value, void *arg), void *arg);

#endif
