# Regenerates .env.example from lib/config.ts (doc comments, defaults). Run: python3 scripts/gen-env-example.py
import re
src = open("lib/config.ts").read()
body = src[src.index("z\n  .object({") if "z\n  .object({" in src else 0:]
out = ["# Project SOT settings. Every setting is optional unless marked required; defaults are shown.",
       "# Copy to .env (read by `npm start`) or set in the environment. lib/config.ts validates them all.", ""]
doc = []
in_doc = False  # inside a doc comment spread over several lines (/** … */)
for line in body.splitlines():
    s = line.strip()
    if in_doc:
        if s.startswith("*/"):
            in_doc = False
        elif s.startswith("*"):
            doc.append(s[1:].strip())
        continue
    if s == "/**":
        in_doc = True
        continue
    if s.startswith("}).superRefine") or s.startswith("})\n"):
        break
    m = re.match(r"// ── (.*) ──", s)
    if m:
        out += ["", f"# ── {m.group(1)} ──"]
        doc = []
        continue
    m = re.match(r"/\*\*\s*(.*?)\s*\*/", s)
    if m:
        doc.append(m.group(1)); continue
    m = re.match(r"([A-Z][A-Z0-9_]+): (.*)", s)
    if m:
        key, expr = m.groups()
        d = re.search(r"\.default\((.*?)\)[,)]?\s*$", expr) or re.search(r"\.default\(([^()]*)\)", expr)
        dm = re.match(r"(?:int|bool|url)\(([^,)]+)", expr)
        default = None
        if d: default = d.group(1)
        elif dm: default = dm.group(1)
        if default is not None:
            default = default.strip().strip('"').replace("_", "") if re.fullmatch(r"[\d_]+", default.strip()) else default.strip().strip('"')
            if default.startswith("def ?"): default = None
        for x in doc: out.append(f"# {x}")
        if expr.rstrip(",").endswith(".optional()") or default is None:
            out.append(f"# {key}=")
        else:
            out.append(f"# {key}={default}")
        doc = []
open(".env.example", "w").write("\n".join(out).replace("\n\n\n", "\n\n") + "\n")
