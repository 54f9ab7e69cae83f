/*
 * fileio.c - complete writes and atomic replacement of small files (the
 * store's config, lock files).
 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"
#include "banned.h"

int vs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int vs_write_file_atomic(const char *path, const void *data, size_t len,
			 mode_t mode)
{
	struct vs_buf tmp = VS_BUF_INIT;
	char *c1 = vs_xstrdup(path), *c2 = vs_xstrdup(path), *dir;
	int fd, dfd, r;

	/* dirname and basename may modify their argument: two copies. */
	dir = dirname(c1);
	vs_buf_addf(&tmp, "%s/.%s.tmp-XXXXXX", dir, basename(c2));
	fd = mkstemp(tmp.data);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = vs_write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp.data, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp.data);
		goto out;
	}
	/* The rename itself must survive a crash too. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	free(c1);
	free(c2);
	vs_buf_release(&tmp);
	return r;
}
