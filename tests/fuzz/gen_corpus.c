/*
 * gen_corpus.c - writes the seed corpora of the fuzz targets:
 * tests/fuzz/corpus/{file,tree,commit,tag}/, a few valid encodings each.
 *
 * Not built by default; run it by hand when an encoding changes:
 *   cc -std=c11 -D_GNU_SOURCE -Istore store/error.c store/buf.c \
 *      store/hash.c store/object.c tests/fuzz/gen_corpus.c -lcrypto \
 *      -o /tmp/gen_corpus && /tmp/gen_corpus tests/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hash.h"
#include "object.h"
#include "banned.h"

static const char *root;

static void make_id(struct vs_id *id, unsigned seed)
{
	vs_hash(&seed, sizeof(seed), id);
}

/* Write b to root/dir/name and reset b. */
static void put(const char *dir, const char *name, struct vs_buf *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", root, dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b->data, 1, b->len, f) != b->len || fclose(f)) {
		perror(path);
		exit(1);
	}
	vs_buf_reset(b);
}

static void gen_files(struct vs_buf *b)
{
	static const uint64_t lens[] = { 65536, 81920, 12345 };
	struct vs_file f;
	struct vs_id id;
	size_t i;

	vs_file_init(&f);
	vs_file_set_inline(&f, "hello, world\n", 13);
	vs_file_encode(&f, b);
	put("file", "inline", b);
	vs_file_set_inline(&f, "", 0);
	vs_file_encode(&f, b);
	put("file", "inline-empty", b);
	vs_file_release(&f);
	vs_file_encode(&f, b);
	put("file", "chunked-empty", b);
	for (i = 0; i < 3; i++) {
		make_id(&id, (unsigned)i);
		vs_file_add_chunk(&f, &id, lens[i]);
	}
	vs_file_encode(&f, b);
	put("file", "chunked-3", b);
	vs_file_release(&f);
	make_id(&id, 9);
	vs_file_add_chunk(&f, &id, 1ull << 40);
	vs_file_encode(&f, b);
	put("file", "chunked-huge", b);
	vs_file_release(&f);
}

static void gen_trees(struct vs_buf *b)
{
	struct vs_tree t;
	struct vs_id id;

	vs_tree_init(&t);
	vs_tree_encode(&t, b);
	put("tree", "empty", b);
	make_id(&id, 1);
	vs_tree_add(&t, "train", 5, VS_ENTRY_DIR, 1ull << 33, &id);
	make_id(&id, 2);
	vs_tree_add(&t, "labels.csv", 10, VS_ENTRY_FILE, 4711, &id);
	make_id(&id, 3);
	vs_tree_add(&t, "run.sh", 6, VS_ENTRY_EXEC, 120, &id);
	make_id(&id, 4);
	vs_tree_add(&t, "latest", 6, VS_ENTRY_SYMLINK, 5, &id);
	vs_tree_sort(&t);
	vs_tree_encode(&t, b);
	put("tree", "four-types", b);
	make_id(&id, 5);
	vs_tree_add(&t, "\xff\xfe", 2, VS_ENTRY_FILE, 0, &id);
	make_id(&id, 6);
	vs_tree_add(&t, "a", 1, VS_ENTRY_FILE, 1, &id);
	make_id(&id, 7);
	vs_tree_add(&t, "ab", 2, VS_ENTRY_FILE, 2, &id);
	vs_tree_sort(&t);
	vs_tree_encode(&t, b);
	put("tree", "odd-names", b);
	vs_tree_release(&t);
}

static void gen_commits(struct vs_buf *b)
{
	struct vs_commit c;
	struct vs_id id;

	vs_commit_init(&c);
	make_id(&c.tree, 10);
	c.time = 1700000000;
	vs_commit_set_author(&c, "Ada <ada@example.org>");
	vs_commit_set_message(&c, "initial import");
	vs_commit_encode(&c, b);
	put("commit", "root", b);
	make_id(&id, 11);
	vs_commit_add_parent(&c, &id);
	vs_commit_set_meta(&c, "ci.run", "1234");
	vs_commit_encode(&c, b);
	put("commit", "one-parent", b);
	make_id(&id, 12);
	vs_commit_add_parent(&c, &id);
	vs_commit_set_meta(&c, "ci.provider", "github");
	vs_commit_set_meta(&c, "ci.url", "https://ci.example/run/1234");
	vs_commit_set_message(&c, "merge\n\nwith a body \xe2\x9c\x93\n");
	vs_commit_encode(&c, b);
	put("commit", "merge-meta", b);
	vs_commit_release(&c);
}

static void gen_tags(struct vs_buf *b)
{
	struct vs_tag t;

	vs_tag_init(&t);
	make_id(&t.commit, 20);
	t.time = 1700000100;
	vs_tag_set_author(&t, "ci-bot");
	vs_tag_set_message(&t, "v1");
	vs_tag_encode(&t, b);
	put("tag", "plain", b);
	vs_tag_set_meta(&t, "run", "1234");
	vs_tag_set_meta(&t, "attempt", "2");
	vs_tag_encode(&t, b);
	put("tag", "meta", b);
	vs_tag_release(&t);
}

int main(int argc, char **argv)
{
	struct vs_buf b = VS_BUF_INIT;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_ROOT\n", argv[0]);
		return 2;
	}
	root = argv[1];
	gen_files(&b);
	gen_trees(&b);
	gen_commits(&b);
	gen_tags(&b);
	vs_buf_release(&b);
	return 0;
}
