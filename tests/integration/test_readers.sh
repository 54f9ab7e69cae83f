#!/usr/bin/env bash
# Commands that only read the store write nothing to it, run while another reader
# holds it, and work on a store that is mounted read-only; a write there fails
# with a clear error and changes nothing.
source "$(dirname "$0")/lib.sh"

expect_exit 0 varve init
STORE=$TMP/.varve
expect_exit 0 varve create dataset r
mkdataset src
randbytes readers $((3 * 1024 * 1024)) >src/big.bin
expect_exit 0 varve commit datasets/r --from src -m one
echo changed >>src/top.txt
expect_exit 0 varve commit datasets/r --from src -m two
expect_exit 0 varve tag datasets/r~1 v1

# files_state: every file of the store with its size and mtime.
files_state() { find "$STORE" -printf '%P %y %s %T@\n' | sort; }

# Every reading command, as a user or a CI job would run them.
read_all() {
	local store=$1 out=$2
	expect_exit 0 varve --store "$store" list --json
	expect_exit 0 varve --store "$store" log datasets/r
	expect_out_contains "one"
	expect_exit 0 varve --store "$store" show datasets/r@v1
	expect_exit 0 varve --store "$store" ls datasets/r
	expect_exit 0 varve --store "$store" cat datasets/r:big.bin
	cmp -s "$OUT" src/big.bin || fail "cat of $store gave other bytes"
	expect_exit 0 varve --store "$store" diff datasets/r@v1 datasets/r
	expect_out_contains "top.txt"
	expect_exit 0 varve --store "$store" stats
	expect_exit 0 varve --store "$store" verify --full
	expect_exit 0 varve --store "$store" tags datasets/r
	expect_exit 0 varve --store "$store" runs
	expect_exit 0 varve --store "$store" checkout datasets/r "$out/co"
	assert_same_tree src "$out/co"
	expect_exit 0 varve --store "$store" pin datasets/r@v1 --lock "$out/varve.lock"
	expect_exit 0 varve --store "$store" lock verify --lock "$out/varve.lock"
	expect_exit 0 varve --store "$store" checkout --lock "$out/varve.lock" "$out/co-lock"
}

# 1. Reading changes no file of the store: no new log, manifest or options file,
# no flush, no compaction.
before=$(files_state)
mkdir out1
read_all "$STORE" "$TMP/out1"
assert_eq "$before" "$(files_state)" "the store's files after every reading command"

# 2. A reader does not wait for another one. A `cat` into a full pipe holds the
# store open; `log` and `verify` run and finish while it does.
mkfifo pipe
"$VARVE" cat datasets/r:big.bin >pipe 2>"$TMP/cat.err" &   # $! is varve itself
cat_pid=$!
CLEANUP_PIDS+=("$cat_pid")
exec 3<pipe
holds_store() { ! flock -n -x "$STORE/lock" true; }
wait_for_holder() {
	local i
	for ((i = 0; i < 100; i++)); do
		holds_store && return 0
		sleep 0.1
	done
	return 1
}
wait_for_holder || fail "the blocked cat never held the store"
expect_exit 0 varve log datasets/r
expect_exit 0 varve verify
kill -0 "$cat_pid" 2>/dev/null || fail "the cat ended before the other readers: they did not run beside it"
# A writer waits for the readers. After a second it says for whom; after
# VARVE_LOCK_WAIT seconds it gives up, naming them again, and changes nothing.
export VARVE_LOCK_WAIT=2
start=$SECONDS
expect_exit 1 varve tag datasets/r waited
((SECONDS - start >= 2)) || fail "the writer gave up before VARVE_LOCK_WAIT=2 seconds"
assert_match "^varve: waiting for store '$STORE', in use by pid $cat_pid \\(.*varve cat datasets/r:big.bin\\) \\(up to 2 s" \
	"$(head -n 1 "$ERR")" "the notice of a waiting writer"
assert_match "^varve: error: store '$STORE' is in use by pid $cat_pid \\(.*varve cat datasets/r:big.bin\\); gave up after 2 s\$" \
	"$(tail -n 1 "$ERR")" "the error of a writer that gave up"
VARVE_LOCK_WAIT=0
expect_exit 1 varve tag datasets/r waited
expect_error_format
expect_err_contains "is in use by pid $cat_pid"
VARVE_LOCK_WAIT=soon
expect_exit 1 varve tag datasets/r waited
expect_error_format
expect_err_contains "VARVE_LOCK_WAIT='soon' is not a number of seconds"
unset VARVE_LOCK_WAIT
cat <&3 >cat.out
exec 3<&-
wait "$cat_pid" || fail "cat failed: $(cat "$TMP/cat.err")"
assert_files_equal src/big.bin cat.out "cat that shared the store"
expect_exit 1 varve show datasets/r@waited

# 3. A store on read-only media: every reading command works; a write fails with
# "varve: error:" and changes nothing.
RO=$TMP/ro
mkdir "$RO"
if ! mount --bind "$STORE" "$RO" 2>/dev/null; then
	note "cannot bind-mount (not root?): the read-only media part is skipped"
	exit 0
fi
trap 'rc=$?; umount "$RO" 2>/dev/null || umount -l "$RO" 2>/dev/null || true; (exit $rc); cleanup' EXIT
mount -o remount,bind,ro "$RO" || fail "cannot make the bind mount read-only"
touch "$RO/probe" 2>/dev/null && fail "the bind mount is writable"
mkdir out2
read_all "$RO" "$TMP/out2"
expect_exit 1 varve --store "$RO" commit datasets/r --from src -m three
expect_error_format
expect_err_contains "read-only"
expect_exit 1 varve --store "$RO" tag datasets/r v2
expect_error_format
assert_eq "$before" "$(files_state)" "the store's files after the failed writes"
umount "$RO"
expect_exit 0 varve log datasets/r
expect_exit 1 varve show datasets/r@v2
