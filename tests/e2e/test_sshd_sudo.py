"""End to end, as root: a real sshd (OpenSSH, UsePAM) on a loopback port
and real sudo, both running the built pam_pwless.so against a real
pwlessd.  ssh in with an API key, find PWLESS_TOKEN in the session, and
run 'sudo -A' with pwless-askpass against a sudo stack that accepts only
tokens; the token stops working after its lifetime and when the ssh
session ends.  Skipped, with the reason, when not root or when sshd,
sudo, sshpass, python3-pexpect or mount namespaces are missing."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import PWLESS, Daemon, check, eq, key_id, run_tests
from sshenv import SshEnv, ensure_login_user, skip_unless_ready
from tokentest import ASKPASS

USER = "pwlt-ssh"

# What the remote session reports: its token, then sudo -A's verdict.
SUDO = ("SUDO_ASKPASS=%s sudo -A id -u && echo sudo=ok || "
        "echo sudo=failed" % ASKPASS)
REPORT = 'echo "token=${PWLESS_TOKEN:-unset}"; ' + SUDO


class Env:
    """pwlessd, an enrolled login user with a key, and sshd."""

    def __init__(self, conf=""):
        skip_unless_ready()
        self.d = Daemon(conf).start()
        self.ssh = None
        try:
            ensure_login_user(USER)
            self.d.enrol(USER)
            self.key = self.d.new_key(USER)
            self.ssh = SshEnv(self.d, USER).start()
        except BaseException:
            self.cleanup()
            raise

    def cleanup(self):
        if self.ssh is not None:
            self.ssh.cleanup()
        self.d.cleanup()

    def logs(self):
        return "\n--- pwlessd\n%s\n--- sshd\n%s" % (
            self.d.logtext()[-3000:], self.ssh.logtext()[-3000:])

    def token_valid(self, tok):
        r = self.d.cli("token", "verify", stdin=tok)
        return r.returncode == 0

    def wait_revoked(self, tok, timeout=15):
        """sshd closes the PAM session just after the client sees EOF."""
        end = time.monotonic() + timeout
        while self.token_valid(tok) and time.monotonic() < end:
            time.sleep(0.2)
        return not self.token_valid(tok)


def verdicts(out):
    """sudo's verdicts in order; found anywhere on a line, as sudo's own
    messages on the same terminal may land in front of them"""
    return ["sudo=" + v for v in re.findall(r"sudo=(ok|failed)\b", out)]


def remote_token(out):
    m = re.search(r"(?<![A-Za-z_])token=(pwt_\w+|unset)", out)
    check(m is not None, "no token line in: " + out)
    return m.group(1)


def test_ssh_key_login_sets_token_and_sudo_works():
    """ssh with a key (keyboard-interactive): PWLESS_TOKEN is set and
    sudo -A with pwless-askpass succeeds; a key is refused by sudo"""
    e = Env()
    try:
        cmd = REPORT + ("; printf '%%s\\n' '%s' | sudo -S -p '' true && "
                        "echo key=ok || echo key=failed" % e.key)
        rc, out = e.ssh.ssh_kbdint(e.key, cmd)
        eq(rc, 0, "ssh exit: " + out + e.logs())
        tok = remote_token(out)
        check(tok.startswith("pwt_") and len(tok) == 53, "token: " + tok)
        check(re.search(r"^0\nsudo=ok$", out, re.M), "sudo -A: " + out +
              e.logs())
        check("key=failed" in out, "sudo took a key: " + out)
    finally:
        e.cleanup()


def test_token_dies_with_the_ssh_session():
    """after the ssh session closed, its token no longer works for
    sudo -A, while a new session's token does"""
    e = Env()
    try:
        rc, out = e.ssh.ssh_kbdint(e.key, REPORT)
        check("sudo=ok" in out, "first session: " + out + e.logs())
        old = remote_token(out)
        check(e.wait_revoked(old), "token alive after logout" + e.logs())
        check("by=session_close" in e.d.logtext(), "no revocation logged")
        cmd = ('NEW="$PWLESS_TOKEN"; export PWLESS_TOKEN=%s; %s; '
               'export PWLESS_TOKEN="$NEW"; %s' % (old, SUDO, REPORT))
        rc, out = e.ssh.ssh_kbdint(e.key, cmd)
        eq(rc, 0, "second session: " + out)
        lines = verdicts(out)
        eq(lines, ["sudo=failed", "sudo=ok"], "old token, then the new "
           "session's: " + out + e.logs())
        check(remote_token(out) != old, "same token twice")
    finally:
        e.cleanup()


def test_token_dies_after_its_lifetime():
    """inside one ssh session, sudo -A works at first and fails once the
    token's lifetime has passed"""
    e = Env("[tokens]\nlifetime = 12s\n")
    try:
        # The session asks pwlessd when its token ends and waits until
        # two seconds past that, however long the login itself took.
        wait = ('exp=$(printf %%s "$PWLESS_TOKEN" | %s --socket %s token '
                'verify --json | sed -n \'s/.*"expires": *\\([0-9]*\\).*/'
                '\\1/p\'); echo "expires=$exp"; '
                'while [ "$(date +%%s)" -le "$((exp + 1))" ]; do sleep 1; '
                'done; echo "now=$(date +%%s)"' % (PWLESS, e.d.sock))
        cmd = "%s; %s; %s" % (REPORT, wait, SUDO)
        rc, out = e.ssh.ssh_kbdint(e.key, cmd)
        eq(rc, 0, "ssh exit: " + out + e.logs())
        check(re.search(r"expires=[0-9]+", out),
              "token verify in the session: " + out + e.logs())
        lines = verdicts(out)
        eq(lines, ["sudo=ok", "sudo=failed"], "before, after: " + out +
           e.logs())
        check("reason=expired" in e.d.logtext() or
              "reason=unknown_token" in e.d.logtext(), "refusal not logged")
    finally:
        e.cleanup()


def test_ssh_password_auth_with_sshpass():
    """ssh with password auth (sshpass types the key): PWLESS_TOKEN is
    set and sudo -A works"""
    e = Env()
    try:
        rc, out = e.ssh.ssh_password(e.key, REPORT)
        eq(rc, 0, "ssh exit: " + out + e.logs())
        tok = remote_token(out)
        check(tok.startswith("pwt_"), "token: " + tok)
        check("sudo=ok" in out, "sudo -A: " + out + e.logs())
        check(e.wait_revoked(tok), "token alive after logout" + e.logs())
    finally:
        e.cleanup()


def test_wrong_key_refused_by_sshd():
    """a wrong key does not log in over ssh"""
    e = Env()
    try:
        other = e.d.new_key(USER)
        e.d.cli_ok("key", "revoke", key_id(other), user=USER)
        rc, out = e.ssh.ssh_kbdint(other, "echo logged-in")
        check(rc != 0 and "logged-in" not in out, "revoked key: " + out)
    finally:
        e.cleanup()


if __name__ == "__main__":
    run_tests([
        test_ssh_key_login_sets_token_and_sudo_works,
        test_token_dies_with_the_ssh_session,
        test_token_dies_after_its_lifetime,
        test_ssh_password_auth_with_sshpass,
        test_wrong_key_refused_by_sshd,
    ])
