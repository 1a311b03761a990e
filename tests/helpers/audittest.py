"""audittest: what the contact, notice and audit tests share.

AuditEnv is a real pwlessd (codetest.CodeDaemon, notices on) with a real
SMTP server on loopback and the Twilio stand-in, plus helpers: a session
token from a real PAM key login (with an rhost), pwless run as a user with
PWLESS_TOKEN in its environment, the database opened with sqlite3 for the
tests that tamper with it, and the audit trail read as JSON.
"""

import json
import sqlite3
import subprocess
import time

from codetest import CodeDaemon
from mailsink import MailSink
from pwltest import PWLESS, as_user, check, eq, need_root, pam
from smsgw import SmsGateway
from tokentest import session_service

NO_DELAY = ("failures_before_delay = 100\nmax_failures = 100\n"
            "sends_per_hour = 100\nsends_per_destination = 100\n")


class AuditEnv:
    """A mail sink, an SMS gateway and a daemon with notices on."""

    def __init__(self, extra="", limits=NO_DELAY, notify=True):
        need_root()
        self.mail = MailSink().start()
        self.sms = SmsGateway().start()
        self.d = CodeDaemon(self.mail, self.sms, extra=extra,
                            limits=limits, notify=notify).start()
        self.secrets = []

    def close(self):
        log = self.d.logtext()
        self.d.cleanup()
        self.mail.stop()
        self.sms.stop()
        for s in self.secrets:
            check(s and s not in log, "a secret reached the log: %r" % s)

    # --- credentials ---

    def key(self, user, *extra):
        k = self.d.new_key(user, *extra)
        self.secrets.append(k.split("_")[2])
        return k

    def session(self, user, key, rhost="192.0.2.7"):
        """A fresh session token from a real PAM key login from rhost."""
        svc = session_service(self.d, "pwltest")
        r = pam(svc, user, [key], rhost=rhost)
        eq(r.results.get("auth"), "PAM_SUCCESS", "key login " + repr(r))
        tok = r.env.get("PWLESS_TOKEN")
        check(tok is not None and tok.startswith("pwt_"), "no token")
        self.secrets.append(tok.split("_")[2])
        return tok

    # --- pwless as a user ---

    def cli_as(self, user, *args, token=None, stdin=None):
        """pwless as user, with PWLESS_TOKEN set when token is given."""
        env = ["env"] + (["PWLESS_TOKEN=" + token] if token else [])
        cmd = as_user(user) + env + [PWLESS, "--socket", self.d.sock] + \
            list(args)
        return subprocess.run(cmd, input=stdin, capture_output=True,
                              text=True, timeout=30)

    def ok_as(self, user, *args, token=None, stdin=None):
        r = self.cli_as(user, *args, token=token, stdin=stdin)
        if r.returncode != 0:
            raise AssertionError("pwless %s as %s failed (%d): %s%s" %
                                 (" ".join(args), user, r.returncode,
                                  r.stdout, r.stderr))
        return r

    def contacts(self, user):
        return json.loads(self.ok_as(user, "contact", "show",
                                     "--json").stdout)

    # --- mail ---

    def mails(self, rcpt, subject=""):
        """Messages to rcpt so far whose subject contains subject."""
        with self.mail._lock:
            return [m for m in self.mail.messages if rcpt in m.rcpt and
                    subject in (m.header("Subject") or "")]

    def mail_with(self, rcpt, subject, n=1, timeout=20):
        """The n-th message to rcpt whose subject contains subject."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ms = self.mails(rcpt, subject)
            if len(ms) >= n:
                return ms[n - 1]
            time.sleep(0.02)
        raise AssertionError("no mail #%d to %s about %r within %ss; got "
                             "%r" % (n, rcpt, subject, timeout,
                                     [m.header("Subject") for m in
                                      self.mails(rcpt)]))

    def code_to(self, rcpt, subject, n=1):
        """The code in the n-th message to rcpt about subject."""
        m = self.mail_with(rcpt, subject, n)
        code = m.code()
        check(code is not None, "no code in mail #%d to %s: %r" %
              (n, rcpt, m.text))
        self.secrets.append(code)
        return code

    def no_more_mail(self, rcpt, subject, n, wait=2.0):
        """Checks that rcpt got n messages about subject, after a wait."""
        time.sleep(wait)
        eq(len(self.mails(rcpt, subject)), n, "messages to %s about %r" %
           (rcpt, subject))

    # --- database and audit ---

    def sql(self, query, *args):
        """Runs one statement on the live database (as an intruder would)."""
        db = sqlite3.connect(self.d.db, timeout=30)
        try:
            rows = db.execute(query, args).fetchall()
            db.commit()
            return rows
        finally:
            db.close()

    def audit(self, *args):
        """The whole trail (admin view) as a list of dicts."""
        return json.loads(self.d.cli_ok("admin", "audit", "--json",
                                        *args).stdout)


def events(rows, event, **match):
    """Rows of event whose fields (or detail words) match."""
    out = []
    for r in rows:
        if r["event"] != event:
            continue
        ok = True
        for k, v in match.items():
            if r.get(k) != v and ("%s=%s" % (k, v)) not in \
                    (r.get("detail") or "").split():
                ok = False
        if ok:
            out.append(r)
    return out
