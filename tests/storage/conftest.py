"""Fixtures of the storage contract suites: one store per backend, each test on fresh state.

PostgreSQL: a fresh schema per test (dropped afterwards) in the ``VAULT_TEST_PG_DSN`` database.
S3: a fresh key prefix per test in one bucket per session (objects deleted afterwards).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from storage_backends import EMBEDDED, SHARED, allowed, fresh_name, pg_dsn, s3_env, with_schema

from vault_server.storage.base import BlobStore, MetadataStore
from vault_server.storage.file_blobs import FileBlobStore
from vault_server.storage.sqlite_meta import SqliteMetadataStore

META_BACKENDS = ("sqlite", "postgres")
BLOB_BACKENDS = ("files", "s3")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With VAULT_TEST_BACKENDS narrowing the run, deselect (visibly) the other backends."""
    keep = allowed()
    if keep >= set(EMBEDDED + SHARED):
        return
    selected, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec else {}
        used = {params.get("backend"), params.get("blob_backend")} - {None}
        (dropped if used - keep else selected).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = selected


async def _drop_schema(dsn: str, schema: str) -> None:
    import asyncpg

    c = await asyncpg.connect(dsn)
    try:
        await c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await c.close()


MetaFactory = Callable[[], Awaitable[MetadataStore]]


@pytest.fixture(params=META_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def open_meta(backend: str, tmp_path: Path) -> AsyncIterator[MetaFactory]:
    """A factory: every call opens another store on the *same* data (two "processes")."""
    opened: list[MetadataStore] = []
    schema = fresh_name("t")
    dsn = pg_dsn() if backend == "postgres" else ""

    async def make() -> MetadataStore:
        store: MetadataStore
        if backend == "sqlite":
            store = SqliteMetadataStore(tmp_path / "vault.sqlite3")
        else:
            from vault_server.storage.postgres import PostgresMetadataStore

            store = await PostgresMetadataStore.connect(with_schema(dsn, schema))
        opened.append(store)
        return store

    yield make
    for s in opened:
        await s.close()
    if backend == "postgres":
        await _drop_schema(dsn, schema)


@pytest.fixture
async def meta(open_meta: MetaFactory) -> MetadataStore:
    return await open_meta()


@pytest.fixture(scope="session")
def s3_bucket() -> str:
    return fresh_name("vault-test").replace("_", "-")


BlobFactory = Callable[[], Awaitable[BlobStore]]


@pytest.fixture(params=BLOB_BACKENDS)
def blob_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def open_blobs(
    blob_backend: str, tmp_path: Path, s3_bucket: str
) -> AsyncIterator[BlobFactory]:
    backend = blob_backend
    opened: list[Any] = []
    prefix = fresh_name("t") + "/"

    async def make() -> BlobStore:
        store: Any
        if backend == "files":
            store = FileBlobStore(tmp_path / "blobs")
        else:
            from vault_server.storage.s3_blobs import S3BlobStore, parse_s3_url

            env = s3_env()
            store = await S3BlobStore.open(
                parse_s3_url(env.url(s3_bucket, prefix), env.access_key, env.secret_key)
            )
        opened.append(store)
        return store

    yield make
    if backend == "s3" and opened:
        store = opened[0]
        keys = [store.key(a, b) async for a, b, _ in store.list_blobs()]
        for k in keys:
            await store._delete_key(k)
    for s in opened:
        await s.close()


@pytest.fixture
async def blobs(open_blobs: BlobFactory) -> BlobStore:
    return await open_blobs()


os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
