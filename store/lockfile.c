/*
 * lockfile.c - varve.lock: parsing and formatting its text (pure functions,
 * fuzzed by tests/fuzz/fuzz_lockfile.c), reading and atomically replacing
 * the file.  Format in lockfile.h; what a lock pins in the store (checking,
 * checking out) is pins.c.
 */
#include "lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
