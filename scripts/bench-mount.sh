#!/usr/bin/env bash
# Mount benchmark: reading the same data through `varve mount`, `restic mount` and
# `borg mount`, and from the local disk directly, in one run. Every cold measurement
# starts from a freshly mounted file system with the page cache dropped. Measures: a
# sequential read of a large float32-like file (cold, and warm for varve and the
# local disk), a read of every one of thousands of small files, `ls -lR`, fio random
# 4 KiB reads, and the FUSE requests varve receives for a repeated stat/ls -l of an
# unchanged snapshot. Prints a table and the ratios against varve's targets.
# Not a timed test.
#
# usage: scripts/bench-mount.sh [--size small|full] [--dir WORKDIR] [--keep]
#                               [--fio-runtime SECS] [--runs N]
#   --size small   a quick run (~40 MiB, 500 small files) to check that the script works
#   --dir DIR      work dir (default /tmp/varve-bench-mount); the generated data is
#                  kept there and reused by later runs of the same size
#   --keep         keep the repositories after the run
#   --fio-runtime  seconds per fio run (default 15; 5 with --size small)
#   --runs N       cold runs per cold measurement, the median is reported (default 3)
# environment: VARVE=path/to/varve (default build/release/varve, built if missing)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=full workdir=/tmp/varve-bench-mount keep=0 fio_runtime= runs=3
while (($#)); do
	case "$1" in
	--size) size=${2:?--size needs small or full}; shift 2 ;;
	--dir) workdir=${2:?--dir needs a directory}; shift 2 ;;
	--keep) keep=1; shift ;;
	--fio-runtime) fio_runtime=${2:?--fio-runtime needs seconds}; shift 2 ;;
	--runs) runs=${2:?--runs needs a number}; shift 2 ;;
	-h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-mount.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case "$size" in
small) big_mib=32  nsmall=500  fio_runtime=${fio_runtime:-5} ;;
full)  big_mib=300 nsmall=5000 fio_runtime=${fio_runtime:-15} ;;
*) echo "bench-mount.sh: --size is small or full" >&2; exit 2 ;;
esac

"$root/scripts/setup.sh" --bench

varve=${VARVE:-$root/build/release/varve}
if [[ ! -x "$varve" ]]; then
	echo "== building $varve" >&2
	cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$root/build/release" -j"$(nproc)" --target varve >/dev/null
fi
[[ -c /dev/fuse ]] || { echo "bench-mount.sh: no /dev/fuse: FUSE mounts are impossible here" >&2; exit 1; }

export RESTIC_PASSWORD=${RESTIC_PASSWORD:-varve-bench}
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_BASE_DIR=$workdir/borg-home
export RESTIC_CACHE_DIR=$workdir/restic-cache

mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd -P)
data=$workdir/data-$size
repos=$workdir/repos
mnt=$workdir/mnt

# --- cleanup: nothing stays mounted -------------------------------------------------------
restic_pid=
unmount_all() {
	local m
	for m in varve restic borg; do
		mountpoint -q "$mnt/$m" 2>/dev/null || continue
		case $m in
		varve) "$varve" --store "$repos/varve" umount "$mnt/varve" >/dev/null 2>&1 || true ;;
		borg) borg umount "$mnt/borg" >/dev/null 2>&1 || true ;;
		restic) if [[ -n "$restic_pid" ]]; then kill -INT "$restic_pid" 2>/dev/null || true; fi ;;
		esac
		for _ in $(seq 50); do mountpoint -q "$mnt/$m" || break; sleep 0.1; done
		if mountpoint -q "$mnt/$m"; then fusermount3 -u -z "$mnt/$m" 2>/dev/null || umount -l "$mnt/$m" 2>/dev/null || true; fi
	done
	if [[ -n "$restic_pid" ]]; then
		wait "$restic_pid" 2>/dev/null || true
		restic_pid=
	fi
}
on_exit() {
	local rc=$?
	cd /
	unmount_all
	if ((!keep)) && [[ -d "$repos" ]]; then
		rm -rf "$repos" "$BORG_BASE_DIR" "$RESTIC_CACHE_DIR"
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

unmount_all
rm -rf "$repos" "$BORG_BASE_DIR" "$RESTIC_CACHE_DIR"
mkdir -p "$repos" "$mnt"/{varve,restic,borg}

# --- the data ----------------------------------------------------------------------------
# Deterministic. model/weights.f32: float32 values distributed like a trained model's
# weights (normal, a scale per block); each 4 MiB block gets fresh random low mantissa
# bytes, so nothing dedups, but it compresses like real weights. records/: small JSON
# records of 1-8 KiB in 50 directories.
generate() {
	rm -rf "$data.tmp"
	mkdir -p "$data.tmp"
	python3 - "$data.tmp" "$big_mib" "$nsmall" <<'PY'
import array, json, os, random, sys
out, big_mib, nsmall = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(20240602)
os.makedirs(os.path.join(out, "model"))
n = 1 << 20                                   # floats per 4 MiB block
bases = []
for scale in (0.01, 0.02, 0.05, 0.1):
    bases.append(array.array("f", [rnd.gauss(0.0, scale) for _ in range(n)]).tobytes())
with open(os.path.join(out, "model", "weights.f32"), "wb") as f:
    left = big_mib << 20
    while left:
        blk = bytearray(rnd.choice(bases))
        blk[0::4] = rnd.randbytes(n)              # low mantissa byte: fresh noise
        f.write(blk[:left])
        left -= min(left, len(blk))
words = ("the model data train label image text token batch epoch loss accuracy network "
         "layer weight gradient sample feature vector embedding value query result error "
         "metric score validation test split shard record user item click view session "
         "time country device language category positive negative neutral review").split()
for i in range(nsmall):
    d = os.path.join(out, "records", "part-%02d" % (i % 50))
    os.makedirs(d, exist_ok=True)
    target = rnd.randint(1024, 8192)
    rec = {"id": i, "source": rnd.choice(["web", "app", "api"]), "score": round(rnd.random(), 4),
           "labels": [rnd.choice(words) for _ in range(rnd.randint(1, 5))], "text": ""}
    text = []
    size = len(json.dumps(rec))
    while size < target:
        s = " ".join(rnd.choice(words) for _ in range(rnd.randint(5, 20))).capitalize() + "."
        text.append(s)
        size += len(s) + 1
    rec["text"] = " ".join(text)[: max(0, target - len(json.dumps(rec)))]
    with open(os.path.join(d, "rec-%05d.json" % i), "w") as f:
        json.dump(rec, f)
PY
	mv "$data.tmp" "$data"
}
if [[ ! -d "$data" ]]; then
	echo "== generating the $size data set in $data" >&2
	generate
fi
big_rel=model/weights.f32
big_bytes=$(stat -c %s "$data/$big_rel")
small_bytes=$(find "$data/records" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
nfiles=$(find "$data" -type f | wc -l)
echo "== data: $nfiles files, $((big_bytes >> 20)) MiB big file, $nsmall small files ($((small_bytes >> 10)) KiB)" >&2

# --- the repositories ----------------------------------------------------------------------
echo "== ingesting into varve, restic and borg" >&2
"$varve" init "$repos/varve" >/dev/null
"$varve" --store "$repos/varve" create dataset bench >/dev/null
"$varve" --store "$repos/varve" -q commit datasets/bench --from "$data" -m bench >/dev/null
"$varve" --store "$repos/varve" tag datasets/bench v1 >/dev/null
restic init --repo "$repos/restic" >/dev/null 2>&1
restic backup --repo "$repos/restic" -q "$data" >/dev/null
borg init -e none "$repos/borg"
borg create "$repos/borg::v1" "$data"

# --- mounting ------------------------------------------------------------------------------
# path_of TOOL: where the data directory appears for TOOL (mounted)
path_of() {
	case $1 in
	local) echo "$data" ;;
	varve) echo "$mnt/varve/datasets/bench@v1" ;;
	restic) echo "$mnt/restic/snapshots/latest$data" ;;
	borg) echo "$mnt/borg${data}" ;;
	esac
}
wait_for() { # wait_for SECS PATH
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		[[ -e "$2" ]] && return 0
		sleep 0.1
	done
	echo "bench-mount.sh: '$2' did not appear within $1 s" >&2
	return 1
}
mount_tool() {
	case $1 in
	local) ;;
	varve) "$varve" --store "$repos/varve" -q mount "$mnt/varve" ;;
	restic)
		restic --repo "$repos/restic" mount "$mnt/restic" >"$workdir/restic-mount.log" 2>&1 &
		restic_pid=$!
		wait_for 120 "$(path_of restic)/$big_rel"
		;;
	borg) borg mount "$repos/borg::v1" "$mnt/borg" && wait_for 60 "$(path_of borg)/$big_rel" ;;
	esac
}
umount_tool() {
	case $1 in
	local) ;;
	varve) "$varve" --store "$repos/varve" -q umount "$mnt/varve" ;;
	restic)
		kill -INT "$restic_pid"
		wait "$restic_pid" 2>/dev/null || true
		restic_pid=
		if mountpoint -q "$mnt/restic"; then fusermount3 -u "$mnt/restic"; fi
		;;
	borg) borg umount "$mnt/borg" ;;
	esac
}

# --- measuring -----------------------------------------------------------------------------
can_drop=1
drop_caches() {
	sync
	if ((can_drop)) && ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
		echo "bench-mount.sh: warning: cannot drop the page cache (not root?): cold runs are not cold" >&2
		can_drop=0
	fi
}
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
declare -A res
# cold TOOL NAME CMD...: mounts afresh, drops caches, times CMD; res[TOOL/NAME] = seconds
cold() {
	local tool=$1 name=$2; shift 2
	mount_tool "$tool"
	drop_caches
	timed "$tool" "$name" "$@"
}
timed() {
	local tool=$1 name=$2; shift 2
	local t0 t1
	t0=$(now)
	"$@" >/dev/null 2>"$workdir/err.log" || { cat "$workdir/err.log" >&2; echo "bench-mount.sh: $tool $name failed: $*" >&2; exit 1; }
	t1=$(now)
	res[$tool/$name]=$(calc "$t1 - $t0")
	printf '   %-7s %-12s %8.2f s\n' "$tool" "$name" "${res[$tool/$name]}" >&2
}
# cold_runs TOOL NAME CMD...: the median of $runs cold runs, each on a fresh mount with
# the page cache dropped; the tool is left unmounted. For varve, also the daemon's CPU
# time and its counters in the last run.
cold_runs() {
	local tool=$1 name=$2 k times=() pid c0 c1; shift 2
	for ((k = 0; k < runs; k++)); do
		mount_tool "$tool"
		drop_caches
		if [[ $tool == varve ]]; then pid=$(varve_pid); c0=$(cpu_ticks "$pid"); fi
		timed "$tool" "$name" "$@" 2>/dev/null
		times+=("${res[$tool/$name]}")
		if [[ $tool == varve ]]; then
			c1=$(cpu_ticks "$pid")
			res[varve/${name}_cpu]=$(calc "($c1 - $c0) / $(getconf CLK_TCK)")
			res[varve/${name}_stats]=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.varve.stats").decode())' "$mnt/varve")
		fi
		umount_tool "$tool"
	done
	res[$tool/$name]=$(printf '%s\n' "${times[@]}" | sort -g | awk '{ v[NR] = $1 } END { printf "%.6f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	printf '   %-7s %-12s %8.2f s (median; runs: %s)\n' "$tool" "$name" "${res[$tool/$name]}" "$(printf '%.2f ' "${times[@]}")" >&2
}
# best_of3 TOOL NAME CMD...: the fastest of three runs (warm runs are short and noisy)
best_of3() {
	local tool=$1 name=$2 best= k; shift 2
	for k in 1 2 3; do
		timed "$tool" "$name" "$@" 2>/dev/null
		if [[ -z "$best" ]] || awk "BEGIN { exit !(${res[$tool/$name]} < $best) }"; then
			best=${res[$tool/$name]}
		fi
	done
	res[$tool/$name]=$best
	printf '   %-7s %-12s %8.3f s (best of 3)\n' "$tool" "$name" "$best" >&2
}
# cpu_ticks PID: user+system clock ticks of a process
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
varve_pid() { sed -n "s|^varve: mounted at $mnt/varve (pid \([0-9]*\)).*|\1|p" "$repos/varve/mount.log" | tail -n 1; }
seq_read() { dd if="$1/$big_rel" of=/dev/null bs=1M status=none; }
small_read() { find "$1/records" -type f -exec cat {} + >/dev/null; }
ls_lR() { ls -lR "$1" >/dev/null; }
fio_rand() { # fio_rand TOOL DIR: res[TOOL/fio] = MB/s, res[TOOL/fio_iops]
	local out=$workdir/fio-$1.json
	fio --name=randread --filename="$2/$big_rel" --readonly --rw=randread --bs=4k \
		--size="$big_bytes" --runtime="$fio_runtime" --time_based --ioengine=psync --direct=0 \
		--output-format=json >"$out" 2>"$workdir/err.log" || { cat "$workdir/err.log" >&2; exit 1; }
	res[$1/fio]=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["jobs"][0]["read"]; print("%.3f" % (j["bw_bytes"] / 1e6))' "$out")
	res[$1/fio_iops]=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["jobs"][0]["read"]; print("%.0f" % j["iops"])' "$out")
	printf '   %-7s %-12s %8.1f MB/s (%s IOPS)\n' "$1" fio "${res[$1/fio]}" "${res[$1/fio_iops]}" >&2
}
requests() { python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.varve.stats").decode().split()[0].split("=")[1])' "$mnt/varve"; }

for tool in local varve restic borg; do
	echo "== $tool" >&2
	dir=$(path_of "$tool")
	cold_runs "$tool" seq seq_read "$dir"
	if [[ $tool == local || $tool == varve ]]; then
		mount_tool "$tool"
		seq_read "$dir"   # the first read puts every page in
		best_of3 "$tool" seq_warm seq_read "$dir"
		umount_tool "$tool"
	fi
	cold_runs "$tool" small small_read "$dir"
	cold_runs "$tool" ls_lR ls_lR "$dir"
	mount_tool "$tool"
	drop_caches
	fio_rand "$tool" "$dir"
	if [[ $tool == varve ]]; then
		# FUSE requests of a repeated stat / ls -l of an unchanged snapshot
		part=$dir/records/part-00
		for d in "$dir" "$part"; do stat "$d" >/dev/null; ls -l "$d" >/dev/null; done
		r0=$(requests); r1=$(requests)
		for i in $(seq 10); do stat "$dir" >/dev/null; ls -l "$dir" "$part" >/dev/null; done
		r2=$(requests)
		res[varve/req_ls]=$((r2 - r1 - (r1 - r0)))
		r0=$(requests)
		for i in $(seq 10); do
			python3 -c '
import os, sys
for d in sys.argv[1:]:
    os.stat(d)
    for n in os.listdir(d): os.lstat(os.path.join(d, n))' "$dir" "$part"
		done
		r2=$(requests)
		res[varve/req_noxattr]=$((r2 - r0 - 1))
		printf '   %-7s %-12s %8d requests (%d without the xattr probes of ls)\n' varve "stat/ls -l" \
			"${res[varve/req_ls]}" "${res[varve/req_noxattr]}" >&2
		res[varve/stats]=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.varve.stats").decode())' "$mnt/varve")
	fi
	umount_tool "$tool"
done

# --- report --------------------------------------------------------------------------------
mbs() { calc "$1 / 1000000 / $2"; }
cell() { # cell TOOL NAME KIND: formatted value or "-"
	local v=${res[$1/$2]:-}
	[[ -n "$v" ]] || { echo "-"; return; }
	case $3 in
	seq) printf '%.0f MB/s' "$(mbs "$big_bytes" "$v")" ;;
	small) printf '%.2f s' "$v" ;;
	secs) printf '%.2f s' "$v" ;;
	fio) printf '%.1f MB/s' "$v" ;;
	esac
}
echo
echo "data: $((big_bytes >> 20)) MiB float32 file; $nsmall small files ($((small_bytes >> 10)) KiB) in 50 dirs;" \
	"page cache dropped: $([[ $can_drop == 1 ]] && echo yes || echo no); every cold run freshly mounted;" \
	"cold figures: median of $runs runs"
echo "varve: $("$varve" --version 2>/dev/null || echo "$varve"); $(restic version | cut -d' ' -f1-2); $(borg --version)"
printf '%-34s %14s %14s %14s %14s\n' what local varve restic borg
row() { # row LABEL NAME KIND
	printf '%-34s %14s %14s %14s %14s\n' "$1" "$(cell local "$2" "$3")" "$(cell varve "$2" "$3")" \
		"$(cell restic "$2" "$3")" "$(cell borg "$2" "$3")"
}
row "sequential read, cold" seq seq
row "sequential read, warm" seq_warm seq
row "all $nsmall small files, cold" small small
row "ls -lR, cold" ls_lR secs
row "fio randread 4k (${fio_runtime}s)" fio fio
printf '%-34s %14s %14s %14s %14s\n' "fio randread IOPS" "${res[local/fio_iops]}" "${res[varve/fio_iops]}" \
	"${res[restic/fio_iops]}" "${res[borg/fio_iops]}"
printf '%-34s %14s %14s %14s %14s\n' "stat+ls -l x10, FUSE requests" - "${res[varve/req_ls]}" - -
printf '%-34s %14s %14s %14s %14s\n' "  the same without xattr probes" - "${res[varve/req_noxattr]}" - -
echo "varve, last cold sequential read: daemon CPU $(printf %.2f "${res[varve/seq_cpu]}") s; stats after it: ${res[varve/seq_stats]}"
echo "varve daemon stats at the end (the fio session): ${res[varve/stats]}"

ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
verdict() { awk "BEGIN { exit !($1 >= $2) }" && echo "ok" || echo "MISSED"; }
echo
echo "ratios against the targets (>= target is ok):"
r=$(ratio "${res[restic/seq]}" "${res[varve/seq]}")
printf '  %-44s %6s  (target >= 4)    %s\n' "cold sequential, varve / restic mount" "$r" "$(verdict "$r" 4)"
r=$(ratio "${res[borg/seq]}" "${res[varve/seq]}")
printf '  %-44s %6s  (no target)\n' "cold sequential, varve / borg mount" "$r"
r=$(ratio "${res[local/seq]}" "${res[varve/seq]}")
printf '  %-44s %6s  (target >= 0.5)  %s\n' "cold sequential, varve / local disk" "$r" "$(verdict "$r" 0.5)"
r=$(ratio "${res[local/seq_warm]}" "${res[varve/seq_warm]}")
printf '  %-44s %6s  (target >= 0.6)  %s\n' "warm sequential, varve / local page cache" "$r" "$(verdict "$r" 0.6)"
r=$(ratio "${res[restic/small]}" "${res[varve/small]}")
printf '  %-44s %6s  (target >= 2)    %s\n' "all small files, varve / restic mount" "$r" "$(verdict "$r" 2)"
r=$(ratio "${res[borg/small]}" "${res[varve/small]}")
printf '  %-44s %6s  (no target)\n' "all small files, varve / borg mount" "$r"
r=$(ratio "${res[restic/ls_lR]}" "${res[varve/ls_lR]}")
printf '  %-44s %6s  (no target)\n' "ls -lR, varve / restic mount" "$r"
r=$(ratio "${res[varve/fio]}" "${res[restic/fio]}")
printf '  %-44s %6s  (no target)\n' "fio randread, varve / restic mount" "$r"
printf '  %-44s %6s  (target 0)       %s\n' "repeated stat/ls -l, FUSE requests" "${res[varve/req_ls]}" \
	"$([[ ${res[varve/req_ls]} == 0 ]] && echo ok || echo MISSED)"
