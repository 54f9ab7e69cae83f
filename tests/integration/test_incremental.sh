#!/usr/bin/env bash
# A commit of a small change costs in proportion to the change: with 2000 small
# files and a 50 MiB file, changing one small file makes the commit read one file.
# Touching a file without changing it makes no commit.
source "$(dirname "$0")/lib.sh"

REPO=datasets/inc
expect_exit 0 varve init
STORE=$TMP/.varve
expect_exit 0 varve create dataset inc

mkdir -p src
for ((d = 0; d < 20; d++)); do
	mkdir -p "src/dir$d"
	for ((i = 0; i < 100; i++)); do
		printf 'file %d of dir %d\nsome content that is not tiny %d\n' "$i" "$d" $((i * d)) >"src/dir$d/f$i.txt"
	done
done
randbytes incremental $((50 * 1024 * 1024)) >src/big.bin
# Old mtimes everywhere, and a distinct old mtime after every change below: then no
# file is "racily clean" (changed within the clock tick of a commit), and an
# implementation that re-reads such files (as git does) still reads exactly R files.
find src -exec touch -h -d @1704067200 {} +
stamp=1704067200
age() { # FILE...: give the files a new, distinct, old mtime
	stamp=$((stamp + 60))
	touch -h -d "@$stamp" "$@"
}

# settle: wait until every file's mtime and ctime is RACY_WAIT seconds old. A stat
# cache must not trust a file changed within the filesystem's timestamp granularity
# of the commit that records it ("racily clean", as git calls it); varve's window
# is 2 s. Files younger than that are legitimately read again, so before each
# commit whose read count is asserted, the files changed before it are let settle.
RACY_WAIT=${RACY_WAIT:-2.2}
settle() {
	python3 - "$RACY_WAIT" src <<'PY'
import os, sys, time
wait = float(sys.argv[1]); newest = 0.0
for d, dirs, files in os.walk(sys.argv[2]):
    for n in dirs + files:
        st = os.lstat(os.path.join(d, n))
        newest = max(newest, st.st_mtime, st.st_ctime)
delay = newest + wait - time.time()
if delay > 0:
    time.sleep(delay)
PY
}

summary() { # "F R B" from the commit summary on stderr
	echo "$(commit_summary_field F) $(commit_summary_field R) $(commit_summary_field B)"
}

settle
expect_exit 0 varve commit "$REPO" --from src -m v1
ID1=$(cat "$OUT")
read -r F R B <<<"$(summary)"
note "first commit: $F files, $R read, $B bytes new"
assert_eq 2001 "$F" "files in the first commit"
assert_eq 2001 "$R" "files read by the first commit"
((B > 50 * 1024 * 1024 / 2)) || fail "first commit reports only $B new bytes"

# nothing changed at all: no commit, and nothing needs reading
expect_exit 0 varve commit "$REPO" --from src -m noop
assert_eq "$ID1" "$(cat "$OUT")" "unchanged dir"
expect_err_contains "nothing to commit"

# one small file changed: one file read
printf 'changed content\n' >src/dir7/f42.txt
age src/dir7/f42.txt
settle
expect_exit 0 varve commit "$REPO" --from src -m v2
ID2=$(cat "$OUT")
[[ "$ID2" != "$ID1" ]] || fail "the change of one file made no commit"
read -r F R B <<<"$(summary)"
note "one small file changed: $F files, $R read, $B bytes new"
assert_eq 2001 "$F" "files in the second commit"
assert_eq 1 "$R" "files read after changing one small file"
((B < 64 * 1024)) || fail "changing one small file stored $B new bytes"
expect_exit 0 varve diff "$REPO@$ID1" "$REPO@$ID2"
assert_eq "M dir7/f42.txt" "$(cat "$OUT")" "diff after changing one file"

# same size, same content, new mtime (touch): no commit
age src/dir3/f3.txt src/big.bin
settle
expect_exit 0 varve commit "$REPO" --from src -m touched
assert_eq "$ID2" "$(cat "$OUT")" "commit after touch (content unchanged)"
expect_err_contains "nothing to commit"

# same size, different content (the mtime changes): found and read
printf 'file 3 of dir 3\nsome content that is not tiny X\n' >src/dir3/f3.txt
age src/dir3/f3.txt
settle
expect_exit 0 varve commit "$REPO" --from src -m v3
ID3=$(cat "$OUT")
[[ "$ID3" != "$ID2" ]] || fail "a same-size content change made no commit"
read -r F R B <<<"$(summary)"
assert_eq 1 "$R" "files read after a same-size change"

# 64 KiB overwritten in the middle of the 50 MiB file: one file read, few bytes new
randbytes overwrite $((64 * 1024)) | dd of=src/big.bin bs=64K seek=320 conv=notrunc status=none
age src/big.bin
settle
expect_exit 0 varve commit "$REPO" --from src -m v4
ID4=$(cat "$OUT")
read -r F R B <<<"$(summary)"
note "64 KiB of the big file rewritten: $F files, $R read, $B bytes new"
assert_eq 1 "$R" "files read after rewriting part of big.bin"
((B < 4 * 1024 * 1024)) || fail "rewriting 64 KiB of big.bin stored $B new bytes (content-defined chunking should keep this small)"

# a deletion reads nothing
rm src/dir0/f0.txt
settle
expect_exit 0 varve commit "$REPO" --from src -m v5
read -r F R B <<<"$(summary)"
assert_eq 2000 "$F" "files after a deletion"
assert_eq 0 "$R" "files read after a deletion"
expect_exit 0 varve diff "$REPO@$ID4" "$REPO"
assert_eq "D dir0/f0.txt" "$(cat "$OUT")" "diff after a deletion"

# an exec-bit change is a change
chmod +x src/dir1/f1.txt
age src/dir1/f1.txt
settle
expect_exit 0 varve commit "$REPO" --from src -m v6
ID6=$(cat "$OUT")
expect_exit 0 varve diff "$REPO~1" "$REPO"
assert_eq "M dir1/f1.txt" "$(cat "$OUT")" "diff after chmod +x"

# committing the same tree from another directory (all new mtimes, other inodes)
# (it may read every file again) stores nothing new and makes no commit
cp -a src src-copy
touch src-copy/dir5/f5.txt
expect_exit 0 varve commit "$REPO" --from src-copy -m copy
assert_eq "$ID6" "$(cat "$OUT")" "commit of an identical copy"
expect_err_contains "nothing to commit"

expect_exit 0 varve checkout "$REPO" co
assert_same_tree src co
expect_exit 0 varve verify --full
