/*
 * checkout.c - materialise a snapshot as ordinary files: two walks of the
 * tree (walk.h) at every path, one counting for the progress totals, one
 * writing, into a temporary directory renamed into place at the end.
 */
#include "checkout.h"
#include "store_int.h"

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

#include "walk.h"

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
	/*
	 * While writing: the directories entered, the checkout's root first
	 * (its descriptor is vs_checkout's), the one being written last (the
	 * others are opened and closed by the walk's visits).
	 */
	int *dirs;
	size_t ndirs, alloc;
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

/* Writes the content of file f to fd, at its current offset. */
static int write_content(struct co *co, const struct vs_file *f, int fd)
{
	size_t i;
	int r = 0;

	if (f->inline_data) {
		r = vs_write_all(fd, f->inline_data, f->size);
		co->prog.bytes_done += f->size;
	}
	for (i = 0; i < f->nchunks && r == 0; i++) {
		r = vs_chunk_get(co->s, NULL, &f->chunks[i].id, &co->chunk,
				 co->err);
		if (r < 0)
			break;
		if (co->chunk.len != f->chunks[i].len) {
			char hex[VS_ID_HEXLEN + 1];

			r = vs_error_set(co->err, VS_E_CORRUPT,
					 "chunk %s has the wrong length",
					 vs_id_to_hex(&f->chunks[i].id, hex));
			break;
		}
		r = vs_write_all(fd, co->chunk.data, co->chunk.len);
		co->prog.bytes_done += co->chunk.len;
		co_report(co, false);
		if (r == 0 && co->opts)
			r = vs_check_cancel(co->opts->cancel, co->err);
	}
	return r;
}

static int write_file(struct co *co, const struct vs_id *id, int fd)
{
	struct vs_file f;
	int r;

	r = vs_store_read_file(co->s, id, &f, co->err);
	if (r < 0)
		return r;
	r = write_content(co, &f, fd);
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

/*
 * Counting visitor: the files (and symlinks) of every tree at every path
 * and their bytes, for the progress totals.  A tree shared by two paths
 * counts twice, as it is written twice.
 */
static int count_visit(void *arg, const struct vs_walk_visit *v,
		       struct vs_error *err)
{
	struct co *co = arg;
	size_t i;

	(void)err;
	if (v->kind != VS_WALK_TREE)
		return 0;
	if (v->error)
		return v->error;
	for (i = 0; i < v->tree->count; i++) {
		if (v->tree->entries[i].type == VS_ENTRY_DIR)
			continue;
		co->prog.files_total++;
		co->prog.bytes_total += v->tree->entries[i].size;
	}
	return 0;
}

static void push_dir(struct co *co, int fd)
{
	if (co->ndirs == co->alloc) {
		co->alloc = co->alloc ? 2 * co->alloc : 16;
		co->dirs = vs_xreallocarray(co->dirs, co->alloc,
					    sizeof(*co->dirs));
	}
	co->dirs[co->ndirs++] = fd;
}

/* Creates directory name in the current one, and enters it. */
static int enter_dir(struct co *co, const char *name)
{
	int top = co->dirs[co->ndirs - 1], fd;

	if (mkdirat(top, name, 0755) < 0)
		return -errno;
	fd = openat(top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	push_dir(co, fd);
	/* Directories are 0755 whatever the umask, as files are 0644/0755. */
	if (fchmod(fd, 0755) < 0)
		return -errno;
	return 0;
}

/* Writes the file, executable or symlink of visit v in the current
 * directory. */
static int write_entry(struct co *co, const struct vs_walk_visit *v)
{
	const struct vs_tree_entry *e = v->entry;
	const struct vs_file *f = v->file;
	int top = co->dirs[co->ndirs - 1], fd, r = 0;
	mode_t mode = e->type == VS_ENTRY_EXEC ? 0755 : 0644;
	char target[4097];

	if (e->type != VS_ENTRY_SYMLINK) {
		fd = openat(top, e->name,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC,
			    mode);
		if (fd < 0)
			return -errno;
		/* The umask must not strip what was committed. */
		if (fchmod(fd, mode))
			r = -errno;
		if (r == 0)
			r = write_content(co, f, fd);
		if (close(fd) < 0 && r == 0)
			r = -errno;
		co->prog.files_done++;
		return r;
	}
	if (!f->inline_data || f->size == 0 || f->size > 4096 ||
	    memchr(f->inline_data, '\0', f->size))
		return vs_error_set(co->err, VS_E_CORRUPT, "symlink '%s' has "
				    "an invalid target", v->path);
	memcpy(target, f->inline_data, f->size);
	target[f->size] = '\0';
	if (symlinkat(target, top, e->name) < 0)
		r = -errno;
	/* count_visit() includes the target in bytes_total. */
	co->prog.bytes_done += f->size;
	co->prog.files_done++;
	return r;
}

/*
 * Writing visitor: a tree is a directory made and entered (the root
 * exists), left on LEAVE_TREE; a file is written into the directory
 * entered last.  After each entry below the root: an error naming its
 * path, a progress report, the cancel check.
 */
static int write_visit(void *arg, const struct vs_walk_visit *v,
		       struct vs_error *err)
{
	struct co *co = arg;
	int r = v->error;

	switch (v->kind) {
	case VS_WALK_TREE:
		if (r == 0 && !v->entry && fchmod(co->dirs[0], 0755) < 0)
			r = -errno;
		if (!v->entry)
			return r;
		if (r == 0)
			r = enter_dir(co, v->entry->name);
		/* A directory's entry ends at its LEAVE_TREE. */
		if (r == 0)
			return 0;
		break;
	case VS_WALK_LEAVE_TREE:
		if (!v->entry)
			return 0;
		close(co->dirs[--co->ndirs]);
		break;
	case VS_WALK_FILE:
		if (r == 0)
			r = write_entry(co, v);
		break;
	default:
		return 0;
	}
	if (r < 0 && r > -4096)
		vs_error_set(err, r, "cannot write '%s' (%s)", v->path,
			     strerror(-r));
	co_report(co, false);
	if (r == 0 && co->opts)
		r = vs_check_cancel(co->opts->cancel, err);
	return r;
}

/*
 * Writes tree id into the directory dfd (which exists and is empty; it
 * stays open).  Returns 0, a read error or a -errno.
 */
static int write_tree(struct co *co, const struct vs_id *id, int dfd)
{
	struct vs_walk *w;
	int r;

	push_dir(co, dfd);
	w = vs_walk_new(co->s, VS_WALK_FILES | VS_WALK_EVERY_PATH, write_visit,
			co);
	r = vs_walk_tree(w, id, co->err);
	vs_walk_free(w);
	/* A walk that stopped left the directories it was in open. */
	while (co->ndirs > 1)
		close(co->dirs[--co->ndirs]);
	co->ndirs = 0;
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

/* Fills co->prog's totals for tree id.  Returns 0 or a read error. */
static int count_tree(struct co *co, const struct vs_id *id)
{
	struct vs_walk *w;
	int r;

	w = vs_walk_new(co->s, VS_WALK_EVERY_PATH, count_visit, co);
	r = vs_walk_tree(w, id, co->err);
	vs_walk_free(w);
	return r;
}

int vs_checkout(struct vs_store *s, const struct vs_node *node,
		const char *dir, const struct vs_checkout_opts *opts,
		struct vs_error *err)
{
	struct co co = { .s = s, .opts = opts, .err = err,
			 .chunk = VS_BUF_INIT };
	struct vs_buf tmp = VS_BUF_INIT;
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
		r = write_tree(&co, &node->id, fd);
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
	vs_buf_release(&co.chunk);
	free(co.dirs);
	return r;
}
