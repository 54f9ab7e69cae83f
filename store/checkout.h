/*
 * checkout.h - write a snapshot (or a subtree of it) out to a directory.
 */
#ifndef VS_CHECKOUT_H
#define VS_CHECKOUT_H

#include <stdatomic.h>
#include <stdint.h>

#include "rev.h"
#include "store.h"

struct vs_checkout_progress {
	uint64_t files_total, files_done;
	uint64_t bytes_total, bytes_done;
};

struct vs_checkout_opts {
	void (*progress)(void *arg, const struct vs_checkout_progress *p);
	void *progress_arg;
	/* Once *cancel is true the checkout stops soon with VS_E_CANCELED,
	 * leaving dir as it was; may be NULL. */
	const atomic_bool *cancel;
};

/*
 * Writes the tree node (a directory) to dir, which must be absent or an
 * empty directory: nothing is ever overwritten.  The content is first
 * written to a temporary sibling directory and renamed into place at the
 * end, so a failure (a corrupt chunk, a full disk) leaves dir as it was.
 * Files get mode 0644, or 0755 when executable; directories 0755.
 * Returns 0, VS_E_EXISTS (dir not empty), VS_E_CORRUPT, or a -errno.
 */
int vs_checkout(struct vs_store *s, const struct vs_node *node,
		const char *dir, const struct vs_checkout_opts *opts,
		struct vs_error *err);

/*
 * Writes file object id to the open descriptor fd (at its current offset).
 * Returns 0, a read error, or -errno from write.
 */
int vs_checkout_file_fd(struct vs_store *s, const struct vs_id *id, int fd,
			struct vs_error *err);

#endif
