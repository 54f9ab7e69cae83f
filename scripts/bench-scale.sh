#!/usr/bin/env bash
# Scale benchmark: varve at the shapes real datasets have, against the local disk
# (the source directory, ext4) and `restic mount`, in one run. For each size 10^k it
# generates (once; kept in the work dir) a COCO-like set, one flat directory of 10^k
# files (up to 10^5), and an ImageNet-like set, 10^(k-3) directories of 1,000 files;
# files of 1-8 KiB of deterministic pseudo-random bytes. It measures `varve commit`
# of each set (seconds, peak RSS; `restic backup` as the peer), then through the
# mount, cold and warm: `ls -f` and `ls -l` of the flat directory, `find -type f`
# and `find -printf %s` of the ImageNet-like set, a torchvision-ImageFolder-like
# scan (scandir of every class, stat of every file), and a shuffled read of 20,000
# files (fixed seed) of each set. Cold = page cache dropped and, for varve and
# restic, a freshly started mount; warm = the same command right after. Prints a
# table with the ratios to the local disk, the growth from one size to the next and
# the targets; rows that miss a target say MISSED. Not a timed test.
#
# usage: scripts/bench-scale.sh [--sizes 4,5,6] [--quick] [--dir WORKDIR] [--keep]
#                               [--runs N] [--limit SECS] [--tools LIST]
#        scripts/bench-scale.sh --report RESULTS.tsv...
#   --sizes LIST   powers of ten to measure, from 3 to 6 (default 4,5,6); the flat
#                  set exists up to 10^5, the ImageNet-like one at every size
#   --quick        --sizes 4,5 --runs 1
#   --dir DIR      work dir (default ${TMPDIR:-/var/tmp}/varve-bench-scale; 10^6 needs
#                  about 20 GB); the generated data is kept there and reused
#   --keep         keep the repositories after the run
#   --runs N       cold runs per measurement up to 10^5, the median is reported
#                  (default 3); 10^6 is measured once
#   --limit SECS   time limit of one run of a listing, scan or read (default 120);
#                  a run that takes longer is stopped and shown as "> SECS s"
#   --tools LIST   which of local,varve,restic to measure (default all three)
#   --report FILE...  print the table of earlier runs' results files again, merged
#                  (a later file's figures replace an earlier's)
# environment: VARVE=path/to/varve (default build/release/varve, built if missing)
# Runs as root (it drops the page cache and mounts).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sizes=4,5,6 workdir=${TMPDIR:-/var/tmp}/varve-bench-scale keep=0 runs=3 limit=120
tools=local,varve,restic report_only=()
while (($#)); do
	case "$1" in
	--sizes) sizes=${2:?--sizes needs a list such as 4,5}; shift 2 ;;
	--quick) sizes=4,5 runs=1; shift ;;
	--dir) workdir=${2:?--dir needs a directory}; shift 2 ;;
	--keep) keep=1; shift ;;
	--runs) runs=${2:?--runs needs a number}; shift 2 ;;
	--limit) limit=${2:?--limit needs seconds}; shift 2 ;;
	--tools) tools=${2:?--tools needs a list such as local,varve}; shift 2 ;;
	--report) shift; report_only=("$@"); (($#)) || { echo "bench-scale.sh: --report needs a results file" >&2; exit 2; }; break ;;
	-h|--help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-scale.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

# --- the report: a table from a results file (tab-separated, written as we go) --------------
report() {
	python3 - "$@" <<'PY'
import signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)

meta, res, stats, sets, sig_bad = {}, {}, {}, {}, []
all_sizes, elapsed, limits = set(), [], set()
for path in sys.argv[1:]:
  for line in open(path):
    f = line.rstrip("\n").split("\t")
    if f[0] == "meta":
        meta[f[1]] = f[2]
        if f[1] == "sizes":
            all_sizes.update(int(p) for p in f[2].split(",") if p)
        elif f[1] == "elapsed":
            elapsed.append(f[2])
        elif f[1] == "limit":
            limits.add(f[2])
    elif f[0] == "res":                      # res TOOL P NAME VALUE RUNS
        # a run stopped at the limit: ("timeout", the limit of its run); a cold figure
        # replaces the warm one of an earlier file, which its own follows
        res.pop((f[1], int(f[2]), f[3] + "_w"), None)
        res[(f[1], int(f[2]), f[3])] = ("timeout", float(meta["limit"])) if f[4] == "timeout" else float(f[4])
    elif f[0] == "stats":                    # stats P NAME COLD_STATS WARM_STATS
        stats[(int(f[1]), f[2])] = (f[3], f[4] if len(f) > 4 else "")
    elif f[0] == "set":                      # set NAME FILES BYTES DISK_BYTES
        sets[f[1]] = (int(f[2]), int(f[3]), int(f[4]))
    elif f[0] == "mismatch":
        sig_bad.append(f[1:])

sizes = [p for p in sorted(all_sizes) if any(k[1] == p for k in res)]
timeout = lambda v: isinstance(v, tuple)
tools = [t for t in ("varve", "local", "restic") if any(k[0] == t for k in res)]
K = 20000

def val(tool, p, name):
    return res.get((tool, p, name))

def fmt_s(v):
    if v is None: return "-"
    if timeout(v): return "> %g s" % v[1]
    return "%.3f" % v if v < 1 else "%.2f" % v if v < 100 else "%.0f" % v

def fmt_x(v):
    return ("%.1fx" % v) if v < 100 else ("%.0fx" % v)

def ratio(a, b):
    """a / b, or a lower bound when a timed out; None if unknown."""
    if a is None or b is None or timeout(b): return None
    if timeout(a): return (">", a[1] / b if b > 0 else float("inf"))
    return ("", a / b if b > 0 else float("inf"))

def fmt_r(r):
    return "" if r is None else r[0] + fmt_x(r[1])

def per(name, p):
    # the read rows read min(N, 20000) files: their growth is per file read
    if name.startswith("read_"):
        return float(min(10 ** p, K))
    return 1.0

def growth(tool, name, a, b):
    va, vb = val(tool, a, name), val(tool, b, name)
    if va is None or vb is None or timeout(va): return None
    if timeout(vb):
        return (">", (vb[1] / per(name, b)) / (va / per(name, a)))
    return ("", (vb / per(name, b)) / (va / per(name, a)))

pairs = [(a, a + 1) for a in sizes if a + 1 in sizes]
rows = [
    # name, label, unit, kind of target
    ("commit_flat", "commit, flat", "s", None),
    ("rss_flat", "  peak RSS, MiB", "mib", None),
    ("commit_imnet", "commit, ImageNet-like", "s", None),
    ("rss_imnet", "  peak RSS, MiB", "mib", "rss"),
    ("ls_f", "ls -f flat, cold", "s", "list"),
    ("ls_f_w", "ls -f flat, warm", "s", None),
    ("ls_l", "ls -l flat, cold", "s", "list"),
    ("ls_l_w", "ls -l flat, warm", "s", None),
    ("find", "find -type f | wc -l, cold", "s", "list"),
    ("find_w", "find -type f | wc -l, warm", "s", None),
    ("find_s", "find -type f -printf %s, cold", "s", "list"),
    ("find_s_w", "find -type f -printf %s, warm", "s", None),
    ("scan", "ImageFolder scan, cold", "s", "list"),
    ("scan_w", "ImageFolder scan, warm", "s", None),
    ("read_flat", "shuffled read 20k, flat, cold", "s", "read"),
    ("read_flat_w", "shuffled read 20k, flat, warm", "s", None),
    ("read_imnet", "shuffled read 20k, IN-like, cold", "s", "read"),
    ("read_imnet_w", "shuffled read 20k, IN-like, warm", "s", None),
]
targets = {
    "list": "<= 5x disk, growth <= 12x",
    "read": "speed >= 0.6x disk (time <= 1.67x)",
    "rss": "< 1024 MiB at 10^6",
}

print()
print("varve at scale, %s: %s; %s" % (meta.get("date", "?"), meta.get("varve", "varve"), meta.get("restic", "")))
print("page cache dropped before every cold run: %s; varve and restic freshly mounted for each; "
      "cold = median of %s%s; warm = the same command right after each cold run (median); "
      "limit %s s per run" % (meta.get("dropped", "?"),
                              "1 run" if meta.get("runs") == "1" else "%s runs" % meta.get("runs", "?"),
                              " (10^6: 1 run)" if 6 in sizes else "", " or ".join(sorted(limits, key=float))))
print("files of 1-8 KiB, random bytes; flat = one directory (COCO-like); "
      "IN-like = ImageNet-like, directories of 1,000 files; shuffled reads: 20,000 files "
      "(all of them at 10^4), fixed seed; restic backup: 1 run")
for name in sorted(sets, key=lambda s: (int(s.split("-")[1]), s)):
    n, b, d = sets[name]
    print("  %-9s %8d files, %8.1f MiB, %8.1f MiB on disk" % (name, n, b / 2**20, d / 2**20))
if elapsed:
    print("time taken: " + "; ".join(elapsed))
print()
w = 16
hdr = "%-33s %-6s" % ("seconds; (x) = / local disk", "tool")
hdr += "".join("%*s" % (w, "10^%d" % p) for p in sizes)
hdr += "".join("%9s" % ("%d/%d" % (b, a)) for a, b in pairs)
print(hdr + "  verdict  target")
for name, label, unit, kind in rows:
    if not any(val(t, p, name) is not None for t in tools for p in sizes):
        continue
    first = True
    for tool in tools:
        if name.startswith(("commit", "rss")) and tool == "local":
            continue
        if not any(val(tool, p, name) is not None for p in sizes):
            continue
        line = "%-33s %-6s" % (label if first else "", tool)
        misses, unknown = [], False
        for p in sizes:
            v = val(tool, p, name)
            if unit == "mib":
                cell = "-" if v is None else "%.0f" % (v / 1024)
                if kind == "rss" and tool == "varve" and p == 6 and v is not None and v >= 1024 * 1024:
                    misses.append("10^6")
            else:
                cell = fmt_s(v)
                if tool != "local" and not name.startswith("commit"):
                    r = ratio(v, val("local", p, name))
                    if r is not None:
                        cell += " (%s)" % fmt_r(r)
                    if tool == "varve" and kind and v is not None:
                        bound = 5 if kind == "list" else 1 / 0.6
                        if timeout(v) or (r is not None and r[1] > bound):
                            misses.append("10^%d" % p)
                        elif r is None:
                            unknown = True   # no local disk figure to compare with
            line += "%*s" % (w, cell)
        for a, b in pairs:
            g = growth(tool, name, a, b) if unit == "s" else None
            line += "%9s" % (fmt_r(g) if g else "-")
            if tool == "varve" and kind == "list" and g and g[1] > 12:
                misses.append("growth %d/%d" % (b, a))
        if tool == "varve" and kind:
            measured = [p for p in sizes if val("varve", p, name) is not None]
            if kind == "rss" and 6 not in measured:
                verdict = "-"
            else:
                verdict = "MISSED " + ",".join(misses) if misses else "?" if unknown else "ok"
            line += "  %-7s  %s" % (verdict, targets[kind])
        print(line.rstrip())
        first = False
print("growth = time at the larger size / time at the smaller; for the shuffled reads, per file read")

if stats:
    print()
    print("varve daemon counters (user.varve.stats): requests/tree_decodes after the cold run, "
          "+requests/+tree_decodes of the warm run right after")
    def kv(s):
        return dict(x.split("=", 1) for x in s.split() if "=" in x)
    print("%-33s" % "" + "".join("%24s" % ("10^%d" % p) for p in sizes))
    for name, label, unit, kind in rows:
        if (sizes and not any((p, name) in stats for p in sizes)) or name.endswith("_w"):
            continue
        line = "%-33s" % label.replace(", cold", "")
        for p in sizes:
            c, wm = stats.get((p, name), ("", ""))
            if not c:
                line += "%24s" % "-"
                continue
            c, wm = kv(c), kv(wm)
            td = c.get("tree_decodes", "-")
            cell = "%s/%s" % (c.get("requests", "?"), td)
            if wm:
                dr = int(wm.get("requests", 0)) - int(c.get("requests", 0))
                dt = (str(int(wm["tree_decodes"]) - int(c["tree_decodes"]))
                      if "tree_decodes" in wm and "tree_decodes" in c else "-")
                cell += " +%d/+%s" % (dr, dt)
            line += "%24s" % cell
        print(line)
    if not any("tree_decodes" in s[0] for s in stats.values()):
        print("(this daemon has no tree_decodes counter)")

if sig_bad:
    print()
    print("WARNING: outputs that differ from the local disk's (a wrong listing or read):")
    for m in sig_bad:
        print("  " + " ".join(m))
PY
}
if ((${#report_only[@]})); then
	report "${report_only[@]}"
	exit 0
fi

# --- arguments, peers, the binary -----------------------------------------------------------
IFS=, read -r -a size_list <<<"$sizes"
for p in "${size_list[@]}"; do
	[[ $p =~ ^[3-6]$ ]] || { echo "bench-scale.sh: --sizes takes powers of ten from 3 to 6" >&2; exit 2; }
done
mapfile -t size_list < <(printf '%s\n' "${size_list[@]}" | sort -nu)
sizes=$(IFS=,; echo "${size_list[*]}")
declare -A use=()
IFS=, read -r -a tool_list <<<"$tools"
for t in "${tool_list[@]}"; do
	case $t in
	local|varve|restic) use[$t]=1 ;;
	*) echo "bench-scale.sh: --tools takes local, varve and restic" >&2; exit 2 ;;
	esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench-scale.sh: --runs needs a positive number" >&2; exit 2; }
[[ $limit =~ ^[1-9][0-9]*$ ]] || { echo "bench-scale.sh: --limit needs whole seconds" >&2; exit 2; }
if ((EUID != 0)); then
	echo "bench-scale.sh: runs as root (it drops the page cache and mounts)" >&2
	exit 1
fi

"$root/scripts/setup.sh" --bench

varve=${VARVE:-$root/build/release/varve}
if [[ ! -x "$varve" ]]; then
	echo "== building $varve" >&2
	cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$root/build/release" -j"$(nproc)" --target varve >/dev/null
fi
[[ -c /dev/fuse ]] || { echo "bench-scale.sh: no /dev/fuse: FUSE mounts are impossible here" >&2; exit 1; }

export RESTIC_PASSWORD=${RESTIC_PASSWORD:-varve-bench}

mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd -P)
export RESTIC_CACHE_DIR=$workdir/restic-cache
datadir=$workdir/data
repos=$workdir/repos
mnt=$workdir/mnt
results=$workdir/results-$(date +%Y%m%d-%H%M%S).tsv

# --- cleanup: nothing stays mounted ---------------------------------------------------------
restic_pid='' varve_store='' varve_daemon=''
is_mounted() { awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/self/mounts; }
# gone PID SECS: waits up to SECS for PID to exit
gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
umount_varve() {
	[[ -n "$varve_store" ]] || return 0
	if is_mounted "$mnt/varve" &&
		! timeout -k 5 60 "$varve" --store "$varve_store" -q umount "$mnt/varve" >/dev/null 2>&1; then
		echo "bench-scale.sh: warning: varve umount failed" >&2
	fi
	# a daemon still busy with a request that a stopped run left behind is stopped too
	if [[ -n "$varve_daemon" ]] && ! gone "$varve_daemon" 10; then
		echo "bench-scale.sh: note: the varve daemon (pid $varve_daemon) is still busy; stopping it" >&2
		kill -TERM "$varve_daemon" 2>/dev/null || true
		if ! gone "$varve_daemon" 20; then
			kill -KILL "$varve_daemon" 2>/dev/null || true
			gone "$varve_daemon" 10 || true
		fi
	fi
	if is_mounted "$mnt/varve"; then umount -l "$mnt/varve" 2>/dev/null || true; fi
	varve_store='' varve_daemon=''
}
umount_restic() {
	[[ -n "$restic_pid" ]] || return 0
	kill -INT "$restic_pid" 2>/dev/null || true
	if ! gone "$restic_pid" 30; then
		echo "bench-scale.sh: warning: restic mount did not exit; killing it" >&2
		kill -KILL "$restic_pid" 2>/dev/null || true
	fi
	wait "$restic_pid" 2>/dev/null || true
	restic_pid=
	if is_mounted "$mnt/restic"; then fusermount3 -u -z "$mnt/restic" 2>/dev/null || umount -l "$mnt/restic" 2>/dev/null || true; fi
}
on_exit() {
	local rc=$?
	cd /
	umount_varve
	umount_restic
	if ((!keep)) && [[ -d "$repos" ]]; then
		rm -rf "$repos" "$RESTIC_CACHE_DIR"
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for m in varve restic; do
	if is_mounted "$mnt/$m"; then umount -l "$mnt/$m" 2>/dev/null || true; fi
done
rm -rf "$repos" "$RESTIC_CACHE_DIR"
mkdir -p "$repos" "$mnt"/{varve,restic} "$datadir"

t_start=$(date +%s)
record() { printf '%s\n' "$(IFS=$'\t'; echo "$*")" >>"$results"; }
record meta date "$(date -u +'%Y-%m-%d %H:%M UTC')"
record meta varve "$("$varve" --version 2>/dev/null || echo "$varve")"
record meta restic "$(restic version | cut -d' ' -f1-2)"
record meta sizes "$sizes"
record meta runs "$runs"
record meta limit "$limit"

# --- the data -------------------------------------------------------------------------------
# set NAME = KIND-P: flat-P (10^P files in one directory, COCO-like names) or imnet-P
# (10^(P-3) class directories of 1,000 files, ImageNet-like names). Next to each set:
# NAME.read, the 20,000 files of the shuffled read (relative paths, fixed seed), and
# NAME.ok, the marker of a complete set, with what it holds.
gen_version=1
generate() { # generate NAME
	local name=$1 kind=${1%-*} p=${1#*-}
	local out=$datadir/$name spec="v$gen_version kind=$kind n=$((10 ** p)) seed=$((1000 + p)) sizes=1024-8192"
	if [[ -d $out && -f $out.ok && $(head -n 1 "$out.ok") == "$spec" ]]; then
		return 0
	fi
	echo "== generating $name in $out" >&2
	rm -rf "$out" "$out.tmp" "$out.ok" "$out.read"
	mkdir -p "$out.tmp"
	python3 - "$out.tmp" "$kind" "$((10 ** p))" "$((1000 + p))" "$out.read" <<'PY'
import os, random, sys
out, kind, n, seed, listing = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rnd = random.Random(seed)
names = []
def write(rel):
    fd = os.open(os.path.join(out, rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, rnd.randbytes(rnd.randint(1024, 8192)))
    os.close(fd)
    names.append(rel)
if kind == "flat":
    for i in sorted(rnd.sample(range(1, 6 * n), n)):  # COCO: 000000397133.jpg
        write("%012d.jpg" % i)
else:
    for c in range(n // 1000):                        # ImageNet: n01440764/n01440764_10026.JPEG
        wnid = "n%08d" % (1440764 + c * 97213)
        os.mkdir(os.path.join(out, wnid))
        for i in sorted(rnd.sample(range(1, 50000), 1000)):
            write("%s/%s_%d.JPEG" % (wnid, wnid, i))
names.sort()
random.Random(7).shuffle(names)
with open(listing, "w") as f:
    f.write("\n".join(names[:20000]) + "\n")
PY
	mv "$out.tmp" "$out"
	echo "$spec" >"$out.ok"
}
set_info() { # set_info NAME: records the set's files, bytes and disk use (counted once)
	local d=$datadir/$1
	if [[ $(sed -n 2p "$d.ok") != [0-9]* ]]; then
		echo "$(find "$d" -type f | wc -l)	$(du -s --apparent-size --block-size=1 "$d" | cut -f1)	$(du -s --block-size=1 "$d" | cut -f1)" >>"$d.ok"
	fi
	record set "$1" "$(sed -n 2p "$d.ok")"
}

# --- measuring ------------------------------------------------------------------------------
can_drop=1
drop_caches() {
	sync
	if ((can_drop)) && ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
		echo "bench-scale.sh: warning: cannot drop the page cache: cold runs are not cold" >&2
		can_drop=0
	fi
}
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.6f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
path_of() { # path_of TOOL SET: where the set's directory appears for TOOL
	case $1 in
	local) echo "$datadir/$2" ;;
	varve) echo "$mnt/varve/datasets/bench@v1" ;;
	restic) echo "$mnt/restic/snapshots/latest$datadir/$2" ;;
	esac
}
wait_for() { # wait_for SECS PATH
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		[[ -e "$2" ]] && return 0
		sleep 0.1
	done
	echo "bench-scale.sh: '$2' did not appear within $1 s" >&2
	return 1
}
mount_tool() { # mount_tool TOOL SET
	case $1 in
	local) ;;
	varve)
		varve_store=$repos/$2/varve
		timeout -k 5 120 "$varve" --store "$varve_store" -q mount "$mnt/varve"
		varve_daemon=$(sed -n "s|^varve: mounted at $mnt/varve (pid \([0-9]*\)).*|\1|p" "$varve_store/mount.log" | tail -n 1)
		;;
	restic)
		restic --repo "$repos/$2/restic" mount "$mnt/restic" >"$workdir/restic-mount.log" 2>&1 &
		restic_pid=$!
		wait_for 120 "$(path_of restic "$2")"
		;;
	esac
}
umount_tool() {
	case $1 in
	varve) umount_varve ;;
	restic) umount_restic ;;
	esac
}
varve_stats() { timeout 10 getfattr --only-values -n user.varve.stats "$mnt/varve" 2>/dev/null || true; }
# timed CMD...: runs CMD (stdout to $workdir/out) with the time limit; elapsed = seconds or
# "timeout"
elapsed=
timed() {
	local t0 t1 rc=0
	t0=$(now)
	# (the braces keep bash's "Killed" notice of a stopped run off the terminal)
	{ timeout -k 5 "$limit" "$@" </dev/null >"$workdir/out" 2>"$workdir/err.log" || rc=$?; } 2>/dev/null
	t1=$(now)
	if ((rc == 124 || rc == 137)); then
		elapsed=timeout
		return 0
	fi
	if ((rc != 0)); then
		cat "$workdir/err.log" >&2
		echo "bench-scale.sh: failed ($rc): $*" >&2
		exit 1
	fi
	elapsed=$(calc "$t1 - $t0")
}
# signature NAME: what must be the same whatever the tool (counts, sizes, bytes read)
signature() {
	case $1 in
	ls_f) grep -cvx -e . -e .. <"$workdir/out" ;;   # FUSE file systems may omit . and ..
	ls_l) wc -l <"$workdir/out" ;;
	find_s) awk '{ s += $1 } END { print NR, s }' "$workdir/out" ;;
	*) cat "$workdir/out" ;;
	esac
}
declare -A sig=()
# measure TOOL P SET NAME CMD...: the median of the cold runs of CMD, each from a fresh mount
# with the page cache dropped, and of the warm runs right after each. A run over the
# limit ends the measurement ("timeout").
measure() {
	local tool=$1 p=$2 set=$3 name=$4 k n cold=() warm=() c=timeout w='' sc='' sw='' s; shift 4
	n=$runs
	((p >= 6)) && n=1
	for ((k = 0; k < n; k++)); do
		mount_tool "$tool" "$set"
		drop_caches
		timed "$@"
		if [[ $elapsed == timeout ]]; then
			cold=(timeout)
			[[ $tool == varve ]] && sc=$(varve_stats)
			umount_tool "$tool"
			break
		fi
		cold+=("$elapsed")
		s=$(signature "$name")
		if [[ -z ${sig[$p/$name]:-} ]]; then
			sig[$p/$name]=$s
		elif [[ ${sig[$p/$name]} != "$s" ]]; then
			echo "bench-scale.sh: WARNING: $tool $name at 10^$p: output '$s', expected '${sig[$p/$name]}'" >&2
			record mismatch "$tool" "10^$p" "$name" "got: $s" "expected: ${sig[$p/$name]}"
		fi
		[[ $tool == varve ]] && sc=$(varve_stats)
		timed "$@"
		warm+=("$elapsed")
		[[ $tool == varve ]] && sw=$(varve_stats)
		umount_tool "$tool"
	done
	if [[ ${cold[0]} != timeout ]]; then
		c=$(median "${cold[@]}")
		if [[ " ${warm[*]} " == *" timeout "* ]]; then w=timeout; else w=$(median "${warm[@]}"); fi
	fi
	record res "$tool" "$p" "$name" "$c" "${cold[*]}"
	[[ -n "$w" ]] && record res "$tool" "$p" "${name}_w" "$w" "${warm[*]}"
	[[ $tool == varve ]] && record stats "$p" "$name" "${sc//$'\t'/ }" "${sw//$'\t'/ }"
	local td=
	if [[ $sc == *tree_decodes=* ]]; then
		td=${sc##*tree_decodes=}
		td=" tree_decodes=${td%% *}"
	fi
	if [[ $c == timeout ]]; then
		printf '   %-6s 10^%s %-12s  > %s s (stopped)%s\n' "$tool" "$p" "$name" "$limit" "$td" >&2
	else
		printf '   %-6s 10^%s %-12s %9.3f s cold (runs: %s), %9.3f s warm%s\n' "$tool" "$p" "$name" "$c" \
			"$(printf '%.3f ' "${cold[@]}" | sed 's/ $//')" "$w" "$td" >&2
	fi
}

# ingest SET P: the varve store and the restic repository of SET; varve commit measured
# ($runs cold runs, each into a new store; 1 at 10^6), restic backup once
ingest() {
	local set=$1 p=$2 kind=${1%-*} data=$datadir/$1 k n t0 t1 times=() rss=() store=$repos/$1/varve
	mkdir -p "$repos/$set"
	if [[ -n ${use[varve]:-} ]]; then
		n=$runs
		((p >= 6)) && n=1
		for ((k = 0; k < n; k++)); do
			rm -rf "$store"
			"$varve" init "$store" >/dev/null
			"$varve" --store "$store" create dataset bench >/dev/null
			drop_caches
			t0=$(now)
			/usr/bin/time -f %M -o "$workdir/rss" "$varve" --store "$store" -q commit datasets/bench \
				--from "$data" -m "$set" >/dev/null 2>"$workdir/err.log" ||
				{ cat "$workdir/err.log" >&2; echo "bench-scale.sh: varve commit of $set failed" >&2; exit 1; }
			t1=$(now)
			times+=("$(calc "$t1 - $t0")")
			rss+=("$(tail -n 1 "$workdir/rss")")
		done
		"$varve" --store "$store" tag datasets/bench v1 >/dev/null
		record res varve "$p" "commit_$kind" "$(median "${times[@]}")" "${times[*]}"
		record res varve "$p" "rss_$kind" "$(printf '%s\n' "${rss[@]}" | sort -n | tail -n 1)" "${rss[*]}"
		printf '   %-6s 10^%s %-12s %9.3f s (runs: %s), peak RSS %d MiB\n' varve "$p" "commit_$kind" \
			"$(median "${times[@]}")" "$(printf '%.3f ' "${times[@]}" | sed 's/ $//')" \
			"$(($(printf '%s\n' "${rss[@]}" | sort -n | tail -n 1) / 1024))" >&2
	fi
	if [[ -n ${use[restic]:-} ]]; then
		rm -rf "$repos/$set/restic"
		restic init --repo "$repos/$set/restic" >/dev/null 2>&1
		drop_caches
		t0=$(now)
		/usr/bin/time -f %M -o "$workdir/rss" restic backup --repo "$repos/$set/restic" -q "$data" \
			>/dev/null 2>"$workdir/err.log" ||
			{ cat "$workdir/err.log" >&2; echo "bench-scale.sh: restic backup of $set failed" >&2; exit 1; }
		t1=$(now)
		record res restic "$p" "commit_$kind" "$(calc "$t1 - $t0")"
		record res restic "$p" "rss_$kind" "$(tail -n 1 "$workdir/rss")"
		printf '   %-6s 10^%s %-12s %9.3f s, peak RSS %d MiB\n' restic "$p" "commit_$kind" \
			"$(calc "$t1 - $t0")" "$(($(tail -n 1 "$workdir/rss") / 1024))" >&2
	fi
}

# the interpreter itself, not a wrapper (pyenv's shim costs 0.1 s a start)
py=$(python3 -c 'import sys; print(sys.executable)')
scan_py=$workdir/imagefolder-scan.py
cat >"$scan_py" <<'PY'
# torchvision.datasets.ImageFolder's scan: the class directories, then every file of
# each class in name order, with a stat of each (as opening the image would)
import os, sys
root = sys.argv[1]
classes = sorted(e.name for e in os.scandir(root) if e.is_dir())
n = size = 0
for c in classes:
    d = os.path.join(root, c)
    for name in sorted(e.name for e in os.scandir(d)):
        size += os.stat(os.path.join(d, name)).st_size
        n += 1
print(len(classes), n, size)
PY
read_py=$workdir/shuffled-read.py
cat >"$read_py" <<'PY'
# a data loader's epoch: open and read every byte of each file of a shuffled list
import os, sys
root, listing = sys.argv[1], sys.argv[2]
n = total = 0
for rel in open(listing).read().split("\n"):
    if not rel:
        continue
    fd = os.open(os.path.join(root, rel), os.O_RDONLY)
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            break
        total += len(b)
    os.close(fd)
    n += 1
print(n, total)
PY

# --- the run --------------------------------------------------------------------------------
elapsed_note=
for p in "${size_list[@]}"; do
	t_size=$(date +%s)
	sets=()
	((p <= 5)) && sets+=("flat-$p")
	sets+=("imnet-$p")
	for s in "${sets[@]}"; do
		generate "$s"
		set_info "$s"
	done
	t_gen=$(($(date +%s) - t_size))
	echo "== 10^$p: ingesting ${sets[*]}" >&2
	for s in "${sets[@]}"; do ingest "$s" "$p"; done
	echo "== 10^$p: listings, scans and reads" >&2
	for tool in local varve restic; do
		[[ -n ${use[$tool]:-} ]] || continue
		for s in "${sets[@]}"; do
			dir=$(path_of "$tool" "$s")
			case $s in
			flat-*)
				measure "$tool" "$p" "$s" ls_f ls -f "$dir"
				measure "$tool" "$p" "$s" ls_l ls -l "$dir"
				measure "$tool" "$p" "$s" read_flat "$py" "$read_py" "$dir" "$datadir/$s.read"
				;;
			imnet-*)
				# shellcheck disable=SC2016 # the inner shell expands $1
				measure "$tool" "$p" "$s" find bash -c 'find "$1" -type f | wc -l' _ "$dir"
				measure "$tool" "$p" "$s" find_s find "$dir" -type f -printf '%s\n'
				measure "$tool" "$p" "$s" scan "$py" "$scan_py" "$dir"
				measure "$tool" "$p" "$s" read_imnet "$py" "$read_py" "$dir" "$datadir/$s.read"
				;;
			esac
		done
	done
	elapsed_note+="10^$p: $(($(date +%s) - t_size)) s (generating the data: $t_gen s); "
	# the repositories of this size are no longer needed
	if ((!keep)); then
		for s in "${sets[@]}"; do rm -rf "${repos:?}/$s"; done
	fi
done
record meta dropped "$([[ $can_drop == 1 ]] && echo yes || echo no)"
record meta elapsed "${elapsed_note%; }; in all $(($(date +%s) - t_start)) s"

report "$results"
echo
echo "results: $results (scripts/bench-scale.sh --report FILE prints this table again)"
