#!/usr/bin/env bash
# Reading through the mount: two committed versions are reproduced exactly (contents,
# sizes, exec bits, symlink targets, odd names) through every revision form (tag,
# branch, head, full and short id, ~N, the history symlinks); bad revisions are
# ENOENT; every write into a snapshot is EROFS; the xattrs; eight threads reading
# random ranges of a multi-MiB file concurrently get the right bytes; --read-only
# makes the heads read-only too.
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
source "$(dirname "$0")/lib.sh"
source "$VARVE_SRC/tests/integration/mountlib.sh"
requires getfattr python3

NAME=imgs
REPO=datasets/$NAME
if is_sanitized; then par_size=$((4 * 1024 * 1024)); else par_size=$((16 * 1024 * 1024)); fi

expect_exit 0 varve init
STORE=$TMP/.varve
expect_exit 0 varve create dataset "$NAME"

# v1: every awkward case of lib.sh; v2: edits, a deletion, a new exec file, a
# retargeted symlink and the multi-MiB file the parallel readers use
mkdataset src1
expect_exit 0 varve commit "$REPO" --from src1 -m v1
ID1=$(cat "$OUT")
expect_exit 0 varve tag "$REPO@$ID1" v1
# '/' in a ref name: a mount path spells it %2F
expect_exit 0 varve tag "$REPO@$ID1" release/1.0
expect_exit 0 varve branch "$REPO" team/exp "$REPO@$ID1"
cp -a src1 src2
printf 'v2 edit\n' >>src2/README.txt
rm src2/a/notes.md
printf '#!/bin/sh\necho v2\n' >src2/bin/new.sh
chmod +x src2/bin/new.sh
chmod -x src2/bin/run.sh
rm src2/link-to-readme
ln -s a/notes.md src2/link-to-readme
randbytes par "$par_size" >src2/data/par.bin
expect_exit 0 varve commit "$REPO" --from src2 -m v2
ID2=$(cat "$OUT")
expect_exit 0 varve show "$REPO@$ID1" --json
T1=$(json 'd["timestamp"]' <"$OUT")
expect_exit 0 varve show "$REPO@$ID2" --json
T2=$(json 'd["timestamp"]' <"$OUT")

MNT=$TMP/mnt
mount_store "$MNT"
D=$MNT/datasets

# --- eight threads read random ranges of a cold multi-MiB file ---------------------------
# First thing after mounting, so that nothing is in the page cache yet.
python3 - "$D/$NAME@$ID2/data/par.bin" src2/data/par.bin "$D/$NAME@v1/data/big.bin" src1/data/big.bin <<'PY' ||
import os, random, sys, threading
pairs = [(sys.argv[1], open(sys.argv[2], "rb").read()), (sys.argv[3], open(sys.argv[4], "rb").read())]
errors = []
shared = {p: os.open(p, os.O_RDONLY) for p, _ in pairs}   # one fd shared by threads too
def reader(k):
    rnd = random.Random(k)
    path, want = pairs[0] if k < 6 else pairs[1]
    own = os.open(path, os.O_RDONLY)
    size = len(want)
    try:
        for n in range(150):
            ln = rnd.choice([1, 17, 4096, 65536, 131072 + 3, rnd.randint(1, 1 << 20)])
            off = rnd.choice([0, rnd.randrange(size), size - 1, size - ln if ln < size else 0,
                              (rnd.randrange(size) // 4096) * 4096, size, size + 100])
            fd = own if n % 2 else shared[path]
            got = os.pread(fd, ln, off)
            exp = want[off:off + ln]
            if got != exp:
                errors.append("thread %d: %s: %d bytes at %d: got %d bytes, first difference at %s"
                              % (k, os.path.basename(path), ln, off, len(got),
                                 next((i for i in range(min(len(got), len(exp))) if got[i] != exp[i]), "the end")))
                return
    except OSError as e:
        errors.append("thread %d: %s" % (k, e))
    finally:
        os.close(own)
ts = [threading.Thread(target=reader, args=(k,)) for k in range(8)]
for t in ts: t.start()
for t in ts: t.join()
for e in errors[:10]:
    print(e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
	fail "parallel random reads through the mount returned wrong bytes"
# and the same with eight processes
pids=()
for ((k = 0; k < 8; k++)); do
	dd if="$D/$NAME@main/data/par.bin" bs=64K skip=$((k * par_size / 8 / 65536)) count=$((par_size / 8 / 65536)) \
		of="$TMP/part.$k" status=none &
	pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || fail "a dd reading the mount failed"; done
cat "$TMP"/part.{0..7} | cmp -s - src2/data/par.bin || fail "8 dd processes reading slices of par.bin got wrong bytes"

# --- every revision form shows the right tree ---------------------------------------------
assert_same_listing src1 "$D/$NAME@v1" "NAME@v1 (tag)"
assert_same_listing src2 "$D/$NAME" "NAME (head of main)"
assert_same_listing src2 "$D/$NAME@main" "NAME@main"
assert_same_listing src1 "$D/$NAME@${ID1:0:7}" "NAME@<7-hex id>"
assert_same_listing src2 "$D/$NAME@${ID2:0:12}" "NAME@<12-hex id>"
assert_same_listing src2 "$D/$NAME@$ID2" "NAME@<full id>"
assert_same_listing src1 "$D/$NAME@main~1" "NAME@main~1"
assert_same_listing src1 "$D/$NAME@v1~0" "NAME@v1~0"
# diff -r as a second opinion on contents and link targets
diff -r --no-dereference src1 "$D/$NAME@v1" >"$TMP/.d" 2>&1 || { head -n 20 "$TMP/.d" | cat -v >&2; fail "diff -r src1 NAME@v1"; }
diff -r --no-dereference src2 "$D/$NAME@main" >"$TMP/.d" 2>&1 || { head -n 20 "$TMP/.d" | cat -v >&2; fail "diff -r src2 NAME@main"; }
cmp src1/data/big.bin "$D/$NAME@v1/data/big.bin" || fail "cmp big.bin"
assert_eq "$(readlink src2/link-to-readme)" "$(readlink "$D/$NAME@main/link-to-readme")" "retargeted symlink"
assert_eq "$(cat src2/a/notes.md 2>/dev/null || echo none)" "$(cat "$D/$NAME@main/link-to-readme" 2>/dev/null || echo none)" \
	"a dangling symlink stays dangling through the mount"
assert_eq "hello from varve" "$("$D/$NAME@v1/bin/run.sh")" "executing a script from a snapshot"

# snapshots: nothing writable, every entry's mtime is the commit time
w=$(find "$D/$NAME@v1" "$D/$NAME@main" ! -type l -perm /222 | head -n 3)
[[ -z "$w" ]] || fail "snapshot entries with a write bit: $w"
bad=$(find "$D/$NAME@v1" ! -newermt "@$((T1 - 1))" -o -newermt "@$((T1 + 1))" | head -n 3)
[[ -z "$bad" ]] || fail "snapshot entries whose mtime is not the commit time $T1: $bad"
assert_eq "$T2" "$(stat -c %Y "$D/$NAME@$ID2/README.txt")" "mtime of a v2 file"

# the kind directory lists the repositories only: no NAME@REV entries pollute it
assert_eq "$NAME" "$(ls "$D")" "ls MNT/datasets"
assert_eq "" "$(ls "$MNT/models")" "ls MNT/models"
assert_eq "datasets history models" "$(ls "$MNT" | tr '\n' ' ' | sed 's/ $//')" "ls MNT"

# --- bad revisions: ENOENT --------------------------------------------------------------
expect_exit 2 ls "$D/$NAME@nope"
expect_err_contains "No such file or directory"
for bad in "$NAME@main~99" "nosuch@main" "nosuch" "$NAME@" "$NAME@0000000" "$NAME@v1:README.txt" \
	"$NAME@v1~1" "$NAME@main~~" "$NAME@main~x" "$NAME@@main" "$NAME@ma/in" ".$NAME" "$NAME@${ID1:0:6}"; do
	[[ ! -e "$D/$bad" ]] || fail "MNT/datasets/$bad exists; a bad revision must be ENOENT"
	rc=0
	stat "$D/$bad" >/dev/null 2>"$ERR" || rc=$?
	((rc != 0)) && grep -q "No such file or directory" "$ERR" || { cat "$ERR" >&2; fail "stat MNT/datasets/$bad: not ENOENT"; }
done
[[ ! -e "$MNT/models/$NAME" ]] || fail "a dataset shows up under MNT/models"
[[ ! -e "$MNT/history/datasets/nosuch" ]] || fail "history of a repository that does not exist"
[[ ! -e "$MNT/history/datasets/$NAME/tags/nope" ]] || fail "history of a tag that does not exist"
assert_eq "$NAME" "$(ls "$D")" "ls MNT/datasets after the failed lookups"

# --- writes into a snapshot: EROFS --------------------------------------------------------
for snap in "$NAME@v1" "$NAME@main" "$NAME@${ID2:0:7}"; do
	S=$D/$snap
	for cmd in "touch $S/new-file" "rm $S/README.txt" "rm -r $S/a" "mkdir $S/newdir" "rmdir $S/emptydir" \
		"chmod +x $S/README.txt" "chmod -x $S/bin/run.sh" "mv $S/README.txt $S/moved.txt" \
		"ln -s README.txt $S/newlink" "truncate -s 0 $S/data/small.bin" "touch $S/README.txt" \
		"cp $S/README.txt $S/a/copy.txt"; do
		expect_exit 1 $cmd
		expect_err_contains "Read-only file system"
	done
	rc=0
	bash -c "echo x >'$S/README.txt'" 2>"$ERR" || rc=$?
	((rc != 0)) && grep -q "Read-only file system" "$ERR" || fail "echo > $snap/README.txt: $(cat "$ERR")"
	bash -c "echo x >>'$S/data/train.csv'" 2>"$ERR" || rc=$?
	grep -q "Read-only file system" "$ERR" || fail "echo >> $snap/data/train.csv: $(cat "$ERR")"
	python3 - "$S" <<'PY' || fail "system calls writing into $snap did not all fail with EROFS"
import errno, os, sys
s = sys.argv[1]
bad = []
def expect_erofs(what, f):
    try:
        f()
        bad.append(what + ": succeeded")
    except OSError as e:
        if e.errno != errno.EROFS:
            bad.append("%s: %s" % (what, e))
expect_erofs("open O_WRONLY", lambda: os.open(s + "/README.txt", os.O_WRONLY))
expect_erofs("open O_RDWR", lambda: os.open(s + "/README.txt", os.O_RDWR))
expect_erofs("open O_CREAT", lambda: os.open(s + "/x", os.O_WRONLY | os.O_CREAT, 0o644))
expect_erofs("open O_TRUNC", lambda: os.open(s + "/README.txt", os.O_RDONLY | os.O_TRUNC))
expect_erofs("rename dir", lambda: os.rename(s + "/a", s + "/a2"))
expect_erofs("utime", lambda: os.utime(s + "/README.txt", (0, 0)))
expect_erofs("setxattr", lambda: os.setxattr(s + "/README.txt", "user.x", b"1"))
# hard links and special files are not supported anywhere in the mount: EPERM
# (the kernel's answer when the daemon has no link/mknod) is accepted too
for what, f in (("mknod fifo", lambda: os.mkfifo(s + "/fifo")),
                ("link", lambda: os.link(s + "/README.txt", s + "/hard"))):
    try:
        f()
        bad.append(what + ": succeeded")
    except OSError as e:
        if e.errno not in (errno.EROFS, errno.EPERM):
            bad.append("%s: %s" % (what, e))
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
done
assert_same_listing src1 "$D/$NAME@v1" "NAME@v1 after the refused writes"
assert_same_listing src2 "$D/$NAME@main" "NAME@main after the refused writes"

# --- extended attributes --------------------------------------------------------------
assert_eq "$ID1" "$(getfattr --absolute-names --only-values -n user.varve.commit "$D/$NAME@v1")" "user.varve.commit of NAME@v1"
assert_eq "v1" "$(getfattr --absolute-names --only-values -n user.varve.rev "$D/$NAME@v1")" "user.varve.rev of NAME@v1"
assert_eq "$ID1" "$(getfattr --absolute-names --only-values -n user.varve.commit "$D/$NAME@${ID1:0:7}")" "user.varve.commit of NAME@<short>"
assert_eq "$ID1" "$(getfattr --absolute-names --only-values -n user.varve.commit "$D/$NAME@main~1")" "user.varve.commit of NAME@main~1"
assert_eq "main~1" "$(getfattr --absolute-names --only-values -n user.varve.rev "$D/$NAME@main~1")" "user.varve.rev of NAME@main~1"
assert_eq "$ID2" "$(getfattr --absolute-names --only-values -n user.varve.commit "$D/$NAME@main")" "user.varve.commit of NAME@main"
assert_eq "$ID2" "$(getfattr --absolute-names --only-values -n user.varve.commit "$D/$NAME")" "user.varve.commit of the head NAME"
getfattr --absolute-names -d -m '^user\.varve\.' "$D/$NAME@v1" >"$OUT" 2>"$ERR" || fail "getfattr -d of a snapshot root: $(cat "$ERR")"
expect_out_contains "user.varve.commit=\"$ID1\""
expect_out_contains 'user.varve.rev="v1"'
assert_eq "$(cd "$STORE" && pwd -P)" "$(getfattr --absolute-names --only-values -n user.varve.store "$MNT")" "user.varve.store of the root"
assert_match '^requests=[0-9]+ cache_hits=[0-9]+ cache_misses=[0-9]+ prefetched=[0-9]+ cache_bytes=[0-9]+ tree_decodes=[0-9]+ dir_hits=[0-9]+ dir_bytes=[0-9]+ inodes=[0-9]+$' \
	"$(getfattr --absolute-names --only-values -n user.varve.stats "$MNT")" "user.varve.stats of the root"
((  $(mount_stat "$MNT" requests) > 100 )) || fail "user.varve.stats counts fewer requests than this test made"
rc=0
getfattr --absolute-names --only-values -n user.varve.nope "$D/$NAME@v1" >/dev/null 2>"$ERR" || rc=$?
((rc != 0)) || fail "an unknown xattr was found"

# --- history ----------------------------------------------------------------------------
H=$MNT/history/datasets/$NAME
assert_eq "datasets models" "$(ls "$MNT/history" | tr '\n' ' ' | sed 's/ $//')" "ls MNT/history"
assert_eq "$NAME" "$(ls "$MNT/history/datasets")" "ls MNT/history/datasets"
assert_eq "branches commits tags" "$(ls "$H" | tr '\n' ' ' | sed 's/ $//')" "ls history/datasets/NAME"
assert_eq "main team%2Fexp" "$(ls "$H/branches" | tr '\n' ' ' | sed 's/ $//')" "history branches"
assert_eq "release%2F1.0 v1" "$(ls "$H/tags" | tr '\n' ' ' | sed 's/ $//')" "history tags"
assert_same_listing src1 "$D/$NAME@release%2F1.0" "NAME@<tag with />, as %2F"
assert_same_listing src1 "$D/$NAME@team%2Fexp" "NAME@<branch with />, as %2F"
assert_same_listing src1 "$H/branches/team%2Fexp/" "history/branches/<branch with />"
assert_eq "release/1.0" "$(getfattr --absolute-names --only-values -n user.varve.rev "$D/$NAME@release%2F1.0")" \
	"user.varve.rev of NAME@release%2F1.0"
[[ ! -e "$D/$NAME@release%2F2.0" ]] || fail "NAME@<tag with / that does not exist>"
assert_eq "$(printf '%s\n' "$ID1" "$ID2" | sort)" "$(ls "$H/commits")" "history commits"
assert_eq "../../../../datasets/$NAME@main" "$(readlink "$H/branches/main")" "readlink history/branches/main"
# a tag's link may name the tag or (tags being immutable) its commit
assert_match "^\.\./\.\./\.\./\.\./datasets/$NAME@(v1|$ID1)\$" "$(readlink "$H/tags/v1")" "readlink history/tags/v1"
assert_eq "../../../../datasets/$NAME@$ID1" "$(readlink "$H/commits/$ID1")" "readlink history/commits/ID1"
assert_same_listing src1 "$H/tags/v1/" "history/tags/v1/"
assert_same_listing src2 "$H/branches/main/" "history/branches/main/"
assert_same_listing src1 "$H/commits/$ID1/" "history/commits/ID1/"
assert_eq "$(ls src2)" "$(ls "$H/commits/$ID2/")" "ls through history/commits/ID2"
assert_eq "$(cat src1/README.txt)" "$(cat "$H/tags/v1/README.txt")" "cat through history/tags/v1"
assert_eq "$ID1" "$(getfattr --absolute-names --only-values -n user.varve.commit "$H/tags/v1/")" "xattr through history/tags/v1/"
expect_exit 1 touch "$H/tags/v1/new"
expect_exit 1 rm "$H/tags/v1"
expect_exit 1 ln -s x "$H/tags/v2"

# --- a tag made while mounted appears --------------------------------------------------
# looked up (and not found) first: a negative entry must not hide the new tag
[[ ! -e "$D/$NAME@v2" && ! -e "$H/tags/v2" ]] || fail "NAME@v2 exists before the tag was made"
expect_exit 0 varve tag "$REPO@$ID2" v2
wait_until 3 test -d "$D/$NAME@v2" || fail "NAME@v2 is not there 3 s after varve tag"
wait_until 3 test -L "$H/tags/v2" || fail "history/tags/v2 is not there 3 s after varve tag"
assert_same_listing src2 "$D/$NAME@v2" "NAME@v2"

# --- --read-only: heads are read-only too --------------------------------------------------
umount_store "$MNT"
mount_store "$MNT" --read-only
expect_exit 1 touch "$D/$NAME/new-file"
expect_err_contains "Read-only file system"
expect_exit 1 rm "$D/$NAME/README.txt"
expect_err_contains "Read-only file system"
assert_same_listing src2 "$D/$NAME" "NAME (head) in a --read-only mount"
umount_store "$MNT"
expect_exit 0 varve status "$REPO"
assert_eq "" "$(cat "$OUT")" "status after the read-only session"
