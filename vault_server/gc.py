"""Crash recovery and garbage collection of blobs.

Theory of operation
-------------------
``recover`` settles blob rows left between two steps by a crash: a *pending* row whose final
file exists with the recorded size was fully written and fsynced before its rename, so it is
promoted to present; otherwise its quota is released. A *deleting* row has its file removed and
its quota released. At start every unsettled row is settled (the embedded server is the only
process on its data directory); the periodic and CLI runs only touch rows older than an hour,
so uploads in flight are left alone.

``collect`` marks present blobs that no log entry or live grant references (a revoked grant
drops its blob set at revocation, an expired one at the next purge) and that are older than the
grace period as *deleting* (one transaction, so a concurrent log append either sees the blob
or fails with "unknown blob"), then deletes their files and rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .storage.base import STALE_UPLOAD, BlobStore, MetadataStore

_BATCH = 500


@dataclass
class GcReport:
    promoted: int = 0
    released: int = 0
    deleted: int = 0
    staging_removed: int = 0


async def recover(meta: MetadataStore, blobs: BlobStore, older_than: int) -> GcReport:
    report = GcReport()
    for row in await meta.unsettled_blobs(older_than):
        if row.state == "pending" and await blobs.size(row.account_id, row.blob_id) == row.size:
            await meta.publish_blob(row.account_id, row.blob_id)
            report.promoted += 1
            continue
        await blobs.delete(row.account_id, row.blob_id)
        await meta.release_blob(row.account_id, row.blob_id)
        report.released += 1
    return report


async def collect(
    meta: MetadataStore, blobs: BlobStore, now: int, grace: int, rate_window: int
) -> GcReport:
    report = await recover(meta, blobs, now - STALE_UPLOAD)
    while True:
        doomed = await meta.mark_unreferenced(now - grace, _BATCH)
        for row in doomed:
            await blobs.delete(row.account_id, row.blob_id)
            await meta.release_blob(row.account_id, row.blob_id)
            report.deleted += 1
        if len(doomed) < _BATCH:
            break
    report.staging_removed = await blobs.sweep_staging(int(time.time()) - STALE_UPLOAD)
    await meta.purge_expired(now, rate_window)
    return report
