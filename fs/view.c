/*
 * view.c - the namespace and history views of the mount: the layout's own
 * directories, snapshots named by revision, writable heads' paths and the
 * history listing; looking names up in them, their attributes, symlinks,
 * and dropping what was cached when a ref moves.
 */
#include "fs_int.h"

#include <stdlib.h>
#include <string.h>

#include "banned.h"

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
int fs_do_getattr(struct fs *fs, struct fs_inode *i, struct stat *st,
		      double *timeout)
{
	struct fs_hnode n;
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
		r = fs_head_resolve(fs, i->head, i->path, &n);
		if (r < 0)
			return r;
		st->st_mode = mode_of(n.type, !fs->opts->read_only);
		st->st_size = n.type == VS_ENTRY_DIR ? 0 : n.size;
		if (n.type == VS_ENTRY_DIR)
			st->st_nlink = 2;
		set_time(st, n.mtime);
		fs_hnode_release(&n);
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
void fs_ref_encode(struct vs_buf *out, const char *name)
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
			       : -fs_errno(r);
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
	return r < 0 ? -fs_errno(r) : 0;
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
void fs_snap_child(const struct fs_inode *p, const struct vs_tree_entry *e,
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
int fs_lookup_child(struct fs *fs, struct fs_inode *p, const char *name,
			struct fs_inode *t, double *entry_timeout)
{
	const struct vs_tree_entry *e;
	const struct fs_dir *d;
	struct fs_hnode n;
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
			return -fs_errno(r);
		e = fs_dir_find(d, name, strlen(name), &pos);
		if (e)
			fs_snap_child(p, e, pos, t);
		fs_dircache_put(fs->dirs, d);
		return e ? 0 : -ENOENT;
	case FS_HEAD:
		tmpl_init(t, FS_HEAD);
		t->head = p->head;
		t->path = fs_path_join(p->path, name);
		r = fs_head_resolve(fs, p->head, t->path, &n);
		fs_hnode_release(&n);
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
int fs_entry_reply(struct fs *fs, fuse_ino_t parent, const char *name,
		       struct fs_inode *t, double etimeout,
		       struct fuse_entry_param *e)
{
	struct fs_inode *i;
	double atimeout;
	int r;

	memset(e, 0, sizeof(*e));
	i = fs_inode_publish(fs, parent, name, t);
	r = fs_do_getattr(fs, i, &e->attr, &atimeout);
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
int fs_do_lookup(struct fs *fs, fuse_ino_t parent, const char *name,
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
	r = fs_lookup_child(fs, p, name, &t, &etimeout);
	if (r < 0)
		return r;
	return fs_entry_reply(fs, parent, name, &t, etimeout, e);
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

int fs_do_readlink(struct fs *fs, fuse_ino_t ino, struct vs_buf *out)
{
	struct fs_inode *i = fs_inode_get(fs, ino);
	struct fs_hnode n;
	struct vs_id id;
	int r = -EINVAL;

	if (!i)
		return -ENOENT;
	if (i->kind == FS_LINK) {
		vs_buf_addstr(out, i->target);
		return 0;
	}
	if (i->kind == FS_SNAP && i->type == VS_ENTRY_SYMLINK) {
		id = i->id;
		r = 0;
	} else if (i->kind == FS_HEAD) {
		r = fs_head_resolve(fs, i->head, i->path, &n);
		if (r == 0 && n.type != VS_ENTRY_SYMLINK)
			r = -EINVAL;
		if (r == 0 && n.staged) {
			vs_buf_addstr(out, n.se.target);
			fs_hnode_release(&n);
			return 0;
		}
		if (r == 0)
			id = n.bn.id;
		fs_hnode_release(&n);
	}
	if (r == 0) {
		r = vs_file_read_all(fs->s, &id, out, NULL);
		r = r < 0 ? -fs_errno(r) : 0;
	}
	return r;
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
