#!/usr/bin/env bash
# A short tour of varve: a store in ./demo, a sample dataset committed twice, a tag,
# a model whose commit records the dataset version it was trained on, then log, diff,
# stats and a checkout of the old version compared with its source.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target varve >/dev/null
varve() { "$root/build/release/varve" "$@"; }

rm -rf demo
mkdir demo
export VARVE_STORE=$root/demo/store

randbytes() { # SEED N
	{ openssl enc -aes-128-ctr -pass "pass:$1" -nosalt -md sha256 </dev/zero 2>/dev/null || true; } | head -c "$2"
}

# --- a sample dataset: images (random bytes behind a JPEG header), a CSV, labels ----------
v1=demo/sample-v1
mkdir -p "$v1/images" "$v1/tables"
classes=(cat dog bird fish)
{
	echo "file,label"
	for ((i = 0; i < 240; i++)); do
		c=${classes[$((i % 4))]}
		mkdir -p "$v1/images/$c"
		f=$(printf 'img_%04d.jpg' "$i")
		{ printf '\xff\xd8\xff\xe0'; randbytes "img-$i" $((2048 + (i * 379) % 14000)); } >"$v1/images/$c/$f"
		echo "images/$c/$f,$c"
	done
} >"$v1/labels.csv"
{
	echo "id,width,height,brightness,split"
	for ((i = 0; i < 240; i++)); do
		echo "$i,$((224 + i % 3 * 32)),$((224 + i % 2 * 32)),0.$((i * 37 % 100)),$([[ $((i % 5)) == 0 ]] && echo val || echo train)"
	done
} >"$v1/tables/metadata.csv"
printf 'Sample dataset for the varve demo.\n240 images in 4 classes.\n' >"$v1/README.md"

echo "== varve init: a new store in demo/store"
varve init demo/store
echo "== varve create dataset sample"
varve create dataset sample
echo "== varve commit datasets/sample --from $v1 (version 1)"
ID1=$(varve commit datasets/sample --from "$v1" -m "sample: first 240 images")
echo "$ID1"
echo "== varve tag datasets/sample@$ID1 v1"
varve tag "datasets/sample@$ID1" v1 -m "first release of the sample data"

# --- version 2: new images, relabelled images, some removed -------------------------------
v2=demo/sample-v2
cp -a "$v1" "$v2"
mkdir -p "$v2/images/horse"
for ((i = 240; i < 260; i++)); do
	f=$(printf 'img_%04d.jpg' "$i")
	{ printf '\xff\xd8\xff\xe0'; randbytes "img-$i" 6000; } >"$v2/images/horse/$f"
	echo "images/horse/$f,horse" >>"$v2/labels.csv"
done
sed -i -e 's/^\(images\/bird\/img_000[0-9]\.jpg\),bird$/\1,fish/' "$v2/labels.csv"
rm "$v2"/images/dog/img_001[0-9].jpg
grep -v '^images/dog/img_001[0-9]\.jpg,' "$v2/labels.csv" >"$v2/labels.csv.new"
mv "$v2/labels.csv.new" "$v2/labels.csv"
printf 'Sample dataset for the varve demo.\n258 images in 5 classes.\n' >"$v2/README.md"

echo "== varve commit datasets/sample --from $v2 (version 2)"
ID2=$(varve commit datasets/sample --from "$v2" -m "sample: add horses, fix bird labels, drop bad dog images")
echo "$ID2"

# --- a model trained on version 2 ------------------------------------------------------------
model=demo/model
mkdir -p "$model"
python3 - "$model/weights.bin" <<'PY'
import array, random, sys
rnd = random.Random(1)
array.array("f", [rnd.gauss(0, 0.02) for _ in range(256 * 1024)]).tofile(open(sys.argv[1], "wb"))
PY
cat >"$model/config.json" <<EOF
{"architecture": "resnet18", "classes": ["bird", "cat", "dog", "fish", "horse"], "epochs": 12}
EOF
echo "== varve create model classifier; commit it with --meta dataset=datasets/sample@$ID2"
varve create model classifier
varve commit models/classifier --from "$model" -m "classifier trained on sample v2" \
	--meta "dataset=datasets/sample@$ID2" --meta accuracy=0.91

echo
echo "== varve list: the repositories in the store"
varve list
echo
echo "== varve log datasets/sample: the history, newest first"
varve log datasets/sample
echo
echo "== varve log models/classifier --json: the model records the dataset version it used"
varve log models/classifier --json
echo
echo "== varve diff datasets/sample@v1 datasets/sample: what changed between v1 and the head"
varve diff datasets/sample@v1 datasets/sample
echo
echo "== varve stats: logical size against what is stored (dedup and compression)"
varve stats
echo
echo "== varve checkout datasets/sample@v1 demo/checkout-v1: the tagged version, as files"
varve checkout datasets/sample@v1 demo/checkout-v1
echo
echo "== diff -r $v1 demo/checkout-v1: the checkout equals the v1 source (no output = equal)"
diff -r "$v1" demo/checkout-v1
echo "identical"
echo
echo "== varve verify --full: every object and chunk re-hashed"
varve verify --full && echo "store is sound"

# --- the mount: how a training job reads the data -----------------------------------------
if [[ -c /dev/fuse ]] && command -v fusermount3 >/dev/null 2>&1; then
	mnt=demo/mnt
	mkdir -p "$mnt"
	echo
	echo "== varve mount $mnt: every snapshot becomes a directory"
	varve mount "$mnt"
	trap 'varve umount "$mnt" >/dev/null 2>&1 || true' EXIT
	echo
	echo "== ls $mnt/datasets: one directory per dataset (the head of main)"
	ls "$mnt/datasets"
	echo
	echo "== two versions side by side, as a training job would open them"
	for rev in v1 main; do
		d="$mnt/datasets/sample@$rev"
		printf '%-32s %s images, labels.csv %s lines, commit %s\n' "$d" \
			"$(find "$d/images" -type f | wc -l)" "$(wc -l <"$d/labels.csv")" \
			"$(getfattr --only-values -n user.varve.commit "$d" 2>/dev/null | cut -c1-12)"
	done
	echo
	echo "== diff of labels.csv between the two mounted versions"
	diff "$mnt/datasets/sample@v1/labels.csv" "$mnt/datasets/sample@main/labels.csv" | head -8 || true
	echo
	echo "== the head is writable: a training job writes a checkpoint, then commits it"
	mkdir -p "$mnt/models/classifier/checkpoints"
	head -c 65536 /dev/urandom >"$mnt/models/classifier/checkpoints/epoch-13.bin"
	varve status models/classifier
	varve commit models/classifier -m "checkpoint after epoch 13"
	ls "$mnt/models/classifier/checkpoints"
	echo
	echo "== ls $mnt/history/datasets/sample/tags: every tag, branch and commit is browsable"
	ls -l "$mnt/history/datasets/sample/tags"
	varve umount "$mnt"
	trap - EXIT
else
	echo
	echo "(no /dev/fuse here: skipping the mount part of the demo)"
fi
