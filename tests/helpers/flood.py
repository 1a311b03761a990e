"""flood: sends many failing credentials to pwlessd over its socket and
counts the answers, as an attacker on one host or one local account would.

    python3 flood.py SOCKET METHOD USER COUNT [--rhost R] [--ruser U]
        [--tty T] [--service S] [--seconds N]

METHOD is key (AUTH_KEY with a well-formed wrong key), token
(TOKEN_VERIFY with a well-formed unknown token), code (CODE_ANSWER to a
challenge that does not exist) or start (CODE_START).  USER may contain
{n} for a new name each time.  With --seconds it goes on for that long
(COUNT is then a cap).  Prints one JSON object: status -> count.
Run it as another user (setpriv) to flood from that uid.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pwltest import Wire, compose_key, frame, tlv  # noqa: E402

T_USER, T_SERVICE, T_RHOST, T_TTY, T_RUSER = (0x8001, 0x8002, 0x0003,
                                              0x0004, 0x0005)
T_KEY, T_CODE, T_TOKEN, T_CHALLENGE = 0x8006, 0x8007, 0x8008, 0x8019
MSG = {"key": 0x0101, "start": 0x0102, "code": 0x0103, "token": 0x0104}


def secret(kind, n):
    """A well-formed pwl_/pwt_ secret that exists nowhere."""
    return compose_key(kind, ("Zz%08d" % n)[-10:], "Q" * 32)


def call(path, mtype, fields, timeout=10.0):
    """One request; returns (status name, {tag: [bytes]}), or (None, {})
    when pwlessd closed the connection or did not answer: a flood counts
    those too."""
    try:
        w = Wire(path, timeout)
    except OSError:
        return None, {}
    try:
        w.send(frame(mtype, b"".join(tlv(t, v) for t, v in fields
                                     if v is not None), req_id=1))
        rep = w.recv_reply()
    except (OSError, TypeError, ValueError):
        return None, {}
    finally:
        w.close()
    return (None, {}) if rep is None else (rep[2], rep[3])


def request(method, user, n, who):
    """The fields of request number n."""
    f = [(T_USER, user), (T_SERVICE, who["service"]),
         (T_RHOST, who["rhost"]), (T_TTY, who["tty"]),
         (T_RUSER, who["ruser"])]
    if method == "key":
        f.append((T_KEY, secret("l", n)))
    elif method == "token":
        f.append((T_TOKEN, secret("t", n)))
    elif method == "code":
        f += [(T_CHALLENGE, "NoSuchChallenge%07d" % n), (T_CODE, "12345678")]
    return f


def flood(path, method, user, count, who, seconds=0.0):
    seen = {}
    end = time.monotonic() + seconds
    for n in range(count):
        if seconds and time.monotonic() > end:
            break
        name = user.replace("{n}", str(n))
        st, _ = call(path, MSG[method], request(method, name, n, who))
        seen[st or "NO_ANSWER"] = seen.get(st or "NO_ANSWER", 0) + 1
    return seen


def main(argv):
    path, method, user, count = argv[1], argv[2], argv[3], int(argv[4])
    who = {"rhost": None, "ruser": None, "tty": None, "service": "sshd",
           "seconds": "0"}
    rest = argv[5:]
    while rest:
        opt, val = rest[0], rest[1]
        who[opt.lstrip("-")] = val
        rest = rest[2:]
    seconds = float(who.pop("seconds"))
    print(json.dumps(flood(path, method, user, count, who, seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
