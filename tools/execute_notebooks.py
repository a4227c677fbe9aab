"""Re-run notebooks top to bottom and store their outputs, all or none (``make execute``).

    python tools/execute_notebooks.py notebooks/01_cyclic_shift.ipynb app/explorer.ipynb ...

Each notebook is executed by ``jupyter nbconvert --execute`` in its own folder (so relative paths work as
in JupyterLab) and written to a temporary folder. Only when every notebook has run without an error are
the committed notebooks replaced by the fresh ones; at the first failure nothing is replaced, the script
names the notebook that failed and exits with status 1. (``nbconvert --inplace`` over the list would stop
there too, but leave the notebooks before it refreshed and the ones after it stale.)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: What ``make execute`` has always stored: no widget state (it changes on every run), no cell timings.
NBCONVERT_OPTIONS = [
    "--to",
    "notebook",
    "--execute",
    "--ExecutePreprocessor.store_widget_state=False",
    "--ExecutePreprocessor.record_timing=False",
]


def execute_all(notebooks: list[Path]) -> int:
    """Execute ``notebooks`` in order into a temporary folder; replace them all if all succeeded. Returns the exit status."""
    missing = [str(path) for path in notebooks if not path.is_file()]
    if missing:
        print(f"execute_notebooks: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="swin-execute-") as scratch:
        fresh = []
        for number, notebook in enumerate(notebooks):
            # one folder per notebook: two notebooks of the same name in different folders stay apart
            out_dir = Path(scratch) / str(number)
            print(f"[{number + 1}/{len(notebooks)}] executing {notebook}", flush=True)
            completed = subprocess.run(
                [sys.executable, "-m", "jupyter", "nbconvert", *NBCONVERT_OPTIONS, f"--output-dir={out_dir}", str(notebook)],
                check=False,
            )
            if completed.returncode != 0:
                print(
                    f"execute_notebooks: {notebook} failed (nbconvert exit status {completed.returncode}); "
                    f"no notebook was changed",
                    file=sys.stderr,
                )
                return 1
            fresh.append((out_dir / notebook.name, notebook))
        for executed, committed in fresh:
            shutil.copyfile(executed, committed)
    print(f"execute_notebooks: stored the outputs of {len(fresh)} notebooks")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="the notebooks, run in this order")
    return execute_all(parser.parse_args(argv).notebooks)


if __name__ == "__main__":
    sys.exit(main())
