/*
 * pins.c - what a lock file pins, in the store (pins.h): the check that a
 * pinned snapshot is complete, and the checkout of every pin into one
 * directory, replaced atomically.
 */
#include "pins.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "refs.h"
#include "rev.h"
#include "walk.h"

#include "xalloc.h"
#include "banned.h"

/*
 * The pin check's visitor: a missing object or chunk is counted (each
 * once: the walker deduplicates) and the walk goes on; anything else that
 * could not be read stops it.
 */
static int check_visit(void *arg, const struct vs_walk_visit *v,
		       struct vs_error *err)
{
	struct vs_pins_status *out = arg;

	(void)err;
	if (!v->error)
		return 0;
	if (v->error != VS_E_NOTFOUND)
		return v->error;
	if (v->kind == VS_WALK_COMMIT)
		out->commit_missing = true;
	else
		out->missing++;
	return 0;
}

int vs_pins_check(struct vs_store *s, const struct vs_lockfile_line *pin,
		  struct vs_pins_status *out, struct vs_error *err)
{
	struct vs_walk *w;
	int r;

	memset(out, 0, sizeof(*out));
	out->repo_missing = vs_repo_check(s, &pin->repo, NULL) < 0;
	w = vs_walk_new(s, VS_WALK_HAS_CHUNKS, check_visit, out);
	r = vs_walk_commit(w, &pin->commit, err);
	vs_walk_free(w);
	return r;
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Whether dir is absent (false) or an empty directory (true). */
static int dir_usable(const char *dir, bool *existed, struct vs_error *err)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	*existed = false;
	if (lstat(dir, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return vs_error_set(err, -errno, "cannot use '%s' (%s)", dir,
				    strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return vs_error_set(err, VS_E_EXISTS, "'%s' exists and is not "
				    "a directory", dir);
	d = opendir(dir);
	if (!d)
		return vs_error_set(err, -errno, "cannot read '%s' (%s)", dir,
				    strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			break;
	closedir(d);
	if (de)
		return vs_error_set(err, VS_E_EXISTS, "'%s' is not empty "
				    "(checkout never overwrites)", dir);
	*existed = true;
	return 0;
}

int vs_pins_checkout(struct vs_store *s, const struct vs_lockfile *l,
		     const char *dir, const struct vs_checkout_opts *co,
		     struct vs_error *err)
{
	struct vs_buf tmp = VS_BUF_INIT, target = VS_BUF_INIT;
	char *c1 = NULL, *c2 = NULL, hex[VS_ID_HEXLEN + 1];
	struct vs_node root;
	bool existed;
	size_t i;
	int r;

	if (!vs_lockfile_count(l))
		return vs_error_set(err, VS_E_INVAL, "the lock file pins "
				    "nothing (add pins with 'varve pin "
				    "REV...')");
	/* Every pin first, so a missing one fails before any writing. */
	for (i = 0; i < l->nlines; i++) {
		const struct vs_lockfile_line *p = &l->lines[i];

		if (!p->is_pin)
			continue;
		r = vs_commit_root(s, &p->commit, &root, NULL);
		if (r == VS_E_NOTFOUND)
			return vs_error_set(err, r, "%s: pinned commit %s is "
					    "not in the store (pull it "
					    "first)", p->repo.full,
					    vs_id_to_hex(&p->commit, hex));
		if (r < 0)
			return vs_commit_root(s, &p->commit, &root, err);
	}
	r = dir_usable(dir, &existed, err);
	if (r < 0)
		return r;

	c1 = vs_xstrdup(dir);
	c2 = vs_xstrdup(dir);
	vs_buf_addf(&tmp, "%s/.%s.varve-lock-XXXXXX", dirname(c1),
		    basename(c2));
	if (!mkdtemp(tmp.data)) {
		r = vs_error_set(err, -errno, "cannot create a directory next "
				 "to '%s' (%s)", dir, strerror(errno));
		goto out;
	}
	for (i = 0; i < l->nlines && r == 0; i++) {
		const struct vs_lockfile_line *p = &l->lines[i];

		if (!p->is_pin)
			continue;
		vs_buf_reset(&target);
		vs_buf_addf(&target, "%s/%ss", tmp.data,
			    vs_repo_kind_name(p->repo.kind));
		if (mkdir(target.data, 0755) < 0 && errno != EEXIST) {
			r = vs_error_set(err, -errno, "cannot create '%s' (%s)",
					 target.data, strerror(errno));
			break;
		}
		vs_buf_addf(&target, "/%s", p->repo.name);
		r = vs_commit_root(s, &p->commit, &root, err);
		if (r == 0)
			r = vs_checkout(s, &root, target.data, co, err);
	}
	if (r == 0 && existed && rmdir(dir) < 0)
		r = vs_error_set(err, -errno, "'%s' changed during checkout "
				 "(%s)", dir, strerror(errno));
	if (r == 0 && renameat2(AT_FDCWD, tmp.data, AT_FDCWD, dir,
				RENAME_NOREPLACE) < 0) {
		r = vs_error_set(err, -errno, "cannot move the checkout to "
				 "'%s' (%s)", dir, strerror(errno));
		if (existed)
			mkdir(dir, 0755);
	}
	if (r < 0)
		nftw(tmp.data, remove_one, 16, FTW_DEPTH | FTW_PHYS);
out:
	free(c1);
	free(c2);
	vs_buf_release(&tmp);
	vs_buf_release(&target);
	return r;
}
