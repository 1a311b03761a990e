"""tokentest: what the token tests add to pwltest.

Paths of the token programs (pwless-askpass, tokencheck linking libpwless),
a PAM service with session lines (so close_session runs), test groups, and
raw protocol requests sent as another user (for permission tests).
"""

import grp
import os
import subprocess

from pwltest import (BUILD, MODULE, SRC, as_user, ensure_user, need_root,
                     tlv)

ASKPASS = os.path.join(BUILD, "pwless", "pwless-askpass")
TOKENCHECK = os.path.join(BUILD, "tests", "helpers", "tokencheck")
HELPERS = os.path.join(SRC, "tests", "helpers")
SYS_PYTHON = "/usr/bin/python3"  # runnable by every test user

MSG_TOKEN_VERIFY, MSG_SESSION_CLOSE = 0x0104, 0x0106
MSG_TOKEN_ISSUE = 0x0201
T_TOKEN, T_RHOST, T_WANT_TOKEN = 0x8008, 0x0003, 0x001c
T_EXPIRES, T_KIND, T_SERVICES = 0x000f, 0x002a, 0x800b


def session_service(d, name="pwltest", auth_opts=""):
    """A PAM service whose session stack runs the module too."""
    extra = "session optional %s socket=%s\n" % (MODULE, d.sock)
    return d.pam_service(name, auth_opts, extra)


def ensure_group(name, members):
    """A system group holding members (root only)."""
    need_root()
    try:
        grp.getgrnam(name)
    except KeyError:
        subprocess.run(["groupadd", name], check=True)
    for m in members:
        ensure_user(m)
        subprocess.run(["usermod", "-a", "-G", name, m], check=True)


_WIRE_CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from pwltest import Wire
w = Wire(sys.argv[2], 10)
w.send(bytes.fromhex(sys.argv[3]))
rep = w.recv_reply()
print(rep[2] if rep else "CLOSED")
"""


def wire_as(user, sock, data):
    """Sends one raw frame to pwlessd as user; returns the status name."""
    r = subprocess.run(as_user(user) + [SYS_PYTHON, "-c", _WIRE_CHILD,
                                        HELPERS, sock, data.hex()],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("wire_as %s failed: %s" % (user, r.stderr))
    return r.stdout.strip()


def tokencheck(sock, token, service=None, user=None):
    """Runs the libpwless test program; (exit status, output line)."""
    cmd = (as_user(user) if user else []) + [TOKENCHECK, sock]
    if service:
        cmd.append(service)
    r = subprocess.run(cmd, input=token + "\n", capture_output=True,
                       text=True, timeout=30)
    return r.returncode, r.stdout.strip() + r.stderr.strip()


def body(*pairs):
    return b"".join(tlv(t, v) for t, v in pairs)
