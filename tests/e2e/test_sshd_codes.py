"""End to end, as root: one-time codes through a real sshd and real sudo.
A user with no key presses Enter at the pwless prompt, the code arrives
at a real SMTP server on loopback, and the user types it: over ssh
keyboard-interactive, over ssh password auth (two password prompts: the
word "email", then the code), and to sudo -S inside the session.
Skipped, with the reason, when not root or when sshd, sudo, pexpect or
mount namespaces are missing."""

import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import MODULE, check, eq, run_tests
from codetest import CodeDaemon
from mailsink import MailSink
from sshenv import SshEnv, ensure_login_user, skip_unless_ready

USER = "pwlt-ssh"
ADDR = "pwlt-ssh@example.org"

# sudo for this file: one-time codes only.
PAM_SUDO_CODES = """\
auth     required {module} socket={sock} methods=code
account  required {module} socket={sock}
session  required pam_permit.so
password required pam_deny.so
"""


class Env:
    """A mail sink, pwlessd sending to it, an enrolled user, sshd."""

    def __init__(self, sudo_codes=False):
        skip_unless_ready()
        self.mail = MailSink().start()
        self.d = CodeDaemon(mail=self.mail).start()
        self.ssh = None
        try:
            ensure_login_user(USER)
            self.d.enrol(USER, "--email", ADDR)
            self.key = self.d.new_key(USER)
            self.ssh = SshEnv(self.d, USER)
            if sudo_codes:
                self.ssh._write("pam-sudo", PAM_SUDO_CODES, dict(
                    module=MODULE, sock=self.d.sock), 0o644)
            self.ssh.start()
        except BaseException:
            self.cleanup()
            raise

    def cleanup(self):
        if self.ssh is not None:
            self.ssh.cleanup()
        self.d.cleanup()
        self.mail.stop()

    def next_code(self, n):
        """The code of the n-th message to the user's address."""
        code = self.mail.wait(n, rcpt=ADDR, timeout=30).code()
        check(code is not None, "no code in the message")
        return code

    def logs(self):
        return "\n--- pwlessd\n%s\n--- sshd\n%s" % (
            self.d.logtext()[-3000:], self.ssh.logtext()[-3000:])


def spawn(e, method, command):
    import pexpect
    args = [a if a != "NumberOfPasswordPrompts=1" else
            "NumberOfPasswordPrompts=2" for a in e.ssh.client_args(method)]
    return pexpect.spawn("/usr/bin/ssh", args + [command],
                         env=e.ssh.client_env(), encoding="utf-8",
                         timeout=60)


def finish(child):
    import pexpect
    child.expect(pexpect.EOF)
    out = child.before.replace("\r\n", "\n")
    child.close(force=True)
    return child.exitstatus, out


def test_kbdint_code_login():
    """keyboard-interactive: Enter sends a code by email; typing it logs
    in, and the session holds a token"""
    e = Env()
    try:
        child = spawn(e, "keyboard-interactive",
                      'echo "in token=${PWLESS_TOKEN:+set}"')
        child.expect("pwless key")
        child.sendline("")
        child.expect("One-time code")
        child.sendline(e.next_code(1))
        rc, out = finish(child)
        eq(rc, 0, "ssh exit: " + out + e.logs())
        check("in token=set" in out, "not logged in: " + out + e.logs())
    finally:
        e.cleanup()


def test_password_auth_two_prompts():
    """password auth allows one answer per attempt: 'email' asks for the
    code, the next password prompt takes it"""
    e = Env()
    try:
        child = spawn(e, "password", "echo in")
        child.expect("assword")
        child.sendline("email")
        code = e.next_code(1)
        child.expect("assword")
        child.sendline(code)
        rc, out = finish(child)
        eq(rc, 0, "ssh exit: " + out + e.logs())
        check("\nin" in "\n" + out, "not logged in: " + out + e.logs())
    finally:
        e.cleanup()


def test_wrong_code_over_ssh():
    """a wrong code does not log in over ssh"""
    e = Env()
    try:
        child = spawn(e, "keyboard-interactive", "echo logged-in")
        child.expect("pwless key")
        child.sendline("")
        child.expect("One-time code")
        right = e.next_code(1)
        child.sendline("00000000" if right != "00000000" else "11111111")
        import pexpect
        again = child.expect(["pwless key", pexpect.EOF])
        out = child.before
        child.close(force=True)
        check(again == 0 or child.exitstatus != 0, "wrong code: " + out)
        check("logged-in" not in out, "wrong code logged in: " + out)
    finally:
        e.cleanup()


def test_sudo_S_with_a_code():
    """inside a key session, sudo -S takes a one-time code: an empty
    line asks for it, the next line is the code"""
    e = Env(sudo_codes=True)
    try:
        child = spawn(e, "keyboard-interactive",
                      "sudo -S id -u; echo sudo-rc=$?")
        child.expect("pwless key")
        child.sendline(e.key)
        child.sendline("")
        child.sendline(e.next_code(1))
        rc, out = finish(child)
        check("sudo-rc=0" in out and "\n0\n" in "\n" + out,
              "sudo -S with a code: " + out + e.logs())
    finally:
        e.cleanup()


if __name__ == "__main__":
    run_tests([
        test_kbdint_code_login,
        test_password_auth_two_prompts,
        test_wrong_code_over_ssh,
        test_sudo_S_with_a_code,
    ])
