/*
 * inode.c - the mount's inode table: inode numbers to inodes, and
 * (parent, name) to inodes so a path keeps one inode while the kernel
 * knows it.  Both hash tables grow with the number of inodes, so a
 * lookup stays O(1) whether the kernel knows a thousand inodes or
 * millions.
 */
#include "fs_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define MIN_BUCKETS 4096

static size_t hash_name(const struct fs *fs, fuse_ino_t parent,
			const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ parent;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	return h & (fs->nbuckets - 1);
}

static size_t hash_ino(const struct fs *fs, fuse_ino_t ino)
{
	return ino & (fs->nbuckets - 1);
}

int fs_inodes_init(struct fs *fs)
{
	fs->nbuckets = MIN_BUCKETS;
	fs->by_ino = calloc(fs->nbuckets, sizeof(*fs->by_ino));
	fs->by_name = calloc(fs->nbuckets, sizeof(*fs->by_name));
	fs->root = calloc(1, sizeof(*fs->root));
	if (!fs->by_ino || !fs->by_name || !fs->root)
		return -ENOMEM;
	fs->root->ino = FUSE_ROOT_ID;
	fs->root->kind = FS_ROOT;
	fs->root->nlookup = 1;
	fs->by_ino[hash_ino(fs, FUSE_ROOT_ID)] = fs->root;
	fs->ninodes = 1;
	fs->next_ino = FUSE_ROOT_ID + 1;
	return 0;
}

void fs_dents_clear(struct fs_dirstate *d)
{
	size_t k;

	for (k = 0; k < d->ndents; k++)
		free(d->dents[k].name);
	free(d->dents);
	d->dents = NULL;
	d->ndents = 0;
	d->kept = false;
	d->has_base = false;
}

struct fs_dirstate *fs_inode_dir(struct fs_inode *i)
{
	struct fs_dirstate *d = atomic_load(&i->dir), *none = NULL;

	if (d)
		return d;
	d = calloc(1, sizeof(*d));
	if (!d)
		abort();
	pthread_mutex_init(&d->lock, NULL);
	if (!atomic_compare_exchange_strong(&i->dir, &none, d)) {
		/* Another thread made it first. */
		pthread_mutex_destroy(&d->lock);
		free(d);
		d = none;
	}
	return d;
}

const struct vs_head *fs_head_intern(struct fs *fs, const struct vs_head *h)
{
	struct vs_head *found = NULL;
	size_t k;

	pthread_mutex_lock(&fs->lock);
	for (k = 0; k < fs->nheads && !found; k++)
		if (!strcmp(fs->heads[k]->repo.full, h->repo.full) &&
		    !strcmp(fs->heads[k]->branch, h->branch))
			found = fs->heads[k];
	if (!found) {
		found = malloc(sizeof(*found));
		fs->heads = realloc(fs->heads,
				    (fs->nheads + 1) * sizeof(*fs->heads));
		if (!found || !fs->heads)
			abort();
		*found = *h;
		fs->heads[fs->nheads++] = found;
	}
	pthread_mutex_unlock(&fs->lock);
	return found;
}

/* Frees what an inode or a template owns, by kind. */
static void owned_free(struct fs_inode *i)
{
	size_t k;

	switch (i->kind) {
	case FS_SNAP:
		if (i->root) {
			free(i->root->rev);
			free(i->root);
		}
		break;
	case FS_HEAD:
		for (k = 0; k < i->nstale; k++)
			free(i->stale[k]);
		free(i->stale);
		free(i->path);
		break;
	case FS_HIST_REPO:
	case FS_HIST_LIST:
		free(i->repo);
		break;
	case FS_LINK:
		free(i->target);
		break;
	default:
		break;
	}
}

static void inode_free(struct fs_inode *i)
{
	struct fs_dirstate *d = atomic_load(&i->dir);

	if (d) {
		fs_dents_clear(d);
		pthread_mutex_destroy(&d->lock);
		free(d);
	}
	owned_free(i);
	free(i->name);
	free(i);
}

void fs_inodes_destroy(struct fs *fs)
{
	size_t b;

	for (b = 0; b < fs->nbuckets; b++) {
		struct fs_inode *i = fs->by_ino[b], *next;

		for (; i; i = next) {
			next = i->next_ino;
			inode_free(i);
		}
	}
	free(fs->by_ino);
	free(fs->by_name);
	for (b = 0; b < fs->nheads; b++)
		free(fs->heads[b]);
	free(fs->heads);
}

size_t fs_inodes_count(struct fs *fs)
{
	size_t n;

	pthread_mutex_lock(&fs->lock);
	n = fs->ninodes;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

struct fs_inode *fs_inode_get(struct fs *fs, fuse_ino_t ino)
{
	struct fs_inode *i;

	pthread_mutex_lock(&fs->lock);
	for (i = fs->by_ino[hash_ino(fs, ino)]; i; i = i->next_ino)
		if (i->ino == ino)
			break;
	pthread_mutex_unlock(&fs->lock);
	return i;
}

static bool same_identity(const struct fs_inode *a, const struct fs_inode *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case FS_SNAP:
		/* Below a root, the parent fixes the commit. */
		if (!a->root != !b->root ||
		    (a->root && !vs_id_equal(&a->root->commit,
					     &b->root->commit)))
			return false;
		return vs_id_equal(&a->id, &b->id) && a->type == b->type;
	case FS_LINK:
		return !strcmp(a->target, b->target);
	case FS_HEAD:
		return true;	/* same parent and name: same path */
	default:
		return true;
	}
}

static void unlink_name(struct fs *fs, struct fs_inode *i)
{
	struct fs_inode **pp;

	if (!i->name)
		return;
	pp = &fs->by_name[hash_name(fs, i->parent, i->name)];
	for (; *pp; pp = &(*pp)->next_name) {
		if (*pp == i) {
			*pp = i->next_name;
			break;
		}
	}
	i->next_name = NULL;
}

static void link_name(struct fs *fs, struct fs_inode *i)
{
	size_t hb = hash_name(fs, i->parent, i->name);

	i->next_name = fs->by_name[hb];
	fs->by_name[hb] = i;
}

/* Doubles both tables once there are more inodes than buckets. */
static void grow(struct fs *fs)
{
	struct fs_inode **old_ino = fs->by_ino, **old_name = fs->by_name;
	struct fs_inode *i, *next;
	size_t n = fs->nbuckets, b;

	if (fs->ninodes < fs->nbuckets)
		return;
	fs->nbuckets = 2 * n;
	fs->by_ino = calloc(fs->nbuckets, sizeof(*fs->by_ino));
	fs->by_name = calloc(fs->nbuckets, sizeof(*fs->by_name));
	if (!fs->by_ino || !fs->by_name)
		abort();
	for (b = 0; b < n; b++) {
		for (i = old_ino[b]; i; i = next) {
			next = i->next_ino;
			i->next_ino = fs->by_ino[hash_ino(fs, i->ino)];
			fs->by_ino[hash_ino(fs, i->ino)] = i;
		}
		/* Only inodes that answer to their name are in by_name. */
		for (i = old_name[b]; i; i = next) {
			next = i->next_name;
			link_name(fs, i);
		}
	}
	free(old_ino);
	free(old_name);
}

struct fs_inode *fs_inode_publish(struct fs *fs, fuse_ino_t parent,
				  const char *name, struct fs_inode *tmpl)
{
	struct fs_inode *i, *n;

	pthread_mutex_lock(&fs->lock);
	for (i = fs->by_name[hash_name(fs, parent, name)]; i; i = i->next_name)
		if (i->parent == parent && !strcmp(i->name, name))
			break;
	if (i && same_identity(i, tmpl)) {
		i->nlookup++;
		pthread_mutex_unlock(&fs->lock);
		owned_free(tmpl);
		return i;
	}
	if (i)
		unlink_name(fs, i);	/* stale name: lives on until forgotten */
	grow(fs);
	n = malloc(sizeof(*n));
	if (!n)
		abort();
	*n = *tmpl;
	n->ino = fs->next_ino++;
	n->nlookup = 1;
	n->parent = parent;
	n->name = strdup(name);
	if (!n->name)
		abort();
	atomic_init(&n->dir, NULL);
	n->next_ino = fs->by_ino[hash_ino(fs, n->ino)];
	fs->by_ino[hash_ino(fs, n->ino)] = n;
	link_name(fs, n);
	fs->ninodes++;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

void fs_inode_forget(struct fs *fs, fuse_ino_t ino, uint64_t n)
{
	struct fs_inode **pp, *i;

	if (ino == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&fs->lock);
	for (pp = &fs->by_ino[hash_ino(fs, ino)]; *pp; pp = &(*pp)->next_ino)
		if ((*pp)->ino == ino)
			break;
	i = *pp;
	if (i) {
		i->nlookup = i->nlookup > n ? i->nlookup - n : 0;
		if (i->nlookup == 0) {
			*pp = i->next_ino;
			unlink_name(fs, i);
			fs->ninodes--;
		} else {
			i = NULL;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	if (i)
		inode_free(i);
}

size_t fs_inodes_match(struct fs *fs,
		       bool (*match)(const struct fs_inode *i, void *arg),
		       void *arg, fuse_ino_t **out)
{
	size_t n = 0, alloc = 0, b;

	*out = NULL;
	pthread_mutex_lock(&fs->lock);
	for (b = 0; b < fs->nbuckets; b++) {
		struct fs_inode *i;

		for (i = fs->by_ino[b]; i; i = i->next_ino) {
			if (!match(i, arg))
				continue;
			if (n == alloc) {
				alloc = alloc ? 2 * alloc : 64;
				*out = realloc(*out, alloc * sizeof(**out));
				if (!*out)
					abort();
			}
			(*out)[n++] = i->ino;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	return n;
}

void fs_inode_move(struct fs *fs, fuse_ino_t parent, const char *name,
		   fuse_ino_t newparent, const char *newname,
		   const char *newpath)
{
	struct fs_inode *i, *victim;
	char *path = strdup(newpath), *nname = strdup(newname);

	if (!path || !nname)
		abort();
	pthread_mutex_lock(&fs->lock);
	for (victim = fs->by_name[hash_name(fs, newparent, newname)]; victim;
	     victim = victim->next_name)
		if (victim->parent == newparent &&
		    !strcmp(victim->name, newname))
			break;
	if (victim)
		unlink_name(fs, victim);
	for (i = fs->by_name[hash_name(fs, parent, name)]; i; i = i->next_name)
		if (i->parent == parent && !strcmp(i->name, name))
			break;
	if (!i || i->kind != FS_HEAD) {
		pthread_mutex_unlock(&fs->lock);
		free(path);
		free(nname);
		return;
	}
	unlink_name(fs, i);
	i->stale = realloc(i->stale, (i->nstale + 2) * sizeof(*i->stale));
	if (!i->stale)
		abort();
	i->stale[i->nstale++] = i->path;
	i->stale[i->nstale++] = i->name;
	i->path = path;
	i->name = nname;
	i->parent = newparent;
	link_name(fs, i);
	pthread_mutex_unlock(&fs->lock);
}
