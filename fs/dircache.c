/*
 * dircache.c - the mount's index of directories (see dircache.h): decoded
 * trees in the id-keyed LRU of lru.c.
 */
#include "dircache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "lru.h"

#include "banned.h"

struct entry {
	struct fs_lru_entry l;		/* first: the LRU's head */
	struct fs_dir dir;
	struct vs_tree_view view;
};

struct fs_dircache {
	struct vs_store *s;
	pthread_mutex_t lock;
	struct fs_lru lru;			/* guarded by lock */
	struct fs_dircache_stats stats;		/* guarded by lock */
};

static struct entry *entry_of(const struct fs_dir *d)
{
	return (struct entry *)((char *)d - offsetof(struct entry, dir));
}

static int load_dir(void *arg, struct fs_lru_entry *le, struct vs_error *err)
{
	struct fs_dircache *c = arg;
	struct entry *e = (struct entry *)le;
	int r;

	r = vs_store_read_tree_view(c->s, &le->id, &e->view, err);
	if (r < 0)
		return r;
	e->dir.count = e->view.count;
	e->dir.entries = e->view.entries;
	le->bytes = sizeof(*e) + e->view.bytes;
	return 0;
}

static void release_dir(struct fs_lru_entry *le)
{
	vs_tree_view_release(&((struct entry *)le)->view);
}

static const struct fs_lru_ops dir_ops = {
	.entry_size = sizeof(struct entry),
	.what = "directory",
	.load = load_dir,
	.release = release_dir,
};

struct fs_dircache *fs_dircache_new(struct vs_store *s, size_t limit)
{
	struct fs_dircache *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	c->s = s;
	pthread_mutex_init(&c->lock, NULL);
	fs_lru_init(&c->lru, &c->lock, &dir_ops, c, limit);
	return c;
}

void fs_dircache_free(struct fs_dircache *c)
{
	if (!c)
		return;
	fs_lru_destroy(&c->lru);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int fs_dircache_get(struct fs_dircache *c, const struct vs_id *id,
		    const struct fs_dir **out, struct vs_error *err)
{
	struct fs_lru_entry *e;
	bool hit;
	int r;

	pthread_mutex_lock(&c->lock);
	r = fs_lru_acquire(&c->lru, id, &e, &hit, err);
	if (hit)
		c->stats.hits++;
	else
		c->stats.decodes++;
	c->stats.bytes = c->lru.bytes;
	pthread_mutex_unlock(&c->lock);
	if (r == 0)
		*out = &((struct entry *)e)->dir;
	return r;
}

void fs_dircache_put(struct fs_dircache *c, const struct fs_dir *d)
{
	pthread_mutex_lock(&c->lock);
	fs_lru_release(&c->lru, &entry_of(d)->l);
	c->stats.bytes = c->lru.bytes;
	pthread_mutex_unlock(&c->lock);
}

const struct vs_tree_entry *fs_dir_find(const struct fs_dir *d,
					const char *name, size_t len,
					size_t *pos)
{
	const struct vs_tree_entry *e;

	e = vs_tree_entries_find(d->entries, d->count, name, len);
	if (e && pos)
		*pos = (size_t)(e - d->entries);
	return e;
}

void fs_dircache_stats(struct fs_dircache *c, struct fs_dircache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->stats;
	pthread_mutex_unlock(&c->lock);
}
