#!/usr/bin/env bash
# Ingest benchmark: varve commit against restic backup and borg create (lz4, its
# default, and zstd,3), on the same ML-shaped dataset, in one run, with the page
# cache dropped before every cold measurement; then a version 2 with about 1%
# changed, committed/backed up again by each tool. Prints a table and the ratios
# of varve against its peers measured in this same run. Not a timed test.
#
# Each measurement is the median of --runs cold runs, every run starting from the
# same repository state (and the same cache, for restic and borg).
#
# usage: scripts/bench-ingest.sh [--size small|full] [--dir WORKDIR] [--runs N] [--keep]
#   --size small   a quick run (~60 MiB) to check that the script works
#   --dir DIR      work dir (default /tmp/varve-bench); the generated dataset is
#                  kept there and reused by later runs of the same size
#   --runs N       runs per measurement, the median is reported (default 3)
#   --keep         keep the repositories after the run
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=full workdir=/tmp/varve-bench keep=0 runs=3
while (($#)); do
	case "$1" in
	--size) size=${2:?--size needs small or full}; shift 2 ;;
	--dir) workdir=${2:?--dir needs a directory}; shift 2 ;;
	--keep) keep=1; shift ;;
	--runs) runs=${2:?--runs needs a number}; shift 2 ;;
	-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-ingest.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case "$size" in
small) nsmall=500  nshards=4  shard_mib=1 weights_mib=16  random_mib=8 ;;
full)  nsmall=5000 nshards=20 shard_mib=5 weights_mib=300 random_mib=100 ;;
*) echo "bench-ingest.sh: --size is small or full" >&2; exit 2 ;;
esac

"$root/scripts/setup.sh" --bench

varve=$root/build/release/varve
if [[ ! -x "$varve" ]]; then
	echo "== building $varve" >&2
	cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$root/build/release" -j"$(nproc)" --target varve >/dev/null
fi

export RESTIC_PASSWORD=${RESTIC_PASSWORD:-varve-bench}
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_BASE_DIR=$workdir/borg-home
export RESTIC_CACHE_DIR=$workdir/restic-cache

mkdir -p "$workdir"
data=$workdir/data-$size
repos=$workdir/repos
rm -rf "$repos" "$BORG_BASE_DIR" "$RESTIC_CACHE_DIR"
mkdir -p "$repos"

# --- the dataset ---------------------------------------------------------------------------
# Deterministic (seeded). Small JSON records with realistic text, CSV-ish text shards,
# float32 weights distributed like a trained model's (normal, per-layer scale), and
# incompressible random bytes (already-compressed media).
generate() {
	rm -rf "$data.tmp"
	mkdir -p "$data.tmp"
	python3 - "$data.tmp" "$nsmall" "$nshards" "$shard_mib" "$weights_mib" <<'PY'
import array, json, os, random, sys
out, nsmall, nshards, shard_mib, weights_mib = sys.argv[1], *map(int, sys.argv[2:])
rnd = random.Random(20240601)
words = ("the model data train label image text token batch epoch loss accuracy "
         "network layer weight gradient sample feature vector embedding value "
         "query result error metric score validation test split shard record "
         "user item click view session time country device language category "
         "positive negative neutral review product quality price delivery good "
         "bad excellent poor fast slow support return order customer service").split()
def sentence(n):
    return " ".join(rnd.choice(words) for _ in range(n)).capitalize() + "."
# small files: JSON records 1-8 KiB in 50 dirs
for i in range(nsmall):
    d = os.path.join(out, "records", "part-%02d" % (i % 50))
    os.makedirs(d, exist_ok=True)
    target = rnd.randint(1024, 8192)
    rec = {"id": i, "source": rnd.choice(["web", "app", "api"]),
           "labels": [rnd.choice(words) for _ in range(rnd.randint(1, 5))],
           "score": round(rnd.random(), 4), "text": ""}
    parts = []
    while len(json.dumps(rec)) + sum(len(p) + 1 for p in parts) < target:
        parts.append(sentence(rnd.randint(5, 20)))
    rec["text"] = " ".join(parts)
    with open(os.path.join(d, "rec-%05d.json" % i), "w") as f:
        json.dump(rec, f, indent=1)
# text shards: CSV
os.makedirs(os.path.join(out, "shards"), exist_ok=True)
row = 0
for s in range(nshards):
    with open(os.path.join(out, "shards", "train-%03d.csv" % s), "w") as f:
        f.write("id,ts,user,country,category,rating,text\n")
        n = 0
        while n < shard_mib << 20:
            line = "%d,%d,u%06d,%s,%s,%d,\"%s\"\n" % (
                row, 1700000000 + row * 7, rnd.randint(0, 999999),
                rnd.choice(["US", "DE", "FR", "IN", "BR", "JP"]), rnd.choice(words),
                rnd.randint(1, 5), sentence(rnd.randint(4, 25)))
            f.write(line); n += len(line); row += 1
# weights: float32, normal per layer
os.makedirs(os.path.join(out, "model"), exist_ok=True)
g = rnd.gauss
with open(os.path.join(out, "model", "weights.f32"), "wb") as f:
    left = (weights_mib << 20) // 4
    while left:
        n = min(left, 1 << 20)
        scale = rnd.choice([0.01, 0.02, 0.05, 0.1])
        array.array("f", [g(0.0, scale) for _ in range(n)]).tofile(f)
        left -= n
PY
	mkdir -p "$data.tmp/media"
	local i per=$(((random_mib << 20) / 20))
	for ((i = 0; i < 20; i++)); do
		{ openssl enc -aes-128-ctr -pass "pass:bench-$i" -nosalt -md sha256 </dev/zero 2>/dev/null || true; } |
			head -c "$per" >"$data.tmp/media/clip-$i.bin"
	done
	mv "$data.tmp" "$data"
}
if [[ ! -d "$data" ]]; then
	echo "== generating the $size dataset in $data (the weights take a while)" >&2
	generate
fi
# v1 is restored from a pristine copy each run, so a rerun measures the same data
if [[ -d "$data.v1" ]]; then
	rm -rf "$data"
	cp -a "$data.v1" "$data"
else
	cp -a "$data" "$data.v1"
fi
# varve's stat cache does not trust files changed within 2 s of a commit ("racily
# clean"); let the fresh copy settle so that v2 measures a settled tree, as it
# would be in practice.
sleep 3
total_bytes=$(du -sb --apparent-size "$data" | cut -f1)
nfiles=$(find "$data" -type f | wc -l)
echo "== dataset: $nfiles files, $((total_bytes >> 20)) MiB" >&2

# --- measurement helpers ----------------------------------------------------------------
can_drop=1
drop_caches() {
	sync
	if ((can_drop)) && ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
		echo "bench-ingest.sh: warning: cannot drop the page cache (not root, or /proc/sys read-only): runs are warm" >&2
		can_drop=0
	fi
}
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
rows=()
declare -A secs stored
# measure TOOL RUN REPO_DIR CMD...: the median of $runs cold runs of CMD, each from the
# state REPO_DIR (and the tool's cache) had before the first; records the seconds and
# the stored size after it.
measure() {
	local tool=$1 run=$2 repo=$3; shift 3
	local state=("$repo") d i t0 t1 times=()
	case $tool in
	restic) state+=("$RESTIC_CACHE_DIR") ;;
	borg*) state+=("$BORG_BASE_DIR") ;;
	esac
	for d in "${state[@]}"; do
		rm -rf "$d.before"
		if [[ -e $d ]]; then cp -a "$d" "$d.before"; fi
	done
	for ((i = 0; i < runs; i++)); do
		if ((i)); then
			for d in "${state[@]}"; do
				rm -rf "$d"
				if [[ -e $d.before ]]; then cp -a "$d.before" "$d"; fi
			done
		fi
		drop_caches
		t0=$(date +%s.%N)
		"$@" >"$workdir/$tool-$run.log" 2>&1 || { cat "$workdir/$tool-$run.log" >&2; echo "bench-ingest.sh: $tool $run failed" >&2; exit 1; }
		t1=$(date +%s.%N)
		times+=("$(calc "$t1 - $t0")")
	done
	for d in "${state[@]}"; do rm -rf "$d.before"; done
	local s bytes
	s=$(printf '%s\n' "${times[@]}" | sort -g | awk '{ v[NR] = $1 } END { printf "%.6f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	bytes=$(du -sb "$repo" | cut -f1)
	secs[$tool/$run]=$s
	stored[$tool/$run]=$bytes
	rows+=("$tool/$run")
	printf '   %-14s %-3s %8.2f s  (runs: %s)\n' "$tool" "$run" "$s" "$(printf '%.2f ' "${times[@]}")" >&2
}

read_all() { find "$data" -type f -print0 | xargs -0 cat >/dev/null; }
varve_commit() { "$varve" --store "$repos/varve" commit datasets/bench --from "$data" -m "$1"; }

# --- v1 --------------------------------------------------------------------------------------
echo "== v1: cold runs" >&2
mkdir -p "$repos/none"
measure read v1 "$repos/none" read_all
"$varve" init "$repos/varve" >/dev/null
"$varve" --store "$repos/varve" create dataset bench >/dev/null
measure varve v1 "$repos/varve" varve_commit v1
restic init --repo "$repos/restic" >/dev/null
measure restic v1 "$repos/restic" restic backup --repo "$repos/restic" -q "$data"
borg init -e none "$repos/borg-lz4"
measure borg-lz4 v1 "$repos/borg-lz4" borg create "$repos/borg-lz4::v1" "$data"
borg init -e none "$repos/borg-zstd3"
measure borg-zstd3 v1 "$repos/borg-zstd3" borg create --compression zstd,3 "$repos/borg-zstd3::v1" "$data"

# --- v2: about 1% of the files changed; v3: 1% of the weights patched in place ---------------
# v2 is what a dataset's next version usually is: some records edited, rows appended to a
# shard. v3 rewrites 1% of a 300 MiB file in place: every tool must read the whole file
# again to find the change, so it is reported separately.
echo "== v2: ~1% of the files changed (records rewritten, a shard appended)" >&2
python3 - "$data" <<'PY'
import glob, os, random, sys
data = sys.argv[1]
rnd = random.Random(7)
files = sorted(glob.glob(os.path.join(data, "records", "*", "*.json")))
for p in rnd.sample(files, max(1, len(files) // 100)):
    with open(p, "r+") as f:
        s = f.read()
        f.seek(0); f.write(s.replace("a", "A", 3)); f.truncate()
shard = sorted(glob.glob(os.path.join(data, "shards", "*.csv")))[-1]
with open(shard, "a") as f:
    for i in range(20000):
        f.write("%d,1800000000,u000001,US,appended,5,\"an appended row %d\"\n" % (10**9 + i, i))
PY
total2=$(du -sb --apparent-size "$data" | cut -f1)
sleep 3  # let the edited files settle, as v1's did
measure varve v2 "$repos/varve" varve_commit v2
measure restic v2 "$repos/restic" restic backup --repo "$repos/restic" -q "$data"
measure borg-lz4 v2 "$repos/borg-lz4" borg create "$repos/borg-lz4::v2" "$data"
measure borg-zstd3 v2 "$repos/borg-zstd3" borg create --compression zstd,3 "$repos/borg-zstd3::v2" "$data"

echo "== v3: 1% of the weights file rewritten in place" >&2
python3 - "$data" <<'PY'
import array, os, random, sys
data = sys.argv[1]
rnd = random.Random(8)
w = os.path.join(data, "model", "weights.f32")
size = os.path.getsize(w)
patch = max(1 << 20, size // 100)  # about 1% of the weights, at least 1 MiB
with open(w, "r+b") as f:
    f.seek((size // 3) & ~4095)
    array.array("f", [rnd.gauss(0.0, 0.02) for _ in range(patch // 4)]).tofile(f)
PY
total3=$(du -sb --apparent-size "$data" | cut -f1)
sleep 3
measure varve v3 "$repos/varve" varve_commit v3
measure restic v3 "$repos/restic" restic backup --repo "$repos/restic" -q "$data"
measure borg-lz4 v3 "$repos/borg-lz4" borg create "$repos/borg-lz4::v3" "$data"
measure borg-zstd3 v3 "$repos/borg-zstd3" borg create --compression zstd,3 "$repos/borg-zstd3::v3" "$data"

echo "== varve's own summaries" >&2
grep -h '^committed' "$workdir/varve-v1.log" "$workdir/varve-v2.log" "$workdir/varve-v3.log" >&2 || true

# --- report ------------------------------------------------------------------------------------
echo
echo "dataset: $nfiles files, $((total_bytes >> 20)) MiB (v2: $((total2 >> 20)) MiB, v3: $((total3 >> 20)) MiB); page cache dropped: $([[ $can_drop == 1 ]] && echo yes || echo no); median of $runs runs"
printf '%-12s %-4s %9s %9s %12s\n' tool run seconds MB/s "stored MiB"
for key in "${rows[@]}"; do
	tool=${key%/*} run=${key#*/}
	bytes=$total_bytes
	[[ $run == v2 ]] && bytes=$total2
	[[ $run == v3 ]] && bytes=$total3
	mbs=$(calc "$bytes / 1000000 / ${secs[$key]}")
	st=$(calc "${stored[$key]} / 1048576")
	[[ $tool == read ]] && st=0
	printf '%-12s %-4s %9.2f %9.1f %12.1f\n' "$tool" "$run" "${secs[$key]}" "$mbs" "$st"
done
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
echo
echo "ratios (v1 unless noted; speed = MB/s, >1 means varve is faster; stored: <1 means varve is smaller):"
echo "  varve speed / restic speed        $(ratio "${secs[restic/v1]}" "${secs[varve/v1]}")"
echo "  varve speed / borg (lz4) speed    $(ratio "${secs[borg-lz4/v1]}" "${secs[varve/v1]}")"
echo "  varve speed / borg (zstd,3) speed $(ratio "${secs[borg-zstd3/v1]}" "${secs[varve/v1]}")"
echo "  varve speed / raw read (cat)      $(ratio "${secs[read/v1]}" "${secs[varve/v1]}")"
echo "  varve stored / restic stored      $(ratio "${stored[varve/v1]}" "${stored[restic/v1]}") (after v2: $(ratio "${stored[varve/v2]}" "${stored[restic/v2]}"), after v3: $(ratio "${stored[varve/v3]}" "${stored[restic/v3]}"))"
echo "  varve stored / borg zstd,3 stored $(ratio "${stored[varve/v1]}" "${stored[borg-zstd3/v1]}") (after v2: $(ratio "${stored[varve/v2]}" "${stored[borg-zstd3/v2]}"), after v3: $(ratio "${stored[varve/v3]}" "${stored[borg-zstd3/v3]}"))"
echo "  varve v1 time / v2 time           $(ratio "${secs[varve/v1]}" "${secs[varve/v2]}")   (1% of the files changed)"
echo "  varve v1 time / v3 time           $(ratio "${secs[varve/v1]}" "${secs[varve/v3]}")   (1% of one 300 MiB file rewritten in place)"
echo "  v2 speed, varve / restic          $(ratio "${secs[restic/v2]}" "${secs[varve/v2]}")"
echo "  v2 speed, varve / borg (lz4)      $(ratio "${secs[borg-lz4/v2]}" "${secs[varve/v2]}")"
echo "  v3 speed, varve / restic          $(ratio "${secs[restic/v3]}" "${secs[varve/v3]}")"

if ((!keep)); then
	rm -rf "$repos" "$BORG_BASE_DIR" "$RESTIC_CACHE_DIR"
fi
