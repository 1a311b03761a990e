"""The audit trail of a real pwlessd: every attempt and change is a row,
chained by keyed hashes; 'pwless admin audit verify' names the first row
edited or removed by hand (with sqlite3, as an intruder would); users see
only their own events; pruning keeps the rest verifiable; answered
actions keep their rows across a kill -9."""

import json
import multiprocessing
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from audittest import AuditEnv, events
from codetest import (T_CHALLENGE, call, code_answer, code_start, tstr)
from pwltest import (check, compose_key, eq, key_id, pam, run_tests,
                     ensure_user)

CAROL, DAVE = "pwlt-carol", "pwlt-dave"
MAIL = "carol@example.org"
MSG_AUTH_KEY = 0x0101
T_USER, T_SERVICE, T_RHOST, T_KEY = 0x8001, 0x8002, 0x0003, 0x8006


def verify(e):
    r = e.d.cli("admin", "audit", "verify")
    return r.returncode, r.stdout + r.stderr


def busy(e):
    """Some history: logins that work and fail, a code, a token."""
    e.d.enrol(CAROL, "--email", MAIL)
    key = e.key(CAROL)
    svc = e.d.pam_service()
    eq(pam(svc, CAROL, [key], rhost="192.0.2.7").results.get("auth"),
       "PAM_SUCCESS", "key login")
    bad = compose_key("l", key_id(key), "Z" * 32)
    eq(pam(svc, CAROL, [bad], rhost="203.0.113.5").results.get("auth"),
       "PAM_AUTH_ERR", "wrong key")
    st, t = code_start(e.d, CAROL, rhost="192.0.2.7")
    eq(st, "OK", "code start")
    code_answer(e.d, CAROL, tstr(t, T_CHALLENGE), "00000000",
                rhost="192.0.2.7")
    return key


def test_every_attempt_is_a_row():
    """key, code and token attempts, good and bad, key and token changes
    and limit refusals are rows with method, result, service, rhost and
    caller uid; syslog carries the same event with its row id"""
    e = AuditEnv(limits="failures_before_delay = 100\nmax_failures = 2\n"
                 "sends_per_hour = 100\n")
    try:
        key = busy(e)
        uid = ensure_user(CAROL).pw_uid
        e.ok_as(CAROL, "login", stdin=key + "\n")
        st, _ = code_start(e.d, CAROL)
        eq(st, "RATE_LIMITED", "locked after two failures")
        e.ok_as(CAROL, "key", "revoke", key_id(key))
        eq(e.cli_as(CAROL, "key", "revoke", key_id(key)).returncode, 1,
           "revoked twice")
        e.d.cli_ok("admin", "user", "show", CAROL)
        eq(e.d.cli("admin", "user", "add", "pwlt-nosuch-acct").returncode,
           1, "no such account")
        rows = e.audit()
        eq([(r["user"], r["result"]) for r in events(
            rows, "self", type="KEY_REVOKE")], [(CAROL, "NOT_FOUND")],
           "a refused revocation")
        eq([(r["user"], r["uid"]) for r in events(
            rows, "admin", type="ADMIN_USER_SHOW")], [(CAROL, 0)],
           "an admin's read")
        eq([r["result"] for r in events(rows, "admin",
                                        type="ADMIN_USER_ADD")],
           ["NOT_FOUND"], "a failed enrolment")
        ok = events(rows, "auth", method="key", result="ok",
                    rhost="192.0.2.7")
        eq([(r["user"], r["service"], r["uid"]) for r in ok],
           [(CAROL, "pwltest", 0)], "a key login")
        eq(len(events(rows, "auth", method="key", result="DENIED",
                      rhost="203.0.113.5", reason="wrong_secret")), 1,
           "a wrong key")
        eq(len(events(rows, "code_start", method="code", result="ok")), 1,
           "a code sent")
        eq(len(events(rows, "auth", method="code", result="DENIED")), 1,
           "a wrong code")
        eq([r["uid"] for r in events(rows, "token_issue", result="ok",
                                     kind="api")],
           [uid], "a token made by carol's uid")
        check(events(rows, "refused", result="RATE_LIMITED"),
              "a limit's refusal")
        eq(len(events(rows, "key_revoke", key_id=key_id(key))), 1,
           "a revocation")
        log = e.d.logtext()
        for r in ok + events(rows, "key_revoke"):
            check(re.search(r"event=%s .*audit=%d\b" % (r["event"], r["id"]),
                            log), "row %d not in the log" % r["id"])
        eq(verify(e)[0], 0, "verify")
    finally:
        e.close()


def test_verify_names_the_edited_row():
    """an intact chain verifies; editing one row by hand makes verify
    exit 1 naming that row; so does removing one"""
    e = AuditEnv()
    try:
        busy(e)
        rc, out = verify(e)
        eq(rc, 0, out)
        check("intact" in out, out)
        (n,), = e.sql("SELECT id FROM audit WHERE result = 'DENIED' "
                      "ORDER BY id LIMIT 1")
        e.sql("UPDATE audit SET result = 'ok' WHERE id = ?", n)
        rc, out = verify(e)
        eq(rc, 1, out)
        check("row %d:" % n in out, "row %d not named: %r" % (n, out))
        e.sql("UPDATE audit SET result = 'DENIED' WHERE id = ?", n)
        eq(verify(e)[0], 0, "restored")
        e.sql("UPDATE audit SET detail = detail || ' x' WHERE id = ?", n + 1)
        rc, out = verify(e)
        check(rc == 1 and "row %d:" % (n + 1) in out, out)
        e.sql("UPDATE audit SET detail = substr(detail, 1, "
              "length(detail) - 2) WHERE id = ?", n + 1)
        e.sql("DELETE FROM audit WHERE id = ?", n)
        rc, out = verify(e)
        check(rc == 1 and "row %d " % n in out and "missing" in out, out)
    finally:
        e.close()


def test_users_see_only_their_own():
    """'pwless audit' shows a user only rows about them; admin audit
    filters by user; only admins read everyone's"""
    e = AuditEnv()
    try:
        busy(e)
        e.d.enrol(DAVE, "--email", "dave@example.org")
        e.key(DAVE)
        import json
        for user in (CAROL, DAVE):
            rows = json.loads(e.ok_as(user, "audit", "--json").stdout)
            check(len(rows) >= 2, "%s sees nothing" % user)
            eq({r["user"] for r in rows}, {user}, "%s's view" % user)
        rows = e.audit("--user", DAVE)
        eq({r["user"] for r in rows}, {DAVE}, "--user")
        check(len(e.audit()) > len(rows), "all rows")
        r = e.cli_as(CAROL, "admin", "audit")
        eq(r.returncode, 1, "a user reading everyone's")
        text = e.ok_as(CAROL, "audit").stdout
        check(DAVE not in text and CAROL in text, text)
        eq(json.loads(e.ok_as(CAROL, "audit", "--since", "2099-01-01",
                              "--json").stdout), [], "--since the future")
    finally:
        e.close()


def test_paging():
    """hundreds of rows come back in order over several pages"""
    e = AuditEnv()
    try:
        e.d.enrol(CAROL, "--email", MAIL)
        key = e.key(CAROL)
        for i in range(450):
            st, _ = call(e.d.sock, MSG_AUTH_KEY, [
                (T_USER, CAROL), (T_SERVICE, "svc%d" % i), (T_KEY, key)])
            eq(st, "OK", "login %d" % i)
        rows = e.audit("--since", "1h")
        ids = [r["id"] for r in rows]
        eq(ids, sorted(set(ids)), "ordered, no repeats")
        eq([r["service"] for r in events(rows, "auth", result="ok")],
           ["svc%d" % i for i in range(450)], "all rows, in order")
        table = e.d.cli_ok("admin", "audit").stdout.splitlines()
        ids = {int(line.split()[0]) for line in table[1:]}
        check(set(r["id"] for r in rows) <= ids and len(table) <=
              len(rows) + 3, "the table: a header and a line a row")
        eq(len(events(e.audit(), "admin", type="ADMIN_AUDIT")), 3,
           "one row a listing")
        eq(verify(e)[0], 0, "verify")
    finally:
        e.close()


def test_user_view_across_journal_and_table():
    """a user's own view, paged, lists exactly their rows in order, where
    some reached the table through the journal (good keys) and some
    directly (wrong keys count failures), other users' rows in between,
    and again after a kill -9 made pwlessd move journal rows in twice"""
    e = AuditEnv()
    try:
        ensure_user(CAROL)
        e.d.enrol(CAROL, "--email", MAIL)
        e.d.enrol(DAVE)
        key, dkey = e.key(CAROL), e.key(DAVE)
        bad = compose_key("k", key_id(key), "0" * 32)

        def logins(n):
            for i in range(n):
                for user, k in ((CAROL, key if i % 7 else bad),
                                (DAVE, dkey)):
                    call(e.d.sock, MSG_AUTH_KEY, [
                        (T_USER, user), (T_SERVICE, "svc%d" % i),
                        (T_KEY, k)])

        def same_view():
            mine = json.loads(e.ok_as(CAROL, "audit", "--json").stdout)
            want = [r for r in e.audit() if r.get("user") == CAROL]
            eq([r["id"] for r in mine], [r["id"] for r in want],
               "carol's view against the admin's, filtered")
            return mine

        logins(130)
        mine = same_view()
        check(len(mine) > 130, "more than a page: %d rows" % len(mine))
        e.d.kill9()		# journal rows not yet in the table, maybe
        e.d.start()
        logins(20)
        e.d.kill9()
        e.d.start()
        mine = same_view()
        check(len(mine) >= 150, "after two kills: %d rows" % len(mine))
        eq(verify(e)[0], 0, "verify")
    finally:
        e.close()


def test_long_details_are_cut_cleanly():
    """a detail longer than a row holds is cut between characters, and
    the trail still lists and verifies"""
    e = AuditEnv()
    try:
        e.d.enrol(CAROL, "--email", MAIL)
        svcs = ",".join("s\u00e9rvice%02d" % i for i in range(21))
        for n in range(10):		# the cut moves a byte each time
            e.key(CAROL, "--label", "\u00e9" * 27 + "x" * n,
                  "--services", svcs)
        rows = events(e.audit(), "key_create")
        eq(len(rows), 10, "rows")
        for r in rows:
            check(len(r["detail"].encode()) >= 245 and
                  r["detail"].startswith("key_id=") and
                  "s\u00e9rvice" in r["detail"], r["detail"])
        eq(verify(e)[0], 0, "verify")
    finally:
        e.close()


def _hammer(sock, user, key, n, out):
    class D:
        pass
    D.sock = sock
    good = 0
    for _ in range(n):
        st, _ = call(sock, MSG_AUTH_KEY, [(T_USER, user),
                                          (T_SERVICE, "pwltest"),
                                          (T_KEY, key)])
        good += st == "OK"
    out.put(good)


def test_concurrent_clients_group_commit():
    """clients in parallel: every answered login has its row, in one
    unbroken chain"""
    e = AuditEnv()
    try:
        e.d.enrol(CAROL, "--email", MAIL)
        key = e.key(CAROL)
        q = multiprocessing.Queue()
        ps = [multiprocessing.Process(target=_hammer,
                                      args=(e.d.sock, CAROL, key, 60, q))
              for _ in range(4)]
        for p in ps:
            p.start()
        good = sum(q.get(timeout=120) for _ in ps)
        for p in ps:
            p.join(60)
        eq(good, 240, "answered OK")
        eq(len(events(e.audit(), "auth", method="key", result="ok")), 240,
           "rows")
        eq(verify(e)[0], 0, "verify")
    finally:
        e.close()


def test_answered_actions_survive_kill():
    """a key whose creation was answered has its row after kill -9"""
    e = AuditEnv()
    try:
        e.d.enrol(CAROL, "--email", MAIL)
        ids = [key_id(e.key(CAROL)) for _ in range(5)]
        e.d.kill9()
        e.d.start()
        rows = events(e.audit(), "key_create")
        eq(sorted(r["detail"].split()[0] for r in rows),
           sorted("key_id=" + i for i in ids), "rows")
        eq(verify(e)[0], 0, "verify")
    finally:
        e.close()


def journal_logins(e, key, n=40, tries=8):
    """n good key logins, then kill -9 while their rows still wait in
    the journal (the one-second tick moves them into the table; tried
    again if it came first and left fewer than ten).  Returns the
    journal's bytes."""
    journal = e.d.db + "-audit"
    for _ in range(tries):
        for _ in range(n):
            st, _ = call(e.d.sock, MSG_AUTH_KEY, [
                (T_USER, CAROL), (T_SERVICE, "pwltest"), (T_KEY, key)])
            eq(st, "OK", "a good key")
        e.d.kill9()
        with open(journal, "rb") as f:
            data = f.read()
        if data.count(b"\x00\x04auth") >= 10:	# ten login records
            return data
        e.d.start()
    raise AssertionError("the tick emptied the journal every time")


def test_logins_survive_kill_in_journal():
    """successful logins, whose rows go to the journal beside the
    database, have their rows after kill -9: the restart moves them in"""
    e = AuditEnv()
    try:
        e.d.enrol(CAROL, "--email", MAIL)
        key = e.key(CAROL)
        before = len(events(e.audit(), "auth", method="key", result="ok"))
        data = journal_logins(e, key)
        e.d.start()
        rows = events(e.audit(), "auth", method="key", result="ok")
        check(len(rows) - before >= 40, "rows %d, before %d" %
              (len(rows), before))
        check(re.search(r"moved [1-9][0-9]* audit rows left in", e.d.logtext()),
              "log: " + e.d.logtext()[-1500:])
        eq(verify(e)[0], 0, "verify")
        print("# %d bytes of journal moved into the table after kill -9" %
              len(data))
    finally:
        e.close()


def test_torn_and_edited_journal():
    """a record cut short at the journal's end (a crash mid-write) is
    dropped quietly; an edited record is dropped with what follows, and
    the trail records the gap in a row of its own; the chain verifies"""
    e = AuditEnv()
    try:
        e.d.enrol(CAROL, "--email", MAIL)
        key = e.key(CAROL)
        data = journal_logins(e, key)
        with open(e.d.db + "-audit", "ab") as f:
            f.write(data[:len(data) // 3][:37])	# half a record
        e.d.start()
        check("cut short" in e.d.logtext(), "torn tail not logged")
        eq(events(e.audit(), "audit_gap"), [], "a torn tail is no gap")
        eq(verify(e)[0], 0, "verify after a torn tail")
        n0 = len(events(e.audit(), "auth", method="key", result="ok"))
        data = journal_logins(e, key)
        edited = bytearray(data)
        edited[len(data) // 2] ^= 0x01
        with open(e.d.db + "-audit", "wb") as f:
            f.write(edited)
        e.d.start()
        check("does not hold" in e.d.logtext(), "edit not logged")
        gaps = events(e.audit(), "audit_gap")
        eq(len(gaps), 1, "a row for the gap: %r" % gaps)
        n1 = len(events(e.audit(), "auth", method="key", result="ok"))
        check(n0 < n1 < n0 + 40 * 8, "rows before the edit kept: %d %d" %
              (n0, n1))
        eq(verify(e)[0], 0, "verify after an edited record")
    finally:
        e.close()


def test_full_disk_answers_unavailable():
    """with its disk full, pwlessd answers UNAVAILABLE for what it cannot
    record, and every attempt it did answer has its row"""
    import errno
    import subprocess
    from pwltest import Daemon, need_root
    need_root()
    d = Daemon()
    state = os.path.dirname(d.db)
    os.makedirs(state)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs",
                    state], check=True)
    filler = os.path.join(state, "filler")
    try:
        d.start()
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        for chunk in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as x:
                eq(x.errno, errno.ENOSPC, "filling the disk")
        os.ftruncate(fd, os.fstat(fd).st_size - 65536)	# room for a few
        os.close(fd)
        got = {}
        for i in range(300):
            name = "pwlt-ghost-%d" % i
            got[name] = call(d.sock, MSG_AUTH_KEY, [
                (T_USER, name), (T_SERVICE, "pwltest"),
                (T_KEY, "pwl_x")])[0]
        check("UNAVAILABLE" in got.values() and "UNKNOWN_USER" in
              got.values(), "full from the start, or never: %r" %
              sorted(set(got.values())))
        os.unlink(filler)
        st, _ = call(d.sock, MSG_AUTH_KEY, [(T_USER, "pwlt-ghost-x"),
                                            (T_SERVICE, "pwltest"),
                                            (T_KEY, "pwl_x")])
        eq(st, "UNKNOWN_USER", "after space came back")
        import json
        rows = json.loads(d.cli_ok("admin", "audit", "--json").stdout)
        logged = {r["user"] for r in rows if r["event"] == "auth"}
        for name, st in got.items():
            eq(name in logged, st != "UNAVAILABLE", "%s answered %s" %
               (name, st))
        r = d.cli("admin", "audit", "verify")
        eq(r.returncode, 0, r.stdout + r.stderr)
    finally:
        d.stop()
        subprocess.run(["umount", state])
        d.cleanup()


def test_prune_keeps_chain_verifiable():
    """rows older than [audit] keep go; the anchor keeps the rest
    verifiable, and a forged anchor is caught"""
    e = AuditEnv(extra="[audit]\nkeep = 1d\n")
    try:
        busy(e)
        (last,), = e.sql("SELECT max(id) FROM audit")
        cut = last // 2
        e.sql("UPDATE audit SET time = time - 3 * 86400 WHERE id <= ?", cut)
        eq(verify(e)[0], 1, "the aged rows no longer match their hashes")
        e.d.restart()		# prunes on its first tick
        end = time.monotonic() + 20
        while time.monotonic() < end:
            (first,), = e.sql("SELECT min(id) FROM audit")
            if first == cut + 1:
                break
            time.sleep(0.1)
        eq(first, cut + 1, "pruned up to the aged rows")
        rc, out = verify(e)
        eq(rc, 0, out)
        eq(e.sql("SELECT id FROM audit_anchor"), [(cut,)], "anchor")
        e.sql("UPDATE audit_anchor SET id = id - 1")
        rc, out = verify(e)
        check(rc == 1 and "anchor" in out, out)
    finally:
        e.close()


if __name__ == "__main__":
    run_tests([test_every_attempt_is_a_row, test_verify_names_the_edited_row,
               test_users_see_only_their_own, test_paging,
               test_user_view_across_journal_and_table,
               test_long_details_are_cut_cleanly,
               test_concurrent_clients_group_commit,
               test_answered_actions_survive_kill,
               test_logins_survive_kill_in_journal,
               test_torn_and_edited_journal,
               test_full_disk_answers_unavailable,
               test_prune_keeps_chain_verifiable])
