#!/usr/bin/env bash
# The layers keep to their rules (DESIGN.md, store/store.h): store/ includes no
# FUSE and no command-line header; fs/ and cli/ include only the store's public
# headers, which the comment at the top of store/store.h lists.  Reads the
# sources; builds and runs nothing.
TEST_TIMEOUT=${TEST_TIMEOUT:-60}
source "$(dirname "$0")/lib.sh"

src=$VARVE_SRC
# The private headers, from store.h's "The rest is the store's own: ..." list.
private=$(python3 - "$src/store/store.h" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"The rest is the store's\s+\*?\s*own:(.*?)\*/", text, re.S)
names = re.findall(r"([a-z0-9_]+\.h)", m.group(1)) if m else []
print(" ".join(names))
PY
)
[[ -n "$private" ]] || fail "store.h lists no private headers"
note "private store headers: $private"
for h in $private; do
	[[ -f "$src/store/$h" ]] || fail "store.h names '$h', which store/ does not have"
	hits=$(grep -ln "#include \"$h\"" "$src"/fs/*.[ch] "$src"/cli/*.[ch] || true)
	[[ -z "$hits" ]] || fail "$(echo $hits) include the store's private $h"
done
hits=$(grep -lE '#include [<"](fuse|fuse_lowlevel|cli|fs|fs_int|control)\.h[>"]' "$src"/store/*.[ch] || true)
[[ -z "$hits" ]] || fail "store/ includes a FUSE or CLI header: $(echo $hits)"
