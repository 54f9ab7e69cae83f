/*
 * checkout.c - materialise a snapshot as ordinary files.
 */
#include "checkout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"
#include "fileio.h"
#include "banned.h"

struct co {
	struct vs_store *s;
	const struct vs_checkout_opts *opts;
	struct vs_checkout_progress prog;
	struct timespec last;
	struct vs_error *err;
	struct vs_buf chunk;
};

static void co_report(struct co *co, bool force)
{
	struct timespec now;

	if (!co->opts || !co->opts->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && (now.tv_sec - co->last.tv_sec) * 1000000000LL +
			      (now.tv_nsec - co->last.tv_nsec) < 100000000LL)
		return;
	co->last = now;
	co->opts->progress(co->opts->progress_arg, &co->prog);
}

static int write_file(struct co *co, const struct vs_id *id, int fd)
{
	struct vs_file f;
	size_t i;
	int r;

	r = vs_store_read_file(co->s, id, &f, co->err);
	if (r < 0)
		return r;
	if (f.inline_data) {
		r = vs_write_all(fd, f.inline_data, f.size);
		co->prog.bytes_done += f.size;
	}
	for (i = 0; i < f.nchunks && r == 0; i++) {
		r = vs_chunk_get(co->s, NULL, &f.chunks[i].id, &co->chunk,
				 co->err);
		if (r < 0)
			break;
		if (co->chunk.len != f.chunks[i].len) {
			char hex[VS_ID_HEXLEN + 1];

			r = vs_error_set(co->err, VS_E_CORRUPT,
					 "chunk %s has the wrong length",
					 vs_id_to_hex(&f.chunks[i].id, hex));
			break;
		}
		r = vs_write_all(fd, co->chunk.data, co->chunk.len);
		co->prog.bytes_done += co->chunk.len;
		co_report(co, false);
		if (r == 0 && co->opts)
			r = vs_check_cancel(co->opts->cancel, co->err);
	}
	vs_file_release(&f);
	return r;
}

int vs_checkout_file_fd(struct vs_store *s, const struct vs_id *id, int fd,
			struct vs_error *err)
{
	struct co co = { .s = s, .err = err, .chunk = VS_BUF_INIT };
	int r = write_file(&co, id, fd);

	vs_buf_release(&co.chunk);
	if (r < 0 && r > -4096)
		vs_error_set(err, r, "cannot write (%s)", strerror(-r));
	return r;
}

static void count(struct co *co, const struct vs_tree *t)
{
	size_t i;

	for (i = 0; i < t->count; i++) {
		if (t->entries[i].type == VS_ENTRY_DIR)
			continue;
		co->prog.files_total++;
		co->prog.bytes_total += t->entries[i].size;
	}
}

/* Writes tree id into the directory dfd (which exists and is empty). */
static int write_tree(struct co *co, const struct vs_id *id, int dfd,
		      struct vs_buf *path)
{
	struct vs_tree t;
	size_t i, base = path->len;
	int r;

	/* Directories are 0755 whatever the umask, as files are 0644/0755. */
	if (fchmod(dfd, 0755) < 0)
		return -errno;
	r = vs_store_read_tree(co->s, id, &t, co->err);
	if (r < 0)
		return r;
	for (i = 0; i < t.count && r == 0; i++) {
		const struct vs_tree_entry *e = &t.entries[i];
		int fd;

		if (path->len)
			vs_buf_addch(path, '/');
		vs_buf_addstr(path, e->name);
		switch (e->type) {
		case VS_ENTRY_DIR:
			if (mkdirat(dfd, e->name, 0755) < 0) {
				r = -errno;
				break;
			}
			fd = openat(dfd, e->name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					    O_CLOEXEC);
			if (fd < 0) {
				r = -errno;
				break;
			}
			r = write_tree(co, &e->id, fd, path);
			close(fd);
			break;
		case VS_ENTRY_FILE:
		case VS_ENTRY_EXEC:
			fd = openat(dfd, e->name,
				    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
					    O_CLOEXEC,
				    e->type == VS_ENTRY_EXEC ? 0755 : 0644);
			if (fd < 0) {
				r = -errno;
				break;
			}
			/* The umask must not strip what was committed. */
			if (fchmod(fd, e->type == VS_ENTRY_EXEC ? 0755 : 0644))
				r = -errno;
			if (r == 0)
				r = write_file(co, &e->id, fd);
			if (close(fd) < 0 && r == 0)
				r = -errno;
			co->prog.files_done++;
			break;
		case VS_ENTRY_SYMLINK: {
			struct vs_file f;

			r = vs_store_read_file(co->s, &e->id, &f, co->err);
			if (r < 0)
				break;
			if (!f.inline_data || f.size == 0 || f.size > 4096 ||
			    memchr(f.inline_data, '\0', f.size)) {
				vs_file_release(&f);
				r = vs_error_set(co->err, VS_E_CORRUPT,
						 "symlink '%s' has an invalid "
						 "target", path->data);
				break;
			}
			{
				char target[4097];

				memcpy(target, f.inline_data, f.size);
				target[f.size] = '\0';
				if (symlinkat(target, dfd, e->name) < 0)
					r = -errno;
			}
			/* count() includes the target in bytes_total. */
			co->prog.bytes_done += f.size;
			vs_file_release(&f);
			co->prog.files_done++;
			break;
		}
		}
		if (r < 0 && r > -4096)
			vs_error_set(co->err, r, "cannot write '%s' (%s)",
				     path->data, strerror(-r));
		vs_buf_setlen(path, base);
		co_report(co, false);
		if (r == 0 && co->opts)
			r = vs_check_cancel(co->opts->cancel, co->err);
	}
	vs_tree_release(&t);
	return r;
}

/* Removes a partial checkout (a tree varve itself wrote). */
static void remove_tree(int dfd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		unlinkat(dfd, name, 0);
		return;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type == DT_DIR)
			remove_tree(dirfd(d), de->d_name);
		else
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

static int count_tree(struct co *co, const struct vs_id *id)
{
	struct vs_tree t;
	size_t i;
	int r;

	r = vs_store_read_tree(co->s, id, &t, co->err);
	if (r < 0)
		return r;
	count(co, &t);
	for (i = 0; i < t.count && r == 0; i++)
		if (t.entries[i].type == VS_ENTRY_DIR)
			r = count_tree(co, &t.entries[i].id);
	vs_tree_release(&t);
	return r;
}

int vs_checkout(struct vs_store *s, const struct vs_node *node,
		const char *dir, const struct vs_checkout_opts *opts,
		struct vs_error *err)
{
	struct co co = { .s = s, .opts = opts, .err = err,
			 .chunk = VS_BUF_INIT };
	struct vs_buf tmp = VS_BUF_INIT, path = VS_BUF_INIT;
	char *copy = NULL, *parent, *base;
	bool existed = false;
	struct stat st;
	int pfd = -1, fd = -1, r;

	if (node->type != VS_ENTRY_DIR)
		return vs_error_set(err, VS_E_INVAL,
				    "only a directory can be checked out");
	if (lstat(dir, &st) == 0) {
		DIR *d;
		struct dirent *de;

		if (!S_ISDIR(st.st_mode))
			return vs_error_set(err, VS_E_EXISTS, "'%s' exists and "
					    "is not a directory", dir);
		d = opendir(dir);
		if (!d)
			return vs_error_set(err, -errno, "cannot read '%s' (%s)",
					    dir, strerror(errno));
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				break;
		closedir(d);
		if (de)
			return vs_error_set(err, VS_E_EXISTS,
					    "'%s' is not empty (checkout never "
					    "overwrites)", dir);
		existed = true;
	} else if (errno != ENOENT) {
		return vs_error_set(err, -errno, "cannot use '%s' (%s)", dir,
				    strerror(errno));
	}

	copy = vs_xstrdup(dir);
	/* dirname/basename may modify their argument: use two copies. */
	parent = dirname(copy);
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0) {
		r = vs_error_set(err, -errno, "cannot open '%s' (%s)", parent,
				 strerror(errno));
		goto out;
	}
	free(copy);
	copy = vs_xstrdup(dir);
	base = basename(copy);
	vs_buf_addf(&tmp, ".%s.varve-checkout-%ld", base, (long)getpid());
	if (mkdirat(pfd, tmp.data, 0755) < 0) {
		r = vs_error_set(err, -errno, "cannot create a directory next "
				 "to '%s' (%s)", dir, strerror(errno));
		goto out;
	}
	fd = openat(pfd, tmp.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out_remove;
	}
	r = count_tree(&co, &node->id);
	if (r == 0) {
		co_report(&co, true);
		r = write_tree(&co, &node->id, fd, &path);
	}
	if (r == 0 && fsync(fd) < 0)
		r = vs_error_set(err, -errno, "cannot sync '%s' (%s)", dir,
				 strerror(errno));
	close(fd);
	if (r < 0)
		goto out_remove;
	if (existed && unlinkat(pfd, base, AT_REMOVEDIR) < 0) {
		r = vs_error_set(err, -errno, "'%s' changed during checkout "
				 "(%s)", dir, strerror(errno));
		goto out_remove;
	}
	if (renameat2(pfd, tmp.data, pfd, base, RENAME_NOREPLACE) < 0) {
		r = vs_error_set(err, -errno, "cannot move the checkout to "
				 "'%s' (%s)", dir, strerror(errno));
		goto out_remove;
	}
	co_report(&co, true);
	goto out;
out_remove:
	remove_tree(pfd, tmp.data);
	if (existed)
		mkdirat(pfd, base, st.st_mode & 07777);
out:
	if (pfd >= 0)
		close(pfd);
	free(copy);
	vs_buf_release(&tmp);
	vs_buf_release(&path);
	vs_buf_release(&co.chunk);
	return r;
}
