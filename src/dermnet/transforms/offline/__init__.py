"""Offline preprocessing of an image folder into a cache (``dermnet preprocess``).

OpenCV work inside ``tf.data`` runs once per image per epoch and holds the GIL; writing
the preprocessed images once, in parallel processes, and training from the cache is the
fast path. The cache mirrors the source tree (class sub-folders stay, so
`dermnet.data.load_image_folder` reads it) and holds a manifest,
``dermnet_preprocess.json``, recording the pipeline dict, the dermnet version, the counts,
the errors and, per output, the fingerprint of its source.

A resumed run reuses an output only when its source is unchanged (same size and
modification time in nanoseconds as recorded, and the same pipeline and format) and the
output decodes in full at the pipeline's size; every other output is rebuilt and counted
(stale or unreadable). Sources are known by ``stat``, not by a hash of their bytes: it
costs nothing on a resume of 10,000 images (a hash would read every source again, gigabytes
for HAM10000), and an exact-match test (not "newer than") also sees a source replaced by an
older file. Only an edit that keeps both the size and the nanosecond mtime is missed.

Worker processes end with the process that started them, however it ends (a kill
included): each watches its parent through `multiprocessing.parent_process` (a pipe on
POSIX, a process handle on Windows) in a daemon thread and exits when it ends.

The package holds the driver (`dermnet.transforms.offline.folder`: `preprocess_folder`),
its `PreprocessReport` (`.report`), the cache's bookkeeping (`.cache`: manifest, journal,
source fingerprints) and the worker side (`.workers`: decode, transform, encode, the
process pool).
"""

from dermnet.transforms.offline.cache import MANIFEST_NAME
from dermnet.transforms.offline.folder import preprocess_folder
from dermnet.transforms.offline.report import PreprocessReport
from dermnet.transforms.offline.workers import _read_rgb  # the reader `dermnet preprocess` uses

__all__ = ["MANIFEST_NAME", "PreprocessReport", "preprocess_folder"]
