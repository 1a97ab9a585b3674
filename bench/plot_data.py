#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Reads a bench/run.sh results file (bench/results/latest.md) and writes the tables the plots are drawn from
# (bench/plots.gp), tab-separated, into OUTDIR -- so the plots can be made again from a kept results file without
# running the benchmark:
#   ratio.tsv    every Registrar row of the attachment tables: label, ratio to its raw-OpenSSL ceiling by rate,
#                and by server CPU per operation (ceiling µs ÷ µs); diagnostic tables are left out
#   memory.tsv   connections held, VmRSS MiB, KiB per connection (the Memory table, while connections are open)
#   scaling.tsv  the streaming rows at each number of connections: requests/s and server CPU µs per request
# (One Registrar worker throughout: run.sh measures no worker counts, so there is no scaling-with-workers table.)
# usage: plot_data.py RESULTS.md OUTDIR
import os
import re
import sys

results, outdir = sys.argv[1], sys.argv[2]
os.makedirs(outdir, exist_ok=True)


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def number(s):
    m = re.match(r"^-?[0-9][0-9,]*(\.[0-9]+)?", s.replace("\u202f", ""))
    return float(m.group(0).replace(",", "")) if m else None


def label(s, section=""):
    s = re.sub(r" \(.*?\)", "", s.replace("&lt;", "<").replace("&gt;", ">").replace("Registrar: ", ""))
    return ("PSK " + s) if section.startswith("TLS-PSK") else s


ratio, memory, scaling = [], [], []
section, diagnostic, header = "", False, []
for line in open(results, encoding="utf-8"):
    if line.startswith("<details>"):
        break  # the raw RESULT lines follow
    if line.startswith("## "):
        section, diagnostic, header = line[3:].strip(), False, []
        continue
    if line.startswith("Diagnostic"):
        diagnostic = True
        continue
    if not line.startswith("|"):
        if line.strip():
            header = []  # prose between tables: the next table has a header of its own
        continue
    row = cells(line)
    if not header:
        header = row
        continue
    if set(row[0]) <= set("-:"):
        continue
    col = {name: i for i, name in enumerate(header)}
    if "ratio to ceiling" in col and not diagnostic and row[0].startswith("Registrar:"):
        by_rate = number(row[col["ratio to ceiling"]])
        by_cpu = number(row[col["ceiling µs ÷ µs"]])
        if by_rate is not None and by_cpu is not None:
            ratio.append((f"{label(row[0], section)}, TLS {row[col['TLS']]}", by_rate, by_cpu))
    elif section == "Memory" and "VmRSS MiB" in col:
        conns, rss = number(row[col["connections"]]), number(row[col["VmRSS MiB"]])
        if conns is not None and rss is not None and not row[0].startswith("after"):
            per = number(row[col["KiB per connection"]])
            memory.append((int(conns), rss, per if per is not None else 0))
    elif section.startswith("Streaming") and "requests/s" in col:
        scaling.append((label(re.sub(r", 16 connections.*| on one keep-alive connection", "", row[0])),
                        int(number(row[col["connections"]])), number(row[col["requests/s"]]),
                        number(row[col["server CPU µs/request"]])))

if not ratio or not memory:
    sys.exit(f"plot_data: {results}: found no ratio rows or no memory rows")
with open(os.path.join(outdir, "ratio.tsv"), "w", encoding="utf-8") as f:
    for name, r, c in reversed(ratio):  # gnuplot draws the first row at the bottom
        f.write(f'"{name}"\t{r}\t{c}\n')
with open(os.path.join(outdir, "memory.tsv"), "w", encoding="utf-8") as f:
    for conns, rss, per in sorted(memory):
        f.write(f"{conns}\t{rss}\t{per}\n")
with open(os.path.join(outdir, "scaling.tsv"), "w", encoding="utf-8") as f:
    for name in dict.fromkeys(s[0] for s in scaling):  # one block per kind of request, in the file's order
        f.write(f'# "{name}"\n')
        for _, conns, rate, cpu in (s for s in scaling if s[0] == name):
            f.write(f"{conns}\t{rate}\t{cpu}\n")
        f.write("\n\n")
print(f"plot_data: {len(ratio)} ratio rows, {len(memory)} memory points, {len(scaling)} streaming rows")
