#!/usr/bin/env bash
# The help of every command tells the truth about its options.  For each
# command that `varve help` lists: `varve help CMD`, `varve CMD --help` and
# `varve CMD -h` exit 0 with the same text; the usage line and the options
# section name the same options; and the command accepts each of them, by
# each of its names, with a value where the help shows one (run in an empty
# directory without a store: whatever else it says, it must not be "unknown
# option", "needs a value" or "takes no value"), while an option it does not
# have is refused.  `varve help commit` does not call --from required (without
# it, commit commits the staged changes of a writable head), and every option
# of README's command table is one the command's help lists.
source "$(dirname "$0")/lib.sh"

expect_exit 0 varve help
sed -n '/^commands:/,/^$/p' "$OUT" | awk 'NF >= 2 && $1 != "commands:" {print $1}' >commands.txt
[[ $(wc -l <commands.txt) -ge 20 ]] || fail "cannot read the command list of 'varve help'"

mkdir help
while read -r c; do
	expect_exit 0 varve help "$c"
	cp "$OUT" "help/$c"
	expect_exit 0 varve "$c" --help
	assert_files_equal "help/$c" "$OUT" "'varve help $c' and 'varve $c --help'"
	expect_exit 0 varve "$c" -h
	assert_files_equal "help/$c" "$OUT" "'varve help $c' and 'varve $c -h'"
	[[ -s "$ERR" ]] && fail "'varve $c -h' wrote to stderr"
done <commands.txt

python3 - "$VARVE" "$TMP" "$VARVE_SRC/README.md" <<'PY' || fail "help check"
import os, re, subprocess, sys

varve, tmp, readme = sys.argv[1:4]
errors = []

def err(msg):
    errors.append(msg)

OPT = re.compile(r"(?:^|(?<=[\s\[\](|]))(--?[A-Za-z][A-Za-z0-9-]*)")

def usage_options(line):
    """The options a usage line names: "[-m MSG]", "--ci (--used|--produced)"."""
    return set(OPT.findall(line))

def parse_help(c, text):
    """(usage line, [(names, arg)]) of one command's help."""
    lines = text.split("\n")
    if not lines[0].startswith("usage: varve %s" % c):
        err("varve help %s: first line %r is not its usage" % (c, lines[0]))
    rows = []
    if "options:" in lines:
        for line in lines[lines.index("options:") + 1:]:
            m = re.match(r"^(  |      )(-\S.*?)(?:  |$)", line)
            if not m:
                continue
            spec = m.group(2).split()
            names = [w.rstrip(",") for w in spec if w.startswith("-")]
            arg = [w for w in spec if not w.startswith("-")]
            rows.append((names, arg[0] if arg else None))
    return lines[0], rows

def literal_prefix(c, usage):
    """Leading subcommand words of the first form: run show, lock verify."""
    words = []
    for w in usage[len("usage: varve %s" % c):].split():
        if not re.fullmatch(r"[a-z]+(\|[a-z]+)*", w):
            break
        words.append(w.split("|")[0])
    return words

def run(args, n):
    d = os.path.join(tmp, "run%d" % n)
    os.mkdir(d)
    env = {k: v for k, v in os.environ.items() if k != "VARVE_STORE"}
    p = subprocess.run([varve] + args, cwd=d, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, errors="replace", timeout=60)
    if re.search(r"Sanitizer|runtime error: ", p.stderr):
        err("varve %s: sanitizer report:\n%s" % (" ".join(args), p.stderr[:3000]))
    return p

commands = open(os.path.join(tmp, "commands.txt")).read().split()
helps = {c: open(os.path.join(tmp, "help", c)).read() for c in commands}
n = 0
for c in commands:
    usage, rows = parse_help(c, helps[c])
    listed = {name for names, _ in rows for name in names}
    for o in sorted(usage_options(usage) - listed):
        err("varve help %s: the usage line names %s, the options do not" % (c, o))
    for names, _ in rows:
        if not any(nm in usage_options(usage) for nm in names):
            err("varve help %s: the usage line does not name %s" % (c, "/".join(names)))
    prefix = literal_prefix(c, usage)
    for names, arg in rows:
        for name in names:
            args = [c] + prefix + [name] + (["x"] if arg else [])
            n += 1
            p = run(args, n)
            bad = re.search(r"unknown option|needs a value|takes no value|unknown (sub)?command",
                            p.stderr)
            if bad or p.returncode not in (0, 1, 2):
                err("varve %s: exit %d, %r" % (" ".join(args), p.returncode, p.stderr[:300]))
    if c == "help":
        continue  # its argument is a command name, it has no options
    n += 1
    p = run([c] + prefix + ["--no-such-option"], n)
    if p.returncode != 2 or "unknown option '--no-such-option'" not in p.stderr:
        err("varve %s %s --no-such-option: exit %d, %r"
            % (c, " ".join(prefix), p.returncode, p.stderr[:300]))

# commit: --from is optional.
usage, rows = parse_help("commit", helps["commit"])
if "required" in helps["commit"]:
    err("varve help commit says 'required'")
if "[--from DIR]" not in usage:
    err("varve help commit: --from is not optional in %r" % usage)
from_row = [l for l in helps["commit"].split("\n") if re.match(r"^\s+--from DIR", l)]
if not from_row or "staged" not in helps["commit"][helps["commit"].index(from_row[0]):]:
    err("varve help commit: --from does not say that without it the staged changes are committed")

# README's command table: every option it shows is in the command's help.
for line in open(readme, encoding="utf-8"):
    if not line.startswith("| `varve "):
        continue
    first_cell = line.split(" | ")[0]
    for code in re.findall(r"`(varve [^`]*)`", first_cell):
        words = code.replace("\\|", "|").split()
        c = words[1]
        if c not in helps:
            err("README: %r: no command %s" % (code, c))
            continue
        listed = {name for names, _ in parse_help(c, helps[c])[1] for name in names}
        for o in sorted(usage_options(" ".join(words[2:])) - listed):
            err("README: %r: varve help %s does not list %s" % (code, c, o))

for e in errors:
    print("  " + e, file=sys.stderr)
if errors:
    sys.exit(1)
print("%d commands, %d option runs" % (len(commands), n))
PY
