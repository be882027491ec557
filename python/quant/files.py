"""Output files written atomically: to a temporary beside the final name,
then renamed; the temporary is removed on every failure (exceptions,
Ctrl-C, SIGTERM, which `python -m quant` turns into KeyboardInterrupt).
No partial file ever appears under the final name (docs/reliability.md)."""

import os
from pathlib import Path


def write_text_atomic(path, text: str, encoding: str = "utf-8") -> None:
    path = Path(path)
    tmp = path.with_name(f"{path.name}.partial-{os.getpid()}")
    try:
        with open(tmp, "w", encoding=encoding) as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
