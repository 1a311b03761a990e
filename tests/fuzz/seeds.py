#!/usr/bin/python3
"""seeds.py: writes the seed corpora of fuzz_conf, fuzz_keyfmt,
fuzz_module_reply and fuzz_auditrec into tests/fuzz/corpus/<harness>/, and the hand-made
edge cases into tests/fuzz/regress/<harness>/edge-* (run from anywhere;
the files are kept in git, this says how they were made).  Crash inputs
found by fuzzing go to regress/<harness>/ as libFuzzer wrote them.
The module_reply layout is described at the top of fuzz_module_reply.c."""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "helpers"))
from pwltest import compose_key, tlv  # noqa: E402

ST_OK, ST_DENIED, ST_UNKNOWN, ST_RATE = 0, 1, 2, 4
T_TOKEN, T_EXPIRES, T_USER, T_MESSAGE = 0x8008, 0x000f, 0x8001, 0x001d
T_CHALLENGE, T_TTL, T_MASKED = 0x8019, 0x801b, 0x001a
T_ATTEMPTS_LEFT = 0x001f

# first answers of the harness (scenario bits 0-2)
A_KEY, A_TOKEN, A_EMPTY, A_EMAIL, A_SMS, A_CODE, A_DIGITS, A_TYPO = range(8)
RETRY, GOOD_CODE, AFTER = 0x08, 0x10, 0x80
TOKEN = compose_key("t", "Ab3dE9gH0j", "0123456789ABCDEFGHIJKLMNOPabcdef")


def u64(tag, v):
    return tlv(tag, struct.pack(">Q", v))


def reply(status, *tlvs, flags=0, header=None):
    body = struct.pack(">H", status) + b"".join(tlvs)
    rec = struct.pack(">BH", flags | (1 if header else 0), len(body))
    return rec + (header or b"") + body


def module_seeds():
    ok_token = reply(ST_OK, tlv(T_TOKEN, TOKEN), u64(T_EXPIRES, 1 << 31))
    started = reply(ST_OK, tlv(T_CHALLENGE, "c0ffee"), u64(T_TTL, 300),
                    tlv(T_MASKED, "j***@e***.com"))
    return {
        "key-ok-token": bytes([A_KEY, 0]) + ok_token,
        "key-denied": bytes([A_KEY, 1]) + reply(ST_DENIED),
        "key-rate-limited": bytes([A_KEY, 0]) + reply(
            ST_RATE, tlv(T_MESSAGE, "Too many tries; wait 5 minutes.")),
        "key-bad-header": bytes([A_KEY, 0]) + reply(
            ST_OK, header=struct.pack(">IBBHI", 2, 1, 0, 0x0101, 7)),
        "token-ok": bytes([A_TOKEN, 0]) + reply(
            ST_OK, tlv(T_USER, "alice"), u64(T_EXPIRES, 1 << 31)),
        "code-ok": bytes([A_EMPTY | GOOD_CODE, 4]) + started + ok_token,
        "code-ask-denied": bytes([A_CODE | GOOD_CODE | 0x20, 0x10 | 4]) +
        started + reply(ST_DENIED, struct.pack(">HHI", T_ATTEMPTS_LEFT, 4,
                                               2)),
        "code-retry": bytes([A_EMAIL | RETRY, 2]) + started + ok_token,
        "key-acct-close": bytes([A_KEY | AFTER, 0x08]) + ok_token +
        reply(ST_OK) + reply(ST_OK),
        "unknown-ignored": bytes([A_KEY | AFTER, 0x08]) + reply(ST_UNKNOWN) +
        reply(ST_UNKNOWN),
    }


def keyfmt_seeds():
    key = compose_key("l", "K3yId00042", "S3cr3tS3cr3tS3cr3tS3cr3tS3cr3tXY")
    return {
        "key": key.encode(),
        "token": TOKEN.encode(),
        "typo": (key[:20] + "a" + key[21:]).encode(),
        "compose": b"\x00\x00\x0a" + b"AbCdEfGh12" + b"x" * 32,
        "id": b"0123456789",
    }


def conf_seeds():
    return {
        "daemon": b"[daemon]\nsocket = /run/pwless/pwlessd.sock\n"
                  b"database = /var/lib/pwless/pwless.db\n"
                  b"trusted_uids = 0, root, 1000\nadmin_group = wheel\n",
        "limits": b"[keys]\ndefault_lifetime = 90d\nmax_lifetime = 365d\n"
                  b"max_per_user = 5\n[codes]\nlength = 6\nlifetime = 5m\n"
                  b"[tokens]\nlifetime = 15m\nmax_lifetime = 12h\n"
                  b"[limits]\nmax_failures = 10\nlockout = 15m\n",
        "email": b"[email]\ntransport = smtp\nurl = smtp://127.0.0.1:25\n"
                 b"from = pwless@example.org\n; comment\n",
        "sms": b"[sms]\ntransport = http\nurl = https://sms.example/send\n"
               b"method = POST\nallowed_prefixes = +44,+33\n",
        "errors": b"[daemon]\nsocket = relative\nbogus = 1\n[codes]\n"
                  b"length = 99\nno equals sign\n",
    }


def module_edges():
    ok = reply(ST_OK, tlv(T_TOKEN, TOKEN))
    return {
        "edge-hangup": bytes([A_KEY, 0]),
        "edge-body-over-cap": bytes([A_KEY, 0]) + reply(
            ST_OK, header=struct.pack(">IBBHI", 16385, 1, 0, 0x0101, 7)),
        "edge-short-body": bytes([A_KEY, 0]) + b"\x00\x00\x01\x00",
        "edge-no-challenge": bytes([A_EMPTY | GOOD_CODE, 0]) +
        reply(ST_OK) + ok,
        "edge-token-from-verify": bytes([A_TOKEN | AFTER, 0]) + ok +
        reply(ST_OK) + reply(ST_OK),
        "edge-malformed-token": bytes([A_KEY | AFTER, 0]) + reply(
            ST_OK, tlv(T_TOKEN, TOKEN[:-1] + "x")) + reply(ST_OK),
        "edge-bad-user": bytes([A_KEY, 0xc0]) + ok,
        "edge-long-user": bytes([A_EMPTY | GOOD_CODE, 0x80]) + ok + ok,
    }


def proto_edges():
    def nest(depth):
        body = tlv(T_USER, "x")
        for _ in range(depth):
            body = tlv(0x0014, body)
        return body
    many = b"".join(tlv(0x0014, b"") for _ in range(129))
    return {
        "edge-deep-items": struct.pack(">IBBHI", 0, 1, 0, 0x0302, 1) +
        b"\x00\x00" + nest(12),
        "edge-129-tlvs": struct.pack(">IBBHI", 0, 1, 0, 0x0302, 1) + many,
    }


def conf_edges():
    uids = ", ".join(str(i) for i in range(33))
    return {
        "edge-long-line": b"[email]\nfrom = " + b"a" * 300 + b"\n",
        "edge-33-uids": b"[daemon]\ntrusted_uids = " + uids.encode() +
        b"\n",
        "edge-nul": b"[daemon]\nsocket = /run/a\x00b\nuser = x\n",
        "edge-continuation": b"[sms]\nurl = https://a\n  continued\n",
        "edge-socket-107": b"[daemon]\nsocket = /" + b"s" * 106 + b"\n",
        "edge-socket-108": b"[daemon]\nsocket = /" + b"s" * 107 + b"\n",
        "edge-no-newline": b"[codes]\nlength = 10",
        "edge-huge-number": b"[keys]\nmax_per_user = 4294967297\n"
                            b"max_lifetime = 18446744073709551615\n",
    }


def keyfmt_edges():
    key = keyfmt_seeds()["key"]
    return {
        "edge-trailing": key + b"x",
        "edge-nul-inside": key[:20] + b"\x00" + key[21:],
        "edge-short": key[:-1],
    }


def auditrec(rid, event, user, detail=b"", result=b"ok", t=1764300000):
    """One audit journal record, as pwlessd/auditrec.c encodes it."""
    def s(v):
        return struct.pack(">H", len(v)) + v
    body = struct.pack(">QQQ", rid, t, 0) + s(event) + s(user) + \
        s(b"sshd") + s(b"192.0.2.7") + s(b"key") + s(result) + s(detail) + \
        bytes(range(32)) + bytes(range(32, 64))
    return struct.pack(">I", len(body)) + body


def auditrec_seeds():
    one = auditrec(1, b"auth", b"alice", b"key_id=QKu35XfgGA")
    two = one + auditrec(2, b"auth", b"bob", b"", b"DENIED")
    return {
        "one": one,
        "two": two,
        "torn": two[:-7],
        "empty-fields": auditrec(7, b"", b""),
    }


def auditrec_edges():
    one = auditrec(1, b"auth", b"alice")
    return {
        "edge-length-huge": b"\xff\xff\xff\xff" + one[4:],
        "edge-string-overrun": one[:4 + 24] + b"\x7f\xff" + one[30:],
        "edge-nul-in-string": one.replace(b"alice", b"al\x00ce"),
        "edge-trailing-bytes": struct.pack(">I", len(one) - 4 + 1) +
        one[4:] + b"x",
    }


def write(name, seeds, kind="corpus"):
    d = os.path.join(HERE, kind, name)
    os.makedirs(d, exist_ok=True)
    for fname, data in seeds.items():
        assert len(data) < 1024, fname
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("module_reply", module_seeds())
    write("keyfmt", keyfmt_seeds())
    write("conf", conf_seeds())
    write("module_reply", module_edges(), "regress")
    write("proto", proto_edges(), "regress")
    write("conf", conf_edges(), "regress")
    write("keyfmt", keyfmt_edges(), "regress")
    write("auditrec", auditrec_seeds())
    write("auditrec", auditrec_edges(), "regress")
