#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Line coverage per folder of src/ from an lcov tracefile (SF: file, LF: lines found, LH: lines hit), the binding
# decision (src/secctx/binding.c) on its own, and the total. The security-relevant parts carry a floor (MIN %);
# rows under it are marked and make the exit status 1.
# usage: coverage-summary.py TRACEFILE ROOT [MIN]
import os
import sys

trace, root = sys.argv[1], os.path.join(sys.argv[2], "")
floor = float(sys.argv[3]) if len(sys.argv) > 3 else 90.0
FLOORED = ("src/secctx", "src/store", "src/secctx/binding.c")

files = {}
name = None
for line in open(trace):
    if line.startswith("SF:"):
        name = line[3:].strip().replace(root, "", 1)
        files[name] = [0, 0]
    elif line.startswith("LF:"):
        files[name][0] = int(line[3:])
    elif line.startswith("LH:"):
        files[name][1] = int(line[3:])

folders = {}
for f, (found, hit) in files.items():
    d = folders.setdefault(os.path.dirname(f), [0, 0])
    d[0] += found
    d[1] += hit

rows = sorted(folders.items())
rows.append(("src/secctx/binding.c", files.get("src/secctx/binding.c", [0, 0])))
rows.append(("total (src/)", [sum(v[0] for v in files.values()), sum(v[1] for v in files.values())]))
low = 0
print(f"{'line coverage':<24} {'':>7}  lines hit / found")
for label, (found, hit) in rows:
    pct = 100.0 * hit / found if found else 0.0
    mark = ""
    if label in FLOORED and pct < floor:
        mark, low = f"  below {floor:g} %", low + 1
    print(f"{label:<24} {pct:6.1f} %  {hit:6d} / {found:<6d}{mark}")
sys.exit(1 if low else 0)
