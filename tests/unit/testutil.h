/*
 * testutil.h - helpers shared by the store's unit tests: temporary
 * directories, files with chosen content and times, a store with small
 * chunking parameters (so kilobytes of test data make many chunks), a
 * generated source tree with every kind of entry, and comparisons of a
 * directory with a commit or with another directory.
 *
 * Everything is static inline so each test includes only what it uses.
 * Include after <cmocka.h> and before banned.h.
 */
#ifndef VS_TESTUTIL_H
#define VS_TESTUTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "object.h"
#include "rev.h"
#include "store.h"
#include "store_int.h"	/* the unit tests look inside the store */

#define TU_KIB 1024u
#define TU_MIB (1024u * TU_KIB)

/* --- data ---------------------------------------------------------------- */

/* splitmix64: deterministic pseudo-random bytes. */
static inline uint64_t tu_rand64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void tu_fill_random(void *p, size_t len, uint64_t seed)
{
	uint8_t *b = p;
	uint64_t z = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (!(i % 8))
			z = tu_rand64(&seed);
		b[i] = (uint8_t)(z >> (8 * (i % 8)));
	}
}

/* Compressible text made of a few words. */
static inline void tu_fill_text(void *p, size_t len, uint64_t seed)
{
	static const char *const words[] = {
		"alpha ", "beta ", "gamma\n", "delta ", "epsilon ", "zeta, ",
	};
	uint8_t *b = p;
	size_t i = 0;

	while (i < len) {
		const char *w = words[tu_rand64(&seed) % 6];
		size_t n = strlen(w);

		if (n > len - i)
			n = len - i;
		memcpy(b + i, w, n);
		i += n;
	}
}

/* --- paths and files ------------------------------------------------------ */

/* Writes "a/b" into out[PATH_MAX]; returns out. */
static inline char *tu_join(char *out, const char *a, const char *b)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", a, b);

	if (n < 0 || n >= PATH_MAX)
		abort();
	return out;
}

/* Makes a fresh directory /tmp/varve-ut-XXXXXX into out[PATH_MAX]. */
static inline char *tu_mkdtemp(char *out)
{
	snprintf(out, PATH_MAX, "/tmp/varve-ut-XXXXXX");
	if (!mkdtemp(out)) {
		perror("mkdtemp");
		abort();
	}
	return out;
}

static inline int tu_rm_one(const char *path, const struct stat *st,
			    int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -rf path (never follows symlinks). */
static inline void tu_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	/* Directories made read-only by a test must still be removable. */
	nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline bool tu_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Writes <data, len> to path with exactly mode (umask ignored). */
static inline void tu_write(const char *path, const void *data, size_t len,
			    mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *p = data;

	if (fd < 0) {
		fprintf(stderr, "cannot create %s: %s\n", path,
			strerror(errno));
		abort();
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			abort();
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0)
		abort();
	close(fd);
}

static inline void tu_write_str(const char *path, const char *s)
{
	tu_write(path, s, strlen(s), 0644);
}

/* Reads the whole file into out (replacing its contents); 0 or -errno. */
static inline int tu_read(const char *path, struct vs_buf *out)
{
	char tmp[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	vs_buf_reset(out);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		vs_buf_add(out, tmp, (size_t)n);
	close(fd);
	return n < 0 ? -EIO : 0;
}

static inline void tu_mkdir(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		abort();
	chmod(path, 0755);
}

/* Sets path's atime and mtime to sec (+ nsec), not following symlinks. */
static inline void tu_set_mtime(const char *path, time_t sec, long nsec)
{
	struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };

	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		abort();
}

static inline int tu_age_one(const char *path, const struct stat *st,
			     int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	tu_set_mtime(path, time(NULL) - 3600, 0);
	return 0;
}

/* Gives every entry under root (and root) an mtime an hour ago. */
static inline void tu_age_tree(const char *root)
{
	nftw(root, tu_age_one, 16, FTW_PHYS);
}

/* Number of entries in dir other than "." and ".." (-1: unreadable). */
static inline int tu_count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* --- stores ------------------------------------------------------------------ */

/* Chunks of 1..16 KiB, 4 KiB on average: small data, many chunks. */
static inline void tu_config_small(struct vs_config *c)
{
	vs_config_defaults(c);
	c->chunking.min = 1 * TU_KIB;
	c->chunking.avg = 4 * TU_KIB;
	c->chunking.max = 16 * TU_KIB;
}

/* A temporary directory with a store in <dir>/store, opened. */
struct tu_env {
	char dir[PATH_MAX];
	char store_path[PATH_MAX];
	struct vs_store *s;
};

static inline struct tu_env *tu_env_new(void)
{
	struct tu_env *e = calloc(1, sizeof(*e));
	struct vs_error err = { 0 };
	struct vs_config cfg;
	int r;

	if (!e)
		abort();
	tu_mkdtemp(e->dir);
	tu_join(e->store_path, e->dir, "store");
	tu_config_small(&cfg);
	r = vs_store_create(e->store_path, &cfg, &err);
	if (r == 0)
		r = vs_store_open(e->store_path, &e->s, &err);
	if (r < 0) {
		fprintf(stderr, "cannot make a store in %s: %s\n", e->dir,
			err.msg);
		abort();
	}
	return e;
}

static inline void tu_env_free(struct tu_env *e)
{
	if (!e)
		return;
	vs_store_close(e->s);
	tu_rm_rf(e->dir);
	free(e);
}

/* --- a source tree with every kind of entry ---------------------------------- */

#define TU_BIG_SIZE (200 * TU_KIB)
#define TU_TEXT_SIZE (60 * TU_KIB)
#define TU_ODD_NAME "\xff\xfe"

enum tu_tree_flags {
	TU_TREE_FIFO = 1 << 0,	/* also a fifo (ingest skips it) */
};

/*
 * Fills root (which exists) with: nested dirs a/b/c with files, an empty
 * dir, an empty file, a tiny file, a 200 KiB random file (many chunks), a
 * compressible text file, an executable, a symlink, a dangling symlink, a
 * file with a non-UTF-8 name, and optionally a fifo.  seed varies content.
 */
static inline void tu_make_tree(const char *root, uint64_t seed,
				unsigned flags)
{
	char p[PATH_MAX], q[PATH_MAX];
	uint8_t *big = malloc(TU_BIG_SIZE);

	if (!big)
		abort();
	tu_mkdir(tu_join(p, root, "a"));
	tu_mkdir(tu_join(p, root, "a/b"));
	tu_mkdir(tu_join(p, root, "a/b/c"));
	tu_write_str(tu_join(p, root, "a/one.txt"), "one\n");
	tu_write_str(tu_join(p, root, "a/b/two.txt"), "two two\n");
	tu_fill_random(big, 10000, seed + 1);
	tu_write(tu_join(p, root, "a/b/c/mid.bin"), big, 10000, 0644);
	tu_mkdir(tu_join(p, root, "empty"));
	tu_write(tu_join(p, root, "zero"), "", 0, 0644);
	tu_write_str(tu_join(p, root, "tiny"), "hi");
	tu_fill_random(big, TU_BIG_SIZE, seed);
	tu_write(tu_join(p, root, "big.bin"), big, TU_BIG_SIZE, 0644);
	tu_fill_text(big, TU_TEXT_SIZE, seed + 2);
	tu_write(tu_join(p, root, "text.txt"), big, TU_TEXT_SIZE, 0644);
	tu_write_str(tu_join(p, root, "run.sh"), "#!/bin/sh\necho hi\n");
	chmod(tu_join(p, root, "run.sh"), 0755);
	if (symlink("a/b/two.txt", tu_join(p, root, "link")) < 0)
		abort();
	if (symlink("no/such/target", tu_join(p, root, "dangling")) < 0)
		abort();
	tu_write_str(tu_join(p, root, TU_ODD_NAME), "odd name\n");
	if (flags & TU_TREE_FIFO) {
		if (mkfifo(tu_join(q, root, "pipe"), 0644) < 0)
			abort();
	}
	free(big);
}

/* Sum of the regular files' sizes made by tu_make_tree. */
#define TU_TREE_FILE_BYTES                                                   \
	(4 + 8 + 10000 + 0 + 2 + TU_BIG_SIZE + TU_TEXT_SIZE + 18 + 9)

/* --- comparisons ------------------------------------------------------------ */

static inline int tu_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of dir's entries, skipping fifos, sockets, devices. */
static inline char **tu_list(const char *dir, size_t *n)
{
	struct dirent *de;
	char **names = NULL, p[PATH_MAX];
	size_t cnt = 0;
	DIR *d = opendir(dir);

	if (!d)
		abort();
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (lstat(tu_join(p, dir, de->d_name), &st) < 0)
			abort();
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) &&
		    !S_ISLNK(st.st_mode))
			continue;
		names = realloc(names, (cnt + 1) * sizeof(*names));
		if (!names)
			abort();
		names[cnt] = strdup(de->d_name);
		if (!names[cnt])
			abort();
		cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(names, cnt, sizeof(*names), tu_name_cmp);
	*n = cnt;
	return names;
}

static inline void tu_list_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * True if directories a and b hold the same names, types, file bytes,
 * symlink targets and executable bits; with exact_modes, b's files must
 * be 0644/0755 and its directories 0755.  Prints the first difference.
 */
static inline bool tu_dirs_equal(const char *a, const char *b,
				 bool exact_modes)
{
	struct vs_buf da = VS_BUF_INIT, db = VS_BUF_INIT;
	char **la, **lb, pa[PATH_MAX], pb[PATH_MAX];
	size_t na, nb, i;
	bool ok = true;

	la = tu_list(a, &na);
	lb = tu_list(b, &nb);
	if (na != nb) {
		fprintf(stderr, "%s has %zu entries, %s has %zu\n", a, na, b,
			nb);
		ok = false;
	}
	for (i = 0; ok && i < na; i++) {
		struct stat sa, sb;

		if (strcmp(la[i], lb[i])) {
			fprintf(stderr, "%s/%s vs %s/%s\n", a, la[i], b,
				lb[i]);
			ok = false;
			break;
		}
		tu_join(pa, a, la[i]);
		tu_join(pb, b, lb[i]);
		if (lstat(pa, &sa) < 0 || lstat(pb, &sb) < 0 ||
		    (sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) {
			fprintf(stderr, "%s: type differs\n", pb);
			ok = false;
		} else if (S_ISDIR(sa.st_mode)) {
			if (exact_modes && (sb.st_mode & 07777) != 0755) {
				fprintf(stderr, "%s: mode %o\n", pb,
					sb.st_mode & 07777);
				ok = false;
			}
			if (ok)
				ok = tu_dirs_equal(pa, pb, exact_modes);
		} else if (S_ISLNK(sa.st_mode)) {
			char ta[PATH_MAX], tb[PATH_MAX];
			ssize_t x = readlink(pa, ta, sizeof(ta));
			ssize_t y = readlink(pb, tb, sizeof(tb));

			if (x < 0 || x != y || memcmp(ta, tb, (size_t)x)) {
				fprintf(stderr, "%s: target differs\n", pb);
				ok = false;
			}
		} else {
			mode_t want = (sa.st_mode & S_IXUSR) ? 0755 : 0644;

			if ((sa.st_mode & S_IXUSR) != (sb.st_mode & S_IXUSR) ||
			    (exact_modes && (sb.st_mode & 07777) != want)) {
				fprintf(stderr, "%s: mode %o vs %o\n", pb,
					sa.st_mode & 07777,
					sb.st_mode & 07777);
				ok = false;
			}
			if (ok && (tu_read(pa, &da) < 0 ||
				   tu_read(pb, &db) < 0 || da.len != db.len ||
				   memcmp(da.data, db.data, da.len))) {
				fprintf(stderr, "%s: content differs\n", pb);
				ok = false;
			}
		}
	}
	tu_list_free(la, na);
	tu_list_free(lb, nb);
	vs_buf_release(&da);
	vs_buf_release(&db);
	return ok;
}

/* Reads the whole content of file object id into out (replaced). */
static inline int tu_read_object_file(struct vs_store *s,
				      const struct vs_id *id,
				      struct vs_buf *out)
{
	struct vs_file f;
	int r;

	vs_buf_reset(out);
	r = vs_store_read_file(s, id, &f, NULL);
	if (r < 0)
		return r;
	r = vs_file_read(s, NULL, &f, 0, (size_t)f.size, out, NULL);
	if (r == 0 && out->len != f.size)
		r = VS_E_CORRUPT;
	vs_file_release(&f);
	return r;
}

/*
 * True if the tree node (a directory) in the store holds exactly what the
 * directory dir holds (fifos and the like excepted): the same names, entry
 * types, file bytes and sizes, symlink targets.  rel is dir's path relative
 * to the tree's root ("" at the top), used for lookups from root.
 */
static inline bool tu_tree_matches_dir(struct vs_store *s,
				       const struct vs_node *root,
				       const char *dir, const char *rel)
{
	struct vs_buf want = VS_BUF_INIT, got = VS_BUF_INIT;
	char **names, p[PATH_MAX], r2[PATH_MAX];
	struct vs_node here;
	struct vs_tree t;
	size_t n, i;
	bool ok = true;

	if (vs_path_lookup(s, &root->id, root->size, rel, &here, NULL) < 0 ||
	    here.type != VS_ENTRY_DIR ||
	    vs_store_read_tree(s, &here.id, &t, NULL) < 0) {
		fprintf(stderr, "'%s': no tree in the commit\n", rel);
		return false;
	}
	names = tu_list(dir, &n);
	if (t.count != n) {
		fprintf(stderr, "'%s': %zu entries in the tree, %zu on disk\n",
			rel, t.count, n);
		ok = false;
	}
	for (i = 0; ok && i < n; i++) {
		struct vs_node node;
		struct stat st;
		enum vs_entry_type type;

		tu_join(p, dir, names[i]);
		if (*rel)
			tu_join(r2, rel, names[i]);
		else
			snprintf(r2, sizeof(r2), "%s", names[i]);
		if (lstat(p, &st) < 0 ||
		    vs_path_lookup(s, &root->id, root->size, r2, &node,
				   NULL) < 0) {
			fprintf(stderr, "'%s' not found\n", r2);
			ok = false;
			break;
		}
		if (S_ISDIR(st.st_mode))
			type = VS_ENTRY_DIR;
		else if (S_ISLNK(st.st_mode))
			type = VS_ENTRY_SYMLINK;
		else if (st.st_mode & S_IXUSR)
			type = VS_ENTRY_EXEC;
		else
			type = VS_ENTRY_FILE;
		if (node.type != type) {
			fprintf(stderr, "'%s': type %d, expected %d\n", r2,
				node.type, type);
			ok = false;
			break;
		}
		if (type == VS_ENTRY_DIR) {
			ok = tu_tree_matches_dir(s, root, p, r2);
			continue;
		}
		if (type == VS_ENTRY_SYMLINK) {
			char target[PATH_MAX];
			ssize_t len = readlink(p, target, sizeof(target));

			if (len < 0)
				abort();
			vs_buf_reset(&want);
			vs_buf_add(&want, target, (size_t)len);
		} else if (tu_read(p, &want) < 0) {
			abort();
		}
		if (node.size != want.len ||
		    tu_read_object_file(s, &node.id, &got) < 0 ||
		    got.len != want.len ||
		    memcmp(got.data, want.data, want.len)) {
			fprintf(stderr, "'%s': content differs\n", r2);
			ok = false;
		}
	}
	tu_list_free(names, n);
	vs_tree_release(&t);
	vs_buf_release(&want);
	vs_buf_release(&got);
	return ok;
}

/* True if commit's tree holds exactly what dir holds. */
static inline bool tu_commit_matches_dir(struct vs_store *s,
					 const struct vs_id *commit,
					 const char *dir)
{
	struct vs_node root;

	if (vs_commit_root(s, commit, &root, NULL) < 0)
		return false;
	return tu_tree_matches_dir(s, &root, dir, "");
}

#endif
