#!/usr/bin/python3
"""tests/tools/aux-table.py OUTPUT... - the Markdown table of docs/AUX-SIGNALS.md
from the output of tests/tools/measure-aux.sh, one file per version:
one row per auxiliary kind and signal, one column per major version."""
import sys

KINDS = ["startup", "walreceiver", "checkpointer", "background-writer", "walwriter", "archiver",
         "logger", "stats-collector", "walsummarizer", "io-worker"]
SIGNALS = ["TERM", "INT", "QUIT", "KILL", "STOP"]

cells, versions = {}, []
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            ver, kind, sig, out = line.rstrip("\n").split(" ", 3)
            major = ver.split(".")[0]
            if major not in versions:
                versions.append(major)
            out = out.replace(" (state while stopped: T)", "")
            cells[(kind, sig, major)] = "" if out == "absent" else out
versions.sort(key=int)
print("| kind | signal | " + " | ".join(versions) + " |")
print("|---|---|" + "---|" * len(versions))
for kind in KINDS:
    for sig in SIGNALS:
        row = [cells.get((kind, sig, v), "") for v in versions]
        if any(row):
            print("| %s | %s | %s |" % (kind, sig, " | ".join(c or "–" for c in row)))
