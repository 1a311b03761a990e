"""pwlessd on its own: hostile frames, crashes, its config and master key,
reload, and what it writes to its log."""

import os
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import (Daemon, PWLESSD, MSG_AUTH_KEY, MSG_HELLO, T_KEY,
                     T_SERVICE, T_USER, T_VERSION, check, eq, frame,
                     key_id, need_root, pam, run_tests, tlv)

ALICE = "pwlt-alice"


def hello_ok(d):
    """The daemon still answers a fresh client promptly."""
    w = d.wire(timeout=2)
    t0 = time.monotonic()
    w.send(frame(MSG_HELLO))
    rep = w.recv_reply()
    w.close()
    check(rep is not None, "no reply to HELLO")
    eq(rep[2], "OK", "HELLO status")
    check(time.monotonic() - t0 < 1.0, "HELLO slow")
    check(rep[3][T_VERSION][0].startswith(b"pwlessd"), "version")


def test_hello_roundtrip():
    """HELLO answers with the daemon version and the request id"""
    with Daemon() as d:
        w = d.wire()
        w.send(frame(MSG_HELLO, req_id=0xdeadbeef))
        mtype, rid, status, _ = w.recv_reply()
        eq((mtype, rid, status), (MSG_HELLO, 0xdeadbeef, "OK"), "reply")


def test_truncated_frame():
    """a frame cut short and closed leaves the daemon serving"""
    with Daemon() as d:
        w = d.wire()
        w.send(frame(MSG_HELLO)[:7])
        w.close()
        w = d.wire()
        w.send(frame(MSG_AUTH_KEY, tlv(T_USER, "x"), body_len=50))
        w.close()
        hello_ok(d)


def test_oversized_length():
    """a length over 4096 is refused before any body is read"""
    with Daemon() as d:
        w = d.wire()
        w.send(frame(MSG_HELLO, body_len=1 << 30))
        rep = w.recv_reply()
        eq(rep[2], "BAD_REQUEST", "status")
        check(w.closed(), "connection left open")
        hello_ok(d)


def test_bad_tlv():
    """overrunning, duplicate and unknown critical TLVs are bad requests"""
    with Daemon() as d:
        bodies = [
            struct.pack(">HH", T_USER, 40) + b"short",
            tlv(T_USER, "a") + tlv(T_USER, "b"),
            tlv(0xbeef, "x"),
            tlv(T_USER, "a\nb"),
            tlv(T_USER, "a") + b"\x00",
        ]
        for b in bodies:
            w = d.wire()
            w.send(frame(MSG_AUTH_KEY, b))
            rep = w.recv_reply()
            eq(rep[2], "BAD_REQUEST", "body %r" % b)
            w.close()
        w = d.wire()
        w.send(frame(MSG_HELLO, tlv(0x3eef, "skip me")))
        eq(w.recv_reply()[2], "OK", "unknown optional tag skipped")
        hello_ok(d)


def test_wrong_major_version():
    """another major version gets VERSION and the connection closes"""
    with Daemon() as d:
        w = d.wire()
        w.send(frame(MSG_HELLO, major=2))
        rep = w.recv_reply()
        eq(rep[2], "VERSION", "status")
        check(w.closed(), "connection left open")
        hello_ok(d)


def test_unknown_type():
    """an unknown message type is a bad request, the connection lives"""
    with Daemon() as d:
        w = d.wire()
        w.send(frame(0x7777))
        eq(w.recv_reply()[2], "BAD_REQUEST", "status")
        w.send(frame(MSG_HELLO))
        eq(w.recv_reply()[2], "OK", "same connection still works")


def test_half_frame_stall():
    """a client that sends half a frame and stalls is dropped; others
    are served meanwhile"""
    with Daemon() as d:
        stall = d.wire(timeout=15)
        stall.send(frame(MSG_HELLO, tlv(T_USER, "abc"))[:14])
        t0 = time.monotonic()
        for _ in range(5):
            hello_ok(d)
        check(stall.closed(), "staller kept")
        elapsed = time.monotonic() - t0
        check(3 < elapsed < 9, "dropped after %.1fs" % elapsed)


def test_many_idle_clients():
    """a pile of idle connections does not block an honest request"""
    with Daemon() as d:
        socks = [d.wire() for _ in range(200)]
        hello_ok(d)
        for s in socks:
            s.close()


def test_kill9_after_key_create():
    """kill -9 right after 'key create' printed a key: it works after
    restart"""
    need_root()
    d = Daemon().start()
    try:
        d.enrol(ALICE)
        key = d.new_key(ALICE)
        d.kill9()
        d.start()
        r = pam(d.pam_service(), ALICE, [key])
        eq(r.results.get("auth"), "PAM_SUCCESS", repr(r))
    finally:
        d.cleanup()


def test_no_secret_in_log():
    """keys never reach the log, even in debug mode"""
    need_root()
    d = Daemon()
    try:
        d.proc = subprocess.Popen([PWLESSD, "-f", "-d", "-c", d.conf],
                                  stdout=open(d.log, "a"),
                                  stderr=subprocess.STDOUT)
        d.wait_ready()
        d.enrol(ALICE)
        key = d.new_key(ALICE)
        pam(d.pam_service(), ALICE, [key])
        pam(d.pam_service(), ALICE, [key[:-3] + "abc"])
        new = d.cli_ok("key", "rotate", key_id(key), user=ALICE).stdout
        log = d.logtext()
        check("event=auth" in log and "redacted" in log, "log too quiet")
        secret = key.split("_")[2]
        check(secret not in log, "key secret in log")
        check(new.split("_")[2][:20] not in log, "rotated key in log")
    finally:
        d.cleanup()


def test_check_config_reports_lines():
    """--check-config names file:line for every error"""
    d = Daemon("[keys]\nmax_lifetime = 5 weeks\nbogus = 1\n[nosuch]\n"
               "x = y\n")
    try:
        r = subprocess.run([PWLESSD, "--check-config", "-c", d.conf],
                           capture_output=True, text=True)
        eq(r.returncode, 1, "exit status")
        for line in ("pwlessd.conf:6: [keys] max_lifetime",
                     "pwlessd.conf:7: [keys] bogus",
                     "pwlessd.conf:9: [nosuch] x"):
            check(line in r.stderr, "missing %r in %r" % (line, r.stderr))
        d.write_conf()
        r = subprocess.run([PWLESSD, "--check-config", "-c", d.conf],
                           capture_output=True, text=True)
        eq(r.returncode, 0, "good config: " + r.stderr)
    finally:
        d.cleanup()


def test_runs_without_config_file():
    """no config file at all: the defaults are valid; a named missing
    file is an error"""
    r = subprocess.run([PWLESSD, "--check-config"], capture_output=True,
                       text=True)
    eq(r.returncode, 0, "defaults: " + r.stderr)
    r = subprocess.run([PWLESSD, "--check-config", "-c",
                        "/nonexistent/pwlessd.conf"],
                       capture_output=True, text=True)
    eq(r.returncode, 1, "a named missing file is an error")
    check("cannot read" in r.stderr, r.stderr)


def test_master_key_permissions():
    """the master key is created 0600 and refused when others can read"""
    d = Daemon()
    try:
        d.start()
        mk = os.path.join(d.dir, "master.key")
        eq(oct(os.stat(mk).st_mode & 0o777), "0o600", "created mode")
        eq(os.path.getsize(mk), 32, "size")
        d.stop()
        os.chmod(mk, 0o644)
        p = subprocess.run([PWLESSD, "-f", "-c", d.conf],
                           capture_output=True, text=True, timeout=10)
        check(p.returncode != 0, "started with a readable master key")
        check("chmod 600" in p.stderr, "no fix given: " + p.stderr)
    finally:
        d.cleanup()


def test_database_files_private():
    """the database directory and files are private to the daemon"""
    with Daemon() as d:
        st = os.stat(os.path.dirname(d.db))
        eq(oct(st.st_mode & 0o777), "0o700", "state dir")
        eq(oct(os.stat(d.db).st_mode & 0o777), "0o600", "database")
        eq(oct(os.stat(d.sock).st_mode & 0o777), "0o666", "socket")


def test_sighup_reload():
    """SIGHUP applies a new max_lifetime; a broken file is not applied"""
    need_root()
    d = Daemon().start()
    try:
        d.enrol(ALICE)
        r = d.cli("key", "create", "--expires", "30d", user=ALICE)
        eq(r.returncode, 0, "30d allowed: " + r.stderr)
        d.write_conf("[keys]\nmax_lifetime = 7d\ndefault_lifetime = 1d\n")
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        r = d.cli("key", "create", "--expires", "30d", user=ALICE)
        eq(r.returncode, 1, "30d refused after reload")
        check("7d" in r.stderr, "limit not explained: " + r.stderr)
        d.write_conf("[keys]\nmax_lifetime = nonsense\n")
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        check(d.proc.poll() is None, "daemon died on a bad reload")
        check("reload" in d.logtext(), "bad reload not logged")
        r = d.cli("key", "create", "--expires", "30d", user=ALICE)
        eq(r.returncode, 1, "old config kept")
    finally:
        d.cleanup()


def test_drops_privileges():
    """with user= the daemon runs as that user and still serves logins"""
    need_root()
    from pwltest import ensure_user
    svc = ensure_user("pwlt-svc")
    d = Daemon("user = pwlt-svc\n")    # still in the [daemon] section
    try:
        d.start()
        with open("/proc/%d/status" % d.proc.pid) as f:
            uid_line = [l for l in f if l.startswith("Uid:")][0]
        eq(uid_line.split()[1:], [str(svc.pw_uid)] * 4, "uids")
        d.enrol(ALICE)
        key = d.new_key(ALICE)
        eq(pam(d.pam_service(), ALICE, [key]).results.get("auth"),
           "PAM_SUCCESS", "login served after the drop")
    finally:
        d.cleanup()


def test_sigterm_clean_stop():
    """SIGTERM stops the daemon cleanly and removes its socket"""
    d = Daemon().start()
    try:
        d.proc.send_signal(signal.SIGTERM)
        eq(d.proc.wait(10), 0, "exit status")
        check(not os.path.exists(d.sock), "socket left behind")
    finally:
        d.cleanup()


def test_second_daemon_refused():
    """a second pwlessd on the same socket refuses to start"""
    with Daemon() as d:
        p = subprocess.run([PWLESSD, "-f", "-c", d.conf],
                           capture_output=True, text=True, timeout=10)
        check(p.returncode != 0, "second daemon started")
        check("already" in p.stderr, p.stderr)
        hello_ok(d)


if __name__ == "__main__":
    run_tests([
        test_hello_roundtrip,
        test_truncated_frame,
        test_oversized_length,
        test_bad_tlv,
        test_wrong_major_version,
        test_unknown_type,
        test_half_frame_stall,
        test_many_idle_clients,
        test_kill9_after_key_create,
        test_no_secret_in_log,
        test_check_config_reports_lines,
        test_runs_without_config_file,
        test_master_key_permissions,
        test_database_files_private,
        test_sighup_reload,
        test_drops_privileges,
        test_sigterm_clean_stop,
        test_second_daemon_refused,
    ])
