import numpy as np
import pytest
from conftest import synthetic_images

from storagebench.compressors import COMPRESSORS, level_label
from storagebench.errors import StorageBenchError


@pytest.fixture
def codec():
    return COMPRESSORS.create("jpegxl", {"effort": 3}, "[compressor]")


def smooth_rgb(size=48):
    y, x = np.mgrid[0:size, 0:size] / size
    return (np.stack([x, y, (x + y) / 2], axis=-1) * 255).astype(np.uint8)


def test_lossless_round_trip_is_exact_gray_and_rgb(codec):
    gray = synthetic_images(1, seed=0)[0][0]
    for image in (gray, smooth_rgb()):
        data = codec.encode(image, "lossless")
        assert isinstance(data, bytes)
        assert np.array_equal(codec.decode(data, "lossless"), image)


def test_larger_distance_means_fewer_bytes_and_same_shape(codec):
    images = synthetic_images(20, seed=0)[0]
    sizes = []
    for d in (1.0, 4.0, 15.0):
        streams = [codec.encode(im, d) for im in images]
        decoded = codec.decode(streams[0], d)
        assert decoded.shape == images[0].shape and decoded.dtype == np.uint8
        sizes.append(sum(map(len, streams)))
    assert sizes[0] > sizes[1] > sizes[2]


def test_levels_are_validated_and_labelled(codec):
    assert codec.parse_level("lossless") == "lossless" and codec.parse_level(2) == 2.0
    assert [level_label(codec.parse_level(v)) for v in ("lossless", 1, 2.5)] == ["lossless", "1", "2.5"]
    for bad in (0, -1, 26, "fast", True):
        with pytest.raises(ValueError, match="Butteraugli distances"):
            codec.parse_level(bad)


def test_effort_is_validated():
    with pytest.raises(StorageBenchError, match=r"\[compressor\]: effort must be 1..9"):
        COMPRESSORS.create("jpegxl", {"effort": 12}, "[compressor]")
    with pytest.raises(StorageBenchError, match="unknown key.*quality"):
        COMPRESSORS.create("jpegxl", {"quality": 90}, "[compressor]")


def test_versions_name_libjxl(codec):
    versions = codec.library_versions()
    assert versions["imagecodecs"] and versions["libjxl"].startswith("libjxl")
