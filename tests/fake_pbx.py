"""A PBX on 127.0.0.1 that answers what a test tells it to, for the answers the
reference simulator never gives (a queue of an unknown strategy, an agent action
answered without its agent): Odoo's client speaks to it over loopback as to any PBX."""

import contextlib
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
                # The client may stop reading (an answer over its size cap).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
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


class FakeStream:
    """A PBX event stream on 127.0.0.1 (``/api/v1/events/stream``) that sends the
    frames a test gives it: ``frames`` is a list of ``(cursor or None, text)``; a
    connection resuming after cursor N is sent the frames without a cursor and those
    after N, then a heartbeat now and then. ``connections`` lists the
    ``(Authorization header, after)`` of each connection."""

    def __init__(self, frames):
        self.frames = frames
        self.connections = []
        self.loop = None
        self.port = None
        self._ready = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name="axivox-fake-stream", daemon=True
        )

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self.thread.start()
        self._ready.wait(10)
        return self

    def stop(self):
        if self.loop:
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def _run(self):
        import asyncio

        from aiohttp import web

        async def stream(request):
            after = request.query.get("after")
            self.connections.append((request.headers.get("Authorization"), after))
            ws = web.WebSocketResponse(autoping=True)
            await ws.prepare(request)
            # the client may go away at any time
            with contextlib.suppress(ConnectionError, RuntimeError):
                for cursor, text in self.frames:
                    if cursor is None or after is None or int(cursor) > int(after):
                        await ws.send_str(text)
                while not ws.closed:
                    await asyncio.sleep(0.3)
                    await ws.send_str(json.dumps({"type": "heartbeat"}))
            return ws

        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_get("/api/v1/events/stream", stream)
        runner = web.AppRunner(app, handle_signals=False)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(runner.cleanup())
            self.loop.close()
