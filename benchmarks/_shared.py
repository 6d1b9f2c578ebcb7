"""What the benchmark scripts share: the machine line, memory readings, child-process runs, fast random init.

The scripts run as `python benchmarks/bench_*.py`, so this module is importable as `_shared` next to them.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys


def machine() -> str:
    """nproc, CPU model, RAM, the GPU (when CUDA has one), Python / torch / transformers versions and the 1-minute
    load average now."""
    import torch
    import transformers

    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return (
        f"{os.cpu_count()} cores ({cpu}), {ram:.0f} GiB RAM{gpu}, Python {platform.python_version()}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), transformers {transformers.__version__}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )


def current_rss_gib() -> float:
    """The process's resident memory now (VmRSS), in GiB."""
    return _status_gib("VmRSS")


def peak_rss_gib() -> float:
    """The process's peak resident memory since it started or since `reset_peak_rss` (VmHWM), in GiB."""
    return _status_gib("VmHWM")


def _status_gib(field: str) -> float:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(field)) / 2**20


class RssTrace:
    """Samples the process's resident memory every `every` seconds in a thread; `stop` gives the highest sample in
    each quarter of the run (GiB): flat memory shows as four equal numbers, growth as rising ones."""

    def __init__(self, every: float) -> None:
        import threading

        self._samples: list[float] = []
        self._done = threading.Event()

        def sample() -> None:
            while not self._done.is_set():
                self._samples.append(current_rss_gib())
                self._done.wait(every)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()

    def stop(self) -> list[float]:
        self._done.set()
        self._thread.join()
        samples = [*self._samples, current_rss_gib()]  # at least one, however short the run
        bounds = [len(samples) * q // 4 for q in range(5)]
        return [max(samples[bounds[q] : max(bounds[q + 1], bounds[q] + 1)]) for q in range(4)]


def reset_peak_rss() -> bool:
    """Reset the process's peak RSS (Linux `clear_refs` 5: ru_maxrss restarts from the current RSS), so that building
    the model does not set the peak. False where that is not possible (the peak then includes the build)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def run_child(script: str, spec: dict, timeout: float | None = None) -> dict:
    """Run `script --child SPEC` in a fresh process and return its last stdout line as JSON; a timeout, a crash or
    the OOM killer becomes the row's `error` instead of stopping the benchmark."""
    command = [sys.executable, script, "--child", json.dumps(spec)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**spec, "error": f"did not finish in {timeout:.0f} s"}
    if result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        if result.returncode in (-9, 137) or "MemoryError" in tail or "out of memory" in tail.lower():
            return {**spec, "error": f"out of memory ({tail or 'killed'})"}
        print(result.stderr[-3000:], file=sys.stderr)
        return {**spec, "error": tail or f"exit {result.returncode}"}
    return json.loads(result.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def fast_random_init():
    """Draw initial weights in float32 and copy them in (truncation approximated by clamping): torch's bfloat16
    `trunc_normal_` / `normal_` take minutes on large models on CPU. Weights are random either way."""
    import torch
    from transformers import initialization

    def draw(tensor, generator):
        # float32 standard normals on the tensor's device (a GPU model is initialised there), or the generator's.
        device = generator.device if generator is not None else tensor.device
        return torch.randn(tensor.shape, generator=generator, device=device)

    def normal_(tensor, mean=0.0, std=1.0, generator=None):
        with torch.no_grad():
            return tensor.copy_(draw(tensor, generator).mul_(std).add_(mean))

    def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
        with torch.no_grad():
            return tensor.copy_(draw(tensor, generator).mul_(std).add_(mean).clamp_(a, b))

    saved = (torch.nn.init.normal_, torch.nn.init.trunc_normal_, dict(initialization.TORCH_INIT_FUNCTIONS))
    torch.nn.init.normal_, torch.nn.init.trunc_normal_ = normal_, trunc_normal_
    initialization.TORCH_INIT_FUNCTIONS.update(normal_=normal_, trunc_normal_=trunc_normal_)
    try:
        yield
    finally:
        torch.nn.init.normal_, torch.nn.init.trunc_normal_ = saved[0], saved[1]
        initialization.TORCH_INIT_FUNCTIONS.clear()
        initialization.TORCH_INIT_FUNCTIONS.update(saved[2])
