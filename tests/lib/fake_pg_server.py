#!/usr/bin/env python3
"""fake_pg_server.py DIR MODE [--port N] [--sockdir D] [--datadir D] [--nondumpable]
[--no-listen | --listen-in-child] - a planted or hostile "cluster" for tests/integration/89-*.sh.

Becomes a postmaster as the guard sees one: comm "postgres", cwd DIR, and
DIR/postmaster.pid naming itself (line 2 --datadir, default DIR; line 4 the
port; line 5 --sockdir, default DIR).  Starts one child "backend": a copy of
sleep named DIR/postgres whose title is "postgres: app db [local] idle".
Prints "PM CHILD [LISTENER]" and serves DIR/.s.PGSQL.PORT (unless --no-listen; with
--listen-in-child another process of the same user listens, not the postmaster).

Each connection is logged to DIR/conn.log, one line per event:
  conn uid=U pid=P          who connected (SO_PEERCRED)
  recv HEX                  every byte received, hex
  type X                    the type of each message after the startup packet
MODE says how it answers the startup packet:
  record     ErrorResponse "FATAL: planted" and close
  oversized  a message claiming to be 2 GiB long
  truncated  a message header promising 100 bytes, 3 bytes, close
  error      an ErrorResponse full of control characters
  password   AuthenticationCleartextPassword, then wait for an answer
  md5        AuthenticationMD5Password (salt), then wait for an answer
  silent     nothing at all, ever
  flood      NoticeResponse after NoticeResponse, forever
"""
import ctypes
import os
import shutil
import socket
import struct
import sys
import threading
import time

PR_SET_PDEATHSIG, PR_SET_NAME, PR_SET_DUMPABLE = 1, 15, 4


def arg(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


d, mode = os.path.abspath(sys.argv[1]), sys.argv[2]
port = int(arg("--port", "54399"))
sockdir = arg("--sockdir", d)
datadir = arg("--datadir", d)
log_path = os.path.join(d, "conn.log")
log_lock = threading.Lock()


def log(line):
    with log_lock, open(log_path, "a") as f:
        f.write(line + "\n")


def msg(t, body):
    return t + struct.pack("!I", len(body) + 4) + body


def error_response(text):
    return msg(b"E", b"SFATAL\0C28000\0M" + text + b"\0\0")


HOSTILE = ("evil \x1b[31mred\x1b[0m \u009b31m CSI \u202eesrever\u202c \u2066iso\u2069 "
           "bell\x07 nl\nforged: ok").encode() + b" raw\x9b\xff"


def read_all(c, first):
    """Log what the client sends until it closes (message types after startup)."""
    buf = first
    while True:
        try:
            data = c.recv(65536)
        except OSError:
            return
        if not data:
            return
        log("recv " + data.hex())
        buf += data
        while len(buf) >= 5:
            n = struct.unpack("!I", buf[1:5])[0]
            log("type " + chr(buf[0]))
            if len(buf) < 1 + n:
                break
            buf = buf[1 + n:]


def serve(c):
    cred = c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _ = struct.unpack("3i", cred)
    log("conn uid=%d pid=%d" % (uid, pid))
    head = c.recv(8)
    if head:
        log("recv " + head.hex())
    if len(head) == 8:
        rest = struct.unpack("!I", head[:4])[0] - 8
        while rest > 0:
            data = c.recv(rest)
            if not data:
                break
            log("recv " + data.hex())
            rest -= len(data)
    try:
        if mode == "record":
            c.sendall(error_response(b"planted"))
        elif mode == "oversized":
            c.sendall(b"R" + struct.pack("!I", 0x7FFFFFFF) + b"\0" * 64)
            time.sleep(30)
        elif mode == "truncated":
            c.sendall(b"E" + struct.pack("!I", 104) + b"SFA")
        elif mode == "error":
            c.sendall(error_response(HOSTILE))
        elif mode == "password":
            c.sendall(msg(b"R", struct.pack("!I", 3)))
            read_all(c, b"")
        elif mode == "md5":
            c.sendall(msg(b"R", struct.pack("!I", 5) + b"salt"))
            read_all(c, b"")
        elif mode == "silent":
            read_all(c, b"")
            time.sleep(60)
        elif mode == "flood":
            notice = msg(b"N", b"SNOTICE\0Mflood\x1b[2J\0\0")
            while True:
                c.sendall(notice * 64)
    except OSError:
        pass
    finally:
        c.close()


def main():
    os.chdir(d)
    libc = ctypes.CDLL(None, use_errno=True)
    # whatever happens to the test, nothing of ours outlives its wrapper
    libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    libc.prctl(PR_SET_NAME, b"postgres", 0, 0, 0)
    if "--nondumpable" in sys.argv:
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    with open("postmaster.pid", "w") as f:
        f.write("%d\n%s\n%d\n%d\n%s\n\n  1 2\nready   \n"
                % (os.getpid(), datadir, int(time.time()), port, sockdir))
    shutil.copy("/bin/sleep", os.path.join(d, "postgres"))
    child = os.fork()
    if child == 0:
        libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
        os.execv(os.path.join(d, "postgres"), ["postgres: app db [local] idle", "1000000"])
    listener = os.fork() if "--listen-in-child" in sys.argv else 0
    if "--listen-in-child" in sys.argv and not listener:
        libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    if "--no-listen" in sys.argv or listener:
        print(os.getpid(), child, listener or "", flush=True)
        while True:
            time.sleep(3600)
    # the postmaster itself, or (--listen-in-child) another process of the attacker
    path = os.path.join(d, ".s.PGSQL.%d" % port)
    if os.path.exists(path):
        os.unlink(path)
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    os.chmod(path, 0o777)
    lsock.listen(16)
    if "--listen-in-child" not in sys.argv:
        print(os.getpid(), child, flush=True)
    while True:
        c, _ = lsock.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
