#!/usr/bin/python3
"""tests/lib/managers.py - stand-ins for the programs that manage PostgreSQL,
making the same kill-family calls in the same order as the real ones (read
from their source; see docs/AUX-SIGNALS.md and README "Running beside HA
managers").  Every signal call is logged to stdout as

    call SIGNAL TARGET ok|errno=N

and the exit status is 0 only if every call succeeded.

  patroni-start DATADIR BINDIR LOG
        Patroni's PostmasterProcess.start: a spawn helper calls setsid(),
        starts postgres and exits, so the postmaster is NOT our child; wait
        until the pid file says "ready"; print "postmaster PID".
  patroni-stop DATADIR MODE TIMEOUT
        signal_stop: TERM/INT/QUIT (smart/fast/immediate) to the postmaster;
        after TIMEOUT seconds signal_kill: SIGSTOP to the postmaster, list
        its children (recursively), SIGKILL to the postmaster, then SIGKILL
        to every child.
  autoctl DATADIR BINDIR LOG GOFILE
        pg_autoctl: postgres is our direct child in our process group; once
        GOFILE exists, killpg(our group) with TERM, then INT, then QUIT,
        each after 2 s if the postmaster is still running.
  repmgr PID
        repmgr's disable_wal_receiver: SIGTERM to the walreceiver.
  reaper STATUSFILE CMD...
        Not a manager: init's part.  Become a child subreaper, run CMD, write
        its exit status to STATUSFILE, then reap every orphan (the
        postmaster Patroni's spawn helper leaves behind) until none is left.
  renamed NAME SIG PID
        prctl(PR_SET_NAME, NAME), then kill(PID, SIG): a process that only
        calls itself pg_ctl or patroni.
All run with comm set by prctl (patroni, pg_autoctl, repmgr) and exe
python3, as the real Patroni does.
"""
import ctypes
import os
import signal
import subprocess
import sys
import time

LIBC = ctypes.CDLL(None, use_errno=True)
FAILED = []


def set_comm(name):
    LIBC.prctl(15, name.encode(), 0, 0, 0)  # PR_SET_NAME


def call(fn, sig, target, *args):
    name = signal.Signals(sig).name
    try:
        fn(*args)
        print("call %s %s ok" % (name, target), flush=True)
    except OSError as e:
        print("call %s %s errno=%d" % (name, target, e.errno), flush=True)
        FAILED.append((name, target))


def kill(pid, sig):
    call(os.kill, sig, pid, pid, sig)


def pidfile(datadir):
    try:
        with open(os.path.join(datadir, "postmaster.pid")) as f:
            return f.read().split("\n")
    except OSError:
        return []


def running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_ready(datadir, pid, seconds=60):
    end = time.time() + seconds
    while time.time() < end:
        lines = pidfile(datadir)
        if len(lines) > 7 and lines[0] == str(pid) and lines[7].strip() == "ready":
            return True
        if not running(pid):
            return False
        time.sleep(0.05)
    return False


def wait_gone(pid, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if not running(pid):
            return True
        time.sleep(0.05)
    return not running(pid)


def children(pid):
    """psutil's Process.children(recursive=True): every descendant."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def postgres_cmd(bindir, datadir):
    return [os.path.join(bindir, "postgres"), "-D", datadir]


def patroni_start(datadir, bindir, log):
    set_comm("patroni")
    r, w = os.pipe()
    helper = os.fork()
    if helper == 0:  # the spawn helper: setsid, start postgres, report, exit
        os.close(r)
        os.setsid()
        with open(log, "ab") as out:
            pm = subprocess.Popen(postgres_cmd(bindir, datadir), stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=out, close_fds=True)
        os.write(w, str(pm.pid).encode())
        os._exit(0)
    os.close(w)
    pid = int(os.read(r, 32) or b"0")
    os.waitpid(helper, 0)
    ok = pid and wait_ready(datadir, pid)
    print("postmaster %d" % pid, flush=True)
    return 0 if ok else 1


def patroni_stop(datadir, mode, timeout):
    set_comm("patroni")
    lines = pidfile(datadir)
    pid = int(lines[0]) if lines and lines[0].isdigit() else 0
    if not pid or not running(pid):
        print("no postmaster", flush=True)
        return 1
    sig = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode]
    kill(pid, sig)
    if wait_gone(pid, float(timeout)):
        print("stopped by %s" % signal.Signals(sig).name, flush=True)
        return 1 if FAILED else 0
    # signal_kill: suspend, children(recursive=True), kill, kill each child
    kill(pid, signal.SIGSTOP)
    kids = children(pid)
    kill(pid, signal.SIGKILL)
    if os.environ.get("PGKG_MGR_REAPED_FIRST"):
        # the postmaster reaped before the children's KILL: they are orphans by then
        end = time.time() + 10
        while os.path.exists("/proc/%d" % pid) and time.time() < end:
            time.sleep(0.05)
        print("postmaster %s" % ("reaped" if not os.path.exists("/proc/%d" % pid) else "NOT reaped"),
              flush=True)
    for c in kids:
        if running(c):
            kill(c, signal.SIGKILL)
    gone = wait_gone(pid, 10) and all(wait_gone(c, 10) for c in kids)
    print("killed postmaster and %d children: %s" % (len(kids), "all gone" if gone else "NOT all gone"),
          flush=True)
    return 1 if FAILED or not gone else 0


def autoctl(datadir, bindir, log, gofile):
    set_comm("pg_autoctl")
    os.setpgid(0, 0)  # the supervisor leads the group its children are in
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(s, lambda *_: None)  # it receives its own killpg too
    with open(log, "ab") as out:
        pm = subprocess.Popen(postgres_cmd(bindir, datadir), stdin=subprocess.DEVNULL,
                              stdout=out, stderr=out)
    if not wait_ready(datadir, pm.pid):
        print("postgres did not start", flush=True)
        return 1
    print("postmaster %d pgrp %d" % (pm.pid, os.getpgrp()), flush=True)
    while not os.path.exists(gofile):
        time.sleep(0.05)
    pgrp = os.getpgrp()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        if pm.poll() is not None:
            break
        call(os.killpg, sig, -pgrp, pgrp, sig)
        for _ in range(40):
            if pm.poll() is not None:
                break
            time.sleep(0.05)
    pm.wait()
    print("postgres exited with %d" % pm.returncode, flush=True)
    return 1 if FAILED else 0


def repmgr(pid):
    set_comm("repmgr")
    kill(int(pid), signal.SIGTERM)
    return 1 if FAILED else 0


def renamed(name, sig, pid):
    set_comm(name)
    kill(int(pid), getattr(signal, "SIG" + sig))
    return 1 if FAILED else 0


def reaper(statusfile, *cmd):
    LIBC.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    child = subprocess.Popen(list(cmd))
    rc = child.wait()
    with open(statusfile + ".tmp", "w") as f:
        f.write("%d\n" % rc)
    os.rename(statusfile + ".tmp", statusfile)
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return 0


def main(argv):
    cmds = {"reaper": reaper, "patroni-start": patroni_start, "patroni-stop": patroni_stop, "autoctl": autoctl,
            "repmgr": repmgr, "renamed": renamed}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.stderr.write(__doc__)
        return 2
    return cmds[argv[1]](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
