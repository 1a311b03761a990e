"""The scripted API workflow against a real pwlessd: 'pwless login'
exchanges a key for a token, 'pwless token verify' and libpwless (a small
C program linking it) check it, pwless-askpass hands it to sudo -A, and
only privileged callers may check other users' tokens."""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import (BUILD, Daemon, as_user, check, compose_key, eq, frame,
                     key_id, need_root, run_tests, T_KEY, T_USER)
from tokentest import (ASKPASS, MSG_TOKEN_ISSUE, MSG_TOKEN_VERIFY, T_TOKEN,
                       body, ensure_group, tokencheck, wire_as)

ALICE = "pwlt-alice"
BOB = "pwlt-bob"
CAROL = "pwlt-carol"
VERIFIERS = "pwlt-verifiers"


def setup(conf=""):
    need_root()
    d = Daemon(conf).start()
    d.enrol(ALICE)
    d.enrol(BOB)
    return d


def login(d, user, key, *args):
    r = d.cli("login", *args, user=user, stdin=key + "\n")
    eq(r.returncode, 0, "pwless login: " + r.stderr)
    lines = r.stdout.splitlines()
    eq(len(lines), 1, "stdout holds the token alone")
    check(lines[0].startswith("pwt_") and len(lines[0]) == 53,
          "token shape: " + lines[0])
    return lines[0]


def test_login_verify_roundtrip():
    """pwless login prints a token; pwless token verify prints its user
    and expiry"""
    d = setup()
    try:
        tok = login(d, ALICE, d.new_key(ALICE), "--ttl", "5m")
        r = d.cli("token", "verify", user=ALICE, stdin=tok + "\n")
        eq(r.returncode, 0, r.stderr)
        check(ALICE in r.stdout and "expires:" in r.stdout, r.stdout)
        j = json.loads(d.cli_ok("token", "verify", "--json", user=ALICE,
                                stdin=tok).stdout)
        eq((j["user"], j["kind"], j["token_id"]), (ALICE, "api",
                                                    key_id(tok)), "json")
        rest = j["expires"] - int(time.time())
        check(0 < rest <= 300, "expiry %d s away, asked for 5m" % rest)
        lst = json.loads(d.cli_ok("token", "list", "--json",
                                  user=ALICE).stdout)
        eq([t["token_id"] for t in lst], [key_id(tok)], "token list")
    finally:
        d.cleanup()


def test_login_refusals():
    """pwless login refuses another user's key, a mistyped key, a token,
    an over-long --ttl and a wider scope, each with exit 1"""
    d = setup("[tokens]\nmax_lifetime = 1h\n")
    try:
        akey = d.new_key(ALICE, "--services", "pwl-api")
        bkey = d.new_key(BOB)
        cases = [(BOB, akey, (), "not a valid"),
                 (ALICE, akey[:-1] + ("x" if akey[-1] != "x" else "y"), (),
                  "mistyped"),
                 (ALICE, "", (), "empty"),
                 (ALICE, akey, ("--ttl", "2h"), "at most 1h"),
                 (ALICE, akey, ("--services", "sudo"), "only for pwl-api"),
                 (ALICE, bkey, (), "not a valid")]
        for user, key, args, want in cases:
            r = d.cli("login", *args, user=user, stdin=key + "\n")
            eq(r.returncode, 1, "%s %r exit: %s" % (user, args, r.stderr))
            eq(r.stdout, "", "stdout on refusal")
            check(want in r.stderr, "%r not in %r" % (want, r.stderr))
        tok = login(d, ALICE, akey, "--services", "pwl-api")
        r = d.cli("login", user=ALICE, stdin=tok)
        eq(r.returncode, 1, "a token given to login")
    finally:
        d.cleanup()


def test_verify_service_and_revoke():
    """token verify --service enforces the token's set; a revoked token
    fails"""
    d = setup()
    try:
        tok = login(d, ALICE, d.new_key(ALICE), "--services", "pwl-api")
        ok = d.cli("token", "verify", "--service", "pwl-api", user=ALICE,
                   stdin=tok)
        eq(ok.returncode, 0, ok.stderr)
        no = d.cli("token", "verify", "--service", "sudo", user=ALICE,
                   stdin=tok)
        eq(no.returncode, 1, "service outside the set")
        d.cli_ok("token", "revoke", key_id(tok), user=ALICE)
        r = d.cli("token", "verify", user=ALICE, stdin=tok)
        eq(r.returncode, 1, "revoked")
        check("not valid" in r.stderr, r.stderr)
    finally:
        d.cleanup()


def test_libpwless_program_verifies():
    """a C program linking libpwless checks tokens like a local service"""
    d = setup()
    try:
        tok = login(d, ALICE, d.new_key(ALICE), "--services", "pwl-api")
        rc, out = tokencheck(d.sock, tok, "pwl-api")
        eq(rc, 0, out)
        check(out.startswith("OK %s " % ALICE), out)
        eq(tokencheck(d.sock, tok)[0], 0, "no service named")
        rc, out = tokencheck(d.sock, tok, "pwl-other")
        eq((rc, out.split()[:2]), (1, ["REFUSED", "1"]), "other service")
        forged = compose_key("t", key_id(tok), "B" * 32)
        eq(tokencheck(d.sock, forged)[0], 1, "forged")
        rc, out = tokencheck(d.sock, "pwt_garbage")
        eq(rc, 1, "malformed: " + out)
        check('user="" expires=0' in out, "outputs not cleared: " + out)
        d.cli_ok("token", "revoke", key_id(tok), user=ALICE)
        eq(tokencheck(d.sock, tok)[0], 1, "revoked")
        rc, out = tokencheck("/nonexistent/pwless.sock", tok)
        eq(rc, 2, "no daemon: " + out)
    finally:
        d.cleanup()


def test_unprivileged_cannot_verify_others():
    """a plain user cannot check another user's token unless in
    verify_group"""
    d = setup("[tokens]\nverify_group = %s\n" % VERIFIERS)
    try:
        ensure_group(VERIFIERS, [CAROL])
        tok = login(d, ALICE, d.new_key(ALICE))
        eq(tokencheck(d.sock, tok, user=BOB)[0], 1, "bob, libpwless")
        r = d.cli("token", "verify", user=BOB, stdin=tok)
        eq(r.returncode, 1, "bob, pwless token verify")
        req = frame(MSG_TOKEN_VERIFY, body((T_USER, ALICE), (T_TOKEN, tok)))
        eq(wire_as(BOB, d.sock, req), "NOT_PERMITTED", "bob naming alice")
        rc, out = tokencheck(d.sock, tok, user=CAROL)
        eq(rc, 0, "carol in verify_group: " + out)
        check(out.startswith("OK %s " % ALICE), out)
        eq(wire_as(CAROL, d.sock, req), "OK", "carol naming alice")
        eq(tokencheck(d.sock, tok, user=ALICE)[0], 0, "alice herself")
        eq(tokencheck(d.sock, tok)[0], 0, "root")
    finally:
        d.cleanup()


def test_issue_needs_own_key():
    """TOKEN_ISSUE takes only the caller's own key, even from root"""
    d = setup()
    try:
        key = d.new_key(ALICE)
        req = frame(MSG_TOKEN_ISSUE, body((T_KEY, key)))
        eq(wire_as(BOB, d.sock, req), "DENIED", "bob with alice's key")
        d.cli_ok("admin", "user", "add", "root")
        w = d.wire()
        w.send(req)
        eq(w.recv_reply()[2], "DENIED", "root with alice's key")
        eq(wire_as(ALICE, d.sock, req), "OK", "alice with her key")
    finally:
        d.cleanup()


def test_askpass():
    """pwless-askpass prints $PWLESS_TOKEN, or fails and says why"""
    env = {"PATH": "/usr/bin:/bin", "PWLESS_TOKEN": "pwt_x"}
    r = subprocess.run([ASKPASS, "[sudo] password for x: "], env=env,
                       capture_output=True, text=True)
    eq((r.returncode, r.stdout, r.stderr), (0, "pwt_x\n", ""), "set")
    del env["PWLESS_TOKEN"]
    r = subprocess.run([ASKPASS], env=env, capture_output=True, text=True)
    eq((r.returncode, r.stdout), (1, ""), "unset")
    check("PWLESS_TOKEN" in r.stderr, r.stderr)


def test_libpwless_exports():
    """libpwless exports only the calls of pwless/client.h"""
    lib = os.path.join(BUILD, "lib", ".libs", "libpwless.so")
    out = subprocess.run(["nm", "-D", "--defined-only", lib],
                         capture_output=True, text=True, check=True).stdout
    syms = sorted(l.split()[-1].split("@")[0] for l in out.splitlines()
                  if " T " in l)
    eq(syms, ["pwl_token_strerror", "pwl_token_verify"], "exports")


def san_flags():
    """The sanitizer flags of this build, which a program linking the
    installed library needs too."""
    try:
        with open(os.path.join(BUILD, "Makefile")) as f:
            for line in f:
                if line.startswith("SAN_CFLAGS = "):
                    return line.split("=", 1)[1].split()
    except OSError:
        pass
    return []


def test_installed_pkg_config():
    """after make install, a program builds against libpwless with
    pkg-config and checks a token"""
    need_root()
    dest = tempfile.mkdtemp(prefix="pwlt-inst-")
    d = setup()
    try:
        r = subprocess.run(["make", "-s", "install", "DESTDIR=" + dest],
                           cwd=BUILD, capture_output=True, text=True,
                           timeout=300)
        eq(r.returncode, 0, "make install: " + r.stderr[-2000:])
        pcs = [os.path.join(root, f) for root, _, fs in os.walk(dest)
               for f in fs if f == "libpwless.pc"]
        eq(len(pcs), 1, "installed libpwless.pc")
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]),
                   PKG_CONFIG_SYSROOT_DIR=dest)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs",
                                "libpwless"], env=env, capture_output=True,
                               text=True, check=True).stdout.split()
        prog = os.path.join(dest, "tokencheck")
        src = os.path.join(os.environ.get("PWL_SRCDIR", "."), "tests",
                           "helpers", "tokencheck.c")
        r = subprocess.run(["cc"] + san_flags() + ["-o", prog, src] + flags,
                           capture_output=True, text=True)
        eq(r.returncode, 0, "cc: " + r.stderr)
        libdir = [f[2:] for f in flags if f.startswith("-L")][0]
        tok = login(d, ALICE, d.new_key(ALICE))
        r = subprocess.run([prog, d.sock], input=tok + "\n", text=True,
                           capture_output=True,
                           env=dict(os.environ, LD_LIBRARY_PATH=libdir))
        eq(r.returncode, 0, r.stdout + r.stderr)
        check(r.stdout.startswith("OK " + ALICE), r.stdout)
    finally:
        d.cleanup()
        subprocess.run(["rm", "-rf", dest])


if __name__ == "__main__":
    run_tests([
        test_login_verify_roundtrip,
        test_login_refusals,
        test_verify_service_and_revoke,
        test_libpwless_program_verifies,
        test_unprivileged_cannot_verify_others,
        test_issue_needs_own_key,
        test_askpass,
        test_libpwless_exports,
        test_installed_pkg_config,
    ])
