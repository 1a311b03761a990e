"""Allocation failures in the PAM conversation: real libpam and the built
module in pamdrive, a real pwlessd, a valid key, and the failmalloc shim
failing the Nth allocation of the pamdrive process, for every N the login
makes.  Nothing may crash, nor return PAM_IGNORE.  A failed allocation that
the module asked for, directly or through libpam or the conversation, must
fail the login.  Two kinds may be absorbed below the module, so those runs
only must not crash: libc's and ld.so's own (stdio falls back to no buffer,
vasprintf keeps its first buffer) and libpam's outside the module (pam_start
logs and goes on); and allocations made while logging, which a module
cannot see fail."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import (BUILD, PAMDRIVE, Daemon, Skip, check, eq,  # noqa: E402
                     need_root, run_tests)

ALICE = "pwlt-falloc"
SHIM = os.path.join(BUILD, "tests", "helpers", ".libs", "failmalloc.so")
PAM_SUCCESS, PAM_IGNORE = 0, 25


def drive(confdir, key, n):
    """pamdrive with allocation n failing: (returncode, stdout, stderr)."""
    env = dict(os.environ)
    asan = env.get("ASAN_OPTIONS", "")
    env.update(LD_PRELOAD=SHIM, PWL_FAILMALLOC=str(n),
               ASAN_OPTIONS=(asan + ":" if asan else "") +
               "verify_asan_link_order=0")
    proc = subprocess.run([PAMDRIVE, "-D", "-d", confdir, "-s", "pwltest",
                           "-u", ALICE, "-a", key, "-o", "auth"],
                          capture_output=True, text=True, timeout=60,
                          env=env)
    return proc.returncode, proc.stdout, proc.stderr


def shim_line(err, what):
    m = re.search(r"^failmalloc: %s(\d+) log=(\d+)$" % what, err, re.M)
    return (int(m.group(1)), int(m.group(2))) if m else None


def must_fail(err, logging):
    """Whether the failed allocation was the module's to handle."""
    m = re.search(r"^failmalloc: stack=(.*)$", err, re.M)
    stack = m.group(1).split(">") if m else []
    caller = stack[-1] if stack else ""
    if logging or caller == "libc.so.6" or caller.startswith("ld-linux"):
        return False
    return "pam_pwless.so" in stack or caller != "libpam.so.0"


def sweep(confdir, key, total):
    """Runs N = 1..total; (wrong runs, runs that had to fail, absorbed)."""
    bad, strict, absorbed = [], 0, 0
    for n in range(1, total + 1):
        rc, out, err = drive(confdir, key, n)
        failed = shim_line(err, "failed call ")
        if rc < 0:
            bad.append("N=%d: killed by signal %d:\n%s" % (n, -rc, err))
        elif failed is None:
            bad.append("N=%d: no allocation failed (counts vary?)" % n)
        elif rc == PAM_IGNORE:
            bad.append("N=%d: PAM_IGNORE:\n%s" % (n, err))
        elif must_fail(err, failed[1] == 1):
            strict += 1
            if rc == PAM_SUCCESS:
                bad.append("N=%d: logged in:\n%s" % (n, err))
        else:
            absorbed += rc == PAM_SUCCESS
    return bad, strict, absorbed


def test_every_allocation_fails_closed():
    """each allocation of a key login failing in turn never lets it in"""
    need_root()
    if not os.path.exists(SHIM):
        raise Skip("no %s (make check builds it)" % SHIM)
    with open(PAMDRIVE, "rb") as f:
        if b"__asan_init" in f.read():
            raise Skip("pamdrive is built with ASan, whose malloc the shim "
                       "cannot replace; the plain build runs this test")
    with Daemon() as d:
        d.enrol(ALICE)
        key = d.new_key(ALICE)
        confdir = d.pam_service()
        rc, out, err = drive(confdir, key, 0)
        eq((rc, "RESULT auth PAM_SUCCESS 0" in out), (0, True),
           "login without failures: %s" % err)
        counted = shim_line(err, "calls=")
        check(counted is not None, "shim not loaded: %s" % err)
        total, in_log = counted
        check(total > 0, "the shim counted no allocation")
        bad, strict, absorbed = sweep(confdir, key, total)
        print("# K=%d allocations: %d the module's to handle, all "
              "refused; %d while logging; %d absorbed below the module "
              "and logged in" % (total, strict, in_log, absorbed))
        check(not bad, "%d of %d runs wrong:\n%s" %
              (len(bad), total, "\n".join(bad[:10])))
        rc, out, err = drive(confdir, key, total + 1)
        eq(rc, 0, "login with N past the last allocation: %s" % out)
        check(shim_line(err, "failed call ") is None, "nothing failed")


if __name__ == "__main__":
    run_tests([test_every_allocation_fails_closed])
