"""One-time codes through real libpam loading the built pam_pwless.so,
against a real pwlessd, a real SMTP server on loopback (aiosmtpd) and a
local HTTP server speaking Twilio's Messages API (the only stand-in)."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import (check, compose_key, eq, key_id, need_root, pam,
                     run_tests)
from codetest import (T_ATTEMPTS_LEFT, T_CHALLENGE, T_CODE_LEN, T_MASKED,
                      T_MESSAGE, T_RETRY_AFTER, T_TTL, CodeDaemon,
                      PamSession, answer_as, ask_code, call, code_answer,
                      code_start, tnum, tstr)
from mailsink import MailSink
from smsgw import SmsGateway

CAROL = "pwlt-carol"		# email
DAVE = "pwlt-dave"		# phone
ERIN = "pwlt-erin"		# no contact
FRANK = "pwlt-frank"		# disabled
NOSUCH = "pwlt-nosuch-user"	# not enrolled, not even a system account
CAROL_MAIL = "carol@example.org"
DAVE_PHONE = "+41791234567"

NO_DELAY = "failures_before_delay = 100\nmax_failures = 100\n" \
    "sends_per_hour = 100\n"


class Env:
    """A mail sink, an SMS gateway and a daemon using both."""

    def __init__(self, extra="", limits=NO_DELAY):
        need_root()
        self.mail = MailSink().start()
        self.sms = SmsGateway().start()
        self.d = CodeDaemon(self.mail, self.sms, extra=extra,
                            limits=limits).start()
        self.d.enrol(CAROL, "--email", CAROL_MAIL)
        self.secrets = []

    def service(self, opts=""):
        return self.d.pam_service(auth_opts=opts)

    def mail_code(self, n=1, rcpt=CAROL_MAIL):
        m = self.mail.wait(n, rcpt)
        self.secrets += [m.code(), m.text.strip().splitlines()[0]]
        return m.code()

    def close(self):
        log = self.d.logtext()
        self.d.cleanup()
        self.mail.stop()
        self.sms.stop()
        for s in self.secrets:
            check(s and s not in log, "a secret reached the log: %r" % s)


def wrong_code(code):
    return "".join("1" if c != "1" else "2" for c in code)


def test_email_login():
    """Enter at the prompt sends a code by email; it logs in"""
    e = Env()
    try:
        s = PamSession(e.service(), CAROL, rhost="192.0.2.7")
        info, secs = ask_code(s)
        check("A one-time code was sent" in info, info)
        check(secs < 1.0, "the code prompt took %.2fs" % secs)
        code = e.mail_code()
        eq(len(code), 8, "code length (default 8)")
        s.say(code)
        r = s.finish()
        eq(r.results.get("auth"), "PAM_SUCCESS", repr(r))
        m = e.mail.wait(1)
        for h in ("Date", "Message-ID", "From", "To", "Subject"):
            check(m.header(h), "no %s header" % h)
        eq(m.header("To"), CAROL_MAIL, "To")
        check(m.header("Message-ID").startswith("<pwless."), "Message-ID")
        check("utf-8" in m.header("Content-Type").lower(), "charset")
        check("pwltest" in m.text and "192.0.2.7" in m.text,
              "service and rhost not in the body: " + m.text)
    finally:
        e.close()


def test_sms_login():
    """channel=sms: the code goes to the Twilio API; it logs in"""
    e = Env()
    try:
        e.d.enrol(DAVE, "--phone", DAVE_PHONE)
        s = PamSession(e.service("channel=sms show_destination"), DAVE)
        info, _ = ask_code(s)
        check("+41" in info and "67" in info and "1234" not in info,
              "masked number not shown: " + info)
        msg = e.sms.wait(1, DAVE_PHONE)
        eq(msg.get("From"), "+15005550006", "From")
        code = "".join(ch for ch in msg["Body"] if ch.isdigit())[:8]
        e.secrets += [code, msg["Body"]]
        check(len(code) == 8, "no code in: " + msg["Body"])
        s.say(code)
        eq(s.finish().results.get("auth"), "PAM_SUCCESS", "sms login")
    finally:
        e.close()


def test_channel_chosen_by_user():
    """'sms' or 'email' at the prompt, or channel=ask, pick the channel"""
    e = Env()
    try:
        e.d.cli_ok("admin", "user", "set-phone", CAROL, DAVE_PHONE)
        s = PamSession(e.service(), CAROL)
        s.expect("PROMPT_ECHO_OFF")
        s.say("sms")
        check("phone" in s.expect("TEXT_INFO"), "info")
        s.expect("PROMPT_ECHO_OFF One-time code")
        msg = e.sms.wait(1, DAVE_PHONE)
        s.say(msg["Body"][:8])
        eq(s.finish().results.get("auth"), "PAM_SUCCESS", "sms word")
        s = PamSession(e.service("channel=ask"), CAROL)
        s.expect("PROMPT_ECHO_OFF")
        s.say("")
        s.expect("PROMPT_ECHO_ON Send the code by email or sms?")
        s.say("email")
        s.expect("PROMPT_ECHO_OFF One-time code")
        s.say(e.mail_code())
        eq(s.finish().results.get("auth"), "PAM_SUCCESS", "channel=ask")
        eq(e.sms.count(), 1, "sms count")
        e.secrets.append(msg["Body"])
    finally:
        e.close()


def test_wrong_code_burns():
    """max_attempts wrong answers burn the code: the right one then fails"""
    e = Env(extra="[codes]\nmax_attempts = 3\n")
    try:
        s = PamSession(e.service(), CAROL, repeat=4)
        ask_code(s)
        code = e.mail_code()
        bad = wrong_code(code)
        s.say(bad)
        for _ in range(2):	# digits at the first prompt answer it
            s.expect("PROMPT_ECHO_OFF")
            s.say(bad)
        s.expect("PROMPT_ECHO_OFF")
        s.say(code)
        r = s.finish()
        eq([l.split()[2] for l in r.lines if l.startswith("RESULT")],
           ["PAM_AUTH_ERR"] * 4, "results")
        log = e.d.logtext()
        check("reason=burnt" in log, "not burnt")
        check(log.count("reason=burnt") >= 2, "right code after burn ok?")
    finally:
        e.close()


def test_expired_code():
    """a code answered after its lifetime fails as expired"""
    e = Env(extra="[codes]\nlifetime = 5s\n")
    try:
        s = PamSession(e.service(), CAROL)
        ask_code(s)
        code = e.mail_code()
        time.sleep(5.5)
        s.say(code)
        eq(s.finish().results.get("auth"), "PAM_AUTH_ERR", "expired")
        check("result=EXPIRED" in e.d.logtext(), "not logged as expired")
    finally:
        e.close()


def test_used_code_replay():
    """a used code fails when replayed, by wire and at a new login"""
    e = Env()
    try:
        st, t = code_start(e.d, CAROL)
        eq(st, "OK", "start")
        code = e.mail_code()
        eq(code_answer(e.d, CAROL, tstr(t, T_CHALLENGE), code)[0], "OK",
           "first use")
        st, t2 = code_answer(e.d, CAROL, tstr(t, T_CHALLENGE), code)
        eq(st, "DENIED", "replay")
        eq(tnum(t2, T_ATTEMPTS_LEFT), 0, "attempts left after use")
        r = pam(e.service(), CAROL, [code])
        eq(r.results.get("auth"), "PAM_AUTH_ERR", "replay at login")
    finally:
        e.close()


def test_other_service_or_caller():
    """a challenge answers only for its service and its caller uid"""
    e = Env()
    try:
        st, t = code_start(e.d, CAROL, service="sshd")
        cid = tstr(t, T_CHALLENGE)
        code = e.mail_code()
        eq(code_answer(e.d, CAROL, cid, code, service="sudo")[0], "DENIED",
           "other service")
        eq(code_answer(e.d, CAROL, cid, code, service="sshd",
                       rhost="192.0.2.9")[0], "DENIED", "other rhost")
        eq(answer_as(CAROL, e.d, CAROL, "sshd", cid, code), "DENIED",
           "other caller uid")
        eq(code_answer(e.d, CAROL, cid, code, service="sshd")[0], "OK",
           "its own caller and service")
        check("reason=other_binding" in e.d.logtext(), "reason not logged")
    finally:
        e.close()


def test_newest_code_counts():
    """after a resend only the newest code of the challenge works"""
    e = Env(extra="[codes]\nresend_interval = 1s\n")
    try:
        s = PamSession(e.service(), CAROL, repeat=3)
        ask_code(s)
        first = e.mail_code(1)
        s.say("")			# no answer: the challenge stays
        time.sleep(1.2)
        ask_code(s)			# Enter again: a resend
        second = e.mail_code(2)
        check(first != second, "same code twice")
        s.say(first)
        s.expect("PROMPT_ECHO_OFF")
        s.say(second)
        r = s.finish()
        eq([l.split()[2] for l in r.lines if l.startswith("RESULT")],
           ["PAM_AUTH_ERR", "PAM_AUTH_ERR", "PAM_SUCCESS"], "results")
        check("resend=yes" in e.d.logtext(), "not a resend")
    finally:
        e.close()


def show(d, user):
    return json.loads(d.cli_ok("admin", "user", "show", user,
                               "--json").stdout)


def test_lockout_and_unlock():
    """keys and codes share the failure budget; lockout; admin unlock"""
    e = Env(limits="failures_before_delay = 3\nmax_failures = 3\n"
            "lockout = 1h\nsends_per_hour = 100\n")
    try:
        key = e.d.new_key(CAROL)
        e.secrets.append(key.split("_")[2])
        forged = compose_key("l", key_id(key), "B" * 32)
        svc = e.service()
        for _ in range(2):
            eq(pam(svc, CAROL, [forged]).results.get("auth"),
               "PAM_AUTH_ERR", "wrong key")
        st, t = code_start(e.d, CAROL)
        code = e.mail_code()
        eq(code_answer(e.d, CAROL, tstr(t, T_CHALLENGE),
                       wrong_code(code))[0], "DENIED", "wrong code")
        r = pam(svc, CAROL, [key])
        eq(r.results.get("auth"), "PAM_MAXTRIES", "locked: " + repr(r))
        check(any("locked" in l for l in r.lines if
                  l.startswith("ERROR_MSG")), "user not told: %r" % r.lines)
        info = show(e.d, CAROL)
        eq(info.get("failures"), 3, "failures shown")
        check(info.get("locked_until", 0) > time.time() + 3000,
              "locked_until: %r" % info)
        st, t = code_start(e.d, CAROL)
        eq(st, "RATE_LIMITED", "no code sent while locked")
        check(tnum(t, T_RETRY_AFTER) > 3000, "retry_after")
        e.d.cli_ok("admin", "user", "unlock", CAROL)
        eq(show(e.d, CAROL).get("failures"), 0, "after unlock")
        eq(pam(svc, CAROL, [key]).results.get("auth"), "PAM_SUCCESS",
           "after unlock")
        r = e.d.cli("admin", "user", "unlock", NOSUCH)
        eq(r.returncode, 1, "unlock of an unknown user")
    finally:
        e.close()


def test_delay_grows():
    """after failures_before_delay each failure doubles the wait"""
    e = Env(limits="failures_before_delay = 1\nmax_failures = 10\n"
            "sends_per_hour = 100\n")
    try:
        st, t = code_start(e.d, CAROL)
        cid = tstr(t, T_CHALLENGE)
        bad = wrong_code(e.mail_code())
        waits = []
        for _ in range(3):
            eq(code_answer(e.d, CAROL, cid, bad)[0], "DENIED", "wrong")
            st, t2 = code_answer(e.d, CAROL, cid, bad)
            eq(st, "RATE_LIMITED", "during the delay")
            check("Too many failed attempts" in tstr(t2, T_MESSAGE),
                  "message")
            waits.append(tnum(t2, T_RETRY_AFTER))
            time.sleep(waits[-1] + 0.2)
        check(waits[0] < waits[1] < waits[2], "delays %r" % waits)
    finally:
        e.close()


def test_send_limits():
    """send limits refuse the next code and tell the user to wait"""
    e = Env(limits="sends_per_hour = 2\nfailures_before_delay = 100\n"
            "max_failures = 100\n")
    try:
        svc = e.service()
        for n in (1, 2):
            s = PamSession(svc, CAROL)
            ask_code(s)
            e.mail_code(n)
            s.say("")
            s.finish()
        r = PamSession(svc, CAROL)
        r.expect("PROMPT_ECHO_OFF")
        r.say("")
        r = r.finish()
        eq(r.results.get("auth"), "PAM_MAXTRIES", repr(r))
        check(any(l.startswith("ERROR_MSG Too many codes") and
                  "try again in" in l for l in r.lines), repr(r.lines))
        time.sleep(0.5)
        eq(e.mail.count(), 2, "a third mail was sent")
        check("event=refused" in e.d.logtext() and
              "reason=sends_per_hour" in e.d.logtext(), "not logged")
    finally:
        e.close()


def test_resend_interval_and_sms_limits():
    """resend interval, daily SMS budget and allowed_prefixes refuse"""
    e = Env(extra="[codes]\nresend_interval = 60s\n[sms]\n"
            "daily_budget = 1\n")
    try:
        e.d.enrol(DAVE, "--phone", DAVE_PHONE)
        eq(code_start(e.d, CAROL)[0], "OK", "first")
        e.mail_code()
        st, t = code_start(e.d, CAROL)
        eq(st, "RATE_LIMITED", "within resend_interval")
        check(0 < tnum(t, T_RETRY_AFTER) <= 60, "retry_after")
        eq(code_start(e.d, DAVE, channel="sms")[0], "OK", "first sms")
        e.sms.wait(1)
        e.d.enrol(ERIN)
        e.d.cli_ok("admin", "user", "set-phone", ERIN, "+41791234500")
        st, t = code_start(e.d, ERIN, channel="sms")
        eq(st, "RATE_LIMITED", "daily SMS budget")
        check("SMS" in tstr(t, T_MESSAGE), tstr(t, T_MESSAGE))
        r = e.d.cli("admin", "user", "set-phone", ERIN, "+4420794601234")
        eq(r.returncode, 1, "number outside allowed_prefixes")
        check("allowed_prefixes" in r.stderr, r.stderr)
        log = e.d.logtext()
        for why in ("resend_interval", "sms_daily_budget"):
            check("reason=" + why in log, why + " not logged")
        eq(e.sms.count(), 1, "SMS sent")
    finally:
        e.close()


def conversation(r):
    return [l for l in r.conversation() if not l.startswith("FAIL_DELAY")]


def test_unknown_and_contactless_look_alike():
    """unknown, contact-less and disabled users see the same, get nothing"""
    e = Env()
    try:
        e.d.enrol(ERIN)
        e.d.enrol(FRANK, "--email", "frank@example.org")
        e.d.cli_ok("admin", "user", "disable", FRANK)
        svc = e.service("show_destination")
        seen = {}
        for user in (CAROL, ERIN, FRANK, NOSUCH):
            s = PamSession(svc, user)
            info, secs = ask_code(s)
            s.say("12345678")
            r = s.finish()
            eq(r.results.get("auth"), "PAM_AUTH_ERR", user)
            seen[user] = (conversation(r), secs)
            st, t = code_start(e.d, user)
            eq(st, "OK", "start for " + user)
            eq(tnum(t, T_TTL), 300, "ttl for " + user)
            eq(tnum(t, T_CODE_LEN), 8, "code_len for " + user)
            m = tstr(t, T_MASKED)
            check(m[1:5] == "***@" and "***." in m, "mask %r" % m)
        st, t = code_start(e.d, "\u00e9lise-nobody")
        eq((st, tstr(t, T_MASKED)), ("OK", "\u00e9***@e***.org"),
           "decoy mask of a non-ASCII name")
        shape = [l.split(" sent to ")[0] for l in seen[CAROL][0]]
        for user in (ERIN, FRANK, NOSUCH):
            eq([l.split(" sent to ")[0] for l in seen[user][0]], shape,
               "conversation of " + user)
        time.sleep(1)
        eq(e.mail.count(), 2, "mail only for carol")
        eq(e.mail.count(CAROL_MAIL), 2, "mail only for carol")
        print("# code prompt after Enter: " + ", ".join(
            "%s %.1fms" % (u, s[1] * 1000) for u, s in seen.items()))
        plain = e.service()
        a = pam(plain, CAROL, [""], stdin="1\n")
        b = pam(plain, NOSUCH, [""], stdin="1\n")
        eq(conversation(a), conversation(b), "without show_destination")
    finally:
        e.close()


def test_unknown_names_rate_limited_alike():
    """unknown names hit the same send limit and lockout as real ones"""
    e = Env(limits="sends_per_hour = 1\nfailures_before_delay = 2\n"
            "max_failures = 2\nlockout = 1h\n")
    try:
        for user in (CAROL, NOSUCH):
            st, t = code_start(e.d, user)
            eq(st, "OK", user)
            cid = tstr(t, T_CHALLENGE)
            st2, t2 = code_start(e.d, user)
            eq(st2, "RATE_LIMITED", "second send for " + user)
            msg = tstr(t2, T_MESSAGE)
            for _ in range(2):
                eq(code_answer(e.d, user, cid, "00000000")[0], "DENIED",
                   user)
            st3, t3 = code_answer(e.d, user, cid, "00000000")
            eq(st3, "RATE_LIMITED", "locked: " + user)
            if user == CAROL:
                first = (msg, tstr(t3, T_MESSAGE))
            else:
                eq((msg, tstr(t3, T_MESSAGE)), first, "messages differ")
    finally:
        e.close()


def test_contacts_validated():
    """admin contacts: stored when valid, refused by CLI and daemon if not"""
    e = Env()
    try:
        e.d.enrol(DAVE, "--email", "dave@example.org", "--phone",
                  DAVE_PHONE)
        info = show(e.d, DAVE)
        eq((info.get("email"), info.get("phone")),
           ("dave@example.org", DAVE_PHONE), "stored")
        for bad in ("a b@example.org", "<a@example.org>", "a@exa\rmple.org",
                    "a@example.org\nBcc: x@y.z", "a@b>c.org", "nobody"):
            r = e.d.cli("admin", "user", "set-email", DAVE, bad)
            check(r.returncode in (1, 2), "email %r accepted" % bad)
        for bad in ("0791234567", "+0791234567", "+41 79 123 45 67",
                    "+4179123456789012", "+41abc"):
            r = e.d.cli("admin", "user", "set-phone", DAVE, bad)
            check(r.returncode in (1, 2), "phone %r accepted" % bad)
        for tag, bad in ((0x8015, "a<b@example.org"),
                         (0x8015, "a b@example.org"),
                         (0x8016, "0791234567")):
            st, _ = call(e.d.sock, 0x0f04, [(0x8001, DAVE), (tag, bad)])
            eq(st, "BAD_REQUEST", "daemon took %r" % bad)
        eq((show(e.d, DAVE).get("email"), show(e.d, DAVE).get("phone")),
           ("dave@example.org", DAVE_PHONE), "unchanged")
    finally:
        e.close()


def test_no_secret_in_logs():
    """no code, key or message body in any log line, even with -d"""
    e = Env()
    try:
        e.d.enrol(DAVE, "--phone", DAVE_PHONE)
        key = e.d.new_key(CAROL)
        svc = e.service()
        eq(pam(svc, CAROL, [key]).results.get("auth"), "PAM_SUCCESS", "key")
        pam(svc, CAROL, [compose_key("l", key_id(key), "C" * 32)])
        s = PamSession(svc, CAROL, repeat=2)
        ask_code(s)
        code = e.mail_code()
        s.say(wrong_code(code))
        s.expect("PROMPT_ECHO_OFF")
        s.say(code)
        eq(s.finish().results.get("auth"), "PAM_SUCCESS", "code")
        e.sms.fail(1, 400)		# a failed delivery logs its reason
        eq(code_start(e.d, DAVE, channel="sms")[0], "OK", "sms")
        time.sleep(1)
        eq(code_start(e.d, DAVE, service="sudo", channel="sms")[0], "OK",
           "sms 2")
        sms = e.sms.wait(1)
        log = e.d.logtext()
        check("event=delivery" in log and "result=dead" in log and
              "redacted" in log, "log too quiet to prove anything")
        body = e.mail.wait(1).text
        secrets = [key, key.split("_")[2], code, sms["Body"]] + [
            l.strip() for l in body.splitlines() if len(l.strip()) > 8]
        secrets += [l for l in sms["Body"].split(".") if len(l) > 8]
        for sec in secrets:
            check(sec not in log, "in the log: %r" % sec)
    finally:
        e.close()


if __name__ == "__main__":
    run_tests([
        test_email_login,
        test_sms_login,
        test_channel_chosen_by_user,
        test_wrong_code_burns,
        test_expired_code,
        test_used_code_replay,
        test_other_service_or_caller,
        test_newest_code_counts,
        test_lockout_and_unlock,
        test_delay_grows,
        test_send_limits,
        test_resend_interval_and_sms_limits,
        test_unknown_and_contactless_look_alike,
        test_unknown_names_rate_limited_alike,
        test_contacts_validated,
        test_no_secret_in_logs,
    ])
