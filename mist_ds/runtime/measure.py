"""Statistics, FLOP accounting and host-memory readings of a run (pure: no torch, no process groups)."""

from __future__ import annotations

import statistics

from mist_ds.config import Plan


def timing_stats(times_s: list[float]) -> tuple[float | None, float | None]:
    """(median, interquartile range) of iteration times; None when there are none."""
    if not times_s:
        return None, None
    if len(times_s) < 2:
        return times_s[0], 0.0
    quart = statistics.quantiles(times_s, n=4, method="inclusive")
    return statistics.median(times_s), quart[2] - quart[0]


def throughput(plan: Plan, median_s: float | None, num_gpus: int,
               peak_tflops: float | None) -> tuple[float | None, float | None, float | None]:
    """(tokens/s, achieved TFLOP/s per GPU, MFU). FLOPs: ModelSpec.flops_per_token (PaLM appendix B,
    6N + 12 L h s), no recompute credit; MFU against the hardware profile's bf16 peak."""
    if not median_s:
        return None, None, None
    tokens_per_s = plan.tokens_per_step / median_s
    tflops = plan.model.flops_per_token(plan.seq_len) * tokens_per_s / num_gpus / 1e12
    return tokens_per_s, tflops, (tflops / peak_tflops if peak_tflops else None)


# ----- host memory (issue 18): pure Python, no torch ------------------------------------------------

def read_meminfo(path: str = "/proc/meminfo") -> dict[str, int]:
    """/proc/meminfo as bytes ('MemAvailable' -> bytes); {} where the file does not exist."""
    out: dict[str, int] = {}
    try:
        with open(path) as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                parts = rest.split()
                if parts and parts[0].isdigit():
                    out[key] = int(parts[0]) * (1024 if parts[1:2] == ["kB"] else 1)
    except OSError:
        return {}
    return out


def peak_rss_bytes() -> int:
    """This process's peak resident set size (getrusage ru_maxrss: KiB on Linux, bytes on macOS)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class NodeMemoryMonitor:
    """Samples the node's MemAvailable in a daemon thread: the value at start and the lowest seen.
    A sample costs one read of /proc/meminfo; sampling stops with the process."""

    def __init__(self, interval_s: float = 0.5, path: str = "/proc/meminfo"):
        import threading

        self.path, self.interval_s = path, interval_s
        info = read_meminfo(path)
        self.total_bytes: int | None = info.get("MemTotal")
        self.start_bytes: int | None = info.get("MemAvailable")
        self.min_bytes: int | None = self.start_bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mist-node-memory", daemon=True)

    def start(self) -> NodeMemoryMonitor:
        if self.start_bytes is not None:
            self._thread.start()
        return self

    def sample(self) -> int | None:
        """Read MemAvailable now and fold it into the minimum."""
        value = read_meminfo(self.path).get("MemAvailable")
        if value is not None and (self.min_bytes is None or value < self.min_bytes):
            self.min_bytes = value
        return value

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()


def merge_nodes(samples: list[tuple[str, int | None, int | None, int | None]]
                ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Per-rank (host, MemAvailable at start, lowest MemAvailable, MemTotal) -> per-node
    (starts, minimums, totals) in order of each node's first rank. Ranks of one node share its
    memory: the node's start is the highest start any of them saw (the earliest), its minimum the
    lowest. Empty tuples when any rank could not read /proc/meminfo."""
    if not samples or any(None in sample[1:] for sample in samples):
        return (), (), ()
    nodes: dict[str, list[int]] = {}
    for host, start, low, total in samples:
        if host in nodes:
            node = nodes[host]
            node[0], node[1] = max(node[0], start), min(node[1], low)
        else:
            nodes[host] = [start, low, total]
    rows = list(nodes.values())
    return tuple(r[0] for r in rows), tuple(r[1] for r in rows), tuple(r[2] for r in rows)
