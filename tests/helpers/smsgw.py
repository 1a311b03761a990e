"""smsgw: a local HTTP server that speaks Twilio's Messages API.

POST /2010-04-01/Accounts/{sid}/Messages.json with the form To, From,
Body and HTTP basic auth answers 201 and a JSON message resource, as
Twilio does; the wrong account or credentials get 401, other paths 404.
fail(n, status) makes the next n requests fail with status.  Only the
remote provider is stood in for; everything else in the tests is real.
"""

import base64
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mailsink import free_port


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        gw = self.server.gw
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode()
        path = "/2010-04-01/Accounts/%s/Messages.json" % gw.sid
        auth = "Basic " + base64.b64encode(
            ("%s:%s" % (gw.user, gw.secret)).encode()).decode()
        if self.path != path:
            return self._answer(404, {"code": 20404, "status": 404})
        if self.headers.get("Authorization") != auth:
            return self._answer(401, {"code": 20003, "status": 401})
        with gw.lock:
            if gw.failures > 0:
                gw.failures -= 1
                return self._answer(gw.fail_status, {"status":
                                                     gw.fail_status})
        form = urllib.parse.parse_qs(body, keep_blank_values=True)
        msg = {k: v[0] for k, v in form.items()}
        with gw.lock:
            gw.messages.append(msg)
            sid = "SM%032d" % len(gw.messages)
        self._answer(201, {"sid": sid, "status": "queued",
                           "to": msg.get("To"), "from": msg.get("From"),
                           "account_sid": gw.sid})


class SmsGateway:
    def __init__(self, sid="AC" + "0" * 32, user="SK" + "1" * 32,
                 secret="s3cret-token"):
        self.sid = sid
        self.user = user
        self.secret = secret
        self.port = free_port()
        self.messages = []
        self.lock = threading.Lock()
        self.failures = 0
        self.fail_status = 503
        self._srv = None

    def start(self):
        self._srv = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        self._srv.gw = self
        threading.Thread(target=self._srv.serve_forever,
                         daemon=True).start()
        return self

    def stop(self):
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()
            self._srv = None

    def url(self):
        return ("http://127.0.0.1:%d/2010-04-01/Accounts/{account}/"
                "Messages.json" % self.port)

    def fail(self, n, status=503):
        with self.lock:
            self.failures = n
            self.fail_status = status

    def count(self, to=None):
        with self.lock:
            return len([m for m in self.messages
                        if to is None or m.get("To") == to])

    def wait(self, n=1, to=None, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                ms = [m for m in self.messages
                      if to is None or m.get("To") == to]
                if len(ms) >= n:
                    return ms[n - 1]
            time.sleep(0.02)
        raise AssertionError("no SMS #%d to %s within %ss" % (n, to,
                                                               timeout))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
