"""A PBX on 127.0.0.1 that answers what a test tells it to, for the answers the
reference simulator never gives (a queue of an unknown strategy, an agent action
answered without its agent): Odoo's client speaks to it over loopback as to any PBX."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class FakePbx:
    """``answer(method, path, status, body)`` sets what ``/api/v1<path>`` answers
    (``body`` sent as JSON; None: no body); ``requests`` lists ``(method, path)``
    received. Anything else is answered 404."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        pbx = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = urlsplit(self.path).path
                pbx.requests.append((self.command, path))
                status, body = pbx.routes.get(
                    (self.command, path),
                    (404, {"error": {"code": "not_found", "message": "Not found."}}),
                )
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="axivox-fake-pbx", daemon=True
        )

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def answer(self, method, path, status=200, body=None):
        self.routes[(method, "/api/v1" + path)] = (status, body)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
