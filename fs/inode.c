/*
 * inode.c - the mount's inode table: inode numbers to inodes, and
 * (parent, name) to inodes so a path keeps one inode while the kernel
 * knows it.
 */
#include "fs_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define NBUCKETS 65536

static size_t hash_name(fuse_ino_t parent, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ parent;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	return h % NBUCKETS;
}

int fs_inodes_init(struct fs *fs)
{
	fs->nbuckets = NBUCKETS;
	fs->by_ino = calloc(NBUCKETS, sizeof(*fs->by_ino));
	fs->by_name = calloc(NBUCKETS, sizeof(*fs->by_name));
	fs->root = calloc(1, sizeof(*fs->root));
	if (!fs->by_ino || !fs->by_name || !fs->root)
		return -ENOMEM;
	fs->root->ino = FUSE_ROOT_ID;
	fs->root->kind = FS_ROOT;
	fs->root->nlookup = 1;
	pthread_mutex_init(&fs->root->dlock, NULL);
	fs->by_ino[FUSE_ROOT_ID % NBUCKETS] = fs->root;
	fs->next_ino = FUSE_ROOT_ID + 1;
	return 0;
}

void fs_dents_clear(struct fs_inode *i)
{
	size_t k;

	for (k = 0; k < i->ndents; k++)
		free(i->dents[k].name);
	free(i->dents);
	i->dents = NULL;
	i->ndents = 0;
	i->pf_opens = i->pf_next = 0;
}

static void inode_free(struct fs_inode *i)
{
	size_t k;

	for (k = 0; k < i->nstale; k++)
		free(i->stale[k]);
	free(i->stale);
	fs_dents_clear(i);
	pthread_mutex_destroy(&i->dlock);
	free(i->name);
	free(i->target);
	free(i->rev);
	free(i->path);
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
}

struct fs_inode *fs_inode_get(struct fs *fs, fuse_ino_t ino)
{
	struct fs_inode *i;

	pthread_mutex_lock(&fs->lock);
	for (i = fs->by_ino[ino % NBUCKETS]; i; i = i->next_ino)
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
		return vs_id_equal(&a->commit, &b->commit) &&
		       vs_id_equal(&a->id, &b->id) && a->type == b->type;
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
	pp = &fs->by_name[hash_name(i->parent, i->name)];
	for (; *pp; pp = &(*pp)->next_name) {
		if (*pp == i) {
			*pp = i->next_name;
			break;
		}
	}
	i->next_name = NULL;
}

struct fs_inode *fs_inode_publish(struct fs *fs, fuse_ino_t parent,
				  const char *name, struct fs_inode *tmpl)
{
	struct fs_inode *i, *n;
	size_t hb = hash_name(parent, name);

	pthread_mutex_lock(&fs->lock);
	for (i = fs->by_name[hb]; i; i = i->next_name)
		if (i->parent == parent && !strcmp(i->name, name))
			break;
	if (i && same_identity(i, tmpl)) {
		i->nlookup++;
		pthread_mutex_unlock(&fs->lock);
		free(tmpl->target);
		free(tmpl->rev);
		free(tmpl->path);
		return i;
	}
	if (i)
		unlink_name(fs, i);	/* stale name: lives on until forgotten */
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
	n->dents = NULL;
	n->ndents = 0;
	pthread_mutex_init(&n->dlock, NULL);
	n->next_ino = fs->by_ino[n->ino % NBUCKETS];
	fs->by_ino[n->ino % NBUCKETS] = n;
	n->next_name = fs->by_name[hb];
	fs->by_name[hb] = n;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

void fs_inode_forget(struct fs *fs, fuse_ino_t ino, uint64_t n)
{
	struct fs_inode **pp, *i;

	if (ino == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&fs->lock);
	for (pp = &fs->by_ino[ino % NBUCKETS]; *pp; pp = &(*pp)->next_ino)
		if ((*pp)->ino == ino)
			break;
	i = *pp;
	if (i) {
		i->nlookup = i->nlookup > n ? i->nlookup - n : 0;
		if (i->nlookup == 0) {
			*pp = i->next_ino;
			unlink_name(fs, i);
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
	size_t hb;

	if (!path || !nname)
		abort();
	pthread_mutex_lock(&fs->lock);
	for (victim = fs->by_name[hash_name(newparent, newname)]; victim;
	     victim = victim->next_name)
		if (victim->parent == newparent &&
		    !strcmp(victim->name, newname))
			break;
	if (victim)
		unlink_name(fs, victim);
	for (i = fs->by_name[hash_name(parent, name)]; i; i = i->next_name)
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
	hb = hash_name(newparent, newname);
	i->next_name = fs->by_name[hb];
	fs->by_name[hb] = i;
	pthread_mutex_unlock(&fs->lock);
}
