#!/usr/bin/env python3
"""syslog_sink.py SOCKET OUTFILE - a stand-in for /dev/log in tests.

Binds a Unix datagram socket (mode 0666, so any test user can log to it)
and appends every datagram received as one line to OUTFILE, flushed at once.
"""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "a", buffering=1) as f:
    print("ready", file=sys.stderr, flush=True)
    while True:
        data = s.recv(65536)
        f.write(data.decode("utf-8", "replace").rstrip("\n") + "\n")
