/* SPDX-License-Identifier: GPL-2.0 */
/* Draining BPF hash maps into user space at each interval. */
#ifndef KT_MAPS_H
#define KT_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Calls fn(key, value, arg) for every entry of the hash map fd, deleting
 * each entry after it is read when del is set. Uses batched lookup-and-delete
 * where the kernel has it (5.6+), one entry at a time otherwise. Returns the
 * number of entries or -errno.
 */
int kt_map_drain(int fd, size_t key_size, size_t value_size, bool del,
		 int (*fn)(const void *key, const void *value, void *arg), void *arg);

/*
 * Reads every entry of the hash map fd (deleting it when del is set) into a
 * malloc'd array at *out of entries of entry_size bytes: the key at offset 0,
 * the value at value_off (e.g. struct entry { struct k key; struct v val; }
 * with sizeof and offsetof, see KT_MAP_COLLECT), sorted with cmp when given.
 * Returns the number of entries (*out may be NULL when 0) or -errno; the
 * caller frees *out.
 */
int kt_map_collect(int fd, size_t key_size, size_t value_size, size_t entry_size,
		   size_t value_off, bool del, int (*cmp)(const void *a, const void *b),
		   void **out);
#define KT_MAP_COLLECT(fd, entry_type, key_field, val_field, del, cmp, outp)                      \
	kt_map_collect((fd), sizeof(((entry_type *)0)->key_field),                                 \
		       sizeof(((entry_type *)0)->val_field), sizeof(entry_type),                   \
		       offsetof(entry_type, val_field), (del), (cmp), (void **)(outp))

/*
 * bpf_map_lookup_elem() of vs bytes at value, recorded on the tape (--record)
 * and taken from it in a replay: 0 or -errno.
 */
int kt_map_lookup(int fd, const void *key, void *value, size_t vs);

/*
 * Reads entries 0..n-1 of the per-CPU array fd (values of vs bytes, a
 * multiple of 8) and folds each over the CPUs into out[i] (zeroed first):
 * fold(acc, value_of_one_cpu, arg) for every possible CPU. The folded values
 * are what the tape records, so a replay needs neither the map nor the
 * recording machine's number of CPUs. 0 or -errno.
 */
int kt_map_percpu_fold(int fd, uint32_t n, size_t vs,
		       void (*fold)(void *acc, const void *value, void *arg), void *arg, void *out);

/*
 * The sum over CPUs of a per-CPU array's u64 at index 0 (e.g. a probe's
 * "misses" counter), which is then reset to zero: what was counted since the
 * last call. 0 when the map cannot be read.
 */
uint64_t kt_map_take_percpu_u64(int fd);

#endif
