/*
 * object.c - encoders and decoders of varve's objects: file, tree, commit
 * and tag (formats in object.h's design notes).
 *
 * Encoders write the canonical form and assert that the value is encodable
 * (sorted, valid names, chunk lengths summing to the size); decoders accept
 * exactly the canonical form and nothing else, so for every input a decoder
 * accepts, encoding the result gives the input back byte for byte (the fuzz
 * targets in tests/fuzz/ check this).  Beyond object.h, decoders also reject:
 *  - unknown flag bits in a file, and version 0 (VS_E_CORRUPT);
 *  - a NUL byte inside author, message, meta key or meta value, which are
 *    held as C strings and could not round-trip;
 *  - counts larger than the rest of the input could hold (each chunk ref
 *    takes at least 33 bytes, tree entry 36, parent 32, meta pair 3), so a
 *    hostile count never triggers a large allocation.
 * A failed decode leaves its output released: nothing to free.
 *
 * Every _init allocates nothing and every _release leaves the struct as
 * _init does, so "init, then decode" leaks nothing and releasing twice is
 * harmless.  For that, a fresh commit's or tag's author and message point at
 * one shared, never written empty string (vs_obj_nostr), freed by no one:
 * change them only through the _set_ functions.
 *
 * The owned arrays without a capacity field (file chunks, commit parents,
 * meta) are always allocated with vs_array_cap(count) elements; that is what
 * lets the _add/_set functions grow them geometrically.  Code outside this
 * file must build these arrays through the functions declared in object.h.
 */
#include "object.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "xalloc.h"
#include "banned.h"

/* Smallest encodings of one repeated element, for count sanity checks. */
#define VS_CHUNK_REF_MIN (VS_ID_LEN + 1)
#define VS_TREE_ENTRY_MIN (1 + 2 + 1 + VS_ID_LEN)
#define VS_META_MIN 3

static char vs_obj_nostr[1];

/* Free an author or message string, which may be vs_obj_nostr. */
static void vs_str_free(char *s)
{
	if (s != vs_obj_nostr)
		free(s);
}

/* Replace an author or message string with a copy of s. */
static void vs_str_set(char **field, const char *s)
{
	char *copy = vs_xstrdup(s);

	vs_str_free(*field);
	*field = copy;
}

/* Elements allocated for an array of n (0 for none, else a power of 2). */
static size_t vs_array_cap(size_t n)
{
	size_t cap = 8;

	if (!n)
		return 0;
	while (cap < n) {
		if (cap > SIZE_MAX / 2)
			abort();
		cap *= 2;
	}
	return cap;
}

/* Make room for element n of an array allocated by vs_array_cap(n). */
static void *vs_array_grow(void *p, size_t n, size_t size)
{
	if (vs_array_cap(n + 1) == vs_array_cap(n))
		return p;
	return vs_xreallocarray(p, vs_array_cap(n + 1), size);
}

int vs_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	if (r)
		return r;
	return alen < blen ? -1 : alen > blen;
}

/* Type and version bytes: 0, VS_E_CORRUPT or VS_E_VERSION. */
static int vs_obj_header(struct vs_cursor *c, enum vs_obj_type type)
{
	uint8_t t = vs_cursor_u8(c);
	uint8_t v = vs_cursor_u8(c);

	if (!vs_cursor_ok(c) || t != type)
		return VS_E_CORRUPT;
	if (v > VS_OBJ_VERSION)
		return VS_E_VERSION;
	if (v != VS_OBJ_VERSION)
		return VS_E_CORRUPT;
	return 0;
}

static void vs_obj_add_header(struct vs_buf *out, enum vs_obj_type type)
{
	vs_buf_addch(out, type);
	vs_buf_addch(out, VS_OBJ_VERSION);
}

static bool vs_cursor_id(struct vs_cursor *c, struct vs_id *id)
{
	const uint8_t *p = vs_cursor_take(c, VS_ID_LEN);

	if (!p)
		return false;
	memcpy(id->b, p, VS_ID_LEN);
	return true;
}

/*
 * A length-prefixed string without NUL bytes, as a new C string (caller
 * frees), or NULL with the cursor marked bad.
 */
static char *vs_cursor_str(struct vs_cursor *c, size_t *lenp)
{
	size_t len;
	const uint8_t *p = vs_cursor_bytes(c, &len);

	if (!p)
		return NULL;
	if (memchr(p, '\0', len)) {
		c->bad = true;
		return NULL;
	}
	if (lenp)
		*lenp = len;
	return vs_xmemdupz(p, len);
}

/*
 * Author and message into *author and *message, which hold vs_obj_nostr
 * (from _init) and are left so on failure.  0 or VS_E_CORRUPT.
 */
static int vs_cursor_strs(struct vs_cursor *c, char **author, char **message)
{
	char *a = vs_cursor_str(c, NULL);
	char *m = vs_cursor_str(c, NULL);

	if (!a || !m) {
		free(a);
		free(m);
		return VS_E_CORRUPT;
	}
	*author = a;
	*message = m;
	return 0;
}

int vs_obj_type_of(const void *data, size_t len)
{
	return len ? ((const uint8_t *)data)[0] : 0;
}

/* --- file ----------------------------------------------------------- */

void vs_file_init(struct vs_file *f)
{
	f->size = 0;
	f->inline_data = NULL;
	f->nchunks = 0;
	f->chunks = NULL;
}

void vs_file_release(struct vs_file *f)
{
	free(f->inline_data);
	free(f->chunks);
	vs_file_init(f);
}

void vs_file_add_chunk(struct vs_file *f, const struct vs_id *id, uint64_t len)
{
	struct vs_chunk_ref *ref;

	assert(!f->inline_data);
	assert(len >= 1 && len <= UINT64_MAX - f->size);
	f->chunks = vs_array_grow(f->chunks, f->nchunks, sizeof(*f->chunks));
	ref = &f->chunks[f->nchunks++];
	ref->id = *id;
	ref->len = len;
	ref->offset = f->size;
	f->size += len;
}

void vs_file_set_inline(struct vs_file *f, const void *data, size_t len)
{
	uint8_t *copy;

	assert(len <= VS_FILE_INLINE_MAX);
	copy = vs_xmalloc(len);
	if (len)
		memcpy(copy, data, len);
	vs_file_release(f);
	f->inline_data = copy;
	f->size = len;
}

void vs_file_encode(const struct vs_file *f, struct vs_buf *out)
{
	uint64_t total = 0;
	size_t i;

	vs_obj_add_header(out, VS_OBJ_FILE);
	vs_buf_addch(out, f->inline_data ? VS_FILE_INLINE : 0);
	vs_buf_add_varint(out, f->size);
	if (f->inline_data) {
		assert(f->size <= VS_FILE_INLINE_MAX && !f->nchunks);
		vs_buf_add(out, f->inline_data, (size_t)f->size);
		return;
	}
	vs_buf_add_varint(out, f->nchunks);
	for (i = 0; i < f->nchunks; i++) {
		assert(f->chunks[i].len >= 1);
		total += f->chunks[i].len;
		vs_buf_add(out, f->chunks[i].id.b, VS_ID_LEN);
		vs_buf_add_varint(out, f->chunks[i].len);
	}
	assert(total == f->size);
	(void)total;
}

static int vs_file_decode_chunks(struct vs_file *f, struct vs_cursor *c)
{
	uint64_t n = vs_cursor_varint(c);
	uint64_t off = 0;
	struct vs_chunk_ref *ref;

	if (!vs_cursor_ok(c) || n > vs_cursor_left(c) / VS_CHUNK_REF_MIN)
		return VS_E_CORRUPT;
	if (n)
		f->chunks = vs_xreallocarray(NULL, vs_array_cap((size_t)n),
					     sizeof(*f->chunks));
	while (f->nchunks < n) {
		ref = &f->chunks[f->nchunks];
		if (!vs_cursor_id(c, &ref->id))
			return VS_E_CORRUPT;
		ref->len = vs_cursor_varint(c);
		if (!vs_cursor_ok(c) || !ref->len || ref->len > f->size - off)
			return VS_E_CORRUPT;
		ref->offset = off;
		off += ref->len;
		f->nchunks++;
	}
	return off == f->size ? 0 : VS_E_CORRUPT;
}

int vs_file_decode(struct vs_file *f, const void *data, size_t len)
{
	struct vs_cursor c;
	const uint8_t *p;
	uint8_t flags;
	int r;

	vs_file_init(f);
	vs_cursor_init(&c, data, len);
	r = vs_obj_header(&c, VS_OBJ_FILE);
	if (r)
		goto out_release;
	r = VS_E_CORRUPT;
	flags = vs_cursor_u8(&c);
	f->size = vs_cursor_varint(&c);
	if (!vs_cursor_ok(&c) || (flags & ~VS_FILE_INLINE))
		goto out_release;
	if (flags & VS_FILE_INLINE) {
		if (f->size > VS_FILE_INLINE_MAX)
			goto out_release;
		p = vs_cursor_take(&c, (size_t)f->size);
		if (!p)
			goto out_release;
		f->inline_data = vs_xmalloc((size_t)f->size);
		if (f->size)
			memcpy(f->inline_data, p, (size_t)f->size);
	} else {
		r = vs_file_decode_chunks(f, &c);
		if (r)
			goto out_release;
		r = VS_E_CORRUPT;
	}
	if (!vs_cursor_ok(&c) || vs_cursor_left(&c))
		goto out_release;
	r = 0;
out_release:
	if (r)
		vs_file_release(f);
	return r;
}

size_t vs_file_find_chunk(const struct vs_file *f, uint64_t off)
{
	size_t lo = 0, hi = f->nchunks, mid;

	if (off >= f->size || !f->nchunks)
		return f->nchunks;
	/* Invariant: chunks[lo].offset <= off < chunks[hi].offset (or end). */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (f->chunks[mid].offset <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* --- tree ----------------------------------------------------------- */

bool vs_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > VS_NAME_MAX)
		return false;
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return false;
	return !memchr(name, '/', len) && !memchr(name, '\0', len);
}

static bool vs_entry_type_valid(unsigned type)
{
	return type >= VS_ENTRY_FILE && type <= VS_ENTRY_SYMLINK;
}

void vs_tree_init(struct vs_tree *t)
{
	t->count = 0;
	t->alloc = 0;
	t->entries = NULL;
}

void vs_tree_release(struct vs_tree *t)
{
	size_t i;

	for (i = 0; i < t->count; i++)
		free(t->entries[i].name);
	free(t->entries);
	vs_tree_init(t);
}

void vs_tree_add(struct vs_tree *t, const char *name, size_t name_len,
		 enum vs_entry_type type, uint64_t size, const struct vs_id *id)
{
	struct vs_tree_entry *e;

	if (t->count == t->alloc) {
		t->alloc = t->alloc ? t->alloc * 2 : 16;
		t->entries = vs_xreallocarray(t->entries, t->alloc,
					      sizeof(*t->entries));
	}
	e = &t->entries[t->count++];
	e->name = vs_xmemdupz(name, name_len);
	e->name_len = name_len;
	e->type = type;
	e->size = size;
	e->id = *id;
}

static int vs_entry_cmp(const void *a, const void *b)
{
	const struct vs_tree_entry *x = a, *y = b;

	return vs_name_cmp(x->name, x->name_len, y->name, y->name_len);
}

void vs_tree_sort(struct vs_tree *t)
{
	if (t->count > 1)
		qsort(t->entries, t->count, sizeof(*t->entries), vs_entry_cmp);
}

const struct vs_tree_entry *vs_tree_entries_find(
	const struct vs_tree_entry *entries, size_t count, const char *name,
	size_t name_len)
{
	size_t lo = 0, hi = count, mid;
	const struct vs_tree_entry *e;
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		e = &entries[mid];
		r = vs_name_cmp(name, name_len, e->name, e->name_len);
		if (!r)
			return e;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct vs_tree_entry *vs_tree_find(const struct vs_tree *t,
					 const char *name, size_t name_len)
{
	return vs_tree_entries_find(t->entries, t->count, name, name_len);
}

void vs_tree_encode(const struct vs_tree *t, struct vs_buf *out)
{
	const struct vs_tree_entry *e;
	size_t i;

	vs_obj_add_header(out, VS_OBJ_TREE);
	vs_buf_add_varint(out, t->count);
	for (i = 0; i < t->count; i++) {
		e = &t->entries[i];
		assert(vs_name_valid(e->name, e->name_len));
		assert(vs_entry_type_valid(e->type));
		assert(!i || vs_entry_cmp(e - 1, e) < 0);
		vs_buf_addch(out, e->type);
		vs_buf_add_bytes(out, e->name, e->name_len);
		vs_buf_add_varint(out, e->size);
		vs_buf_add(out, e->id.b, VS_ID_LEN);
	}
}

/*
 * Reads the entry after prev (NULL for the first) into e, its name borrowed
 * from the input (*name, e->name_len).  0 or VS_E_CORRUPT.
 */
static int vs_tree_next_entry(struct vs_cursor *c,
			      const struct vs_tree_entry *prev,
			      struct vs_tree_entry *e, const uint8_t **name)
{
	size_t name_len;

	e->type = vs_cursor_u8(c);
	*name = vs_cursor_bytes(c, &name_len);
	e->size = vs_cursor_varint(c);
	if (!vs_cursor_id(c, &e->id) || !vs_entry_type_valid(e->type) ||
	    !vs_name_valid((const char *)*name, name_len))
		return VS_E_CORRUPT;
	if (prev && vs_name_cmp(prev->name, prev->name_len,
				(const char *)*name, name_len) >= 0)
		return VS_E_CORRUPT;
	e->name_len = name_len;
	return 0;
}

/*
 * Checks the header and the entry count of an encoded tree; *n gets the
 * count, which the input is long enough to hold.  0, VS_E_CORRUPT or
 * VS_E_VERSION.
 */
static int vs_tree_decode_head(struct vs_cursor *c, const void *data,
			       size_t len, size_t *n)
{
	uint64_t count;
	int r;

	vs_cursor_init(c, data, len);
	r = vs_obj_header(c, VS_OBJ_TREE);
	if (r)
		return r;
	count = vs_cursor_varint(c);
	if (!vs_cursor_ok(c) || count > vs_cursor_left(c) / VS_TREE_ENTRY_MIN)
		return VS_E_CORRUPT;
	*n = (size_t)count;
	return 0;
}

int vs_tree_decode(struct vs_tree *t, const void *data, size_t len)
{
	struct vs_cursor c;
	const uint8_t *name;
	size_t n;
	int r;

	vs_tree_init(t);
	r = vs_tree_decode_head(&c, data, len, &n);
	if (r)
		goto out_release;
	if (n) {
		t->entries = vs_xreallocarray(NULL, n, sizeof(*t->entries));
		t->alloc = n;
	}
	while (t->count < n) {
		struct vs_tree_entry *e = &t->entries[t->count];

		r = vs_tree_next_entry(&c, t->count ? e - 1 : NULL, e, &name);
		if (r)
			goto out_release;
		e->name = vs_xmemdupz(name, e->name_len);
		t->count++;
	}
	r = VS_E_CORRUPT;
	if (!vs_cursor_ok(&c) || vs_cursor_left(&c))
		goto out_release;
	r = 0;
out_release:
	if (r)
		vs_tree_release(t);
	return r;
}

void vs_tree_view_init(struct vs_tree_view *v)
{
	v->count = 0;
	v->entries = NULL;
	v->bytes = 0;
}

void vs_tree_view_release(struct vs_tree_view *v)
{
	free(v->entries);
	vs_tree_view_init(v);
}

int vs_tree_view_decode(struct vs_tree_view *v, const void *data, size_t len)
{
	struct vs_tree_entry *e, prev, cur;
	struct vs_cursor c;
	const uint8_t *name;
	size_t n, i, names_len = 0;
	char *names;
	int r;

	vs_tree_view_init(v);
	/* First pass: check everything and measure the names. */
	r = vs_tree_decode_head(&c, data, len, &n);
	for (i = 0; r == 0 && i < n; i++) {
		r = vs_tree_next_entry(&c, i ? &prev : NULL, &cur, &name);
		cur.name = (char *)name;
		prev = cur;
		names_len += cur.name_len + 1;
	}
	if (r == 0 && (!vs_cursor_ok(&c) || vs_cursor_left(&c)))
		r = VS_E_CORRUPT;
	if (r)
		return r;
	/* Second pass: the entries, then their names, in one block. */
	v->bytes = n * sizeof(*e) + names_len;
	v->entries = vs_xmalloc(v->bytes ? v->bytes : 1);
	names = (char *)(v->entries + n);
	vs_tree_decode_head(&c, data, len, &n);
	for (; v->count < n; v->count++) {
		e = &v->entries[v->count];
		vs_tree_next_entry(&c, v->count ? e - 1 : NULL, e, &name);
		memcpy(names, name, e->name_len);
		names[e->name_len] = '\0';
		e->name = names;
		names += e->name_len + 1;
	}
	return 0;
}

/* --- metadata shared by commits and tags ---------------------------- */

static void vs_meta_release(size_t *nmeta, struct vs_meta **meta)
{
	size_t i;

	for (i = 0; i < *nmeta; i++) {
		free((*meta)[i].key);
		free((*meta)[i].value);
	}
	free(*meta);
	*meta = NULL;
	*nmeta = 0;
}

static void vs_meta_set(size_t *nmeta, struct vs_meta **meta,
			const char *key, const char *value)
{
	size_t lo = 0, hi = *nmeta, mid;
	struct vs_meta *m;
	char *copy;
	int r;

	assert(key[0]);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = strcmp(key, (*meta)[mid].key);
		if (!r) {
			m = &(*meta)[mid];
			copy = vs_xstrdup(value);
			free(m->value);
			m->value = copy;
			return;
		}
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*meta = vs_array_grow(*meta, *nmeta, sizeof(**meta));
	m = &(*meta)[lo];
	memmove(m + 1, m, (*nmeta - lo) * sizeof(*m));
	m->key = vs_xstrdup(key);
	m->value = vs_xstrdup(value);
	(*nmeta)++;
}

static void vs_meta_encode(size_t nmeta, const struct vs_meta *meta,
			   struct vs_buf *out)
{
	size_t i;

	vs_buf_add_varint(out, nmeta);
	for (i = 0; i < nmeta; i++) {
		assert(meta[i].key[0]);
		assert(!i || strcmp(meta[i - 1].key, meta[i].key) < 0);
		vs_buf_add_bytes(out, meta[i].key, strlen(meta[i].key));
		vs_buf_add_bytes(out, meta[i].value, strlen(meta[i].value));
	}
}

/* Fills *nmeta, *meta (released by the caller's release on failure). */
static int vs_meta_decode(size_t *nmeta, struct vs_meta **meta,
			  struct vs_cursor *c)
{
	uint64_t n = vs_cursor_varint(c);
	struct vs_meta *m;
	size_t klen;

	if (!vs_cursor_ok(c) || n > vs_cursor_left(c) / VS_META_MIN)
		return VS_E_CORRUPT;
	if (n)
		*meta = vs_xreallocarray(NULL, vs_array_cap((size_t)n),
					 sizeof(**meta));
	while (*nmeta < n) {
		m = &(*meta)[*nmeta];
		m->key = vs_cursor_str(c, &klen);
		if (!m->key)
			return VS_E_CORRUPT;
		m->value = vs_cursor_str(c, NULL);
		if (!m->value) {
			free(m->key);
			return VS_E_CORRUPT;
		}
		(*nmeta)++;
		/* Keys hold no NUL, so strcmp is memcmp order here. */
		if (!klen || (*nmeta > 1 && strcmp(m[-1].key, m->key) >= 0))
			return VS_E_CORRUPT;
	}
	return 0;
}

/*
 * The tail commits and tags share: time, author, message, meta.  Decoding
 * it also checks that nothing follows; on failure the caller releases.
 */
static void vs_sig_encode(uint64_t time, const char *author,
			  const char *message, size_t nmeta,
			  const struct vs_meta *meta, struct vs_buf *out)
{
	vs_buf_add_varint(out, time);
	vs_buf_add_bytes(out, author, strlen(author));
	vs_buf_add_bytes(out, message, strlen(message));
	vs_meta_encode(nmeta, meta, out);
}

static int vs_sig_decode(struct vs_cursor *cur, uint64_t *time, char **author,
			 char **message, size_t *nmeta, struct vs_meta **meta)
{
	int r;

	*time = vs_cursor_varint(cur);
	r = vs_cursor_strs(cur, author, message);
	if (r)
		return r;
	r = vs_meta_decode(nmeta, meta, cur);
	if (r)
		return r;
	if (!vs_cursor_ok(cur) || vs_cursor_left(cur))
		return VS_E_CORRUPT;
	return 0;
}

/* --- commit --------------------------------------------------------- */

void vs_commit_init(struct vs_commit *c)
{
	memset(&c->tree, 0, sizeof(c->tree));
	c->nparents = 0;
	c->parents = NULL;
	c->time = 0;
	c->author = vs_obj_nostr;
	c->message = vs_obj_nostr;
	c->nmeta = 0;
	c->meta = NULL;
}

void vs_commit_release(struct vs_commit *c)
{
	free(c->parents);
	vs_str_free(c->author);
	vs_str_free(c->message);
	vs_meta_release(&c->nmeta, &c->meta);
	vs_commit_init(c);
}

void vs_commit_add_parent(struct vs_commit *c, const struct vs_id *id)
{
	c->parents = vs_array_grow(c->parents, c->nparents,
				   sizeof(*c->parents));
	c->parents[c->nparents++] = *id;
}

void vs_commit_set_author(struct vs_commit *c, const char *s)
{
	vs_str_set(&c->author, s);
}

void vs_commit_set_message(struct vs_commit *c, const char *s)
{
	vs_str_set(&c->message, s);
}

void vs_commit_set_meta(struct vs_commit *c, const char *key,
			const char *value)
{
	vs_meta_set(&c->nmeta, &c->meta, key, value);
}

void vs_commit_encode(const struct vs_commit *c, struct vs_buf *out)
{
	size_t i;

	vs_obj_add_header(out, VS_OBJ_COMMIT);
	vs_buf_add(out, c->tree.b, VS_ID_LEN);
	vs_buf_add_varint(out, c->nparents);
	for (i = 0; i < c->nparents; i++)
		vs_buf_add(out, c->parents[i].b, VS_ID_LEN);
	vs_sig_encode(c->time, c->author, c->message, c->nmeta, c->meta, out);
}

int vs_commit_decode(struct vs_commit *c, const void *data, size_t len)
{
	struct vs_cursor cur;
	uint64_t n;
	int r;

	vs_commit_init(c);
	vs_cursor_init(&cur, data, len);
	r = vs_obj_header(&cur, VS_OBJ_COMMIT);
	if (r)
		goto out_release;
	r = VS_E_CORRUPT;
	vs_cursor_id(&cur, &c->tree);
	n = vs_cursor_varint(&cur);
	if (!vs_cursor_ok(&cur) || n > vs_cursor_left(&cur) / VS_ID_LEN)
		goto out_release;
	if (n)
		c->parents = vs_xreallocarray(NULL, vs_array_cap((size_t)n),
					      sizeof(*c->parents));
	for (; c->nparents < n; c->nparents++)
		vs_cursor_id(&cur, &c->parents[c->nparents]);
	r = vs_sig_decode(&cur, &c->time, &c->author, &c->message, &c->nmeta,
			  &c->meta);
out_release:
	if (r)
		vs_commit_release(c);
	return r;
}

/* --- tag ------------------------------------------------------------ */

void vs_tag_init(struct vs_tag *t)
{
	memset(&t->commit, 0, sizeof(t->commit));
	t->time = 0;
	t->author = vs_obj_nostr;
	t->message = vs_obj_nostr;
	t->nmeta = 0;
	t->meta = NULL;
}

void vs_tag_release(struct vs_tag *t)
{
	vs_str_free(t->author);
	vs_str_free(t->message);
	vs_meta_release(&t->nmeta, &t->meta);
	vs_tag_init(t);
}

void vs_tag_set_author(struct vs_tag *t, const char *s)
{
	vs_str_set(&t->author, s);
}

void vs_tag_set_message(struct vs_tag *t, const char *s)
{
	vs_str_set(&t->message, s);
}

void vs_tag_set_meta(struct vs_tag *t, const char *key, const char *value)
{
	vs_meta_set(&t->nmeta, &t->meta, key, value);
}

void vs_tag_encode(const struct vs_tag *t, struct vs_buf *out)
{
	vs_obj_add_header(out, VS_OBJ_TAG);
	vs_buf_add(out, t->commit.b, VS_ID_LEN);
	vs_sig_encode(t->time, t->author, t->message, t->nmeta, t->meta, out);
}

int vs_tag_decode(struct vs_tag *t, const void *data, size_t len)
{
	struct vs_cursor cur;
	int r;

	vs_tag_init(t);
	vs_cursor_init(&cur, data, len);
	r = vs_obj_header(&cur, VS_OBJ_TAG);
	if (r)
		goto out_release;
	r = VS_E_CORRUPT;
	vs_cursor_id(&cur, &t->commit);
	r = vs_sig_decode(&cur, &t->time, &t->author, &t->message, &t->nmeta,
			  &t->meta);
out_release:
	if (r)
		vs_tag_release(t);
	return r;
}
