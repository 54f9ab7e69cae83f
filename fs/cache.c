/*
 * cache.c - the mount's cache of decompressed chunks (see cache.h).
 */
#include "cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lru.h"

#include "banned.h"

#define PREFETCH_THREADS 16
#define PREFETCH_QUEUE 64
#define SERVED_RING 256

struct entry {
	struct fs_lru_entry l;		/* first: the LRU's head */
	struct fs_chunk chunk;
	struct vs_buf buf;
	size_t served;			/* bytes replied, guarded by lock */
};

struct fs_cache {
	struct vs_store *s;
	pthread_mutex_t lock;
	struct fs_lru lru;			/* guarded by lock */
	struct fs_cache_stats stats;		/* guarded by lock */

	pthread_t threads[PREFETCH_THREADS];
	struct qent {
		struct vs_id id;
		bool file;		/* id names a file object */
	} queue[PREFETCH_QUEUE];		/* guarded by lock */
	size_t qhead, qcount;
	pthread_cond_t queued;
	bool stopping;
	/*
	 * The chunks most recently dropped after every byte was replied:
	 * the kernel holds their pages, so a prefetch of one (queued before
	 * the reader got there) would decompress and hash it for nothing.
	 */
	struct vs_id served[SERVED_RING];	/* guarded by lock */
	size_t nserved;				/* ever recorded */
};

static bool was_served(const struct fs_cache *c, const struct vs_id *id)
{
	size_t n = c->nserved < SERVED_RING ? c->nserved : SERVED_RING, i;

	for (i = 0; i < n; i++)
		if (vs_id_equal(&c->served[i], id))
			return true;
	return false;
}

static bool is_queued(const struct fs_cache *c, const struct vs_id *id,
		      bool file)
{
	size_t i;

	for (i = 0; i < c->qcount; i++) {
		const struct qent *q = &c->queue[(c->qhead + i) %
						 PREFETCH_QUEUE];

		if (q->file == file && vs_id_equal(&q->id, id))
			return true;
	}
	return false;
}

static struct entry *entry_of(const struct fs_chunk *chunk)
{
	return (struct entry *)((char *)chunk - offsetof(struct entry, chunk));
}

static int load_chunk(void *arg, struct fs_lru_entry *le,
		      struct vs_error *err)
{
	struct fs_cache *c = arg;
	struct entry *e = (struct entry *)le;
	int r;

	e->buf = (struct vs_buf)VS_BUF_INIT;
	r = vs_chunk_read(c->s, &le->id, &e->buf, err);
	if (r < 0) {
		vs_buf_release(&e->buf);
		return r;
	}
	e->chunk.data = (const uint8_t *)e->buf.data;
	e->chunk.len = e->buf.len;
	le->bytes = e->buf.len;
	return 0;
}

static void release_chunk(struct fs_lru_entry *le)
{
	vs_buf_release(&((struct entry *)le)->buf);
}

static const struct fs_lru_ops chunk_ops = {
	.entry_size = sizeof(struct entry),
	.what = "chunk",
	.load = load_chunk,
	.release = release_chunk,
};

/* Looks up or loads id; with the lock held on entry and exit. */
static int acquire(struct fs_cache *c, const struct vs_id *id,
		   struct entry **out, bool prefetch, struct vs_error *err)
{
	struct fs_lru_entry *e;
	bool hit;
	int r;

	r = fs_lru_acquire(&c->lru, id, &e, &hit, err);
	if (prefetch)
		c->stats.prefetched += !hit;
	else if (hit)
		c->stats.hits++;
	else
		c->stats.misses++;
	c->stats.bytes = c->lru.bytes;
	if (r == 0)
		*out = (struct entry *)e;
	return r;
}

int fs_cache_get(struct fs_cache *c, const struct vs_id *id,
		 const struct fs_chunk **out, struct vs_error *err)
{
	struct entry *e;
	int r;

	pthread_mutex_lock(&c->lock);
	r = acquire(c, id, &e, false, err);
	pthread_mutex_unlock(&c->lock);
	if (r == 0)
		*out = &e->chunk;
	return r;
}

static void release_locked(struct fs_cache *c, struct entry *e)
{
	fs_lru_release(&c->lru, &e->l);
	c->stats.bytes = c->lru.bytes;
}

void fs_cache_put(struct fs_cache *c, const struct fs_chunk *chunk,
		  size_t served)
{
	struct entry *e = entry_of(chunk);

	pthread_mutex_lock(&c->lock);
	e->served += served;
	if (e->l.refs == 1 && e->served >= e->buf.len) {
		/*
		 * Every byte has gone to the kernel, which keeps snapshot
		 * pages in its own cache: free the memory now, so that a
		 * long sequential read recycles a few MiB instead of
		 * faulting in fresh pages until the limit.
		 */
		c->served[c->nserved++ % SERVED_RING] = e->l.id;
		fs_lru_drop(&c->lru, &e->l);
		c->stats.bytes = c->lru.bytes;
	} else {
		release_locked(c, e);
	}
	pthread_mutex_unlock(&c->lock);
}

static bool enqueue(struct fs_cache *c, const struct vs_id *id, bool file)
{
	bool taken = true;

	pthread_mutex_lock(&c->lock);
	if ((file || (!fs_lru_find(&c->lru, id) && !was_served(c, id))) &&
	    !is_queued(c, id, file)) {
		if (c->qcount < PREFETCH_QUEUE) {
			struct qent *q = &c->queue[(c->qhead + c->qcount) %
						   PREFETCH_QUEUE];

			q->id = *id;
			q->file = file;
			c->qcount++;
			pthread_cond_signal(&c->queued);
		} else {
			taken = false;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return taken;
}

bool fs_cache_prefetch(struct fs_cache *c, const struct vs_id *id)
{
	return enqueue(c, id, false);
}

bool fs_cache_prefetch_file(struct fs_cache *c, const struct vs_id *file)
{
	return enqueue(c, file, true);
}

/* The first chunk of file object id, called and returning with c->lock. */
static bool first_chunk(struct fs_cache *c, const struct vs_id *file,
			struct vs_id *chunk)
{
	struct vs_file f;
	bool found = false;

	pthread_mutex_unlock(&c->lock);
	if (vs_store_read_file(c->s, file, &f, NULL) == 0) {
		if (!f.inline_data && f.nchunks > 0) {
			*chunk = f.chunks[0].id;
			found = true;
		}
		vs_file_release(&f);
	}
	pthread_mutex_lock(&c->lock);
	return found;
}

static void *prefetch_main(void *arg)
{
	struct fs_cache *c = arg;
	struct entry *e;
	struct qent q;
	struct vs_id id;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->qcount && !c->stopping)
			pthread_cond_wait(&c->queued, &c->lock);
		if (c->stopping)
			break;
		q = c->queue[c->qhead];
		c->qhead = (c->qhead + 1) % PREFETCH_QUEUE;
		c->qcount--;
		id = q.id;
		if (q.file && (c->stopping || !first_chunk(c, &q.id, &id)))
			continue;
		if (fs_lru_find(&c->lru, &id) || was_served(c, &id))
			continue;
		if (acquire(c, &id, &e, true, NULL) == 0)
			release_locked(c, e);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

struct fs_cache *fs_cache_new(struct vs_store *s, size_t limit)
{
	struct fs_cache *c = calloc(1, sizeof(*c));
	int i;

	if (!c)
		abort();
	c->s = s;
	pthread_mutex_init(&c->lock, NULL);
	fs_lru_init(&c->lru, &c->lock, &chunk_ops, c, limit);
	pthread_cond_init(&c->queued, NULL);
	for (i = 0; i < PREFETCH_THREADS; i++)
		pthread_create(&c->threads[i], NULL, prefetch_main, c);
	return c;
}

void fs_cache_free(struct fs_cache *c)
{
	int i;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->queued);
	pthread_mutex_unlock(&c->lock);
	for (i = 0; i < PREFETCH_THREADS; i++)
		pthread_join(c->threads[i], NULL);
	fs_lru_destroy(&c->lru);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->queued);
	free(c);
}

void fs_cache_stats(struct fs_cache *c, struct fs_cache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->stats;
	pthread_mutex_unlock(&c->lock);
}
