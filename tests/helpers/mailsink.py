"""mailsink: a real SMTP server on loopback for the tests (aiosmtpd).

MailSink listens on 127.0.0.1 on a free port, keeps every message it
accepts, and can be stopped and started again on the same port (to play
a mail server that is down for a while).  hold() makes it keep the
message but not answer the end of DATA until release(): the window in
which a client crash leaves a delivered message unconfirmed.
"""

import asyncio
import email
import email.policy
import logging
import re
import socket
import threading
import time

from aiosmtpd.controller import Controller

CODE_RE = re.compile(r"^\s+(\d{6,10})\s*$", re.M)
logging.getLogger("mail.log").setLevel(logging.CRITICAL)  # aiosmtpd chatter


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        self.sink._keep(envelope)
        if self.sink._hold.is_set():
            self.sink._held.set()
            while self.sink._hold.is_set() and not self.sink._stopping:
                await asyncio.sleep(0.05)
        return "250 OK queued"


class Message:
    def __init__(self, envelope):
        self.raw = envelope.content
        self.mail_from = envelope.mail_from
        self.rcpt = list(envelope.rcpt_tos)
        self.msg = email.message_from_bytes(self.raw,
                                            policy=email.policy.default)
        self.text = self.msg.get_content()

    def header(self, name):
        v = self.msg[name]
        return str(v) if v is not None else None

    def code(self):
        m = CODE_RE.search(self.text)
        return m.group(1) if m else None


class MailSink:
    def __init__(self, port=None, tls_context=None, require_starttls=False):
        self.port = port or free_port()
        self.tls_context = tls_context
        self.require_starttls = require_starttls
        self.messages = []
        self._lock = threading.Lock()
        self._hold = threading.Event()
        self._held = threading.Event()
        self._stopping = False
        self._ctl = None

    def _keep(self, envelope):
        with self._lock:
            self.messages.append(Message(envelope))

    def start(self):
        kw = {}
        if self.tls_context is not None:
            kw["tls_context"] = self.tls_context
            kw["require_starttls"] = self.require_starttls
        self._stopping = False
        self._ctl = Controller(_Handler(self), hostname="127.0.0.1",
                               port=self.port, ready_timeout=10, **kw)
        self._ctl.start()
        return self

    def stop(self):
        if self._ctl is not None:
            self._stopping = True
            self._ctl.stop()
            self._ctl = None

    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def hold(self):
        """Keep messages but do not confirm them until release()."""
        self._held.clear()
        self._hold.set()

    def wait_held(self, timeout=20):
        return self._held.wait(timeout)

    def release(self):
        self._hold.clear()

    def count(self, rcpt=None):
        with self._lock:
            return len([m for m in self.messages
                        if rcpt is None or rcpt in m.rcpt])

    def wait(self, n=1, rcpt=None, timeout=20):
        """The n-th message (to rcpt); raises after timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                ms = [m for m in self.messages
                      if rcpt is None or rcpt in m.rcpt]
                if len(ms) >= n:
                    return ms[n - 1]
            time.sleep(0.02)
        raise AssertionError("no mail #%d to %s within %ss (have %d)" %
                             (n, rcpt, timeout, self.count(rcpt)))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

