/*
 * lockfile.c - varve.lock: parsing and formatting its text (pure functions,
 * fuzzed by tests/fuzz/fuzz_lockfile.c), reading and atomically replacing
 * the file, and what the CLI does with a lock in the store: check that the
 * pinned snapshots are present, check them all out.  Format in lockfile.h.
 */
#include "lockfile.h"

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
#include "rev.h"

#include "xalloc.h"
#include "fileio.h"
#include "banned.h"

/* Longest "from" comment kept. */
#define VS_LOCKFILE_FROM_MAX 200

static const char *const header[] = {
	"# varve.lock: the data and model snapshots this code uses.",
	"# Written by 'varve pin REV...'; read by 'varve checkout --lock FILE "
	"DIR'",
	"# and 'varve lock verify'.  One line per repository: REPO COMMIT "
	"# from REV",
};

void vs_lockfile_init(struct vs_lockfile *l)
{
	l->nlines = 0;
	l->alloc = 0;
	l->lines = NULL;
	l->no_final_newline = false;
}

void vs_lockfile_release(struct vs_lockfile *l)
{
	size_t i;

	for (i = 0; i < l->nlines; i++)
		free(l->lines[i].text);
	free(l->lines);
	vs_lockfile_init(l);
}

/* Inserts a line at index pos (<= nlines), taking ownership of text. */
static struct vs_lockfile_line *insert_line(struct vs_lockfile *l, size_t pos,
					    char *text)
{
	struct vs_lockfile_line *ln;

	if (l->nlines == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 16;
		l->lines = vs_xreallocarray(l->lines, l->alloc,
					    sizeof(*l->lines));
	}
	memmove(&l->lines[pos + 1], &l->lines[pos],
		(l->nlines - pos) * sizeof(*l->lines));
	l->nlines++;
	ln = &l->lines[pos];
	memset(ln, 0, sizeof(*ln));
	ln->text = text;
	return ln;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Length of the token at p (up to a blank, '#' or end). */
static size_t token_len(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && !blank(p[i]) && p[i] != '#')
		i++;
	return i;
}

/* <p, n> for an error message: at most 80 bytes, non-printables as '?'. */
static const char *quote(char out[88], const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < 80; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
	if (i < n) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

static size_t skip_blanks(const char *p, size_t n, size_t i)
{
	while (i < n && blank(p[i]))
		i++;
	return i;
}

/*
 * Parses line number lineno (<text, n> without '\n') and appends it to l
 * with text NULL (the caller sets it).  0 or VS_E_INVAL.
 */
static int parse_line(struct vs_lockfile *l, const char *p, size_t n,
		      size_t lineno, struct vs_error *err)
{
	struct vs_lockfile_line *ln;
	char hex[VS_ID_HEXLEN + 1], q[88];
	struct vs_repo repo;
	struct vs_id id;
	size_t i, tok, j;

	/* Note 1: a '\r' before the '\n' is not part of the content. */
	if (n && p[n - 1] == '\r')
		n--;
	i = skip_blanks(p, n, 0);
	if (i == n || p[i] == '#') {
		insert_line(l, l->nlines, NULL);
		return 0;
	}
	tok = token_len(p + i, n - i);
	if (vs_repo_parse(&repo, p + i, tok, NULL) < 0)
		return vs_error_set(err, VS_E_INVAL, "line %zu: '%s' is not "
				    "a repository (expected datasets/NAME or "
				    "models/NAME, then a commit id)", lineno,
				    quote(q, p + i, tok));
	i += tok;
	j = skip_blanks(p, n, i);
	if (j == i || j == n || p[j] == '#')
		return vs_error_set(err, VS_E_INVAL, "line %zu: no commit id "
				    "after '%s'", lineno, repo.full);
	i = j;
	tok = token_len(p + i, n - i);
	memcpy(hex, p + i, tok < VS_ID_HEXLEN ? tok : VS_ID_HEXLEN);
	hex[tok < VS_ID_HEXLEN ? tok : VS_ID_HEXLEN] = '\0';
	if (tok != VS_ID_HEXLEN || vs_id_from_hex(&id, hex) < 0)
		return vs_error_set(err, VS_E_INVAL, "line %zu: '%s' is not "
				    "a full commit id (64 hex digits)", lineno,
				    quote(q, p + i, tok));
	i += tok;
	j = skip_blanks(p, n, i);
	if (j < n && p[j] != '#')
		return vs_error_set(err, VS_E_INVAL, "line %zu: unexpected "
				    "'%s' after the commit id (a comment "
				    "starts with '#')", lineno,
				    quote(q, p + j, n - j));
	for (j = 0; j < l->nlines; j++)
		if (l->lines[j].is_pin &&
		    !strcmp(l->lines[j].repo.full, repo.full))
			return vs_error_set(err, VS_E_INVAL, "line %zu: '%s' "
					    "is pinned twice (also on line "
					    "%zu)", lineno, repo.full, j + 1);
	ln = insert_line(l, l->nlines, NULL);
	ln->is_pin = true;
	ln->repo = repo;
	ln->commit = id;
	return 0;
}

int vs_lockfile_parse(struct vs_lockfile *l, const char *data, size_t len,
		      struct vs_error *err)
{
	size_t pos = 0, lineno = 0, n;
	const char *end;
	int r;

	vs_lockfile_init(l);
	while (pos < len) {
		end = memchr(data + pos, '\n', len - pos);
		n = end ? (size_t)(end - (data + pos)) : len - pos;
		lineno++;
		if (memchr(data + pos, '\0', n)) {
			r = vs_error_set(err, VS_E_INVAL, "line %zu: a NUL "
					 "byte (not a text file)", lineno);
			goto fail;
		}
		r = parse_line(l, data + pos, n, lineno, err);
		if (r < 0)
			goto fail;
		l->lines[l->nlines - 1].text = vs_xmemdupz(data + pos, n);
		pos += n + (end ? 1 : 0);
		if (!end)
			l->no_final_newline = true;
	}
	return 0;

fail:
	vs_lockfile_release(l);
	return r;
}

void vs_lockfile_format(const struct vs_lockfile *l, struct vs_buf *out)
{
	size_t i;

	for (i = 0; i < l->nlines; i++) {
		vs_buf_addstr(out, l->lines[i].text);
		vs_buf_addch(out, '\n');
	}
}

const struct vs_lockfile_line *vs_lockfile_find(const struct vs_lockfile *l,
						const char *repo)
{
	size_t i;

	for (i = 0; i < l->nlines; i++)
		if (l->lines[i].is_pin && !strcmp(l->lines[i].repo.full, repo))
			return &l->lines[i];
	return NULL;
}

size_t vs_lockfile_count(const struct vs_lockfile *l)
{
	size_t i, n = 0;

	for (i = 0; i < l->nlines; i++)
		n += l->lines[i].is_pin;
	return n;
}

static char *pin_text(const struct vs_repo *repo, const struct vs_id *commit,
		      const char *from)
{
	struct vs_buf b = VS_BUF_INIT;
	char hex[VS_ID_HEXLEN + 1];
	size_t i;

	vs_buf_addf(&b, "%s %s", repo->full, vs_id_to_hex(commit, hex));
	if (from && *from) {
		vs_buf_addstr(&b, " # from ");
		for (i = 0; from[i] && i < VS_LOCKFILE_FROM_MAX; i++) {
			unsigned char c = from[i];

			vs_buf_addch(&b, c >= 0x20 && c < 0x7f ? c : '?');
		}
		if (from[i])
			vs_buf_addstr(&b, "...");
	}
	return vs_buf_detach(&b, NULL);
}

bool vs_lockfile_pin(struct vs_lockfile *l, const struct vs_repo *repo,
		     const struct vs_id *commit, const char *from)
{
	struct vs_lockfile_line *ln;
	size_t i, pos, first_pin = SIZE_MAX, after = SIZE_MAX;

	for (i = 0; i < l->nlines; i++) {
		ln = &l->lines[i];
		if (!ln->is_pin)
			continue;
		if (!strcmp(ln->repo.full, repo->full)) {
			if (vs_id_equal(&ln->commit, commit))
				return false;
			free(ln->text);
			ln->text = pin_text(repo, commit, from);
			ln->commit = *commit;
			return true;
		}
		if (first_pin == SIZE_MAX)
			first_pin = i;
		if (strcmp(ln->repo.full, repo->full) < 0)
			after = i;
	}
	if (l->nlines == 0)
		for (i = 0; i < sizeof(header) / sizeof(header[0]); i++)
			insert_line(l, l->nlines, vs_xmemdupz(header[i],
							   strlen(header[i])));
	if (after != SIZE_MAX)
		pos = after + 1;
	else if (first_pin != SIZE_MAX)
		pos = first_pin;
	else
		pos = l->nlines;
	ln = insert_line(l, pos, pin_text(repo, commit, from));
	ln->is_pin = true;
	ln->repo = *repo;
	ln->commit = *commit;
	return true;
}

/* --- the file ------------------------------------------------------------- */

int vs_lockfile_read(const char *path, struct vs_lockfile *l, bool *exists,
		     struct vs_error *err)
{
	struct vs_error perr = { 0 };
	struct vs_buf data = VS_BUF_INIT;
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	vs_lockfile_init(l);
	if (exists)
		*exists = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && exists)
		return 0;
	if (fd < 0 && errno == ENOENT)
		return vs_error_set(err, VS_E_NOTFOUND, "no lock file '%s' "
				    "(write one with 'varve pin REV...')",
				    path);
	if (fd < 0)
		return vs_error_set(err, -errno, "cannot open '%s' (%s)", path,
				    strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = vs_error_set(err, -errno, "cannot stat '%s' (%s)", path,
				 strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = vs_error_set(err, -EINVAL, "'%s' is not a regular file",
				 path);
		goto out;
	}
	if ((uint64_t)st.st_size > VS_LOCKFILE_MAX) {
		r = vs_error_set(err, -EFBIG, "'%s' is too large for a lock "
				 "file (%llu bytes)", path,
				 (unsigned long long)st.st_size);
		goto out;
	}
	for (;;) {
		vs_buf_grow(&data, 4096);
		n = read(fd, data.data + data.len, 4096);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = vs_error_set(err, -errno, "cannot read '%s' (%s)",
					 path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		vs_buf_setlen(&data, data.len + (size_t)n);
		if (data.len > VS_LOCKFILE_MAX) {
			r = vs_error_set(err, -EFBIG, "'%s' is too large for "
					 "a lock file", path);
			goto out;
		}
	}
	r = vs_lockfile_parse(l, data.data, data.len, &perr);
	if (r < 0)
		vs_error_set(err, r, "'%s' %s", path, perr.msg);
	else if (exists)
		*exists = true;
out:
	close(fd);
	vs_buf_release(&data);
	return r;
}

int vs_lockfile_write(const char *path, const struct vs_lockfile *l,
		      struct vs_error *err)
{
	struct vs_buf text = VS_BUF_INIT;
	mode_t mode = 0644;
	struct stat st;
	int r;

	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	vs_lockfile_format(l, &text);
	r = vs_write_file_atomic(path, text.data, text.len, mode);
	if (r < 0)
		vs_error_set(err, r, "cannot write '%s' (%s)", path,
			     strerror(-r));
	vs_buf_release(&text);
	return r;
}

/* --- in the store ----------------------------------------------------------- */

struct check {
	struct vs_store *s;
	struct vs_idset *seen;
	struct vs_lockfile_check *out;
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

int vs_lockfile_check_pin(struct vs_store *s,
			  const struct vs_lockfile_line *pin,
			  struct vs_lockfile_check *out, struct vs_error *err)
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

int vs_lockfile_checkout(struct vs_store *s, const struct vs_lockfile *l,
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
