#!/usr/bin/env bash
# Random edits of a writable head, checked against the same edits of a plain
# directory (tests/integration/headfuzz.py): every result and the whole tree agree,
# after each batch of edits, after kill -9 of the daemon and a remount, and in the
# checkout of the commit that follows. Small chunks (16 KiB) make most edits cross
# chunk boundaries. VARVE_FUZZ_SEED and VARVE_FUZZ_OPS run other sequences.
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
source "$(dirname "$0")/lib.sh"
source "$VARVE_SRC/tests/integration/mountlib.sh"
requires python3

seed=${VARVE_FUZZ_SEED:-1}
if is_sanitized; then ops=${VARVE_FUZZ_OPS:-150}; else ops=${VARVE_FUZZ_OPS:-400}; fi
FUZZ=$VARVE_SRC/tests/integration/headfuzz.py

expect_exit 0 varve init --chunk-avg 16
STORE=$TMP/.varve
expect_exit 0 varve create dataset f
mkdir -p ref/dir
randbytes base 200000 >ref/base.bin
echo hello >ref/dir/a.txt
expect_exit 0 varve commit datasets/f --from ref -m base

# fuzz SEED OPS: the edits on the mounted head and on ref, compared
fuzz() {
	python3 "$FUZZ" mnt/datasets/f ref "$1" "$2" 50 >"$TMP/fuzz.out" 2>&1 ||
		{ cat "$TMP/fuzz.out" >&2; fail "head and ref diverged (seed $1)"; }
}
# same_as_ref: the mounted head and ref hold the same tree (no edits)
same_as_ref() { fuzz 0 0; }
# commit_and_check: commit the staged edits; the checkout equals ref
commit_and_check() {
	expect_exit 0 varve commit datasets/f -m "$1"
	rm -rf "co-$1"
	expect_exit 0 varve checkout datasets/f "co-$1"
	assert_same_tree ref "co-$1"
}

# 1. Edits over a committed base, then kill -9: the remounted head is the same.
mount_store mnt
fuzz "$seed" "$ops"
kill -9 "$DAEMON_PID"
wait_until 5 eval '! kill -0 '"$DAEMON_PID"' 2>/dev/null' || fail "the daemon survived kill -9"
mount_store mnt
expect_err_contains "recovered"
same_as_ref
commit_and_check one

# 2. More edits over that commit, a clean unmount and remount, a second commit.
fuzz "$((seed + 1))" "$ops"
umount_store mnt
mount_store mnt
same_as_ref
commit_and_check two
umount_store mnt
