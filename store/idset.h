/*
 * idset.h - a set of ids (open addressing; ids are uniform hashes, so
 * their first bytes serve as the hash).  Used by walks to visit each object
 * once.  Not thread safe.
 */
#ifndef VS_IDSET_H
#define VS_IDSET_H

#include <stdbool.h>
#include <stddef.h>

#include "hash.h"

struct vs_idset;

struct vs_idset *vs_idset_new(void);
void vs_idset_free(struct vs_idset *set);
/* True if id was not in the set yet (and is now). */
bool vs_idset_add(struct vs_idset *set, const struct vs_id *id);
bool vs_idset_has(const struct vs_idset *set, const struct vs_id *id);
size_t vs_idset_count(const struct vs_idset *set);

#endif
