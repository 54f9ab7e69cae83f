/*
 * lru.c - the id-keyed, byte-bounded LRU under the mount's caches (see
 * lru.h for its rules).
 */
#include "lru.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define MIN_BUCKETS 256

static size_t bucket_of(const struct fs_lru *l, const struct vs_id *id)
{
	uint64_t h;

	/* Ids are SHA-256: any eight bytes are as good as a hash. */
	memcpy(&h, id->b, sizeof(h));
	return h & (l->nbuckets - 1);
}

static void list_unlink(struct fs_lru_entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void list_push(struct fs_lru *l, struct fs_lru_entry *e)
{
	e->next = l->list.next;
	e->prev = &l->list;
	l->list.next->prev = e;
	l->list.next = e;
}

static void hash_insert(struct fs_lru *l, struct fs_lru_entry *e)
{
	size_t b = bucket_of(l, &e->id);

	e->hnext = l->buckets[b];
	l->buckets[b] = e;
	l->count++;
}

static void unhash(struct fs_lru *l, struct fs_lru_entry *e)
{
	struct fs_lru_entry **pp = &l->buckets[bucket_of(l, &e->id)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	l->count--;
}

/* Keeps chains short: doubles the table when it holds more than it has
 * buckets. */
static void grow(struct fs_lru *l)
{
	struct fs_lru_entry **old = l->buckets, *e, *next;
	size_t n = l->nbuckets, b;

	if (l->count < l->nbuckets)
		return;
	l->nbuckets *= 2;
	l->buckets = calloc(l->nbuckets, sizeof(*l->buckets));
	if (!l->buckets)
		abort();
	l->count = 0;
	for (b = 0; b < n; b++) {
		for (e = old[b]; e; e = next) {
			next = e->hnext;
			hash_insert(l, e);
		}
	}
	free(old);
}

static void entry_free(struct fs_lru *l, struct fs_lru_entry *e)
{
	if (!e->error && !e->loading)
		l->ops->release(e);
	free(e);
}

void fs_lru_init(struct fs_lru *l, pthread_mutex_t *lock,
		 const struct fs_lru_ops *ops, void *arg, size_t limit)
{
	assert(ops->entry_size >= sizeof(struct fs_lru_entry));
	memset(l, 0, sizeof(*l));
	l->lock = lock;
	pthread_cond_init(&l->loaded, NULL);
	l->ops = ops;
	l->arg = arg;
	l->limit = limit;
	l->nbuckets = MIN_BUCKETS;
	l->buckets = calloc(l->nbuckets, sizeof(*l->buckets));
	if (!l->buckets)
		abort();
	l->list.next = l->list.prev = &l->list;
}

void fs_lru_destroy(struct fs_lru *l)
{
	struct fs_lru_entry *e, *next;

	for (e = l->list.next; e != &l->list; e = next) {
		next = e->next;
		assert(e->refs == 0);
		entry_free(l, e);
	}
	free(l->buckets);
	pthread_cond_destroy(&l->loaded);
}

struct fs_lru_entry *fs_lru_find(struct fs_lru *l, const struct vs_id *id)
{
	struct fs_lru_entry *e;

	for (e = l->buckets[bucket_of(l, id)]; e; e = e->hnext)
		if (vs_id_equal(&e->id, id))
			return e;
	return NULL;
}

/* Frees unreferenced entries from the cold end until under the limit. */
static void evict(struct fs_lru *l)
{
	struct fs_lru_entry *e = l->list.prev, *prev;

	while (l->bytes > l->limit && e != &l->list) {
		prev = e->prev;
		if (e->refs == 0 && !e->loading) {
			list_unlink(e);
			unhash(l, e);
			l->bytes -= e->bytes;
			entry_free(l, e);
		}
		e = prev;
	}
}

int fs_lru_acquire(struct fs_lru *l, const struct vs_id *id,
		   struct fs_lru_entry **out, bool *hit, struct vs_error *err)
{
	struct fs_lru_entry *e = fs_lru_find(l, id);
	int r;

	if (hit)
		*hit = e != NULL;
	if (e) {
		e->refs++;
		while (e->loading)
			pthread_cond_wait(&l->loaded, l->lock);
		if (e->error) {
			/* The loader has unhashed it; the last waiter frees. */
			r = e->error;
			if (--e->refs == 0)
				entry_free(l, e);
			return vs_error_set(err, r, "cannot read a %s (%s)",
					    l->ops->what, vs_strerror(r));
		}
		list_unlink(e);
		list_push(l, e);
		*out = e;
		return 0;
	}
	e = calloc(1, l->ops->entry_size);
	if (!e)
		abort();
	e->id = *id;
	e->refs = 1;
	e->loading = true;
	grow(l);
	hash_insert(l, e);
	list_push(l, e);

	pthread_mutex_unlock(l->lock);
	r = l->ops->load(l->arg, e, err);
	pthread_mutex_lock(l->lock);

	e->loading = false;
	pthread_cond_broadcast(&l->loaded);
	if (r < 0) {
		/* Waiters see the error; the entry leaves with the last. */
		e->error = r;
		list_unlink(e);
		unhash(l, e);
		if (--e->refs == 0)
			entry_free(l, e);
		return r;
	}
	l->bytes += e->bytes;
	evict(l);
	*out = e;
	return 0;
}

void fs_lru_release(struct fs_lru *l, struct fs_lru_entry *e)
{
	if (--e->refs == 0 && e->error) {
		entry_free(l, e);
		return;
	}
	evict(l);
}

void fs_lru_drop(struct fs_lru *l, struct fs_lru_entry *e)
{
	assert(e->refs == 1 && !e->error && !e->loading);
	list_unlink(e);
	unhash(l, e);
	l->bytes -= e->bytes;
	entry_free(l, e);
}
