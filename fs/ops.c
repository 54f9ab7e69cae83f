/*
 * ops.c - the FUSE low-level operations.
 *
 * Each op is a thin wrapper: do_<op>() returns 0 or a negative errno and
 * the wrapper replies exactly once.  Snapshots, the history listing and
 * the top directories are read-only (EROFS); writable heads stage their
 * changes through store/staging.c.
 */
#include "fs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "idset.h"

#include "banned.h"

/* Read-ahead of decompressed chunks for sequential readers. */
#define SEQ_SLACK (2u << 20)
#define PREFETCH_AHEAD (8u << 20)

#define XATTR_COMMIT "user.varve.commit"
#define XATTR_REV "user.varve.rev"
#define XATTR_STATS "user.varve.stats"
#define XATTR_STORE "user.varve.store"

static struct fs *fs_of(fuse_req_t req)
{
	struct fs *fs = fuse_req_userdata(req);

	atomic_fetch_add(&fs->requests, 1);
	return fs;
}

/* Maps a store error to an errno for the kernel. */
static int to_errno(int r)
{
	if (r > -4096 && r < 0)
		return -r;
	switch (r) {
	case VS_E_NOTFOUND:
		return ENOENT;
	case VS_E_INVAL:
		return EINVAL;
	case VS_E_EXISTS:
		return EEXIST;
	case VS_E_CONFLICT:
		return EBUSY;
	default:
		return EIO;
	}
}

static bool is_head(const struct fs_inode *i)
{
	return i->kind == FS_HEAD;
}

static char *join(const char *dir, const char *name)
{
	struct vs_buf p = VS_BUF_INIT;

	if (*dir)
		vs_buf_addf(&p, "%s/", dir);
	vs_buf_addstr(&p, name);
	return vs_buf_detach(&p, NULL);
}

/* --- head bases ------------------------------------------------------ */

static bool head_equal(const struct vs_head *a, const struct vs_head *b)
{
	return !strcmp(a->repo.full, b->repo.full) &&
	       !strcmp(a->branch, b->branch);
}

/* The commit a head shows now (cached until its branch moves). */
static int head_base(struct fs *fs, const struct vs_head *h,
		     struct fs_head_base *out)
{
	struct fs_head_base b = { .head = *h, .valid = true };
	struct vs_commit c;
	size_t k;
	int r;

	pthread_mutex_lock(&fs->lock);
	for (k = 0; k < fs->nbases; k++) {
		if (fs->bases[k].valid && head_equal(&fs->bases[k].head, h)) {
			*out = fs->bases[k];
			pthread_mutex_unlock(&fs->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&fs->lock);

	r = vs_branch_get(fs->s, &h->repo, h->branch, &b.commit, NULL);
	if (r == 0) {
		b.exists = true;
		r = vs_commit_root(fs->s, &b.commit, &b.root, NULL);
		if (r == 0 && vs_store_read_commit(fs->s, &b.commit, &c,
						   NULL) == 0) {
			b.time = c.time;
			vs_commit_release(&c);
		}
	} else if (r == VS_E_NOTFOUND) {
		r = 0;
		b.time = fs->mount_time;
	}
	if (r < 0)
		return r;
	pthread_mutex_lock(&fs->lock);
	for (k = 0; k < fs->nbases; k++)
		if (!fs->bases[k].valid || head_equal(&fs->bases[k].head, h))
			break;
	if (k == fs->nbases) {
		fs->bases = realloc(fs->bases, (k + 1) * sizeof(*fs->bases));
		if (!fs->bases)
			abort();
		fs->nbases++;
	}
	fs->bases[k] = b;
	pthread_mutex_unlock(&fs->lock);
	*out = b;
	return 0;
}

/* What a path of a writable head is now. */
struct hnode {
	enum vs_entry_type type;
	uint64_t size;
	uint64_t mtime;
	bool staged;			/* se holds its entry */
	struct vs_stage_entry se;
	bool in_base;			/* bn is the base's entry at path */
	bool base_visible;		/* base content below shows through */
	struct vs_node bn;
	struct fs_head_base base;
};

static void hnode_release(struct hnode *n)
{
	if (n->staged)
		vs_stage_entry_release(&n->se);
	n->staged = false;
}

/*
 * Walks path from the directory root through the directory index, as
 * vs_path_lookup does through the store: every directory on the way is
 * decoded once, then found by name.  0, VS_E_NOTFOUND or a read error.
 */
static int tree_lookup(struct fs *fs, const struct vs_node *root,
		       const char *path, struct vs_node *out)
{
	const struct vs_tree_entry *e;
	const struct fs_dir *d;
	const char *p = path;
	int r;

	*out = *root;
	while (*p) {
		size_t len = strcspn(p, "/");

		if (len == 0) {
			p++;
			continue;
		}
		if (out->type != VS_ENTRY_DIR)
			return VS_E_NOTFOUND;
		r = fs_dircache_get(fs->dirs, &out->id, &d, NULL);
		if (r < 0)
			return r;
		e = fs_dir_find(d, p, len, NULL);
		if (e) {
			out->type = e->type;
			out->size = e->size;
			out->id = e->id;
		}
		fs_dircache_put(fs->dirs, d);
		if (!e)
			return VS_E_NOTFOUND;
		p += len;
	}
	return 0;
}

static int head_resolve(struct fs *fs, const struct vs_head *h,
			const char *path, struct hnode *n)
{
	struct vs_buf prefix = VS_BUF_INIT;
	struct vs_stage_entry e;
	const char *p;
	struct stat st;
	int r, fd;

	memset(n, 0, sizeof(*n));
	r = head_base(fs, h, &n->base);
	if (r < 0)
		return r;
	n->mtime = n->base.time;
	n->base_visible = n->base.exists;
	/* Ancestors may hide the base: a whiteout, a file, an opaque dir. */
	for (p = strchr(path, '/'); p && n->base_visible;
	     p = strchr(p + 1, '/')) {
		vs_buf_reset(&prefix);
		vs_buf_add(&prefix, path, p - path);
		if (vs_staging_get(fs->s, h, prefix.data, &e, NULL) == 0) {
			bool hides = e.type != VS_STAGE_DIR ||
				     (e.flags & VS_STAGE_OPAQUE);

			vs_stage_entry_release(&e);
			if (e.type != VS_STAGE_DIR) {
				vs_buf_release(&prefix);
				return -ENOENT;
			}
			if (hides)
				n->base_visible = false;
		}
	}
	vs_buf_release(&prefix);
	if (n->base_visible && *path) {
		r = tree_lookup(fs, &n->base.root, path, &n->bn);
		n->in_base = r == 0;
		if (r < 0 && r != VS_E_NOTFOUND)
			return -to_errno(r);
	} else if (n->base_visible) {
		n->in_base = true;
		n->bn = n->base.root;
	}
	if (!*path) {
		n->type = VS_ENTRY_DIR;
		n->size = n->in_base ? n->bn.size : 0;
	}
	if (*path && vs_staging_get(fs->s, h, path, &n->se, NULL) == 0) {
		n->staged = true;
		switch (n->se.type) {
		case VS_STAGE_WHITEOUT:
			hnode_release(n);
			return -ENOENT;
		case VS_STAGE_DATA:
			n->type = n->se.flags & VS_STAGE_EXEC ? VS_ENTRY_EXEC
							      : VS_ENTRY_FILE;
			fd = vs_staging_open_datafile(fs->s, n->se.datafile,
						      O_RDONLY);
			if (fd >= 0) {
				if (fstat(fd, &st) == 0) {
					n->size = st.st_size;
					n->mtime = st.st_mtime;
				}
				close(fd);
			}
			break;
		case VS_STAGE_REF:
			n->type = n->se.flags & VS_STAGE_EXEC ? VS_ENTRY_EXEC
							      : VS_ENTRY_FILE;
			n->size = n->se.size;
			break;
		case VS_STAGE_SYMLINK:
			n->type = VS_ENTRY_SYMLINK;
			n->size = strlen(n->se.target);
			break;
		case VS_STAGE_DIR:
			n->type = VS_ENTRY_DIR;
			if (n->se.flags & VS_STAGE_OPAQUE || !n->in_base ||
			    n->bn.type != VS_ENTRY_DIR)
				n->base_visible = false;
			break;
		}
		return 0;
	}
	if (*path && !n->in_base)
		return -ENOENT;
	if (*path) {
		n->type = n->bn.type;
		n->size = n->bn.size;
	}
	return 0;
}

/* --- attributes ----------------------------------------------------------- */

static void fill_common(struct fs *fs, struct stat *st, fuse_ino_t ino)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_nlink = 1;
	st->st_blksize = 1 << 20;
}

static mode_t mode_of(enum vs_entry_type t, bool writable)
{
	switch (t) {
	case VS_ENTRY_DIR:
		return S_IFDIR | (writable ? 0755 : 0555);
	case VS_ENTRY_EXEC:
		return S_IFREG | (writable ? 0755 : 0555);
	case VS_ENTRY_SYMLINK:
		return S_IFLNK | 0777;
	default:
		return S_IFREG | (writable ? 0644 : 0444);
	}
}

static void set_time(struct stat *st, uint64_t t)
{
	st->st_mtim.tv_sec = st->st_ctim.tv_sec = st->st_atim.tv_sec = t;
}

/* Attributes of i; timeout receives how long the kernel may keep them. */
static int do_getattr(struct fs *fs, struct fs_inode *i, struct stat *st,
		      double *timeout)
{
	struct hnode n;
	int r;

	fill_common(fs, st, i->ino);
	*timeout = FS_TIMEOUT_MUTABLE;
	switch (i->kind) {
	case FS_SNAP:
		st->st_mode = mode_of(i->type, false);
		st->st_size = i->type == VS_ENTRY_DIR ? 0 : i->size;
		if (i->type == VS_ENTRY_DIR)
			st->st_nlink = 2;
		set_time(st, i->time);
		*timeout = FS_TIMEOUT_IMMUTABLE;
		break;
	case FS_LINK:
		st->st_mode = S_IFLNK | 0777;
		st->st_size = strlen(i->target);
		set_time(st, fs->mount_time);
		*timeout = FS_TIMEOUT_IMMUTABLE;
		break;
	case FS_HEAD:
		r = head_resolve(fs, i->head, i->path, &n);
		if (r < 0)
			return r;
		st->st_mode = mode_of(n.type, !fs->opts->read_only);
		st->st_size = n.type == VS_ENTRY_DIR ? 0 : n.size;
		if (n.type == VS_ENTRY_DIR)
			st->st_nlink = 2;
		set_time(st, n.mtime);
		hnode_release(&n);
		break;
	default:
		/* The layout's own directories never change their attributes;
		 * their listings are invalidated by fs_on_change. */
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		set_time(st, fs->mount_time);
		*timeout = FS_TIMEOUT_IMMUTABLE;
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

/* --- lookup ------------------------------------------------------------ */

static void tmpl_init(struct fs_inode *t, enum fs_kind kind)
{
	memset(t, 0, sizeof(*t));
	t->kind = kind;
}

/*
 * A file name cannot hold the '/' of a branch or tag name like ci/github/7-1:
 * the mount spells it %2F ('%' is never part of a ref name).
 */
static void ref_encode(struct vs_buf *out, const char *name)
{
	for (; *name; name++) {
		if (*name == '/')
			vs_buf_addstr(out, "%2F");
		else
			vs_buf_addch(out, *name);
	}
}

static void ref_decode(struct vs_buf *out, const char *name)
{
	for (; *name; name++) {
		if (!strncmp(name, "%2F", 3)) {
			vs_buf_addch(out, '/');
			name += 2;
		} else {
			vs_buf_addch(out, *name);
		}
	}
}

static int lookup_kinddir(struct fs *fs, struct fs_inode *p, const char *name,
			  struct fs_inode *t, double *entry_timeout)
{
	const char *at = strchr(name, '@');
	struct vs_buf spec = VS_BUF_INIT;
	struct vs_commit c;
	struct vs_rev rev;
	size_t revoff;
	int r;

	if (!at) {
		struct vs_head h = { .branch = VS_DEFAULT_BRANCH };

		if (vs_repo_set(&h.repo, p->rkind, name, NULL) < 0 ||
		    vs_repo_check(fs->s, &h.repo, NULL) < 0)
			return -ENOENT;
		tmpl_init(t, FS_HEAD);
		t->head = fs_head_intern(fs, &h);
		t->path = strdup("");
		if (!t->path)
			abort();
		return 0;
	}
	if (strchr(name, ':'))
		return -ENOENT;
	vs_buf_addf(&spec, "%ss/%.*s@", vs_repo_kind_name(p->rkind),
		    (int)(at - name), name);
	revoff = spec.len;
	ref_decode(&spec, at + 1);
	r = vs_rev_resolve(fs->s, spec.data, false, &rev, NULL);
	if (r < 0) {
		vs_buf_release(&spec);
		vs_rev_release(&rev);
		return r == VS_E_NOTFOUND || r == VS_E_INVAL ||
				       r == VS_E_AMBIGUOUS
			       ? -ENOENT
			       : -to_errno(r);
	}
	tmpl_init(t, FS_SNAP);
	t->type = VS_ENTRY_DIR;
	t->root = calloc(1, sizeof(*t->root));
	if (!t->root)
		abort();
	t->root->commit = rev.commit;
	t->root->rev = strdup(spec.data + revoff);
	if (!t->root->rev)
		abort();
	vs_buf_release(&spec);
	r = vs_store_read_commit(fs->s, &rev.commit, &c, NULL);
	if (r == 0) {
		t->time = c.time;
		t->id = c.tree;
		vs_commit_release(&c);
	}
	/* A branch name may move: let the kernel ask again soon. */
	*entry_timeout = rev.branch || strchr(at, '~') ? FS_TIMEOUT_MUTABLE
						      : FS_TIMEOUT_IMMUTABLE;
	vs_rev_release(&rev);
	return r < 0 ? -to_errno(r) : 0;
}

static struct vs_repo *repo_dup(const struct vs_repo *r)
{
	struct vs_repo *copy = malloc(sizeof(*copy));

	if (!copy)
		abort();
	*copy = *r;
	return copy;
}

/* The template of the child of snapshot directory p at position pos. */
static void snap_child(const struct fs_inode *p, const struct vs_tree_entry *e,
		       size_t pos, struct fs_inode *t)
{
	tmpl_init(t, FS_SNAP);
	t->time = p->time;
	t->type = e->type;
	t->id = e->id;
	t->size = e->size;
	t->pos = (uint32_t)pos;
}

/* The symlink target for a history entry. */
static char *hist_target(const struct fs_inode *p, const char *rev)
{
	struct vs_buf t = VS_BUF_INIT;

	vs_buf_addf(&t, "../../../../%ss/%s@%s",
		    vs_repo_kind_name(p->repo->kind), p->repo->name, rev);
	return vs_buf_detach(&t, NULL);
}

static int hist_find(struct fs *fs, struct fs_inode *p, const char *name,
		     char **target);

/* Looks name up in p; fills the template of the child. */
static int lookup_child(struct fs *fs, struct fs_inode *p, const char *name,
			struct fs_inode *t, double *entry_timeout)
{
	const struct vs_tree_entry *e;
	const struct fs_dir *d;
	struct hnode n;
	size_t pos;
	int r;

	/* The fixed layout is immutable; heads and branch names are not. */
	*entry_timeout = p->kind == FS_HEAD ? FS_TIMEOUT_MUTABLE
					    : FS_TIMEOUT_IMMUTABLE;
	switch (p->kind) {
	case FS_ROOT:
		if (!strcmp(name, "datasets") || !strcmp(name, "models")) {
			tmpl_init(t, FS_KINDDIR);
			t->rkind = name[0] == 'd' ? VS_REPO_DATASET
						  : VS_REPO_MODEL;
			return 0;
		}
		if (!strcmp(name, "history")) {
			tmpl_init(t, FS_HISTORY);
			return 0;
		}
		return -ENOENT;
	case FS_KINDDIR:
		return lookup_kinddir(fs, p, name, t, entry_timeout);
	case FS_HISTORY:
		if (strcmp(name, "datasets") && strcmp(name, "models"))
			return -ENOENT;
		tmpl_init(t, FS_HIST_KIND);
		t->rkind = name[0] == 'd' ? VS_REPO_DATASET : VS_REPO_MODEL;
		return 0;
	case FS_HIST_KIND: {
		struct vs_repo repo;

		if (vs_repo_set(&repo, p->rkind, name, NULL) < 0 ||
		    vs_repo_check(fs->s, &repo, NULL) < 0)
			return -ENOENT;
		tmpl_init(t, FS_HIST_REPO);
		t->repo = repo_dup(&repo);
		return 0;
	}
	case FS_HIST_REPO:
		tmpl_init(t, FS_HIST_LIST);
		if (!strcmp(name, "branches"))
			t->list = FS_LIST_BRANCHES;
		else if (!strcmp(name, "tags"))
			t->list = FS_LIST_TAGS;
		else if (!strcmp(name, "commits"))
			t->list = FS_LIST_COMMITS;
		else
			return -ENOENT;
		t->repo = repo_dup(p->repo);
		return 0;
	case FS_HIST_LIST:
		tmpl_init(t, FS_LINK);
		return hist_find(fs, p, name, &t->target);
	case FS_SNAP:
		if (p->type != VS_ENTRY_DIR)
			return -ENOTDIR;
		r = fs_dircache_get(fs->dirs, &p->id, &d, NULL);
		if (r < 0)
			return -to_errno(r);
		e = fs_dir_find(d, name, strlen(name), &pos);
		if (e)
			snap_child(p, e, pos, t);
		fs_dircache_put(fs->dirs, d);
		return e ? 0 : -ENOENT;
	case FS_HEAD:
		tmpl_init(t, FS_HEAD);
		t->head = p->head;
		t->path = join(p->path, name);
		r = head_resolve(fs, p->head, t->path, &n);
		hnode_release(&n);
		if (r < 0) {
			free(t->path);
			t->path = NULL;
		}
		return r;
	default:
		return -ENOTDIR;
	}
}

/*
 * Publishes template t as parent/name (raising its lookup count) and fills
 * e for an entry reply; etimeout: how long the name may be cached.
 */
static int entry_reply(struct fs *fs, fuse_ino_t parent, const char *name,
		       struct fs_inode *t, double etimeout,
		       struct fuse_entry_param *e)
{
	struct fs_inode *i;
	double atimeout;
	int r;

	memset(e, 0, sizeof(*e));
	i = fs_inode_publish(fs, parent, name, t);
	r = do_getattr(fs, i, &e->attr, &atimeout);
	if (r < 0) {
		fs_inode_forget(fs, i->ino, 1);
		return r;
	}
	e->ino = i->ino;
	e->attr_timeout = atimeout;
	e->entry_timeout = etimeout < atimeout ? etimeout : atimeout;
	if (i->kind == FS_SNAP && etimeout == FS_TIMEOUT_IMMUTABLE)
		e->entry_timeout = FS_TIMEOUT_IMMUTABLE;
	return 0;
}

/* Looks up and publishes; fills e for the reply. */
static int do_lookup(struct fs *fs, fuse_ino_t parent, const char *name,
		     struct fuse_entry_param *e)
{
	struct fs_inode *p = fs_inode_get(fs, parent), t;
	double etimeout;
	int r;

	memset(e, 0, sizeof(*e));
	if (!p)
		return -ENOENT;
	if (strlen(name) > VS_NAME_MAX)
		return -ENAMETOOLONG;
	r = lookup_child(fs, p, name, &t, &etimeout);
	if (r < 0)
		return r;
	return entry_reply(fs, parent, name, &t, etimeout, e);
}

/* Valid replies: fuse_reply_entry, fuse_reply_err. */
static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int r = do_lookup(fs_of(req), parent, name, &e);

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

/* Valid replies: fuse_reply_none. */
static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fs_inode_forget(fs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

/* Valid replies: fuse_reply_none. */
static void fs_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct fs *fs = fs_of(req);
	size_t k;

	for (k = 0; k < count; k++)
		fs_inode_forget(fs, forgets[k].ino, forgets[k].nlookup);
	fuse_reply_none(req);
}

/* Valid replies: fuse_reply_attr, fuse_reply_err. */
static void fs_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *i = fs_inode_get(fs, ino);
	struct stat st;
	double timeout;
	int r = i ? do_getattr(fs, i, &st, &timeout) : -ENOENT;

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, timeout);
}

/* --- directories -------------------------------------------------------- */

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

	ref_encode(&n, name);
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

static int hist_find(struct fs *fs, struct fs_inode *p, const char *name,
		     char **target)
{
	struct vs_buf real = VS_BUF_INIT;
	struct vs_tag tag;
	struct vs_id id;
	char hex[VS_ID_HEXLEN + 1];
	int r = -ENOENT;

	ref_decode(&real, name);
	switch (p->list) {
	case FS_LIST_BRANCHES:
		if (vs_branch_get(fs->s, p->repo, real.data, &id, NULL) == 0) {
			*target = hist_target(p, name);
			r = 0;
		}
		break;
	case FS_LIST_TAGS:
		if (vs_tag_get(fs->s, p->repo, real.data, &tag, NULL) == 0) {
			*target = hist_target(p, vs_id_to_hex(&tag.commit,
							      hex));
			r = 0;
		}
		vs_tag_release(&tag);
		break;
	case FS_LIST_COMMITS:
		if (vs_id_from_hex(&id, name) == 0 && vs_object_has(fs->s, &id)) {
			*target = hist_target(p, name);
			r = 0;
		}
		break;
	}
	vs_buf_release(&real);
	return r;
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
		return r < 0 ? -to_errno(r) : 0;
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
		return r < 0 ? -to_errno(r) : 0;
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
	struct hnode n;
	int r;

	memset(l, 0, sizeof(*l));
	r = head_resolve(fs, h, path, &n);
	if (r < 0)
		return r;
	if (n.type != VS_ENTRY_DIR) {
		hnode_release(&n);
		return -ENOTDIR;
	}
	if (n.base_visible && n.in_base && n.bn.type == VS_ENTRY_DIR) {
		l->has_base = true;
		l->base = n.bn.id;
	}
	hnode_release(&n);
	/* The store keeps them sorted by name, as trees are. */
	r = vs_staging_children(fs->s, h, path, staged_child_cb, &l->staged,
				NULL);
	if (r < 0) {
		dents_release(&l->staged);
		return -to_errno(r);
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
static int head_dir_empty(struct fs *fs, const struct vs_head *h,
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
		r = r < 0 ? -to_errno(r) : 0;
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

/* A readdir reply being filled. */
struct dirbuf {
	struct fs *fs;
	fuse_req_t req;
	fuse_ino_t ino;
	bool plus;
	char *buf;
	size_t size, used;
};

/*
 * Adds an entry whose next offset is next; for readdirplus, t is its
 * inode's template (published here, or freed).  False when the reply is
 * full: the entry is left for the next call.
 */
static bool dirbuf_add(struct dirbuf *b, const char *name, mode_t type,
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
	if (entry_reply(b->fs, b->ino, name, t, etimeout, &e) < 0)
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
static bool dirbuf_add_lookup(struct dirbuf *b, struct fs_inode *p,
			      const char *name, mode_t type, off_t next)
{
	struct fs_inode t;
	double etimeout;

	if (!b->plus)
		return dirbuf_add(b, name, type, next, NULL, 0);
	if (lookup_child(b->fs, p, name, &t, &etimeout) < 0)
		return true;	/* gone meanwhile: skip it */
	return dirbuf_add(b, name, type, next, &t, etimeout);
}

static int readdir_snap(struct dirbuf *b, struct fs_inode *i, off_t off)
{
	struct fs_dirstate *ds = fs_inode_dir(i);
	const struct fs_dir *d;
	size_t k;
	int r;

	r = fs_dircache_get(b->fs->dirs, &i->id, &d, NULL);
	if (r < 0)
		return -to_errno(r);
	for (k = (size_t)off; k < d->count; k++) {
		const struct vs_tree_entry *e = &d->entries[k];
		struct fs_inode t;

		if (b->plus)
			snap_child(i, e, k, &t);
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

static int readdir_head(struct dirbuf *b, struct fs_inode *i, off_t off)
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
			r = -to_errno(r);
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

static int readdir_layout(struct dirbuf *b, struct fs_inode *i, off_t off)
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
static int do_readdir(struct dirbuf *b, off_t off)
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

static void readdir_reply(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, bool plus)
{
	struct dirbuf b = {
		.fs = fs_of(req), .req = req, .ino = ino, .plus = plus,
		.size = size,
	};
	int r;

	b.buf = malloc(size);
	if (!b.buf)
		abort();
	r = do_readdir(&b, off);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, b.buf, b.used);
	free(b.buf);
}

/* Valid replies: fuse_reply_err (ENOSYS: the kernel then caches listings
 * and stops sending opendir/releasedir). */
static void fs_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	fs_of(req);
	fuse_reply_err(req, ENOSYS);
}

/* Valid replies: fuse_reply_buf, fuse_reply_data, fuse_reply_err. */
static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	readdir_reply(req, ino, size, off, false);
}

/* Valid replies: fuse_reply_buf, fuse_reply_data, fuse_reply_err. */
static void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	readdir_reply(req, ino, size, off, true);
}

/* Valid replies: fuse_reply_readlink, fuse_reply_err. */
static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *i = fs_inode_get(fs, ino);
	struct vs_buf b = VS_BUF_INIT;
	struct vs_id id;
	struct hnode n;
	int r = -EINVAL;

	if (!i) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (i->kind == FS_LINK) {
		fuse_reply_readlink(req, i->target);
		return;
	}
	if (i->kind == FS_SNAP && i->type == VS_ENTRY_SYMLINK) {
		id = i->id;
		r = 0;
	} else if (i->kind == FS_HEAD) {
		r = head_resolve(fs, i->head, i->path, &n);
		if (r == 0 && n.type != VS_ENTRY_SYMLINK)
			r = -EINVAL;
		if (r == 0 && n.staged) {
			vs_buf_addstr(&b, n.se.target);
			hnode_release(&n);
			fuse_reply_readlink(req, b.data);
			vs_buf_release(&b);
			return;
		}
		if (r == 0)
			id = n.bn.id;
		hnode_release(&n);
	}
	if (r == 0) {
		r = vs_file_read_all(fs->s, &id, &b, NULL);
		r = r < 0 ? -to_errno(r) : 0;
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_readlink(req, b.data);
	vs_buf_release(&b);
}

/* --- files ---------------------------------------------------------------- */

/* An open file: a staged data file, or a committed file object. */
struct handle {
	int fd;			/* staged content, or -1 */
	struct vs_file f;	/* committed content when fd < 0 */
	atomic_uint_fast64_t next_off;	/* where a sequential reader reads
					   next (racy by design: a hint) */
	atomic_uint_fast64_t hinted_end; /* chunks starting below it were
					    hinted already (also a hint) */
};

static struct handle *handle_new(void)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		abort();
	h->fd = -1;
	vs_file_init(&h->f);
	return h;
}

static void handle_free(struct handle *h)
{
	if (!h)
		return;
	if (h->fd >= 0)
		close(h->fd);
	vs_file_release(&h->f);
	free(h);
}

/* Writes file object id into fd (the copy-up of a committed file). */
static int copy_content(struct fs *fs, const struct vs_id *id, int fd)
{
	struct vs_file f;
	size_t k;
	int r;

	r = vs_store_read_file(fs->s, id, &f, NULL);
	if (r < 0)
		return -to_errno(r);
	if (f.inline_data && pwrite(fd, f.inline_data, f.size, 0) !=
				     (ssize_t)f.size)
		r = -EIO;
	for (k = 0; k < f.nchunks && r == 0; k++) {
		const struct fs_chunk *c;

		r = fs_cache_get(fs->cache, &f.chunks[k].id, &c, NULL);
		if (r < 0) {
			r = -to_errno(r);
			break;
		}
		if (pwrite(fd, c->data, c->len, f.chunks[k].offset) !=
		    (ssize_t)c->len)
			r = -errno ? -errno : -EIO;
		fs_cache_put(fs->cache, c, 0);
	}
	vs_file_release(&f);
	return r;
}

static const struct vs_id *base_of(const struct hnode *n)
{
	return n->base.exists ? &n->base.commit : NULL;
}

/*
 * Makes sure path's content lives in a staged data file (copy-up on the
 * first write) and returns an fd to it.  Called with head_lock held.
 */
static int stage_data(struct fs *fs, struct fs_inode *i, struct hnode *n,
		      int *fd_out)
{
	struct vs_stage_entry e = { .type = VS_STAGE_DATA };
	uint64_t num;
	int fd, r;

	if (n->type == VS_ENTRY_DIR)
		return -EISDIR;
	if (n->type == VS_ENTRY_SYMLINK)
		return -EINVAL;
	if (n->staged && n->se.type == VS_STAGE_DATA) {
		fd = vs_staging_open_datafile(fs->s, n->se.datafile, O_RDWR);
		if (fd < 0)
			return fd;
		*fd_out = fd;
		return 0;
	}
	r = vs_staging_new_datafile(fs->s, &num, &fd, NULL);
	if (r < 0)
		return -to_errno(r);
	r = copy_content(fs, n->staged ? &n->se.id : &n->bn.id, fd);
	if (r == 0) {
		e.datafile = num;
		e.flags = n->type == VS_ENTRY_EXEC ? VS_STAGE_EXEC : 0;
		r = vs_staging_put(fs->s, i->head, base_of(n), i->path, &e,
				   NULL);
		r = r < 0 ? -to_errno(r) : 0;
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	*fd_out = fd;
	return 0;
}

/*
 * A reader that opens the files of a listed snapshot directory one after
 * another (find | xargs cat; a loader going through a shard directory)
 * finds the next ones already read, verified and decompressed: an open of
 * the file at position pos queues the first chunks of the files up to
 * SIBLINGS_AHEAD positions past it.  Only while the opens follow the
 * listing (each within SIBLINGS_AHEAD of the last): a reader in shuffled
 * order would make every prefetch a wasted read.  Files small enough to be
 * stored inline have no chunk to prefetch.
 */
#define SIBLINGS_AHEAD 16

static void prefetch_siblings(struct fs *fs, const struct fs_inode *i)
{
	struct fs_inode *p = fs_inode_get(fs, i->parent);
	const struct fs_dir *d;
	struct fs_dirstate *ds;
	size_t pos = i->pos, k, until;
	bool seq;

	if (!p || p->kind != FS_SNAP || !(ds = atomic_load(&p->dir)))
		return;
	if (fs_dircache_get(fs->dirs, &p->id, &d, NULL) < 0)
		return;
	pthread_mutex_lock(&ds->lock);
	seq = ds->listed &&
	      (ds->pf_last == 0 || (pos + SIBLINGS_AHEAD >= ds->pf_last &&
				    pos <= ds->pf_last + SIBLINGS_AHEAD));
	ds->pf_last = pos + 1;
	if (seq) {
		until = pos + 1 + SIBLINGS_AHEAD;
		k = ds->pf_next > pos + 1 ? ds->pf_next : pos + 1;
		for (; k < d->count && k < until; k++) {
			const struct vs_tree_entry *e = &d->entries[k];

			if (e->type != VS_ENTRY_DIR &&
			    e->type != VS_ENTRY_SYMLINK &&
			    e->size > VS_FILE_INLINE_MAX &&
			    !fs_cache_prefetch_file(fs->cache, &e->id))
				break;
		}
		ds->pf_next = k;
	}
	pthread_mutex_unlock(&ds->lock);
	fs_dircache_put(fs->dirs, d);
}

static int do_open(struct fs *fs, struct fs_inode *i,
		   struct fuse_file_info *fi)
{
	bool wr = (fi->flags & O_ACCMODE) != O_RDONLY ||
		  (fi->flags & O_TRUNC);
	struct handle *h;
	struct hnode n;
	int r = 0, fd;

	if (i->kind == FS_SNAP) {
		if (wr)
			return -EROFS;
		if (i->type == VS_ENTRY_DIR)
			return -EISDIR;
		h = handle_new();
		r = vs_store_read_file(fs->s, &i->id, &h->f, NULL);
		if (r < 0) {
			handle_free(h);
			return -to_errno(r);
		}
		fi->fh = (uintptr_t)h;
		fi->keep_cache = 1;
		/*
		 * The first read follows in a moment: its chunk comes off
		 * the disk meanwhile, while this reply and the reader's next
		 * request travel.  Only on the inode's first open: later
		 * ones are likely served from the kernel's page cache.
		 */
		if (h->f.nchunks > 0 && !atomic_exchange(&i->opened, true))
			fs_cache_prefetch(fs->cache, &h->f.chunks[0].id);
		prefetch_siblings(fs, i);
		return 0;
	}
	if (!is_head(i))
		return -EISDIR;
	if (wr && fs->opts->read_only)
		return -EROFS;
	pthread_mutex_lock(&fs->head_lock);
	r = head_resolve(fs, i->head, i->path, &n);
	if (r < 0)
		goto out;
	h = handle_new();
	if (wr) {
		r = stage_data(fs, i, &n, &h->fd);
		if (r == 0 && (fi->flags & O_TRUNC) && ftruncate(h->fd, 0) < 0)
			r = -errno;
	} else if (n.staged && n.se.type == VS_STAGE_DATA) {
		fd = vs_staging_open_datafile(fs->s, n.se.datafile, O_RDONLY);
		if (fd < 0)
			r = fd;
		h->fd = fd;
	} else if (n.type == VS_ENTRY_DIR) {
		r = -EISDIR;
	} else {
		r = vs_store_read_file(fs->s, n.staged ? &n.se.id : &n.bn.id,
				       &h->f, NULL);
		r = r < 0 ? -to_errno(r) : 0;
	}
	hnode_release(&n);
	if (r < 0) {
		handle_free(h);
		goto out;
	}
	fi->fh = (uintptr_t)h;
	/* Changes come through this mount, or fs_on_change invalidates. */
	fi->keep_cache = 1;
out:
	pthread_mutex_unlock(&fs->head_lock);
	return r;
}

/* Valid replies: fuse_reply_open, fuse_reply_err. */
static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *i = fs_inode_get(fs, ino);
	int r = i ? do_open(fs, i, fi) : -ENOENT;

	if (r < 0)
		fuse_reply_err(req, -r);
	else if (fuse_reply_open(req, fi) == -ENOENT)
		handle_free((struct handle *)(uintptr_t)fi->fh);
}

/* Valid replies: fuse_reply_err. */
static void fs_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	fs_of(req);
	handle_free((struct handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* Hints the prefetch threads after a read of [off, end) ending in chunk last. */
static void read_ahead(struct fs *fs, struct handle *h, off_t off,
		       uint64_t end, size_t last)
{
	const struct vs_file *f = &h->f;
	uint64_t prev, from;
	size_t k;

	/*
	 * A sequential reader (the kernel's read-ahead sends several windows
	 * at once, so "near the last end" rather than "at it") gets the
	 * chunks of the next few MiB decompressed by the prefetch threads
	 * before it asks for them.  Each read hints only the chunks that
	 * came into that window since the last one: a chunk is hinted once.
	 */
	prev = atomic_exchange(&h->next_off, end);
	if (off != 0 && ((uint64_t)off + SEQ_SLACK < prev ||
			 (uint64_t)off > prev + SEQ_SLACK)) {
		atomic_store(&h->hinted_end, 0);	/* a seek: start over */
		return;
	}
	from = atomic_exchange(&h->hinted_end, end + PREFETCH_AHEAD);
	if (off == 0)
		from = 0;
	for (k = last + 1; k < f->nchunks &&
			   f->chunks[k].offset < end + PREFETCH_AHEAD; k++) {
		if (f->chunks[k].offset < from)
			continue;
		if (!fs_cache_prefetch(fs->cache, &f->chunks[k].id)) {
			/* The queue is full: the next read offers it again. */
			atomic_store(&h->hinted_end, f->chunks[k].offset);
			break;
		}
	}
}

/*
 * Replies to a read of a committed file straight from the cached chunks, or
 * returns a negative errno without replying. fuse_reply_iov hands the pieces
 * to one writev on /dev/fuse, so the kernel copies from the cache itself;
 * fuse_reply_data would first copy a reply of several pieces into a fresh
 * buffer.
 */
static int reply_object(fuse_req_t req, struct fs *fs, struct handle *h,
			size_t size, off_t off)
{
	const struct vs_file *f = &h->f;
	const struct fs_chunk **held;
	struct iovec *iov;
	size_t k, first, n = 0, npieces;
	uint64_t end;
	int r = 0;

	if ((uint64_t)off >= f->size || size == 0) {
		fuse_reply_buf(req, NULL, 0);
		return 0;
	}
	end = f->size - off < size ? f->size : off + size;
	if (f->inline_data) {
		/*
		 * A copy: once the kernel has the reply it may release the
		 * file (and free f) before fuse_reply_buf even returns.
		 */
		char tmp[VS_FILE_INLINE_MAX];

		memcpy(tmp, f->inline_data + off, end - off);
		fuse_reply_buf(req, tmp, end - off);
		return 0;
	}
	first = vs_file_find_chunk(f, off);
	for (k = first; k < f->nchunks && f->chunks[k].offset < end; k++)
		;
	npieces = k - first;
	iov = malloc(npieces * sizeof(*iov));
	held = malloc(npieces * sizeof(*held));
	if (!iov || !held)
		abort();
	for (k = first; k < first + npieces; k++) {
		const struct vs_chunk_ref *c = &f->chunks[k];
		const struct fs_chunk *ch;
		uint64_t from, to;

		r = fs_cache_get(fs->cache, &c->id, &ch, NULL);
		if (r < 0) {
			r = -to_errno(r);
			break;
		}
		held[n++] = ch;
		if (ch->len != c->len) {
			r = -EIO;
			break;
		}
		from = (uint64_t)off > c->offset ? off - c->offset : 0;
		to = end < c->offset + c->len ? end - c->offset : c->len;
		iov[k - first] = (struct iovec){
			.iov_base = (void *)(ch->data + from),
			.iov_len = to - from,
		};
	}
	if (r == 0) {
		/* Before the reply: once it is sent, the kernel may release
		 * the file and h with it. */
		read_ahead(fs, h, off, end, first + npieces - 1);
		fuse_reply_iov(req, iov, (int)npieces);
	}
	for (k = 0; k < n; k++)
		fs_cache_put(fs->cache, held[k], r == 0 ? iov[k].iov_len : 0);
	free(held);
	free(iov);
	return r;
}

/* Valid replies: fuse_reply_buf, fuse_reply_data, fuse_reply_err. */
static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct vs_buf b = VS_BUF_INIT;
	ssize_t n;
	int r;

	if (h->fd >= 0) {
		vs_buf_grow(&b, size);
		n = pread(h->fd, b.data, size, off);
		if (n < 0)
			fuse_reply_err(req, errno);
		else
			fuse_reply_buf(req, b.data, n);
		vs_buf_release(&b);
		return;
	}
	r = reply_object(req, fs, h, size, off);
	if (r < 0)
		fuse_reply_err(req, -r);
}

/* Valid replies: fuse_reply_write, fuse_reply_err. */
static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	ssize_t n;

	fs_of(req);
	if (h->fd < 0) {
		fuse_reply_err(req, EBADF);
		return;
	}
	n = pwrite(h->fd, buf, size, off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, n);
}

/* Valid replies: fuse_reply_err. */
static void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	int r = 0;

	fs_of(req);
	if (h && h->fd >= 0 && (datasync ? fdatasync(h->fd) : fsync(h->fd)))
		r = errno;
	fuse_reply_err(req, r);
}

/* --- changing writable heads ---------------------------------------------- */

/* The head inode that may be changed, or an errno: EROFS elsewhere. */
static int writable_dir(struct fs *fs, fuse_ino_t ino, struct fs_inode **out)
{
	struct fs_inode *i = fs_inode_get(fs, ino);

	if (!i)
		return -ENOENT;
	if (!is_head(i) || fs->opts->read_only)
		return -EROFS;
	*out = i;
	return 0;
}

/* Entry reply for a just-created child. */
static int entry_for(struct fs *fs, fuse_ino_t parent, const char *name,
		     struct fuse_entry_param *e)
{
	return do_lookup(fs, parent, name, e);
}

/*
 * The start of every operation that adds parent/name to a head: the parent
 * must be a writable directory of a head and the name valid and free.  On
 * success returns 0 with fs->head_lock held and *p, *pn (the parent's
 * state) and *path (malloc'ed) filled; end_new_entry() releases them.  On
 * failure nothing is held.
 */
static int begin_new_entry(struct fs *fs, fuse_ino_t parent, const char *name,
			   struct fs_inode **p, struct hnode *pn, char **path)
{
	struct hnode n;
	int r;

	r = writable_dir(fs, parent, p);
	if (r < 0)
		return r;
	if (!vs_name_valid(name, strlen(name)))
		return -EINVAL;
	pthread_mutex_lock(&fs->head_lock);
	r = head_resolve(fs, (*p)->head, (*p)->path, pn);
	if (r == 0 && pn->type != VS_ENTRY_DIR) {
		hnode_release(pn);
		r = -ENOTDIR;
	}
	if (r < 0) {
		pthread_mutex_unlock(&fs->head_lock);
		return r;
	}
	*path = join((*p)->path, name);
	if (head_resolve(fs, (*p)->head, *path, &n) == 0) {
		hnode_release(&n);
		hnode_release(pn);
		pthread_mutex_unlock(&fs->head_lock);
		free(*path);
		return -EEXIST;
	}
	return 0;
}

static void end_new_entry(struct fs *fs, struct hnode *pn, char *path)
{
	hnode_release(pn);
	pthread_mutex_unlock(&fs->head_lock);
	free(path);
}

static int do_create(struct fs *fs, fuse_ino_t parent, const char *name,
		     mode_t mode, struct fuse_file_info *fi,
		     struct fuse_entry_param *e)
{
	struct vs_stage_entry se = { .type = VS_STAGE_DATA };
	struct fs_inode *p;
	struct hnode pn;
	struct handle *h;
	uint64_t num;
	char *path;
	int r, fd;

	r = begin_new_entry(fs, parent, name, &p, &pn, &path);
	if (r < 0)
		return r;
	r = vs_staging_new_datafile(fs->s, &num, &fd, NULL);
	if (r < 0) {
		r = -to_errno(r);
		goto out;
	}
	se.datafile = num;
	se.flags = (mode & S_IXUSR) ? VS_STAGE_EXEC : 0;
	r = vs_staging_put(fs->s, p->head, base_of(&pn), path, &se, NULL);
	if (r < 0) {
		close(fd);
		r = -to_errno(r);
		goto out;
	}
	if (fi) {
		h = handle_new();
		h->fd = fd;
		fi->fh = (uintptr_t)h;
	} else {
		close(fd);
	}
	r = entry_for(fs, parent, name, e);
out:
	end_new_entry(fs, &pn, path);
	return r;
}

/* Valid replies: fuse_reply_create, fuse_reply_err. */
static void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	int r = do_create(fs_of(req), parent, name, mode, fi, &e);

	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (fuse_reply_create(req, &e, fi) == -ENOENT)
		handle_free((struct handle *)(uintptr_t)fi->fh);
}

/* Valid replies: fuse_reply_entry, fuse_reply_err. */
static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct fuse_entry_param e;
	int r;

	if (!S_ISREG(mode)) {
		fs_of(req);
		fuse_reply_err(req, EPERM);
		return;
	}
	r = do_create(fs_of(req), parent, name, mode, NULL, &e);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

/* Stages a new directory or symlink at parent/name. */
static int do_make(struct fs *fs, fuse_ino_t parent, const char *name,
		   const struct vs_stage_entry *tmpl,
		   struct fuse_entry_param *e)
{
	struct vs_stage_entry se = *tmpl;
	struct fs_inode *p;
	struct hnode pn;
	struct vs_node bn;
	char *path;
	int r;

	r = begin_new_entry(fs, parent, name, &p, &pn, &path);
	if (r < 0)
		return r;
	/* Over a removed base entry, a new directory must hide its past. */
	if (se.type == VS_STAGE_DIR && pn.base_visible && pn.base.exists &&
	    tree_lookup(fs, &pn.base.root, path, &bn) == 0)
		se.flags |= VS_STAGE_OPAQUE;
	r = vs_staging_put(fs->s, p->head, base_of(&pn), path, &se, NULL);
	r = r < 0 ? -to_errno(r) : entry_for(fs, parent, name, e);
	end_new_entry(fs, &pn, path);
	return r;
}

/* Valid replies: fuse_reply_entry, fuse_reply_err. */
static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct vs_stage_entry se = { .type = VS_STAGE_DIR };
	struct fuse_entry_param e;
	int r = do_make(fs_of(req), parent, name, &se, &e);

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

/* Valid replies: fuse_reply_entry, fuse_reply_err. */
static void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct vs_stage_entry se = { .type = VS_STAGE_SYMLINK };
	struct fuse_entry_param e;
	int r;

	se.target = (char *)link;
	r = do_make(fs_of(req), parent, name, &se, &e);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

/*
 * Removes path (and anything staged below it) from the head; a whiteout
 * hides the base's entry if the base has one there.  head_lock held.
 */
static int stage_removal(struct fs *fs, struct fs_inode *p, const char *path,
			 const struct hnode *n)
{
	struct vs_stage_entry w = { .type = VS_STAGE_WHITEOUT };
	int r;

	r = vs_staging_remove(fs->s, p->head, path, NULL);
	if (r == 0 && n->in_base)
		r = vs_staging_put(fs->s, p->head, base_of(n), path, &w, NULL);
	return r < 0 ? -to_errno(r) : 0;
}

static int do_remove(struct fs *fs, fuse_ino_t parent, const char *name,
		     bool dir)
{
	struct fs_inode *p;
	struct hnode n;
	char *path;
	int r;

	r = writable_dir(fs, parent, &p);
	if (r < 0)
		return r;
	path = join(p->path, name);
	pthread_mutex_lock(&fs->head_lock);
	r = head_resolve(fs, p->head, path, &n);
	if (r < 0)
		goto out;
	if (!dir && n.type == VS_ENTRY_DIR)
		r = -EISDIR;
	else if (dir && n.type != VS_ENTRY_DIR)
		r = -ENOTDIR;
	if (r == 0 && dir) {
		/* Only an empty directory goes: list it as readdir would. */
		r = head_dir_empty(fs, p->head, path);
		r = r < 0 ? r : r ? 0 : -ENOTEMPTY;
	}
	if (r == 0)
		r = stage_removal(fs, p, path, &n);
	hnode_release(&n);
out:
	pthread_mutex_unlock(&fs->head_lock);
	free(path);
	return r;
}

/* Valid replies: fuse_reply_err. */
static void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -do_remove(fs_of(req), parent, name, false));
}

/* Valid replies: fuse_reply_err. */
static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -do_remove(fs_of(req), parent, name, true));
}

/*
 * A rename is staged as an entry at the destination naming the same
 * content plus a removal of the source.  Directories would need every
 * path below them rewritten: EXDEV, which mv handles by copying.
 */
static int do_rename(struct fs *fs, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname,
		     unsigned int flags)
{
	struct vs_stage_entry se = { 0 };
	struct fs_inode *p, *np;
	struct hnode n, dn;
	char *src, *dst;
	bool dst_exists;
	int r;

	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	r = writable_dir(fs, parent, &p);
	if (r == 0)
		r = writable_dir(fs, newparent, &np);
	if (r < 0)
		return r;
	if (!vs_name_valid(newname, strlen(newname)))
		return -EINVAL;
	if (strcmp(p->head->repo.full, np->head->repo.full) ||
	    strcmp(p->head->branch, np->head->branch))
		return -EXDEV;
	src = join(p->path, name);
	dst = join(np->path, newname);
	pthread_mutex_lock(&fs->head_lock);
	r = head_resolve(fs, p->head, src, &n);
	if (r < 0)
		goto out;
	if (n.type == VS_ENTRY_DIR) {
		r = -EXDEV;
		goto out_src;
	}
	r = head_resolve(fs, np->head, dst, &dn);
	dst_exists = r == 0;
	if (r < 0 && r != -ENOENT)
		goto out_src;
	r = 0;
	if (dst_exists) {
		if (flags & RENAME_NOREPLACE)
			r = -EEXIST;
		else if (dn.type == VS_ENTRY_DIR)
			r = -EISDIR;
		hnode_release(&dn);
		if (r < 0)
			goto out_src;
	}
	if (!strcmp(src, dst))
		goto out_src;
	if (n.staged) {
		se = n.se;
	} else if (n.type == VS_ENTRY_SYMLINK) {
		struct vs_buf b = VS_BUF_INIT;

		se.type = VS_STAGE_SYMLINK;
		r = vs_file_read_all(fs->s, &n.bn.id, &b, NULL);
		if (r < 0) {
			vs_buf_release(&b);
			r = -to_errno(r);
			goto out_src;
		}
		se.target = vs_buf_detach(&b, NULL);
	} else {
		se.type = VS_STAGE_REF;
		se.id = n.bn.id;
		se.size = n.bn.size;
		se.flags = n.type == VS_ENTRY_EXEC ? VS_STAGE_EXEC : 0;
	}
	r = vs_staging_put(fs->s, np->head, base_of(&n), dst, &se, NULL);
	r = r < 0 ? -to_errno(r) : 0;
	if (!n.staged)
		vs_stage_entry_release(&se);
	if (r == 0) {
		/* The source entry moved: do not let the removal drop the
		 * data file the destination now names. */
		r = vs_staging_remove(fs->s, p->head, src, NULL);
		if (r == 0 && n.in_base) {
			struct vs_stage_entry w = { .type =
							    VS_STAGE_WHITEOUT };

			r = vs_staging_put(fs->s, p->head, base_of(&n), src,
					   &w, NULL);
		}
		r = r < 0 ? -to_errno(r) : 0;
	}
out_src:
	hnode_release(&n);
out:
	pthread_mutex_unlock(&fs->head_lock);
	free(src);
	free(dst);
	return r;
}

/* Valid replies: fuse_reply_err. */
static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *np;
	int r = do_rename(fs, parent, name, newparent, newname, flags);

	/* The kernel keeps the inode: it now answers to the new path. */
	np = r == 0 ? fs_inode_get(fs, newparent) : NULL;
	if (np && np->kind == FS_HEAD) {
		char *path = join(np->path, newname);

		fs_inode_move(fs, parent, name, newparent, newname, path);
		free(path);
	}
	fuse_reply_err(req, -r);
}

static int do_setattr(struct fs *fs, struct fs_inode *i, struct stat *attr,
		      int to_set, struct fuse_file_info *fi)
{
	struct vs_stage_entry se;
	struct handle *h = fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
	struct hnode n;
	int r, fd = -1;

	if (!is_head(i) || fs->opts->read_only)
		return -EROFS;
	pthread_mutex_lock(&fs->head_lock);
	r = head_resolve(fs, i->head, i->path, &n);
	if (r < 0)
		goto out;
	if ((to_set & FUSE_SET_ATTR_SIZE)) {
		if (h && h->fd >= 0)
			fd = dup(h->fd);
		else
			r = stage_data(fs, i, &n, &fd);
		if (r == 0 && ftruncate(fd, attr->st_size) < 0)
			r = -errno;
		if (fd >= 0)
			close(fd);
		hnode_release(&n);
		if (r == 0)
			r = head_resolve(fs, i->head, i->path, &n);
		if (r < 0)
			goto out;
	}
	if ((to_set & FUSE_SET_ATTR_MODE) && n.type != VS_ENTRY_DIR &&
	    n.type != VS_ENTRY_SYMLINK &&
	    !!(attr->st_mode & S_IXUSR) != (n.type == VS_ENTRY_EXEC)) {
		if (n.staged) {
			se = n.se;
		} else {
			memset(&se, 0, sizeof(se));
			se.type = VS_STAGE_REF;
			se.id = n.bn.id;
			se.size = n.bn.size;
		}
		se.flags = (attr->st_mode & S_IXUSR) ? VS_STAGE_EXEC : 0;
		r = vs_staging_put(fs->s, i->head, base_of(&n), i->path, &se,
				   NULL);
		r = r < 0 ? -to_errno(r) : 0;
	}
	/* Times, owners and other mode bits are not part of a snapshot. */
	hnode_release(&n);
out:
	pthread_mutex_unlock(&fs->head_lock);
	return r;
}

/* Valid replies: fuse_reply_attr, fuse_reply_err. */
static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *i = fs_inode_get(fs, ino);
	struct stat st;
	double timeout;
	int r = i ? do_setattr(fs, i, attr, to_set, fi) : -ENOENT;

	if (r == 0)
		r = do_getattr(fs, i, &st, &timeout);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, timeout);
}

/* --- extended attributes, statfs ------------------------------------------ */

static int xattr_value(struct fs *fs, struct fs_inode *i, const char *name,
		       struct vs_buf *out)
{
	struct fs_head_base b;
	struct fs_cache_stats cs;
	struct fs_dircache_stats ds;
	char hex[VS_ID_HEXLEN + 1];

	/*
	 * No security labels here.  "Not supported" rather than "no such
	 * attribute": ls -l then stops asking for security.selinux after the
	 * first entry, instead of sending one request per entry (the kernel
	 * caches no xattr answer of a FUSE file system).
	 */
	if (!strncmp(name, "security.", 9) ||
	    !strncmp(name, "system.posix_acl_", 17))
		return -EOPNOTSUPP;
	if (i->kind == FS_ROOT && !strcmp(name, XATTR_STORE)) {
		vs_buf_addstr(out, fs->s->path);
		return 0;
	}
	if (i->kind == FS_ROOT && !strcmp(name, XATTR_STATS)) {
		fs_cache_stats(fs->cache, &cs);
		fs_dircache_stats(fs->dirs, &ds);
		vs_buf_addf(out, "requests=%llu cache_hits=%llu "
			    "cache_misses=%llu prefetched=%llu "
			    "cache_bytes=%llu tree_decodes=%llu "
			    "dir_hits=%llu dir_bytes=%llu inodes=%llu",
			    (unsigned long long)atomic_load(&fs->requests),
			    (unsigned long long)cs.hits,
			    (unsigned long long)cs.misses,
			    (unsigned long long)cs.prefetched,
			    (unsigned long long)cs.bytes,
			    (unsigned long long)ds.decodes,
			    (unsigned long long)ds.hits,
			    (unsigned long long)ds.bytes,
			    (unsigned long long)fs_inodes_count(fs));
		return 0;
	}
	if (i->kind == FS_SNAP && i->root) {
		if (!strcmp(name, XATTR_COMMIT)) {
			vs_buf_addstr(out, vs_id_to_hex(&i->root->commit, hex));
			return 0;
		}
		if (!strcmp(name, XATTR_REV)) {
			vs_buf_addstr(out, i->root->rev);
			return 0;
		}
	}
	if (i->kind == FS_HEAD && !*i->path) {
		if (!strcmp(name, XATTR_COMMIT)) {
			if (head_base(fs, i->head, &b) < 0 || !b.exists)
				return -ENODATA;
			vs_buf_addstr(out, vs_id_to_hex(&b.commit, hex));
			return 0;
		}
		if (!strcmp(name, XATTR_REV)) {
			vs_buf_addstr(out, i->head->branch);
			return 0;
		}
	}
	return -ENODATA;
}

/* Valid replies: fuse_reply_buf, fuse_reply_xattr, fuse_reply_err. */
static void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *i = fs_inode_get(fs, ino);
	struct vs_buf v = VS_BUF_INIT;
	int r = i ? xattr_value(fs, i, name, &v) : -ENOENT;

	if (r < 0)
		fuse_reply_err(req, -r);
	else if (size == 0)
		fuse_reply_xattr(req, v.len);
	else if (size < v.len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, v.data, v.len);
	vs_buf_release(&v);
}

/* Valid replies: fuse_reply_buf, fuse_reply_xattr, fuse_reply_err. */
static void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *i = fs_inode_get(fs, ino);
	static const char both[] = XATTR_COMMIT "\0" XATTR_REV;
	static const char stats[] = XATTR_STATS "\0" XATTR_STORE;
	const char *list = "";
	size_t len = 0;

	if (i && ((i->kind == FS_SNAP && i->root) ||
		  (i->kind == FS_HEAD && !*i->path))) {
		list = both;
		len = sizeof(both);
	} else if (i && i->kind == FS_ROOT) {
		list = stats;
		len = sizeof(stats);
	}
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, list, len);
}

/* Valid replies: fuse_reply_err. */
static void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *i = fs_inode_get(fs, ino);

	fuse_reply_err(req, i && is_head(i) && !fs->opts->read_only ? ENOTSUP
								    : EROFS);
}

/* Valid replies: fuse_reply_err. */
static void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fs_setxattr(req, ino, name, NULL, 0, 0);
}

/* Valid replies: fuse_reply_statfs, fuse_reply_err. */
static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct statvfs st;

	if (statvfs(fs->s->path, &st) < 0)
		memset(&st, 0, sizeof(st));
	st.f_namemax = VS_NAME_MAX;
	fuse_reply_statfs(req, &st);
}

/* --- session ----------------------------------------------------------------- */

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	conn->max_read = 1 << 20;
	conn->max_write = 1 << 20;
	conn->max_readahead = 1 << 20;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	/* The kernel then caches the absence of ACLs, which ls -l asks
	 * for on every file. */
	conn->want &= ~FUSE_CAP_POSIX_ACL;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* Changes come through this mount or are announced by fs_on_change;
	 * mtime changes must not drop snapshot pages. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	(void)fs;
}

struct change_match {
	const struct vs_repo *repo;
	const char *branch;
};

static bool change_matches(const struct fs_inode *i, void *arg)
{
	const struct change_match *m = arg;

	switch (i->kind) {
	case FS_KINDDIR:
	case FS_HIST_KIND:
		return i->rkind == m->repo->kind;
	case FS_HIST_REPO:
	case FS_HIST_LIST:
		return !strcmp(i->repo->full, m->repo->full);
	case FS_HEAD:
		return !strcmp(i->head->repo.full, m->repo->full) &&
		       (!m->branch || !strcmp(i->head->branch, m->branch));
	default:
		return false;
	}
}

void fs_on_change(void *arg, const struct vs_repo *r, const char *branch)
{
	struct fs *fs = arg;
	struct change_match m = { r, branch };
	fuse_ino_t *inos;
	size_t n, k;

	pthread_mutex_lock(&fs->lock);
	for (k = 0; k < fs->nbases; k++)
		if (!strcmp(fs->bases[k].head.repo.full, r->full))
			fs->bases[k].valid = false;
	pthread_mutex_unlock(&fs->lock);
	if (!fs->se)
		return;
	n = fs_inodes_match(fs, change_matches, &m, &inos);
	for (k = 0; k < n; k++) {
		struct fs_inode *i = fs_inode_get(fs, inos[k]);

		struct fs_dirstate *ds = i ? atomic_load(&i->dir) : NULL;

		if (ds) {
			pthread_mutex_lock(&ds->lock);
			fs_dents_clear(ds);
			pthread_mutex_unlock(&ds->lock);
		}
		fuse_lowlevel_notify_inval_inode(fs->se, inos[k], 0, 0);
	}
	free(inos);
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.forget = fs_forget,
	.forget_multi = fs_forget_multi,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.readlink = fs_readlink,
	.mknod = fs_mknod,
	.mkdir = fs_mkdir,
	.unlink = fs_unlink,
	.rmdir = fs_rmdir,
	.symlink = fs_symlink,
	.rename = fs_rename,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	/*
	 * No .flush: nothing is buffered here, writes reach the staging
	 * file before they are answered.  libfuse answers ENOSYS, and the
	 * kernel then stops sending a FLUSH on every close(): one round trip
	 * less per file read.
	 */
	.release = fs_release,
	.fsync = fs_fsync,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.readdirplus = fs_readdirplus,
	.statfs = fs_statfs,
	.setxattr = fs_setxattr,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.removexattr = fs_removexattr,
	.create = fs_create,
};
