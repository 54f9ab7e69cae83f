/*
 * idset.c - open-addressing hash set of ids, linear probing, load <= 1/2.
 */
#include "idset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

struct vs_idset {
	struct vs_id *slots;
	uint8_t *used;
	size_t cap;	/* a power of two */
	size_t count;
};

static size_t slot_of(const struct vs_id *id, size_t cap)
{
	uint64_t h;

	memcpy(&h, id->b, sizeof(h));
	return h & (cap - 1);
}

struct vs_idset *vs_idset_new(void)
{
	struct vs_idset *set = calloc(1, sizeof(*set));

	if (!set)
		abort();
	set->cap = 64;
	set->slots = calloc(set->cap, sizeof(*set->slots));
	set->used = calloc(set->cap, 1);
	if (!set->slots || !set->used)
		abort();
	return set;
}

void vs_idset_free(struct vs_idset *set)
{
	if (!set)
		return;
	free(set->slots);
	free(set->used);
	free(set);
}

static bool find(const struct vs_idset *set, const struct vs_id *id,
		 size_t *pos)
{
	size_t i = slot_of(id, set->cap);

	while (set->used[i]) {
		if (vs_id_equal(&set->slots[i], id)) {
			*pos = i;
			return true;
		}
		i = (i + 1) & (set->cap - 1);
	}
	*pos = i;
	return false;
}

static void grow(struct vs_idset *set)
{
	struct vs_idset bigger = { 0 };
	size_t i, pos;

	bigger.cap = set->cap * 2;
	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	bigger.used = calloc(bigger.cap, 1);
	if (!bigger.slots || !bigger.used)
		abort();
	for (i = 0; i < set->cap; i++) {
		if (!set->used[i])
			continue;
		find(&bigger, &set->slots[i], &pos);
		bigger.slots[pos] = set->slots[i];
		bigger.used[pos] = 1;
	}
	free(set->slots);
	free(set->used);
	set->slots = bigger.slots;
	set->used = bigger.used;
	set->cap = bigger.cap;
}

bool vs_idset_add(struct vs_idset *set, const struct vs_id *id)
{
	size_t pos;

	if (find(set, id, &pos))
		return false;
	if ((set->count + 1) * 2 > set->cap) {
		grow(set);
		find(set, id, &pos);
	}
	set->slots[pos] = *id;
	set->used[pos] = 1;
	set->count++;
	return true;
}

bool vs_idset_has(const struct vs_idset *set, const struct vs_id *id)
{
	size_t pos;

	return find(set, id, &pos);
}

size_t vs_idset_count(const struct vs_idset *set)
{
	return set->count;
}
