import gzip

import numpy as np
import pytest
from conftest import make_fashion_dir, write_idx

from storagebench.errors import StorageBenchError
from storagebench.tasks import DATASETS
from storagebench.tasks.fashion_mnist import DEBIAN_DIR, read_idx


def load(path):
    return DATASETS.create("fashion-mnist", {"path": str(path)}, "[dataset]").load()


@pytest.mark.parametrize("compress", [True, False])
def test_reads_gzipped_and_plain_idx(tmp_path, compress):
    splits = load(make_fashion_dir(tmp_path, n_train=50, n_test=20, compress=compress))
    assert splits.train.images.shape == (50, 28, 28) and splits.test.images.shape == (20, 28, 28)
    assert splits.train.images.dtype == np.uint8 and splits.train.labels.dtype == np.int64
    assert len(splits.classes) == 10


def test_fingerprint_follows_content_not_location(tmp_path):
    a = load(make_fashion_dir(tmp_path / "a", n_train=30, n_test=10))
    b = load(make_fashion_dir(tmp_path / "b", n_train=30, n_test=10))
    c = load(make_fashion_dir(tmp_path / "c", n_train=31, n_test=10))
    assert a.train.fingerprint == b.train.fingerprint != c.train.fingerprint


def test_torchvision_download_layout_is_found(tmp_path):
    make_fashion_dir(tmp_path / "FashionMNIST" / "raw", n_train=20, n_test=10)
    assert len(load(tmp_path).train) == 20


def test_missing_dataset_says_how_to_get_it(tmp_path):
    with pytest.raises(StorageBenchError, match="apt-get install dataset-fashion-mnist") as info:
        load(tmp_path / "nowhere")
    assert "storagebench download fashion-mnist" in str(info.value)


def test_truncated_gzip_is_one_clear_error(tmp_path):
    root = make_fashion_dir(tmp_path, n_train=50, n_test=20)
    path = root / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(StorageBenchError, match="train-images-idx3-ubyte.gz.*truncated or corrupt"):
        load(root)


def test_idx_shorter_than_its_header_says(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((5, 28, 28), np.uint8))
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(StorageBenchError, match="header .* needs"):
        read_idx(path)


def test_not_an_idx_file(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"PK\x03\x04 definitely a zip")
    with pytest.raises(StorageBenchError, match="bad magic number"):
        read_idx(path)


def test_label_count_must_match_images(tmp_path):
    root = make_fashion_dir(tmp_path, n_train=50, n_test=20)
    write_idx(root / "train-labels-idx1-ubyte", np.zeros(49, np.uint8))
    with pytest.raises(StorageBenchError, match="49 labels for 50 images"):
        load(root)


@pytest.mark.skipif(not (DEBIAN_DIR / "t10k-images-idx3-ubyte.gz").exists(), reason="Debian dataset not installed")
def test_real_debian_fashion_mnist():
    splits = load(DEBIAN_DIR)
    assert splits.train.images.shape == (60000, 28, 28) and splits.test.images.shape == (10000, 28, 28)
    assert np.bincount(splits.test.labels).tolist() == [1000] * 10
