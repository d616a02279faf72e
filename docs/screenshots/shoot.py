"""Screenshots of the product in headless Chromium (the Chrome DevTools protocol over
websocket-client, through scripts/first_load_check.py's page; no other dependency).

    python docs/screenshots/shoot.py BASE_URL LOGIN PASSWORD OUT_DIR
    NAME=PATH[@SELECTOR[@CLICKS[@CLIP]]] ...

Logs in on BASE_URL (SHOOT_DB, default axivox_demo), then for each NAME opens
BASE_URL + PATH, clicks the CLICKS selectors in turn if given (separated by "|", each
waited for), waits until SELECTOR is on the page, and saves OUT_DIR/NAME.png: the whole
window, or the element CLIP only. The window is
SHOOT_SIZE pixels (default 1400x900), in the demo users' time zone (SHOOT_TZ, default
Europe/Brussels).
"""
import base64
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time


def _first_load_check():
    """scripts/first_load_check.py: its Chromium start and DevTools page serve here
    too."""
    path = os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"
    )
    spec = importlib.util.spec_from_file_location(
        "first_load_check", os.path.join(path, "first_load_check.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECK = _first_load_check()


class Browser:
    """A headless Chromium tab of ``width`` x ``height`` pixels."""

    def __init__(self, width=1400, height=900, timezone="Europe/Brussels"):
        self.profile = tempfile.mkdtemp(prefix="shoot-chrome-")
        self.proc, port = CHECK.start_chromium(self.profile)
        self.page = CHECK.open_page(port)
        self.ws = self.page.ws
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        # The demo users' time zone: Odoo's web client shows times in the browser's.
        self.send("Emulation.setTimezoneOverride", timezoneId=timezone)

    def send(self, method, **params):
        return self.page.call(method, **params)

    def js(self, expression):
        return self.page.evaluate(expression)

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

    def screenshot(self, path, clip=None):
        params = {"format": "png"}
        if clip:
            box = self.js(
                f"(() => {{const r = document.querySelector({json.dumps(clip)})"
                ".getBoundingClientRect(); return [r.x, r.y, r.width, r.height];})()"
            )
            params["clip"] = dict(
                zip(("x", "y", "width", "height"), box, strict=True), scale=1
            )
        data = self.send("Page.captureScreenshot", **params)["data"]
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
    width, _, height = os.environ.get("SHOOT_SIZE", "1400x900").partition("x")
    browser = Browser(
        int(width), int(height), os.environ.get("SHOOT_TZ", "Europe/Brussels")
    )
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
            selector, _, rest = rest.partition("@")
            clicks, _, clip = rest.partition("@")
            browser.goto(base + path)
            for click in filter(None, clicks.split("|")):
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
            browser.screenshot(target, clip or None)
            print("saved", target)
    finally:
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
