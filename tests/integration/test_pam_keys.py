"""API-key logins through real libpam loading the built pam_pwless.so,
against a real pwlessd on a temporary socket and database."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import (Daemon, MODULE, check, compose_key, eq, key_id,
                     need_root, pam, run_tests)

ALICE = "pwlt-alice"
BOB = "pwlt-bob"


def setup(conf=""):
    need_root()
    d = Daemon(conf).start()
    d.enrol(ALICE)
    return d


def test_valid_key_logs_in():
    """a valid key logs in and its last use is recorded"""
    d = setup()
    try:
        key = d.new_key(ALICE)
        r = pam(d.pam_service(), ALICE, [key], rhost="192.0.2.7",
                ops="auth,acct")
        eq(r.results.get("auth"), "PAM_SUCCESS", "auth " + repr(r))
        eq(r.results.get("acct"), "PAM_SUCCESS", "acct")
        out = d.cli_ok("key", "list", "--json", user=ALICE).stdout
        check("192.0.2.7" in out and "pwltest" in out,
              "last use not shown: " + out)
        # coarse: a second login within the minute writes nothing
        pam(d.pam_service(), ALICE, [key], rhost="198.51.100.9")
        out = d.cli_ok("key", "list", "--json", user=ALICE).stdout
        check("192.0.2.7" in out and "198.51.100.9" not in out,
              "last use rewritten within a minute: " + out)
    finally:
        d.cleanup()


def test_wrong_secret_fails():
    """a key with the right id but another secret fails"""
    d = setup()
    try:
        key = d.new_key(ALICE)
        forged = compose_key("l", key_id(key), "A" * 32)
        r = pam(d.pam_service(), ALICE, [forged])
        eq(r.results.get("auth"), "PAM_AUTH_ERR", repr(r))
        check("reason=wrong_secret" in d.logtext(), "no failure logged")
        check(r.fail_delay is not None and r.fail_delay >= 1000000,
              "no failure delay asked for: %r" % r.fail_delay)
    finally:
        d.cleanup()


def test_bad_checksum_fails_before_ipc():
    """a mistyped key fails without reaching the daemon"""
    d = setup()
    try:
        key = d.new_key(ALICE)
        typo = key[:20] + ("x" if key[20] != "x" else "y") + key[21:]
        before = d.logtext().count("event=auth")
        r = pam(d.pam_service(), ALICE, [typo])
        eq(r.results.get("auth"), "PAM_AUTH_ERR", repr(r))
        eq(d.logtext().count("event=auth"), before, "daemon saw the typo")
    finally:
        d.cleanup()


def test_revoked_key_fails():
    """a revoked key fails"""
    d = setup()
    try:
        key = d.new_key(ALICE)
        eq(pam(d.pam_service(), ALICE, [key]).results.get("auth"),
           "PAM_SUCCESS", "before revoke")
        d.cli_ok("key", "revoke", key_id(key), user=ALICE)
        eq(pam(d.pam_service(), ALICE, [key]).results.get("auth"),
           "PAM_AUTH_ERR", "after revoke")
    finally:
        d.cleanup()


def test_expired_key_fails():
    """a key past its expiry fails"""
    d = setup()
    try:
        key = d.new_key(ALICE, "--expires", "2s")
        eq(pam(d.pam_service(), ALICE, [key]).results.get("auth"),
           "PAM_SUCCESS", "fresh")
        time.sleep(2.5)
        eq(pam(d.pam_service(), ALICE, [key]).results.get("auth"),
           "PAM_AUTH_ERR", "expired")
    finally:
        d.cleanup()


def test_rotated_key_grace():
    """after rotate the old key works for the grace period only"""
    d = setup()
    try:
        old = d.new_key(ALICE)
        r = d.cli_ok("key", "rotate", key_id(old), "--grace", "2s",
                     user=ALICE)
        new = r.stdout.splitlines()[0]
        check(new.startswith("pwl_") and new != old, "no new key: " + new)
        svc = d.pam_service()
        eq(pam(svc, ALICE, [old]).results.get("auth"), "PAM_SUCCESS",
           "old key within grace")
        eq(pam(svc, ALICE, [new]).results.get("auth"), "PAM_SUCCESS",
           "new key")
        time.sleep(2.5)
        eq(pam(svc, ALICE, [old]).results.get("auth"), "PAM_AUTH_ERR",
           "old key after grace")
        eq(pam(svc, ALICE, [new]).results.get("auth"), "PAM_SUCCESS",
           "new key after grace")
    finally:
        d.cleanup()


def test_service_scope():
    """a key scoped to another service fails; in scope it works"""
    d = setup()
    try:
        key = d.new_key(ALICE, "--services", "pwl-ssh")
        d.pam_service("pwl-ssh")
        d.pam_service("pwl-sudo")
        confdir = d.pam_service()
        eq(pam(confdir, ALICE, [key], service="pwl-sudo").results.get(
            "auth"), "PAM_AUTH_ERR", "out of scope")
        eq(pam(confdir, ALICE, [key], service="pwl-ssh").results.get(
            "auth"), "PAM_SUCCESS", "in scope")
    finally:
        d.cleanup()


def test_unknown_user_same_conversation():
    """an unknown user sees the same prompts and gets PAM_AUTH_ERR"""
    d = setup()
    try:
        key = d.new_key(ALICE)
        forged = compose_key("l", key_id(key), "B" * 32)
        svc = d.pam_service()
        known = pam(svc, ALICE, [forged])
        unknown = pam(svc, "pwlt-nobody-here", [forged])
        eq(unknown.results.get("auth"), "PAM_AUTH_ERR", repr(unknown))
        eq(unknown.conversation(), known.conversation(), "conversation")
        svc2 = d.pam_service("pwltest-ign", "ignore_unknown_user",
                             "auth required pam_permit.so\n")
        # libpam hides PAM_IGNORE: the stack's pam_permit decides
        eq(pam(svc2, "pwlt-nobody-here", [forged],
               service="pwltest-ign").results.get("auth"), "PAM_SUCCESS",
           "ignore_unknown_user")
        eq(pam(svc2, ALICE, [forged], service="pwltest-ign").results.get(
            "auth"), "PAM_AUTH_ERR", "known user is not ignored")
    finally:
        d.cleanup()


def test_daemon_unavailable():
    """daemon stopped or socket missing: AUTHINFO_UNAVAIL, or IGNORE"""
    d = setup()
    try:
        key = d.new_key(ALICE)
        svc = d.pam_service()
        d.pam_service("pwltest-ign", "ignore_unavailable",
                      "auth required pam_permit.so\n")
        d.stop()
        r = pam(svc, ALICE, [key])
        eq(r.results.get("auth"), "PAM_AUTHINFO_UNAVAIL", repr(r))
        check(r.elapsed < 5, "took %.1fs" % r.elapsed)
        eq(pam(svc, ALICE, [key], service="pwltest-ign").results.get(
            "auth"), "PAM_SUCCESS", "ignore_unavailable (pam_permit decides)")
        svc3 = d.pam_service("pwltest-nosock")
        with open(os.path.join(svc3, "pwltest-nosock"), "w") as f:
            f.write("auth required %s socket=/nonexistent/pwless.sock\n"
                    % MODULE)
        eq(pam(svc3, ALICE, [key], service="pwltest-nosock").results.get(
            "auth"), "PAM_AUTHINFO_UNAVAIL", "socket missing")
    finally:
        d.cleanup()


def test_daemon_hung():
    """a daemon that accepts and never answers: UNAVAIL within timeout"""
    d = setup()
    try:
        key = d.new_key(ALICE)
        svc = d.pam_service("pwltest-t", "timeout=2")
        os.kill(d.proc.pid, signal.SIGSTOP)
        try:
            r = pam(svc, ALICE, [key], service="pwltest-t")
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)
        eq(r.results.get("auth"), "PAM_AUTHINFO_UNAVAIL", repr(r))
        check(1.5 < r.elapsed < 6, "returned after %.1fs" % r.elapsed)
    finally:
        d.cleanup()


def test_disabled_user():
    """a disabled user's valid key fails, and account says expired"""
    d = setup()
    try:
        key = d.new_key(ALICE)
        d.cli_ok("admin", "user", "disable", ALICE)
        r = pam(d.pam_service(), ALICE, [key], ops="acct")
        eq(r.results.get("acct"), "PAM_ACCT_EXPIRED", repr(r))
        eq(pam(d.pam_service(), ALICE, [key]).results.get("auth"),
           "PAM_AUTH_ERR", "auth while disabled")
        d.cli_ok("admin", "user", "enable", ALICE)
        eq(pam(d.pam_service(), ALICE, [key]).results.get("auth"),
           "PAM_SUCCESS", "auth after enable")
    finally:
        d.cleanup()


def test_other_user_cannot_authenticate_as_bob():
    """a non-root PAM caller cannot authenticate another user"""
    d = setup()
    try:
        d.enrol(BOB)
        bob_key = d.new_key(BOB)
        svc = d.pam_service()
        r = pam(svc, BOB, [bob_key], as_=ALICE)
        check(r.results.get("auth") not in ("PAM_SUCCESS", "PAM_IGNORE",
                                             None), repr(r))
        alice_key = d.new_key(ALICE)
        eq(pam(svc, ALICE, [alice_key], as_=ALICE).results.get("auth"),
           "PAM_SUCCESS", "alice as herself")
    finally:
        d.cleanup()


def test_module_exports_only_pam_sm():
    """the module exports pam_sm_* and nothing else"""
    out = subprocess.run(["nm", "-D", "--defined-only", MODULE],
                         capture_output=True, text=True, check=True).stdout
    syms = [l.split()[-1] for l in out.splitlines() if l.strip()]
    check(syms, "no symbols")
    bad = [s for s in syms if not s.startswith("pam_sm_")]
    eq(bad, [], "extra exports")
    check("pam_sm_authenticate" in syms, "pam_sm_authenticate missing")


if __name__ == "__main__":
    run_tests([
        test_valid_key_logs_in,
        test_wrong_secret_fails,
        test_bad_checksum_fails_before_ipc,
        test_revoked_key_fails,
        test_expired_key_fails,
        test_rotated_key_grace,
        test_service_scope,
        test_unknown_user_same_conversation,
        test_daemon_unavailable,
        test_daemon_hung,
        test_disabled_user,
        test_other_user_cannot_authenticate_as_bob,
        test_module_exports_only_pam_sm,
    ])
