"""Where data comes from: the data root, the user cache, and verified atomic downloads."""

from __future__ import annotations

import dataclasses
import gzip
import os
import urllib.error
from pathlib import Path

import pytest

from experiments.data import DataError, cache_dir, load_dataset, resolve_data_root
from experiments.data import download as download_module
from experiments.data import mnist, titanic
from experiments.data.mnist import FILES

REAL_FETCH = download_module.fetch_url  # file:// URLs through the real code path


@pytest.fixture
def cache(monkeypatch, tmp_path) -> Path:
    """A private user cache, and no MLP_BENCH_DATA_DIR: with no root given the cache is the data
    folder. The network is off unless a test installs a fake fetch."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MLP_BENCH_DATA_DIR", raising=False)

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


def test_offline_and_missing_names_the_file_where_and_how(cache):
    with pytest.raises(DataError) as err:
        load_dataset("titanic")
    message = str(err.value)
    assert str(cache / "titanic" / "train_article.csv") in message
    assert "download into" in message and "Name or service not known" in message
    assert "MLP_BENCH_DATA_DIR" in message and "data.root" in message and "\n" not in message


def test_downloads_can_be_switched_off(cache):
    with pytest.raises(DataError, match=r"missing data file \(downloads are off\).*train\.csv"):
        load_dataset("titanic", variant="kaggle", download=False)


def test_mnist_download_from_fake_mirror_lands_verified_in_the_cache(monkeypatch, tmp_path, data_root, cache):
    _mirror(monkeypatch, tmp_path, data_root, damage=lambda base, raw: raw)
    ds = load_dataset("mnist", limit_train=10, limit_test=10)
    assert ds.x_train.shape == (10, 784) and len(ds.meta["downloaded"]) == 4
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(b + ".gz" for b, _ in FILES.values())
    again = load_dataset("mnist", limit_train=10, limit_test=10)
    assert again.meta["downloaded"] == []  # served from the cache the second time


@pytest.fixture
def http_mirror(monkeypatch, tmp_path, data_root, cache):
    """The fake MNIST mirror served over HTTP on the loopback address, behind a dead first mirror:
    the download goes through pooch, as a real one does."""
    import functools
    import http.server
    import threading
    folder = _mirror(monkeypatch, tmp_path, data_root)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    source = dataclasses.replace(mnist.VARIANTS["mnist"], mirrors=(f"{base}/missing/", f"{base}/"))
    monkeypatch.setitem(mnist.VARIANTS, "mnist", source)
    yield base
    server.shutdown()
    server.server_close()


def test_mnist_download_over_http_tries_each_mirror(http_mirror, cache):
    ds = load_dataset("mnist", limit_train=10, limit_test=10)
    assert ds.x_train.shape == (10, 784) and len(ds.meta["downloaded"]) == 4
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(b + ".gz" for b, _ in FILES.values())


def test_an_unreachable_http_mirror_is_named_with_its_reason(monkeypatch, http_mirror, cache):
    source = dataclasses.replace(mnist.VARIANTS["mnist"], mirrors=(f"{http_mirror}/missing/",))
    monkeypatch.setitem(mnist.VARIANTS, "mnist", source)
    with pytest.raises(DataError) as err:
        load_dataset("mnist")
    assert f"{http_mirror}/missing/" in str(err.value) and "404" in str(err.value)
    assert not any(cache.rglob("*.gz"))


@pytest.mark.parametrize("named_by", ["root", "env"])
def test_a_file_missing_from_a_named_folder_comes_from_the_cache(monkeypatch, tmp_path, data_root, empty_root,
                                                                  cache, named_by):
    """Read from the cache when the cache has it; downloaded into the cache when not; never
    written into the folder the user named (it may be read-only or shared)."""
    if named_by == "env":
        monkeypatch.setenv("MLP_BENCH_DATA_DIR", str(empty_root))
    root = empty_root if named_by == "root" else None
    _mirror(monkeypatch, tmp_path, data_root)
    ds = load_dataset("mnist", root=root, limit_train=10, limit_test=10)
    assert len(ds.meta["downloaded"]) == 4
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(b + ".gz" for b, _ in FILES.values())
    assert list(empty_root.iterdir()) == []

    def no_network(*args, **kwargs):
        raise AssertionError("a file the cache holds must not be downloaded")

    monkeypatch.setattr(download_module, "fetch_url", no_network)
    again = load_dataset("mnist", root=root, limit_train=10, limit_test=10)
    assert again.meta["downloaded"] == [] and list(empty_root.iterdir()) == []


def test_a_file_without_a_download_source_says_how_to_provide_it(tmp_path, empty_root, cache):
    with pytest.raises(DataError) as err:
        load_dataset("mnist", variant="fashion-mnist", root=empty_root)
    assert str(err.value) == (
        f"missing data file (no download source for it): "
        f"{empty_root.resolve() / 'fashion-mnist' / 'train-images-idx3-ubyte.gz'}; put the file there or set "
        f"the config key data.root (it comes first) or MLP_BENCH_DATA_DIR to a folder holding mnist/ and titanic/")


def test_the_cache_named_explicitly_still_downloads(monkeypatch, tmp_path, data_root, cache):
    _mirror(monkeypatch, tmp_path, data_root)
    cache.mkdir(parents=True)
    monkeypatch.setenv("MLP_BENCH_DATA_DIR", str(cache))
    assert len(load_dataset("mnist", limit_train=5, limit_test=5).meta["downloaded"]) == 4


def tiny_labels_gz() -> tuple[bytes, bytes]:
    """(IDX bytes, gzip of them) for a labels file of 5 entries."""
    content = bytes([0, 0, 0x08, 1, 0, 0, 0, 5, 1, 2, 3, 4, 0])
    return content, gzip.compress(content)


def test_mirror_serving_the_uncompressed_file_under_a_gz_name_loads_later_too(monkeypatch, tmp_path, cache):
    content, _ = tiny_labels_gz()
    monkeypatch.setattr(download_module, "fetch_url", lambda url, out, timeout=0: out.write(content))
    dest = cache / "mnist" / "t10k-labels-idx1-ubyte.gz"
    download_module.download(["https://mirror.example/t10k-labels-idx1-ubyte.gz"], dest, mnist._verifier(None, 1))
    assert dest.read_bytes() == content  # saved as served; the content decides how it is read
    assert mnist.load_idx(dest, 1, None).tolist() == [1, 2, 3, 4, 0]


def test_each_mirror_failure_names_its_url_and_the_final_path(monkeypatch, tmp_path, cache):
    _, packed = tiny_labels_gz()
    truncated, missing = "https://a.example/labels.gz", "https://b.example/labels.gz"

    def fetch(url, out, timeout=0):
        if url == missing:
            raise urllib.error.HTTPError(url, 404, "Not Found", None, None)
        out.write(packed[: len(packed) // 2])

    monkeypatch.setattr(download_module, "fetch_url", fetch)
    dest = cache / "mnist" / "labels.gz"
    with pytest.raises(OSError) as err:
        download_module.download([truncated, missing], dest, mnist._verifier(None, 1))
    assert str(err.value) == (
        f"download into {dest} failed: {truncated} (bad gzip data, the file is truncated or corrupted "
        f"(Compressed file ended before the end-of-stream marker was reached)); {missing} (HTTP Error 404: Not Found)")
    assert list(dest.parent.iterdir()) == []


def test_a_long_failure_reason_is_cut_at_a_word(monkeypatch, tmp_path, cache):
    reason = " ".join(f"/some/long/path/part{i}" for i in range(40))  # 40 words, about 900 characters

    def fetch(url, out, timeout=0):
        raise OSError(reason)

    monkeypatch.setattr(download_module, "fetch_url", fetch)
    with pytest.raises(OSError) as err:
        download_module.download(["https://a.example/x"], cache / "x", lambda path, url: None)
    kept = str(err.value).split("https://a.example/x (", 1)[1]
    assert kept.endswith(" ...)") and len(kept) <= download_module.REASON_CHARS + 1
    assert reason.startswith(kept[: -len(" ...)")] + " ")  # whole words only


def test_download_with_wrong_checksum_leaves_nothing_behind(monkeypatch, tmp_path, data_root, cache):
    def corrupt_labels(base: str, raw: bytes) -> bytes:
        if base != "t10k-labels-idx1-ubyte":
            return raw
        content = bytearray(gzip.decompress(raw))
        content[-1] = (content[-1] + 1) % 10
        return gzip.compress(bytes(content))

    _mirror(monkeypatch, tmp_path, data_root, damage=corrupt_labels)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz \(checksum mismatch") as err:
        load_dataset("mnist")
    assert ".part" not in str(err.value)
    assert not (cache / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not [p for p in (cache / "mnist").iterdir() if p.name.endswith(".part")]


def test_interrupted_download_leaves_no_partial_file(monkeypatch, cache):
    def half_then_fail(url, out, timeout=0):
        out.write(b"PassengerId,Survived\n1,0\n")
        raise OSError("connection reset by peer")

    monkeypatch.setattr(download_module, "fetch_url", half_then_fail)
    with pytest.raises(DataError, match="connection reset by peer"):
        load_dataset("titanic")
    assert os.listdir(cache / "titanic") == []


def test_titanic_download_via_file_url_verifies_and_replaces_atomically(monkeypatch, tmp_path, data_root, cache):
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
    ds = load_dataset("titanic")
    assert int(ds.y_test.sum()) == 101
    (tmp, dest), = replaced
    assert Path(tmp).parent == dest.parent == cache / "titanic" and Path(tmp).name.endswith(".part")
    assert dest.read_bytes() == source.read_bytes()


def test_reference_data_folder_is_left_untouched(data_root):
    before = sorted((p.relative_to(data_root), p.stat().st_mtime_ns) for p in data_root.rglob("*"))
    load_dataset("titanic", root=data_root)
    load_dataset("mnist", root=data_root, limit_train=5, limit_test=5)
    assert sorted((p.relative_to(data_root), p.stat().st_mtime_ns) for p in data_root.rglob("*")) == before
