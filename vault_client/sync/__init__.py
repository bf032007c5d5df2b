"""The sync engine, by responsibility (each module's header tells its theory of operation).

    engine    SyncEngine: one sync, pull → scan → plan → execute, composed of the parts below
    log       pull and verify the signed log, sign and append entries
    scan      the folder's walk, the no-change check, hashing what changed; the remote map
    apply     a plan carried out: conflict copies, remote side, local side, the new base
    publish   a file (or an existing record) into sealed chunks, a manifest and a record
    download  manifests and chunks fetched, verified and written into the folder
    pipeline  read → cut → hash → seal on worker threads; files opened as the scan saw them
    uploader  sealed blobs to the server in batches
    helper    the large files of a big sync in a second process (``python -m`` it)
    common    the report, shared constants and helpers

The modules import each other directly, never through this package; this file only hands on
the names the rest of the client uses (it does not import :mod:`.helper`: a sync with nothing
to do never loads it).
"""

from .common import MAX_ROUNDS, ContentChanged, SyncReport, _together
from .download import write_chunks
from .engine import SyncEngine
from .pipeline import ChunkPipeline, queue_chunks
from .scan import prewalk
from .uploader import Uploader, seal_record

__all__ = [
    "MAX_ROUNDS",
    "ChunkPipeline",
    "ContentChanged",
    "SyncEngine",
    "SyncReport",
    "Uploader",
    "_together",
    "prewalk",
    "queue_chunks",
    "seal_record",
    "write_chunks",
]
