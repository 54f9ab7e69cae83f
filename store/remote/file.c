/*
 * file.c - the file:// transport: a remote that is a directory (a shared
 * file system, a test).  Key K of file:///PATH is the file PATH/K.
 *
 * DESIGN NOTES
 *  1. A put writes a temporary file beside its target, fsyncs it, renames
 *     it over the target and fsyncs the directory (vs_write_file_atomic):
 *     a reader opens either the old file or the new one, never a part.
 *     Directories are made as keys need them and never removed.
 *  2. Conditional puts (VS_PUT_IF_ABSENT, if_match) check and write while
 *     holding an exclusive flock on PATH/.varve-lock, so two of them, from
 *     any threads or processes on any host whose file system honours
 *     flock (local ones; NFS through its POSIX locks), are serialised.
 *     Unconditional puts take no lock: the protocol only ever puts
 *     content-named objects (packs, manifests, the format marker)
 *     unconditionally, so racing writers write the same bytes.
 *  3. The etag is "<inode>-<size>-<mtime ns>-<ctime ns>" in hex: every put
 *     renames a new inode into place, so it changes with every put, even
 *     of equal bytes.
 *  4. Names starting with '.' are the transport's own (the lock, the
 *     temporary files): a key with such a component is refused, and
 *     listings skip them.  Listings are in byte order of the keys.
 *  5. Every handle holds only its paths, which never change: any number of
 *     threads may use it at once (transport.h note 4).
 */
#include "transport.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "xalloc.h"
#include "banned.h"

#define LOCK_NAME ".varve-lock"

struct vs_transport {
	const struct vs_transport_ops *ops;	/* first (transport.c) */
	char *root;		/* absolute, no trailing '/' (but "/") */
	char *url;		/* for messages */
};

static char *key_path(const struct vs_transport *t, const char *key)
{
	struct vs_buf p = VS_BUF_INIT;

	vs_buf_addf(&p, "%s%s%s", t->root, strcmp(t->root, "/") ? "/" : "",
		    key);
	return vs_buf_detach(&p, NULL);
}

/* Note 4: no component of key starts with '.'. */
static bool key_ours(const char *key)
{
	const char *p = key;

	for (;;) {
		if (*p == '.')
			return false;
		p = strchr(p, '/');
		if (!p)
			return true;
		p++;
	}
}

static int file_open(const struct vs_remote_config *cfg,
		     struct vs_transport **out, struct vs_error *err)
{
	const char *url = cfg->url ? cfg->url : "";
	struct vs_transport *t;
	struct stat st;
	size_t n;

	if (strncmp(url, "file://", 7) || url[7] != '/')
		return vs_error_set(err, VS_E_INVAL,
				    "'%s' is not a file:// URL with an "
				    "absolute path (file:///PATH)", url);
	t = vs_xcalloc(1, sizeof(*t));
	t->ops = &vs_transport_file;
	t->url = vs_xstrdup(url);
	t->root = vs_xstrdup(url + 7);
	n = strlen(t->root);
	while (n > 1 && t->root[n - 1] == '/')
		t->root[--n] = '\0';
	if (stat(t->root, &st) == 0 && !S_ISDIR(st.st_mode)) {
		vs_error_set(err, VS_E_INVAL, "remote '%s' is not a directory",
			     url);
		free(t->root);
		free(t->url);
		free(t);
		return VS_E_INVAL;
	}
	*out = t;
	return 0;
}

static void file_free(struct vs_transport *t)
{
	if (!t)
		return;
	free(t->root);
	free(t->url);
	free(t);
}

static void etag_of(const struct stat *st, struct vs_obj_info *info)
{
	if (!info)
		return;
	info->size = (uint64_t)st->st_size;
	snprintf(info->etag, sizeof(info->etag), "%llx-%llx-%llx.%lx-%llx.%lx",
		 (unsigned long long)st->st_ino,
		 (unsigned long long)st->st_size,
		 (unsigned long long)st->st_mtim.tv_sec,
		 (unsigned long)st->st_mtim.tv_nsec,
		 (unsigned long long)st->st_ctim.tv_sec,
		 (unsigned long)st->st_ctim.tv_nsec);
}

static int io_error(struct vs_transport *t, const char *what, const char *key,
		    int e, struct vs_error *err)
{
	return vs_error_set(err, VS_E_REMOTE, "cannot %s '%s' in remote '%s' "
			    "(%s)", what, key, t->url, strerror(e));
}

static int file_get(struct vs_transport *t, const char *key, uint64_t off,
		    uint64_t len, struct vs_buf *out, struct vs_obj_info *info,
		    struct vs_error *err)
{
	char *path;
	struct stat st;
	size_t done = 0, base;
	int fd, r = 0;

	if (!key_ours(key))
		return vs_error_set(err, VS_E_INVAL, "file:// keys may not "
				    "start a name with '.' ('%s')", key);
	path = key_path(t, key);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR)
			return vs_error_set(err, VS_E_NOTFOUND, "'%s' is not "
					    "in remote '%s'", key, t->url);
		return io_error(t, "read", key, errno, err);
	}
	if (fstat(fd, &st) < 0) {
		r = io_error(t, "read", key, errno, err);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = vs_error_set(err, VS_E_NOTFOUND, "'%s' is not in remote "
				 "'%s'", key, t->url);
		goto out;
	}
	if (off > (uint64_t)st.st_size ||
	    (len && len > (uint64_t)st.st_size - off)) {
		r = vs_error_set(err, VS_E_INVAL, "bytes %llu+%llu are past "
				 "the end of '%s' in remote '%s' (%llu bytes)",
				 (unsigned long long)off,
				 (unsigned long long)len, key, t->url,
				 (unsigned long long)st.st_size);
		goto out;
	}
	if (!len)
		len = (uint64_t)st.st_size - off;
	base = out->len;
	vs_buf_grow(out, (size_t)len);
	while (done < len) {
		ssize_t n = pread(fd, out->data + base + done,
				  (size_t)len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = io_error(t, "read", key, n < 0 ? errno : EIO, err);
			vs_buf_setlen(out, base);
			goto out;
		}
		done += (size_t)n;
	}
	vs_buf_setlen(out, base + done);
	etag_of(&st, info);
out:
	close(fd);
	return r;
}

/* mkdir -p of the directories above path (which lies below t->root). */
static int make_parents(struct vs_transport *t, const char *path)
{
	char *copy = vs_xstrdup(path), *p;
	size_t rootlen = strlen(t->root);
	int r = 0;

	for (p = copy + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if ((size_t)(p - copy) >= rootlen &&
		    mkdir(copy, 0755) < 0 && errno != EEXIST) {
			r = -errno;
			break;
		}
		*p = '/';
	}
	free(copy);
	return r;
}

/* Takes the lock of note 2; an fd to close, or -errno. */
static int lock_take(struct vs_transport *t)
{
	char *path = key_path(t, LOCK_NAME);
	int fd, e;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT) {
		if (make_parents(t, path) == 0 &&
		    (mkdir(t->root, 0755) == 0 || errno == EEXIST))
			fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	}
	e = errno;
	free(path);
	if (fd < 0)
		return -e;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			e = errno;
			close(fd);
			return -e;
		}
	}
	return fd;
}

static int file_put(struct vs_transport *t, const char *key, const void *data,
		    size_t len, unsigned flags, const char *if_match,
		    struct vs_obj_info *info, struct vs_error *err)
{
	bool cond = (flags & VS_PUT_IF_ABSENT) || if_match;
	char *path;
	struct stat st;
	int lock = -1, r;

	if (!key_ours(key))
		return vs_error_set(err, VS_E_INVAL, "file:// keys may not "
				    "start a name with '.' ('%s')", key);
	path = key_path(t, key);
	r = make_parents(t, path);
	if (r < 0) {
		r = io_error(t, "write", key, -r, err);
		goto out;
	}
	if (cond) {
		lock = lock_take(t);
		if (lock < 0) {
			r = io_error(t, "lock for writing", key, -lock, err);
			goto out;
		}
		r = stat(path, &st);
		if (r < 0 && errno != ENOENT) {
			r = io_error(t, "write", key, errno, err);
			goto out;
		}
		if ((flags & VS_PUT_IF_ABSENT) && r == 0) {
			r = vs_error_set(err, VS_E_CONFLICT, "'%s' already "
					 "exists in remote '%s'", key, t->url);
			goto out;
		}
		if (if_match) {
			struct vs_obj_info cur;

			if (r == 0)
				etag_of(&st, &cur);
			if (r < 0 || strcmp(cur.etag, if_match)) {
				r = vs_error_set(err, VS_E_CONFLICT, "'%s' in "
						 "remote '%s' has changed",
						 key, t->url);
				goto out;
			}
		}
	}
	r = vs_write_file_atomic(path, data, len, 0644);
	if (r < 0) {
		r = io_error(t, "write", key, -r, err);
		goto out;
	}
	if (info) {
		if (stat(path, &st) < 0) {
			r = io_error(t, "write", key, errno, err);
			goto out;
		}
		etag_of(&st, info);
	}
	r = 0;
out:
	if (lock >= 0)
		close(lock);
	free(path);
	return r;
}

static int file_head(struct vs_transport *t, const char *key,
		     struct vs_obj_info *info, struct vs_error *err)
{
	struct vs_obj_info tmp;
	struct stat st;
	char *path;
	int r = 0;

	if (!key_ours(key))
		return vs_error_set(err, VS_E_INVAL, "file:// keys may not "
				    "start a name with '.' ('%s')", key);
	path = key_path(t, key);
	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			r = vs_error_set(err, VS_E_NOTFOUND, "'%s' is not in "
					 "remote '%s'", key, t->url);
		else
			r = io_error(t, "read", key, errno, err);
	} else if (!S_ISREG(st.st_mode)) {
		r = vs_error_set(err, VS_E_NOTFOUND, "'%s' is not in remote "
				 "'%s'", key, t->url);
	} else {
		etag_of(&st, info ? info : &tmp);
	}
	free(path);
	return r;
}

struct listed {
	char *key;
	uint64_t size;
};

struct listing {
	struct listed *items;
	size_t n, alloc;
};

static void listing_add(struct listing *l, const char *key, uint64_t size)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 64;
		l->items = vs_xreallocarray(l->items, l->alloc,
					    sizeof(*l->items));
	}
	l->items[l->n].key = vs_xstrdup(key);
	l->items[l->n++].size = size;
}

/*
 * Adds the files below the directory of key rel (a directory's key, "" for
 * the root) whose keys start with prefix.  0 or -errno.
 */
static int list_dir(struct vs_transport *t, struct vs_buf *rel,
		    const char *prefix, struct listing *l)
{
	size_t base = rel->len, plen = strlen(prefix);
	struct dirent *de;
	char *path;
	DIR *d;
	int r = 0;

	path = rel->len ? key_path(t, rel->data) : vs_xstrdup(t->root);
	d = opendir(path);
	free(path);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		size_t cmp;

		if (de->d_name[0] == '.')
			continue;
		vs_buf_setlen(rel, base);
		if (base)
			vs_buf_addch(rel, '/');
		vs_buf_addstr(rel, de->d_name);
		/* Only what can still lead to the prefix. */
		cmp = rel->len < plen ? rel->len : plen;
		if (strncmp(rel->data, prefix, cmp))
			continue;
		path = key_path(t, rel->data);
		r = lstat(path, &st);
		free(path);
		if (r < 0) {
			if (errno == ENOENT)
				continue;
			r = -errno;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			r = list_dir(t, rel, prefix, l);
			if (r < 0)
				break;
		} else if (S_ISREG(st.st_mode) && rel->len >= plen) {
			listing_add(l, rel->data, (uint64_t)st.st_size);
		}
		r = 0;
	}
	closedir(d);
	vs_buf_setlen(rel, base);
	return r;
}

static int listed_cmp(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;

	return strcmp(x->key, y->key);
}

static int file_list(struct vs_transport *t, const char *prefix,
		     int (*fn)(void *arg, const char *key, uint64_t size),
		     void *arg, struct vs_error *err)
{
	struct vs_buf rel = VS_BUF_INIT;
	struct listing l = { 0 };
	const char *slash = strrchr(prefix, '/');
	size_t i;
	int r;

	/* Start in the deepest directory the prefix names. */
	if (slash)
		vs_buf_add(&rel, prefix, (size_t)(slash - prefix));
	r = list_dir(t, &rel, prefix, &l);
	if (r < 0) {
		r = vs_error_set(err, VS_E_REMOTE, "cannot list '%s' in remote "
				 "'%s' (%s)", prefix, t->url, strerror(-r));
		goto out;
	}
	if (l.n > 1)
		qsort(l.items, l.n, sizeof(*l.items), listed_cmp);
	for (i = 0; i < l.n && r == 0; i++)
		r = fn(arg, l.items[i].key, l.items[i].size);
out:
	for (i = 0; i < l.n; i++)
		free(l.items[i].key);
	free(l.items);
	vs_buf_release(&rel);
	return r;
}

static int file_del(struct vs_transport *t, const char *key,
		    struct vs_error *err)
{
	char *path;
	int r = 0;

	if (!key_ours(key))
		return vs_error_set(err, VS_E_INVAL, "file:// keys may not "
				    "start a name with '.' ('%s')", key);
	path = key_path(t, key);
	if (unlink(path) < 0 && errno != ENOENT && errno != ENOTDIR)
		r = io_error(t, "delete", key, errno, err);
	free(path);
	return r;
}

const struct vs_transport_ops vs_transport_file = {
	.scheme = "file",
	.open = file_open,
	.free = file_free,
	.get = file_get,
	.put = file_put,
	.head = file_head,
	.list = file_list,
	.del = file_del,
};
