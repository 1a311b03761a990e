"""Per-source limits: a flood of wrong keys, tokens or codes from one remote
host or one local uid locks that source, not the account and not anyone
else; the durable account budget still locks an account attacked from many
hosts.  Real pwlessd, real libpam with the built module (pamdrive), floods
over the socket (tests/helpers/flood.py)."""

import json
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import (SRC, Daemon, as_user, check, eq, ensure_user, pam,
                     run_tests)

FLOOD = os.path.join(SRC, "tests", "helpers", "flood.py")
BOB = "pwlt-lim-bob"		# the victim
XAV = "pwlt-lim-xav"		# a local user who floods
YVE = "pwlt-lim-yve"		# a local user who does not
HOST_A, HOST_C = "192.0.2.66", "198.51.100.7"


def flood(d, method, user, count, as_=None, **who):
    cmd = (as_user(as_) if as_ else []) + [sys.executable, FLOOD, d.sock,
                                           method, user, str(count)]
    for k, v in who.items():
        cmd += ["--" + k, v]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, "flood failed: %s" % r.stderr)
    return json.loads(r.stdout)


def answered(seen):
    """Requests that got past the limits to a real check."""
    return sum(n for st, n in seen.items() if st != "RATE_LIMITED")


def user_info(d, user):
    return json.loads(d.cli_ok("admin", "user", "show", user,
                               "--json").stdout)


def sources(d):
    return {e["source"]: e for e in json.loads(
        d.cli_ok("admin", "limits", "list", "--json").stdout)}


def login_ms(svc, user, key, rhost=None, as_=None):
    r = pam(svc, user, [key], rhost=rhost, as_=as_)
    return r.results.get("auth"), r.elapsed * 1000


class Env:
    def __init__(self, limits=""):
        self.d = Daemon("[limits]\n" + limits).start()
        self.d.enrol(BOB)
        self.key = self.d.new_key(BOB)
        self.svc = self.d.pam_service()

    def close(self):
        log = self.d.logtext()
        self.d.cleanup()
        check(self.key.split("_")[2] not in log, "key in the log")


def test_rhost_flood_spares_others():
    """wrong keys from host A lock A after source_max_failures; bob from
    host C logs in at once, not slower, his account not locked"""
    e = Env()
    try:
        before = [login_ms(e.svc, BOB, e.key, HOST_C)[1] for _ in range(10)]
        during = []

        def measure():
            for _ in range(10):
                st, ms = login_ms(e.svc, BOB, e.key, HOST_C)
                eq(st, "PAM_SUCCESS", "bob from C during the flood")
                during.append(ms)
        t = threading.Thread(target=measure)
        t.start()
        seen = flood(e.d, "key", BOB, 100000, rhost=HOST_A, seconds="5")
        seen_u = flood(e.d, "key", "pwlt-nosuch-{n}", 300, rhost=HOST_A)
        t.join()
        eq(len(during), 10, "logins during the flood")
        check(answered(seen) <= 5, "host A got %r" % seen)
        eq(answered(seen_u), 0, "spraying names from a locked host: %r" %
           seen_u)
        sent = sum(seen.values()) + sum(seen_u.values())
        st, after = login_ms(e.svc, BOB, e.key, HOST_C)
        eq(st, "PAM_SUCCESS", "bob from C after the flood")
        info = user_info(e.d, BOB)
        eq(info["locked_until"], 0, "bob's account is not locked")
        src = sources(e.d)
        check(src["rhost:" + HOST_A]["locked_until"] > time.time() + 600,
              "host A is locked: %r" % src)
        check("rhost:" + HOST_C not in src, "host C held back: %r" % src)
        st, _ = login_ms(e.svc, BOB, e.key, HOST_A)
        eq(st, "PAM_MAXTRIES", "even the right key from locked host A")
        log = e.d.logtext()
        check("event=source_lockout source=rhost:" + HOST_A in log,
              "lockout not logged")
        said = [l for l in log.splitlines() if "event=refused" in l and
                "source=rhost:" + HOST_A in l]
        check(1 <= len(said) <= 5, "refusals logged: %d lines" % len(said))
        auth = [l for l in log.splitlines() if "event=auth" in l and
                "rhost=" + HOST_A in l]
        check(len(auth) < 20, "the flood flooded the log: %d auth lines" %
              len(auth))
        b, m = statistics.median(before), statistics.median(during)
        print("# bob from host C: median %.1f ms before, %.1f ms during "
              "a flood of %d wrong keys from host A (%d checked), %.1f ms "
              "after" % (b, m, sent, answered(seen), after))
        check(m < 1000, "bob slowed to %.0f ms during the flood" % m)
    finally:
        e.close()


def test_uid_flood_spares_others():
    """wrong keys sent by local user xav lock uid xav only; yve logs in,
    and xav himself still can through sshd (another source)"""
    e = Env()
    try:
        for u in (XAV, YVE):
            e.d.enrol(u)
        kx, ky = e.d.new_key(XAV), e.d.new_key(YVE)
        seen = flood(e.d, "key", XAV, 100000, as_=XAV,
                     rhost="spoofed.example", seconds="5")
        check(answered(seen) <= 5, "uid xav got %r" % seen)
        seen = flood(e.d, "token", XAV, 100, as_=XAV)
        eq(answered(seen), 0, "tokens from a locked uid: %r" % seen)
        st, ms = login_ms(e.svc, YVE, ky, as_=YVE)
        eq(st, "PAM_SUCCESS", "yve as herself")
        eq(login_ms(e.svc, XAV, kx, as_=XAV)[0], "PAM_MAXTRIES",
           "xav's uid is held back")
        eq(login_ms(e.svc, XAV, kx, HOST_C)[0], "PAM_SUCCESS",
           "xav through sshd from host C")
        uid = ensure_user(XAV).pw_uid
        src = sources(e.d)
        check(src["uid:%d" % uid]["locked_until"] > time.time(),
              "uid locked: %r" % src)
        check("rhost:spoofed.example" not in src,
              "a local user named his own source: %r" % src)
        print("# yve logged in in %.1f ms while uid %d was locked" %
              (ms, uid))
    finally:
        e.close()


def test_tokens_and_codes_counted():
    """wrong tokens (TOKEN_VERIFY) and wrong code answers count per source;
    tokens never against the account"""
    e = Env()
    try:
        seen = flood(e.d, "token", BOB, 100000, rhost="192.0.2.71",
                     seconds="5")
        check(answered(seen) <= 5, "tokens from one host: %r" % seen)
        eq(user_info(e.d, BOB)["failures"], 0, "tokens count on the account")
        seen = flood(e.d, "code", BOB, 100000, rhost="192.0.2.72",
                     seconds="5")
        check(answered(seen) <= 5, "codes from one host: %r" % seen)
        src = sources(e.d)
        for h in ("192.0.2.71", "192.0.2.72"):
            check(src["rhost:" + h]["locked_until"] > time.time() + 600,
                  "%s not locked: %r" % (h, src))
        check(1 <= user_info(e.d, BOB)["failures"] <= 5,
              "code failures on the account")
        seen = flood(e.d, "start", "pwlt-nosuch-{n}", 40, rhost="192.0.2.73")
        eq(seen.get("OK"), 20, "codes asked from one host: %r" % seen)
        eq(flood(e.d, "start", "pwlt-other-{n}", 1,
                 rhost=HOST_C).get("OK"), 1, "another host may ask")
        check("reason=source_sends_per_hour" in e.d.logtext(), "not logged")
        eq(login_ms(e.svc, BOB, e.key, HOST_C)[0], "PAM_SUCCESS", "bob")
    finally:
        e.close()


def test_local_services_by_ruser_and_tty():
    """su and sudo run as root: the remote user they name is the source;
    a caller naming nothing is held back only by the account budget"""
    e = Env()
    try:
        seen = flood(e.d, "key", BOB, 50, ruser=XAV, tty="pts/9")
        check(answered(seen) <= 5, "ruser %s got %r" % (XAV, seen))
        eq(flood(e.d, "key", BOB, 1, ruser=YVE).get("DENIED"), 1,
           "another invoking user still checked")
        eq(flood(e.d, "key", BOB, 1, tty="tty3").get("DENIED"), 1,
           "a terminal still checked")
        check("ruser:" + XAV in sources(e.d) and "tty:tty3" in sources(e.d),
              "sources: %r" % sources(e.d))
    finally:
        e.close()


def test_many_hosts_still_lock_the_account():
    """the durable account budget holds: failures from several hosts add
    up to max_failures and lock the account for everyone"""
    e = Env()
    try:
        for i in range(12):
            flood(e.d, "key", BOB, 2, rhost="203.0.113.%d" % i)
        info = user_info(e.d, BOB)
        check(info["failures"] >= 10, "failures %r" % info)
        check(info["locked_until"] > time.time() + 600, "locked %r" % info)
        eq(login_ms(e.svc, BOB, e.key, HOST_C)[0], "PAM_MAXTRIES",
           "locked for host C too")
        e.d.cli_ok("admin", "user", "unlock", BOB)
        eq(login_ms(e.svc, BOB, e.key, HOST_C)[0], "PAM_SUCCESS",
           "after unlock")
    finally:
        e.close()


def test_list_clear_and_restart():
    """pwless admin limits list and clear; a restart forgets the sources
    (the account budget is kept)"""
    e = Env()
    try:
        flood(e.d, "key", BOB, 20, rhost=HOST_A)
        r = e.d.cli_ok("admin", "limits", "list")
        check("rhost:" + HOST_A in r.stdout and "LOCKED UNTIL" in r.stdout,
              r.stdout)
        r = e.d.cli("admin", "limits", "clear", "bogus")
        eq(r.returncode, 1, "a bad source name")
        check("rhost:HOST" in r.stderr, r.stderr)
        r = e.d.cli_ok("admin", "limits", "clear", "rhost:" + HOST_A)
        check("Forgot" in r.stdout, r.stdout)
        eq(login_ms(e.svc, BOB, e.key, HOST_A)[0], "PAM_SUCCESS",
           "host A after clear")
        flood(e.d, "key", BOB, 20, rhost=HOST_A)
        failures = user_info(e.d, BOB)["failures"]
        check(failures > 0, "account failures")
        e.d.restart()
        eq(sources(e.d), {}, "sources after a restart")
        eq(user_info(e.d, BOB)["failures"], failures, "account budget kept")
        flood(e.d, "key", BOB, 3, rhost=HOST_A)
        eq(e.d.cli_ok("admin", "limits", "clear", "all").stdout.strip(),
           "Forgot the limits of 1 source.", "clear all")
        check("event=source_clear" in e.d.logtext(), "clear not logged")
        r = e.d.cli("admin", "limits", "list", user=BOB)
        eq(r.returncode, 1, "not for users")
    finally:
        e.close()


if __name__ == "__main__":
    run_tests([
        test_rhost_flood_spares_others,
        test_uid_flood_spares_others,
        test_tokens_and_codes_counted,
        test_local_services_by_ruser_and_tty,
        test_many_hosts_still_lock_the_account,
        test_list_clear_and_restart,
    ])
