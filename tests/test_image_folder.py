import numpy as np
import pytest
from PIL import Image

from storagebench.errors import StorageBenchError
from storagebench.tasks import DATASETS, TASKS


def make_folder(root, size=(12, 10), mode="L", classes=("cat", "dog"), per_class=3):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for c in classes:
            (root / split / c).mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
                Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(root / split / c / f"{i}.png")
    return root


def load(root, **params):
    return DATASETS.create("image-folder", {"path": str(root), **params}, "[dataset]").load()


def test_gray_folder_reads_classes_in_sorted_order(tmp_path):
    splits = load(make_folder(tmp_path))
    assert splits.classes == ("cat", "dog")
    assert splits.train.images.shape == (6, 10, 12) and splits.train.images.dtype == np.uint8
    assert sorted(splits.train.labels.tolist()) == [0, 0, 0, 1, 1, 1]


def test_rgb_folder_is_rgb_and_mode_can_force_gray(tmp_path):
    root = make_folder(tmp_path, mode="RGB")
    assert load(root).train.images.shape == (6, 10, 12, 3)
    assert load(root, mode="L").train.images.shape == (6, 10, 12)


def test_an_image_of_another_size_is_kept_at_its_size(tmp_path):
    root = make_folder(tmp_path)
    Image.new("L", (5, 7)).save(root / "train" / "dog" / "odd.png")
    train = load(root).train
    assert len(train) == 7 and sorted({image.shape for image in train.images}) == [(7, 5), (10, 12)]


def test_train_and_test_of_different_sizes_need_a_declared_resize(tmp_path):
    make_folder(tmp_path / "a")
    make_folder(tmp_path / "b", size=(8, 8))
    (tmp_path / "a" / "test").rename(tmp_path / "a" / "old-test")
    (tmp_path / "b" / "test").rename(tmp_path / "a" / "test")
    splits = load(tmp_path / "a")
    sets = [("train", splits.train.images, ()), ("test", splits.test.images, ())]
    with pytest.raises(StorageBenchError, match=r"2 different sizes \(train 10×12, test 8×8\).*declare \[task\].resize"):
        TASKS.create("classification", {}, "[task]").check_images(sets)
    TASKS.create("classification", {"resize": 8}, "[task]").check_images(sets)


def test_test_class_missing_from_train(tmp_path):
    root = make_folder(tmp_path)
    (root / "test" / "bird").mkdir()
    Image.new("L", (12, 10)).save(root / "test" / "bird" / "0.png")
    with pytest.raises(StorageBenchError, match="bird"):
        load(root)


def test_missing_split_and_unreadable_image(tmp_path):
    with pytest.raises(StorageBenchError, match="train/<class>"):
        load(tmp_path)
    root = make_folder(tmp_path / "x")
    (root / "train" / "cat" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(StorageBenchError, match="broken.png: not a readable image"):
        load(root)


def test_a_folder_read_on_access_gives_the_pixels_read_into_memory(tmp_path, monkeypatch):
    import storagebench.tasks.file_images as file_images
    from storagebench.images import is_lazy

    make_folder(tmp_path, mode="RGB")
    in_memory, on_access = load(tmp_path, read="memory"), load(tmp_path, read="access")
    assert not is_lazy(in_memory.train.images) and is_lazy(on_access.train.images)
    assert all(np.array_equal(a, b) for a, b in zip(in_memory.train.images, on_access.train.images))
    assert on_access.train.labels.tolist() == in_memory.train.labels.tolist()
    monkeypatch.setattr(file_images, "default_memory_bytes", lambda: 100)  # "auto": too large for this memory
    assert is_lazy(load(tmp_path).train.images)
    with pytest.raises(StorageBenchError, match="read must be 'auto', 'memory' or 'access', got 'lazy'"):
        load(tmp_path, read="lazy")
