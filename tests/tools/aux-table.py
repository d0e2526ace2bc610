#!/usr/bin/python3
"""tests/tools/aux-table.py OUTPUT... - the Markdown table of docs/AUX-SIGNALS.md
from the output of tests/tools/measure-aux.sh (one or more files per version;
a later file's result replaces an earlier one's):
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
            if out != "absent":  # a later file (a re-measurement) wins, absence never does
                cells[(kind, sig, major)] = out
            else:
                cells.setdefault((kind, sig, major), "")
versions.sort(key=int)
print("| kind | signal | " + " | ".join(versions) + " |")
print("|---|---|" + "---|" * len(versions))
for kind in KINDS:
    for sig in SIGNALS:
        row = [cells.get((kind, sig, v), "") for v in versions]
        if any(row):
            print("| %s | %s | %s |" % (kind, sig, " | ".join(c or "–" for c in row)))
