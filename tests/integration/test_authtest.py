"""pwless auth-test: a real PAM conversation (libpam_misc) through a
service's stacks, on a private PAM directory (--pam-dir), answered on
standard input as a person at the terminal would."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import PWLESS, Daemon, check, eq, need_root, run_tests

ALICE = "pwlt-alice"


def auth_test(d, confdir, user, answer, *extra):
    return subprocess.run([PWLESS, "auth-test", user, "--service", "pwltest",
                           "--pam-dir", confdir] + list(extra),
                          input=answer, capture_output=True, text=True,
                          timeout=60)


def test_key_logs_in():
    """the right key at the prompt: auth and account succeed, exit 0,
    and the key is not echoed"""
    need_root()
    with Daemon() as d:
        d.enrol(ALICE)
        key = d.new_key(ALICE)
        confdir = d.pam_service("pwltest", "methods=key")
        r = auth_test(d, confdir, ALICE, key + "\n")
        eq(r.returncode, 0, "exit status: " + r.stdout + r.stderr)
        check("auth: success" in r.stdout, r.stdout)
        check("account: success" in r.stdout, r.stdout)
        check("pwless key: " in r.stderr + r.stdout, "no prompt shown: " +
              r.stderr)
        check(key not in r.stdout + r.stderr, "the key was echoed")


def test_wrong_key_refused():
    """a wrong key: auth refused with PAM's reason, exit 1"""
    need_root()
    with Daemon() as d:
        d.enrol(ALICE)
        key = d.new_key(ALICE)
        confdir = d.pam_service("pwltest", "methods=key")
        d.cli_ok("key", "revoke", key.split("_")[1], user=ALICE)
        r = auth_test(d, confdir, ALICE, key + "\n")
        eq(r.returncode, 1, "exit status: " + r.stdout)
        check("auth: refused (Authentication failure)" in r.stdout, r.stdout)
        check("account:" not in r.stdout, "account run after a failure")


def test_eof_at_prompt_fails_closed():
    """end of input at the prompt (Ctrl-D) is a refusal, never a login"""
    need_root()
    with Daemon() as d:
        d.enrol(ALICE)
        confdir = d.pam_service("pwltest", "methods=key")
        r = auth_test(d, confdir, ALICE, "")
        eq(r.returncode, 1, "exit status: " + r.stdout)
        check("auth: refused" in r.stdout, r.stdout)


def test_other_stack_tried():
    """the service named by --service is the one run"""
    need_root()
    with Daemon() as d:
        confdir = d.pam_service("pwltest", "methods=key")
        with open(os.path.join(confdir, "permitall"), "w") as f:
            f.write("auth required pam_permit.so\n"
                    "account required pam_permit.so\n")
        r = subprocess.run([PWLESS, "auth-test", "root", "--service",
                            "permitall", "--pam-dir", confdir],
                           input="", capture_output=True, text=True,
                           timeout=60)
        eq(r.returncode, 0, r.stdout + r.stderr)
        check("auth: success" in r.stdout, r.stdout)


def test_usage():
    """no user: a usage error, exit 2"""
    r = subprocess.run([PWLESS, "auth-test"], capture_output=True, text=True,
                       timeout=30)
    eq(r.returncode, 2, r.stderr)
    check("usage: pwless auth-test USER" in r.stderr, r.stderr)


if __name__ == "__main__":
    run_tests([
        test_key_logs_in,
        test_wrong_key_refused,
        test_eof_at_prompt_fails_closed,
        test_other_stack_tried,
        test_usage,
    ])
