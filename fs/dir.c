/*
 * dir.c - listings of the mount's directories (readdir, readdirplus).
 */
#include "fs_int.h"

#include <stdlib.h>
#include <string.h>

#include "idset.h"

#include "banned.h"

/*
 * Listings by kind:
 *  - a snapshot directory is read straight from the directory index, an
 *    entry's offset being its position + 1: nothing is copied and nothing
 *    kept per inode, and a readdir at any offset costs O(entries returned);
 *  - a head directory merges its base tree (from the index) with the
 *    staged children, both sorted by name; the staged children are read
 *    at offset 0 and kept until the listing restarts, and an offset holds
 *    both positions of the merge (see head_cookie);
 *  - the layout's own directories (root, kinds, history) are small lists
 *    built at offset 0 and kept.
 */

struct dents {
	struct fs_dirent *v;
	size_t n, alloc;
};

static void dents_add(struct dents *d, const char *name, mode_t type)
{
	if (d->n == d->alloc) {
		d->alloc = d->alloc ? 2 * d->alloc : 16;
		d->v = realloc(d->v, d->alloc * sizeof(*d->v));
		if (!d->v)
			abort();
	}
	d->v[d->n].name = strdup(name);
	if (!d->v[d->n].name)
		abort();
	d->v[d->n].type = type;
	d->n++;
}

static void dents_release(struct dents *d)
{
	size_t k;

	for (k = 0; k < d->n; k++)
		free(d->v[k].name);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static mode_t dtype_of(enum vs_entry_type t)
{
	return t == VS_ENTRY_DIR ? S_IFDIR : t == VS_ENTRY_SYMLINK ? S_IFLNK
								   : S_IFREG;
}

static int list_repo_cb(const struct vs_repo *r, void *arg)
{
	void **a = arg;
	struct dents *d = a[0];
	const struct fs_inode *p = a[1];

	if (r->kind == p->rkind)
		dents_add(d, r->name, S_IFDIR);
	return 0;
}

static void add_ref(struct dents *d, const char *name)
{
	struct vs_buf n = VS_BUF_INIT;

	fs_ref_encode(&n, name);
	dents_add(d, n.data, S_IFLNK);
	vs_buf_release(&n);
}

static int list_branch_cb(const char *name, const struct vs_id *id, void *arg)
{
	add_ref(arg, name);
	return 0;
}

static int list_tag_cb(const char *name, const struct vs_tag *tag, void *arg)
{
	add_ref(arg, name);
	return 0;
}

struct reach {
	struct vs_store *s;
	struct vs_idset *seen;
	struct dents *d;
};

static void reach_walk(struct reach *r, const struct vs_id *head)
{
	struct vs_id id = *head;
	char hex[VS_ID_HEXLEN + 1];

	for (;;) {
		struct vs_commit c;
		size_t k;

		if (!vs_idset_add(r->seen, &id))
			return;
		if (vs_store_read_commit(r->s, &id, &c, NULL) < 0)
			return;
		dents_add(r->d, vs_id_to_hex(&id, hex), S_IFLNK);
		for (k = 1; k < c.nparents; k++)
			reach_walk(r, &c.parents[k]);
		if (c.nparents == 0) {
			vs_commit_release(&c);
			return;
		}
		id = c.parents[0];
		vs_commit_release(&c);
	}
}

static int reach_branch(const char *name, const struct vs_id *id, void *arg)
{
	reach_walk(arg, id);
	return 0;
}

static int reach_tag(const char *name, const struct vs_tag *tag, void *arg)
{
	reach_walk(arg, &tag->commit);
	return 0;
}

/* Builds the listing of a directory of the layout. */
static int list_layout(struct fs *fs, struct fs_inode *i, struct dents *d)
{
	int r = 0;

	switch (i->kind) {
	case FS_ROOT:
		dents_add(d, "datasets", S_IFDIR);
		dents_add(d, "models", S_IFDIR);
		dents_add(d, "history", S_IFDIR);
		return 0;
	case FS_HISTORY:
		dents_add(d, "datasets", S_IFDIR);
		dents_add(d, "models", S_IFDIR);
		return 0;
	case FS_KINDDIR:
	case FS_HIST_KIND: {
		void *a[2] = { d, i };

		r = vs_repo_list(fs->s, list_repo_cb, a, NULL);
		return r < 0 ? -fs_errno(r) : 0;
	}
	case FS_HIST_REPO:
		dents_add(d, "branches", S_IFDIR);
		dents_add(d, "commits", S_IFDIR);
		dents_add(d, "tags", S_IFDIR);
		return 0;
	case FS_HIST_LIST:
		if (i->list == FS_LIST_BRANCHES) {
			r = vs_branch_list(fs->s, i->repo, list_branch_cb, d,
					   NULL);
		} else if (i->list == FS_LIST_TAGS) {
			r = vs_tag_list(fs->s, i->repo, list_tag_cb, d, NULL);
		} else {
			struct reach re = { .s = fs->s, .d = d };

			re.seen = vs_idset_new();
			r = vs_branch_list(fs->s, i->repo, reach_branch, &re,
					   NULL);
			if (r == 0)
				r = vs_tag_list(fs->s, i->repo, reach_tag,
						&re, NULL);
			vs_idset_free(re.seen);
		}
		return r < 0 ? -fs_errno(r) : 0;
	default:
		return -ENOTDIR;
	}
}

/* --- listings of writable heads --- */

/* What a head directory lists: staged children merged with a base tree. */
struct head_listing {
	struct dents staged;	/* by name; type 0: a whiteout */
	bool has_base;
	struct vs_id base;	/* the base's tree at the path */
};

static int staged_child_cb(const char *name, const struct vs_stage_entry *e,
			   void *arg)
{
	switch (e->type) {
	case VS_STAGE_WHITEOUT:
		dents_add(arg, name, 0);
		break;
	case VS_STAGE_DIR:
		dents_add(arg, name, S_IFDIR);
		break;
	case VS_STAGE_SYMLINK:
		dents_add(arg, name, S_IFLNK);
		break;
	default:
		dents_add(arg, name, S_IFREG);
		break;
	}
	return 0;
}

static int head_listing_load(struct fs *fs, const struct vs_head *h,
			     const char *path, struct head_listing *l)
{
	struct fs_hnode n;
	int r;

	memset(l, 0, sizeof(*l));
	r = fs_head_resolve(fs, h, path, &n);
	if (r < 0)
		return r;
	if (n.type != VS_ENTRY_DIR) {
		fs_hnode_release(&n);
		return -ENOTDIR;
	}
	if (n.base_visible && n.in_base && n.bn.type == VS_ENTRY_DIR) {
		l->has_base = true;
		l->base = n.bn.id;
	}
	fs_hnode_release(&n);
	/* The store keeps them sorted by name, as trees are. */
	r = vs_staging_children(fs->s, h, path, staged_child_cb, &l->staged,
				NULL);
	if (r < 0) {
		dents_release(&l->staged);
		return -fs_errno(r);
	}
	return 0;
}

/*
 * A readdir offset of a head directory: the positions of the merge in the
 * base (low 32 bits) and in the staged children (the bits above).  Never
 * 0 after an entry, since each entry advances one of them.
 */
static off_t head_cookie(size_t bi, size_t si)
{
	return (off_t)(((uint64_t)si << 32) | bi);
}

/*
 * The next entry of the merge of base (may be NULL) and staged from
 * positions *bi, *si: a staged child replaces the base's entry of its
 * name, a whiteout hides it.  False at the end.
 */
static bool head_merge_next(const struct fs_dir *base,
			    const struct dents *staged, size_t *bi,
			    size_t *si, const char **name, mode_t *type)
{
	size_t nb = base ? base->count : 0;

	while (*bi < nb || *si < staged->n) {
		const struct vs_tree_entry *b = *bi < nb ? &base->entries[*bi]
							 : NULL;
		const struct fs_dirent *s = *si < staged->n ? &staged->v[*si]
							     : NULL;
		/* Trees and staged keys are both in vs_name_cmp order. */
		int c = !s ? -1 : !b ? 1 : vs_name_cmp(b->name, b->name_len,
							 s->name,
							 strlen(s->name));

		if (c < 0) {
			(*bi)++;
			*name = b->name;
			*type = dtype_of(b->type);
			return true;
		}
		(*si)++;
		if (c == 0)
			(*bi)++;
		if (s->type) {
			*name = s->name;
			*type = s->type;
			return true;
		}
	}
	return false;
}

/* True if the head directory at path lists nothing (rmdir). */
int fs_head_dir_empty(struct fs *fs, const struct vs_head *h,
			  const char *path)
{
	struct head_listing l;
	const struct fs_dir *base = NULL;
	const char *name;
	size_t bi = 0, si = 0;
	mode_t type;
	int r;

	r = head_listing_load(fs, h, path, &l);
	if (r < 0)
		return r;
	if (l.has_base) {
		r = fs_dircache_get(fs->dirs, &l.base, &base, NULL);
		r = r < 0 ? -fs_errno(r) : 0;
	}
	if (r == 0)
		r = head_merge_next(base, &l.staged, &bi, &si, &name, &type)
			    ? 0
			    : 1;
	if (base)
		fs_dircache_put(fs->dirs, base);
	dents_release(&l.staged);
	return r;
}

/* --- readdir --- */

/*
 * Adds an entry whose next offset is next; for readdirplus, t is its
 * inode's template (published here, or freed).  False when the reply is
 * full: the entry is left for the next call.
 */
static bool dirbuf_add(struct fs_dirbuf *b, const char *name, mode_t type,
		       off_t next, struct fs_inode *t, double etimeout)
{
	struct fuse_entry_param e;
	size_t need;

	if (!b->plus) {
		struct stat st = { .st_ino = 0, .st_mode = type };

		need = fuse_add_direntry(b->req, b->buf + b->used,
					 b->size - b->used, name, &st, next);
		if (need > b->size - b->used)
			return false;
		b->used += need;
		return true;
	}
	if (fs_entry_reply(b->fs, b->ino, name, t, etimeout, &e) < 0)
		return true;	/* gone meanwhile: skip it */
	need = fuse_add_direntry_plus(b->req, b->buf + b->used,
				      b->size - b->used, name, &e, next);
	if (need > b->size - b->used) {
		fs_inode_forget(b->fs, e.ino, 1);
		return false;
	}
	b->used += need;
	return true;
}

/* As dirbuf_add, looking the entry up for readdirplus. */
static bool dirbuf_add_lookup(struct fs_dirbuf *b, struct fs_inode *p,
			      const char *name, mode_t type, off_t next)
{
	struct fs_inode t;
	double etimeout;

	if (!b->plus)
		return dirbuf_add(b, name, type, next, NULL, 0);
	if (fs_lookup_child(b->fs, p, name, &t, &etimeout) < 0)
		return true;	/* gone meanwhile: skip it */
	return dirbuf_add(b, name, type, next, &t, etimeout);
}

static int readdir_snap(struct fs_dirbuf *b, struct fs_inode *i, off_t off)
{
	struct fs_dirstate *ds = fs_inode_dir(i);
	const struct fs_dir *d;
	size_t k;
	int r;

	r = fs_dircache_get(b->fs->dirs, &i->id, &d, NULL);
	if (r < 0)
		return -fs_errno(r);
	for (k = (size_t)off; k < d->count; k++) {
		const struct vs_tree_entry *e = &d->entries[k];
		struct fs_inode t;

		if (b->plus)
			fs_snap_child(i, e, k, &t);
		if (!dirbuf_add(b, e->name, dtype_of(e->type), (off_t)k + 1,
				b->plus ? &t : NULL, FS_TIMEOUT_IMMUTABLE))
			break;
	}
	fs_dircache_put(b->fs->dirs, d);
	pthread_mutex_lock(&ds->lock);
	ds->listed = true;
	pthread_mutex_unlock(&ds->lock);
	return 0;
}

static int readdir_head(struct fs_dirbuf *b, struct fs_inode *i, off_t off)
{
	struct fs_dirstate *ds = fs_inode_dir(i);
	const struct fs_dir *base = NULL;
	struct head_listing l;
	size_t bi = (uint64_t)off & 0xffffffffu, si = (uint64_t)off >> 32;
	const char *name;
	mode_t type;
	int r = 0;

	pthread_mutex_lock(&ds->lock);
	if (off == 0 || !ds->kept) {
		r = head_listing_load(b->fs, i->head, i->path, &l);
		if (r < 0)
			goto out;
		fs_dents_clear(ds);
		ds->kept = true;
		ds->dents = l.staged.v;
		ds->ndents = l.staged.n;
		ds->has_base = l.has_base;
		ds->base = l.base;
	}
	l.staged = (struct dents){ .v = ds->dents, .n = ds->ndents };
	if (ds->has_base) {
		r = fs_dircache_get(b->fs->dirs, &ds->base, &base, NULL);
		if (r < 0) {
			r = -fs_errno(r);
			goto out;
		}
	}
	for (;;) {
		if (!head_merge_next(base, &l.staged, &bi, &si, &name, &type)) {
			/* The end: what was kept for the listing can go (a
			 * later call past it starts the merge again). */
			fs_dents_clear(ds);
			break;
		}
		if (!dirbuf_add_lookup(b, i, name, type, head_cookie(bi, si)))
			break;
	}
	if (base)
		fs_dircache_put(b->fs->dirs, base);
out:
	pthread_mutex_unlock(&ds->lock);
	return r;
}

static int readdir_layout(struct fs_dirbuf *b, struct fs_inode *i, off_t off)
{
	struct fs_dirstate *ds = fs_inode_dir(i);
	struct dents d = { 0 };
	size_t k;
	int r = 0;

	pthread_mutex_lock(&ds->lock);
	if (off == 0 || !ds->kept) {
		r = list_layout(b->fs, i, &d);
		if (r < 0) {
			dents_release(&d);
			goto out;
		}
		fs_dents_clear(ds);
		ds->kept = true;
		ds->dents = d.v;
		ds->ndents = d.n;
	}
	for (k = (size_t)off; k < ds->ndents; k++)
		if (!dirbuf_add_lookup(b, i, ds->dents[k].name,
				       ds->dents[k].type, (off_t)k + 1))
			break;
out:
	pthread_mutex_unlock(&ds->lock);
	return r;
}

/* Fills b with the entries of ino from offset off. */
int fs_do_readdir(struct fs_dirbuf *b, off_t off)
{
	struct fs_inode *i = fs_inode_get(b->fs, b->ino);

	if (!i)
		return -ENOENT;
	switch (i->kind) {
	case FS_SNAP:
		return i->type == VS_ENTRY_DIR ? readdir_snap(b, i, off)
					       : -ENOTDIR;
	case FS_HEAD:
		return readdir_head(b, i, off);
	default:
		return readdir_layout(b, i, off);
	}
}
