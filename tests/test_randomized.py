"""The randomized per-image-level wrapper (the paper's scheme) over codecs with a numeric level."""
import numpy as np
import pytest
from conftest import synthetic_images

from storagebench.benchmarks.harness.store import CompressedSetStore
from storagebench.compressors import COMPRESSORS
from storagebench.errors import StorageBenchError


def test_levels_spread_evenly_in_a_seeded_random_order():
    codec = COMPRESSORS.create("randomized", {"seed": 3, "inner": {"effort": 3}}, "[compressor]")
    level = codec.parse_level("1..15")
    assert level == "1..15"
    levels = codec.item_levels(level, 29)
    assert sorted(levels) == pytest.approx(np.linspace(1, 15, 29), rel=1e-3)
    assert levels != sorted(levels)  # shuffled
    assert levels == codec.item_levels(level, 29)  # fixed by the seed
    other = COMPRESSORS.create("randomized", {"seed": 4, "inner": {"effort": 3}}, "[compressor]")
    assert other.item_levels(level, 29) != levels
    assert codec.item_levels("lossless", 29) == "lossless"


def test_store_keeps_each_images_level_and_bytes_are_the_inner_codecs(tmp_path):
    codec = COMPRESSORS.create("randomized", {"inner": {"effort": 3}}, "[compressor]")
    inner = COMPRESSORS.create("jpegxl", {"effort": 3}, "[compressor]")
    images, _ = synthetic_images(40, seed=1)
    entry, _ = CompressedSetStore(tmp_path).ensure(images, np.arange(40), codec, "2..10", fingerprint="f",
                                                   split="train", workers=2)
    levels = entry.manifest["item_levels"]
    assert len(levels) == 40 and min(levels) == 2 and max(levels) == 10 and entry.manifest["level"] == "2..10"
    streams = entry.bitstreams()
    assert all(s == inner.encode(images[i], levels[i]) for i, s in enumerate(streams))
    decoded = entry.decode(codec, workers=1)
    assert np.array_equal(decoded, np.stack([inner.decode(s, lv) for s, lv in zip(streams, levels)]))
    assert entry.sizes.mean() < np.mean([len(inner.encode(im, 2.0)) for im in images])


def test_integer_knobs_are_rounded_and_bad_ranges_refused():
    codec = COMPRESSORS.create("randomized", {"codec": "jpeg"}, "[compressor]")
    assert all(float(v).is_integer() for v in codec.item_levels(codec.parse_level("10..90"), 17))
    for bad in ("15..1", "1..200", "4", 4):
        with pytest.raises(ValueError):
            codec.parse_level(bad)
    with pytest.raises(StorageBenchError, match="'png' has no numeric level range"):
        COMPRESSORS.create("randomized", {"codec": "png"}, "[compressor]")
