"""Side-by-side bench: vwo_push against the official SDKs, the async peers and the limit.

    python3 bench/run.py                          # about twenty minutes on two cores
    python3 bench/run.py --rounds 3               # quicker, noisier
    python3 bench/run.py --before OLD_CHECKOUT    # and an earlier vwo_push.py, interleaved: a "before" column

It creates bench/.venv (vwo-python-sdk 1.68.2), bench/.venv-fme (vwo-fme-python-sdk 1.65.0) and
bench/.venv-async (aiohttp and httpx, latest), never dependencies of vwo_push, starts keep-alive
collectors in their own processes on 127.0.0.1 (plain, TLS, one that never answers, one that
holds each answer 0.1 s), and runs every measurement in a fresh
process, the variants of a row interleaved round by round.  The limit is what any client must
do at least: raw http.client with requests built ahead, or building with nothing but what the
wire needs.  Figures are medians; goals are ratios within one run, which hold on a noisy
shared machine where seconds do not.
"""

import argparse
import json
import os
import platform
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
VENVS = {"sdk": (os.path.join(BENCH, ".venv"), ["vwo-python-sdk==1.68.2"], "vwo"),
         "fme": (os.path.join(BENCH, ".venv-fme"), ["vwo-fme-python-sdk==1.65.0"], "vwo"),
         "async": (os.path.join(BENCH, ".venv-async"), ["aiohttp", "httpx"], "aiohttp, httpx")}
PYTHON = os.path.join(VENVS["sdk"][0], "bin", "python")
FME_PYTHON = os.path.join(VENVS["fme"][0], "bin", "python")
ASYNC_PYTHON = os.path.join(VENVS["async"][0], "bin", "python")
BEFORE = None  # --before: the folder of an earlier vwo_push.py, measured beside this one
KEY = "bench0sdk0key0000000000000000000"


def ensure_venvs():
    for venv, requirements, module in VENVS.values():
        python = os.path.join(venv, "bin", "python")
        if not os.path.exists(python):
            subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        if subprocess.run([python, "-c", "import " + module], capture_output=True, check=False).returncode != 0:
            subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
                           check=True)


def run(args, env=None):
    """Wall seconds and stdout of one fresh process."""
    start = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError("%s failed: %s" % (args, done.stderr.decode()[-2000:]))
    return wall, done.stdout.decode()


PEAK = ("\nimport sys\nfor line in open('/proc/self/status'):\n"
        "    line.startswith('VmHWM') and sys.stdout.write(line)")


def timed_import(python, code, cwd=ROOT):
    """Wall seconds and peak RSS (MB) of `python -c code`; nothing writes bytecode here."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    start = time.perf_counter()
    done = subprocess.run([python, "-c", code + PEAK], cwd=cwd, env=env, capture_output=True, check=True)
    return time.perf_counter() - start, int(done.stdout.split()[1]) / 1024


def worker(python, *args):
    env = dict(os.environ, VWO_PUSH_DIR=BEFORE) if args[0] == "before" else None
    _, out = run([python, os.path.join(BENCH, "worker.py")] + [str(a) for a in args], env=env)
    result = json.loads(out)
    if result.get("failures"):  # a side whose calls fail measures nothing worth a number
        raise SystemExit("bench: %s: %d call(s) failed: %s" % (args[0], result["failures"], " ".join(map(str, args))))
    return result


def sides(*names):
    """The sides of a row: with --before, an earlier vwo_push.py beside ours."""
    return [*names, "before"] if BEFORE else list(names)


def before_text(got, key, unit="%.0f"):
    return (unit % median(got["before"], key)) if "before" in got else ""


def interleave(rounds, variants, measure):
    """{name: [results]}: each variant measured once a round, the order turning each round."""
    results = {name: [] for name in variants}
    names = list(variants)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            results[name].append(measure(*variants[name]))
    return results


def median(results, key=None):
    values = [r[key] if key else r for r in results]
    return statistics.median(values)


class Table:
    def __init__(self):
        self.rows = []
        self.misses = self.goals = 0

    def add(self, metric, ours, other, limit, ratio_text, ok, before=""):
        """A row; ok is True or False for a goal, None for a figure shown for information."""
        self.misses += ok is False
        self.goals += ok is not None
        self.rows.append((metric, ours, before, other, limit, ratio_text,
                          {True: "met", False: "MISSED", None: "info"}[ok]))
        print("  %-48s %s%s  [%s]" % (metric, ratio_text, "; before %s" % before if before else "",
                                      self.rows[-1][-1]), file=sys.stderr, flush=True)

    def show(self):
        head = ("metric", "vwo_push", "before", "official SDK / peer", "limit", "ratio (goal)", "goal")
        widths = [max(len(str(row[i])) for row in [*self.rows, head]) for i in range(len(head))]
        line = lambda row: "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |"  # noqa: E731
        print(line(head))
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for row in self.rows:
            print(line(row))


def start_collector(*flags):
    proc = subprocess.Popen([PYTHON, os.path.join(BENCH, "server.py"), *flags], stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    return proc, "%s://127.0.0.1:%d" % ("https" if "--tls" in flags else "http", port)


def stats(url):
    with urllib.request.urlopen(url + "/__stats", timeout=5) as response:
        return json.loads(response.read())


# Cold start: a fresh process imports and makes one push over HTTPS; it prints the time the
# push was accepted, and exits without waiting for anything else (the SDKs keep timers).
COLD = {
    "limit": ("import http.client, os, ssl, sys, time\n"
              "c = http.client.HTTPSConnection('127.0.0.1', PORT, context=ssl.create_default_context())\n"
              "c.request('GET', PATH, headers={'User-Agent': 'limit'})\n"
              "r = c.getresponse(); r.read(); assert r.status == 200\n"),
    "ours": ("import os, sys, time, vwo_push\n"
             "assert vwo_push.Client(123456, KEY, endpoint='https://127.0.0.1:PORT').push('browser', 'chrome', 'u')\n"),
    "sdk": ("import os, sys, time, json, vwo\nfrom vwo.constants import constants\n"
            "constants.ENDPOINTS.BASE_URL = '127.0.0.1:PORT'\n"
            "c = vwo.launch(json.dumps({'version': 1, 'accountId': 123456, 'sdkKey': KEY, 'campaigns': []}))\n"
            "assert c.push('browser', 'chrome', 'u')\n"),
    "ours-fme": ("import os, sys, time, vwo_push\n"
                 "assert vwo_push.Client(123456, KEY, endpoint='https://127.0.0.1:PORT', fme=True)"
                 ".set_attribute('browser', 'chrome', {'id': 'u'})\n"),
    "fme": ("import os, sys, time\nfrom vwo import init\n"
            "c = init({'account_id': '123456', 'sdk_key': KEY, 'proxy_url': 'https://127.0.0.1:PORT',"
            " 'threading': {'enabled': False}})\n"
            "c.set_attribute('browser', 'chrome', {'id': 'u'})\n"),
    "ours-async": ("import asyncio, os, sys, time, vwo_push\n"
                   "assert asyncio.run(vwo_push.AsyncClient(123456, KEY, endpoint='https://127.0.0.1:PORT')"
                   ".push('browser', 'chrome', 'u'))\n"),
    "limit-async": ("import asyncio, os, ssl, sys, time\n"
                    "async def one():\n"
                    "    r, w = await asyncio.open_connection('127.0.0.1', PORT, ssl=ssl.create_default_context())\n"
                    "    w.write(b'GET ' + PATH.encode() + b' HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n')\n"
                    "    head = await r.readuntil(b'\\r\\n\\r\\n'); assert head.startswith(b'HTTP/1.1 200')\n"
                    "    w.close()\n"
                    "asyncio.run(one())\n"),
    "aiohttp": ("import asyncio, os, sys, time, aiohttp\n"
                "async def one():\n"
                "    async with aiohttp.ClientSession() as s:\n"
                "        async with s.get('https://127.0.0.1:PORT' + PATH) as r:\n"
                "            assert r.status == 200\n"
                "asyncio.run(one())\n"),
}


def cold_start(name, port, path, env):
    code = COLD["ours" if name == "before" else name].replace("PORT", str(port)).replace(
        "KEY", repr(KEY)).replace("PATH", repr(path))
    code += "sys.stdout.write(repr(time.time())); sys.stdout.flush(); os._exit(0)\n"
    python = {"fme": FME_PYTHON, "aiohttp": ASYNC_PYTHON}.get(name, PYTHON)
    start = time.time()
    done = subprocess.run([python, "-c", code], cwd=BEFORE if name == "before" else ROOT, env=env,
                          capture_output=True, check=True)
    return float(done.stdout) - start


def ca_bundle():
    """The system CA store plus the test CA: the same real-size store for every side."""
    system = ssl.get_default_verify_paths().openssl_cafile
    path = os.path.join(tempfile.mkdtemp(), "bundle.pem")
    with open(path, "wb") as out:
        for part in (system, os.path.join(ROOT, "testdata", "ca.pem")):
            with open(part, "rb") as source:
                out.write(source.read() + b"\n")
    return path


def main():
    global BEFORE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds a row (default 5)")
    parser.add_argument("--before", metavar="DIR", help="the folder of an earlier vwo_push.py, measured beside")
    parser.add_argument("--only", default="", help="comma-separated parts to run (import,cpu,e2e,bulk,batch,"
                                                   "spool,cli,async,cold); default all")
    opts = parser.parse_args()
    rounds, BEFORE = opts.rounds, opts.before and os.path.abspath(opts.before)
    parts = set(opts.only.split(",")) if opts.only else None
    ensure_venvs()
    version = subprocess.run([PYTHON, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True, check=True).stdout.strip()
    print("# vwo_push bench: CPython %s, %s, %d CPUs, %s%s" % (
        version, platform.machine(), os.cpu_count() or 0, time.strftime("%Y-%m-%d"),
        "; before: %s" % BEFORE if BEFORE else ""))
    table = Table()
    for folder in filter(None, (ROOT, BEFORE)):  # as pip does
        subprocess.run([PYTHON, "-m", "py_compile", os.path.join(folder, "vwo_push.py")], check=True)
    for part, measure in (("import", cold_imports), ("cpu", cpu_rows), ("e2e", e2e_rows), ("bulk", bulk_rows),
                          ("batch", batch_rows), ("spool", spool_rows), ("cli", cli_rows), ("async", async_rows),
                          ("cold", cold_rows)):
        if parts is None or part in parts:
            measure(table, rounds)
    print()
    table.show()
    print()
    print("%d of %d goals met" % (table.goals - table.misses, table.goals))
    return 0 if table.misses == 0 else 1


def cold_imports(table, rounds):
    """A fresh interpreter each time; also a vendored copy that nobody compiled."""
    bare_copy = tempfile.mkdtemp()
    shutil.copy(os.path.join(ROOT, "vwo_push.py"), bare_copy)
    variants = {"bare": (PYTHON, "pass"), "ours": (PYTHON, "import vwo_push"), "sdk": (PYTHON, "import vwo"),
                "fme": (FME_PYTHON, "import vwo"), "no_pyc": (PYTHON, "import vwo_push", bare_copy)}
    if BEFORE:
        variants["before"] = (PYTHON, "import vwo_push", BEFORE)
    cold = interleave(rounds * 3, variants, timed_import)
    shutil.rmtree(bare_copy)
    wall = {k: statistics.median(w for w, _ in v) * 1000 for k, v in cold.items()}
    rss = {k: statistics.median(m for _, m in v) for k, v in cold.items()}
    table.add("cold import, wall ms", "%.1f" % wall["ours"], "%.1f" % wall["sdk"], "%.1f (bare python)" % wall["bare"],
              "%.2fx bare (<= 1.25x); SDK %.0fx slower (>= 20x)" % (wall["ours"] / wall["bare"],
                                                                   wall["sdk"] / wall["ours"]),
              wall["ours"] <= 1.25 * wall["bare"] and wall["sdk"] >= 20 * wall["ours"],
              "%.1f" % wall["before"] if BEFORE else "")
    ours_import, fme_import = wall["ours"] - wall["bare"], wall["fme"] - wall["bare"]
    table.add("import, FME, ms beyond bare python", "%.1f" % ours_import, "%.1f (FME SDK)" % fme_import, "",
              "FME SDK %.0fx slower (>= 20x); process wall %.0fx" % (fme_import / ours_import,
                                                                    wall["fme"] / wall["ours"]),
              fme_import >= 20 * ours_import)
    table.add("cold import without a .pyc, wall ms", "%.1f" % wall["no_pyc"], "", "%.1f (bare python)" % wall["bare"],
              "%.2fx bare (no goal: the compile a .pyc saves)" % (wall["no_pyc"] / wall["bare"]), None)
    table.add("cold import, peak RSS MB", "%.1f" % rss["ours"], "%.1f" % rss["sdk"], "%.1f (bare python)" % rss["bare"],
              "%.2fx bare (<= 1.1x)" % (rss["ours"] / rss["bare"]), rss["ours"] <= 1.1 * rss["bare"],
              "%.1f" % rss["before"] if BEFORE else "")


def cpu_rows(table, rounds):
    """CPU per push, no network: a dry run, the SDK's development mode, and the minimal builder."""
    for pairs, goal in ((1, 1.5), (10, 2.0)):
        n = 20000 if pairs == 1 else 3000
        got = interleave(rounds, {k: (PYTHON, k, "cpu", pairs, n) for k in sides("ours", "sdk", "limit")}, worker)
        ours, sdk, limit = (median(got[k], "us_per_push") for k in ("ours", "sdk", "limit"))
        table.add("CPU per push, %s, us" % ("one pair" if pairs == 1 else "10-pair map"), "%.1f" % ours,
                  "%.1f" % sdk, "%.1f (minimal builder)" % limit,
                  "%.2fx limit (<= 2.0x); SDK %.2fx slower (>= %.1fx)" % (ours / limit, sdk / ours, goal),
                  ours <= 2.0 * limit and sdk >= goal * ours, before_text(got, "us_per_push", "%.1f"))


def e2e_rows(table, rounds):
    collector, url = start_collector()
    try:
        for label, mode, threads, sdk_goal, limit_goal in (
                ("standard", "std", 1, 3.0, 0.85), ("event architecture", "event", 1, 2.5, 0.7),
                ("4 threads, one client", "std", 4, 3.0, 0.7)):
            got = interleave(rounds, {k: (PYTHON, k, "e2e", url, mode, 6000, threads)
                                      for k in sides("ours", "sdk", "limit")}, worker)
            ours, sdk, limit = (median(got[k], "per_s") for k in ("ours", "sdk", "limit"))
            table.add("end to end, %s, pushes/s" % label, "%.0f" % ours, "%.0f" % sdk, "%.0f (raw http.client)" % limit,
                      "%.2fx limit (>= %.2fx); %.2fx SDK (>= %.1fx)" % (ours / limit, limit_goal, ours / sdk, sdk_goal),
                      ours >= limit_goal * limit and ours >= sdk_goal * sdk, before_text(got, "per_s"))
        # FME: end to end against the FME SDK with its threading off (it answers each call before the next).
        variants = {"ours": (PYTHON, "ours", "e2e", url, "fme", 3000, 1),
                    "fme": (FME_PYTHON, "fme", "e2e", url, "fme", 3000, 1),
                    "limit": (PYTHON, "limit", "e2e", url, "fme", 3000, 1)}
        if BEFORE:
            variants["before"] = (PYTHON, "before", "e2e", url, "fme", 3000, 1)
        got = interleave(rounds, variants, worker)
        ours, fme, limit = (median(got[k], "per_s") for k in ("ours", "fme", "limit"))
        table.add("end to end, FME set_attribute, calls/s", "%.0f" % ours, "%.0f (FME SDK)" % fme,
                  "%.0f (raw http.client)" % limit, "%.2fx FME SDK (>= 3x); %.2fx limit" % (ours / fme, ours / limit),
                  ours >= 3 * fme, before_text(got, "per_s"))
        ours, fme = median(got["ours"], "cpu_us"), median(got["fme"], "cpu_us")
        table.add("CPU per FME set_attribute (sent), us", "%.1f" % ours, "%.1f (FME SDK)" % fme, "",
                  "FME SDK %.2fx more CPU" % (fme / ours), None, before_text(got, "cpu_us", "%.1f"))
    finally:
        stop_collector(collector)


def bulk_rows(table, rounds):
    """push_many against the SDK's batch mode and against the minimal batches."""
    collector, url = start_collector()
    try:
        rows = 200_000
        for batch in (1000, 5000):
            got = interleave(max(3, rounds // 2 + 1), {k: (PYTHON, k, "bulk", url, rows, batch)
                                                       for k in sides("ours", "sdk", "limit")}, worker)
            ours, sdk, limit = (median(got[k], "per_s") for k in ("ours", "sdk", "limit"))
            table.add("bulk, batch %d, events/s (200,000 rows)" % batch, "%.0f" % ours, "%.0f" % sdk,
                      "%.0f (minimal events)" % limit,
                      "%.2fx limit (>= 0.8x); %.1fx SDK (>= 8x)" % (ours / limit, ours / sdk),
                      ours >= 0.8 * limit and ours >= 8 * sdk, before_text(got, "per_s"))
        small = statistics.median(worker(PYTHON, "ours", "bulk", url, rows, 1000)["peak_rss_mb"] for _ in range(3))
        big = statistics.median(worker(PYTHON, "ours", "bulk", url, 1_000_000, 1000)["peak_rss_mb"] for _ in range(3))
        table.add("bulk, peak RSS MB, 1,000,000 rows", "%.1f" % big, "", "%.1f (200,000 rows)" % small,
                  "%.2fx the 200,000-row run (<= 1.2x, <= 30 MB)" % (big / small), big <= 30 and big <= 1.2 * small)
    finally:
        stop_collector(collector)


def batch_rows(table, rounds):
    """Batch mode: 100,000 pushes then a flush, until the collector has them all; the caller's cost."""
    collector, url = start_collector()
    try:
        got = interleave(3, {k: (PYTHON, k, "batch", url, 100_000) for k in sides("ours", "sdk")}, worker)
        ours, sdk = median(got["ours"], "per_s"), median(got["sdk"], "per_s")
        table.add("batch mode, 100,000 pushes + flush, events/s", "%.0f" % ours, "%.0f" % sdk, "",
                  "%.1fx SDK (>= 5x)" % (ours / sdk), ours >= 5 * sdk, before_text(got, "per_s"))
    finally:
        stop_collector(collector)
    collector, url = start_collector("--silent")  # the caller's cost while the server never answers
    try:
        got = interleave(rounds, {k: (PYTHON, k, "cost", url, 20_000) for k in sides("ours", "sdk")}, worker)
        ours, sdk = median(got["ours"], "p99_us"), median(got["sdk"], "p99_us")
        table.add("batch mode push, caller's p99 us, server silent", "%.1f" % ours, "%.1f" % sdk, "",
                  "p50 %.1f us (p99 <= 50 us)" % median(got["ours"], "p50_us"), ours <= 50,
                  before_text(got, "p99_us", "%.1f"))
    finally:
        stop_collector(collector)


def spool_rows(table, rounds):
    """The spool on this machine's disk, against batch mode without one and the SDK's batch mode."""
    collector, url = start_collector()
    try:
        got = interleave(rounds, {k: (PYTHON, k, "cost", url, 20_000) for k in ("spool-live", "memory-live")},
                         worker)
        spool, memory = median(got["spool-live"], "p99_us"), median(got["memory-live"], "p99_us")
        rate = median(got["spool-live"], "per_s")
        table.add("spool push, caller's p99 us, collector live", "%.1f" % spool, "", "%.1f (no spool)" % memory,
                  "p50 %.1f us (p99 <= 250 us)" % median(got["spool-live"], "p50_us"), spool <= 250)
        table.add("spool, pushes/s from one process", "%.0f" % rate, "",
                  "%.0f (no spool)" % median(got["memory-live"], "per_s"), "(>= 20,000/s)", rate >= 20_000)
        got = interleave(3, {k: (PYTHON, k, "batch", url, 100_000) for k in ("spool", "sdk")}, worker)
        spool, sdk = median(got["spool"], "per_s"), median(got["sdk"], "per_s")
        table.add("spool, 100,000 pushes + flush, events/s", "%.0f" % spool, "%.0f" % sdk, "",
                  "%.1fx SDK batch mode (>= 3x)" % (spool / sdk), spool >= 3 * sdk)
    finally:
        stop_collector(collector)


def csv_file(rows):
    path = os.path.join(tempfile.mkdtemp(prefix="vwo-bench-"), "rows.csv")
    with open(path, "w") as out:
        out.write("user_id,key,value\n")
        for i in range(rows):
            out.write("user-%d,key%d,value-%d\n" % (i // 3, i % 3, i))
    return path


def cli_rows(table, rounds):
    """--file over a link with 100 ms of latency at --concurrency 1, 4, 8; at 0 ms, 4 against one batch at a
    time as the command line did before; the peak RSS of a million rows at 4."""
    path = csv_file(200_000)
    collector, url = start_collector("--delay", "0.1")
    try:
        got = interleave(2, {c: (PYTHON, "ours", "cli", url, path, c) for c in (1, 4, 8)}, worker)
        rate = {c: median(got[c], "per_s") for c in (1, 4, 8)}
        for c, goal in ((4, 3.5), (8, 6.0)):
            table.add("--file over 100 ms, --concurrency %d, rows/s" % c, "%.0f" % rate[c], "",
                      "%.0f (--concurrency 1)" % rate[1], "%.1fx concurrency 1 (>= %gx)" % (rate[c] / rate[1], goal),
                      rate[c] >= goal * rate[1])
    finally:
        stop_collector(collector)
    collector, url = start_collector()
    try:
        variants = {"4": (PYTHON, "ours", "cli", url, path, 4), "1": (PYTHON, "ours", "cli", url, path, 1)}
        if BEFORE:
            variants["before"] = (PYTHON, "before", "cli", url, path, 1)
        got = interleave(rounds, variants, worker)
        four, one = median(got["4"], "per_s"), median(got["before" if BEFORE else "1"], "per_s")
        table.add("--file at 0 ms, --concurrency 4, rows/s", "%.0f" % four, "", "%.0f (%s)" % (
                  one, "one batch at a time, before" if BEFORE else "--concurrency 1"),
                  "%.2fx (>= 0.95x)" % (four / one), four >= 0.95 * one, before_text(got, "per_s"))
        big = csv_file(1_000_000)
        rss = statistics.median(worker(PYTHON, "ours", "cli", url, big, 4)["peak_rss_mb"] for _ in range(2))
        table.add("--file, 1,000,000 rows, --concurrency 4, peak RSS MB", "%.1f" % rss, "", "", "(<= 30 MB)",
                  rss <= 30)
        shutil.rmtree(os.path.dirname(big))
    finally:
        stop_collector(collector)
    shutil.rmtree(os.path.dirname(path))


def async_rows(table, rounds):
    """AsyncClient against aiohttp, httpx and the limit (raw asyncio streams), the same GET push, keep-alive."""
    collector, url = start_collector()
    try:
        for tasks, n in ((50, 3000), (1, 3000)):
            got = interleave(rounds, {k: (ASYNC_PYTHON, k, "async", url, n, tasks)
                                      for k in ("ours", "aiohttp", "httpx", "limit")}, worker)
            ours, aio, hx, limit = (median(got[k], "per_s") for k in ("ours", "aiohttp", "httpx", "limit"))
            if tasks > 1:
                table.add("async, 50 tasks, pushes/s", "%.0f" % ours, "%.0f aiohttp, %.0f httpx" % (aio, hx),
                          "%.0f (raw streams, 50 connections)" % limit,
                          "%.2fx aiohttp (>= 1.5x); %.2fx limit (>= 0.5x)" % (ours / aio, ours / limit),
                          ours >= 1.5 * aio and ours >= 0.5 * limit)
            else:
                table.add("async, one task, pushes/s", "%.0f" % ours, "%.0f aiohttp, %.0f httpx" % (aio, hx),
                          "%.0f (raw streams)" % limit,
                          "%.2fx limit (>= 0.8x); %.2fx aiohttp (> 1x)" % (ours / limit, ours / aio),
                          ours >= 0.8 * limit and ours > aio)
    finally:
        stop_collector(collector)
    collector, url = start_collector("--silent")
    try:
        ours = statistics.median(worker(ASYNC_PYTHON, "ours", "lag", url, 1000)["p99_ms"] for _ in range(3))
        blocking = worker(ASYNC_PYTHON, "blocking", "lag", url, 3)
        table.add("loop lag p99 ms, 1000 pushes, server silent", "%.1f" % ours, "",
                  "%.0f (Client.push in a coroutine, 3 pushes)" % blocking["p99_ms"], "(< 5 ms)", ours < 5)
    finally:
        stop_collector(collector)


def cold_rows(table, rounds):
    """Cold start over HTTPS, with the same real-size CA store everywhere."""
    bundle = ca_bundle()
    env = dict(os.environ, SSL_CERT_FILE=bundle, REQUESTS_CA_BUNDLE=bundle)
    collector, url = start_collector("--tls", os.path.join(ROOT, "testdata", "server.pem"))
    try:
        port = int(url.rsplit(":", 1)[1])
        sys.path.insert(0, ROOT)
        import vwo_push

        path = vwo_push.Client(123456, KEY).build_requests("browser", "chrome", "u")[0].selector
        context = ssl.create_default_context(cafile=bundle)

        def count():
            return json.loads(urllib.request.urlopen(url + "/__stats", context=context).read())["requests"]

        before = count()
        names = list(COLD) if not BEFORE else [*COLD, "before"]
        got = interleave(rounds + 2, {k: (k, port, path, env) for k in names}, cold_start)
        arrived = count() - before  # the FME SDK sends an event of its own too
        assert arrived >= len(names) * (rounds + 2), "a cold start's push did not arrive"
        ms = {k: statistics.median(v) * 1000 for k, v in got.items()}
        table.add("cold start: import + 1 push over https, ms", "%.0f" % ms["ours"], "%.0f" % ms["sdk"],
                  "%.0f (http.client + ssl)" % ms["limit"],
                  "%.2fx limit (<= 1.2x); SDK %.1fx slower (>= 4x)" % (ms["ours"] / ms["limit"],
                                                                      ms["sdk"] / ms["ours"]),
                  ms["ours"] <= 1.2 * ms["limit"] and ms["sdk"] >= 4 * ms["ours"],
                  "%.0f" % ms["before"] if BEFORE else "")
        table.add("cold start, FME: import + 1 set_attribute, ms", "%.0f" % ms["ours-fme"],
                  "%.0f (FME SDK init)" % ms["fme"], "",
                  "FME SDK %.1fx slower (>= 5x)" % (ms["fme"] / ms["ours-fme"]), ms["fme"] >= 5 * ms["ours-fme"])
        table.add("cold start, async: import + 1 push over https, ms", "%.0f" % ms["ours-async"],
                  "%.0f (import aiohttp + 1 GET)" % ms["aiohttp"], "%.0f (asyncio + ssl, streams)" % ms["limit-async"],
                  "%.2fx limit (<= 1.3x); aiohttp %.1fx slower (>= 3x)" % (ms["ours-async"] / ms["limit-async"],
                                                                          ms["aiohttp"] / ms["ours-async"]),
                  ms["ours-async"] <= 1.3 * ms["limit-async"] and ms["aiohttp"] >= 3 * ms["ours-async"])
    finally:
        stop_collector(collector)
        shutil.rmtree(os.path.dirname(bundle))


def stop_collector(collector):
    collector.terminate()
    collector.wait()


if __name__ == "__main__":
    sys.exit(main())
