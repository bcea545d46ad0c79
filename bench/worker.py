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
sys.path.insert(0, os.environ.get("VWO_PUSH_DIR") or ROOT)  # run.py --before points it at an earlier copy

ACCOUNT, KEY = 123456, "bench0sdk0key0000000000000000000"
ONE = ("browser", "chrome")
TEN = {"key%d" % i: "value-%d" % i for i in range(10)}


def settings(event_arch):
    return json.dumps({"version": 1, "accountId": ACCOUNT, "sdkKey": KEY, "campaigns": [],
                       "isEventArchEnabled": event_arch})


def client(side, url=None, event_arch=False, dry_run=False, batch=None, fme=False):
    if side in ("ours", "before"):
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
        if side in ("ours", "before"):
            import logging
            logging.getLogger("vwo_push").setLevel(logging.WARNING)  # a dry run's INFO records: not built
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
        c = client(side, url=url, event_arch=(mode == "event"), fme=(mode == "fme" and side in ("ours", "before")))
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
    elif side in ("ours", "before"):
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
    if side in ("ours", "before", "spool"):
        batch["max_queue_size"] = n  # the default 10,000 would refuse pushes that outrun the sender
    if side == "spool":
        batch["spool"] = spool_path()
    c = client("ours" if side == "spool" else side, url=url, batch=batch)
    start = time.perf_counter()
    for i in range(n):
        assert c.push("browser", "chrome", "user-%d" % i) is True
    if side != "sdk":
        assert c.flush() is True
    else:
        c.flush_events(mode="sync")
    while stats(url)["events"] - before < n:  # the SDK sends from threads it does not wait for
        if time.perf_counter() - start > 300:
            raise RuntimeError("events missing")
        time.sleep(0.005)
    return {"per_s": n / (time.perf_counter() - start)}


def spool_path():
    import tempfile

    return os.path.join(tempfile.mkdtemp(prefix="vwo-bench-"), "spool.db")  # on this machine's disk (/tmp)


def caller_cost(side, url, n):
    """Batch mode: what each push costs the caller (p50, p99), against a server that never answers or
    (spool-live, memory-live) one that answers while the sender sends."""
    batch = {"events_per_request": 100, "request_time_interval": 600}
    if side.startswith(("spool", "memory")):
        batch["max_queue_size"] = n + 1000
    if side.startswith("spool"):
        batch["spool"] = spool_path()
    c = client(side.split("-")[0] if side.split("-")[0] in ("sdk", "before") else "ours", url=url, batch=batch)
    costs = []
    clock = time.perf_counter_ns
    gc.collect()
    began = clock()
    for i in range(n):
        start = clock()
        c.push("browser", "chrome", "user-%d" % i)
        costs.append(clock() - start)
    per_s = n / ((clock() - began) / 1e9)
    costs.sort()
    out = {"p50_us": costs[len(costs) // 2] / 1000, "p99_us": costs[int(len(costs) * 0.99)] / 1000, "per_s": per_s}
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


def cli_file(side, url, path, concurrency):
    """The command line on a CSV file: rows/s, and the peak RSS; `before` has no --concurrency."""
    import vwo_push

    args = ["--account-id", str(ACCOUNT), "--endpoint", url, "--file", path, "--quiet", "--timeout", "60"]
    if side != "before":
        args += ["--concurrency", str(concurrency)]
    os.environ["VWO_SDK_KEY"] = KEY
    with open(path) as lines:
        rows = sum(1 for _ in lines) - 1
    start = time.perf_counter()
    status = vwo_push.main(args)
    elapsed = time.perf_counter() - start
    assert status == 0, status
    return {"per_s": rows / elapsed, "peak_rss_mb": peak_rss_mb()}


def async_e2e(side, url, n, tasks):
    """GET pushes over keep-alive from `tasks` concurrent tasks: AsyncClient, aiohttp, httpx, or the limit
    (raw asyncio streams writing requests built ahead, a connection a task, answers read by hand)."""
    import asyncio

    import vwo_push

    builder = vwo_push.Client(ACCOUNT, KEY, endpoint=url)
    requests = [builder.build_requests("browser", "chrome", "user-%d" % i)[0] for i in range(n)]
    host, port = url.split("://", 1)[1].split(":")
    done = []

    async def run():
        if side == "ours":
            client = vwo_push.AsyncClient(ACCOUNT, KEY, endpoint=url)

            async def one(i):
                done.append(await client.push("browser", "chrome", "user-%d" % i))
            close = client.aclose
        elif side == "aiohttp":
            import aiohttp

            session = aiohttp.ClientSession()

            async def one(i):
                async with session.get(requests[i].full_url, headers={"User-Agent": "aiohttp"}) as response:
                    await response.read()
                    done.append(response.status == 200)
            close = session.close
        elif side == "httpx":
            import httpx

            session = httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=100))

            async def one(i):
                response = await session.get(requests[i].full_url, headers={"User-Agent": "httpx"})
                done.append(response.status_code == 200)
            close = session.aclose
        else:
            raw = [("GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: limit\r\n\r\n" % (r.selector, host, port)).encode()
                   for r in requests]
            streams = [await asyncio.open_connection(host, int(port)) for _ in range(tasks)]
            free = list(streams)

            async def one(i):
                reader, writer = free.pop()
                writer.write(raw[i])
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                free.append((reader, writer))
                done.append(head.startswith(b"HTTP/1.1 200"))

            async def close():
                for _, writer in streams:
                    writer.close()
        for i in range(50):  # warm up: connections made, first-use imports done
            await one(i)
        done.clear()
        start = time.perf_counter()
        queue = iter(range(n))

        async def worker():
            for i in queue:
                await one(i)

        await asyncio.gather(*(worker() for _ in range(tasks)))
        elapsed = time.perf_counter() - start
        await close()
        return elapsed

    elapsed = asyncio.run(run())
    assert len(done) == n and all(done), (len(done), done.count(False))
    return {"per_s": n / elapsed}


def loop_lag(side, url, n):
    """A 1 ms ticker's p99 lag while pushes wait on a server that never answers (timeout 1 s): n AsyncClient
    pushes at once, or n Client.push calls made in a coroutine, one after another."""
    import asyncio

    import vwo_push

    async def run():
        lags, stop = [], asyncio.Event()

        async def ticker():
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                start = loop.time()
                await asyncio.sleep(0.001)
                lags.append(loop.time() - start - 0.001)

        tick = asyncio.ensure_future(ticker())
        await asyncio.sleep(0.05)
        if side == "ours":
            client = vwo_push.AsyncClient(ACCOUNT, KEY, endpoint=url, timeout=1, retries=0)
            await asyncio.gather(*(client.push("browser", "chrome", "user-%d" % i) for i in range(n)))
            await client.aclose()
        else:
            client = vwo_push.Client(ACCOUNT, KEY, endpoint=url, timeout=1, retries=0)
            for i in range(n):
                client.push("browser", "chrome", "user-%d" % i)  # as a handler would call it: blocking the loop
        stop.set()
        await tick
        lags.sort()
        return lags

    lags = asyncio.run(run())
    return {"p99_ms": lags[int(len(lags) * 0.99)] * 1000, "max_ms": lags[-1] * 1000}


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
    elif what == "cli":
        out = cli_file(side, args[0], args[1], int(args[2]))
    elif what == "async":
        out = async_e2e(side, args[0], int(args[1]), int(args[2]))
    elif what == "lag":
        out = loop_lag(side, args[0], int(args[1]))
    else:
        out = caller_cost(side, args[0], int(args[1]))
    print(json.dumps(out))
    sys.stdout.flush()
    os._exit(0)  # the SDKs' timer threads would keep the process alive
