#!/usr/bin/env bash
# Writable heads: every kind of edit through MNT/datasets/NAME/ (create, overwrite,
# append, partial write, truncate, unlink, mkdir, rmdir, rename, symlink, chmod) is
# listed exactly by `varve status`, survives an unmount, and `varve commit` turns it
# into a commit whose checkout equals the edited tree while the old snapshot stays as
# it was; `varve reset` drops staged changes; renaming a directory is EXDEV and mv's
# copy fallback commits correctly.
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
source "$(dirname "$0")/lib.sh"
source "$VARVE_SRC/tests/integration/mountlib.sh"
requires getfattr python3

NAME=work
REPO=datasets/$NAME
if is_sanitized; then big=$((1024 * 1024)); else big=$((6 * 1024 * 1024)); fi

# collapse_deleted: sorted status lines, where "D dir/" stands for everything
# below dir (a deleted directory may be listed alone or with its contents)
collapse_deleted() {
	python3 -c '
import sys
lines = sorted(set(l.rstrip("\n") for l in sys.stdin if l.strip()))
dead = [l[2:] for l in lines if l.startswith("D ") and l.endswith("/")]
for l in lines:
    if l.startswith("D ") and any(l[2:] != d and l[2:].startswith(d) for d in dead):
        continue
    print(l)
'
}

# status_is EXPECTED-LINES...: `varve status REPO` prints exactly these lines
# (compared as sets: the order is the CLI's business)
status_is() {
	expect_exit 0 varve status "$REPO"
	local want= got
	(($# == 0)) || want=$(printf '%s\n' "$@" | collapse_deleted)
	got=$(collapse_deleted <"$OUT")
	if [[ "$want" != "$got" ]]; then
		diff -u <(echo "$want") <(echo "$got") >&2 || true
		fail "varve status $REPO: unexpected lines (- expected, + actual)"
	fi
	# and --json says the same
	expect_exit 0 varve status "$REPO" --json
	got=$(json '"\n".join(sorted({"added": "A", "deleted": "D", "modified": "M"}[x["status"]] + " " + x["path"] for x in d))' <"$OUT" | collapse_deleted)
	[[ "$want" == "$got" ]] || { diff -u <(echo "$want") <(echo "$got") >&2 || true; fail "varve status --json disagrees with the expected lines"; }
}

expect_exit 0 varve init
STORE=$TMP/.varve
expect_exit 0 varve create dataset "$NAME"

mkdir -p src/sub/deeper src/emptydir src/dir-to-move/inner src/keepdir
printf 'keep\n' >src/keep.txt
printf 'line 1\nline 2\n' >src/edit.txt
printf 'first line\n' >src/app.txt
randbytes trunc 100000 >src/trunc.bin
randbytes grow 1000 >src/grow.bin
printf 'to be deleted\n' >src/del.txt
printf 'old name\n' >src/old-name.txt
printf 'inner\n' >src/sub/inner.txt
printf 'deeper\n' >src/sub/deeper/d.txt
printf '#!/bin/sh\necho tool\n' >src/tool.sh
printf '#!/bin/sh\necho exec\n' >src/was-exec.sh
chmod +x src/was-exec.sh
randbytes big "$big" >src/big.bin
ln -s keep.txt src/link
: >src/empty.txt
ln -s sub src/dirlink
printf 'x\n' >src/dir-to-move/x.txt
printf 'y\n' >src/dir-to-move/inner/y.txt
printf 'k\n' >src/keepdir/k.txt
expect_exit 0 varve commit "$REPO" --from src -m base
ID0=$(cat "$OUT")

MNT=$TMP/mnt
mount_store "$MNT"
H=$MNT/datasets/$NAME
assert_same_listing src "$H" "the head before any edit"
status_is

# --- the edits, done through the mount and to a local copy alike ------------------------
rm -rf exp
cp -a src exp
edit() { # edit ROOT
	local r=$1
	printf 'brand new\n' >"$r/new.txt"                                   # create
	printf 'rewritten\n' >"$r/edit.txt"                                  # overwrite (O_TRUNC)
	printf 'appended\n' >>"$r/app.txt"                                   # append
	truncate -s 5000 "$r/trunc.bin"                                      # shrink
	truncate -s 300000 "$r/grow.bin"                                     # grow (a hole)
	printf 'PATCH' | dd of="$r/big.bin" bs=1 seek=$((big / 2)) conv=notrunc status=none  # partial write
	rm "$r/del.txt"                                                      # unlink
	mkdir "$r/newdir"                                                    # mkdir
	printf 'in a new dir\n' >"$r/newdir/f.txt"
	mkdir -p "$r/newdir/nested/empty"
	mkdir "$r/newempty"
	rmdir "$r/emptydir"                                                  # rmdir
	mv "$r/old-name.txt" "$r/renamed.txt"                                # rename a file
	mv "$r/sub/inner.txt" "$r/sub/deeper/inner-moved.txt"                # ... across dirs
	ln -s keep.txt "$r/newlink"                                          # symlink
	ln -s ../nowhere "$r/sub/dangling"
	chmod +x "$r/tool.sh"                                                # chmod +x
	chmod -x "$r/was-exec.sh"                                            # chmod -x
	rm "$r/link"                                                         # retarget a symlink
	ln -s edit.txt "$r/link"
	printf 'gone soon\n' >"$r/tmp.txt"                                   # created then deleted:
	rm "$r/tmp.txt"                                                      # not a change
	printf 'k2\n' >"$r/keepdir/k2.txt"
	rm "$r/keepdir/k2.txt"                                               # ditto in an old dir
	printf 'keep\n' >"$r/keep.txt"                                       # same bytes rewritten
}
edit exp
edit "$H"
assert_same_listing exp "$H" "the head after the edits"
assert_eq "brand new" "$(cat "$H/new.txt")" "reading a created file back"
[[ -x "$H/tool.sh" && ! -x "$H/was-exec.sh" ]] || fail "exec bits in the head"

WANT_STATUS=(
	"A new.txt" "M edit.txt" "M app.txt" "M trunc.bin" "M grow.bin" "M big.bin" "D del.txt"
	"A newdir/" "A newdir/f.txt" "A newdir/nested/" "A newdir/nested/empty/" "A newempty/"
	"D emptydir/" "D old-name.txt" "A renamed.txt" "D sub/inner.txt" "A sub/deeper/inner-moved.txt"
	"A newlink" "A sub/dangling" "M tool.sh" "M was-exec.sh" "M link"
)
# (keep.txt, rewritten with the bytes it had, is not listed)
status_is "${WANT_STATUS[@]}"

# rename(2) of a directory is EXDEV; unlink of a directory, rmdir of a non-empty one fail
python3 - "$H" <<'PY' || fail "directory system calls in the head"
import errno, os, sys
h = sys.argv[1]
def expect(err, what, f):
    try:
        f()
    except OSError as e:
        if e.errno in err:
            return
        sys.exit("%s: %s (expected %s)" % (what, e, [errno.errorcode[x] for x in err]))
    sys.exit(what + ": succeeded")
expect((errno.EXDEV,), "rename(sub, sub2)", lambda: os.rename(h + "/sub", h + "/sub2"))
expect((errno.ENOTEMPTY, errno.EEXIST), "rmdir(sub)", lambda: os.rmdir(h + "/sub"))
expect((errno.EISDIR, errno.EPERM), "unlink(sub)", lambda: os.unlink(h + "/sub"))
expect((errno.EEXIST,), "mkdir(sub)", lambda: os.mkdir(h + "/sub"))
expect((errno.ENOENT,), "open(nope/x, O_CREAT)", lambda: os.open(h + "/nope/x", os.O_CREAT | os.O_WRONLY, 0o644))
expect((errno.ENOTDIR,), "mkdir(keep.txt/x)", lambda: os.mkdir(h + "/keep.txt/x"))
expect((errno.EEXIST,), "open(keep.txt, O_CREAT|O_EXCL)", lambda: os.open(h + "/keep.txt", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
PY
status_is "${WANT_STATUS[@]}"

# the staged changes are in the store, not in the daemon: they survive an unmount
umount_store "$MNT"
status_is "${WANT_STATUS[@]}"
mount_store "$MNT"
assert_same_listing exp "$H" "the head after unmount and mount"
assert_same_listing src "$MNT/datasets/$NAME@main" "NAME@main (the committed head) while changes are staged"

# --- commit -----------------------------------------------------------------------------
expect_exit 0 varve commit "$REPO" -m m
ID1=$(cat "$OUT")
assert_match "$HEX64" "$ID1" "commit of the staged changes: stdout"
[[ "$ID1" != "$ID0" ]] || fail "commit of the staged changes made no new commit"
expect_exit 0 varve log "$REPO" -n 1 --json
assert_eq "[\"$ID0\"]" "$(json 'd[0]["parents"]' <"$OUT")" "parent of the new commit"
assert_eq "m" "$(json 'd[0]["message"]' <"$OUT")" "message of the new commit"
status_is
expect_exit 0 varve status "$REPO"
expect_err_contains "no staged changes"
# a checkout (forwarded to the daemon) equals the edited tree
expect_exit 0 varve checkout "$REPO" co1
assert_same_tree exp co1
assert_same_listing exp co1 "checkout of the new commit"
# the head shows the commit; the old snapshot is unchanged
head_is() { [[ "$(getfattr --absolute-names --only-values -n user.varve.commit "$H" 2>/dev/null)" == "$1" ]]; }
wait_until 2 head_is "$ID1" ||
	fail "user.varve.commit of the head is not the new commit"
assert_same_listing exp "$H" "the head after commit"
assert_same_listing exp "$MNT/datasets/$NAME@main" "NAME@main after commit"
assert_same_listing src "$MNT/datasets/$NAME@$ID0" "the old snapshot NAME@<old id>"
assert_same_listing src "$MNT/datasets/$NAME@main~1" "NAME@main~1"
expect_exit 0 varve diff "$REPO@$ID0" "$REPO@$ID1"
grep -q '^A new.txt$' "$OUT" && grep -q '^D del.txt$' "$OUT" && grep -q '^M big.bin$' "$OUT" ||
	{ _show_output; fail "varve diff old new does not show the edits"; }
# a commit with nothing staged makes no commit
expect_exit 0 varve commit "$REPO" -m empty
assert_eq "$ID1" "$(cat "$OUT")" "commit with nothing staged prints the head"
expect_exit 0 varve verify
# edits that give back what the head holds are not listed, and commit nothing: a file
# renamed away and back, chmod'ed and back, a symlink re-created with its target, an
# empty file truncated, files rewritten with the bytes they had (one small enough to
# be stored inline, one of several MiB). The same size with one byte changed is a
# change.
mv "$H/renamed.txt" "$H/away.txt"
mv "$H/away.txt" "$H/renamed.txt"
chmod +x "$H/app.txt"
chmod -x "$H/app.txt"
rm "$H/link"
ln -s edit.txt "$H/link"
truncate -s 0 "$H/empty.txt"
cp "$H/big.bin" big.same
cp big.same big.other
printf 'X' | dd of=big.other bs=1 seek=$(($(stat -c %s big.other) - 1)) conv=notrunc status=none
cmp -s big.same big.other && fail "big.other was meant to differ from big.same"
cat big.other >"$H/big.bin"
cp "$H/edit.txt" edit.same
cat edit.same >"$H/edit.txt"
status_is "M big.bin"
cat big.same >"$H/big.bin"
status_is
expect_exit 0 varve commit "$REPO" -m same
assert_eq "$ID1" "$(cat "$OUT")" "a commit of edits that change nothing"

# --- reset drops staged changes ---------------------------------------------------------
printf 'scratch\n' >"$H/scratch.txt"
rm "$H/keep.txt"
printf 'changed\n' >>"$H/edit.txt"
mkdir "$H/scratchdir"
chmod -x "$H/tool.sh"
status_is "A scratch.txt" "D keep.txt" "M edit.txt" "A scratchdir/" "M tool.sh"
expect_exit 0 varve reset "$REPO"
status_is
assert_same_listing exp "$H" "the head after reset"
[[ ! -e "$H/scratch.txt" && -e "$H/keep.txt" ]] || fail "reset: the head still shows the dropped changes"
assert_eq "rewritten" "$(cat "$H/edit.txt")" "edit.txt after reset"
# a file kept open across the reset does not crash anything
exec 7<"$H/edit.txt"
printf 'again\n' >>"$H/app.txt"
expect_exit 0 varve reset "$REPO"
exec 7<&-
status_is
assert_same_listing exp "$H" "the head after a second reset"

# --- mv of a directory: EXDEV, then mv copies ------------------------------------------
mv "$H/dir-to-move" "$H/moved" || fail "mv of a directory in the head failed"
mv exp/dir-to-move exp/moved
# rename a file over an existing one (replaces it)
mv "$H/renamed.txt" "$H/keep.txt" || fail "mv over an existing file"
mv exp/renamed.txt exp/keep.txt
# a file written in several chunks with holes, by a program that keeps it open
python3 - "$H/chunks.bin" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"tail", 1 << 20)
os.pwrite(fd, b"head", 0)
os.pwrite(fd, b"middle", 1 << 19)
os.fsync(fd)
assert os.pread(fd, 6, 1 << 19) == b"middle"
os.close(fd)
PY
python3 - exp/chunks.bin <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"tail", 1 << 20); os.pwrite(fd, b"head", 0); os.pwrite(fd, b"middle", 1 << 19)
os.close(fd)
PY
assert_same_listing exp "$H" "the head after mv of a directory"
status_is "D dir-to-move/" "D dir-to-move/x.txt" "D dir-to-move/inner/" "D dir-to-move/inner/y.txt" \
	"A moved/" "A moved/x.txt" "A moved/inner/" "A moved/inner/y.txt" \
	"D renamed.txt" "M keep.txt" "A chunks.bin"
expect_exit 0 varve commit "$REPO" -m "moved a dir"
ID2=$(cat "$OUT")
[[ "$ID2" != "$ID1" ]] || fail "second commit made no new commit"
status_is
expect_exit 0 varve checkout "$REPO@$ID2" co2
assert_same_tree exp co2
assert_same_listing exp "$H" "the head after the second commit"
assert_same_listing src "$MNT/datasets/$NAME@$ID0" "the first snapshot, two commits later"

umount_store "$MNT"
expect_exit 0 varve verify --full
rm -rf co3
expect_exit 0 varve checkout "$REPO" co3
assert_same_tree exp co3
