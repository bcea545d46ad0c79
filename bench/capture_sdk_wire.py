"""Record what the official SDKs put on the wire, for the tests to compare against: testdata/sdk_wire.json.

    python3 bench/capture_sdk_wire.py      # needs bench/.venv and bench/.venv-fme (bench/run.py makes them)

Each SDK runs in its own venv against a capture server on 127.0.0.1 that serves an FME
settings file and records every request.  The calls made are written beside what arrived,
so that test_vwo_push.py can make the same calls and compare the bytes.
"""

import http.server
import json
import os
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(BENCH), "testdata", "sdk_wire.json")
KEY = "Key+Secret/x=1"  # quote_plus and quote both change it: the encodings are pinned too

FME_CALLS = [
    ["plan", "pro", {"id": "user-1"}],
    [{"a": "1", "n": 42, "f": 4.5, "t": True, "small": 1e-07, "big": 1.5e+300, "huge": 10 ** 30, "neg": -3,
      "u": "ünïcode-用户 😀"}, {"id": "user-1"}],
    ["k", "v", {"id": "ünïcode-用户", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) A&B=C+D",
                "ip_address": " 10.0.0.1 "}],
    ["k", "v", {"id": "user-1", "user_agent": "", "ip_address": "1.2.3.4", "session_id": 1700000000}],
    ["k", "v", {"id": "user-1", "user_agent": "ua#frag", "session_id": 0}],
]
LEGACY_CALLS = [["browser", "chrome", "user-1"], [{"a": "1", "ünï": "用户 \"q\" \\"}, "Ashley"]]


def capture_server(prefix):
    records = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            records.append({"method": self.command, "path": self.path, "body": body.decode("utf-8"),
                            "headers": {k: v for k, v in self.headers.items()
                                        if k in ("Content-Type", "Authorization", "X-Device-User-Agent",
                                                 "VWO-X-Forwarded-For")}})
            settings = {"version": 1, "accountId": 123456, "sdkKey": KEY, "campaigns": [], "features": []}
            if prefix:
                settings["collectionPrefix"] = prefix
            out = json.dumps(settings).encode() if "settings" in self.path else b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_POST = do_GET

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, records


def run_fme(prefix, batch):
    """In the FME SDK's venv: the calls, one at a time, then (batch mode) flush_events."""
    server, records = capture_server(prefix)
    from vwo import init

    options = {"account_id": "123456", "sdk_key": KEY, "proxy_url": "http://127.0.0.1:%d" % server.server_address[1]}
    if batch:
        options["batch_event_data"] = {"events_per_request": 100, "request_time_interval": 600}
    client = init(options)
    for call in FME_CALLS:
        client.set_attribute(*call)
        time.sleep(0.2)  # the SDK sends from a thread pool: one at a time keeps the order
    if batch:
        client.flush_events()
    time.sleep(1.0)
    return [r for r in records if "vwo_syncVisitorProp" in r["path"] or "batch-events" in r["path"]]


def run_legacy(event_arch, batch):
    """In the legacy SDK's venv: both calls; in batch mode, then flush_events (sync)."""
    server, records = capture_server(None)
    import vwo
    from vwo.constants import constants

    constants.HTTPS_PROTOCOL = "http://"
    constants.ENDPOINTS.BASE_URL = "127.0.0.1:%d" % server.server_address[1]
    settings = json.dumps({"version": 1, "accountId": 123456, "sdkKey": KEY, "campaigns": [],
                           "isEventArchEnabled": event_arch})
    batch_events = {"events_per_request": 100, "request_time_interval": 600} if batch else None
    client = vwo.launch(settings, batch_events=batch_events)
    for call in LEGACY_CALLS:
        client.push(*call)
    if batch:
        client.flush_events(mode="sync")
    return [r for r in records if "settings" not in r["path"]]


def main():
    if len(sys.argv) > 1:  # in a venv: one capture, as JSON on stdout
        kind = sys.argv[1]
        records = run_legacy("event-arch" in kind, "batch" in kind) if kind.startswith("legacy") else \
            run_fme("eu01" if kind == "fme-batch-eu01" else None, kind == "fme-batch-eu01")
        json.dump(records, sys.stdout)
        sys.stdout.flush()
        os._exit(0)  # the FME SDK's non-daemon timers would keep the process alive
    result = {"key": KEY, "account_id": 123456, "fme_calls": FME_CALLS, "legacy_calls": LEGACY_CALLS}
    for kind, venv in (("fme", ".venv-fme"), ("fme-batch-eu01", ".venv-fme"), ("legacy", ".venv"),
                       ("legacy-event-arch", ".venv"), ("legacy-batch", ".venv"),
                       ("legacy-batch-event-arch", ".venv")):
        python = os.path.join(BENCH, venv, "bin", "python")
        done = subprocess.run([python, __file__, kind], capture_output=True, text=True, timeout=120, check=True)
        result[kind] = json.loads(done.stdout)
    with open(OUT, "w", encoding="utf-8") as out:
        json.dump(result, out, indent=1, ensure_ascii=False)
        out.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
