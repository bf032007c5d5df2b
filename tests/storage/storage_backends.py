"""Which storage backends the tests run on: the environment contract.

* ``VAULT_TEST_PG_DSN``: a PostgreSQL URL (a database the tests may create schemas in).
* ``VAULT_TEST_S3_ENDPOINT``, ``VAULT_TEST_S3_ACCESS_KEY``, ``VAULT_TEST_S3_SECRET_KEY``
  (and optional ``VAULT_TEST_S3_REGION``): an S3-compatible store (the tests create buckets).
* ``VAULT_TEST_NGINX``: the nginx binary for the reverse-proxy test (default: from PATH).
* ``VAULT_TEST_BACKENDS``: which backends may be *missing*. Unset means all are required: a
  PostgreSQL or S3 test whose variables are absent FAILS (it is never skipped), so CI cannot go
  green on a broken service start. ``VAULT_TEST_BACKENDS=sqlite`` is the explicit opt-out for
  developers without the services: only the embedded SQLite/files backends run, the others are
  deselected and reported as such.

``scripts/with-services.sh -- CMD`` starts PostgreSQL and Ceph RGW and sets the variables.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field

import pytest

EMBEDDED = ("sqlite", "files")
SHARED = ("postgres", "s3")


def allowed() -> set[str]:
    """Backends the run covers: all, unless VAULT_TEST_BACKENDS narrows it."""
    raw = os.environ.get("VAULT_TEST_BACKENDS", "").strip()
    if not raw or raw == "all":
        return set(EMBEDDED + SHARED)
    names = {n.strip() for n in raw.split(",") if n.strip()}
    if "sqlite" in names:
        names |= set(EMBEDDED)  # "sqlite" means the embedded pair
    unknown = names - set(EMBEDDED + SHARED)
    if unknown:
        raise pytest.UsageError(f"VAULT_TEST_BACKENDS: unknown {sorted(unknown)}")
    return names


def pg_dsn() -> str:
    dsn = os.environ.get("VAULT_TEST_PG_DSN")
    if not dsn:
        pytest.fail(
            "VAULT_TEST_PG_DSN is not set: run under scripts/with-services.sh, or set"
            " VAULT_TEST_BACKENDS=sqlite to run only the embedded backends",
            pytrace=False,
        )
    return dsn


@dataclass(frozen=True)
class S3Env:
    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    region: str

    def url(self, bucket: str, prefix: str = "") -> str:
        return f"s3://{bucket}/{prefix}?endpoint={self.endpoint}&region={self.region}"

    def env(self) -> dict[str, str]:
        """What a `vault-server` subprocess needs to reach the store."""
        return {"VAULT_S3_ACCESS_KEY": self.access_key, "VAULT_S3_SECRET_KEY": self.secret_key}


def s3_env() -> S3Env:
    names = ("VAULT_TEST_S3_ENDPOINT", "VAULT_TEST_S3_ACCESS_KEY", "VAULT_TEST_S3_SECRET_KEY")
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not set: run under scripts/with-services.sh, or set"
            " VAULT_TEST_BACKENDS=sqlite to run only the embedded backends",
            pytrace=False,
        )
    return S3Env(
        os.environ["VAULT_TEST_S3_ENDPOINT"],
        os.environ["VAULT_TEST_S3_ACCESS_KEY"],
        os.environ["VAULT_TEST_S3_SECRET_KEY"],
        os.environ.get("VAULT_TEST_S3_REGION", "us-east-1"),
    )


def fresh_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def with_schema(dsn: str, schema: str) -> str:
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}schema={schema}"


def safe(text: str) -> str:
    """``text`` without any password of a URL (for assertion messages)."""
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


def pg_password(dsn: str) -> str:
    """The DSN's password, or a string no log contains (when the DSN has none)."""
    from urllib.parse import urlsplit

    return urlsplit(dsn).password or "\x00no-password\x00"
