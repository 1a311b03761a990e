"""codetest: what the one-time code tests share.

CodeDaemon is a pwltest.Daemon wired to a MailSink and an SmsGateway
(pwlessd-sender from the build tree, short retry backoff, debug logging
so the no-secrets check also covers the debug lines; security notices
off unless notify=True, so the mails a test counts are its codes).  PamSession drives
pamdrive interactively: real libpam asks, the test reads the code from the
mail sink between prompts and answers.  code_start/code_answer speak the
wire protocol directly; run as a script, this file does the same for
tests that need another caller uid:
    codetest.py answer SOCKET USER SERVICE CHALLENGE CODE
"""

import os
import queue
import subprocess
import sys
import threading
import time

from pwltest import (BUILD, PAMDRIVE, PWLESSD, Daemon, PamResult, Wire,
                     as_user, frame, tlv)

SENDER = os.path.join(BUILD, "pwlessd", "pwlessd-sender")
HERE = os.path.dirname(os.path.abspath(__file__))

MSG_CODE_START, MSG_CODE_ANSWER = 0x0102, 0x0103
T_USER, T_SERVICE, T_RHOST = 0x8001, 0x8002, 0x0003
T_CODE, T_CHANNEL, T_CHALLENGE, T_MASKED = 0x8007, 0x8018, 0x8019, 0x001a
T_TTL, T_MESSAGE, T_RETRY_AFTER = 0x801b, 0x001d, 0x001e
T_ATTEMPTS_LEFT, T_CODE_LEN = 0x001f, 0x0026
CHANNEL = {"default": 0, "email": 1, "sms": 2}


class CodeDaemon(Daemon):
    """pwlessd with [email] on mail and [sms] (Twilio preset) on sms."""

    def __init__(self, mail=None, sms=None, extra="", limits="",
                 notify=False):
        super().__init__()
        conf = ("[outbox]\nsender = %s\nretry_min = 1s\nretry_max = 2s\n"
                "connect_timeout = 3s\ntimeout = 10s\n" % SENDER)
        if mail is not None:
            conf += ("[email]\ntransport = smtp\nurl = %s\n"
                     "from = pwless@example.org\nstarttls = no\n" %
                     mail.url())
        if sms is not None:
            auth = os.path.join(self.dir, "twilio.auth")
            with open(auth, "w") as f:
                f.write("%s:%s\n" % (sms.user, sms.secret))
            os.chmod(auth, 0o600)
            conf += ("[sms]\ntransport = http\npreset = twilio\n"
                     "account = %s\nfrom = +15005550006\nurl = %s\n"
                     "auth = %s\nallowed_prefixes = +41, +1\n" %
                     (sms.sid, sms.url(), auth))
        conf += "[limits]\n" + (limits or "sends_per_hour = 100\n")
        conf += "[codes]\nresend_interval = 0s\n"
        if not notify:	# security notices would interleave with codes
            conf += ("[notify]\nkey_created = no\nkey_new_host = no\n"
                     "contact_changed = no\nlockout = no\n")
        self.extra = conf + extra
        self.write_conf(self.extra)

    def start(self, wait=True):
        logf = open(self.log, "a")
        self.proc = subprocess.Popen([PWLESSD, "-f", "-d", "-c", self.conf],
                                     stdout=logf, stderr=logf)
        logf.close()
        if wait:
            self.wait_ready()
        return self


# --- the wire protocol ----------------------------------------------------

def call(sock, mtype, fields, timeout=10):
    """(status, tlvs) of one request; fields are (tag, value) pairs."""
    w = Wire(sock, timeout)
    try:
        w.send(frame(mtype, b"".join(tlv(t, v) for t, v in fields
                                     if v is not None)))
        rep = w.recv_reply()
    finally:
        w.close()
    if rep is None:
        raise AssertionError("pwlessd closed the connection")
    return rep[2], rep[3]


def tstr(tlvs, tag):
    v = tlvs.get(tag)
    return v[0].decode() if v else None


def tnum(tlvs, tag):
    v = tlvs.get(tag)
    return int.from_bytes(v[0], "big") if v else None


def code_start(d, user, service="pwltest", rhost=None, channel=None):
    f = [(T_USER, user), (T_SERVICE, service), (T_RHOST, rhost)]
    if channel is not None:
        f.append((T_CHANNEL, bytes([CHANNEL[channel]])))
    return call(d.sock, MSG_CODE_START, f)


def code_answer(d, user, challenge, code, service="pwltest", rhost=None,
                sock=None):
    return call(sock or d.sock, MSG_CODE_ANSWER,
                [(T_USER, user), (T_SERVICE, service), (T_RHOST, rhost),
                 (T_CHALLENGE, challenge), (T_CODE, code)])


def answer_as(user_os, d, user, service, challenge, code):
    """CODE_ANSWER from another uid (a process running as user_os)."""
    r = subprocess.run(as_user(user_os) + [
        sys.executable, os.path.join(HERE, "codetest.py"), "answer",
        d.sock, user, service, challenge, code],
        capture_output=True, text=True, timeout=30,
        env={"PWL_BUILDDIR": BUILD})
    return r.stdout.strip() or r.stderr.strip()


# --- PAM, interactively ---------------------------------------------------

class PamSession:
    """pamdrive with answers typed by the test as prompts appear."""

    def __init__(self, confdir, user, service="pwltest", rhost=None,
                 repeat=1, ops="auth"):
        cmd = [PAMDRIVE, "-D", "-d", confdir, "-s", service, "-u", user,
               "-o", ops, "-n", str(repeat)]
        if rhost:
            cmd += ["-r", rhost]
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  bufsize=1)
        self.q = queue.Queue()
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def expect(self, prefix, timeout=20):
        """Reads lines up to one starting with prefix; returns it."""
        end = time.monotonic() + timeout
        while True:
            try:
                line = self.q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError("no %r within %ss; saw %r" %
                                     (prefix, timeout, self.lines))
            if line is None:
                raise AssertionError("pamdrive ended before %r; saw %r" %
                                     (prefix, self.lines))
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    def say(self, text):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()

    def finish(self, timeout=30):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        self.p.wait(timeout)
        while True:
            line = self.q.get(timeout=5)
            if line is None:
                break
            self.lines.append(line)
        ns = type("P", (), {})()
        ns.returncode = self.p.returncode
        ns.stdout = "\n".join(self.lines) + "\n"
        ns.stderr = self.p.stderr.read()
        return PamResult(ns, time.monotonic() - self.t0)


def ask_code(s):
    """At the first prompt press Enter; returns (info line, seconds)."""
    s.expect("PROMPT_ECHO_OFF")
    t0 = time.monotonic()
    s.say("")
    info = s.expect("TEXT_INFO")
    s.expect("PROMPT_ECHO_OFF One-time code")
    return info, time.monotonic() - t0


def main(argv):
    if len(argv) == 7 and argv[1] == "answer":
        class D:
            sock = argv[2]
        st, _ = code_answer(D, argv[3], argv[5], argv[6], service=argv[4])
        print(st)
        return 0
    print("usage: codetest.py answer SOCKET USER SERVICE CHALLENGE CODE",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
