#!/usr/bin/env python3
"""Differential test of a writable head, used by test_mount_fuzz.sh.

Applies the same random operations (create, partial writes, appends, truncates,
unlink, mkdir, rmdir, renames, symlinks, chmod, reads) to HEAD, a head directory
of a varve mount, and to REF, a plain directory, and compares each result (value
or errno) and, every CHECK_EVERY operations and at the end, the two trees:
types, sizes, contents, the exec bit and symlink targets.  A directory rename
must fail on HEAD (EXDEV: the staging model cannot express it) and is skipped.

usage: headfuzz.py HEAD REF SEED OPS [CHECK_EVERY]
Prints "ok", or the first divergence and the operations before it (exit 1)."""
import errno, hashlib, os, random, stat, sys

head, ref, seed, nops = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
check_every = int(sys.argv[5]) if len(sys.argv) > 5 else 50
max_size = 1 << 20
rnd = random.Random(seed)
log = []


def tree(root):
    out = {}
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for n in sorted(dirs + files):
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("d",)
            else:
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
                out[rel] = ("f", st.st_size, bool(st.st_mode & 0o100), h)
    return out


def compare(where):
    a, b = tree(head), tree(ref)
    if a != b:
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                print(f"DIVERGE at {where}: {k}: head={a.get(k)} ref={b.get(k)}")
                break
        print("last ops:", *log[-15:], sep="\n  ")
        sys.exit(1)


def paths(kind):
    out = []
    for d, dirs, files in os.walk(ref):
        for n in dirs + files:
            p = os.path.relpath(os.path.join(d, n), ref)
            st = os.lstat(os.path.join(ref, p))
            if kind == "f" and stat.S_ISREG(st.st_mode):
                out.append(p)
            elif kind == "d" and stat.S_ISDIR(st.st_mode):
                out.append(p)
            elif kind == "any":
                out.append(p)
    return sorted(out)


def newname():
    dirs = [""] + paths("d")
    return os.path.join(rnd.choice(dirs), f"n{rnd.randrange(1000)}")


def both(fn, desc):
    """Runs fn(root) on head and ref; both must succeed or fail alike."""
    log.append(desc)
    res = []
    for root in (head, ref):
        try:
            res.append(("ok", fn(root)))
        except OSError as e:
            res.append(("err", e.errno))
    if res[0] != res[1]:
        if res[0] == ("err", errno.EXDEV) and desc.startswith("rename"):
            return  # a directory rename: documented EXDEV, the ref moved; undo below
        print(f"DIVERGE on {desc}: head={res[0]} ref={res[1]}")
        print("last ops:", *log[-15:], sep="\n  ")
        sys.exit(1)


def data(n):
    return rnd.randbytes(n)


def writer(p, d, flags, off=None):
    """An edit that opens p write-only with flags and writes d (at off)."""
    def f(root):
        fd = os.open(os.path.join(root, p), os.O_WRONLY | flags, 0o644)
        try:
            done = 0
            while done < len(d):
                if off is None:
                    done += os.write(fd, d[done:])
                else:
                    done += os.pwrite(fd, d[done:], off + done)
        finally:
            os.close(fd)
    return f


for i in range(nops):
    files = paths("f")
    op = rnd.choices(["create", "pwrite", "append", "truncate", "unlink", "mkdir",
                      "rmdir", "rename", "symlink", "chmod", "read", "open_trunc"],
                     [10, 12, 6, 8, 4, 3, 2, 6, 2, 3, 8, 3])[0]
    if op == "create" or not files and op not in ("mkdir", "symlink"):
        p, n = newname(), rnd.choice([0, 1, 100, 4096, 70000, 300000, rnd.randrange(max_size)])
        both(writer(p, data(n), os.O_CREAT | os.O_TRUNC), f"create {p} {n}")
    elif op == "pwrite":
        p = rnd.choice(files)
        off = rnd.randrange(rnd.choice([10, 5000, 400000, 2 << 20]))
        d = data(rnd.choice([1, 10, 4096, 65536, 200000]))
        both(writer(p, d, 0, off), f"pwrite {p} @{off} {len(d)}")
    elif op == "append":
        p = rnd.choice(files)
        d = data(rnd.choice([1, 100, 8192, 100000]))
        both(writer(p, d, os.O_APPEND), f"append {p} {len(d)}")
    elif op == "truncate":
        p = rnd.choice(files)
        n = rnd.randrange(rnd.choice([10, 70000, 1 << 20]))
        both(lambda root, p=p, n=n: os.truncate(os.path.join(root, p), n), f"truncate {p} {n}")
    elif op == "open_trunc":
        p = rnd.choice(files)
        d = data(rnd.choice([0, 10, 5000]))
        both(writer(p, d, os.O_TRUNC), f"open_trunc {p} {len(d)}")
    elif op == "unlink":
        p = rnd.choice(paths("any") or ["x"])
        if os.path.isdir(os.path.join(ref, p)) and not os.path.islink(os.path.join(ref, p)):
            continue
        both(lambda root, p=p: os.unlink(os.path.join(root, p)), f"unlink {p}")
    elif op == "mkdir":
        p = newname()
        both(lambda root, p=p: os.mkdir(os.path.join(root, p)), f"mkdir {p}")
    elif op == "rmdir":
        ds = paths("d")
        if not ds:
            continue
        p = rnd.choice(ds)
        both(lambda root, p=p: os.rmdir(os.path.join(root, p)), f"rmdir {p}")
    elif op == "rename":
        src = rnd.choice(paths("any") or ["x"])
        dst = rnd.choice(files) if rnd.random() < 0.3 else newname()
        if dst == src or (dst + "/").startswith(src + "/"):
            continue
        isdir = os.path.isdir(os.path.join(ref, src)) and not os.path.islink(os.path.join(ref, src))
        if isdir:
            # head answers EXDEV (documented); check that, leave both unchanged
            try:
                os.rename(os.path.join(head, src), os.path.join(head, dst))
                print(f"DIVERGE: directory rename {src} -> {dst} succeeded on head")
                sys.exit(1)
            except OSError as e:
                if e.errno not in (errno.EXDEV, errno.ENOTDIR, errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST):
                    print(f"DIVERGE: directory rename gave {e}")
                    sys.exit(1)
            continue
        both(lambda root, s=src, d=dst: os.rename(os.path.join(root, s), os.path.join(root, d)),
             f"rename {src} {dst}")
    elif op == "symlink":
        p = newname()
        t = rnd.choice(["target", "../up", "a/b/c", "x" * 100])
        both(lambda root, p=p, t=t: os.symlink(t, os.path.join(root, p)), f"symlink {p} -> {t}")
    elif op == "chmod":
        p = rnd.choice(files)
        m = rnd.choice([0o644, 0o755, 0o600, 0o700])
        both(lambda root, p=p, m=m: os.chmod(os.path.join(root, p), m), f"chmod {p} {oct(m)}")
    elif op == "read":
        p = rnd.choice(files)
        off, n = rnd.randrange(1 << 20), rnd.choice([1, 4096, 131072, 1 << 20])
        def f(root, p=p, off=off, n=n):
            fd = os.open(os.path.join(root, p), os.O_RDONLY)
            try:
                return hashlib.sha256(os.pread(fd, n, off)).hexdigest()
            finally:
                os.close(fd)
        both(f, f"read {p} @{off} {n}")
    if (i + 1) % check_every == 0:
        compare(f"op {i + 1}")
compare("end")
print("ok")
