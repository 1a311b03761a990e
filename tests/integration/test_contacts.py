"""Self-service contact changes through the real pwless CLI against a real
pwlessd, with the codes and notices delivered to a real SMTP server on
loopback (aiosmtpd) and the Twilio stand-in; fresh logins are real PAM key
logins through the built module."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from audittest import AuditEnv, events
from codetest import T_CHALLENGE, code_answer, code_start, tstr
from pwltest import check, eq, frame, run_tests, tlv
from tokentest import wire_as

CAROL, DAVE = "pwlt-carol", "pwlt-dave"
OLD, NEW = "carol@example.org", "carol.new@example.org"
PHONE = "+41791234567"
ASK_NEW = "confirm your new"
ASK_OLD = "allow a change"
CHANGED = "were changed"
MSG_CONTACT_SET = 0x0402
T_EMAIL = 0x8015


def started(e, user=CAROL, addr=NEW, old=OLD):
    """A key, a fresh session from 192.0.2.7, and a change to addr."""
    e.d.enrol(user, "--email", old)
    key = e.key(user)
    tok = e.session(user, key)
    r = e.ok_as(user, "contact", "set-email", addr, token=tok)
    check("confirm" in r.stdout, r.stdout)
    return key, tok


def test_change_email_both_confirmations():
    """both codes confirmed: the address changes, login codes go to the new
    one, and the old one is told when, where from and on which host"""
    e = AuditEnv()
    try:
        started(e)
        new_code = e.code_to(NEW, ASK_NEW)
        old_msg = e.mail_with(OLD, ASK_OLD)
        check("c***@e***.org" in old_msg.text and NEW not in old_msg.text,
              "the old address sees the new one masked: " + old_msg.text)
        old_code = e.code_to(OLD, ASK_OLD)
        check(new_code != old_code, "the two sides share a code")
        r = e.ok_as(CAROL, "contact", "confirm", new_code)
        check("current address" in r.stdout, r.stdout)
        eq(e.contacts(CAROL)["email"], OLD, "after one side")
        r = e.ok_as(CAROL, "contact", "confirm", old_code)
        check("Done" in r.stdout, r.stdout)
        c = e.contacts(CAROL)
        eq((c["email"], c["pending"]), (NEW, None), "after both")
        note = e.mail_with(OLD, CHANGED)
        for want in ("192.0.2.7", "When:", "UTC", "Host:",
                     "the email address is now"):
            check(want in note.text, "%r not in the notice: %r" %
                  (want, note.text))
        check(NEW not in note.text, "the notice shows the whole address")
        st, t = code_start(e.d, CAROL)
        eq(st, "OK", "code start")
        code = e.code_to(NEW, "login code")
        eq(code_answer(e.d, CAROL, tstr(t, T_CHALLENGE), code)[0], "OK",
           "login with a code to the new address")
        e.no_more_mail(OLD, "login code", 0, wait=0.5)
        steps = [r["detail"].split()[0] for r in
                 events(e.audit("--user", CAROL), "contact_change")]
        eq(steps, ["step=start", "step=confirm", "step=applied",
                   "step=confirm"], "audited steps")
    finally:
        e.close()


def test_one_side_only_changes_nothing():
    """only the new side, or only the old side, confirmed: no change"""
    e = AuditEnv()
    try:
        _, tok = started(e)
        e.ok_as(CAROL, "contact", "confirm", e.code_to(NEW, ASK_NEW))
        eq(e.contacts(CAROL)["email"], OLD, "only the new side")
        eq(e.contacts(CAROL)["pending"]["need"], "old", "still needed")
        e.ok_as(CAROL, "contact", "cancel")
        eq(e.contacts(CAROL)["pending"], None, "cancelled")
        e.ok_as(CAROL, "contact", "set-email", NEW, token=tok)
        e.ok_as(CAROL, "contact", "confirm", e.code_to(OLD, ASK_OLD, 2))
        c = e.contacts(CAROL)
        eq((c["email"], c["pending"]["need"]), (OLD, "new"),
           "only the old side")
        e.no_more_mail(OLD, CHANGED, 0, wait=0.5)
    finally:
        e.close()


def test_expired_change_does_nothing():
    """a pending change past its lifetime confirms nothing"""
    e = AuditEnv()
    try:
        started(e)
        new_code, old_code = e.code_to(NEW, ASK_NEW), e.code_to(OLD, ASK_OLD)
        e.sql("UPDATE contact_changes SET expires = ?",
              int(time.time()) - 1)
        r = e.cli_as(CAROL, "contact", "confirm", new_code)
        eq(r.returncode, 1, "confirm after expiry")
        check("expired" in r.stderr, r.stderr)
        r = e.cli_as(CAROL, "contact", "confirm", old_code)
        eq(r.returncode, 1, "nothing pending any more")
        eq(e.contacts(CAROL)["email"], OLD, "unchanged")
    finally:
        e.close()


def test_wrong_codes_burn_the_change():
    """max_attempts wrong codes burn the pending change"""
    e = AuditEnv(extra="[codes]\nmax_attempts = 3\n")
    try:
        started(e)
        new_code, old_code = e.code_to(NEW, ASK_NEW), e.code_to(OLD, ASK_OLD)
        wrong = "".join("1" if c != "1" else "2" for c in new_code)
        for left in ("2", "1", "cancelled"):
            r = e.cli_as(CAROL, "contact", "confirm", wrong)
            eq(r.returncode, 1, "wrong code")
            check(left in r.stderr, "%r not in %r" % (left, r.stderr))
        for code in (new_code, old_code):
            eq(e.cli_as(CAROL, "contact", "confirm", code).returncode, 1,
               "a right code after the burn")
        c = e.contacts(CAROL)
        eq((c["email"], c["pending"]), (OLD, None), "burnt")
    finally:
        e.close()


def test_fresh_login_needed():
    """no proof, a stale token, a revoked or foreign token, or another
    user's key cannot start a change; the caller's own key can"""
    e = AuditEnv(extra="[contacts]\nfresh_login = 10m\n")
    try:
        e.d.enrol(CAROL, "--email", OLD)
        e.d.enrol(DAVE, "--email", "dave@example.org")
        key = e.key(CAROL)
        tok = e.session(CAROL, key)
        dave_tok = e.session(DAVE, e.key(DAVE))
        r = e.cli_as(CAROL, "contact", "set-email", NEW)
        eq(r.returncode, 1, "no PWLESS_TOKEN")
        check("fresh login" in r.stderr, r.stderr)
        st = wire_as(CAROL, e.d.sock, frame(MSG_CONTACT_SET,
                                            tlv(T_EMAIL, NEW)))
        eq(st, "NOT_PERMITTED", "a request without proof")
        r = e.cli_as(CAROL, "contact", "set-email", NEW, token=dave_tok)
        eq(r.returncode, 1, "another user's token")
        r = e.cli_as(CAROL, "contact", "set-email", NEW, "--key-stdin",
                     stdin=e.key(DAVE) + "\n")
        eq(r.returncode, 1, "another user's key")
        e.sql("UPDATE tokens SET created = created - 3600")
        r = e.cli_as(CAROL, "contact", "set-email", NEW, token=tok)
        eq(r.returncode, 1, "a token from a login an hour ago")
        check("fresh login" in r.stderr, r.stderr)
        e.no_more_mail(NEW, "", 0, wait=0.5)
        eq(e.contacts(CAROL)["pending"], None, "nothing started")
        e.ok_as(CAROL, "contact", "set-email", NEW, "--key-stdin",
                stdin=key + "\n")
        e.code_to(NEW, ASK_NEW)
        refused = [r for r in events(e.audit("--user", CAROL),
                                     "contact_change")
                   if r["result"] == "NOT_PERMITTED"]
        check(len(refused) >= 3, "refusals audited: %r" % refused)
    finally:
        e.close()


def test_other_user_cannot_confirm():
    """another user holding the codes cannot confirm the change"""
    e = AuditEnv()
    try:
        started(e)
        e.d.enrol(DAVE, "--email", "dave@example.org")
        codes = [e.code_to(NEW, ASK_NEW), e.code_to(OLD, ASK_OLD)]
        for code in codes:
            r = e.cli_as(DAVE, "contact", "confirm", code)
            eq(r.returncode, 1, "dave confirms carol's change")
            r = e.d.cli("contact", "confirm", code)
            eq(r.returncode, 1, "root confirms carol's change")
        c = e.contacts(CAROL)
        eq((c["email"], c["pending"]["need"]), (OLD, "new,old"),
           "untouched")
        for code in codes:
            e.ok_as(CAROL, "contact", "confirm", code)
        eq(e.contacts(CAROL)["email"], NEW, "carol can")
    finally:
        e.close()


def test_admin_approves_without_old_address():
    """an admin waives the old address's code; the new one still counts"""
    e = AuditEnv()
    try:
        started(e)
        r = e.d.cli("admin", "contact", "approve", CAROL)
        eq(r.returncode, 0, r.stderr)
        eq(e.contacts(CAROL)["email"], OLD, "new side not confirmed yet")
        e.ok_as(CAROL, "contact", "confirm", e.code_to(NEW, ASK_NEW))
        eq(e.contacts(CAROL)["email"], NEW, "applied")
        check("were changed" in e.mail_with(OLD, CHANGED).header(
            "Subject"), "old address told")
        rows = events(e.audit("--user", CAROL), "contact_change",
                      step="approve")
        eq([r["result"] for r in rows], ["ok"], "approval audited")
        eq(e.cli_as(CAROL, "admin", "contact", "approve",
                    CAROL).returncode, 1, "a user cannot approve")
    finally:
        e.close()


def test_phone_added_confirmed_by_email():
    """a first phone is confirmed by SMS and by the existing email"""
    e = AuditEnv()
    try:
        e.d.enrol(CAROL, "--email", OLD)
        tok = e.session(CAROL, e.key(CAROL))
        e.ok_as(CAROL, "contact", "set-phone", PHONE, token=tok)
        sms = e.sms.wait(1, PHONE)["Body"]
        code = sms.split()[0]
        check(code.isdigit(), sms)
        e.secrets.append(code)
        e.ok_as(CAROL, "contact", "confirm", code)
        eq(e.contacts(CAROL)["phone"], None, "email side missing")
        e.ok_as(CAROL, "contact", "confirm", e.code_to(OLD, ASK_OLD))
        eq(e.contacts(CAROL)["phone"], PHONE, "applied")
        check("phone number" in e.mail_with(OLD, CHANGED).text, "told")
    finally:
        e.close()


def test_cooling_off():
    """a new address gets no login codes during cooling_off"""
    e = AuditEnv(extra="[contacts]\ncooling_off = 1h\n")
    try:
        started(e)
        e.ok_as(CAROL, "contact", "confirm", e.code_to(NEW, ASK_NEW))
        e.ok_as(CAROL, "contact", "confirm", e.code_to(OLD, ASK_OLD))
        c = e.contacts(CAROL)
        check(c["cooling_until"].get("email", 0) > time.time() + 3000,
              "cooling shown: %r" % c)
        eq(code_start(e.d, CAROL)[0], "OK", "looks the same")
        e.no_more_mail(NEW, "login code", 0)
        check("reason=cooling_off" in e.d.logtext(), "logged")
    finally:
        e.close()


def test_remove_contact():
    """removing an address needs a fresh login and tells that address"""
    e = AuditEnv()
    try:
        e.d.enrol(CAROL, "--email", OLD, "--phone", PHONE)
        key = e.key(CAROL)
        eq(e.cli_as(CAROL, "contact", "remove", "email").returncode, 1,
           "no proof")
        e.ok_as(CAROL, "contact", "remove", "email", "--key-stdin",
                stdin=key + "\n")
        c = e.contacts(CAROL)
        eq((c["email"], c["phone"]), (None, PHONE), "removed")
        check("was removed" in e.mail_with(OLD, CHANGED).text, "told")
        eq(e.cli_as(CAROL, "contact", "remove", "email", "--key-stdin",
                    stdin=key + "\n").returncode, 1, "twice")
    finally:
        e.close()


if __name__ == "__main__":
    run_tests([test_change_email_both_confirmations,
               test_one_side_only_changes_nothing,
               test_expired_change_does_nothing,
               test_wrong_codes_burn_the_change,
               test_fresh_login_needed,
               test_other_user_cannot_confirm,
               test_admin_approves_without_old_address,
               test_phone_added_confirmed_by_email,
               test_cooling_off,
               test_remove_contact])
