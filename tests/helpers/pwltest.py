"""pwltest: the harness behind the integration tests.

Starts a real pwlessd on a temporary socket and database, runs the real
pwless CLI (as other users through setpriv when root), drives real libpam
with the built module through tests/helpers/pamdrive, and speaks the wire
protocol directly for the malformed-frame tests.  Results are printed as
TAP so automake counts every test case.
"""

import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zlib

BUILD = os.environ.get("PWL_BUILDDIR", os.getcwd())
SRC = os.environ.get("PWL_SRCDIR", BUILD)
PWLESSD = os.path.join(BUILD, "pwlessd", "pwlessd")
PWLESS = os.path.join(BUILD, "pwless", "pwless")
PAMDRIVE = os.path.join(BUILD, "tests", "helpers", "pamdrive")
MODULE = os.path.join(BUILD, "pam_pwless", ".libs", "pam_pwless.so")

IS_ROOT = os.geteuid() == 0


class Skip(Exception):
    pass


def need_root():
    if not IS_ROOT:
        raise Skip("needs root (creates test users and runs commands as them)")


# --- TAP runner -----------------------------------------------------------

def run_tests(tests):
    """Runs the given functions in order; prints TAP; exits 0."""
    print("1..%d" % len(tests), flush=True)
    for n, fn in enumerate(tests, 1):
        name = fn.__name__
        doc = (fn.__doc__ or "").strip().splitlines()
        title = "%s: %s" % (name, doc[0]) if doc else name
        t0 = time.monotonic()
        try:
            fn()
        except Skip as e:
            print("ok %d - %s # SKIP %s" % (n, title, e), flush=True)
            continue
        except Exception:
            print("not ok %d - %s" % (n, title))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            sys.stdout.flush()
            continue
        print("ok %d - %s (%.2fs)" % (n, title, time.monotonic() - t0),
              flush=True)
    sys.exit(0)


def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def check(cond, what):
    if not cond:
        raise AssertionError(what)


# --- test users -----------------------------------------------------------

def ensure_user(name):
    """A real system account for the tests (root only); returns pwd entry."""
    need_root()
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh",
                    name], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return pwd.getpwnam(name)


def as_user(name):
    """Argument prefix that runs a command as user name (real uid too)."""
    pw = ensure_user(name)
    return ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
            "--init-groups", "--reset-env", "--"]


def fake_accounts(directory, names):
    """Environment for a pwlessd that sees extra accounts through
    nss_wrapper (libnss-wrapper), so tests need not create many users."""
    passwd = os.path.join(directory, "passwd")
    group = os.path.join(directory, "group")
    with open(passwd, "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
        for i, n in enumerate(names):
            f.write("%s:x:%d:%d::/nonexistent:/bin/sh\n" % (n, 50000 + i,
                                                           50000 + i))
    with open(group, "w") as f:
        f.write("root:x:0:\n")
    env = dict(os.environ)
    env.update(LD_PRELOAD="libnss_wrapper.so", NSS_WRAPPER_PASSWD=passwd,
               NSS_WRAPPER_GROUP=group,
               # RTLD_DEEPBIND cannot be used under ASan
               NSS_WRAPPER_DISABLE_DEEPBIND="1")
    # under --enable-sanitizers the preload comes before ASan's runtime
    asan = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + \
        "verify_asan_link_order=0"
    return env


# --- key format (mirrors lib/keyfmt.c, for typo tests) --------------------

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def crc_b62(text):
    v = zlib.crc32(text.encode()) & 0xffffffff
    out = ""
    for _ in range(6):
        out = B62[v % 62] + out
        v //= 62
    return out


def compose_key(kind, kid, secret):
    body = "pw%s_%s_%s" % (kind, kid, secret)
    return body + crc_b62(body)


def key_id(key):
    return key.split("_")[1]


# --- wire protocol --------------------------------------------------------

T_USER, T_SERVICE, T_RHOST, T_TTY = 0x8001, 0x8002, 0x0003, 0x0004
T_KEY, T_KEY_ID, T_LABEL, T_MESSAGE = 0x8006, 0x8009, 0x000a, 0x001d
T_ITEM, T_VERSION = 0x0014, 0x0020
MSG_HELLO, MSG_AUTH_KEY, MSG_KEY_LIST = 0x0001, 0x0101, 0x0302
ST = {0: "OK", 1: "DENIED", 2: "UNKNOWN_USER", 3: "EXPIRED",
      4: "RATE_LIMITED", 5: "NOT_PERMITTED", 6: "NO_FACTOR",
      7: "BAD_REQUEST", 8: "VERSION", 9: "INTERNAL", 10: "UNAVAILABLE",
      11: "NOT_FOUND", 12: "EXISTS", 13: "DISABLED", 14: "LIMIT"}


def tlv(tag, value):
    if isinstance(value, str):
        value = value.encode()
    return struct.pack(">HH", tag, len(value)) + value


def frame(mtype, body=b"", major=1, minor=0, req_id=7, body_len=None):
    n = len(body) if body_len is None else body_len
    return struct.pack(">IBBHI", n, major, minor, mtype, req_id) + body


def parse_tlvs(body):
    out = {}
    off = 0
    while off < len(body):
        tag, n = struct.unpack(">HH", body[off:off + 4])
        out.setdefault(tag, []).append(body[off + 4:off + 4 + n])
        off += 4 + n
    return out


class Wire:
    """A raw connection to pwlessd, for malformed-frame tests."""

    def __init__(self, path, timeout=5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)

    def send(self, data):
        self.s.sendall(data)

    def recv_reply(self):
        """(type, req_id, status, tlvs) or None when the daemon closed."""
        hdr = self._read(12)
        if hdr is None:
            return None
        n, _major, _minor, mtype, rid = struct.unpack(">IBBHI", hdr)
        body = self._read(n)
        status = struct.unpack(">H", body[:2])[0]
        return mtype, rid, ST.get(status, status), parse_tlvs(body[2:])

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.s.recv(n - len(buf))
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def closed(self):
        """True when the daemon has closed this connection."""
        try:
            return self.s.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True

    def close(self):
        self.s.close()


# --- the daemon -----------------------------------------------------------

class Daemon:
    """A real pwlessd on a temporary socket, database and master key."""

    def __init__(self, conf_extra="", name="pwlessd", env=None):
        self.dir = tempfile.mkdtemp(prefix="pwlt-")
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "run", "pwlessd.sock")
        self.db = os.path.join(self.dir, "state", "pwless.db")
        self.conf = os.path.join(self.dir, "pwlessd.conf")
        self.log = os.path.join(self.dir, name + ".log")
        self.proc = None
        self.env = env
        self.write_conf(conf_extra)

    def write_conf(self, extra=""):
        with open(self.conf, "w") as f:
            f.write("[daemon]\nsocket = %s\ndatabase = %s\n"
                    "master_key = %s\n" % (self.sock, self.db,
                                           os.path.join(self.dir,
                                                        "master.key")))
            f.write(extra)

    def start(self, wait=True):
        logf = open(self.log, "a")
        self.proc = subprocess.Popen([PWLESSD, "-f", "-c", self.conf],
                                     stdout=logf, stderr=logf,
                                     env=self.env)
        logf.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("pwlessd exited %d: %s" %
                                     (self.proc.returncode, self.logtext()))
            # ready = answering, not merely listening: the socket is
            # bound before pwlessd drops privileges and starts its loop
            try:
                w = Wire(self.sock, 1.0)
                try:
                    w.send(frame(MSG_HELLO))
                    if w.recv_reply() is not None:
                        return
                finally:
                    w.close()
            except OSError:
                pass
            time.sleep(0.02)
        raise AssertionError("pwlessd did not start: " + self.logtext())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def logtext(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # --- clients ---

    def cli(self, *args, user=None, stdin=None, env=None):
        """Runs pwless; returns CompletedProcess (text)."""
        cmd = (as_user(user) if user else []) + [PWLESS, "--socket",
                                                 self.sock] + list(args)
        return subprocess.run(cmd, input=stdin, capture_output=True,
                              text=True, timeout=30, env=env)

    def cli_ok(self, *args, user=None, stdin=None):
        r = self.cli(*args, user=user, stdin=stdin)
        if r.returncode != 0:
            raise AssertionError("pwless %s failed (%d): %s" %
                                 (" ".join(args), r.returncode, r.stderr))
        return r

    def enrol(self, user, *extra):
        ensure_user(user)
        self.cli_ok("admin", "user", "add", user, *extra)

    def new_key(self, user, *extra):
        r = self.cli_ok("key", "create", *extra, user=user)
        return r.stdout.splitlines()[0]

    def wire(self, timeout=5.0):
        return Wire(self.sock, timeout)

    def pam_service(self, name="pwltest", auth_opts="", extra=""):
        """Writes a PAM service into this daemon's confdir."""
        confdir = os.path.join(self.dir, "pam.d")
        os.makedirs(confdir, exist_ok=True)
        os.chmod(confdir, 0o755)
        with open(os.path.join(confdir, name), "w") as f:
            f.write("auth required %s socket=%s %s\n" %
                    (MODULE, self.sock, auth_opts))
            f.write("account required %s socket=%s %s\n" %
                    (MODULE, self.sock, auth_opts))
            f.write(extra)
        os.chmod(os.path.join(confdir, name), 0o644)
        return confdir


# --- PAM ------------------------------------------------------------------

class PamResult:
    def __init__(self, proc, elapsed):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.elapsed = elapsed
        self.lines = proc.stdout.splitlines()
        self.results = {}
        self.env = {}
        self.fail_delay = None
        for line in self.lines:
            parts = line.split(" ")
            if parts[0] == "RESULT" and len(parts) >= 3:
                self.results[parts[1]] = parts[2]
            if parts[0] == "FAIL_DELAY":
                self.fail_delay = int(parts[-1])
            if parts[0] == "ENV":
                k, _, v = line[4:].partition("=")
                self.env[k] = v

    def conversation(self):
        """The messages the user saw, without results."""
        return [l for l in self.lines
                if not l.startswith(("RESULT ", "ENV ", "FAIL_DELAY "))]

    def __repr__(self):
        return "PamResult(rc=%r, out=%r, err=%r)" % (self.rc, self.out,
                                                      self.err[-2000:])


def pam(confdir, user, answers=(), service="pwltest", ops="auth",
        rhost=None, as_=None, timeout=60, stdin=None):
    """Runs pamdrive: real libpam loading the built module."""
    cmd = (as_user(as_) if as_ else []) + [PAMDRIVE, "-D", "-d", confdir,
                                           "-s", service, "-u", user, "-o",
                                           ops]
    if rhost:
        cmd += ["-r", rhost]
    for a in answers:
        cmd += ["-a", a]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout, input=stdin or "")
    return PamResult(proc, time.monotonic() - t0)
