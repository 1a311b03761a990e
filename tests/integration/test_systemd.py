"""pwlessd under systemd and without it: the units pass systemd-analyze
verify and say what the design needs; pwlessd serves a socket passed the
way systemd passes it and says READY=1; it daemonises with a pid file; and
--init makes the master key for the user it will run as."""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from opstest import SRC, source
from pwltest import (BUILD, PWLESSD, Daemon, Skip, check, ensure_user, eq,
                     frame, MSG_HELLO, need_root, run_tests, Wire)

UNITS = os.path.join(SRC, "data", "systemd")
SVC_USER = "pwlt-svc"


def unit(name):
    """A unit as {key: [values]} (later sections merge; enough here)."""
    out = {}
    with open(os.path.join(UNITS, name)) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "[")) and "=" in line:
                k, _, v = line.partition("=")
                out.setdefault(k, []).append(v)
    return out


def service_text(sbindir, sysconfdir="/etc"):
    with open(os.path.join(UNITS, "pwlessd.service.in")) as f:
        return (f.read().replace("@sbindir@", sbindir)
                .replace("@sysconfdir@", sysconfdir))


def hello(path):
    w = Wire(path, timeout=5)
    w.send(frame(MSG_HELLO))
    rep = w.recv_reply()
    w.close()
    check(rep is not None and rep[2] == "OK", "HELLO: %r" % (rep,))


def test_units_verify():
    """systemd-analyze verify accepts both units, man pages included"""
    sa = shutil.which("systemd-analyze")
    if sa is None:
        raise Skip("systemd-analyze not installed (package systemd)")
    tmp = tempfile.mkdtemp(prefix="pwlt-units-")
    try:
        shutil.copy(os.path.join(UNITS, "pwlessd.socket"), tmp)
        with open(os.path.join(tmp, "pwlessd.service"), "w") as f:
            f.write(service_text(os.path.dirname(PWLESSD)))
        # Documentation= links are checked with man: give it our pages.
        for p in ("pam_pwless.8", "pwlessd.8", "pwlessd.conf.5"):
            d = os.path.join(tmp, "man", "man" + p.rsplit(".", 1)[1])
            os.makedirs(d, exist_ok=True)
            shutil.copy(os.path.join(SRC, "man", p), d)
        env = dict(os.environ, MANPATH=os.path.join(tmp, "man"),
                   SYSTEMD_LOG_LEVEL="notice")
        r = subprocess.run([sa, "verify", os.path.join(tmp, "pwlessd.socket"),
                            os.path.join(tmp, "pwlessd.service")],
                           capture_output=True, text=True, env=env,
                           timeout=120)
        out = (r.stdout + r.stderr).strip()
        eq((r.returncode, out), (0, ""), "systemd-analyze verify")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_units_say_what_design_needs():
    """socket 0666 outside the service's directories, notify, state dir,
    credentials, hardening without PrivateUsers"""
    sock = unit("pwlessd.socket")
    svc = unit("pwlessd.service.in")
    dflt = re.search(r'PWL_DEFAULT_SOCKET\s+"([^"]+)"',
                     source("include/pwless/proto.h")).group(1)
    eq(sock["ListenStream"], [dflt], "socket path = the built-in default")
    eq(sock["SocketMode"], ["0666"], "SocketMode")
    eq(sock["DirectoryMode"], ["0755"], "DirectoryMode")
    check("RuntimeDirectory" not in svc,
          "a RuntimeDirectory would be removed with the socket in it")
    eq(svc["Type"], ["notify"], "Type")
    eq(svc["StateDirectory"], ["pwless"], "StateDirectory")
    eq(svc["StateDirectoryMode"], ["0700"], "StateDirectoryMode")
    check(any(v.startswith("secret:@sysconfdir@/pwless/credentials")
              for v in svc["LoadCredential"]), "LoadCredential")
    for k, v in (("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                 ("NoNewPrivileges", "yes"), ("PrivateTmp", "yes"),
                 ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
                 ("User", "pwless")):
        eq(svc.get(k), [v], k)
    check("@system-service" in svc["SystemCallFilter"], "SystemCallFilter")
    check("PrivateUsers" not in svc and "DynamicUser" not in svc,
          "PrivateUsers/DynamicUser hide callers' uids or the key owner")
    eq(svc["ExecStart"], ["@sbindir@/pwlessd -f"], "ExecStart")
    eq(svc["ExecStartPre"], ["+@sbindir@/pwlessd --init=pwless"],
       "ExecStartPre")


def test_make_install_units():
    """make install puts the units (with the installed pwlessd path) and
    the sysusers entry where systemd looks"""
    mk = os.path.join(BUILD, "Makefile")
    with open(mk) as f:
        text = f.read()
    var = dict(re.findall(r"^(\w+) = (.*)$", text, re.M))

    def expand(v):
        return re.sub(r"\$\{(\w+)\}", lambda m: expand(var[m.group(1)]), v)
    unitdir = expand(var["systemdsystemunitdir"])
    sbindir = expand(var["sbindir"])
    if unitdir.strip() == "no":
        raise Skip("configure found no systemd.pc (install systemd)")
    dest = tempfile.mkdtemp(prefix="pwlt-inst-")
    try:
        r = subprocess.run(["make", "-C", BUILD, "install-data",
                            "DESTDIR=" + dest], capture_output=True,
                           text=True, timeout=300)
        eq(r.returncode, 0, "make install-data: " + r.stderr[-2000:])
        for u in ("pwlessd.socket", "pwlessd.service"):
            check(os.path.isfile(dest + unitdir + "/" + u), u)
        with open(dest + unitdir + "/pwlessd.service") as f:
            svc = f.read()
        check("@sbindir@" not in svc and "@sysconfdir@" not in svc,
              "unsubstituted")
        check("\nExecStart=%s/pwlessd -f\n" % sbindir in svc,
              "ExecStart: " + svc)
        found = [os.path.join(d, f) for d, _, fs in os.walk(dest)
                 for f in fs]
        check(any(f.endswith("sysusers.d/pwless.conf") for f in found),
              "sysusers.d entry: %r" % found)
        cred = [d for d, _, _ in os.walk(dest)
                if d.endswith("pwless/credentials")]
        check(cred and os.stat(cred[0]).st_mode & 0o777 == 0o700,
              "credentials directory 0700: %r" % cred)
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def test_make_uninstall():
    """make uninstall takes back every file make install put down"""
    dest = tempfile.mkdtemp(prefix="pwlt-inst-")
    try:
        for target in ("install", "uninstall"):
            r = subprocess.run(["make", "-C", BUILD, target,
                                "DESTDIR=" + dest], capture_output=True,
                               text=True, timeout=300)
            eq(r.returncode, 0, "make %s: %s" % (target, r.stderr[-2000:]))
        left = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs]
        eq(left, [], "files left after make uninstall")
        check(not any(d.endswith("credentials") for d, _, _ in os.walk(dest)),
              "credentials directory left")
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def test_socket_activation_and_notify():
    """given fd 3 the systemd way, pwlessd serves it, says READY=1 on
    NOTIFY_SOCKET, ignores its own socket setting, and leaves the socket
    to systemd when it stops"""
    d = Daemon()
    notify = None
    try:
        path = os.path.join(d.dir, "activated.sock")
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(path)
        lsock.listen(16)
        npath = os.path.join(d.dir, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(npath)
        notify.settimeout(20)
        env = dict(os.environ, LISTEN_FDS="1", NOTIFY_SOCKET=npath)
        cmd = ('LISTEN_PID=$$ exec "$0" -f -c "$1" 3<&%d' % lsock.fileno())
        proc = subprocess.Popen(["/bin/sh", "-c", cmd, PWLESSD, d.conf],
                                env=env, pass_fds=(lsock.fileno(),),
                                stdout=subprocess.DEVNULL,
                                stderr=open(d.log, "a"))
        d.proc = proc
        lsock.close()
        msg = notify.recv(256)
        eq(msg, b"READY=1", "notification")
        hello(path)
        check(not os.path.exists(d.sock), "bound its own socket too")
        check("passed by systemd" in d.logtext(), d.logtext())
        proc.send_signal(signal.SIGTERM)
        eq(proc.wait(20), 0, "exit status")
        check(os.path.exists(path), "removed systemd's socket")
    finally:
        if notify is not None:
            notify.close()
        d.cleanup()


def test_daemonise_with_pidfile():
    """without -f, pwlessd returns once ready, writes its pid file, serves,
    and removes the pid file on SIGTERM; a failed start exits 1"""
    d = Daemon()
    try:
        pidfile = os.path.join(d.dir, "pwlessd.pid")
        d.write_conf("pidfile = %s\n" % pidfile)
        r = subprocess.run([PWLESSD, "-c", d.conf], capture_output=True,
                           text=True, timeout=30)
        eq(r.returncode, 0, "start: " + r.stderr)
        with open(pidfile) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        hello(d.sock)
        os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + 20
        while time.monotonic() < end and os.path.exists(pidfile):
            time.sleep(0.05)
        check(not os.path.exists(pidfile), "pid file left behind")
        check(not os.path.exists(d.sock), "socket left behind")
        os.chmod(os.path.join(d.dir, "master.key"), 0o644)
        r = subprocess.run([PWLESSD, "-c", d.conf], capture_output=True,
                           text=True, timeout=30)
        eq(r.returncode, 1, "a failed start reaches the shell")
        check("chmod 600" in r.stderr, "reason: " + r.stderr)
    finally:
        d.cleanup()


def test_init_for_service_user():
    """pwlessd --init=USER makes a 0600 master key owned by USER; a root
    start with [daemon] user = USER reads it, drops to USER and serves"""
    need_root()
    pw = ensure_user(SVC_USER)
    d = Daemon()
    try:
        mk = os.path.join(d.dir, "master.key")
        d.write_conf("user = %s\n" % SVC_USER)
        r = subprocess.run([PWLESSD, "-c", d.conf, "--init=" + SVC_USER],
                           capture_output=True, text=True, timeout=30)
        eq(r.returncode, 0, "--init: " + r.stderr)
        st = os.stat(mk)
        eq((st.st_uid, oct(st.st_mode & 0o777)), (pw.pw_uid, "0o600"),
           "owner and mode")
        r = subprocess.run([PWLESSD, "-c", d.conf, "--init"],
                           capture_output=True, text=True, timeout=30)
        eq(r.returncode, 0, "--init again: " + r.stderr)
        d.start()
        with open("/proc/%d/status" % d.proc.pid) as f:
            uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)", f.read(),
                             re.M).groups()
        eq(uids, (str(pw.pw_uid),) * 3, "runs as the service user")
        eq(os.stat(os.path.dirname(d.db)).st_uid, pw.pw_uid,
           "database directory owner")
        hello(d.sock)
        d.stop()
        os.chown(mk, 0, 0)
        r = subprocess.run([PWLESSD, "-c", d.conf, "--init"],
                           capture_output=True, text=True, timeout=30)
        eq(r.returncode, 1, "--init on a key of the wrong owner")
        check("chown" in r.stderr, r.stderr)
    finally:
        d.cleanup()


if __name__ == "__main__":
    run_tests([
        test_units_verify,
        test_units_say_what_design_needs,
        test_make_install_units,
        test_make_uninstall,
        test_socket_activation_and_notify,
        test_daemonise_with_pidfile,
        test_init_for_service_user,
    ])
