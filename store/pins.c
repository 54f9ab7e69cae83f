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

#include "idset.h"
#include "object.h"
#include "refs.h"
#include "rev.h"

#include "xalloc.h"
#include "banned.h"

struct check {
	struct vs_store *s;
	struct vs_idset *seen;
	struct vs_pins_status *out;
	struct vs_error *err;
};

static int check_file(struct check *c, const struct vs_id *id)
{
	struct vs_file f;
	size_t i;
	int r;

	r = vs_store_read_file(c->s, id, &f, c->err);
	if (r == VS_E_NOTFOUND) {
		vs_error_clear(c->err);
		c->out->missing++;
		return 0;
	}
	if (r < 0)
		return r;
	for (i = 0; i < f.nchunks; i++)
		if (vs_idset_add(c->seen, &f.chunks[i].id) &&
		    !vs_chunk_has(c->s, &f.chunks[i].id))
			c->out->missing++;
	vs_file_release(&f);
	return 0;
}

static int check_tree(struct check *c, const struct vs_id *id)
{
	struct vs_tree t;
	size_t i;
	int r;

	r = vs_store_read_tree(c->s, id, &t, c->err);
	if (r == VS_E_NOTFOUND) {
		vs_error_clear(c->err);
		c->out->missing++;
		return 0;
	}
	if (r < 0)
		return r;
	for (i = 0; i < t.count && r == 0; i++) {
		const struct vs_tree_entry *e = &t.entries[i];

		if (!vs_idset_add(c->seen, &e->id))
			continue;
		if (e->type == VS_ENTRY_DIR)
			r = check_tree(c, &e->id);
		else
			r = check_file(c, &e->id);
	}
	vs_tree_release(&t);
	return r;
}

int vs_pins_check(struct vs_store *s, const struct vs_lockfile_line *pin,
		  struct vs_pins_status *out, struct vs_error *err)
{
	struct check c = { .s = s, .out = out, .err = err };
	struct vs_commit commit;
	int r;

	memset(out, 0, sizeof(*out));
	out->repo_missing = vs_repo_check(s, &pin->repo, NULL) < 0;
	r = vs_store_read_commit(s, &pin->commit, &commit, err);
	if (r == VS_E_NOTFOUND) {
		vs_error_clear(err);
		out->commit_missing = true;
		return 0;
	}
	if (r < 0)
		return r;
	c.seen = vs_idset_new();
	vs_idset_add(c.seen, &commit.tree);
	r = check_tree(&c, &commit.tree);
	vs_idset_free(c.seen);
	vs_commit_release(&commit);
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
