"""MNIST and generic IDX loading: shapes, scaling, one-hot, checksums, damaged files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from experiments.data import DataError, load_dataset
from experiments.data.idx import parse_idx
from experiments.data.mnist import FILES, MNIST_SHA256

LABELS = "t10k-labels-idx1-ubyte.gz"  # the smallest file: cheap to copy and damage


def idx_bytes(array: np.ndarray) -> bytes:
    """An array in IDX format (unsigned bytes)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_folder(folder: Path, n_train: int = 12, n_test: int = 5, size: int = 4, classes: int = 3,
                     gz: bool = True) -> Path:
    """A tiny MNIST-format data set (any folder of IDX files must load like MNIST)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    counts = {"train": n_train, "test": n_test}
    for (split, part), (base, _) in FILES.items():
        n = counts[split]
        array = rng.integers(0, 256, (n, size, size)) if part == "images" else np.arange(n) % classes
        data = idx_bytes(array)
        (folder / (base + ".gz" if gz else base)).write_bytes(gzip.compress(data) if gz else data)
    return folder


def mnist_copy(tmp_path: Path, data_root: Path, damage) -> Path:
    """A data root whose mnist/ links to the real files except a damaged test-labels copy."""
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    for base, _ in FILES.values():
        if base + ".gz" != LABELS:
            (folder / (base + ".gz")).symlink_to(data_root / "mnist" / (base + ".gz"))
    (folder / LABELS).write_bytes(damage((data_root / "mnist" / LABELS).read_bytes()))
    return tmp_path / "data"


pytestmark = pytest.mark.usefixtures("no_downloads")


def test_mnist_shapes_dtypes_ranges_and_one_hot(data_root):
    ds = load_dataset("mnist", root=data_root)
    assert ds.x_train.shape == (60000, 784) and ds.x_test.shape == (10000, 784)
    assert ds.y_train.shape == (60000, 10) and ds.y_test.shape == (10000, 10)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.float32
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0 and ds.x_test.max() == 1.0
    assert (ds.y_train.sum(axis=1) == 1).all() and set(np.unique(ds.y_test)) == {0.0, 1.0}
    assert (ds.task, ds.n_features, ds.n_outputs) == ("multiclass", 784, 10)
    assert ds.meta["verified"] is True and ds.meta["sha256"] == dict(MNIST_SHA256)
    # the well-known first labels of each split: 5 0 4 1 ... and 7 2 1 0 ...
    assert ds.y_train[:4].argmax(axis=1).tolist() == [5, 0, 4, 1]
    assert ds.y_test[:4].argmax(axis=1).tolist() == [7, 2, 1, 0]


def test_mnist_limits_and_float64(data_root):
    ds = load_dataset("mnist", root=data_root, limit_train=100, limit_test=10, dtype="float64")
    assert ds.x_train.shape == (100, 784) and ds.y_test.shape == (10, 10)
    assert ds.x_train.dtype == np.float64 and ds.meta["limit_train"] == 100


def test_corrupted_copy_fails_its_checksum(tmp_path, data_root):
    def flip_one_label(raw: bytes) -> bytes:
        content = bytearray(gzip.decompress(raw))
        content[8] = (content[8] + 1) % 10  # still a valid IDX file, just not MNIST's
        return gzip.compress(bytes(content))

    root = mnist_copy(tmp_path, data_root, flip_one_label)
    with pytest.raises(DataError, match=rf"checksum mismatch.*{LABELS}.*replace it") as err:
        load_dataset("mnist", root=root, limit_train=10, limit_test=10)
    assert "\n" not in str(err.value)
    assert load_dataset("mnist", root=root, verify=False, limit_test=10).meta["verified"] is False


def test_truncated_gzip_is_rejected(tmp_path, data_root):
    root = mnist_copy(tmp_path, data_root, lambda raw: raw[: len(raw) // 2])
    with pytest.raises(DataError, match=rf"bad gzip data, the file is truncated or corrupted.*{LABELS}"):
        load_dataset("mnist", root=root)


def test_garbage_gzip_is_rejected(tmp_path, data_root):
    root = mnist_copy(tmp_path, data_root, lambda raw: raw[:20] + b"\x00" * (len(raw) - 20))
    with pytest.raises(DataError, match=rf"bad gzip data.*{LABELS}"):
        load_dataset("mnist", root=root)


def test_uncompressed_files_named_gz_load_by_their_content(tmp_path):
    # a mirror may serve the raw IDX under a .gz name; gzip's magic bytes decide, not the name
    folder = write_idx_folder(tmp_path / "raw", gz=False)
    for path in list(folder.iterdir()):
        path.rename(path.with_name(path.name + ".gz"))
    raw = load_dataset("mnist", variant="idx", root=folder)
    packed = load_dataset("mnist", variant="idx", root=write_idx_folder(tmp_path / "packed", gz=True))
    np.testing.assert_array_equal(raw.x_train, packed.x_train)
    np.testing.assert_array_equal(raw.y_test, packed.y_test)


def test_not_gzip_and_not_idx_says_both(tmp_path):
    folder = write_idx_folder(tmp_path / "idx")
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"hello")
    with pytest.raises(DataError) as err:
        load_dataset("mnist", variant="idx", root=folder)
    assert str(err.value) == (
        f"wrong IDX magic number 0x68656c6c, not an IDX file (raw or gzip-compressed): "
        f"{folder.resolve() / 'train-labels-idx1-ubyte.gz'}; replace it with an intact copy (see the data README) "
        f"or delete it so it is downloaded again")


def test_any_idx_folder_loads_like_mnist(tmp_path):
    folder = write_idx_folder(tmp_path / "fashion", gz=False)
    ds = load_dataset("mnist", variant="idx", root=folder)
    assert ds.x_train.shape == (12, 16) and ds.y_train.shape == (12, 3) and ds.y_test.shape == (5, 3)
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0 and ds.meta["verified"] is False
    write_idx_folder(tmp_path / "data" / "fashion-mnist", size=28, classes=10)
    fashion = load_dataset("mnist", variant="fashion-mnist", root=tmp_path / "data")
    assert fashion.x_train.shape == (12, 784) and fashion.n_outputs == 10


def test_bad_magic_number_is_rejected(tmp_path):
    folder = write_idx_folder(tmp_path / "idx", gz=False)
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(b"\x08\x03\x00\x00" + path.read_bytes()[4:])
    with pytest.raises(DataError, match=r"wrong IDX magic number 0x08030000.*train-images-idx3-ubyte"):
        load_dataset("mnist", variant="idx", root=folder)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("train-images-idx3-ubyte", idx_bytes(np.zeros((12, 16))), r"IDX header has 2 dimensions, expected 3"),
    ("train-images-idx3-ubyte", idx_bytes(np.zeros((12, 4, 4)))[:-1], r"header says \(12, 4, 4\)"),
    ("train-labels-idx1-ubyte", idx_bytes(np.zeros(11)), r"12 train images but 11 labels"),
    ("t10k-images-idx3-ubyte", idx_bytes(np.zeros((5, 4, 5))), r"test images are 4x5, expected \(4, 4\)"),
])
def test_wrong_dimensions_are_rejected(tmp_path, name, content, message):
    folder = write_idx_folder(tmp_path / "idx", gz=False)
    (folder / name).write_bytes(content)
    with pytest.raises(DataError, match=rf"wrong dimensions.*{message}.*{name}"):
        load_dataset("mnist", variant="idx", root=folder)


def test_parse_idx_reads_big_endian_types():
    content = bytes([0, 0, 0x0B, 1]) + struct.pack(">I", 3) + struct.pack(">3h", -2, 0, 300)
    assert parse_idx(content, "x", ndim=1).tolist() == [-2, 0, 300]


def test_missing_mnist_file_names_where_and_how(tmp_path, data_root):
    root = mnist_copy(tmp_path, data_root, lambda raw: raw)
    (root / "mnist" / LABELS).unlink()
    with pytest.raises(DataError) as err:
        load_dataset("mnist", root=root)
    message = str(err.value)
    assert "missing data file" in message and str(root / "mnist" / LABELS) in message
    assert "MLP_BENCH_DATA_DIR" in message and "data.root" in message and "\n" not in message
