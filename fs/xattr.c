/*
 * xattr.c - extended attributes (user.varve.*) and statfs.
 */
#include "fs_int.h"

#include <string.h>

#include "banned.h"

#define XATTR_COMMIT "user.varve.commit"
#define XATTR_REV "user.varve.rev"
#define XATTR_STATS "user.varve.stats"
#define XATTR_STORE "user.varve.store"

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
		vs_buf_addstr(out, vs_store_path(fs->s));
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
			if (fs_head_base_get(fs, i->head, &b) < 0 || !b.exists)
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
int fs_do_getxattr(struct fs *fs, fuse_ino_t ino, const char *name,
		   struct vs_buf *value)
{
	struct fs_inode *i = fs_inode_get(fs, ino);

	return i ? xattr_value(fs, i, name, value) : -ENOENT;
}

int fs_do_listxattr(struct fs *fs, fuse_ino_t ino, const char **list,
		    size_t *len)
{
	static const char both[] = XATTR_COMMIT "\0" XATTR_REV;
	static const char stats[] = XATTR_STATS "\0" XATTR_STORE;
	struct fs_inode *i = fs_inode_get(fs, ino);

	*list = "";
	*len = 0;
	if (!i)
		return -ENOENT;
	if ((i->kind == FS_SNAP && i->root) ||
	    (i->kind == FS_HEAD && !*i->path)) {
		*list = both;
		*len = sizeof(both);
	} else if (i->kind == FS_ROOT) {
		*list = stats;
		*len = sizeof(stats);
	}
	return 0;
}

int fs_do_setxattr(struct fs *fs, fuse_ino_t ino)
{
	struct fs_inode *i = fs_inode_get(fs, ino);

	return i && fs_is_head(i) && !fs->opts->read_only ? -ENOTSUP : -EROFS;
}

int fs_do_statfs(struct fs *fs, struct statvfs *st)
{
	if (statvfs(vs_store_path(fs->s), st) < 0)
		memset(st, 0, sizeof(*st));
	st->f_namemax = VS_NAME_MAX;
	return 0;
}
