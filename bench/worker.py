"""One measurement in a fresh process: `python worker.py SIDE WHAT ARGS...`; prints one JSON line.

SIDE is `ours` (vwo_push) or `sdk` (vwo-python-sdk 1.68.2, installed in the bench's venv).
The SDK has no endpoint option; for the network runs its host constants are pointed at the
local collector, which changes nothing else in what it does.
"""

import http.client
import json
import os
import resource
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

ACCOUNT, KEY = 123456, "bench0sdk0key0000000000000000000"
ONE = ("browser", "chrome")
TEN = {"key%d" % i: "value-%d" % i for i in range(10)}


def settings(event_arch):
    return json.dumps({"version": 1, "accountId": ACCOUNT, "sdkKey": KEY, "campaigns": [],
                       "isEventArchEnabled": event_arch})


def client(side, url=None, event_arch=False, dry_run=False, batch=None):
    if side == "ours":
        import vwo_push

        return vwo_push.Client(ACCOUNT, KEY, endpoint=url, event_arch=event_arch, dry_run=dry_run)
    import vwo
    from vwo.constants import constants

    if url:
        constants.HTTPS_PROTOCOL = "http://"
        constants.ENDPOINTS.BASE_URL = url.split("://", 1)[1]
    options = {"is_development_mode": dry_run}
    if batch:
        options["batch_events"] = {"events_per_request": batch, "request_time_interval": 600}
    return vwo.launch(settings(event_arch), **options)


def push_args(pairs, i):
    uid = "user-%d" % i
    return (ONE[0], ONE[1], uid) if pairs == 1 else (TEN, uid)


def cpu(side, pairs, n):
    c = client(side, dry_run=True)
    for i in range(200):  # warm up: first-use imports are not CPU per push
        c.push(*push_args(pairs, i))
    start = time.process_time()
    for i in range(n):
        assert c.push(*push_args(pairs, i)) is True
    return {"us_per_push": (time.process_time() - start) / n * 1e6}


def e2e(side, url, mode, n, threads):
    c = client(side, url=url, event_arch=(mode == "event"))
    for i in range(50):
        c.push(*push_args(1, i))
    per_thread = n // threads
    failures = []

    def work(t):
        for i in range(per_thread):
            if c.push("browser", "chrome", "user-%d-%d" % (t, i)) is not True:
                failures.append(i)

    start = time.perf_counter()
    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    return {"per_s": per_thread * threads / elapsed, "failures": len(failures)}


def raw(url, n):
    """The limit: pre-built GETs over one keep-alive http.client connection."""
    host, port = url.split("://", 1)[1].split(":")
    import vwo_push

    c = vwo_push.Client(ACCOUNT, KEY, endpoint=url)
    paths = [c.build_requests("browser", "chrome", "user-%d" % i)[0].selector for i in range(n)]
    conn = http.client.HTTPConnection(host, int(port))
    headers = {"User-Agent": "raw"}
    start = time.perf_counter()
    for path in paths:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 200
    return {"per_s": n / (time.perf_counter() - start)}


def rows(n):
    return (("user-%d" % (i // 3), "key%d" % (i % 3), "value-%d" % i) for i in range(n))


def bulk(side, url, n, batch):
    c = client(side, url=url, batch=batch)
    start = time.perf_counter()
    if side == "ours":
        result = c.push_many(rows(n), batch_size=batch)
        assert result.accepted == n, result
    else:
        for user_id, key, value in rows(n):
            c.push(key, value, user_id)
        c.flush_events()
    elapsed = time.perf_counter() - start
    return {"per_s": n / elapsed, "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb():
    """This process's own peak RSS (VmHWM); ru_maxrss would include the parent's, from before exec."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    side, what, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if what == "cpu":
        out = cpu(side, int(args[0]), int(args[1]))
    elif what == "e2e":
        out = e2e(side, args[0], args[1], int(args[2]), int(args[3]))
    elif what == "raw":
        out = raw(args[0], int(args[1]))
    else:
        out = bulk(side, args[0], int(args[1]), int(args[2]))
    print(json.dumps(out))
