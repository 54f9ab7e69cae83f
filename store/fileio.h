/*
 * fileio.h - writing files completely, and replacing them atomically.
 */
#ifndef VS_FILEIO_H
#define VS_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* write(2) until all of <data, len> is written.  0 or -errno. */
int vs_write_all(int fd, const void *data, size_t len);

/*
 * Replaces path with <data, len> and file mode mode: a temporary file in
 * the same directory, fsync, rename over path, fsync of the directory, so
 * that after a crash path holds either its old bytes or the new ones.
 * 0 or -errno; the temporary file is gone either way.
 */
int vs_write_file_atomic(const char *path, const void *data, size_t len,
			 mode_t mode);

#endif
