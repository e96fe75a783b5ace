"""Many files through one job: ``unseen batch`` and :func:`unseen.batch`.

A batch is a list of items (manifest.py: CSV or JSONL lines, a folder, or Python dicts), each one whole
file through ``remove``, ``segment`` or ``background`` with the options the single-file command takes.
run.py skips what an earlier run finished (state.py: keyed by the input's content hash and the options),
hands the rest to an engine (engines.py: processes on this machine, or Ray tasks) that runs each item in
worker.py, and writes ``OUT/report.json`` (report.py).
"""

from unseen.batch.manifest import JOBS, Item, read_items
from unseen.batch.run import ENGINES, run_batch

__all__ = ["ENGINES", "JOBS", "Item", "read_items", "run_batch"]
