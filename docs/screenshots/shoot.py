"""Screenshots of the product in headless Chromium (the Chrome DevTools protocol over
websocket-client, no other dependency).

    python docs/screenshots/shoot.py BASE_URL LOGIN PASSWORD OUT_DIR
    NAME=PATH[@SELECTOR[@CLICK]] ...

Logs in on BASE_URL, then for each NAME opens BASE_URL + PATH, clicks the CLICK selector
if given, waits until SELECTOR is on the page, and saves OUT_DIR/NAME.png.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    def __init__(self, width=1400, height=900):
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="shoot-chrome-")
        self.proc = subprocess.Popen(
            [
                shutil.which("chromium") or "chromium",
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                f"--remote-debugging-port={self.port}",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                pages = json.load(
                    urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json")
                )
                page = next(p for p in pages if p["type"] == "page")
                break
            except Exception:
                time.sleep(0.1)
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.seq = 0
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def send(self, method, **params):
        self.seq += 1
        self.ws.send(json.dumps({"id": self.seq, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.seq:
                if "error" in message:
                    raise RuntimeError(message["error"])
                return message.get("result", {})

    def js(self, expression):
        result = self.send(
            "Runtime.evaluate",
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        return result.get("result", {}).get("value")

    def goto(self, url):
        self.send("Page.navigate", url=url)
        time.sleep(1)

    def wait(self, selector, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.js(f"!!document.querySelector({json.dumps(selector)})"):
                return True
            time.sleep(0.25)
        raise TimeoutError(selector)

    def click(self, selector):
        self.js(f"document.querySelector({json.dumps(selector)}).click()")

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            self.proc.wait(10)
            shutil.rmtree(self.profile, ignore_errors=True)


def main(base, login, password, out_dir, *shots):
    browser = Browser()
    try:
        # Log in through Odoo's JSON-RPC, then give the browser the session cookie.
        import requests

        session = requests.Session()
        response = session.post(
            base + "/web/session/authenticate",
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "params": {
                    "db": os.environ.get("SHOOT_DB", "axivox_demo"),
                    "login": login,
                    "password": password,
                },
            },
            timeout=60,
        )
        if response.json().get("error"):
            raise RuntimeError(response.json()["error"])
        host = base.split("//", 1)[1].split(":")[0]
        browser.send("Network.enable")
        browser.send(
            "Network.setCookie",
            name="session_id",
            value=session.cookies["session_id"],
            domain=host,
            path="/",
        )
        for shot in shots:
            name, _, rest = shot.partition("=")
            path, _, rest = rest.partition("@")
            selector, _, click = rest.partition("@")
            browser.goto(base + path)
            if click:
                browser.wait(click)
                time.sleep(1)
                browser.click(click)
            try:
                browser.wait(selector or "body")
            except TimeoutError:
                browser.screenshot(os.path.join(out_dir, name + "-timeout.png"))
                raise
            time.sleep(2)
            target = os.path.join(out_dir, name + ".png")
            browser.screenshot(target)
            print("saved", target)
    finally:
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
