"""Where data comes from: the data root, the user cache, and verified atomic downloads."""

from __future__ import annotations

import dataclasses
import gzip
import os
from pathlib import Path

import pytest

from experiments.data import DataError, cache_dir, load_dataset, resolve_data_root
from experiments.data import download as download_module
from experiments.data import mnist, titanic
from experiments.data.mnist import FILES

REAL_FETCH = download_module.fetch_url  # file:// URLs through the real code path


@pytest.fixture
def cache(monkeypatch, tmp_path) -> Path:
    """A private user cache; the network is off unless a test installs a fake fetch."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def offline(url, out, timeout=0):
        raise OSError(f"Name or service not known ({url})")

    monkeypatch.setattr(download_module, "fetch_url", offline)
    return tmp_path / "cache" / "mlp-bench" / "data"


@pytest.fixture
def empty_root(tmp_path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    return root


def _mirror(monkeypatch, tmp_path, data_root, damage=lambda base, raw: raw) -> Path:
    """A local fake MNIST mirror (file:// URL) in place of the public ones."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    for base, _ in FILES.values():
        original = (data_root / "mnist" / (base + ".gz")).read_bytes()
        (folder / (base + ".gz")).write_bytes(damage(base, original))
    source = dataclasses.replace(mnist.VARIANTS["mnist"], mirrors=(folder.as_uri() + "/",))
    monkeypatch.setitem(mnist.VARIANTS, "mnist", source)
    monkeypatch.setattr(download_module, "fetch_url", REAL_FETCH)
    return folder


def test_root_resolution_order(monkeypatch, tmp_path, cache):
    explicit = tmp_path / "explicit"
    explicit.mkdir()
    monkeypatch.setenv("MLP_BENCH_DATA_DIR", str(tmp_path))
    assert resolve_data_root(explicit) == explicit.resolve()
    assert resolve_data_root(None) == tmp_path.resolve()
    monkeypatch.delenv("MLP_BENCH_DATA_DIR")
    assert resolve_data_root(None) == cache == cache_dir()


def test_missing_data_folder_is_an_error_at_once(monkeypatch, tmp_path, cache):
    def no_network(*args, **kwargs):
        raise AssertionError("a missing data folder must not trigger a download")

    monkeypatch.setattr(download_module, "fetch_url", no_network)
    missing = tmp_path / "no-such-folder"
    with pytest.raises(DataError, match=rf"data folder does not exist.*{missing}.*MLP_BENCH_DATA_DIR"):
        load_dataset("titanic", root=missing)
    monkeypatch.setenv("MLP_BENCH_DATA_DIR", str(missing))
    with pytest.raises(DataError, match=r"from MLP_BENCH_DATA_DIR\).*no-such-folder") as err:
        load_dataset("mnist")
    assert "\n" not in str(err.value) and not cache.exists()


def test_offline_and_missing_names_the_file_where_and_how(empty_root, cache):
    with pytest.raises(DataError) as err:
        load_dataset("titanic", root=empty_root)
    message = str(err.value)
    assert str(empty_root / "titanic" / "train_article.csv") in message
    assert "download into" in message and "Name or service not known" in message
    assert "MLP_BENCH_DATA_DIR" in message and "data.root" in message and "\n" not in message


def test_downloads_can_be_switched_off(empty_root, cache):
    with pytest.raises(DataError, match=r"missing data file \(downloads are off\).*train\.csv"):
        load_dataset("titanic", variant="kaggle", root=empty_root, download=False)


def test_mnist_download_from_fake_mirror_lands_verified_in_the_cache(monkeypatch, tmp_path, data_root,
                                                                    empty_root, cache):
    _mirror(monkeypatch, tmp_path, data_root, damage=lambda base, raw: raw)
    ds = load_dataset("mnist", root=empty_root, limit_train=10, limit_test=10)
    assert ds.x_train.shape == (10, 784) and len(ds.meta["downloaded"]) == 4
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(b + ".gz" for b, _ in FILES.values())
    assert list(empty_root.iterdir()) == []  # never written into the user's folder
    again = load_dataset("mnist", root=empty_root, limit_train=10, limit_test=10)
    assert again.meta["downloaded"] == []  # served from the cache the second time


def test_download_with_wrong_checksum_leaves_nothing_behind(monkeypatch, tmp_path, data_root,
                                                          empty_root, cache):
    def corrupt_labels(base: str, raw: bytes) -> bytes:
        if base != "t10k-labels-idx1-ubyte":
            return raw
        content = bytearray(gzip.decompress(raw))
        content[-1] = (content[-1] + 1) % 10
        return gzip.compress(bytes(content))

    _mirror(monkeypatch, tmp_path, data_root, damage=corrupt_labels)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz.*checksum mismatch"):
        load_dataset("mnist", root=empty_root)
    assert not (cache / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not [p for p in (cache / "mnist").iterdir() if p.name.endswith(".part")]


def test_interrupted_download_leaves_no_partial_file(monkeypatch, empty_root, cache):
    def half_then_fail(url, out, timeout=0):
        out.write(b"PassengerId,Survived\n1,0\n")
        raise OSError("connection reset by peer")

    monkeypatch.setattr(download_module, "fetch_url", half_then_fail)
    with pytest.raises(DataError, match="connection reset by peer"):
        load_dataset("titanic", root=empty_root)
    assert os.listdir(cache / "titanic") == []


def test_titanic_download_via_file_url_verifies_and_replaces_atomically(monkeypatch, tmp_path, data_root,
                                                                        empty_root, cache):
    source = tmp_path / "train_no_names.csv"  # a CRLF copy, as some mirrors serve it
    source.write_bytes((data_root / "titanic" / "train_article.csv").read_bytes().replace(b"\n", b"\r\n"))
    fake = dataclasses.replace(titanic.ARTICLE_CSV, urls=(source.as_uri(),))
    monkeypatch.setattr(titanic, "ARTICLE_CSV", fake)
    monkeypatch.setattr(download_module, "fetch_url", REAL_FETCH)
    replaced = []
    real_replace = os.replace
    def spy_replace(src, dst):
        replaced.append((src, dst))
        real_replace(src, dst)

    monkeypatch.setattr(download_module.os, "replace", spy_replace)
    ds = load_dataset("titanic", root=empty_root)
    assert int(ds.y_test.sum()) == 101
    (tmp, dest), = replaced
    assert Path(tmp).parent == dest.parent == cache / "titanic" and Path(tmp).name.endswith(".part")
    assert dest.read_bytes() == source.read_bytes()


def test_reference_data_folder_is_left_untouched(data_root):
    before = sorted((p.relative_to(data_root), p.stat().st_mtime_ns) for p in data_root.rglob("*"))
    load_dataset("titanic", root=data_root)
    load_dataset("mnist", root=data_root, limit_train=5, limit_test=5)
    assert sorted((p.relative_to(data_root), p.stat().st_mtime_ns) for p in data_root.rglob("*")) == before
