/*
 * test_fileio.c - unit tests of store/fileio.c: complete writes, and atomic
 * replacement that keeps the requested mode and leaves no temporary file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "testutil.h"
#include "banned.h"

static size_t entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void expect_file(const char *path, const char *want, mode_t mode)
{
	char buf[64];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode);
}

static void test_atomic_replace(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX], missing[PATH_MAX];

	tu_mkdtemp(dir);
	tu_join(path, dir, "f");
	assert_int_equal(vs_write_file_atomic(path, "first", 5, 0600), 0);
	expect_file(path, "first", 0600);
	assert_int_equal(vs_write_file_atomic(path, "second!", 7, 0644), 0);
	expect_file(path, "second!", 0644);
	assert_int_equal(vs_write_file_atomic(path, "", 0, 0644), 0);
	expect_file(path, "", 0644);
	/* No temporary file left behind. */
	assert_int_equal(entries(dir), 1);
	/* A missing directory: an error, and nothing written. */
	tu_join(missing, dir, "no/such/f");
	assert_int_equal(vs_write_file_atomic(missing, "x", 1, 0644),
			 -ENOENT);
	assert_int_equal(entries(dir), 1);
	tu_rm_rf(dir);
}

static void test_write_all(void **state)
{
	static char big[1 << 20];
	char dir[PATH_MAX], path[PATH_MAX];
	struct stat st;
	int fd;

	memset(big, 'v', sizeof(big));
	tu_mkdtemp(dir);
	tu_join(path, dir, "big");
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(vs_write_all(fd, big, sizeof(big)), 0);
	assert_int_equal(vs_write_all(fd, big, 0), 0);
	close(fd);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, sizeof(big));
	/* A descriptor open for reading only: the error comes back. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_int_equal(vs_write_all(fd, "x", 1), -EBADF);
	close(fd);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic_replace),
		cmocka_unit_test(test_write_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
