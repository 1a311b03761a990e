"""Security notices delivered to a real SMTP server on loopback (aiosmtpd)
and to the Twilio stand-in by a real pwlessd: a key created, a key used
from a new remote host (through real PAM logins), an account locked out,
a contact changed; each can be turned off, and they are rate limited."""

import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from audittest import AuditEnv, events
from pwltest import check, compose_key, eq, key_id, pam, run_tests

CAROL, DAVE = "pwlt-carol", "pwlt-dave"
MAIL = "carol@example.org"
PHONE = "+41791234567"
LOCKING = ("failures_before_delay = 100\nmax_failures = 3\nlockout = 1h\n"
           "sends_per_hour = 100\n")
KINDS = ("key_created", "key_new_host", "contact_changed", "lockout")


def no_secret_in(e, msgs):
    for m in msgs:
        for s in e.secrets:
            check(s not in m.text and s not in m.raw.decode(errors="replace"),
                  "a secret in a notice: %r" % m.text)


def lock_out(e, key, svc):
    forged = compose_key("l", key_id(key), "B" * 32)
    for _ in range(3):
        eq(pam(svc, CAROL, [forged]).results.get("auth"), "PAM_AUTH_ERR",
           "wrong key")
    eq(pam(svc, CAROL, [key]).results.get("auth"), "PAM_MAXTRIES",
       "locked")


def test_notice_for_each_kind():
    """a key created, a key used from a new rhost, a lockout and a contact
    changed each bring one notice, and none holds a secret"""
    e = AuditEnv(limits=LOCKING)
    try:
        e.d.enrol(CAROL, "--email", MAIL)
        key = e.key(CAROL, "--label", "laptop")
        m = e.mail_with(MAIL, "a new API key")
        for want in (key_id(key), "laptop", "pwless key revoke"):
            check(want in m.text, "%r not in %r" % (want, m.text))
        svc = e.d.pam_service()
        for rhost in ("192.0.2.7", "192.0.2.7", "198.51.100.9"):
            eq(pam(svc, CAROL, [key], rhost=rhost).results.get("auth"),
               "PAM_SUCCESS", "login from " + rhost)
        m = e.mail_with(MAIL, "used from a new host", 2)
        check("198.51.100.9" in m.text and "pwltest" in m.text, m.text)
        e.no_more_mail(MAIL, "used from a new host", 2, wait=0.5)
        lock_out(e, key, svc)
        m = e.mail_with(MAIL, "is locked")
        check("3 failed login" in m.text and "unlock" in m.text, m.text)
        e.d.cli_ok("admin", "user", "set-email", CAROL, "c2@example.org")
        m = e.mail_with(MAIL, "were changed")
        check("administrator" in m.text, m.text)
        no_secret_in(e, e.mails(MAIL))
        rows = events(e.audit("--user", CAROL), "notice")
        eq(sorted({r["detail"].split()[0] for r in rows}),
           sorted("kind=" + k for k in KINDS), "audited notices")
    finally:
        e.close()


def test_turned_off():
    """with every kind off no notice is sent; one kind off stops only it"""
    off = "".join("%s = no\n" % k for k in KINDS)
    e = AuditEnv(limits=LOCKING, extra="[notify]\n" + off)
    try:
        e.d.enrol(CAROL, "--email", MAIL)
        key = e.key(CAROL)
        svc = e.d.pam_service()
        eq(pam(svc, CAROL, [key], rhost="192.0.2.7").results.get("auth"),
           "PAM_SUCCESS", "login")
        lock_out(e, key, svc)
        e.d.cli_ok("admin", "user", "set-email", CAROL, "c2@example.org")
        e.no_more_mail(MAIL, "", 0)
        rows = events(e.audit("--user", CAROL), "notice")
        check(len(rows) == 4 and all("reason=turned_off" in r["detail"]
                                     for r in rows), "audited: %r" % rows)
    finally:
        e.close()
    e = AuditEnv(extra="[notify]\nkey_created = no\n")
    try:
        e.d.enrol(CAROL, "--email", MAIL)
        key = e.key(CAROL)
        eq(pam(e.d.pam_service(), CAROL, [key],
               rhost="192.0.2.7").results.get("auth"), "PAM_SUCCESS",
           "login")
        e.mail_with(MAIL, "used from a new host")
        e.no_more_mail(MAIL, "a new API key", 0, wait=0.5)
    finally:
        e.close()


def test_rate_limited():
    """at most [notify] max_per_hour notices a user; a lockout notice at
    most once an hour"""
    e = AuditEnv(limits=LOCKING, extra="[notify]\nmax_per_hour = 3\n")
    try:
        e.d.enrol(CAROL, "--email", MAIL)
        key = e.key(CAROL)
        svc = e.d.pam_service()
        lock_out(e, key, svc)
        e.d.cli_ok("admin", "user", "unlock", CAROL)
        lock_out(e, key, svc)
        for _ in range(3):
            e.key(CAROL)
        e.no_more_mail(MAIL, "is locked", 1)
        eq(len(e.mails(MAIL)), 3, "notices in all")
        rows = events(e.audit("--user", CAROL), "notice", result="skipped")
        reasons = sorted(r["detail"].split()[-1] for r in rows)
        eq(reasons, ["reason=max_per_hour"] * 2 + ["reason=repeat"],
           "skipped notices")
    finally:
        e.close()


def test_sms_when_no_email():
    """a user with only a phone gets notices by SMS"""
    e = AuditEnv()
    try:
        e.d.enrol(DAVE, "--phone", PHONE)
        key = e.key(DAVE)
        body = e.sms.wait(1, PHONE)["Body"]
        check("new API key" in body and key_id(key) in body, body)
        check(key.split("_")[2] not in body, "secret in the SMS")
    finally:
        e.close()


if __name__ == "__main__":
    run_tests([test_notice_for_each_kind, test_turned_off, test_rate_limited,
               test_sms_when_no_email])
