/*
 * cache.c - the mount's cache of decompressed chunks (see cache.h).
 */
#include "cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define NBUCKETS 4096
#define PREFETCH_THREADS 16
#define PREFETCH_QUEUE 64
#define SERVED_RING 256

struct entry {
	struct fs_chunk chunk;		/* first: fs_cache_put casts back */
	struct vs_id id;
	struct vs_buf buf;
	int refs;			/* guarded by cache lock */
	size_t served;			/* bytes replied, guarded by lock */
	bool loading;			/* guarded by cache lock */
	int error;			/* load failure, guarded by lock */
	struct entry *hnext;		/* bucket chain */
	struct entry *prev, *next;	/* LRU list, most recent first */
};

struct fs_cache {
	struct vs_store *s;
	size_t limit;
	pthread_mutex_t lock;
	pthread_cond_t loaded;
	struct entry *buckets[NBUCKETS];	/* guarded by lock */
	struct entry lru;			/* sentinel, guarded by lock */
	size_t bytes;				/* guarded by lock */
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

static pthread_key_t zctx_key;
static pthread_once_t zctx_once = PTHREAD_ONCE_INIT;

static void zctx_destroy(void *z)
{
	vs_zctx_free(z);
}

static void zctx_key_init(void)
{
	pthread_key_create(&zctx_key, zctx_destroy);
}

/* The calling thread's decompression context. */
static struct vs_zctx *thread_zctx(struct vs_store *s)
{
	struct vs_zctx *z;

	pthread_once(&zctx_once, zctx_key_init);
	z = pthread_getspecific(zctx_key);
	if (!z) {
		z = vs_zctx_new(s->config.zstd_level);
		pthread_setspecific(zctx_key, z);
	}
	return z;
}

static size_t bucket_of(const struct vs_id *id)
{
	uint32_t h;

	memcpy(&h, id->b, sizeof(h));
	return h % NBUCKETS;
}

static struct entry *find(struct fs_cache *c, const struct vs_id *id)
{
	struct entry *e;

	for (e = c->buckets[bucket_of(id)]; e; e = e->hnext)
		if (vs_id_equal(&e->id, id))
			return e;
	return NULL;
}

static void lru_unlink(struct entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void lru_push(struct fs_cache *c, struct entry *e)
{
	e->next = c->lru.next;
	e->prev = &c->lru;
	c->lru.next->prev = e;
	c->lru.next = e;
}

static void unhash(struct fs_cache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[bucket_of(&e->id)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
}

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

static void entry_free(struct entry *e)
{
	vs_buf_release(&e->buf);
	free(e);
}

/* Drops unreferenced entries from the cold end until under the limit. */
static void evict(struct fs_cache *c)
{
	struct entry *e = c->lru.prev, *prev;

	while (c->bytes > c->limit && e != &c->lru) {
		prev = e->prev;
		if (e->refs == 0 && !e->loading) {
			lru_unlink(e);
			unhash(c, e);
			c->bytes -= e->buf.len;
			entry_free(e);
		}
		e = prev;
	}
}

/* Looks up or loads id; with the lock held on entry and exit. */
static int acquire(struct fs_cache *c, const struct vs_id *id,
		   struct entry **out, bool prefetch, struct vs_error *err)
{
	struct entry *e;
	int r;

	e = find(c, id);
	if (e) {
		e->refs++;
		while (e->loading)
			pthread_cond_wait(&c->loaded, &c->lock);
		if (e->error) {
			/* The loader has unhashed it; the last waiter frees. */
			r = e->error;
			if (--e->refs == 0)
				entry_free(e);
			return vs_error_set(err, r, "cannot read a chunk (%s)",
					    vs_strerror(r));
		}
		lru_unlink(e);
		lru_push(c, e);
		if (!prefetch)
			c->stats.hits++;
		*out = e;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->id = *id;
	e->buf = (struct vs_buf)VS_BUF_INIT;
	e->refs = 1;
	e->loading = true;
	e->hnext = c->buckets[bucket_of(id)];
	c->buckets[bucket_of(id)] = e;
	lru_push(c, e);
	if (prefetch)
		c->stats.prefetched++;
	else
		c->stats.misses++;

	pthread_mutex_unlock(&c->lock);
	r = vs_chunk_get(c->s, thread_zctx(c->s), id, &e->buf, err);
	pthread_mutex_lock(&c->lock);

	e->loading = false;
	pthread_cond_broadcast(&c->loaded);
	if (r < 0) {
		/* Waiters see the error; the entry leaves with the last. */
		e->error = r;
		lru_unlink(e);
		unhash(c, e);
		if (--e->refs == 0)
			entry_free(e);
		return r;
	}
	e->chunk.data = (const uint8_t *)e->buf.data;
	e->chunk.len = e->buf.len;
	c->bytes += e->buf.len;
	c->stats.bytes = c->bytes;
	evict(c);
	*out = e;
	return 0;
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
	if (--e->refs == 0 && e->error) {
		entry_free(e);
		return;
	}
	evict(c);
}

void fs_cache_put(struct fs_cache *c, const struct fs_chunk *chunk,
		  size_t served)
{
	struct entry *e = (struct entry *)chunk;

	pthread_mutex_lock(&c->lock);
	e->served += served;
	if (e->refs == 1 && !e->error && e->served >= e->buf.len) {
		/*
		 * Every byte has gone to the kernel, which keeps snapshot
		 * pages in its own cache: free the memory now, so that a
		 * long sequential read recycles a few MiB instead of
		 * faulting in fresh pages until the limit.
		 */
		lru_unlink(e);
		unhash(c, e);
		c->bytes -= e->buf.len;
		c->stats.bytes = c->bytes;
		c->served[c->nserved++ % SERVED_RING] = e->id;
		entry_free(e);
	} else {
		release_locked(c, e);
	}
	pthread_mutex_unlock(&c->lock);
}

static bool enqueue(struct fs_cache *c, const struct vs_id *id, bool file)
{
	bool taken = true;

	pthread_mutex_lock(&c->lock);
	if ((file || (!find(c, id) && !was_served(c, id))) &&
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
		if (find(c, &id) || was_served(c, &id))
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
	c->limit = limit;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->loaded, NULL);
	pthread_cond_init(&c->queued, NULL);
	c->lru.next = c->lru.prev = &c->lru;
	for (i = 0; i < PREFETCH_THREADS; i++)
		pthread_create(&c->threads[i], NULL, prefetch_main, c);
	return c;
}

void fs_cache_free(struct fs_cache *c)
{
	struct entry *e, *next;
	int i;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->queued);
	pthread_mutex_unlock(&c->lock);
	for (i = 0; i < PREFETCH_THREADS; i++)
		pthread_join(c->threads[i], NULL);
	for (e = c->lru.next; e != &c->lru; e = next) {
		next = e->next;
		entry_free(e);
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->loaded);
	pthread_cond_destroy(&c->queued);
	free(c);
}

void fs_cache_stats(struct fs_cache *c, struct fs_cache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->stats;
	pthread_mutex_unlock(&c->lock);
}
