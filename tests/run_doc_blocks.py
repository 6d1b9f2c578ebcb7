"""Run every ```python block of a Markdown file in order, in one namespace, as a reader would paste them.

    python tests/run_doc_blocks.py FILE

Runs in the current folder (the test puts the sample videos the docs name there: clip.mp4, long.mp4) with the test
Hub of tests/fake_hub.py installed; HF_HUB_CACHE and HF_HUB_OFFLINE=1 must be set by the caller. A failing block's
traceback names the Markdown file and its line.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, code) of every python block."""
    return [(text[: m.start(1)].count("\n") + 1, m.group(1)) for m in BLOCK.finditer(text)]


def main(path: str) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    import fake_hub

    fake_hub.install(os.environ["HF_HUB_CACHE"])
    namespace: dict = {"__name__": "__main__"}
    for line, code in python_blocks(Path(path).read_text(encoding="utf-8")):
        print(f"[docs] {path}:{line}", flush=True)
        # Pad so that tracebacks give the Markdown file's own line numbers.
        exec(compile("\n" * (line - 1) + code, path, "exec"), namespace)


if __name__ == "__main__":
    main(sys.argv[1])
