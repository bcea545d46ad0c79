"""One measurement in a fresh process: `python worker.py SIDE WHAT ARGS...`; prints one JSON line.

SIDE is `ours` (vwo_push), `sdk` (vwo-python-sdk 1.68.2, in bench/.venv), `fme` (vwo-fme-python-sdk
1.65.0, in bench/.venv-fme) or `limit`: the least code that puts the same request on the wire
(http.client with requests built ahead, or built with nothing but what the wire needs).
The legacy SDK has no endpoint option: for the network runs its host constants are pointed at
the local collector, which changes nothing else in what it does.  The FME SDK takes proxy_url.
"""

import gc
import hashlib
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


def client(side, url=None, event_arch=False, dry_run=False, batch=None, fme=False):
    if side == "ours":
        import vwo_push

        options = {"batch_events": batch} if batch else {}
        return vwo_push.Client(ACCOUNT, KEY, endpoint=url, event_arch=event_arch, dry_run=dry_run, fme=fme,
                               **options)
    if side == "fme":
        from vwo import init

        return init({"account_id": str(ACCOUNT), "sdk_key": KEY, "proxy_url": url,
                     "threading": {"enabled": False}})
    import vwo
    from vwo.constants import constants

    if url:
        constants.HTTPS_PROTOCOL = url.split("://")[0] + "://"
        constants.ENDPOINTS.BASE_URL = url.split("://", 1)[1]
    options = {"is_development_mode": dry_run}
    if batch:
        options["batch_events"] = batch
    return vwo.launch(settings(event_arch), **options)


class Minimal:
    """The limit for building: the visitor id, the tags and the URL of a standard push, as a urllib Request."""

    def __init__(self):
        import random
        import urllib.parse

        ns = hashlib.sha1(bytes.fromhex("6ba7b8119dad11d180b400c04fd430c8") + b"https://vwo.com").digest()[:16]
        ns = bytearray(ns)
        ns[6], ns[8] = (ns[6] & 0x0F) | 0x50, (ns[8] & 0x3F) | 0x80
        account = bytearray(hashlib.sha1(bytes(ns) + str(ACCOUNT).encode()).digest()[:16])
        account[6], account[8] = (account[6] & 0x0F) | 0x50, (account[8] & 0x3F) | 0x80
        self.namespace = bytes(account)
        from json.encoder import encode_basestring_ascii

        self.random, self.quote, self.string = random.random, urllib.parse.quote_plus, encode_basestring_ascii
        self.head = "https://dev.visualwebsiteoptimizer.com/server-side/push?random="
        self.tail = "&account_id=%d&env=%s&visitor_ua=&visitor_ip=&tags=" % (ACCOUNT, KEY)

    def u(self, user_id):
        digest = bytearray(hashlib.sha1(self.namespace + user_id.encode()).digest()[:16])
        digest[6], digest[8] = (digest[6] & 0x0F) | 0x50, (digest[8] & 0x3F) | 0x80
        return digest.hex().upper()

    def push(self, pairs, user_id):
        """The URL of each GET: its bytes, nothing more (no checks, no Request object)."""
        u = self.u(user_id)
        return ["%s%r&sdk=vwo-python-sdk&sdk-v=1.68.2&ap=server&sId=%d&u=%s%s%s" % (
            self.head, self.random(), time.time(), u, self.tail,
            self.quote('{"u": {' + self.string(k) + ": " + self.string(v) + "}}")) for k, v in pairs.items()]

    def event(self, u, sid, key, value):
        """One batch event as JSON text, `t` the tags JSON as a JSON string."""
        t = ('{"u": {' + self.string(key) + ": " + self.string(value) + "}}").replace("\\", "\\\\")
        return '{"u": "%s", "sId": %d, "visitor_ua": "", "visitor_ip": "", "t": "%s", "eT": 3}' % (
            u, sid, t.replace('"', '\\"'))


def push_args(pairs, i):
    uid = "user-%d" % i
    return (ONE[0], ONE[1], uid) if pairs == 1 else (TEN, uid)


def cpu(side, pairs, n):
    if side == "limit":
        minimal = Minimal()
        def call(i):
            return (minimal.push(dict([ONE]) if pairs == 1 else TEN, "user-%d" % i))
    else:
        c = client(side, dry_run=True)
        def call(i):
            return (c.push(*push_args(pairs, i)))
    for i in range(300):  # warm up: first-use imports are not CPU per push
        call(i)
    start = time.process_time()
    for i in range(n):
        assert call(i)
    return {"us_per_push": (time.process_time() - start) / n * 1e6}


def raw_requests(url, mode, n):
    """The limit's requests, built ahead: (method, path, body, headers)."""
    import vwo_push

    c = vwo_push.Client(ACCOUNT, KEY, endpoint=url, event_arch=(mode == "event"), fme=(mode == "fme"))
    out = []
    for i in range(n):
        req, = c.build_requests("browser", "chrome", "user-%d" % i)
        headers = {"User-Agent": "limit"}
        if req.data:
            headers["Content-Type"] = "application/json"
        out.append((req.get_method(), req.selector, req.data, headers))
    return out


def e2e(side, url, mode, n, threads):
    """Pushes a second over keep-alive; `threads` threads share one client (the limit: a connection each)."""
    per_thread = n // threads
    failures = []
    if side == "limit":
        host, port = url.split("://", 1)[1].split(":")
        requests = raw_requests(url, mode, per_thread * threads)

        def work(t):
            conn = http.client.HTTPConnection(host, int(port))
            for method, path, body, headers in requests[t * per_thread:(t + 1) * per_thread]:
                conn.request(method, path, body, headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(1)
    else:
        c = client(side, url=url, event_arch=(mode == "event"), fme=(mode == "fme" and side == "ours"))
        if mode == "fme":
            call = c.set_attribute
            def args(t, i):
                return (("browser", "chrome", {"id": "user-%d-%d" % (t, i)}))
        else:
            call = c.push
            def args(t, i):
                return (("browser", "chrome", "user-%d-%d" % (t, i)))
        for i in range(50):
            call(*args(99, i))

        def work(t):
            for i in range(per_thread):
                if call(*args(t, i)) is False:  # the FME SDK answers None, whatever happens
                    failures.append(i)
    cpu_start = time.process_time()
    start = time.perf_counter()
    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    done = per_thread * threads
    return {"per_s": done / elapsed, "cpu_us": (time.process_time() - cpu_start) / done * 1e6,
            "failures": len(failures)}


def rows(n):
    return (("user-%d" % (i // 3), "key%d" % (i % 3), "value-%d" % i) for i in range(n))


def bulk(side, url, n, batch):
    start = time.perf_counter()
    if side == "limit":  # the events built with nothing but what the wire needs, POSTed over keep-alive
        minimal = Minimal()
        host, port = url.split("://", 1)[1].split(":")
        conn = http.client.HTTPConnection(host, int(port))
        path = "/server-side/batch-events?a=%d&sdk=vwo-python-sdk&sdk-v=1.68.2&env=%s" % (ACCOUNT, KEY)
        headers = {"Authorization": KEY, "Content-Type": "application/json", "User-Agent": "limit"}
        events, user, u, sid = [], None, "", int(time.time())
        for user_id, key, value in rows(n):
            if user_id != user:
                user, u = user_id, minimal.u(user_id)
            events.append(minimal.event(u, sid, key, value))
            if len(events) == batch:
                conn.request("POST", path, ('{"ev": [' + ", ".join(events) + "]}").encode(), headers)
                response = conn.getresponse()
                response.read()
                assert response.status == 200
                events = []
    elif side == "ours":
        result = client(side, url=url).push_many(rows(n), batch_size=batch)
        assert result.accepted == n, result
    else:
        c = client(side, url=url, batch={"events_per_request": batch, "request_time_interval": 600})
        for user_id, key, value in rows(n):
            c.push(key, value, user_id)
        c.flush_events(mode="sync")
    elapsed = time.perf_counter() - start
    return {"per_s": n / elapsed, "peak_rss_mb": peak_rss_mb()}


def batch_mode(side, url, n):
    """Batch mode: n pushes, then a flush, until the collector has every event."""
    before = stats(url)["events"]
    batch = {"events_per_request": 100, "request_time_interval": 600}
    if side == "ours":
        batch["max_queue_size"] = n  # the default 10,000 would refuse pushes that outrun the sender
    c = client(side, url=url, batch=batch)
    start = time.perf_counter()
    for i in range(n):
        assert c.push("browser", "chrome", "user-%d" % i) is True
    if side == "ours":
        assert c.flush() is True
    else:
        c.flush_events(mode="sync")
    while stats(url)["events"] - before < n:  # the SDK sends from threads it does not wait for
        if time.perf_counter() - start > 300:
            raise RuntimeError("events missing")
        time.sleep(0.005)
    return {"per_s": n / (time.perf_counter() - start)}


def caller_cost(side, url, n):
    """Batch mode against a server that never answers: what each push costs the caller (p50, p99)."""
    batch = {"events_per_request": 100, "request_time_interval": 600}
    c = client(side, url=url, batch=batch)
    costs = []
    clock = time.perf_counter_ns
    gc.collect()
    for i in range(n):
        start = clock()
        c.push("browser", "chrome", "user-%d" % i)
        costs.append(clock() - start)
    costs.sort()
    out = {"p50_us": costs[len(costs) // 2] / 1000, "p99_us": costs[int(len(costs) * 0.99)] / 1000}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)  # the senders are stuck on a server that never answers: nothing to wait for


def stats(url):
    host, port = url.split("://", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", "/__stats")
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data


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
    elif what == "bulk":
        out = bulk(side, args[0], int(args[1]), int(args[2]))
    elif what == "batch":
        out = batch_mode(side, args[0], int(args[1]))
    else:
        out = caller_cost(side, args[0], int(args[1]))
    print(json.dumps(out))
    sys.stdout.flush()
    os._exit(0)  # the SDKs' timer threads would keep the process alive
