"""Session tokens through real libpam loading the built module, against a
real pwlessd: minted at a key login, exported as PWLESS_TOKEN, accepted by
a methods=token service, bound to user, services and rhost, revoked at
session close and by their owner, swept once expired."""

import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import (Daemon, check, compose_key, eq, key_id, need_root, pam,
                     run_tests)
from tokentest import session_service

ALICE = "pwlt-alice"
BOB = "pwlt-bob"


def setup(conf=""):
    need_root()
    d = Daemon(conf).start()
    d.enrol(ALICE)
    d.enrol(BOB)
    return d


def login(d, user, key, service="pwltest", rhost="192.0.2.7"):
    """A key login; returns the token the module exported."""
    r = pam(session_service(d, service), user, [key], service=service,
            rhost=rhost)
    eq(r.results.get("auth"), "PAM_SUCCESS", "key login " + repr(r))
    tok = r.env.get("PWLESS_TOKEN")
    check(tok is not None and tok.startswith("pwt_") and len(tok) == 53,
          "no token exported: " + repr(r))
    return tok


def use(d, user, tok, service="sudo", rhost=None):
    """The result of tok at a methods=token service."""
    svc = d.pam_service(service, "methods=token")
    return pam(svc, user, [tok], service=service, rhost=rhost).results.get(
        "auth")


def test_key_login_exports_token():
    """a key login puts a pwt_ token in the PAM environment, and it
    shows in the owner's token list"""
    d = setup()
    try:
        tok = login(d, ALICE, d.new_key(ALICE))
        out = d.cli_ok("token", "list", user=ALICE).stdout
        for want in (key_id(tok), "session", "pwltest,sudo",
                     "pwltest from 192.0.2.7"):
            check(want in out, "%r not in %r" % (want, out))
        check(tok not in d.logtext(), "token written to the log")
    finally:
        d.cleanup()


def test_no_token_option():
    """no_token: the login succeeds and exports nothing"""
    d = setup()
    try:
        svc = d.pam_service("pwl-nt", "no_token")
        r = pam(svc, ALICE, [d.new_key(ALICE)], service="pwl-nt")
        eq(r.results.get("auth"), "PAM_SUCCESS", repr(r))
        eq(r.env.get("PWLESS_TOKEN"), None, "token exported")
    finally:
        d.cleanup()


def test_token_accepted_for_sudo():
    """a methods=token service accepts the login's token and nothing
    else"""
    d = setup()
    try:
        key = d.new_key(ALICE)
        tok = login(d, ALICE, key)
        eq(use(d, ALICE, tok), "PAM_SUCCESS", "token at sudo")
        eq(use(d, ALICE, key), "PAM_AUTH_ERR", "key at a token-only sudo")
        forged = compose_key("t", key_id(tok), "A" * 32)
        eq(use(d, ALICE, forged), "PAM_AUTH_ERR", "forged secret")
    finally:
        d.cleanup()


def test_token_of_a_fails_for_b():
    """alice's token does not authenticate bob"""
    d = setup()
    try:
        tok = login(d, ALICE, d.new_key(ALICE))
        eq(use(d, BOB, tok), "PAM_AUTH_ERR", "alice's token for bob")
        eq(use(d, ALICE, tok), "PAM_SUCCESS", "alice's token for alice")
        check("reason=other_user" in d.logtext(), "refusal not logged")
    finally:
        d.cleanup()


def test_revoked_token_fails():
    """a token revoked by its owner fails at once"""
    d = setup()
    try:
        tok = login(d, ALICE, d.new_key(ALICE))
        r = d.cli("token", "revoke", key_id(tok), user=BOB)
        eq(r.returncode, 1, "bob revoking alice's token")
        eq(use(d, ALICE, tok), "PAM_SUCCESS", "after bob's attempt")
        d.cli_ok("token", "revoke", key_id(tok), user=ALICE)
        eq(use(d, ALICE, tok), "PAM_AUTH_ERR", "after revoke")
    finally:
        d.cleanup()


def test_session_close_revokes():
    """close_session revokes the token of that login"""
    d = setup()
    try:
        svc = session_service(d)
        r = pam(svc, ALICE, [d.new_key(ALICE)], ops="auth,open,close")
        eq(r.results.get("close"), "PAM_SUCCESS", repr(r))
        tok = r.env.get("PWLESS_TOKEN")
        check(tok, "no token: " + repr(r))
        eq(use(d, ALICE, tok), "PAM_AUTH_ERR", "after close_session")
        check("by=session_close" in d.logtext(), "revocation not logged")
    finally:
        d.cleanup()


def test_service_not_in_set_fails():
    """a token works only for the services in its set"""
    d = setup("[tokens]\nservices = sudo, pwl-web\n")
    try:
        tok = login(d, ALICE, d.new_key(ALICE), service="pwl-ssh")
        eq(use(d, ALICE, tok, "pwl-other"), "PAM_AUTH_ERR", "pwl-other")
        for svc in ("sudo", "pwl-web", "pwl-ssh"):
            eq(use(d, ALICE, tok, svc), "PAM_SUCCESS", svc)
        check("reason=service_scope" in d.logtext(), "refusal not logged")
    finally:
        d.cleanup()


def test_token_keeps_key_scope():
    """a key scoped to one service yields a token for that service only"""
    d = setup()
    try:
        key = d.new_key(ALICE, "--services", "pwl-ssh")
        tok = login(d, ALICE, key, service="pwl-ssh")
        eq(use(d, ALICE, tok, "sudo"), "PAM_AUTH_ERR", "sudo")
        eq(use(d, ALICE, tok, "pwl-ssh"), "PAM_SUCCESS", "pwl-ssh")
    finally:
        d.cleanup()


def test_rhost_binding():
    """a token from one remote host fails from another; local callers
    (no rhost) may use it"""
    d = setup()
    try:
        tok = login(d, ALICE, d.new_key(ALICE), rhost="192.0.2.7")
        eq(use(d, ALICE, tok, "pwltest", rhost="198.51.100.9"),
           "PAM_AUTH_ERR", "other rhost")
        eq(use(d, ALICE, tok, "pwltest", rhost="192.0.2.7"),
           "PAM_SUCCESS", "same rhost")
        eq(use(d, ALICE, tok, "sudo"), "PAM_SUCCESS", "local")
    finally:
        d.cleanup()


def test_key_revocation_ends_its_tokens():
    """revoking a key ends the tokens made with it"""
    d = setup()
    try:
        key = d.new_key(ALICE)
        tok = login(d, ALICE, key)
        d.cli_ok("key", "revoke", key_id(key), user=ALICE)
        eq(use(d, ALICE, tok), "PAM_AUTH_ERR", "after key revoke")
        check("reason=key_revoked" in d.logtext(), "reason not logged")
    finally:
        d.cleanup()


def test_disabled_user_token_fails():
    """a disabled user's token fails until the user is enabled"""
    d = setup()
    try:
        tok = login(d, ALICE, d.new_key(ALICE))
        d.cli_ok("admin", "user", "disable", ALICE)
        eq(use(d, ALICE, tok), "PAM_AUTH_ERR", "disabled")
        d.cli_ok("admin", "user", "enable", ALICE)
        eq(use(d, ALICE, tok), "PAM_SUCCESS", "enabled again")
    finally:
        d.cleanup()


def test_lifetime_and_sweep():
    """a token fails after its lifetime, and its row is then deleted"""
    d = setup("[tokens]\nlifetime = 10s\n")
    try:
        tok = login(d, ALICE, d.new_key(ALICE))
        eq(use(d, ALICE, tok), "PAM_SUCCESS", "fresh")
        time.sleep(10.5)
        eq(use(d, ALICE, tok), "PAM_AUTH_ERR", "after its lifetime")
        end = time.monotonic() + 10
        while time.monotonic() < end:
            db = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
            n = db.execute("SELECT count(*) FROM tokens").fetchone()[0]
            db.close()
            if n == 0:
                break
            time.sleep(0.2)
        eq(n, 0, "expired rows left in the database")
        check("event=token_sweep count=1" in d.logtext(), "no sweep logged")
    finally:
        d.cleanup()


def test_token_limit():
    """past [tokens] max_per_user a login still works but gets no
    token"""
    d = setup("[tokens]\nmax_per_user = 2\n")
    try:
        key = d.new_key(ALICE)
        login(d, ALICE, key)
        login(d, ALICE, key)
        r = pam(session_service(d), ALICE, [key])
        eq(r.results.get("auth"), "PAM_SUCCESS", "third login")
        eq(r.env.get("PWLESS_TOKEN"), None, "third token")
        check("reason=too_many_tokens" in d.logtext(), "not logged")
    finally:
        d.cleanup()


def test_unknown_user_with_token():
    """a token for a user pwless does not know: same refusal, and
    ignore_unknown_user applies"""
    d = setup()
    try:
        tok = login(d, ALICE, d.new_key(ALICE))
        eq(use(d, "pwlt-nobody-here", tok), "PAM_AUTH_ERR", "unknown user")
        svc = d.pam_service("pwl-ign", "methods=token ignore_unknown_user",
                            "auth required pam_permit.so\n")
        eq(pam(svc, "pwlt-nobody-here", [tok], service="pwl-ign").results
           .get("auth"), "PAM_SUCCESS", "ignored, pam_permit decides")
    finally:
        d.cleanup()


if __name__ == "__main__":
    run_tests([
        test_key_login_exports_token,
        test_no_token_option,
        test_token_accepted_for_sudo,
        test_token_of_a_fails_for_b,
        test_revoked_token_fails,
        test_session_close_revokes,
        test_service_not_in_set_fails,
        test_token_keeps_key_scope,
        test_rhost_binding,
        test_key_revocation_ends_its_tokens,
        test_disabled_user_token_fails,
        test_lifetime_and_sweep,
        test_token_limit,
        test_unknown_user_with_token,
    ])
