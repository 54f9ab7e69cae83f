#!/usr/bin/env bash
# The CI/CD examples in examples/ stay valid: the GitHub Actions and GitLab CI
# files parse as YAML (PyYAML, Debian's python3-yaml) with the structure each
# system expects (jobs and steps, stages and scripts), the Jenkinsfile has its
# declarative stages, the push runs on the main branch only, and every `varve`
# command line in them names a real subcommand (from `varve help`) with options
# its help, docs/ci.md or README mention, or one of the planned remote commands
# listed in examples/README.md with options from its usage line there.
source "$(dirname "$0")/lib.sh"

python3 -c 'import yaml' 2>/dev/null || { note "python3-yaml missing (scripts/setup.sh installs it)"; exit 77; }

EX=$VARVE_SRC/examples
for f in "$EX/README.md" "$EX/github-actions/train.yml" "$EX/gitlab-ci/.gitlab-ci.yml" \
	"$EX/jenkins/Jenkinsfile" "$VARVE_SRC/docs/ci.md"; do
	[[ -f "$f" ]] || fail "missing $f"
done

# The real subcommands and their help texts.
mkdir help
expect_exit 0 varve help
sed -n '/^commands:/,/^$/p' "$OUT" | awk 'NF >= 2 && $1 != "commands:" {print $1}' >commands.txt
[[ $(wc -l <commands.txt) -ge 10 ]] || fail "cannot read the command list of 'varve help'"
while read -r c; do
	varve help "$c" >"help/$c" 2>&1 || fail "varve help $c failed"
done <commands.txt

python3 - "$VARVE_SRC" "$TMP" <<'PY' || fail "examples check"
import os, re, shlex, sys
import yaml

src, tmp = sys.argv[1], sys.argv[2]
ex = os.path.join(src, "examples")
errors = []

def err(msg):
    errors.append(msg)

commands = open(os.path.join(tmp, "commands.txt")).read().split()
helps = {c: open(os.path.join(tmp, "help", c)).read() for c in commands}

# Planned commands: usage lines in examples/README.md's code block.
planned = {}
readme = open(os.path.join(ex, "README.md")).read()
for line in readme.splitlines():
    m = re.match(r"^varve ([a-z]+)\b(.*)$", line.strip())
    if m and m.group(1) not in helps:
        planned.setdefault(m.group(1), "")
        planned[m.group(1)] += line + "\n"
for p in ("remote", "push", "pull"):
    if p not in planned and p not in helps:
        err("examples/README.md does not list the planned command 'varve %s'" % p)

# Usage lines documented in docs/ci.md (e.g. tag --ci, checkout --lock).
docs = open(os.path.join(src, "docs", "ci.md")).read()
if os.path.exists(os.path.join(src, "README.md")):
    docs += open(os.path.join(src, "README.md")).read()

GLOBAL = {"--store": True, "-q": False, "--quiet": False, "--version": False,
          "--help": False, "-h": False}

def split_commands(text):
    """Simple commands of a shell script: top-level ;, &&, ||, |, newlines
    split; $(...) bodies are returned as commands of their own; comments
    dropped; quotes respected."""
    text = text.replace("\\\n", " ")
    out, cur, i, n = [], [], 0, len(text)
    q = None
    while i < n:
        c = text[i]
        if q:
            cur.append(c)
            if c == "\\" and q == '"' and i + 1 < n:
                cur.append(text[i + 1]); i += 2; continue
            if c == q:
                q = None
            if c == "$" and q == '"' and text.startswith("$(", i):
                j, inner = subst(text, i + 2)
                out.extend(split_commands(inner)); cur.append("(SUBST)"); i = j; continue
            i += 1; continue
        if c in "'\"":
            q = c; cur.append(c); i += 1; continue
        if text.startswith("$(", i):
            j, inner = subst(text, i + 2)
            out.extend(split_commands(inner)); cur.append("SUBST"); i = j; continue
        if c == "#" and (not cur or cur[-1] in " \t\n"):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c in ";\n" or text.startswith("&&", i) or text.startswith("||", i) or c == "|":
            out.append("".join(cur)); cur = []
            i += 2 if text.startswith(("&&", "||"), i) else 1
            continue
        cur.append(c); i += 1
    out.append("".join(cur))
    return [s.strip() for s in out if s.strip()]

def subst(text, i):
    """End of the $( ... ) starting at i (after "$("), and its body."""
    depth, q, j = 1, None, i
    while j < len(text):
        c = text[j]
        if q:
            if c == q:
                q = None
        elif c in "'\"":
            q = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j + 1, text[i:j]
        j += 1
    err("unbalanced $( in: %r" % text[:80])
    return len(text), text[i:]

KEYWORDS = {"do", "then", "else", "elif", "!", "time", "sudo", "exec", "if", "while"}

invocations = []  # (file, subcommand, [args])

def check_script(fname, text):
    for cmd in split_commands(text):
        try:
            words = shlex.split(cmd)
        except ValueError as e:
            err("%s: cannot split %r (%s)" % (fname, cmd, e)); continue
        while words and (words[0] in KEYWORDS or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0])):
            words = words[1:]
        if not words or words[0] != "varve":
            continue
        args = words[1:]
        # global options
        while args and args[0] in GLOBAL:
            args = args[2:] if GLOBAL[args[0]] else args[1:]
        if not args:
            continue  # varve --version
        sub, rest = args[0], args[1:]
        invocations.append((fname, sub, rest))
        if sub in helps:
            allowed = helps[sub] + "".join(
                l + "\n" for l in docs.splitlines() if re.search(r"\bvarve %s\b" % re.escape(sub), l))
        elif sub in planned:
            allowed = planned[sub]
        else:
            err("%s: 'varve %s' is not a varve command (in: %s)" % (fname, sub, cmd)); continue
        for w in rest:
            if not w.startswith("-") or w == "-":
                continue
            opt = w.split("=", 1)[0]
            if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), allowed):
                err("%s: 'varve %s' has no option %s (in: %s)" % (fname, sub, opt, cmd))

def used(fname, sub, *opts):
    return any(f == fname and s == sub and all(o in r for o in opts) for f, s, r in invocations)

def require_flow(fname):
    for sub, opts in (("tag", ("--ci", "--used")), ("tag", ("--ci", "--produced")),
                      ("pull", ()), ("push", ()), ("lock", ("verify",)),
                      ("commit", ("--from",)), ("remote", ("add",))):
        if not used(fname, sub, *opts):
            err("%s: no 'varve %s %s'" % (fname, sub, " ".join(opts)))
    if not (used(fname, "checkout", "--lock") or used(fname, "mount")):
        err("%s: neither 'varve checkout --lock' nor 'varve mount'" % fname)

# --- GitHub Actions -----------------------------------------------------------
gh = "github-actions/train.yml"
d = yaml.safe_load(open(os.path.join(ex, gh)))
on = d.get("on", d.get(True))  # YAML 1.1 reads a bare `on` as true
if not isinstance(d.get("name"), str): err(gh + ": no name")
if not isinstance(on, dict) or "push" not in on: err(gh + ": no 'on: push'")
jobs = d.get("jobs")
if not isinstance(jobs, dict) or not jobs:
    err(gh + ": no jobs")
    jobs = {}
push_guarded = False
for jn, job in jobs.items():
    if "runs-on" not in job: err("%s: job %s has no runs-on" % (gh, jn))
    steps = job.get("steps")
    if not isinstance(steps, list) or not steps:
        err("%s: job %s has no steps" % (gh, jn)); continue
    if not any(str(s.get("uses", "")).startswith("actions/checkout@") for s in steps):
        err("%s: job %s does not check out the code" % (gh, jn))
    for k, s in enumerate(steps):
        if not isinstance(s, dict) or ("uses" in s) == ("run" in s):
            err("%s: job %s step %d needs exactly one of uses/run" % (gh, jn, k)); continue
        if "run" in s:
            if not isinstance(s["run"], str): err("%s: step %d: run is no string" % (gh, k)); continue
            n0 = len(invocations)
            check_script(gh, s["run"])
            subs = [inv[1] for inv in invocations[n0:]]
            if "push" in subs or "pull" in subs:
                env = s.get("env", {})
                for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                    if "secrets." not in str(env.get(key, "")):
                        err("%s: step %r talks to S3 without %s from secrets" % (gh, s.get("name"), key))
            if "push" in subs:
                cond = str(s.get("if", ""))
                push_guarded = "refs/heads/main" in cond
if not push_guarded: err(gh + ": the push step does not run on main only")
require_flow(gh)

# --- GitLab CI/CD ----------------------------------------------------------------
gl = "gitlab-ci/.gitlab-ci.yml"
d = yaml.safe_load(open(os.path.join(ex, gl)))
stages = d.get("stages")
if not isinstance(stages, list) or not stages: err(gl + ": no stages")
jobs = {k: v for k, v in d.items() if isinstance(v, dict) and "script" in v}
if not jobs: err(gl + ": no jobs")
push_guarded = False
for jn, job in jobs.items():
    if job.get("stage", "test") not in (stages or []):
        err("%s: job %s has stage %r not in stages" % (gl, jn, job.get("stage")))
    for part in ("before_script", "script", "after_script"):
        items = job.get(part, [])
        if isinstance(items, str): items = [items]
        if not isinstance(items, list): err("%s: %s.%s is no list" % (gl, jn, part)); continue
        for item in items:
            if not isinstance(item, str): err("%s: %s.%s holds %r" % (gl, jn, part, item)); continue
            n0 = len(invocations)
            check_script(gl, item)
            if any(inv[1] == "push" for inv in invocations[n0:]):
                push_guarded = "$CI_DEFAULT_BRANCH" in item or "rules" in job
if not push_guarded: err(gl + ": the push does not run on the default branch only")
require_flow(gl)

# --- Jenkins ---------------------------------------------------------------------
jf = "jenkins/Jenkinsfile"
text = open(os.path.join(ex, jf)).read()
code = re.sub(r"//[^\n]*", "", text)
if code.count("{") != code.count("}"): err(jf + ": unbalanced braces")
for need in ("pipeline {", "agent", "stages {", "checkout scm"):
    if need not in code: err("%s: no '%s'" % (jf, need))
stage_names = re.findall(r"stage\('([^']+)'\)", code)
if len(stage_names) < 5: err("%s: only %d stages" % (jf, len(stage_names)))
parts = re.split(r"(?=stage\('[^']+'\))", code)
push_guarded = False
for part in parts:
    blocks = re.findall(r"\bsh\s+'''(.*?)'''", part, re.S)
    blocks += re.findall(r'\bsh\s+"""(.*?)"""', part, re.S)
    rest = re.sub(r"'''.*?'''|\"\"\".*?\"\"\"", "", part, flags=re.S)
    blocks += re.findall(r"\bsh\s+'([^'\n]*)'", rest)
    blocks += re.findall(r'\bsh\s+"([^"\n]*)"', rest)
    for b in blocks:
        n0 = len(invocations)
        check_script(jf, b)
        if any(inv[1] == "push" for inv in invocations[n0:]):
            push_guarded = re.search(r"when\s*\{\s*branch\s+'main'\s*\}", part) is not None
            if "credentials(" not in part: err(jf + ": the push stage has no credentials")
if not push_guarded: err(jf + ": the push stage does not run on main only")
require_flow(jf)

if errors:
    for e in errors:
        print("  " + e, file=sys.stderr)
    sys.exit(1)
print("%d varve invocations checked" % len(invocations))
PY
