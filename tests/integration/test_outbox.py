"""The outbox and the sender child: messages survive a down mail server
and a kill -9 of pwlessd, are never sent late, are scrubbed once done, and
pwlessd keeps answering while the network hangs.  Real pwlessd, real
pwlessd-sender, real SMTP server on loopback (aiosmtpd)."""

import os
import re
import socket
import sqlite3
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import PWLESSD, check, eq, need_root, pam, run_tests
from codetest import (T_CHALLENGE, CodeDaemon, PamSession, ask_code,
                      code_answer, code_start, tstr)
from mailsink import MailSink, free_port
from smsgw import SmsGateway

CAROL = "pwlt-carol"
CAROL_MAIL = "carol@example.org"
DAVE = "pwlt-dave"
DAVE_PHONE = "+41791234567"


def wait_log(d, text, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if text in d.logtext():
            return
        time.sleep(0.05)
    raise AssertionError("%r not logged within %ss:\n%s" %
                         (text, timeout, d.logtext()[-3000:]))


def sender_pid(d):
    pids = re.findall(r"started sender \S+ \(pid (\d+)\)", d.logtext())
    return int(pids[-1]) if pids else None


def outbox_rows(d):
    db = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
    try:
        return db.execute("SELECT state, body, code, msgid, tries FROM "
                          "outbox ORDER BY id").fetchall()
    finally:
        db.close()


def setup(mail, extra="", sms=None):
    need_root()
    d = CodeDaemon(mail, sms, extra=extra).start()
    d.enrol(CAROL, "--email", CAROL_MAIL)
    return d


def test_smtp_down_then_back():
    """SMTP down: the PAM call answers at once; a retry delivers later"""
    need_root()
    mail = MailSink()		# not started: nothing listens there yet
    d = setup(mail)
    try:
        s = PamSession(d.pam_service(), CAROL)
        info, secs = ask_code(s)
        check(secs < 1.0, "code prompt took %.2fs with SMTP down" % secs)
        wait_log(d, "result=retry")
        mail.start()
        m = mail.wait(1, timeout=30)
        s.say(m.code())
        eq(s.finish().results.get("auth"), "PAM_SUCCESS", "login")
        rows = outbox_rows(d)
        eq([r[0] for r in rows], ["sent"], "row states")
        check(rows[0][1] is None and rows[0][2] is None, "body not scrubbed")
        check(rows[0][4] >= 2, "tries %r" % (rows[0][4],))
    finally:
        d.cleanup()
        mail.stop()


def test_kill9_delivers_once_after_restart():
    """kill -9 after queuing: delivered after restart, exactly once"""
    need_root()
    mail = MailSink()
    d = setup(mail)
    try:
        st, t = code_start(d, CAROL)
        eq(st, "OK", "start")
        wait_log(d, "result=retry")
        pid = sender_pid(d)
        d.kill9()
        end = time.monotonic() + 5
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < end:
            time.sleep(0.05)
        check(not os.path.exists("/proc/%d/exe" % pid),
              "sender outlived pwlessd")
        mail.start()
        d.start()
        m = mail.wait(1, timeout=30)
        time.sleep(3)		# time for a second copy, if any
        eq(mail.count(), 1, "copies delivered")
        eq(code_answer(d, CAROL, tstr(t, T_CHALLENGE), m.code())[0], "OK",
           "the code still works")
        eq([r[0] for r in outbox_rows(d)], ["sent"], "row states")
    finally:
        d.cleanup()
        mail.stop()


def test_crash_window_is_at_least_once():
    """a crash after the server took the message but before it was marked
    sends it again, with the same Message-ID and code (documented choice)"""
    need_root()
    mail = MailSink().start()
    d = setup(mail)
    try:
        mail.hold()
        st, t = code_start(d, CAROL)
        check(mail.wait_held(20), "message never reached the server")
        d.kill9()
        mail.release()
        d.start()
        first, second = mail.wait(1), mail.wait(2, timeout=30)
        time.sleep(2)
        eq(mail.count(), 2, "copies")
        eq(first.header("Message-ID"), second.header("Message-ID"),
           "Message-ID")
        eq(first.code(), second.code(), "code")
        eq(code_answer(d, CAROL, tstr(t, T_CHALLENGE), first.code())[0],
           "OK", "code works")
    finally:
        mail.release()
        d.cleanup()
        mail.stop()


def test_stale_message_dropped():
    """a message older than its code is dropped, never sent late"""
    need_root()
    mail = MailSink()
    d = setup(mail, extra="[codes]\nlifetime = 5s\n")
    try:
        eq(code_start(d, CAROL)[0], "OK", "start")
        wait_log(d, "result=retry")
        time.sleep(5.5)
        mail.start()
        wait_log(d, "result=dropped")
        time.sleep(3)
        eq(mail.count(), 0, "sent late")
        rows = outbox_rows(d)
        eq([r[0] for r in rows], ["dropped"], "row states")
        check(rows[0][1] is None and rows[0][2] is None, "not scrubbed")
    finally:
        d.cleanup()
        mail.stop()


def test_gateway_errors():
    """503 from the SMS gateway is retried; 400 is given up at once"""
    need_root()
    sms = SmsGateway().start()
    d = setup(None, sms=sms)
    try:
        d.enrol(DAVE, "--phone", DAVE_PHONE)
        sms.fail(1, 503)
        eq(code_start(d, DAVE, channel="sms")[0], "OK", "start")
        sms.wait(1, timeout=30)
        check("result=retry" in d.logtext(), "503 not retried")
        sms.fail(1, 400)
        eq(code_start(d, DAVE, service="sudo", channel="sms")[0], "OK",
           "start 2")
        wait_log(d, "result=dead")
        time.sleep(2.5)
        eq(sms.count(), 1, "a 400 was retried")
        check("HTTP 400" in d.logtext(), "reason not logged")
    finally:
        d.cleanup()
        sms.stop()


def make_cert(dirname):
    crt = os.path.join(dirname, "smtp.crt")
    key = os.path.join(dirname, "smtp.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True,
                   capture_output=True)
    return crt, key


def test_starttls_required():
    """smtp:// requires STARTTLS: refused in clear, delivered over TLS"""
    need_root()
    plain = MailSink().start()
    d = CodeDaemon(None, extra="[email]\ntransport = smtp\nurl = %s\n"
                   "from = pwless@example.org\n" % plain.url()).start()
    try:
        d.enrol(CAROL, "--email", CAROL_MAIL)
        eq(code_start(d, CAROL)[0], "OK", "start")
        wait_log(d, "result=retry")
        check("TLS" in d.logtext() or "SSL" in d.logtext(),
              "reason not logged")
        eq(plain.count(), 0, "sent without TLS")
    finally:
        d.cleanup()
        plain.stop()
    try:
        crt, key = make_cert(d.dir if os.path.isdir(d.dir) else "/tmp")
    except (OSError, subprocess.CalledProcessError):
        return
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    tls = MailSink(tls_context=ctx, require_starttls=True).start()
    d = CodeDaemon(None, extra="[email]\ntransport = smtp\nurl = %s\n"
                   "from = pwless@example.org\nca_file = %s\n" %
                   (tls.url(), crt)).start()
    try:
        d.enrol(CAROL, "--email", CAROL_MAIL)
        eq(code_start(d, CAROL)[0], "OK", "start")
        check(tls.wait(1).code(), "no code over STARTTLS")
    finally:
        d.cleanup()
        tls.stop()
        for f in (crt, key):
            if os.path.exists(f):
                os.unlink(f)


def done(spool):
    """Finished spool files; names starting with '.' are being written."""
    return [n for n in os.listdir(spool) if not n.startswith(".")]


def test_file_transport():
    """transport = file: one file per message in the spool; it logs in"""
    need_root()
    d = CodeDaemon(None)
    spool = os.path.join(d.dir, "spool")
    os.mkdir(spool, 0o700)
    d.write_conf(d.extra + "[email]\ntransport = file\nspool = %s\n"
                 "from = pwless@example.org\n"
                 "[sms]\ntransport = file\nspool = %s\n" % (spool, spool))
    d.start()
    try:
        d.enrol(CAROL, "--email", CAROL_MAIL)
        d.enrol(DAVE, "--phone", DAVE_PHONE)
        s = PamSession(d.pam_service(), CAROL)
        ask_code(s)
        end = time.monotonic() + 20
        while time.monotonic() < end and not done(spool):
            time.sleep(0.05)
        names = done(spool)
        eq(len(names), 1, "files in spool: %r" % names)
        check(names[0].endswith(".eml"), names[0])
        path = os.path.join(spool, names[0])
        eq(os.stat(path).st_mode & 0o777, 0o600, "mode")
        text = open(path).read()
        code = re.search(r"^\s+(\d{8})\s*$", text, re.M).group(1)
        check("Message-ID: <pwless." in text, "headers")
        s.say(code)
        eq(s.finish().results.get("auth"), "PAM_SUCCESS", "login")
        eq(code_start(d, DAVE, channel="sms")[0], "OK", "sms")
        while time.monotonic() < end and len(done(spool)) < 2:
            time.sleep(0.05)
        sms = [n for n in done(spool) if n.endswith(".sms")]
        eq(len(sms), 1, "sms files")
        check(DAVE_PHONE in open(os.path.join(spool, sms[0])).read(), "To")
    finally:
        d.cleanup()


def test_never_blocks_on_network():
    """an SMTP server that never answers does not slow pwlessd down"""
    need_root()
    hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)			# accepts connections, never speaks
    port = hole.getsockname()[1]
    d = CodeDaemon(None, extra="[email]\ntransport = smtp\n"
                   "url = smtp://127.0.0.1:%d\nfrom = pwless@example.org\n"
                   "starttls = no\n[outbox]\nconcurrency = 2\n" % port)
    d.start()
    try:
        d.enrol(CAROL, "--email", CAROL_MAIL)
        key = d.new_key(CAROL)
        svc = d.pam_service()
        worst = 0.0
        for _ in range(5):
            t0 = time.monotonic()
            eq(code_start(d, CAROL)[0], "OK", "start")
            worst = max(worst, time.monotonic() - t0)
            r = pam(svc, CAROL, [key])
            eq(r.results.get("auth"), "PAM_SUCCESS", "key login")
            check(r.elapsed < 2.0, "key login took %.2fs" % r.elapsed)
        check(worst < 1.0, "CODE_START took %.2fs" % worst)
    finally:
        d.cleanup()
        hole.close()


def test_check_config():
    """--check-config names bad transport settings"""
    need_root()
    d = CodeDaemon(None)
    try:
        d.write_conf("[email]\ntransport = smtp\nurl = http://mail\n"
                     "from = nobody\nusername = u\nstarttls = maybe\n"
                     "[sms]\ntransport = http\nurl = http://sms.example/x\n"
                     "allowed_prefixes = 41\nheaders = nocolon\n"
                     "[outbox]\nretry_min = 2m\nretry_max = 1m\n")
        r = subprocess.run([PWLESSD, "--check-config", "-c", d.conf],
                           capture_output=True, text=True)
        eq(r.returncode, 1, "bad config accepted")
        for what in ("[email] url", "[email] from", "[email] password_file",
                     "[email] starttls", "[sms] url",
                     "[sms] allowed_prefixes", "[sms] headers",
                     "[sms] body_template", "[outbox] retry_min"):
            check(what in r.stderr, "%s not reported:\n%s" %
                  (what, r.stderr))
        d.write_conf("[sms]\ntransport = http\npreset = twilio\n")
        r = subprocess.run([PWLESSD, "--check-config", "-c", d.conf],
                           capture_output=True, text=True)
        check("twilio needs account" in r.stderr, r.stderr)
        check("[sms] auth" in r.stderr, r.stderr)
    finally:
        d.cleanup()


def test_mail_headers_utf8():
    """non-ASCII subject, sender name and body arrive intact (RFC 2047)"""
    need_root()
    mail = MailSink().start()
    d = setup(mail, extra="[email]\nsubject = Ihr Zugangscode f\u00fcr "
              "{host} \u2014 g\u00fcltig {minutes} Minuten, bitte "
              "sofort verwenden\nfrom_name = Anmeldung \"Haupt\"\n")
    try:
        st, _ = code_start(d, CAROL, service="s\u00fcdo")
        eq(st, "OK", "start")
        m = mail.wait(1)
        check(m.header("Subject").startswith("Ihr Zugangscode f\u00fcr "),
              m.header("Subject"))
        check(m.header("Subject").endswith("sofort verwenden"),
              m.header("Subject"))
        check("Anmeldung" in m.header("From"), m.header("From"))
        check("s\u00fcdo" in m.text and m.code(), m.text)
        raw = m.raw.decode("ascii")		# 7-bit on the wire
        check(all(len(l) <= 998 for l in raw.split("\r\n")), "long line")
    finally:
        d.cleanup()
        mail.stop()


def test_example_config():
    """data/pwlessd.conf and each set-up it shows pass --check-config"""
    src = os.path.join(os.environ.get("PWL_SRCDIR", "."), "data",
                       "pwlessd.conf")
    text = open(src).read()
    blocks = re.findall(r"((?:^#\t.*\n)+)", text, re.M)
    check(len(blocks) >= 4, "set-up examples missing")
    need_root()
    d = CodeDaemon(None)
    try:
        for conf in [text] + [re.sub(r"^#\t", "", b, flags=re.M)
                              for b in blocks]:
            with open(d.conf, "w") as f:
                f.write(conf)
            r = subprocess.run([PWLESSD, "--check-config", "-c", d.conf],
                               capture_output=True, text=True)
            eq(r.returncode, 0, "%s\n%s" % (conf, r.stderr))
    finally:
        d.cleanup()


def test_reload_restarts_sender():
    """SIGHUP with a new transport: the next code goes the new way"""
    need_root()
    mail = MailSink().start()
    d = CodeDaemon(None).start()
    try:
        d.enrol(CAROL, "--email", CAROL_MAIL)
        eq(code_start(d, CAROL)[0], "OK", "decoy while transport none")
        d.write_conf(d.extra + "[email]\ntransport = smtp\nurl = %s\n"
                     "from = pwless@example.org\nstarttls = no\n" %
                     mail.url())
        d.proc.send_signal(1)
        wait_log(d, "started sender")
        eq(code_start(d, CAROL, service="sudo")[0], "OK", "after reload")
        check(mail.wait(1).code(), "no code after reload")
        eq(mail.count(), 1, "the decoy was sent")
    finally:
        d.cleanup()
        mail.stop()


if __name__ == "__main__":
    run_tests([
        test_smtp_down_then_back,
        test_kill9_delivers_once_after_restart,
        test_crash_window_is_at_least_once,
        test_stale_message_dropped,
        test_gateway_errors,
        test_starttls_required,
        test_file_transport,
        test_never_blocks_on_network,
        test_check_config,
        test_mail_headers_utf8,
        test_example_config,
        test_reload_restarts_sender,
    ])
