/*
 * head.c - writable heads: what a path of a head is now (its base commit
 * overlaid with the staged changes of store/staging.c), and the changes
 * made through the mount: create, mkdir, symlink, unlink, rmdir, rename,
 * truncate and chmod.  Snapshots and the layout answer EROFS.
 */
#include "fs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banned.h"

char *fs_path_join(const char *dir, const char *name)
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
int fs_head_base_get(struct fs *fs, const struct vs_head *h,
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

void fs_hnode_release(struct fs_hnode *n)
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

int fs_head_resolve(struct fs *fs, const struct vs_head *h,
			const char *path, struct fs_hnode *n)
{
	struct vs_buf prefix = VS_BUF_INIT;
	struct vs_stage_entry e;
	const char *p;
	struct stat st;
	int r, fd;

	memset(n, 0, sizeof(*n));
	r = fs_head_base_get(fs, h, &n->base);
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
			return -fs_errno(r);
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
			fs_hnode_release(n);
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

/* Writes file object id into fd (the copy-up of a committed file). */
static int copy_content(struct fs *fs, const struct vs_id *id, int fd)
{
	struct vs_file f;
	size_t k;
	int r;

	r = vs_store_read_file(fs->s, id, &f, NULL);
	if (r < 0)
		return -fs_errno(r);
	if (f.inline_data && pwrite(fd, f.inline_data, f.size, 0) !=
				     (ssize_t)f.size)
		r = -EIO;
	for (k = 0; k < f.nchunks && r == 0; k++) {
		const struct fs_chunk *c;

		r = fs_cache_get(fs->cache, &f.chunks[k].id, &c, NULL);
		if (r < 0) {
			r = -fs_errno(r);
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

static const struct vs_id *base_of(const struct fs_hnode *n)
{
	return n->base.exists ? &n->base.commit : NULL;
}

/*
 * Makes sure path's content lives in a staged data file (copy-up on the
 * first write) and returns an fd to it.  Called with head_lock held.
 */
int fs_stage_data(struct fs *fs, struct fs_inode *i, struct fs_hnode *n,
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
		return -fs_errno(r);
	r = copy_content(fs, n->staged ? &n->se.id : &n->bn.id, fd);
	if (r == 0) {
		e.datafile = num;
		e.flags = n->type == VS_ENTRY_EXEC ? VS_STAGE_EXEC : 0;
		r = vs_staging_put(fs->s, i->head, base_of(n), i->path, &e,
				   NULL);
		r = r < 0 ? -fs_errno(r) : 0;
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	*fd_out = fd;
	return 0;
}

/* --- changing writable heads ---------------------------------------------- */

/* The head inode that may be changed, or an errno: EROFS elsewhere. */
static int writable_dir(struct fs *fs, fuse_ino_t ino, struct fs_inode **out)
{
	struct fs_inode *i = fs_inode_get(fs, ino);

	if (!i)
		return -ENOENT;
	if (!fs_is_head(i) || fs->opts->read_only)
		return -EROFS;
	*out = i;
	return 0;
}

/* Entry reply for a just-created child. */
static int entry_for(struct fs *fs, fuse_ino_t parent, const char *name,
		     struct fuse_entry_param *e)
{
	return fs_do_lookup(fs, parent, name, e);
}

/*
 * The start of every operation that adds parent/name to a head: the parent
 * must be a writable directory of a head and the name valid and free.  On
 * success returns 0 with fs->head_lock held and *p, *pn (the parent's
 * state) and *path (malloc'ed) filled; end_new_entry() releases them.  On
 * failure nothing is held.
 */
static int begin_new_entry(struct fs *fs, fuse_ino_t parent, const char *name,
			   struct fs_inode **p, struct fs_hnode *pn, char **path)
{
	struct fs_hnode n;
	int r;

	r = writable_dir(fs, parent, p);
	if (r < 0)
		return r;
	if (!vs_name_valid(name, strlen(name)))
		return -EINVAL;
	pthread_mutex_lock(&fs->head_lock);
	r = fs_head_resolve(fs, (*p)->head, (*p)->path, pn);
	if (r == 0 && pn->type != VS_ENTRY_DIR) {
		fs_hnode_release(pn);
		r = -ENOTDIR;
	}
	if (r < 0) {
		pthread_mutex_unlock(&fs->head_lock);
		return r;
	}
	*path = fs_path_join((*p)->path, name);
	if (fs_head_resolve(fs, (*p)->head, *path, &n) == 0) {
		fs_hnode_release(&n);
		fs_hnode_release(pn);
		pthread_mutex_unlock(&fs->head_lock);
		free(*path);
		return -EEXIST;
	}
	return 0;
}

static void end_new_entry(struct fs *fs, struct fs_hnode *pn, char *path)
{
	fs_hnode_release(pn);
	pthread_mutex_unlock(&fs->head_lock);
	free(path);
}

int fs_do_create(struct fs *fs, fuse_ino_t parent, const char *name,
		     mode_t mode, struct fuse_file_info *fi,
		     struct fuse_entry_param *e)
{
	struct vs_stage_entry se = { .type = VS_STAGE_DATA };
	struct fs_inode *p;
	struct fs_hnode pn;
	struct fs_handle *h;
	uint64_t num;
	char *path;
	int r, fd;

	r = begin_new_entry(fs, parent, name, &p, &pn, &path);
	if (r < 0)
		return r;
	r = vs_staging_new_datafile(fs->s, &num, &fd, NULL);
	if (r < 0) {
		r = -fs_errno(r);
		goto out;
	}
	se.datafile = num;
	se.flags = (mode & S_IXUSR) ? VS_STAGE_EXEC : 0;
	r = vs_staging_put(fs->s, p->head, base_of(&pn), path, &se, NULL);
	if (r < 0) {
		close(fd);
		r = -fs_errno(r);
		goto out;
	}
	if (fi) {
		h = fs_handle_new();
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

/* Stages a new directory or symlink at parent/name. */
int fs_do_make(struct fs *fs, fuse_ino_t parent, const char *name,
		   const struct vs_stage_entry *tmpl,
		   struct fuse_entry_param *e)
{
	struct vs_stage_entry se = *tmpl;
	struct fs_inode *p;
	struct fs_hnode pn;
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
	r = r < 0 ? -fs_errno(r) : entry_for(fs, parent, name, e);
	end_new_entry(fs, &pn, path);
	return r;
}

/*
 * Removes path (and anything staged below it) from the head; a whiteout
 * hides the base's entry if the base has one there.  head_lock held.
 */
static int stage_removal(struct fs *fs, struct fs_inode *p, const char *path,
			 const struct fs_hnode *n)
{
	struct vs_stage_entry w = { .type = VS_STAGE_WHITEOUT };
	int r;

	r = vs_staging_remove(fs->s, p->head, path, NULL);
	if (r == 0 && n->in_base)
		r = vs_staging_put(fs->s, p->head, base_of(n), path, &w, NULL);
	return r < 0 ? -fs_errno(r) : 0;
}

int fs_do_remove(struct fs *fs, fuse_ino_t parent, const char *name,
		     bool dir)
{
	struct fs_inode *p;
	struct fs_hnode n;
	char *path;
	int r;

	r = writable_dir(fs, parent, &p);
	if (r < 0)
		return r;
	path = fs_path_join(p->path, name);
	pthread_mutex_lock(&fs->head_lock);
	r = fs_head_resolve(fs, p->head, path, &n);
	if (r < 0)
		goto out;
	if (!dir && n.type == VS_ENTRY_DIR)
		r = -EISDIR;
	else if (dir && n.type != VS_ENTRY_DIR)
		r = -ENOTDIR;
	if (r == 0 && dir) {
		/* Only an empty directory goes: list it as readdir would. */
		r = fs_head_dir_empty(fs, p->head, path);
		r = r < 0 ? r : r ? 0 : -ENOTEMPTY;
	}
	if (r == 0)
		r = stage_removal(fs, p, path, &n);
	fs_hnode_release(&n);
out:
	pthread_mutex_unlock(&fs->head_lock);
	free(path);
	return r;
}

/*
 * A rename is staged as an entry at the destination naming the same
 * content plus a removal of the source.  Directories would need every
 * path below them rewritten: EXDEV, which mv handles by copying.
 */
static int rename_entry(struct fs *fs, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname,
		     unsigned int flags)
{
	struct vs_stage_entry se = { 0 };
	struct fs_inode *p, *np;
	struct fs_hnode n, dn;
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
	src = fs_path_join(p->path, name);
	dst = fs_path_join(np->path, newname);
	pthread_mutex_lock(&fs->head_lock);
	r = fs_head_resolve(fs, p->head, src, &n);
	if (r < 0)
		goto out;
	if (n.type == VS_ENTRY_DIR) {
		r = -EXDEV;
		goto out_src;
	}
	r = fs_head_resolve(fs, np->head, dst, &dn);
	dst_exists = r == 0;
	if (r < 0 && r != -ENOENT)
		goto out_src;
	r = 0;
	if (dst_exists) {
		if (flags & RENAME_NOREPLACE)
			r = -EEXIST;
		else if (dn.type == VS_ENTRY_DIR)
			r = -EISDIR;
		fs_hnode_release(&dn);
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
			r = -fs_errno(r);
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
	r = r < 0 ? -fs_errno(r) : 0;
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
		r = r < 0 ? -fs_errno(r) : 0;
	}
out_src:
	fs_hnode_release(&n);
out:
	pthread_mutex_unlock(&fs->head_lock);
	free(src);
	free(dst);
	return r;
}

int fs_do_rename(struct fs *fs, fuse_ino_t parent, const char *name,
		 fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fs_inode *np;
	int r = rename_entry(fs, parent, name, newparent, newname, flags);

	/* The kernel keeps the inode: it now answers to the new path. */
	np = r == 0 ? fs_inode_get(fs, newparent) : NULL;
	if (np && np->kind == FS_HEAD) {
		char *path = fs_path_join(np->path, newname);

		fs_inode_move(fs, parent, name, newparent, newname, path);
		free(path);
	}
	return r;
}

static int change_attrs(struct fs *fs, struct fs_inode *i, struct stat *attr,
			int to_set, struct fuse_file_info *fi)
{
	struct vs_stage_entry se;
	struct fs_handle *h = fi ? (struct fs_handle *)(uintptr_t)fi->fh : NULL;
	struct fs_hnode n;
	int r, fd = -1;

	if (!fs_is_head(i) || fs->opts->read_only)
		return -EROFS;
	pthread_mutex_lock(&fs->head_lock);
	r = fs_head_resolve(fs, i->head, i->path, &n);
	if (r < 0)
		goto out;
	if ((to_set & FUSE_SET_ATTR_SIZE)) {
		if (h && h->fd >= 0)
			fd = dup(h->fd);
		else
			r = fs_stage_data(fs, i, &n, &fd);
		if (r == 0 && ftruncate(fd, attr->st_size) < 0)
			r = -errno;
		if (fd >= 0)
			close(fd);
		fs_hnode_release(&n);
		if (r == 0)
			r = fs_head_resolve(fs, i->head, i->path, &n);
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
		r = r < 0 ? -fs_errno(r) : 0;
	}
	/* Times, owners and other mode bits are not part of a snapshot. */
	fs_hnode_release(&n);
out:
	pthread_mutex_unlock(&fs->head_lock);
	return r;
}

int fs_do_setattr(struct fs *fs, fuse_ino_t ino, struct stat *attr,
		  int to_set, struct fuse_file_info *fi, struct stat *st,
		  double *timeout)
{
	struct fs_inode *i = fs_inode_get(fs, ino);
	int r = i ? change_attrs(fs, i, attr, to_set, fi) : -ENOENT;

	return r < 0 ? r : fs_do_getattr(fs, i, st, timeout);
}
