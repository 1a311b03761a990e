"""The pwless command line against a real pwlessd: self-service keys for
ordinary users, admin commands, output shapes and exit codes."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import (Daemon, PWLESS, check, eq, fake_accounts, key_id,
                     need_root, pam, run_tests)
import subprocess

ALICE = "pwlt-alice"
BOB = "pwlt-bob"


def two_users():
    need_root()
    d = Daemon().start()
    d.enrol(ALICE)
    d.enrol(BOB)
    return d


def test_key_create_output_shape():
    """key create prints the key alone on stdout's first line"""
    d = two_users()
    try:
        r = d.cli_ok("key", "create", "--label", "laptop", user=ALICE)
        lines = r.stdout.splitlines()
        eq(len(lines), 1, "stdout lines")
        check(lines[0].startswith("pwl_") and len(lines[0]) == 53,
              "key shape: " + lines[0])
        check(key_id(lines[0]) in r.stderr, "details lack the id")
    finally:
        d.cleanup()


def test_users_see_only_their_keys():
    """a non-root caller lists, rotates and revokes only its own keys"""
    d = two_users()
    try:
        a = d.new_key(ALICE, "--label", "alice-key")
        b = d.new_key(BOB, "--label", "bob-key")
        la = json.loads(d.cli_ok("key", "list", "--json",
                                 user=ALICE).stdout)
        eq([k["key_id"] for k in la], [key_id(a)], "alice's list")
        eq(la[0]["label"], "alice-key", "label")
        eq(la[0]["state"], "active", "state")
        r = d.cli("key", "revoke", key_id(b), user=ALICE)
        eq(r.returncode, 1, "revoking bob's key")
        r = d.cli("key", "rotate", key_id(b), user=ALICE)
        eq(r.returncode, 1, "rotating bob's key")
        svc = d.pam_service()
        eq(pam(svc, BOB, [b]).results.get("auth"), "PAM_SUCCESS",
           "bob's key untouched")
        d.cli_ok("key", "revoke", key_id(a), user=ALICE)
        la = json.loads(d.cli_ok("key", "list", "--json",
                                 user=ALICE).stdout)
        eq(la[0]["state"], "revoked", "after revoke")
    finally:
        d.cleanup()


def test_key_table():
    """key list prints a readable table"""
    d = two_users()
    try:
        a = d.new_key(ALICE, "--label", "ci-runner", "--services", "sshd")
        out = d.cli_ok("key", "list", user=ALICE).stdout
        for want in (key_id(a), "ci-runner", "active", "sshd", "never"):
            check(want in out, "%r not in %r" % (want, out))
    finally:
        d.cleanup()


def test_max_lifetime_refused():
    """a key asked to outlive max_lifetime is refused, exit 1"""
    d = two_users()
    try:
        r = d.cli("key", "create", "--expires", "9999d", user=ALICE)
        eq(r.returncode, 1, "exit status " + r.stderr)
        check("at most" in r.stderr, r.stderr)
    finally:
        d.cleanup()


def test_not_enrolled_user_told_what_to_do():
    """a user who is not enrolled is told to ask an admin"""
    need_root()
    with Daemon() as d:
        from pwltest import ensure_user
        ensure_user("pwlt-carol")
        r = d.cli("key", "create", user="pwlt-carol")
        eq(r.returncode, 1, "exit status")
        check("pwless admin user add pwlt-carol" in r.stderr, r.stderr)


def test_admin_refused_for_users():
    """admin commands need root"""
    d = two_users()
    try:
        r = d.cli("admin", "user", "list", user=ALICE)
        eq(r.returncode, 1, "exit status")
        check("root" in r.stderr, r.stderr)
        r = d.cli("admin", "user", "disable", BOB, user=ALICE)
        eq(r.returncode, 1, "disable by a user")
    finally:
        d.cleanup()


def test_admin_user_lifecycle():
    """admin enrols, lists, shows, disables, enables and removes users"""
    d = two_users()
    try:
        users = json.loads(d.cli_ok("admin", "user", "list",
                                    "--json").stdout)
        eq(sorted(u["user"] for u in users), [ALICE, BOB], "list")
        r = d.cli("admin", "user", "add", ALICE)
        eq(r.returncode, 1, "double enrol")
        r = d.cli("admin", "user", "add", "pwlt-no-such-account")
        eq(r.returncode, 1, "unknown system account")
        d.new_key(BOB)
        show = json.loads(d.cli_ok("admin", "user", "show", BOB,
                                   "--json").stdout)
        eq(show["keys"], 1, "key count")
        eq(show["disabled"], False, "disabled")
        d.cli_ok("admin", "user", "disable", BOB)
        show = json.loads(d.cli_ok("admin", "user", "show", BOB,
                                   "--json").stdout)
        eq(show["disabled"], True, "after disable")
        d.cli_ok("admin", "user", "remove", BOB)
        r = d.cli("admin", "user", "show", BOB)
        eq(r.returncode, 1, "show after remove")
    finally:
        d.cleanup()


def test_admin_key_list_and_revoke_all():
    """admin lists a user's keys and revokes them all at once"""
    d = two_users()
    try:
        k1 = d.new_key(ALICE)
        k2 = d.new_key(ALICE)
        keys = json.loads(d.cli_ok("admin", "key", "list", ALICE,
                                   "--json").stdout)
        eq(sorted(k["key_id"] for k in keys),
           sorted([key_id(k1), key_id(k2)]), "admin key list")
        r = d.cli_ok("admin", "key", "revoke-all", ALICE)
        check("2" in r.stdout + r.stderr, "count not shown: " + r.stdout)
        svc = d.pam_service()
        for k in (k1, k2):
            eq(pam(svc, ALICE, [k]).results.get("auth"), "PAM_AUTH_ERR",
               "after revoke-all")
    finally:
        d.cleanup()


def test_admin_user_list_pages():
    """an admin lists 250 users: every one, once, in order (paged)"""
    need_root()
    names = ["pwlt-u%03d" % i for i in range(250)]
    d = Daemon()
    try:
        d.env = fake_accounts(d.dir, names)
        d.start()
        for n in names:
            d.cli_ok("admin", "user", "add", n)
        users = json.loads(d.cli_ok("admin", "user", "list",
                                    "--json").stdout)
        eq([u["user"] for u in users], names, "json list")
        table = d.cli_ok("admin", "user", "list").stdout.splitlines()
        eq(len(table), 251, "table rows plus one header")
        eq(sum(1 for l in table if l.startswith("USER")), 1, "headers")
    finally:
        d.cleanup()


def test_exit_codes():
    """usage errors exit 2, an unreachable daemon exits 3 and says how
    to start it"""
    r = subprocess.run([PWLESS, "key", "frobnicate"], capture_output=True,
                       text=True)
    eq(r.returncode, 2, "unknown subcommand")
    r = subprocess.run([PWLESS, "--socket", "/nonexistent/sock", "key",
                        "list"], capture_output=True, text=True)
    eq(r.returncode, 3, "daemon unreachable")
    check("/nonexistent/sock" in r.stderr and "pwlessd" in r.stderr,
          r.stderr)
    env = dict(os.environ, PWLESS_SOCKET="/nonexistent/other")
    r = subprocess.run([PWLESS, "key", "list"], capture_output=True,
                       text=True, env=env)
    eq(r.returncode, 3, "PWLESS_SOCKET")
    check("/nonexistent/other" in r.stderr, r.stderr)


def test_bad_input_refused_locally():
    """malformed ids, durations and contacts are refused with exit 1"""
    d = two_users()
    try:
        for args in (("key", "revoke", "not-an-id"),
                     ("key", "create", "--expires", "5 weeks")):
            r = d.cli(*args, user=ALICE)
            check(r.returncode in (1, 2), "%r: %d" % (args, r.returncode))
        r = d.cli("admin", "user", "set-email", ALICE,
                  "a@b.c\r\nBcc: x@y.z")
        check(r.returncode in (1, 2), "header injection accepted")
    finally:
        d.cleanup()


if __name__ == "__main__":
    run_tests([
        test_key_create_output_shape,
        test_users_see_only_their_keys,
        test_key_table,
        test_max_lifetime_refused,
        test_not_enrolled_user_told_what_to_do,
        test_admin_refused_for_users,
        test_admin_user_lifecycle,
        test_admin_key_list_and_revoke_all,
        test_admin_user_list_pages,
        test_exit_codes,
        test_bad_input_refused_locally,
    ])
