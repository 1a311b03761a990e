"""pwlessd killed with kill -9 over and over while clients create and
revoke keys and ask for and use one-time codes: every answer OK that a
client got is on disk afterwards (an acknowledged key works, an
acknowledged revocation holds, a used code cannot be used again, an
acknowledged code request is delivered), and the database is intact.
Real pwlessd and pwlessd-sender, real SMTP server on loopback, key
clients running as their own uids (accounts seen through nss_wrapper)."""

import os
import random
import re
import signal
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import Daemon, check, eq, fake_accounts, need_root, run_tests
from codetest import SENDER
from flood import call
from mailsink import MailSink

KILLS = int(os.environ.get("PWL_CRASH_KILLS", "25"))
KEY_USERS = ["pwlk%d" % i for i in range(6)]
CODE_USERS = ["pwlc%d" % i for i in range(4)]
MSG_AUTH_KEY, MSG_CODE_START, MSG_CODE_ANSWER = 0x0101, 0x0102, 0x0103
MSG_KEY_CREATE, MSG_KEY_REVOKE = 0x0301, 0x0303
T_USER, T_SERVICE, T_RHOST = 0x8001, 0x8002, 0x0003
T_KEY, T_CODE, T_KEY_ID, T_CHALLENGE = 0x8006, 0x8007, 0x8009, 0x8019


def s(tags, tag):
    v = tags.get(tag)
    return v[0].decode() if v else None


def key_worker(sock, uid, out, stop_file):
    """In a child running as uid: create a key, revoke it, again.  Lines:
    C id key (create acknowledged), R id (revoke acknowledged), N id (the
    revoke found it revoked: an unanswered one had done it), ? id (left
    with a revoke unanswered: either state is right)."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    with open(out, "a") as f:
        while not os.path.exists(stop_file):
            st, t = call(sock, MSG_KEY_CREATE, [], timeout=5)
            if st != "OK":
                time.sleep(0.02)
                continue
            key, kid = s(t, T_KEY), s(t, T_KEY_ID)
            f.write("C %s %s\n" % (kid, key))
            f.flush()
            unsure = False
            while True:
                if os.path.exists(stop_file):
                    if unsure:
                        f.write("? %s\n" % kid)
                    break
                st, _ = call(sock, MSG_KEY_REVOKE, [(T_KEY_ID, kid)],
                             timeout=5)
                if st in ("OK", "NOT_FOUND"):
                    f.write("%s %s\n" % ("R" if st == "OK" else "N", kid))
                    f.flush()
                    break
                unsure = unsure or st is None
                time.sleep(0.02)
    os._exit(0)


def mail_for(mail, tag):
    with mail._lock:
        for m in mail.messages:
            if "from %s." % tag in m.text:
                return m
    return None


class CodeWorker(threading.Thread):
    """Asks a code for user, reads it from the sink, uses it; again."""

    def __init__(self, d, mail, user, stop):
        super().__init__(daemon=True)
        self.d, self.mail, self.user, self.stop = d, mail, user, stop
        self.asked = []		# tags of acknowledged CODE_STARTs
        self.used = []		# (tag, challenge, code) acknowledged OK

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            tag = "%s-%d.example" % (self.user, n)
            f = [(T_USER, self.user), (T_SERVICE, "sshd"), (T_RHOST, tag)]
            st, t = call(self.d.sock, MSG_CODE_START, f, timeout=5)
            if st != "OK":
                time.sleep(0.02)
                continue
            self.asked.append(tag)
            cid = s(t, T_CHALLENGE)
            end = time.monotonic() + 30
            m = None
            while m is None and time.monotonic() < end and \
                    not self.stop.is_set():
                m = mail_for(self.mail, tag)
                time.sleep(0.02)
            if m is None:
                continue
            while not self.stop.is_set():
                st, _ = call(self.d.sock, MSG_CODE_ANSWER, f + [
                    (T_CHALLENGE, cid), (T_CODE, m.code())], timeout=5)
                if st == "OK":
                    self.used.append((tag, cid, m.code()))
                if st is not None:
                    break		# OK, or DENIED after a lost reply
                time.sleep(0.02)


def start_daemon(d):
    d.start(wait=False)
    d.wait_ready(20)


def test_kill9_loop_loses_nothing():
    """kill -9 in a loop under load: every acknowledged write survives"""
    need_root()
    mail = MailSink().start()
    d = Daemon()
    d.env = fake_accounts(d.dir, KEY_USERS + CODE_USERS)
    d.write_conf(
        "[outbox]\nsender = %s\nretry_min = 1s\nretry_max = 2s\n"
        "[email]\ntransport = smtp\nurl = %s\nfrom = pwless@example.org\n"
        "starttls = no\n[codes]\nresend_interval = 0s\n"
        "[limits]\nsends_per_hour = 100000\nsends_per_destination = 100000\n"
        "source_sends_per_hour = 0\nfailures_before_delay = 100000\n"
        "max_failures = 100000\n" % (SENDER, mail.url()))
    start_daemon(d)
    stop_file = os.path.join(d.dir, "stop")
    kids, workers = [], []
    try:
        for u in KEY_USERS:
            d.cli_ok("admin", "user", "add", u)
        for u in CODE_USERS:
            d.cli_ok("admin", "user", "add", u, "--email", u + "@example.org")
        for i, u in enumerate(KEY_USERS):
            out = os.path.join(d.dir, "keys-%s" % u)
            open(out, "w").close()
            os.chmod(out, 0o666)
            pid = os.fork()
            if pid == 0:
                try:
                    key_worker(d.sock, 50000 + i, out, stop_file)
                finally:
                    os._exit(1)
            kids.append(pid)
        stop = threading.Event()
        workers = [CodeWorker(d, mail, u, stop) for u in CODE_USERS]
        for w in workers:
            w.start()
        rnd = random.Random(7)
        for _ in range(KILLS):
            time.sleep(rnd.uniform(0.2, 0.6))
            d.kill9()
            start_daemon(d)
        time.sleep(1)
        stop.set()
        open(stop_file, "w").close()
        for pid in kids:
            os.waitpid(pid, 0)
        for w in workers:
            w.join(40)
        verify(d, mail, workers)
    finally:
        open(stop_file, "w").close()
        d.cleanup()
        mail.stop()


def verify(d, mail, workers):
    created, revoked, gone, unsure = {}, set(), set(), set()
    for u in KEY_USERS:
        with open(os.path.join(d.dir, "keys-%s" % u)) as f:
            for line in f:
                p = line.split()
                if p[0] == "C":
                    created[p[1]] = (u, p[2])
                else:
                    {"R": revoked, "N": gone, "?": unsure}[p[0]].add(p[1])
    live = {k: v for k, v in created.items()
            if k not in revoked | gone | unsure}
    for kid in sorted(created):
        if kid in unsure:
            continue
        u, key = created[kid]
        st, _ = call(d.sock, MSG_AUTH_KEY, [(T_USER, u), (T_SERVICE, "sshd"),
                                            (T_KEY, key)])
        want = "OK" if kid in live else "DENIED"
        eq(st, want, "key %s (%s)" % (kid, "created" if kid in live
                                      else "revoked"))
    asked = sum(len(w.asked) for w in workers)
    used = [u for w in workers for u in w.used]
    for w in workers:
        for tag in w.asked:
            end = time.monotonic() + 30
            while mail_for(mail, tag) is None and time.monotonic() < end:
                time.sleep(0.05)
            check(mail_for(mail, tag) is not None,
                  "acknowledged code request %s never delivered" % tag)
        for tag, cid, code in w.used:
            st, _ = call(d.sock, MSG_CODE_ANSWER, [
                (T_USER, w.user), (T_SERVICE, "sshd"), (T_RHOST, tag),
                (T_CHALLENGE, cid), (T_CODE, code)])
            eq(st, "DENIED", "a used code was accepted again (%s)" % tag)
    db = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
    eq(db.execute("PRAGMA integrity_check").fetchone()[0], "ok", "integrity")
    db.close()
    check(len(created) > 50 and len(used) > 10,
          "too little load: %d keys, %d codes" % (len(created), len(used)))
    print("# %d kill -9 of pwlessd under load: %d key creates and %d "
          "revocations acknowledged, %d code requests acknowledged and all "
          "delivered (%d mails), %d codes used; none lost, none reusable" %
          (KILLS, len(created), len(revoked), asked, mail.count(),
           len(used)))
    check(len(live) <= len(KEY_USERS) * (KILLS + 1), "live keys")


def fsyncs_during(pid, seconds, action):
    """Runs action with strace on pid; the files pid synced within
    seconds of it."""
    import shutil
    import subprocess
    import tempfile
    from pwltest import Skip
    if shutil.which("strace") is None:
        raise Skip("strace is not installed")
    out = tempfile.mktemp(prefix="pwlt-strace-")
    st = subprocess.Popen(["strace", "-qq", "-y", "-e",
                           "trace=fsync,fdatasync", "-o", out, "-p",
                           str(pid)])
    try:
        time.sleep(0.7)		# attached
        action()
        time.sleep(seconds)
    finally:
        st.terminate()
        st.wait()
    with open(out) as f:
        text = f.read()
    os.unlink(out)
    return text


def test_lazy_writes_synced_within_a_second():
    """what does not wait for the disk before its answer (a login's rows,
    the key's last-used stamp) is synced by pwlessd within about a second,
    with no other write coming to do it"""
    need_root()
    d = Daemon().start()
    try:
        d.enrol("pwlt-bob")
        key = d.new_key("pwlt-bob")
        time.sleep(1.5)		# the key's own sync is done

        def login():
            st, _ = call(d.sock, MSG_AUTH_KEY, [
                (T_USER, "pwlt-bob"), (T_SERVICE, "pwltest"), (T_KEY, key)])
            eq(st, "OK", "login")
        synced = fsyncs_during(d.proc.pid, 2.5, login)
        check(re.search(r"fdatasync\(\d+<%s-wal>" % re.escape(d.db),
                        synced), "no sync of the WAL within 2.5 s: %r" %
              synced)
    finally:
        d.cleanup()


if __name__ == "__main__":
    run_tests([test_kill9_loop_loses_nothing,
               test_lazy_writes_synced_within_a_second])
