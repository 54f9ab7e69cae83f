#!/usr/bin/env bash
# A directory of 20,000 entries (10,000 in a sanitizer build) through the mount, in a
# snapshot and in the writable head: listing it (ls -f, ls -l, find), looking up every
# entry by name in a shuffled order (again: in a head after the kernel dropped its
# dentries, in a snapshot through a path of the same commit that the kernel has not
# seen), reading some hundreds of files and reading
# the directory with a 1 KiB getdents buffer (with seeks back to told offsets) cost the
# daemon a few tree decodes per directory (user.varve.stats: tree_decodes), never one
# per entry. Every name (not UTF-8, 255 bytes, sorting differently in bytes and in a
# locale), type, exec bit, size, symlink target and content equals the source. Staged
# creations (sorting between, before and after the others), deletions, overwrites,
# type changes, a removed and a new directory among the 20,000 show exactly in the
# head's listing, and the commit that follows lists the same.
TEST_TIMEOUT=${TEST_TIMEOUT:-420}
source "$(dirname "$0")/lib.sh"
source "$VARVE_SRC/tests/integration/mountlib.sh"
requires python3 find getfattr

NAME=scale
REPO=datasets/$NAME
if is_sanitized; then N=10000; else N=20000; fi
NSUB=5         # subdirectories among the N entries of big/ (one of them empty)
PER_DIR=8      # tree decodes allowed per directory a step goes through

PY=$TMP/scale.py
cat >"$PY" <<'PY'
import ctypes, errno, os, random, shutil, stat, struct, sys

J = os.path.join
NSUB = 5

def die(msgs):
    for m in msgs[:15]:
        print(m, file=sys.stderr)
    if len(msgs) > 15:
        print("... and %d more" % (len(msgs) - 15), file=sys.stderr)
    sys.exit(1)

def special_names():
    return [b"\xff\xfe", b"caf\xe9", b"caf\xc3\xa9", b"B", b"A", b"a", b"b", b"Z", b"_",
            b"_a", b"a_", b"\xc3\xa9", b"e", b"f", b"E", b"10", b"9", b"1", b"09", b"-dash",
            b"-", b"--x", b".hidden", b"..dots", b".a", b"...", b"x" * 255,
            "\u00e9".encode() * 127 + b"x", b"\xfe" * 255, b"name with spaces",
            b"tab\there", b"new\nline", b"\x01ctl", b"~tilde", b"n", b"n00000",
            b"n00000.bin.", b"N00001.BIN", b"\xe2\x9c\x93check"]

def content(i):
    if i % 2000 == 5:
        return random.Random(i).randbytes(100000 + i % 1000)
    return (b"%d:" % i) * (i % 13)

def gen(root, n):
    """root/big: n entries; root/top.txt, root/other/x.txt around it"""
    big = J(root, b"big")
    os.makedirs(J(root, b"other"))
    os.makedirs(big)
    with open(J(root, b"top.txt"), "wb") as f:
        f.write(b"top\n")
    with open(J(root, b"other", b"x.txt"), "wb") as f:
        f.write(b"x\n")
    sp = special_names()
    for k, name in enumerate(sp):
        p = J(big, name)
        if name == b"caf\xe9":
            os.symlink(b"caf\xc3\xa9", p)
        elif name == b"\xff\xfe":
            os.symlink(b"\xfe\xff/dangling/\xe9", p)
        elif name == b"-":
            os.symlink(b"x" * 255, p)
        else:
            with open(p, "wb") as f:
                f.write(name + b"\n" * (k % 3))
            if name in (b"_", b"9"):
                os.chmod(p, 0o755)
    m = n - len(sp)
    subs = {m // (NSUB + 1) * k + 17: k for k in range(1, NSUB + 1)}
    for i in range(m):
        if i in subs:
            d = J(big, b"n%05d.dir" % i)
            os.mkdir(d)
            if subs[i] != 3:
                with open(J(d, b"inner.txt"), "wb") as f:
                    f.write(b"inner %d\n" % i)
                with open(J(d, b"deeper.bin"), "wb") as f:
                    f.write(content(i + 1))
            continue
        p = J(big, b"n%05d.bin" % i)
        if i % 10 == 7:
            t = (b"n%05d.bin" % (i + 1), b"does/not/exist/%d" % i, b"/nonexistent/%d" % i)[i % 3]
            os.symlink(t, p)
            continue
        with open(p, "wb") as f:
            if i % 10 != 3:
                f.write(content(i))
        if i % 50 == 11:
            os.chmod(p, 0o755)

def edit(root):
    """The staged changes, made the same way in a plain copy and in the head."""
    big = J(root, b"big")
    names = sorted(os.listdir(big))
    base = [x for x in names if x.startswith(b"n") and x.endswith(b".bin") and len(x) == 10]
    dirs = [x for x in names if x.endswith(b".dir")]
    replaced_link = replaced_file = chmoded = None
    for x in base:
        i = int(x[1:6])
        p = J(big, x)
        if i % 53 == 1:   # a new name right after this one in byte order
            with open(J(big, b"n%05d.new" % i), "wb") as f:
                f.write(b"new %d\n" % i)
        if i % 67 == 5:
            os.unlink(p)
        elif i % 71 == 9 and not os.path.islink(p):
            with open(p, "wb") as f:   # O_TRUNC: same name, other bytes
                f.write(b"overwritten %d\n" % i * (i % 5 + 1))
        elif i % 10 == 7 and replaced_link is None and i > 100:
            os.unlink(p)
            with open(p, "wb") as f:
                f.write(b"was a symlink\n")
            replaced_link = x
        elif i % 10 == 1 and replaced_file is None and i > 100:
            os.unlink(p)
            os.symlink(b"replaced/target", p)
            replaced_file = x
        elif i % 10 == 2 and chmoded is None and i > 100:
            os.chmod(p, 0o755)
            chmoded = x
    for x in (b"B", b"\xc3\xa9", b"..dots"):
        os.unlink(J(big, x))
    shutil.rmtree(J(big, dirs[0]))
    d = J(big, b"n%05d.mkdir" % (len(base) // 2))
    os.mkdir(d)
    with open(J(d, b"inside.txt"), "wb") as f:
        f.write(b"inside\n")
    for x, data in ((b"!first-new", b"sorts first\n"), (b"\xff\xff\xfflast-new", b"sorts last\n"),
                    (b"caf\xe9-new", b""), (b"a" * 255, b"long\n")):
        with open(J(big, x), "wb") as f:
            f.write(data)
    os.symlink(b"n00000.bin", J(big, b"n00000.link"))

def canon(rows):
    rows.sort()
    for r in rows:
        print(*r)

def walk(root):
    """Canonical recursive listing: repr(path) TYPE X SIZE TARGET (as find_ below)."""
    root = os.fsencode(root)
    rows = []
    for dp, dn, fn in os.walk(root):
        for x in dn + fn:
            full = J(dp, x)
            st = os.lstat(full)
            rel = os.path.relpath(full, root)
            if stat.S_ISLNK(st.st_mode):
                rows.append((repr(rel), "l", "-", str(st.st_size), repr(os.readlink(full))))
            elif stat.S_ISDIR(st.st_mode):
                rows.append((repr(rel), "d", "-", "-", "-"))
            elif stat.S_ISREG(st.st_mode):
                rows.append((repr(rel), "f", "x" if st.st_mode & stat.S_IXUSR else "-",
                             str(st.st_size), "-"))
            else:
                rows.append((repr(rel), "other", "-", "-", "-"))
    canon(rows)

def find_():
    """The same listing from find -printf '%P\\0%y\\0%m\\0%s\\0%l\\0' on stdin."""
    f = sys.stdin.buffer.read().split(b"\0")
    if len(f) % 5 != 1 or f[-1] != b"":
        die(["find output does not split into 5 fields per entry"])
    rows = []
    for k in range(0, len(f) - 1, 5):
        p, y, m, s, l = f[k:k + 5]
        if y == b"l":
            rows.append((repr(p), "l", "-", s.decode(), repr(l)))
        elif y == b"d":
            rows.append((repr(p), "d", "-", "-", "-"))
        elif y == b"f":
            rows.append((repr(p), "f", "x" if int(m, 8) & 0o100 else "-", s.decode(), "-"))
        else:
            rows.append((repr(p), "other", "-", "-", "-"))
    canon(rows)

def names_():
    """Names of `ls -f --zero` on stdin, each once, sorted by bytes."""
    got = [x for x in sys.stdin.buffer.read().split(b"\0")[:-1] if x not in (b".", b"..")]
    seen, dups = set(), []
    for x in got:
        if x in seen:
            dups.append("listed more than once: %r" % x)
        seen.add(x)
    if dups:
        die(dups)
    for x in sorted(got):
        print(repr(x))

def lsnames(d):
    for x in sorted(os.listdir(os.fsencode(d))):
        print(repr(x))

def same_entry(src, mnt, x):
    a = os.lstat(J(src, x))
    b = os.lstat(J(mnt, x))
    if stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode):
        return "%r: type %o, expected %o" % (x, stat.S_IFMT(b.st_mode), stat.S_IFMT(a.st_mode))
    if not stat.S_ISDIR(a.st_mode) and a.st_size != b.st_size:
        return "%r: size %d, expected %d" % (x, b.st_size, a.st_size)
    if stat.S_ISREG(a.st_mode) and bool(a.st_mode & stat.S_IXUSR) != bool(b.st_mode & stat.S_IXUSR):
        return "%r: exec bit %o, expected %o" % (x, b.st_mode & 0o100, a.st_mode & 0o100)
    return None

def stat_(src, mnt, seed):
    """lstat every name of src under mnt, one lookup each in a shuffled order, and
    names that are not there (between, before and after the real ones): ENOENT."""
    src, mnt = os.fsencode(src), os.fsencode(mnt)
    names = sorted(os.listdir(src))
    rnd = random.Random(seed)
    absent = [x + b"~" for x in rnd.sample(names, min(300, len(names)))] + \
        [b"!", b"\x01", b"\xff\xff\xff\xff", b"n99999.bin", b"z" * 255, b"caf\xe8"]
    have = set(names)
    absent = [x for x in absent if x not in have and len(x) <= 255]
    todo = [(x, True) for x in names] + [(x, False) for x in absent]
    rnd.shuffle(todo)
    bad = []
    for x, present in todo:
        if present:
            try:
                m = same_entry(src, mnt, x)
            except OSError as e:
                m = "%r: %s" % (x, e)
            if m:
                bad.append(m)
        else:
            try:
                os.lstat(J(mnt, x))
                bad.append("%r: exists, but it is not in the source" % x)
            except FileNotFoundError:
                pass
            except OSError as e:
                bad.append("%r: %s (expected ENOENT)" % (x, e))
    die(bad) if bad else None

def cat(src, mnt, count):
    """Read `count` files spread over the directory, plus every odd name; compare."""
    src, mnt = os.fsencode(src), os.fsencode(mnt)
    files = [x for x in sorted(os.listdir(src)) if stat.S_ISREG(os.lstat(J(src, x)).st_mode)]
    step = max(1, len(files) // count)
    pick = set(files[::step]) | (set(special_names()) & set(files))
    bad = []
    for x in sorted(pick):
        with open(J(src, x), "rb") as f:
            want = f.read()
        try:
            with open(J(mnt, x), "rb") as f:
                got = f.read()
        except OSError as e:
            bad.append("%r: %s" % (x, e))
            continue
        if got != want:
            bad.append("%r: read %d bytes, expected %d bytes%s" %
                       (x, len(got), len(want), "" if len(got) != len(want) else " (different)"))
    die(bad) if bad else None
    print(len(pick))

DT = {stat.S_IFREG: 8, stat.S_IFDIR: 4, stat.S_IFLNK: 10}
NR_GETDENTS64 = {"x86_64": 217, "aarch64": 61, "riscv64": 61, "ppc64le": 202,
                 "ppc64": 202, "s390x": 220, "loongarch64": 61}

def getdents(mnt, src, bufsize):
    """Read mnt with getdents64 and a small buffer: every name of src once, with its
    d_type; lseek back to a d_off (seekdir) or to a told position (telldir) gives the
    same rest; a rewind gives the same listing."""
    nr = NR_GETDENTS64.get(os.uname().machine)
    if nr is None:
        print("no getdents64 number for %s: skipped" % os.uname().machine)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    buf = ctypes.create_string_buffer(bufsize)
    calls = [0]

    def one(fd):
        n = libc.syscall(ctypes.c_long(nr), ctypes.c_int(fd), buf, ctypes.c_size_t(bufsize))
        if n < 0:
            e = ctypes.get_errno()
            raise OSError(e, "getdents64: " + os.strerror(e))
        calls[0] += 1
        raw, p, out = buf.raw[:n], 0, []
        while p < n:
            ino, off, reclen, typ = struct.unpack_from("=QqHB", raw, p)
            out.append((raw[p + 19:p + reclen].split(b"\0", 1)[0], off, typ))
            p += reclen
        return out

    def rest(fd, limit=None):
        out = []
        while limit is None or len(out) < limit:
            got = one(fd)
            if not got:
                break
            out += got
        return out

    src, mnt = os.fsencode(src), os.fsencode(mnt)
    want = {x: DT[stat.S_IFMT(os.lstat(J(src, x)).st_mode)] for x in os.listdir(src)}
    fd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
    bad = []
    try:
        ents = rest(fd)
        first_calls = calls[0]
        names = [e[0] for e in ents]
        seen = {}
        for x in names:
            seen[x] = seen.get(x, 0) + 1
        bad += ["%r: listed %d times" % (x, c) for x, c in seen.items() if c > 1]
        bad += ["%r: missing" % x for x in sorted(set(want) - set(seen))]
        bad += ["%r: listed, but not in the source" % x
                for x in sorted(set(seen) - set(want) - {b".", b".."})]
        bad += ["%r: d_type %d, expected %d" % (x, t, want[x])
                for x, _, t in ents if x in want and t != want[x]]
        if len(set(e[1] for e in ents)) != len(ents):
            bad.append("two entries have the same d_off")
        die(bad) if bad else None
        # seekdir(d_off of entry k): the rest from entry k+1
        rnd = random.Random(len(ents))
        for k in sorted({0, 1, 2, len(ents) // 3, len(ents) - 2, len(ents) - 1,
                         rnd.randrange(len(ents)), rnd.randrange(len(ents))}):
            os.lseek(fd, ents[k][1], os.SEEK_SET)
            again = [e[0] for e in rest(fd)]
            if again != names[k + 1:]:
                bad.append("after seekdir to the d_off of entry %d (%r): %d entries, expected %d%s" %
                           (k, names[k], len(again), len(names) - k - 1,
                            "" if len(again) != len(names) - k - 1 else " (other names)"))
        # telldir after some calls, read on, seekdir back, read the same again
        os.lseek(fd, 0, os.SEEK_SET)
        head = rest(fd, len(ents) // 2)
        told = os.lseek(fd, 0, os.SEEK_CUR)
        tail1 = [e[0] for e in rest(fd)]
        os.lseek(fd, told, os.SEEK_SET)
        tail2 = [e[0] for e in rest(fd)]
        if tail1 != tail2 or [e[0] for e in head] + tail1 != names:
            bad.append("telldir %d after %d entries, then seekdir back: %d and %d entries read, "
                       "expected %d" % (told, len(head), len(tail1), len(tail2), len(names) - len(head)))
        # rewind: the same listing again
        os.lseek(fd, 0, os.SEEK_SET)
        if [e[0] for e in rest(fd)] != names:
            bad.append("after rewinddir, another listing")
    finally:
        os.close(fd)
    die(bad) if bad else None
    print("%d entries, %d getdents64 calls of %d bytes for the first pass" %
          (len(ents), first_calls, bufsize))

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "gen":
    gen(os.fsencode(args[0]), int(args[1]))
elif cmd == "edit":
    edit(os.fsencode(args[0]))
elif cmd == "walk":
    walk(args[0])
elif cmd == "find":
    find_()
elif cmd == "names":
    names_()
elif cmd == "lsnames":
    lsnames(args[0])
elif cmd == "stat":
    stat_(args[0], args[1], int(args[2]))
elif cmd == "cat":
    cat(args[0], args[1], int(args[2]))
elif cmd == "getdents":
    getdents(args[0], args[1], int(args[2]))
else:
    die(["unknown command " + cmd])
PY

# --- the checks, each on one directory of the mount against one of the source ------

# tree_decodes: the daemon's count of tree objects fetched, checked and decoded
tree_decodes() {
	local s
	s=$(mount_stats "$MNT")
	[[ " $s " =~ [[:space:]]tree_decodes=([0-9]+)[[:space:]] ]] ||
		fail "user.varve.stats of the mount root has no tree_decodes=N (it is '$s'): the daemon must count the tree objects it fetches and decodes"
	echo "${BASH_REMATCH[1]}"
}

# decodes_within WHAT DIRS CMD...: runs CMD, which goes through DIRS directories;
# meanwhile the daemon decoded at most PER_DIR trees per directory. A daemon that
# decodes a directory's tree for every entry decodes thousands here.
decodes_within() {
	local what=$1 dirs=$2 before after d t0
	shift 2
	before=$(tree_decodes) || exit 1
	t0=$EPOCHREALTIME
	"$@"
	after=$(tree_decodes) || exit 1
	d=$((after - before))
	note "$what: $d tree decodes, $(python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$EPOCHREALTIME") s"
	((d <= PER_DIR * dirs)) ||
		fail "$what: the daemon decoded $d trees for $dirs directories of which one holds $N entries (at most $((PER_DIR * dirs)) expected: a tree is decoded once per use, not once per entry)"
}

# names_are REF DIR: `ls -f` (readdir) of DIR lists every name of REF once, no other
names_are() {
	ls -f --zero -- "$2" >"$TMP/ls.raw" || fail "ls -f $2 failed"
	python3 "$PY" names <"$TMP/ls.raw" >"$TMP/ls.got" || fail "ls -f $2 lists a name more than once"
	python3 "$PY" lsnames "$1" >"$TMP/ls.want"
	if ! diff -u "$TMP/ls.want" "$TMP/ls.got" >"$TMP/ls.diff"; then
		head -n 30 "$TMP/ls.diff" | cat -v >&2
		fail "ls -f of '$2' does not list exactly the names of '$1' (- missing, + extra)"
	fi
}

# ls_l REF DIR: ls -lA (readdirplus, a stat per entry) shows as many entries as REF has
ls_l() {
	local n
	n=$(ls -lA --zero -- "$2" | tr -cd '\0' | wc -c) || fail "ls -l $2 failed"
	assert_eq "$(($(count_entries "$1") + 1))" "$n" "lines of ls -lA $2 (total + one per entry)"
}

# find_is REF DIR: find -printf through DIR shows the same names, types, exec bits,
# sizes and symlink targets, recursively, as REF
find_is() {
	find "$2" -mindepth 1 -printf '%P\0%y\0%m\0%s\0%l\0' >"$TMP/find.raw" || fail "find $2 failed"
	python3 "$PY" find <"$TMP/find.raw" >"$TMP/find.got" || fail "find $2: unreadable output"
	python3 "$PY" walk "$1" >"$TMP/find.want"
	if ! diff -u "$TMP/find.want" "$TMP/find.got" >"$TMP/find.diff"; then
		head -n 30 "$TMP/find.diff" | cat -v >&2
		fail "find -printf through '$2' differs from '$1' (- source, + mount)"
	fi
}

# stat_all REF DIR SEED: every name of REF looked up in DIR, shuffled; absent names ENOENT
stat_all() { python3 "$PY" stat "$1" "$2" "$3" || fail "looking up the names of '$1' in '$2' one by one"; }

# cat_some REF DIR: some hundreds of files read through DIR equal REF's
cat_some() {
	local n
	n=$(python3 "$PY" cat "$1" "$2" 300) || fail "files read through '$2' differ from '$1'"
	((n >= 250)) || fail "cat_some read only $n files"
}

# getdents_small REF DIR: readdir of DIR with a 1 KiB buffer; seekdir/telldir
getdents_small() {
	python3 "$PY" getdents "$2" "$1" 1024 >"$TMP/gd.out" || fail "getdents64 with a 1 KiB buffer on '$2'"
	note "getdents $2: $(cat "$TMP/gd.out")"
}

# count_entries DIR: entries of DIR (names may hold a newline)
count_entries() { ls -A --zero -- "$1" | tr -cd '\0' | wc -c; }

# drop_kernel_caches: the kernel forgets its unused dentries and inodes (the
# daemon gets their FORGETs) and looks every name up again
drop_kernel_caches() {
	if [[ -w /proc/sys/vm/drop_caches ]]; then
		sync
		echo 2 >/proc/sys/vm/drop_caches
	fi
}

# big_dir_checks WHAT REF ROOT [ID]: the listing and lookup steps on ROOT/big, each
# decode-bounded; a step goes through ROOT and big (find through big's
# subdirectories too). The kernel keeps what it learnt of a snapshot: with ID
# (ROOT is a snapshot of commit ID), ls -l, find, the second lookup pass and
# getdents each go through a path of the same commit that the kernel has not
# seen (NAME@<8 to 11 hex digits>), so that the daemon answers them; in a head the
# second lookup pass follows a drop of the kernel's dentries and inodes (as root).
big_dir_checks() {
	local what=$1 ref=$2 dir=$3/big id=${4:-} nsub d8 d9 d10 d11
	d8=$dir d9=$dir d10=$dir d11=$dir
	if [[ -n "$id" ]]; then
		d8=$D/$NAME@${id:0:8}/big d9=$D/$NAME@${id:0:9}/big
		d10=$D/$NAME@${id:0:10}/big d11=$D/$NAME@${id:0:11}/big
	fi
	nsub=$(find "$ref" -mindepth 1 -maxdepth 1 -type d | wc -l)
	decodes_within "$what: ls -f" 2 names_are "$ref" "$dir"
	decodes_within "$what: ls -l" 2 ls_l "$ref" "$d9"
	decodes_within "$what: find -printf" $((2 + nsub)) find_is "$ref" "$d10"
	decodes_within "$what: lstat of every name, shuffled" 2 stat_all "$ref" "$dir" 1
	[[ -n "$id" ]] || drop_kernel_caches
	decodes_within "$what: lstat of every name, again" 2 stat_all "$ref" "$d8" 2
	decodes_within "$what: reading some hundreds of files" 2 cat_some "$ref" "$dir"
	decodes_within "$what: getdents64 with a 1 KiB buffer, seekdir, telldir" 2 getdents_small "$ref" "$d11"
}

# --- a repository with one big flat directory ---------------------------------------
expect_exit 0 varve init
STORE=$TMP/.varve
expect_exit 0 varve create dataset "$NAME"
python3 "$PY" gen src "$N" || fail "generating the source tree"
assert_eq "$N" "$(count_entries src/big)" "entries in src/big"
assert_eq "$NSUB" "$(find src/big -mindepth 1 -maxdepth 1 -type d | wc -l)" "subdirectories in src/big"
t0=$SECONDS
expect_exit 0 varve commit "$REPO" --from src -m base
ID1=$(cat "$OUT")
assert_match "$HEX64" "$ID1" "commit id"
note "commit of $N entries: $((SECONDS - t0)) s"

MNT=$TMP/mnt
mount_store "$MNT"
D=$MNT/datasets
S=$D/$NAME@main
H=$D/$NAME

# --- a snapshot ----------------------------------------------------------------------
tree_decodes >/dev/null || exit 1
big_dir_checks "snapshot" src/big "$S" "$ID1"
(($(tree_decodes) > 0)) || fail "tree_decodes is still 0 after listing a snapshot directory"
# everything, contents included, through another path again
decodes_within "snapshot NAME@<short id>: every file's content" $((3 + NSUB)) \
	assert_same_listing src "$D/$NAME@${ID1:0:12}" "NAME@<short id>"

# --- the writable head, no changes staged -------------------------------------------
big_dir_checks "head" src/big "$H"

# --- staged changes among the entries -------------------------------------------------
rm -rf exp
cp -a src exp
python3 "$PY" edit exp || fail "editing the expected tree"
python3 "$PY" edit "$H" || fail "editing the head"
note "staged: $(count_entries exp/big) entries in big/ now, $N before"
big_dir_checks "head with staged changes" exp/big "$H"
decodes_within "head with staged changes: every file's content" $((3 + NSUB)) \
	assert_same_listing exp "$H" "the head with staged changes"
# the snapshot of the commit is untouched
names_are src/big "$S/big"
find_is src "$D/$NAME@$ID1"

# --- commit: the new snapshot lists what the head did ---------------------------------
t0=$SECONDS
expect_exit 0 varve commit "$REPO" -m "changes among $N entries"
ID2=$(cat "$OUT")
assert_match "$HEX64" "$ID2" "id of the second commit"
[[ "$ID2" != "$ID1" ]] || fail "the commit of the staged changes made no new commit"
note "commit of the staged changes: $((SECONDS - t0)) s"
head_is() { [[ "$(getfattr --absolute-names --only-values -n user.varve.commit "$H" 2>/dev/null)" == "$1" ]]; }
wait_until 3 head_is "$ID2" || fail "user.varve.commit of the head is not the new commit"
S2=$D/$NAME@$ID2
big_dir_checks "new snapshot" exp/big "$S2" "$ID2"
ls -f --zero -- "$H/big" | python3 "$PY" names >"$TMP/head.names" || fail "ls -f of the head"
ls -f --zero -- "$S2/big" | python3 "$PY" names >"$TMP/snap.names" || fail "ls -f of the new snapshot"
assert_files_equal "$TMP/head.names" "$TMP/snap.names" "ls -f of the head and of its new commit"
decodes_within "new snapshot: every file's content" $((3 + NSUB)) \
	assert_same_listing exp "$S2" "the new snapshot"
decodes_within "head after the commit: ls -f" 2 names_are exp/big "$H/big"
decodes_within "head after the commit: find -printf" $((3 + NSUB)) find_is exp "$H"
decodes_within "old snapshot: ls -f" 2 names_are src/big "$D/$NAME@$ID1/big"

umount_store "$MNT"
