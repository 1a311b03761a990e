"""Load: 200 concurrent PAM clients (real libpam loading the built module,
tests/helpers/pamload) log in with a key for 60 s while other clients
send garbage and others send half a frame and fall silent, half of them
as an unprivileged user.  Every honest request must be answered with
success; afterwards pwlessd holds no more file descriptors than before
and its memory is back where it was.  Prints requests and p50/p90/p99."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from alone import alone
from pwltest import BUILD, Daemon, check, ensure_user, eq, need_root, run_tests

PAMLOAD = os.path.join(BUILD, "tests", "helpers", "pamload")
SECONDS = int(os.environ.get("PWL_LOAD_SECONDS", "60"))
CLIENTS = int(os.environ.get("PWL_LOAD_CLIENTS", "200"))
USER = "pwlt-load"
EVIL = "pwlt-load-evil"


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def status(pid, field):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def sanitized(pid):
    return "libasan" in open("/proc/%d/maps" % pid).read()


def load(d, svc, key, seconds, evil_uid):
    r = subprocess.run([PAMLOAD, "-d", svc, "-s", "pwltest", "-u", USER,
                        "-k", key, "-c", str(CLIENTS), "-t", str(seconds),
                        "-S", d.sock, "-g", "4", "-l", "4",
                        "-U", str(evil_uid)],
                       capture_output=True, text=True, timeout=seconds + 120)
    check(r.returncode == 0, "pamload failed: %s" % r.stderr[-2000:])
    return dict(kv.split("=", 1) for kv in r.stdout.split())


def settle(pid, want, timeout=45):
    """Waits until pwlessd holds want fds (slow clients are dropped after
    5 s, idle ones after 30 s); returns what it holds."""
    end = time.monotonic() + timeout
    while fds(pid) > want and time.monotonic() < end:
        time.sleep(0.5)
    return fds(pid)


def test_load():
    """200 PAM clients for 60 s with garbage and slow clients: every honest
    request succeeds; fds and memory back to their level after"""
    need_root()
    evil = ensure_user(EVIL).pw_uid
    d = Daemon().start()
    try:
        d.enrol(USER)
        key = d.new_key(USER)
        svc = d.pam_service(auth_opts="no_token")
        pid = d.proc.pid
        warm = load(d, svc, key, 5, evil)
        eq(warm["ok"], warm["requests"], "warm-up: %r" % warm)
        fd0 = settle(pid, 10)
        # anonymous memory only: the database is read through mmap, and
        # its pages count in VmRSS as the audit trail grows
        rss0 = status(pid, "RssAnon")
        r = load(d, svc, key, SECONDS, evil)
        fd1 = settle(pid, fd0)
        rss1 = status(pid, "RssAnon")
        print("# %s PAM clients for %s s: %s requests (%.0f/s), %s ok, %s "
              "unavailable, %s other; latency p50 %s ms, p90 %s ms, p99 %s "
              "ms, max %s ms; %s garbage and %s slow connections" %
              (r["clients"], r["seconds"], r["requests"],
               int(r["requests"]) / SECONDS, r["ok"], r["unavail"],
               r["other"], r["p50_ms"], r["p90_ms"], r["p99_ms"],
               r["max_ms"], r["garbage"], r["slow"]))
        print("# pwlessd: %d fds before, %d after; RssAnon %d KiB before, %d "
              "KiB after (peak %d KiB)" % (fd0, fd1, rss0, rss1,
                                           status(pid, "VmHWM")))
        check(int(r["requests"]) > CLIENTS, "no load: %r" % r)
        eq(r["unavail"], "0", "honest requests unanswered")
        eq(r["ok"], r["requests"], "honest requests that failed: %r" % r)
        check(int(r["garbage"]) > 100 and int(r["slow"]) > 10,
              "too little garbage: %r" % r)
        eq(fd1, fd0, "file descriptors held after the load")
        if not sanitized(pid):	# ASan's quarantine keeps freed memory
            # SQLite's page cache may still fill up to its 2 MiB
            check(rss1 <= rss0 + 3072, "RssAnon grew from %d to %d KiB" %
                  (rss0, rss1))
        check(d.proc.poll() is None, "pwlessd died")
        lim = [l.split() for l in open("/proc/%d/limits" % pid)
               if l.startswith("Max open files")][0]
        check(int(lim[3]) >= min(4160, int(lim[4])),
              "open files limit not raised: %r" % lim)
        d.proc.terminate()	# under ASan, LeakSanitizer checks at exit
        eq(d.proc.wait(60), 0, "pwlessd's exit status after SIGTERM")
        log = d.logtext()
        check("out of file descriptors" not in log, "fds ran out")
        check("Sanitizer" not in log, "sanitizer report: " + log[-3000:])
    finally:
        d.cleanup()


def main():
    with alone():
        run_tests([test_load])


if __name__ == "__main__":
    main()
