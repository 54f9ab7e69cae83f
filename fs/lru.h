/*
 * lru.h - an LRU of loaded things named by id, bounded in bytes: the one
 * structure under the mount's caches (decompressed chunks: cache.c;
 * decoded directories: dircache.c).
 *
 *  1. An entry is reference counted while in use: eviction never frees
 *     memory a reader holds.
 *  2. A thing that several threads want at once is loaded once: the first
 *     caller loads it without the lock, latecomers wait for it.
 *  3. A failed load is not cached: its waiters get the error, and the next
 *     caller tries again.
 *  4. Every function is called with the owner's mutex held (the one given
 *     to fs_lru_init); fs_lru_acquire drops it while it loads.
 */
#ifndef VARVE_FS_LRU_H
#define VARVE_FS_LRU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "hash.h"

/* The head of the owner's entry type (its first member). */
struct fs_lru_entry {
	struct vs_id id;
	size_t bytes;			/* memory held; set by load */
	int refs;
	bool loading;
	int error;			/* a failed load's code */
	struct fs_lru_entry *hnext;	/* bucket chain */
	struct fs_lru_entry *prev, *next;	/* most recently used first */
};

struct fs_lru_ops {
	size_t entry_size;	/* sizeof the owner's entry type */
	const char *what;	/* "chunk": for "cannot read a chunk (...)" */
	/*
	 * Fills e (zeroed but for its head, id set) without the lock held,
	 * setting e->bytes.  0 or a negative code; on failure e holds
	 * nothing to release.
	 */
	int (*load)(void *arg, struct fs_lru_entry *e, struct vs_error *err);
	/* Frees what load put in e (not e itself). */
	void (*release)(struct fs_lru_entry *e);
};

struct fs_lru {
	pthread_mutex_t *lock;
	pthread_cond_t loaded;
	const struct fs_lru_ops *ops;
	void *arg;
	size_t limit;
	size_t bytes;			/* of loaded entries */
	size_t count;			/* entries hashed */
	struct fs_lru_entry **buckets;
	size_t nbuckets;		/* a power of two */
	struct fs_lru_entry list;	/* sentinel of the LRU list */
};

/* limit: bytes of loaded entries to keep when nobody holds them. */
void fs_lru_init(struct fs_lru *l, pthread_mutex_t *lock,
		 const struct fs_lru_ops *ops, void *arg, size_t limit);
/* Frees every entry; none may be held. */
void fs_lru_destroy(struct fs_lru *l);

/* The entry for id, loaded or loading, or NULL; takes no reference. */
struct fs_lru_entry *fs_lru_find(struct fs_lru *l, const struct vs_id *id);

/*
 * A reference to the loaded entry for id in *out, loading it if needed;
 * *hit (may be NULL) tells whether it was there (or being loaded by
 * another caller) already.  0 or the load's error.
 */
int fs_lru_acquire(struct fs_lru *l, const struct vs_id *id,
		   struct fs_lru_entry **out, bool *hit, struct vs_error *err);
/* Drops a reference; evicts cold entries while over the limit. */
void fs_lru_release(struct fs_lru *l, struct fs_lru_entry *e);
/* Drops the caller's reference, the only one, and frees e at once. */
void fs_lru_drop(struct fs_lru *l, struct fs_lru_entry *e);

#endif
