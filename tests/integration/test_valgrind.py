"""The PAM module under valgrind: pamtester (real libpam, Debian's
pamtester) loads the built pam_pwless.so from a service file bind-mounted
over /etc/pam.d in a private mount namespace, and runs the key, code and
token logins that succeed and those that fail, plus account and session
calls, with --leak-check=full.  Any memory error or definite leak fails."""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import (MODULE, Daemon, Skip, check, compose_key, eq, key_id,
                     need_root, run_tests)
from codetest import SENDER

USER = "pwlt-vg"
SERVICE = "pwlvg"
VG_ERR = 99


def need_tools():
    need_root()
    for tool in ("valgrind", "pamtester", "unshare"):
        if shutil.which(tool) is None:
            raise Skip("needs %s (Debian packages valgrind, pamtester)" % tool)
    with open(MODULE, "rb") as f:
        if b"__asan_init" in f.read():
            raise Skip("this build uses ASan, which valgrind cannot run; "
                       "the plain build runs it")


class Env:
    def __init__(self):
        self.d = Daemon()
        self.spool = os.path.join(self.d.dir, "spool")
        os.mkdir(self.spool)
        self.d.write_conf("[outbox]\nsender = %s\n[email]\ntransport = file"
                          "\nspool = %s\nfrom = pwless@example.org\n"
                          "[codes]\nresend_interval = 0s\n" %
                          (SENDER, self.spool))
        self.d.start()
        self.d.enrol(USER, "--email", "vg@example.org")
        self.key = self.d.new_key(USER)
        self.pamd = os.path.join(self.d.dir, "pamvg")
        os.mkdir(self.pamd)
        os.chmod(self.pamd, 0o755)
        self.service("")
        self.runs = 0

    def service(self, opts, sock=None):
        line = "%s socket=%s %s\n" % (MODULE, sock or self.d.sock, opts)
        with open(os.path.join(self.pamd, SERVICE), "w") as f:
            for kind in ("auth", "account", "session"):
                f.write("%s required %s" % (kind, line))

    def start(self, user, ops, items=()):
        """pamtester under valgrind, stdin a pipe; returns the Popen."""
        log = os.path.join(self.d.dir, "vg-%d.log" % self.runs)
        self.runs += 1
        vg = ["valgrind", "--leak-check=full", "--show-leak-kinds=definite",
              "--errors-for-leak-kinds=definite",
              "--error-exitcode=%d" % VG_ERR, "--log-file=" + log,
              "pamtester"] + ["-I" + i for i in items] + [SERVICE, user] + \
            list(ops)
        inner = "mount --bind %s /etc/pam.d && exec %s" % (
            self.pamd, " ".join("'%s'" % a for a in vg))
        p = subprocess.Popen(["unshare", "--mount", "--propagation",
                              "private", "sh", "-c", inner],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        p.vglog = log
        return p

    def finish(self, p, what, want_rc, stdin=""):
        out, err = p.communicate(stdin, timeout=120)
        with open(p.vglog) as f:
            vg = f.read()
        check(p.returncode != VG_ERR and "ERROR SUMMARY: 0 errors" in vg,
              "%s: valgrind found errors:\n%s" % (what, vg[-4000:]))
        check("definitely lost" not in vg or
              "definitely lost: 0 bytes" in vg, "%s: leak:\n%s" % (what, vg))
        eq(p.returncode, want_rc, "%s: pamtester status (%s)" % (what, err))
        return out + err

    def run(self, what, user, ops, lines, want_rc, items=()):
        p = self.start(user, ops, items)
        return self.finish(p, what, want_rc, "".join(l + "\n" for l in lines))

    def close(self):
        self.d.cleanup()


ALL_OPS = ("authenticate", "acct_mgmt", "open_session", "close_session")


def test_keys_and_tokens():
    """key and token logins, right and wrong, with account and session
    calls: no memory error, no leak"""
    need_tools()
    e = Env()
    try:
        e.run("right key", USER, ALL_OPS, [e.key], 0,
              items=("rhost=192.0.2.9", "tty=pts/4", "ruser=root"))
        e.run("wrong key", USER, ["authenticate"],
              [compose_key("l", key_id(e.key), "Z" * 32)], 1)
        typo = e.key[:-1] + ("x" if e.key[-1] != "x" else "y")
        e.run("mistyped key", USER, ["authenticate"], [typo], 1)
        e.run("neither key nor code", USER, ["authenticate"], ["hello"], 1)
        e.run("unknown user", "pwlt-vg-nosuch", ["authenticate"],
              [e.key], 1)
        tok = e.d.cli_ok("login", user=USER, stdin=e.key + "\n").stdout
        tok = tok.strip()
        e.run("right token", USER, ALL_OPS, [tok], 0)
        e.run("wrong token", USER, ["authenticate"],
              [compose_key("t", key_id(tok), "Z" * 32)], 1)
        e.service("debug methods=key,token try_first_pass")
        e.run("right key, debug", USER, ALL_OPS, [e.key], 0)
        e.service("", sock=os.path.join(e.d.dir, "no-such.sock"))
        e.run("no daemon", USER, ["authenticate", "acct_mgmt"], [e.key], 1)
        print("# %d pamtester runs under valgrind: no errors, no leaks" %
              e.runs)
    finally:
        e.close()


def wait_code(spool, seen, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for name in sorted(os.listdir(spool)):
            if name.endswith(".eml") and name not in seen:
                seen.add(name)
                with open(os.path.join(spool, name)) as f:
                    for line in f:
                        if line.strip().isdigit():
                            return line.strip()
        time.sleep(0.1)
    raise AssertionError("no code in %s" % spool)


def test_codes():
    """one-time code logins, right and wrong, and for unknown users"""
    need_tools()
    e = Env()
    try:
        seen = set()
        p = e.start(USER, ("authenticate", "acct_mgmt"))
        p.stdin.write("\n")
        p.stdin.flush()
        code = wait_code(e.spool, seen)
        out = e.finish(p, "right code", 0, code + "\n")
        check("One-time code" in out, out)
        e.run("wrong code", USER, ["authenticate"], ["", "00000000"], 1)
        wait_code(e.spool, seen)
        e.run("code for an unknown user", "pwlt-vg-nosuch",
              ["authenticate"], ["", "12345678"], 1)
        e.service("channel=ask show_destination")
        e.run("channel asked, wrong code", USER, ["authenticate"],
              ["", "email", "00000000"], 1)
        print("# %d pamtester runs under valgrind: no errors, no leaks" %
              e.runs)
    finally:
        e.close()


if __name__ == "__main__":
    run_tests([test_keys_and_tokens, test_codes])
