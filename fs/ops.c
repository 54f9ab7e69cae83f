/*
 * ops.c - the FUSE low-level operations table and its wrappers.
 *
 * Each wrapper is thin: it calls the do_ function of its concern, which
 * returns 0 or a negative errno and replies to nothing, and then replies
 * exactly once.  The concerns live in their own files: view.c (the
 * namespace and history views, lookups, attributes), dir.c (listings),
 * file.c (open files), head.c (changes to writable heads), xattr.c
 * (extended attributes, statfs).
 */
#include "fs_int.h"

#include <stdlib.h>
#include <string.h>

#include "banned.h"

static struct fs *fs_of(fuse_req_t req)
{
	struct fs *fs = fuse_req_userdata(req);

	atomic_fetch_add(&fs->requests, 1);
	return fs;
}

static struct fs_handle *handle_of(const struct fuse_file_info *fi)
{
	return (struct fs_handle *)(uintptr_t)fi->fh;
}

static void reply_entry(fuse_req_t req, int r, const struct fuse_entry_param *e)
{
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, e);
}

static void reply_attr(fuse_req_t req, int r, const struct stat *st,
		       double timeout)
{
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, st, timeout);
}

/* --- names and attributes ------------------------------------------------- */

/* Valid replies: fuse_reply_entry, fuse_reply_err. */
static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	reply_entry(req, fs_do_lookup(fs_of(req), parent, name, &e), &e);
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
	double timeout = 0;
	int r = i ? fs_do_getattr(fs, i, &st, &timeout) : -ENOENT;

	reply_attr(req, r, &st, timeout);
}

/* Valid replies: fuse_reply_attr, fuse_reply_err. */
static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct stat st;
	double timeout = 0;
	int r = fs_do_setattr(fs_of(req), ino, attr, to_set, fi, &st, &timeout);

	reply_attr(req, r, &st, timeout);
}

/* Valid replies: fuse_reply_readlink, fuse_reply_err. */
static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct vs_buf target = VS_BUF_INIT;
	int r = fs_do_readlink(fs_of(req), ino, &target);

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_readlink(req, target.data);
	vs_buf_release(&target);
}

/* --- directories -------------------------------------------------------- */

/* Valid replies: fuse_reply_err (ENOSYS: the kernel then caches listings
 * and stops sending opendir/releasedir). */
static void fs_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	fs_of(req);
	fuse_reply_err(req, ENOSYS);
}

static void readdir_reply(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, bool plus)
{
	struct fs_dirbuf b = {
		.fs = fs_of(req), .req = req, .ino = ino, .plus = plus,
		.size = size,
	};
	int r;

	b.buf = malloc(size);
	if (!b.buf)
		abort();
	r = fs_do_readdir(&b, off);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, b.buf, b.used);
	free(b.buf);
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

/* --- files ---------------------------------------------------------------- */

/* Valid replies: fuse_reply_open, fuse_reply_err. */
static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int r = fs_do_open(fs_of(req), ino, fi);

	if (r < 0)
		fuse_reply_err(req, -r);
	else if (fuse_reply_open(req, fi) == -ENOENT)
		fs_handle_free(handle_of(fi));	/* the opener is gone */
}

/* Valid replies: fuse_reply_err. */
static void fs_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	fs_of(req);
	fs_handle_free(handle_of(fi));
	fuse_reply_err(req, 0);
}

/* Valid replies: fuse_reply_buf, fuse_reply_iov, fuse_reply_err. */
static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_read_reply rr;
	int r = fs_do_read(fs, handle_of(fi), size, off, &rr);

	if (r < 0)
		fuse_reply_err(req, -r);
	else if (rr.n == 0)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_iov(req, rr.iov, rr.n);
	fs_read_reply_release(fs, &rr, r == 0);
}

/* Valid replies: fuse_reply_write, fuse_reply_err. */
static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	size_t n = 0;
	int r;

	fs_of(req);
	r = fs_do_write(handle_of(fi), buf, size, off, &n);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, n);
}

/* Valid replies: fuse_reply_err. */
static void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	fs_of(req);
	fuse_reply_err(req, -fs_do_fsync(handle_of(fi), datasync));
}

/* --- changes to writable heads -------------------------------------------- */

/* Valid replies: fuse_reply_create, fuse_reply_err. */
static void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	int r = fs_do_create(fs_of(req), parent, name, mode, fi, &e);

	if (r < 0)
		fuse_reply_err(req, -r);
	else if (fuse_reply_create(req, &e, fi) == -ENOENT)
		fs_handle_free(handle_of(fi));	/* the creator is gone */
}

/* Valid replies: fuse_reply_entry, fuse_reply_err. */
static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct fs *fs = fs_of(req);
	struct fuse_entry_param e;
	int r = -EPERM;

	if (S_ISREG(mode))
		r = fs_do_create(fs, parent, name, mode, NULL, &e);
	reply_entry(req, r, &e);
}

/* Valid replies: fuse_reply_entry, fuse_reply_err. */
static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct vs_stage_entry se = { .type = VS_STAGE_DIR };
	struct fuse_entry_param e;

	reply_entry(req, fs_do_make(fs_of(req), parent, name, &se, &e), &e);
}

/* Valid replies: fuse_reply_entry, fuse_reply_err. */
static void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct vs_stage_entry se = { .type = VS_STAGE_SYMLINK };
	struct fuse_entry_param e;

	se.target = (char *)link;
	reply_entry(req, fs_do_make(fs_of(req), parent, name, &se, &e), &e);
}

/* Valid replies: fuse_reply_err. */
static void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -fs_do_remove(fs_of(req), parent, name, false));
}

/* Valid replies: fuse_reply_err. */
static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -fs_do_remove(fs_of(req), parent, name, true));
}

/* Valid replies: fuse_reply_err. */
static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	fuse_reply_err(req, -fs_do_rename(fs_of(req), parent, name, newparent,
					  newname, flags));
}

/* --- extended attributes, statfs ------------------------------------------ */

/* Valid replies: fuse_reply_buf, fuse_reply_xattr, fuse_reply_err. */
static void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct vs_buf v = VS_BUF_INIT;
	int r = fs_do_getxattr(fs_of(req), ino, name, &v);

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
	const char *list;
	size_t len;
	int r = fs_do_listxattr(fs_of(req), ino, &list, &len);

	if (r < 0)
		fuse_reply_err(req, -r);
	else if (size == 0)
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
	fuse_reply_err(req, -fs_do_setxattr(fs_of(req), ino));
}

/* Valid replies: fuse_reply_err. */
static void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, -fs_do_setxattr(fs_of(req), ino));
}

/* Valid replies: fuse_reply_statfs, fuse_reply_err. */
static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st;
	int r = fs_do_statfs(fs_of(req), &st);

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_statfs(req, &st);
}

/* --- session ----------------------------------------------------------------- */

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	conn->max_read = 1 << 20;
	conn->max_write = 1 << 20;
	conn->max_readahead = 1 << 20;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	/*
	 * No ACLs: with them the kernel would cache their absence but forget
	 * it whenever a listing refreshes an inode, and ls -l would ask again
	 * for every entry.  Without, the daemon answers "not supported"
	 * (xattr.c) and ls stops asking after the first.
	 */
	conn->want &= ~FUSE_CAP_POSIX_ACL;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* Changes come through this mount or are announced by fs_on_change;
	 * mtime changes must not drop snapshot pages. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
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
