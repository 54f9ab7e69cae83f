/*
 * test_lockfile.c - unit tests of store/lockfile.c: parsing keeps every
 * line (comments, blank lines, CRLF, a missing final newline) so format
 * gives the text back; bad lines are errors naming the line; pinning
 * updates a line in place, inserts new repositories in order, starts a new
 * file with a header and leaves everything else byte for byte; the file is
 * replaced atomically with its mode kept.  What a lock pins, in the store,
 * is tested by test_pins.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lockfile.h"
#include "refs.h"
#include "testutil.h"
#include "banned.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static void repo(struct vs_repo *r, const char *full)
{
	assert_int_equal(vs_repo_parse(r, full, strlen(full), NULL), 0);
}

static void id_of(struct vs_id *id, const char *hex)
{
	assert_int_equal(vs_id_from_hex(id, hex), 0);
}

/* Parses text (must succeed) and formats it into out. */
static void reformat(const char *text, struct vs_lockfile *l,
		     struct vs_buf *out)
{
	struct vs_error err = { 0 };
	int r = vs_lockfile_parse(l, text, strlen(text), &err);

	if (r)
		fprintf(stderr, "parse: %s\n", err.msg);
	assert_int_equal(r, 0);
	vs_buf_reset(out);
	vs_lockfile_format(l, out);
}

static void test_parse_format(void **state)
{
	static const char text[] =
		"# a comment\n"
		"\n"
		"datasets/imagenet " HEX_A " # from datasets/imagenet@v3\n"
		"   # indented comment\n"
		"models/resnet\t" HEX_B "\n"
		"datasets/coco  " HEX_C "#tight comment\n";
	struct vs_buf out = VS_BUF_INIT;
	const struct vs_lockfile_line *p;
	struct vs_lockfile l;
	struct vs_id id;

	(void)state;
	reformat(text, &l, &out);
	assert_string_equal(out.data, text);
	assert_int_equal(l.nlines, 6);
	assert_int_equal(vs_lockfile_count(&l), 3);
	p = vs_lockfile_find(&l, "models/resnet");
	assert_non_null(p);
	id_of(&id, HEX_B);
	assert_true(vs_id_equal(&p->commit, &id));
	assert_int_equal(p->repo.kind, VS_REPO_MODEL);
	assert_null(vs_lockfile_find(&l, "models/other"));
	assert_false(l.lines[0].is_pin);
	assert_false(l.lines[1].is_pin);
	vs_lockfile_release(&l);

	/* CRLF line ends are read and kept; a missing final newline is
	 * added; an empty text is an empty lock. */
	reformat("datasets/x " HEX_A "\r\n# c\r\n", &l, &out);
	assert_string_equal(out.data, "datasets/x " HEX_A "\r\n# c\r\n");
	assert_int_equal(vs_lockfile_count(&l), 1);
	vs_lockfile_release(&l);
	reformat("datasets/x " HEX_A, &l, &out);
	assert_true(l.no_final_newline);
	assert_string_equal(out.data, "datasets/x " HEX_A "\n");
	vs_lockfile_release(&l);
	reformat("", &l, &out);
	assert_int_equal(l.nlines, 0);
	assert_int_equal(out.len, 0);
	vs_lockfile_release(&l);
	/* Upper-case hex is accepted. */
	reformat("datasets/x AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
		 &l, &out);
	id_of(&id, HEX_A);
	assert_true(vs_id_equal(&l.lines[0].commit, &id));
	vs_lockfile_release(&l);
	vs_buf_release(&out);
}

static void expect_error_len(const char *text, size_t len, const char *what)
{
	struct vs_error err = { 0 };
	struct vs_lockfile l;

	assert_int_equal(vs_lockfile_parse(&l, text, len, &err), VS_E_INVAL);
	if (!strstr(err.msg, what)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", err.msg, what);
		fail();
	}
	assert_int_equal(l.nlines, 0);
	assert_null(l.lines);
}

static void expect_error(const char *text, const char *what)
{
	expect_error_len(text, strlen(text), what);
}

static void test_parse_errors(void **state)
{
	static const char nul[] = "# ok\ndatasets/x \0";

	(void)state;
	expect_error("hello\n", "line 1: 'hello' is not a repository");
	expect_error("# c\ndataset/x " HEX_A "\n", "line 2: 'dataset/x'");
	expect_error("datasets/X " HEX_A "\n", "line 1: 'datasets/X'");
	expect_error("datasets/x\n", "line 1: no commit id after "
		     "'datasets/x'");
	expect_error("datasets/x # c\n", "no commit id");
	expect_error("datasets/x abcdef1\n", "'abcdef1' is not a full "
		     "commit id");
	expect_error("datasets/x " HEX_A "0\n", "is not a full commit id");
	expect_error("datasets/x gggggggggggggggggggggggggggggggggggggggggggggg"
		     "gggggggggggggggggg\n", "is not a full commit id");
	expect_error("datasets/x " HEX_A " extra\n",
		     "line 1: unexpected 'extra'");
	expect_error("datasets/x " HEX_A "\n\nmodels/y " HEX_B
		     "\ndatasets/x " HEX_C "\n",
		     "line 4: 'datasets/x' is pinned twice (also on line 1)");
	expect_error_len(nul, sizeof(nul) - 1, "line 2: a NUL byte");
}

static void test_pin(void **state)
{
	static const char hand[] =
		"# my pins\n"
		"models/zeta " HEX_A "   # keep my spacing\n"
		"\n"
		"datasets/mid " HEX_A "\n";
	struct vs_buf out = VS_BUF_INIT;
	struct vs_repo r_a, r_mid, r_z, r_zz;
	struct vs_lockfile l;
	struct vs_id a, b;

	(void)state;
	id_of(&a, HEX_A);
	id_of(&b, HEX_B);
	repo(&r_a, "datasets/alpha");
	repo(&r_mid, "datasets/mid");
	repo(&r_z, "models/zeta");
	repo(&r_zz, "models/zz");

	/* A new file: header, then pins sorted by repository. */
	vs_lockfile_init(&l);
	assert_true(vs_lockfile_pin(&l, &r_z, &a, "models/zeta@v1"));
	assert_true(vs_lockfile_pin(&l, &r_a, &b, "datasets/alpha"));
	assert_true(vs_lockfile_pin(&l, &r_mid, &a, NULL));
	vs_lockfile_format(&l, &out);
	assert_non_null(strstr(out.data, "# varve.lock"));
	assert_non_null(strstr(out.data,
			       "\ndatasets/alpha " HEX_B " # from datasets/alpha\n"
			       "datasets/mid " HEX_A "\n"
			       "models/zeta " HEX_A " # from models/zeta@v1\n"));
	/* Same commit: unchanged; another: its line in place. */
	assert_false(vs_lockfile_pin(&l, &r_z, &a, "something else"));
	assert_true(vs_lockfile_pin(&l, &r_mid, &b, "datasets/mid@x\n\x01"));
	vs_buf_reset(&out);
	vs_lockfile_format(&l, &out);
	assert_non_null(strstr(out.data,
			       "\ndatasets/alpha " HEX_B " # from datasets/alpha\n"
			       "datasets/mid " HEX_B " # from datasets/mid@x??\n"
			       "models/zeta " HEX_A " # from models/zeta@v1\n"));
	/* And it parses back. */
	vs_lockfile_release(&l);
	reformat(out.data, &l, &out);
	assert_int_equal(vs_lockfile_count(&l), 3);
	vs_lockfile_release(&l);

	/* A hand-written file: untouched lines stay byte for byte. */
	reformat(hand, &l, &out);
	assert_true(vs_lockfile_pin(&l, &r_a, &a, "a"));
	assert_true(vs_lockfile_pin(&l, &r_zz, &a, "zz"));
	assert_true(vs_lockfile_pin(&l, &r_mid, &b, "mid"));
	vs_buf_reset(&out);
	vs_lockfile_format(&l, &out);
	/* alpha sorts before every pin: before the first one; zz after the
	 * last pin that sorts before it (mid: the file was not sorted). */
	assert_string_equal(out.data,
			    "# my pins\n"
			    "datasets/alpha " HEX_A " # from a\n"
			    "models/zeta " HEX_A "   # keep my spacing\n"
			    "\n"
			    "datasets/mid " HEX_B " # from mid\n"
			    "models/zz " HEX_A " # from zz\n");
	vs_lockfile_release(&l);

	/* A long "from" is cut. */
	{
		char from[400];

		memset(from, 'x', sizeof(from) - 1);
		from[sizeof(from) - 1] = '\0';
		vs_lockfile_init(&l);
		vs_lockfile_pin(&l, &r_a, &a, from);
		assert_true(strlen(l.lines[l.nlines - 1].text) < 300);
		vs_lockfile_release(&l);
	}
	vs_buf_release(&out);
}

static void test_file(void **state)
{
	struct vs_error err = { 0 };
	struct vs_lockfile l, m;
	struct vs_buf data = VS_BUF_INIT;
	char dir[PATH_MAX], path[PATH_MAX];
	struct vs_repo r;
	struct vs_id a;
	struct stat st;
	bool exists = true;

	(void)state;
	tu_mkdtemp(dir);
	tu_join(path, dir, "varve.lock");
	id_of(&a, HEX_A);
	repo(&r, "datasets/x");

	assert_int_equal(vs_lockfile_read(path, &l, &exists, NULL), 0);
	assert_false(exists);
	assert_int_equal(l.nlines, 0);
	assert_int_equal(vs_lockfile_read(path, &l, NULL, &err), VS_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "varve pin"));

	vs_lockfile_pin(&l, &r, &a, "datasets/x");
	assert_int_equal(vs_lockfile_write(path, &l, NULL), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(vs_lockfile_read(path, &m, &exists, NULL), 0);
	assert_true(exists);
	assert_int_equal(vs_lockfile_count(&m), 1);
	vs_lockfile_release(&m);
	/* Only the lock file: no temporary left behind. */
	assert_int_equal(tu_count_entries(dir), 1);

	/* The mode of an existing file is kept. */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(vs_lockfile_write(path, &l, NULL), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* A bad file names itself and the line. */
	tu_write_str(path, "# ok\nbad\n");
	memset(&err, 0, sizeof(err));
	assert_int_equal(vs_lockfile_read(path, &m, &exists, &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "varve.lock' line 2: 'bad'"));
	/* A directory is no lock file. */
	memset(&err, 0, sizeof(err));
	assert_true(vs_lockfile_read(dir, &m, &exists, &err) < 0);
	/* Writing into a missing directory fails cleanly. */
	tu_join(path, dir, "no/such/varve.lock");
	assert_true(vs_lockfile_write(path, &l, NULL) < 0);

	vs_lockfile_release(&l);
	vs_buf_release(&data);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
