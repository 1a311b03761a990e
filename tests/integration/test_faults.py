"""Faults under a running pwlessd: its filesystem full or turned read-only
(a real ext4 filesystem on a loop device), its database deleted, replaced
or overwritten, its sender child killed.  In each case pwlessd says what
is wrong and what to do, refuses what it cannot record (the PAM module
then answers PAM_AUTHINFO_UNAVAIL), never acknowledges a write it did not
commit, and comes back once the fault is gone."""

import os
import re
import signal
import shutil
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import (Daemon, check, compose_key, eq, key_id, need_root, pam,
                     run_tests)
from codetest import T_CHALLENGE, CodeDaemon, code_answer, code_start, tstr
from faultfs import SmallFs
from mailsink import MailSink

BOB = "pwlt-lim-bob"
CAROL = "pwlt-carol"
CAROL_MAIL = "carol@example.org"


def wrong(key):
    return compose_key("l", key_id(key), "W" * 32)


def auth(svc, key):
    return pam(svc, BOB, [key], rhost="192.0.2.40").results.get("auth")


def wait_for(fn, what, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("%s within %ss" % (what, timeout))


def try_create(d, n):
    """n key creates; (keys acknowledged, refusals' stderr)"""
    keys, refused = [], []
    for _ in range(n):
        r = d.cli("key", "create", user=BOB)
        if r.returncode == 0:
            keys.append(r.stdout.splitlines()[0])
        else:
            eq(r.returncode, 1, "exit status of a refusal")
            eq(r.stdout, "", "a refusal printed a key")
            refused.append(r.stderr)
    return keys, refused


def on_fs(fs, conf=""):
    d = Daemon(conf)
    d.db = os.path.join(fs.mnt, "pwless.db")
    d.write_conf(conf)
    d.start()
    d.enrol(BOB)
    return d


def test_disk_full():
    """filesystem full: writes refused with a clear message; a login,
    which must leave its audit row, is UNAVAILABLE (fail closed), never
    let in unrecorded; after space is freed it works without a restart
    and every acknowledged key lives"""
    fs = SmallFs(8)
    d = None
    try:
        d = on_fs(fs, "[keys]\nmax_per_user = 32\n")
        svc = d.pam_service()
        key = d.new_key(BOB)
        filled = fs.fill()
        keys, refused = try_create(d, 20)
        check(len(refused) >= 15, "refusals %d of 20 (%d bytes filled)" %
              (len(refused), filled))
        check("full" in refused[-1], "message: " + refused[-1])
        eq(auth(svc, key), "PAM_AUTHINFO_UNAVAIL",
           "a right key cannot be audited with the disk full")
        eq(auth(svc, wrong(key)), "PAM_AUTHINFO_UNAVAIL",
           "a failure that cannot be counted")
        log = d.logtext()
        check("free space on its filesystem" in log, "log says what to do")
        fs.unfill()
        eq(auth(svc, key), "PAM_SUCCESS", "a right key once space is back")
        more, refused2 = try_create(d, 1)
        eq(len(more), 1, "create after space came back: %r" % refused2)
        d.restart()
        for k in [key] + keys + more:
            eq(auth(svc, k), "PAM_SUCCESS", "acknowledged key after restart")
        n = len(d.cli_ok("key", "list", "--json", user=BOB).stdout.split(
            '"key_id"')) - 1
        eq(n, 1 + len(keys) + len(more), "keys stored")
        print("# disk full: %d of 20 creates refused, %d acknowledged, all "
              "of them there after a restart" % (len(refused), len(keys)))
    finally:
        if d:
            d.cleanup()
        fs.close()


def test_readonly_filesystem():
    """the filesystem turns read-only under pwlessd (as after a disk
    error): writes and logins refused (a login must leave its audit row),
    nothing is acknowledged, the log says so"""
    fs = SmallFs(8)
    d = None
    try:
        d = on_fs(fs)
        svc = d.pam_service()
        key = d.new_key(BOB)
        fs.make_readonly()
        keys, refused = try_create(d, 3)
        eq(keys, [], "a key was acknowledged on a read-only filesystem")
        check("read-only" in refused[0], "message: " + refused[0])
        eq(auth(svc, key), "PAM_AUTHINFO_UNAVAIL", "a right key, unaudited")
        eq(auth(svc, wrong(key)), "PAM_AUTHINFO_UNAVAIL", "a wrong key")
        check("Read-only file system" in d.logtext() and
              "check dmesg" in d.logtext(), "log: " + d.logtext()[-2000:])
        d.stop()
        d.start(wait=False)
        try:
            d.wait_ready(10)
            started = True
        except AssertionError:
            started = False
        if started:
            eq(auth(svc, key), "PAM_AUTHINFO_UNAVAIL",
               "restarted read-only: a login cannot be audited")
            eq(try_create(d, 1)[0], [], "restarted read-only: writes")
        else:
            check("database" in d.logtext(), "why it cannot start")
        print("# read-only: pwlessd %s when restarted on it" %
              ("serves reads and refuses writes" if started else
               "refuses to start"))
    finally:
        if d:
            d.cleanup()
        fs.close()


def test_deleted_under_daemon():
    """the database deleted while pwlessd runs: every request refused,
    what pwlessd had saved beside it; moved back, all is there"""
    d = Daemon().start()
    try:
        d.enrol(BOB)
        svc = d.pam_service()
        key = d.new_key(BOB)
        for sfx in ("", "-wal", "-shm"):
            if os.path.exists(d.db + sfx):
                os.unlink(d.db + sfx)
        eq(auth(svc, key), "PAM_AUTHINFO_UNAVAIL", "login after delete")
        keys, refused = try_create(d, 1)
        eq(keys, [], "a key acknowledged into a deleted file")
        check("deleted or replaced" in refused[0], refused[0])
        # the copy is made between loop passes, within a second
        end = time.monotonic() + 5
        while True:
            m = re.search(r"saved in (\S+): stop pwlessd, move that file",
                          d.logtext())
            if m or time.monotonic() > end:
                break
            time.sleep(0.1)
        check(m, "no rescue in the log: " + d.logtext()[-2000:])
        rescued = m.group(1)
        db = sqlite3.connect(rescued)
        eq(db.execute("SELECT count(*) FROM keys").fetchone()[0], 1, "keys")
        db.close()
        d.stop()
        os.rename(rescued, d.db)
        d.start()
        eq(auth(svc, key), "PAM_SUCCESS", "after moving the copy back")
    finally:
        d.cleanup()


def test_replaced_under_daemon():
    """another file renamed over the database: refused until restarted,
    then the new file is used"""
    d = Daemon().start()
    try:
        d.enrol(BOB)
        svc = d.pam_service()
        key = d.new_key(BOB)
        copy = d.db + ".copy"
        src = sqlite3.connect(d.db)
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        dst.close()
        os.rename(copy, d.db)
        eq(auth(svc, key), "PAM_AUTHINFO_UNAVAIL", "login after replace")
        check("was replaced while pwlessd ran" in d.logtext(), "log")
        d.restart()
        eq(auth(svc, key), "PAM_SUCCESS", "on the new file")
    finally:
        d.cleanup()


def overwrite(path, start):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek(start)
        f.write(os.urandom(max(size - start, 4096)))
        f.flush()
        os.fsync(f.fileno())


def test_overwritten_under_daemon():
    """the database overwritten in place: refused within seconds, no wrong
    key ever accepted; a restart refuses the file and says what to do; a
    backup brings it back"""
    d = Daemon().start()
    try:
        d.enrol(BOB)
        svc = d.pam_service()
        key = d.new_key(BOB)
        backup = d.db + ".bak"
        src = sqlite3.connect(d.db)
        dst = sqlite3.connect(backup)
        src.backup(dst)
        src.close()
        dst.close()
        overwrite(d.db, 0)
        seen = []
        end = time.monotonic() + 5
        while time.monotonic() < end:
            seen.append(auth(svc, wrong(key)))
            if seen[-1] == "PAM_AUTHINFO_UNAVAIL":
                break
        check("PAM_SUCCESS" not in seen, "a wrong key passed: %r" % seen)
        eq(seen[-1], "PAM_AUTHINFO_UNAVAIL", "refused: %r" % seen)
        eq(auth(svc, key), "PAM_AUTHINFO_UNAVAIL", "even a right key")
        check("is damaged" in d.logtext(), "log: " + d.logtext()[-1500:])
        d.stop()
        d.start(wait=False)
        rc = d.proc.wait(10)
        check(rc != 0, "pwlessd started on a damaged database")
        check("move it aside" in d.logtext(), "advice: " + d.logtext()[-800:])
        os.rename(backup, d.db)
        for sfx in ("-wal", "-shm"):
            if os.path.exists(d.db + sfx):
                os.unlink(d.db + sfx)
        d.start()
        eq(auth(svc, key), "PAM_SUCCESS", "from the backup")
    finally:
        d.cleanup()


def test_damaged_pages_refused_at_start():
    """damage past the header, which a running pwlessd may not read again:
    the check at start finds it and pwlessd does not start on it"""
    d = Daemon().start()
    try:
        d.enrol(BOB)
        for i in range(50):
            d.cli_ok("admin", "user", "set-email", BOB, "b%d@example.org" % i)
        key = d.new_key(BOB)
        d.stop()		# checkpoints: every page is in the file now
        overwrite(d.db, 4096)
        d.start(wait=False)
        rc = d.proc.wait(10)
        check(rc != 0, "pwlessd started on a damaged database")
        check("damaged" in d.logtext() or "malformed" in d.logtext(),
              "log: " + d.logtext()[-800:])
        check(key.split("_")[2] not in d.logtext(), "key in the log")
    finally:
        d.cleanup()


def sender_children(d):
    kids = open("/proc/%d/task/%d/children" % (d.proc.pid, d.proc.pid)).read()
    return [int(p) for p in kids.split()]


def mail_from(mail, rhost, timeout=30):
    """The first mail asked for from rhost (its body names it)."""
    def find():
        with mail._lock:
            ms = [m for m in mail.messages if "from %s." % rhost in m.text]
        return ms[0] if ms else None
    return wait_for(find, "a mail for the code asked from " + rhost, timeout)


def test_sender_killed():
    """the sender child killed, idle or in the middle of a delivery: codes
    asked meanwhile are answered at once and delivered once it is back"""
    need_root()
    mail = MailSink().start()
    d = CodeDaemon(mail).start()
    try:
        d.enrol(CAROL, "--email", CAROL_MAIL)
        pid = None
        for n in range(1, 6):
            # the sender: a child of pwlessd other than the one killed
            # last (listed until pwlessd has reaped it)
            pid = wait_for(lambda: [c for c in sender_children(d)
                                    if c != pid], "a sender", 10)[0]
            tag = "kill-%d.example" % n
            if n % 2 == 0:		# in the middle of a delivery
                mail.hold()
            t0 = time.monotonic()
            st, t = code_start(d, CAROL, rhost=tag)
            eq(st, "OK", "code asked")
            check(time.monotonic() - t0 < 1, "pwlessd waited on the sender")
            if n % 2 == 0:
                check(mail.wait_held(20), "delivery never started")
            os.kill(pid, signal.SIGKILL)
            mail.release()
            m = mail_from(mail, tag)
            eq(code_answer(d, CAROL, tstr(t, T_CHALLENGE), m.code(),
                           rhost=tag)[0], "OK", "code %d works" % n)
        eq(d.logtext().count("sender died of signal 9"), 5, "kills logged")
        print("# sender killed 5 times (2 mid-delivery): 5 codes delivered "
              "and used, %d mails in all" % mail.count())
    finally:
        mail.release()
        d.cleanup()
        mail.stop()


if __name__ == "__main__":
    run_tests([
        test_disk_full,
        test_readonly_filesystem,
        test_deleted_under_daemon,
        test_replaced_under_daemon,
        test_overwritten_under_daemon,
        test_damaged_pages_refused_at_start,
        test_sender_killed,
    ])
