"""pwless doctor finds each planted mistake and prints its fix: the daemon
down, a world-readable master key, pam_pwless after a sufficient pam_unix,
sshd with UsePAM no, methods=code with no transport, and stacks that let a
user in when pam_pwless fails.  Mistakes are planted in temporary files
(--config, --pam-dir, --sshd-config); /etc is never touched."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from opstest import doctor_known_options, module_options, sshd_ready
from pwltest import (MODULE, PWLESS, PWLESSD, Daemon, Skip, check, eq,
                     need_root, run_tests)

SSHD = "/usr/sbin/sshd"


class Setup:
    """A running daemon, its config, a pam.d directory and an sshd_config,
    all good until a test plants a mistake."""

    def __init__(self, conf_extra=""):
        if os.geteuid() != 0:
            raise Skip("needs root: pwless doctor is a root tool and "
                       "expects the daemon's files owned by root")
        self.d = Daemon(conf_extra)
        self.pam = os.path.join(self.d.dir, "pam.d")
        os.makedirs(self.pam)
        self.sshd_config = None

    def pam_file(self, name, text):
        with open(os.path.join(self.pam, name), "w") as f:
            f.write(text.replace("MODULE", MODULE)
                    .replace("SOCK", "socket=" + self.d.sock))

    def good_pam(self):
        self.pam_file("sshd", "auth sufficient MODULE SOCK methods=key\n"
                      "auth requisite pam_deny.so\n"
                      "auth required pam_permit.so\n"
                      "account required MODULE SOCK\n")

    def sshd(self, text):
        if not os.access(SSHD, os.X_OK):
            raise Skip("openssh-server is not installed")
        need_root()  # sshd -T needs /run/sshd
        key = sshd_ready(self.d.dir)
        self.sshd_config = os.path.join(self.d.dir, "sshd_config")
        with open(self.sshd_config, "w") as f:
            f.write("HostKey %s\n%s" % (key, text))

    def doctor(self, *extra):
        cmd = [PWLESS, "doctor", "--config", self.d.conf, "--pam-dir",
               self.pam, "--pwlessd", PWLESSD]
        if self.sshd_config:
            cmd += ["--sshd-config", self.sshd_config]
        r = subprocess.run(cmd + list(extra), capture_output=True, text=True,
                           timeout=120, env=dict(os.environ,
                                                 PWLESS_SOCKET=""))
        return r

    def __enter__(self):
        self.d.start()
        return self

    def __exit__(self, *exc):
        self.d.cleanup()


def fails_with(r, *words):
    """Doctor exited 1 and one FAIL finding holds all words, with a fix."""
    eq(r.returncode, 1, "exit status; output:\n" + r.stdout + r.stderr)
    lines = r.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("FAIL") and all(w in line for w in words[:1]):
            block = line + "\n" + (lines[i + 1] if i + 1 < len(lines)
                                   else "")
            if all(w in block for w in words):
                check(lines[i + 1].strip().startswith("fix:"),
                      "no fix after " + line)
                return block
    raise AssertionError("no FAIL with %r in:\n%s" % (words, r.stdout))


def test_good_setup_passes():
    """a sound set-up: exit 0, no FAIL, the daemon and key are ok"""
    with Setup() as s:
        s.good_pam()
        if os.access(SSHD, os.X_OK) and os.geteuid() == 0:
            s.sshd("UsePAM yes\nKbdInteractiveAuthentication yes\n")
        r = s.doctor()
        eq(r.returncode, 0, "exit status:\n" + r.stdout + r.stderr)
        check("FAIL" not in r.stdout, r.stdout)
        check("ok     daemon: pwlessd" in r.stdout, r.stdout)
        check("0 failures" in r.stdout, r.stdout)


def test_daemon_down():
    """the daemon down: a FAIL naming the socket, and how to start it"""
    with Setup() as s:
        s.good_pam()
        s.d.stop()
        block = fails_with(s.doctor(), "daemon", s.d.sock)
        check("systemctl enable --now pwlessd.socket" in block, block)


def test_world_readable_master_key():
    """a world-readable master key: FAIL with 'chmod 600 KEY'"""
    with Setup() as s:
        s.good_pam()
        mk = os.path.join(s.d.dir, "master.key")
        os.chmod(mk, 0o644)
        block = fails_with(s.doctor(), mk, "0644")
        check("fix: chmod 600 " + mk in block, block)


def test_readable_database_dir():
    """a database directory others can read: FAIL with 'chmod 700'"""
    with Setup() as s:
        s.good_pam()
        db_dir = os.path.dirname(s.d.db)
        os.chmod(db_dir, 0o755)
        block = fails_with(s.doctor(), db_dir)
        check("chmod 700 " + db_dir in block, block)


def test_readable_audit_journal():
    """the audit journal readable by others: FAIL with 'chmod 600'; as
    pwlessd made it, ok"""
    with Setup() as s:
        s.good_pam()
        journal = s.d.db + "-audit"
        check(os.path.exists(journal), "pwlessd made no " + journal)
        check("-audit: audit journal: mode 0600" in s.doctor().stdout,
              "the journal as pwlessd made it")
        os.chmod(journal, 0o644)
        block = fails_with(s.doctor(), journal, "0644")
        check("fix: chmod 600 " + journal in block, block)


def test_after_sufficient_pam_unix():
    """pam_pwless after a sufficient pam_unix: FAIL, put pwless first"""
    with Setup() as s:
        s.pam_file("sudo", "auth sufficient pam_unix.so nullok\n"
                   "auth required MODULE SOCK methods=key\n")
        block = fails_with(s.doctor(), "sudo:2", "pam_unix.so",
                           "a password alone logs in")
        check("put the pam_pwless line above" in block, block)


def test_after_sufficient_in_include():
    """a sufficient pam_unix reached through @include counts too"""
    with Setup() as s:
        s.pam_file("common-pw", "auth sufficient pam_unix.so\n")
        s.pam_file("login", "@include common-pw\n"
                   "auth required MODULE SOCK methods=key\n")
        fails_with(s.doctor(), "login:2", "common-pw:1")


def test_sshd_usepam_no():
    """sshd with UsePAM no (sshd -T): FAIL with 'UsePAM yes'"""
    with Setup() as s:
        s.good_pam()
        s.sshd("UsePAM no\nKbdInteractiveAuthentication yes\n")
        block = fails_with(s.doctor(), "sshd", "UsePAM no")
        check("UsePAM yes" in block, block)


def test_sshd_no_pam_methods():
    """sshd with neither keyboard-interactive nor passwords: FAIL"""
    with Setup() as s:
        s.good_pam()
        s.sshd("UsePAM yes\nKbdInteractiveAuthentication no\n"
               "PasswordAuthentication no\n")
        block = fails_with(s.doctor(), "sshd", "never runs the PAM")
        check("KbdInteractiveAuthentication yes" in block, block)


def test_code_without_transport():
    """methods=code with no transport: FAIL; configured, it passes"""
    with Setup() as s:
        s.pam_file("sshd", "auth required MODULE SOCK methods=key,code\n")
        block = fails_with(s.doctor(), "sshd:1", "no code can be sent")
        check("[email] transport" in block, block)
        spool = os.path.join(s.d.dir, "spool")
        s.d.write_conf("[email]\ntransport = file\nspool = %s\n" % spool)
        r = s.doctor()
        check("no code can be sent" not in r.stdout, r.stdout)
        eq(r.returncode, 0, r.stdout)


def test_channel_without_its_transport():
    """channel=sms with only an email transport: FAIL"""
    with Setup("[email]\ntransport = file\nspool = /tmp\n") as s:
        s.pam_file("su", "auth required MODULE SOCK methods=code "
                   "channel=sms\n")
        fails_with(s.doctor(), "su:1", "channel=sms")


def test_success_default_ignore_bypass():
    """[success=1 default=ignore] falling through to pam_permit: FAIL
    naming Ctrl-C; the same line followed by pam_deny passes"""
    with Setup() as s:
        s.pam_file("sshd", "auth [success=1 default=ignore] MODULE SOCK "
                   "methods=key\n"
                   "auth required pam_permit.so\n")
        block = fails_with(s.doctor(), "sshd:1", "Ctrl-C")
        check("pam_deny" in block, block)
        s.pam_file("sshd", "auth [success=1 default=ignore] MODULE SOCK "
                   "methods=key\n"
                   "auth requisite pam_deny.so\n"
                   "auth required pam_permit.so\n")
        r = s.doctor()
        eq(r.returncode, 0, r.stdout)


def test_ignore_unavailable_alone():
    """ignore_unavailable with only pam_permit after it: FAIL (pwlessd
    down lets everybody in)"""
    with Setup() as s:
        s.pam_file("sudo", "auth required MODULE SOCK methods=key "
                   "ignore_unavailable\n"
                   "auth optional pam_permit.so\n")
        r = s.doctor()
        fails_with(r, "sudo:1", "pwlessd being down")
        fails_with(r, "sudo:1", "ignore_unavailable")


def test_debian_style_stack_passes():
    """pwless sufficient before Debian's common-auth: no failure"""
    with Setup() as s:
        s.pam_file("common-auth",
                   "auth [success=1 default=ignore] pam_unix.so nullok\n"
                   "auth requisite pam_deny.so\n"
                   "auth required pam_permit.so\n")
        s.pam_file("sshd", "auth sufficient MODULE SOCK methods=key\n"
                   "@include common-auth\n"
                   "account required pam_unix.so\n")
        r = s.doctor()
        eq(r.returncode, 0, r.stdout)
        check("ok     sshd:1: auth sufficient pam_pwless.so" in r.stdout,
              r.stdout)


def test_unknown_module_option():
    """a misspelt module option is reported"""
    with Setup() as s:
        s.pam_file("sshd", "auth required MODULE SOCK method=key\n")
        r = s.doctor()
        check("unknown option 'method=key'" in r.stdout, r.stdout)


def mail_conf(sink_url):
    from codetest import SENDER
    return ("[outbox]\nsender = %s\nretry_min = 1s\nconnect_timeout = 2s\n"
            "timeout = 5s\n[email]\ntransport = smtp\nurl = %s\n"
            "from = pwless@example.org\nstarttls = no\n" % (SENDER, sink_url))


def test_send_test_delivered():
    """--send-test: a test message reaches the real SMTP server and
    doctor says it was delivered"""
    from mailsink import MailSink
    with MailSink() as mail:
        with Setup(mail_conf(mail.url())) as s:
            s.good_pam()
            r = s.doctor("--send-test", "ops@example.org")
            eq(r.returncode, 0, "exit status:\n" + r.stdout + r.stderr)
            check("ok     send-test:" in r.stdout, r.stdout)
            msg = mail.wait(1, rcpt="ops@example.org", timeout=10)
            check("test message" in msg.text, msg.text)
            check(msg.code() is None, "a code in a test message")


def test_send_test_server_down():
    """--send-test with the mail server down: a FAIL with the delivery
    error and what to check"""
    from mailsink import MailSink, free_port
    url = "smtp://127.0.0.1:%d" % free_port()
    with Setup(mail_conf(url)) as s:
        s.good_pam()
        block = fails_with(s.doctor("--send-test", "ops@example.org"),
                           "send-test", "ops@example.org")
        check("[email] url" in block, block)


def test_send_test_without_transport():
    """--send-test with no transport configured: refused, and doctor says
    which setting is missing"""
    with Setup() as s:
        s.good_pam()
        block = fails_with(s.doctor("--send-test", "ops@example.org"),
                           "send-test")
        check("[email] transport" in block, block)


def test_doctor_knows_every_module_option():
    """doctor's list of module options is the one pam_pwless.c parses"""
    flags, values = module_options()
    eq(doctor_known_options(), sorted(flags + values), "option lists")


if __name__ == "__main__":
    run_tests([
        test_good_setup_passes,
        test_daemon_down,
        test_world_readable_master_key,
        test_readable_database_dir,
        test_readable_audit_journal,
        test_after_sufficient_pam_unix,
        test_after_sufficient_in_include,
        test_sshd_usepam_no,
        test_sshd_no_pam_methods,
        test_code_without_transport,
        test_channel_without_its_transport,
        test_success_default_ignore_bypass,
        test_ignore_unavailable_alone,
        test_debian_style_stack_passes,
        test_unknown_module_option,
        test_send_test_delivered,
        test_send_test_server_down,
        test_send_test_without_transport,
        test_doctor_knows_every_module_option,
    ])
