"""Storage selection: URL parsing, validation, the config file, and no secret in any repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from vault_server.config import ConfigFileError, ServerConfig, StorageConfig, load_config_file
from vault_server.storage.backends import StorageConfigError, check
from vault_server.storage.postgres import parse_pg_url
from vault_server.storage.s3_blobs import parse_s3_url
from vault_server.storage.urls import redact_text, redact_url

DSN = "postgresql://vault:hunter2@db.example:5432/vault"


def test_pg_url_parameters_and_redaction() -> None:
    t = parse_pg_url(DSN + "?schema=city_a&pool_max=20&sslmode=require")
    assert (t.schema, t.pool_min, t.pool_max, t.channel) == ("city_a", 1, 20, "vault_events_city_a")
    assert "schema" not in t.dsn and "sslmode=require" in t.dsn
    assert "hunter2" not in repr(t) and "hunter2" not in t.redacted
    assert redact_url(DSN) == "postgresql://vault:***@db.example:5432/vault"
    assert redact_url("postgresql://vault@db/vault") == "postgresql://vault@db/vault"
    assert "hunter2" not in redact_text(f"could not connect to {DSN}: refused")
    for bad in ("mysql://x/y", DSN + "?schema=Robert'); DROP", DSN + "?pool_max=0"):
        with pytest.raises(ValueError):
            parse_pg_url(bad)


def test_s3_url() -> None:
    t = parse_s3_url("s3://bucket/some/prefix?endpoint=http://127.0.0.1:9000&region=eu", "AK", "SK")
    assert (t.bucket, t.prefix, t.endpoint, t.region) == (
        "bucket",
        "some/prefix/",
        "http://127.0.0.1:9000",
        "eu",
    )
    assert "SK" not in repr(t) and "AK" not in repr(t)
    assert (
        parse_s3_url("s3://b").prefix == ""
        and parse_s3_url("s3://b?create=0").create_bucket is False
    )
    for bad in ("s3://ak:sk@bucket", "s3://", "http://x", "s3://b?secret=1", "s3://b?addressing=x"):
        with pytest.raises(ValueError):
            parse_s3_url(bad)


def test_storage_config_repr_hides_the_password() -> None:
    sc = StorageConfig(metadata=DSN, blobs="s3://b", s3_access_key="AK", s3_secret_key="SK")
    for text in (repr(sc), repr(ServerConfig(storage=sc))):
        assert "hunter2" not in text and "'SK'" not in text and "***" in text


def test_which_combinations_need_a_data_dir(tmp_path: Path) -> None:
    check(StorageConfig(), tmp_path)
    check(StorageConfig(metadata=DSN, blobs="s3://b"), None)
    check(StorageConfig(metadata=DSN, blobs="file:///srv/blobs"), None)
    check(StorageConfig(blobs="s3://b"), tmp_path)  # SQLite + S3 on one machine works too
    for sc in (StorageConfig(), StorageConfig(metadata=DSN), StorageConfig(blobs="s3://b")):
        with pytest.raises(StorageConfigError):
            check(sc, None)
    with pytest.raises(StorageConfigError):
        check(StorageConfig(metadata="mysql://x"), tmp_path)
    with pytest.raises(StorageConfigError):
        check(StorageConfig(blobs="gs://x"), tmp_path)


def test_config_file(tmp_path: Path) -> None:
    f = tmp_path / "vault.toml"
    f.write_text(
        'metadata = "postgresql://vault@db/vault"\nblobs = "s3://b"\nport = 8701\n'
        '[s3]\naccess_key = "AK"\nsecret_key = "SK"\n'
    )
    assert load_config_file(f) == {
        "metadata": "postgresql://vault@db/vault",
        "blobs": "s3://b",
        "port": 8701,
        "s3_access_key": "AK",
        "s3_secret_key": "SK",
    }
    f.write_text("portt = 1\n")
    with pytest.raises(ConfigFileError, match="unknown key"):
        load_config_file(f)
    f.write_text("[s3]\ntoken = 1\n")
    with pytest.raises(ConfigFileError, match="unknown"):
        load_config_file(f)
    f.write_text("port = \n")
    with pytest.raises(ConfigFileError):
        load_config_file(f)
    with pytest.raises(ConfigFileError, match="cannot read"):
        load_config_file(tmp_path / "missing.toml")
