"""Side-by-side bench: vwo_push against the official SDK (vwo-python-sdk 1.68.2) and the limit.

    python3 bench/run.py            # about three minutes on two cores
    python3 bench/run.py --rounds 3 # quicker, noisier

It creates bench/.venv holding the official SDK (never a dependency of vwo_push), starts a
keep-alive HTTP/1.1 collector in its own process on 127.0.0.1, and runs every measurement in
a fresh process of that venv's interpreter, the variants of a row interleaved round by round.
Figures are medians; goals are ratios, which hold on a noisy shared machine where seconds do not.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
VENV = os.path.join(BENCH, ".venv")
PYTHON = os.path.join(VENV, "bin", "python")
SDK = "vwo-python-sdk==1.68.2"


def ensure_venv():
    if not os.path.exists(PYTHON):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    check = subprocess.run([PYTHON, "-c", "import vwo"], capture_output=True, check=False)
    if check.returncode != 0:
        subprocess.run([PYTHON, "-m", "pip", "install", "-q", "--disable-pip-version-check", SDK], check=True)


def run(args, cwd=ROOT, env=None):
    """Wall seconds, peak RSS in MB and stdout of one fresh process (rusage from wait4: no wrapper)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError("%s failed: %s" % (args, err.decode()[-2000:]))
    return wall, usage.ru_maxrss / 1024, out.decode()


PEAK = ("\nimport sys\nfor line in open('/proc/self/status'):\n"
        "    line.startswith('VmHWM') and sys.stdout.write(line)")


def timed_import(code, cwd=ROOT):
    """Wall seconds and peak RSS (MB) of `python -c code` in the bench's venv.

    The peak is the child's own VmHWM: ru_maxrss would carry the bench process's peak
    through fork and exec, and hide the interpreter's own under it.  Nothing writes
    bytecode here, so a module without a .pyc is compiled at every import.
    """
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    wall, _, out = run([PYTHON, "-c", code + PEAK], cwd=cwd, env=env)
    return wall, int(out.split()[1]) / 1024


def compile_module():
    """Compile vwo_push.py to __pycache__, as pip does for the SDK's files when it installs them."""
    subprocess.run([PYTHON, "-m", "py_compile", os.path.join(ROOT, "vwo_push.py")], check=True)


def worker(*args):
    _, _, out = run([PYTHON, os.path.join(BENCH, "worker.py")] + [str(a) for a in args])
    return json.loads(out)


def interleave(rounds, variants, measure=None):
    """{name: [results]}: each variant's arguments given to `measure` (default: a worker) once a
    round, the order turning each round so that no variant always runs first."""
    measure = measure or worker
    results = {name: [] for name in variants}
    names = list(variants)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            results[name].append(measure(*variants[name]))
    return results


def median(results, key):
    return statistics.median(r[key] if isinstance(r, dict) else r for r in results)


class Table:
    def __init__(self):
        self.rows = []
        self.misses = self.goals = 0

    def add(self, metric, ours, sdk, limit, ratio_text, ok):
        """A row; ok is True or False for a goal, None for a figure shown for information."""
        self.misses += ok is False
        self.goals += ok is not None
        self.rows.append((metric, ours, sdk, limit, ratio_text, {True: "met", False: "MISSED", None: "info"}[ok]))
        print("  %-44s %s" % (metric, ratio_text), file=sys.stderr, flush=True)

    def show(self):
        head = ("metric", "vwo_push", "official SDK", "limit", "ratio (goal)", "goal")
        widths = [max(len(str(row[i])) for row in [*self.rows, head]) for i in range(len(head))]
        line = lambda row: "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |"  # noqa: E731
        print(line(head))
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for row in self.rows:
            print(line(row))


def start_collector():
    proc = subprocess.Popen([PYTHON, os.path.join(BENCH, "server.py")], stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    return proc, "http://127.0.0.1:%d" % port


def stats(url):
    with urllib.request.urlopen(url + "/__stats", timeout=5) as response:
        return json.loads(response.read())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds a row (default 7)")
    opts = parser.parse_args()
    rounds = opts.rounds
    ensure_venv()
    version = subprocess.run([PYTHON, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True, check=True).stdout.strip()
    print("# vwo_push bench: CPython %s, %s, %d CPUs, %s" % (
        version, platform.machine(), os.cpu_count() or 0, time.strftime("%Y-%m-%d")))
    table = Table()
    compile_module()

    # Cold import: a fresh interpreter each time; also a vendored copy that nobody compiled.
    bare_copy = tempfile.mkdtemp()
    shutil.copy(os.path.join(ROOT, "vwo_push.py"), bare_copy)
    cold = interleave(rounds * 3, {"bare": ("pass",), "ours": ("import vwo_push",), "sdk": ("import vwo",),
                                   "no_pyc": ("import vwo_push", bare_copy)}, timed_import)
    shutil.rmtree(bare_copy)
    wall = {k: statistics.median(w for w, _ in v) * 1000 for k, v in cold.items()}
    rss = {k: statistics.median(m for _, m in v) for k, v in cold.items()}
    table.add("cold import, wall ms", "%.1f" % wall["ours"], "%.1f" % wall["sdk"], "%.1f (bare python)" % wall["bare"],
              "%.2fx bare (<= 1.25x); SDK %.0fx slower (>= 20x)" % (wall["ours"] / wall["bare"],
                                                                   wall["sdk"] / wall["ours"]),
              wall["ours"] <= 1.25 * wall["bare"] and wall["sdk"] >= 20 * wall["ours"])
    table.add("cold import without a .pyc, wall ms", "%.1f" % wall["no_pyc"], "", "%.1f (bare python)" % wall["bare"],
              "%.2fx bare (no goal: the compile a .pyc saves)" % (wall["no_pyc"] / wall["bare"]), None)
    table.add("cold import, peak RSS MB", "%.1f" % rss["ours"], "%.1f" % rss["sdk"], "%.1f (bare python)" % rss["bare"],
              "%.2fx bare (<= 1.1x)" % (rss["ours"] / rss["bare"]), rss["ours"] <= 1.1 * rss["bare"])

    # CPU per push, no network: dry run against the SDK's development mode.
    for pairs, goal in ((1, 1.5), (10, 2.0)):
        n = 20000 if pairs == 1 else 4000
        got = interleave(rounds, {"ours": ("ours", "cpu", pairs, n), "sdk": ("sdk", "cpu", pairs, n)})
        ours, sdk = median(got["ours"], "us_per_push"), median(got["sdk"], "us_per_push")
        table.add("CPU per push, %s, us" % ("one pair" if pairs == 1 else "10-pair map"), "%.1f" % ours,
                  "%.1f" % sdk, "", "%.2fx faster (>= %.1fx)" % (sdk / ours, goal), sdk / ours >= goal)

    collector, url = start_collector()
    try:
        # End to end against the local collector.
        n = 6000
        before = stats(url)["requests"]
        got = interleave(rounds, {"raw": ("ours", "raw", url, n), "ours": ("ours", "e2e", url, "std", n, 1),
                                  "sdk": ("sdk", "e2e", url, "std", n, 1)})
        raw = median(got["raw"], "per_s")
        ours, sdk = median(got["ours"], "per_s"), median(got["sdk"], "per_s")
        failures = sum(r["failures"] for k in ("ours", "sdk") for r in got[k])
        table.add("end to end, standard, pushes/s", "%.0f" % ours, "%.0f" % sdk, "%.0f (raw keep-alive)" % raw,
                  "%.2fx SDK (>= 3x); %.2fx limit (>= 0.7x)" % (ours / sdk, ours / raw),
                  ours >= 3 * sdk and ours >= 0.7 * raw and failures == 0)
        for label, mode, threads, goal in (("event architecture", "event", 1, 2.5), ("4 threads, one client",
                                                                                      "std", 4, 3.0)):
            got = interleave(rounds, {"ours": ("ours", "e2e", url, mode, n, threads),
                                      "sdk": ("sdk", "e2e", url, mode, n, threads)})
            ours, sdk = median(got["ours"], "per_s"), median(got["sdk"], "per_s")
            failures += sum(r["failures"] for k in ("ours", "sdk") for r in got[k])
            table.add("end to end, %s, pushes/s" % label, "%.0f" % ours, "%.0f" % sdk, "",
                      "%.2fx SDK (>= %.1fx)" % (ours / sdk, goal), ours >= goal * sdk)
        arrived = stats(url)["requests"] - before
        print("  collector: %d requests arrived; %d pushes reported failed" % (arrived, failures), file=sys.stderr)

        # Bulk: push_many against the SDK's batch mode.
        rows = 200_000
        for batch in (1000, 5000):
            got = interleave(max(3, rounds // 2), {"ours": ("ours", "bulk", url, rows, batch),
                                                   "sdk": ("sdk", "bulk", url, rows, batch)})
            ours, sdk = median(got["ours"], "per_s"), median(got["sdk"], "per_s")
            table.add("bulk, batch %d, events/s (200,000 rows)" % batch, "%.0f" % ours, "%.0f" % sdk, "",
                      "%.1fx SDK (>= 8x)" % (ours / sdk), ours >= 8 * sdk)
        small = statistics.median(worker("ours", "bulk", url, rows, 1000)["peak_rss_mb"] for _ in range(3))
        big = statistics.median(worker("ours", "bulk", url, 1_000_000, 1000)["peak_rss_mb"] for _ in range(3))
        table.add("bulk, peak RSS MB, 1,000,000 rows", "%.1f" % big, "", "%.1f (200,000 rows)" % small,
                  "%.2fx the 200,000-row run (<= 1.2x, <= 30 MB)" % (big / small), big <= 30 and big <= 1.2 * small)
    finally:
        collector.terminate()
        collector.wait()

    print()
    table.show()
    print()
    print("%d of %d goals met" % (table.goals - table.misses, table.goals))
    return 0 if table.misses == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
