/*
 * pins.h - what a lock file pins, in the store: check that each pinned
 * snapshot is there in full, and check them all out.
 *
 * The lock file's text (parse, format, find, pin, read, write) is
 * lockfile.h; this module is what `varve lock verify` and `varve checkout
 * --lock` do with a parsed lock, on top of the walker (walk.h) and
 * checkout (checkout.h).
 */
#ifndef VS_PINS_H
#define VS_PINS_H

#include <stdbool.h>
#include <stdint.h>

#include "checkout.h"
#include "error.h"
#include "lockfile.h"
#include "store.h"

/* What vs_pins_check found for one pin. */
struct vs_pins_status {
	bool repo_missing;	/* the repository is not in the store */
	bool commit_missing;	/* the commit object is not in the store */
	uint64_t missing;	/* objects and chunks below it not there */
};

/*
 * Checks that the store holds pin's repository, its commit and every tree,
 * file and chunk below it (chunk presence, without reading the bodies),
 * counting each missing object or chunk once.  Fills *out; returns 0
 * (whatever it found missing) or an error that stopped the walk (a corrupt
 * object, a read error).
 */
int vs_pins_check(struct vs_store *s, const struct vs_lockfile_line *pin,
		  struct vs_pins_status *out, struct vs_error *err);

/*
 * Checks out every pin of l to dir/datasets/NAME and dir/models/NAME.
 * dir must be absent or an empty directory; everything is first written
 * to a temporary sibling directory which is renamed to dir at the end, so
 * a failure leaves dir as it was.  co (may be NULL) is passed to each
 * vs_checkout().  Returns 0, VS_E_EXISTS (dir not empty), VS_E_INVAL (l
 * pins nothing), VS_E_NOTFOUND (a pinned commit is missing), a read error
 * or a -errno.
 */
int vs_pins_checkout(struct vs_store *s, const struct vs_lockfile *l,
		     const char *dir, const struct vs_checkout_opts *co,
		     struct vs_error *err);

#endif
