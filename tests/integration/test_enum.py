"""Enumeration: a user who is not enrolled, one enrolled without contacts
and one enrolled with an email address and a key must look the same to
whoever tries them: the PAM conversation, byte for byte, and the time it
takes.  Measured through real libpam with the built module (pamdrive,
whole conversations) and on the wire (one request), tries interleaved so
background load falls on all three alike.  Fails only on a clear
difference: medians more than 10% AND more than 2 ms apart, three
measurements in a row; it runs alone among the tests that measure time."""

import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import Daemon, check, compose_key, eq, need_root, pam, run_tests
from codetest import SENDER
from alone import alone
from flood import call

TRIES = int(os.environ.get("PWL_ENUM_TRIES", "200"))
ENROLLED = "pwlt-enum-full"	# email and a key
BARE = "pwlt-enum-bare"		# enrolled, no contact, no key
NOBODY = "pwlt-enum-nobody"	# not enrolled, no system account
USERS = (ENROLLED, BARE, NOBODY)
T_USER, T_SERVICE, T_RHOST = 0x8001, 0x8002, 0x0003
T_KEY, T_CODE, T_CHALLENGE = 0x8006, 0x8007, 0x8019
MSG_AUTH_KEY, MSG_CODE_START, MSG_CODE_ANSWER = 0x0101, 0x0102, 0x0103
WRONG_KEY = compose_key("l", "EnumTest00", "E" * 32)
NO_LIMITS = ("[limits]\nfailures_before_delay = 100000\nmax_failures = 100000"
             "\nsends_per_hour = 100000\nsends_per_destination = 100000\n"
             "source_max_failures = 0\nsource_sends_per_hour = 0\n"
             "[codes]\nresend_interval = 0s\n")


def setup():
    need_root()
    d = Daemon()
    spool = os.path.join(d.dir, "spool")
    os.mkdir(spool)
    d.write_conf(NO_LIMITS + "[outbox]\nsender = %s\n[email]\ntransport = "
                 "file\nspool = %s\nfrom = pwless@example.org\n" %
                 (SENDER, spool))
    d.start()
    d.enrol(ENROLLED, "--email", "full@example.org")
    d.enrol(BARE)
    d.new_key(ENROLLED)
    return d, spool


def median_ms(xs):
    return statistics.median(xs) * 1000


def clear_difference(times):
    """Pairs of users whose median difference, taken round by round (so a
    burst of background load falls on both), is over 10% and 2 ms."""
    out = []
    for a in USERS:
        for b in USERS:
            if a == b:
                continue
            diff = statistics.median(x - y for x, y in zip(times[a],
                                                             times[b]))
            base = statistics.median(times[b])
            if diff > 0.002 and diff > 0.10 * base:
                out.append((a, b, diff * 1000))
    return out


def judge(what, fn):
    """Times fn for each user; a clear difference must show up three
    times in a row to fail, so noise never fails the test."""
    for attempt in range(3):
        times = interleaved(fn)
        med = {u: median_ms(t) for u, t in times.items()}
        print("# %s, median of %d: %s" % (what, TRIES, ", ".join(
            "%s %.3f ms" % (u.replace("pwlt-enum-", ""), med[u])
            for u in USERS)))
        diff = clear_difference(times)
        if not diff:
            return med
        print("# slower: %s; measuring again" % ", ".join(
            "%s than %s by %.2f ms" % (a, b, ms) for a, b, ms in diff))
    raise AssertionError("%s: a clear difference, three times: %r" %
                         (what, diff))


def interleaved(fn):
    """fn(user) timed TRIES times per user, users in turn."""
    times = {u: [] for u in USERS}
    for i in range(TRIES):
        for k in range(len(USERS)):
            u = USERS[(i + k) % len(USERS)]
            t0 = time.perf_counter()
            fn(u)
            times[u].append(time.perf_counter() - t0)
    return times


def conversation(r):
    """Every line (prompts, messages, FAIL_DELAY, RESULT), without the
    delay libpam randomises around what modules asked for."""
    return re.sub(r"^(FAIL_DELAY \S+) \d+$", r"\1", r.out, flags=re.M)


def test_wrong_key_looks_alike():
    """a wrong key: the same conversation, byte for byte, and the same
    time, for an enrolled, a bare and an unknown user"""
    d, _ = setup()
    try:
        svc = d.pam_service()
        seen = {}

        def one(u):
            r = pam(svc, u, [WRONG_KEY])
            eq(r.results.get("auth"), "PAM_AUTH_ERR", u)
            seen.setdefault(u, set()).add(conversation(r))
        judge("wrong key through PAM", one)
        for u in USERS:
            eq(len(seen[u]), 1, "%s saw different conversations: %r" %
               (u, seen[u]))
        eq(seen[BARE], seen[ENROLLED], "bare vs enrolled")
        eq(seen[NOBODY], seen[ENROLLED], "unknown vs enrolled")

        def wire(u):
            st, _ = call(d.sock, MSG_AUTH_KEY, [(T_USER, u), (T_SERVICE,
                                                "sshd"), (T_KEY, WRONG_KEY)])
            check(st in ("DENIED", "UNKNOWN_USER"), "%s: %s" % (u, st))
        judge("wrong key on the wire (AUTH_KEY)", wire)
    finally:
        d.cleanup()


def test_code_request_looks_alike():
    """Enter at the prompt (a code is sent, or seems to be), then a wrong
    code: the same conversation and time for all three; only the
    enrolled user gets mail"""
    d, spool = setup()
    try:
        svc = d.pam_service()
        seen = {}

        def one(u):
            r = pam(svc, u, ["", "12345678"])
            eq(r.results.get("auth"), "PAM_AUTH_ERR", u)
            seen.setdefault(u, set()).add(conversation(r))
        judge("code request and wrong code through PAM", one)
        for u in USERS:
            eq(len(seen[u]), 1, "%s saw different conversations: %r" %
               (u, seen[u]))
        eq(seen[BARE], seen[ENROLLED], "bare vs enrolled")
        eq(seen[NOBODY], seen[ENROLLED], "unknown vs enrolled")
        check("sent to" in list(seen[ENROLLED])[0], "no code message")
        cids = {}

        def start(u):
            st, t = call(d.sock, MSG_CODE_START, [(T_USER, u),
                                                  (T_SERVICE, "sshd")])
            eq(st, "OK", u)
            cids[u] = t[T_CHALLENGE][0].decode()
        judge("CODE_START on the wire", start)

        def answer(u):
            st, _ = call(d.sock, MSG_CODE_ANSWER, [
                (T_USER, u), (T_SERVICE, "sshd"), (T_CHALLENGE, cids[u]),
                (T_CODE, "12345678")])
            eq(st, "DENIED", u)
        judge("wrong CODE_ANSWER on the wire", answer)
        time.sleep(2)
        mails = [m for m in os.listdir(spool) if m.endswith(".eml")]
        check(mails, "no mail for the enrolled user")
        for m in mails:		# a resend replaces a code not yet sent
            with open(os.path.join(spool, m)) as f:
                check("full@example.org" in f.read(), "mail to " + m)
        print("# %d mails, all to the enrolled user" % len(mails))
    finally:
        d.cleanup()


def main():
    with alone():
        run_tests([test_wrong_key_looks_alike,
                   test_code_request_looks_alike])


if __name__ == "__main__":
    main()
