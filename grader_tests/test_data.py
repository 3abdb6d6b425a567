"""course_lib.data on the real MNIST files: sources, verification, cache."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from course_lib import data
from course_lib.data import MnistError, load_mnist

SHAPES = [(60000, 28, 28), (60000,), (10000, 28, 28), (10000,)]


def _flat(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    return [x_train, y_train, x_test, y_test]


def test_env_variable_gives_keras_shapes_and_dtypes(mnist_dir, monkeypatch):
    monkeypatch.setenv(data.MNIST_DIR_ENV, str(mnist_dir))
    arrays = _flat(load_mnist())
    assert [a.shape for a in arrays] == SHAPES
    assert all(a.dtype == np.uint8 for a in arrays)
    assert sorted(np.unique(arrays[1])) == list(range(10))
    assert arrays[0].max() == 255 and arrays[0].min() == 0


def test_config_file_names_the_folder(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.delenv(data.MNIST_DIR_ENV, raising=False)
    (tmp_path / "course.toml").write_text(f'[data]\nmnist_dir = "{mnist_dir}"\n')
    nested = tmp_path / "autograded" / "alice" / "tp1"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert data.configured_mnist_dir() == mnist_dir.resolve()
    assert [a.shape for a in _flat(load_mnist())] == SHAPES


def test_raw_idx_files_and_npz_give_the_same_arrays(mnist_dir, tmp_path):
    reference = _flat(load_mnist(mnist_dir))
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, _ in data.PARTS:
        with gzip.open(mnist_dir / f"{name}.gz") as source:
            (raw / name).write_bytes(source.read())
    for got, expected in zip(_flat(load_mnist(raw)), reference):
        np.testing.assert_array_equal(got, expected)

    npz = tmp_path / "npz"
    npz.mkdir()
    (x_train, y_train), (x_test, y_test) = load_mnist(mnist_dir)
    np.savez(npz / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    for got, expected in zip(_flat(load_mnist(npz)), reference):
        np.testing.assert_array_equal(got, expected)


def _corrupt_copy(mnist_dir: Path, tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "corrupt"
    shutil.copytree(mnist_dir, folder)
    target = folder / f"{name}.gz"
    raw = bytearray(gzip.decompress(target.read_bytes()))
    raw[5000] ^= 0xFF  # one flipped byte in the middle of the pixels
    target.write_bytes(gzip.compress(bytes(raw)))
    return folder


def test_one_flipped_byte_gives_a_one_line_checksum_error(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path / "empty-cache"))
    folder = _corrupt_copy(mnist_dir, tmp_path, "t10k-images-idx3-ubyte")
    with pytest.raises(MnistError) as error:
        load_mnist(folder)
    message = str(error.value)
    assert "\n" not in message
    assert str(folder / "t10k-images-idx3-ubyte.gz") in message
    assert data.DIGESTS["t10k-images-idx3-ubyte"] in message
    assert "SHA-256 est " in message and "corrompu" in message


def test_corrupt_file_is_reported_even_when_a_good_copy_is_cached(mnist_dir, tmp_path):
    """The cache is keyed by the good digest: a corrupt source never hides behind it."""
    load_mnist(mnist_dir)  # fills the session cache with verified arrays
    folder = _corrupt_copy(mnist_dir, tmp_path, "train-labels-idx1-ubyte")
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(MnistError, match="ne peut pas être lu"):
        load_mnist(folder)


def test_truncated_file_gives_the_checksum_error(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path / "empty-cache"))
    folder = tmp_path / "truncated"
    shutil.copytree(mnist_dir, folder)
    target = folder / "train-labels-idx1-ubyte.gz"
    target.write_bytes(gzip.compress(gzip.decompress(target.read_bytes())[:-10]))
    with pytest.raises(MnistError, match=r"train-labels-idx1-ubyte\.gz est corrompu"):
        load_mnist(folder)


def test_corrupt_npz_is_refused(mnist_dir, tmp_path):
    (x_train, y_train), (x_test, y_test) = load_mnist(mnist_dir)
    x_test = x_test.copy()
    x_test[0, 0, 0] ^= 1
    np.savez(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    with pytest.raises(MnistError, match=r"mnist\.npz est corrompu \(x_test\)"):
        load_mnist(tmp_path)


def test_keras_cache_is_verified_and_never_downloaded_over(mnist_dir, tmp_path, monkeypatch):
    """Without a local folder, keras's cached mnist.npz is used, after verification."""
    monkeypatch.delenv(data.MNIST_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # no course.toml above tmp_path
    keras_datasets = tmp_path / "keras" / "datasets"
    keras_datasets.mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    (x_train, y_train), (x_test, y_test) = load_mnist(mnist_dir)
    np.savez(keras_datasets / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    assert [a.shape for a in _flat(load_mnist())] == SHAPES

    y_train = y_train.copy()
    y_train[0] = (y_train[0] + 1) % 10
    np.savez(keras_datasets / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    before = (keras_datasets / "mnist.npz").read_bytes()
    with pytest.raises(MnistError, match="corrompu"):
        load_mnist()
    assert (keras_datasets / "mnist.npz").read_bytes() == before


def test_missing_folder_and_incomplete_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(data.MNIST_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(MnistError, match=r"nowhere \(indiqué par la variable COURSE_MNIST_DIR\) n'existe pas"):
        load_mnist()
    with pytest.raises(MnistError, match="ne contient ni les fichiers IDX"):
        load_mnist(tmp_path)


def test_a_new_process_loads_the_verified_cache_without_reading_the_files_again(mnist_dir, tmp_path):
    """After a first read, a fresh kernel takes the arrays from the .npy cache: shown without a
    clock, by source files whose bytes are then destroyed (same size and time, as the cache
    recognises them) and still give the same arrays."""
    import shutil

    copy, cache = tmp_path / "mnist", tmp_path / "cache"
    shutil.copytree(mnist_dir, copy)
    script = ("from course_lib.data import load_mnist; import hashlib; (a, b), (c, d) = load_mnist(); "
              "print(hashlib.sha256(a.tobytes() + b.tobytes() + c.tobytes() + d.tobytes()).hexdigest())")
    env = {**os.environ, data.MNIST_DIR_ENV: str(copy), "COURSE_LIB_CACHE": str(cache)}
    first = subprocess.check_output([sys.executable, "-c", script], env=env, text=True)
    assert list(cache.glob("*.npy")), "the first load must fill the cache"
    for path in copy.iterdir():
        stat = path.stat()
        path.write_bytes(b"\0" * stat.st_size)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert subprocess.check_output([sys.executable, "-c", script], env=env, text=True) == first


def test_keras_loader_reads_the_local_copy_in_a_grading_kernel(mnist_dir, tmp_path, monkeypatch):
    """What the grading kernel's first cell does: every spelling of keras's loader returns the
    verified local MNIST, without a network, and keras's own cache is never touched."""
    import keras
    import tensorflow as tf
    from keras.src.datasets import mnist as keras_mnist

    from course_lib.kernel.mnist import offline_keras_mnist

    monkeypatch.setenv(data.MNIST_DIR_ENV, str(mnist_dir))
    monkeypatch.setenv(data.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setattr(keras_mnist, "get_file", keras_mnist.get_file)  # put back afterwards
    offline_keras_mnist()
    expected = _flat(load_mnist())
    for loader in (keras.datasets.mnist.load_data, tf.keras.datasets.mnist.load_data):
        arrays = _flat(loader())
        assert [a.dtype for a in arrays] == [np.uint8] * 4
        assert all(np.array_equal(a, b) for a, b in zip(arrays, expected))
    assert not (tmp_path / "keras-home").exists()
