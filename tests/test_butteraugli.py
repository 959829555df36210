"""Butteraugli from libjxl 0.7 (library and program) and the Butteraugli-targeted JPEG XL codec."""
import numpy as np
import pytest
from skimage import data

from storagebench.compressors import COMPRESSORS
from storagebench.compressors import butteraugli as ba
from storagebench.compressors.jpegxl import jxl_decode, jxl_encode
from storagebench.errors import StorageBenchError

PHOTOS = ("astronaut", "chelsea", "coffee", "camera", "rocket", "immunohistochemistry")


def photo_crops(size=64):
    """54 real-photo crops (scikit-image's bundled photos), RGB and gray."""
    crops = []
    for name in PHOTOS:
        image = getattr(data, name)()
        for y in range(0, image.shape[0] - size, 96)[:3]:
            for x in range(0, image.shape[1] - size, 128)[:3]:
                crops.append(image[y:y + size, x:x + size])
    return crops


def test_library_and_program_agree_and_grow_with_distortion():
    image = data.astronaut()[100:164, 200:264]
    library, program = ba.butteraugli("library"), ba.butteraugli("program")
    assert isinstance(library, ba.LibraryButteraugli) and isinstance(program, ba.ProgramButteraugli)
    assert library.distance(image, image) == 0.0
    mild, strong = (jxl_decode(jxl_encode(image, d, 7)) for d in (1.0, 6.0))
    assert 0 < library.distance(image, mild) < library.distance(image, strong)
    for distorted in (mild, strong):
        assert library.distance(image, distorted) == pytest.approx(program.distance(image, distorted), rel=0.05)
    gray = data.camera()[:48, :48]
    assert library.distance(gray, jxl_decode(jxl_encode(gray, 2.0, 7))) > 0


def test_missing_butteraugli_names_the_debian_packages(monkeypatch):
    monkeypatch.setattr(ba, "_library_path", lambda: None)
    monkeypatch.setattr(ba.shutil, "which", lambda name: None)
    ba.butteraugli.cache_clear()
    try:
        with pytest.raises(StorageBenchError, match="apt-get install libjxl0.7 libjxl-devtools"):
            ba.butteraugli()
    finally:
        ba.butteraugli.cache_clear()


@pytest.mark.parametrize("target", [1.0, 2.0])
def test_targeted_jpegxl_hits_the_target_on_real_photos(target):
    codec = COMPRESSORS.create("jpegxl-butteraugli", {}, "[compressor]")
    crops = photo_crops()
    achieved = []
    for crop in crops:
        stream, info = codec.encode_with_info(crop, target)
        decoded = codec.decode(stream, target)
        # the recorded distance is the real one of the decoded bytes
        assert ba.butteraugli_distance(crop, decoded) == pytest.approx(info["butteraugli"], rel=1e-6)
        achieved.append(info["butteraugli"])
    within = np.abs(np.array(achieved) / target - 1) <= codec.params.tolerance
    assert within.mean() >= 0.95, sorted(achieved)


def test_targeted_levels_and_lossless():
    codec = COMPRESSORS.create("jpegxl-butteraugli", {"tolerance": 0.2}, "[compressor]")
    image = data.camera()[:32, :32]
    assert np.array_equal(codec.decode(codec.encode(image, "lossless"), "lossless"), image)
    with pytest.raises(ValueError, match="target distances in"):
        codec.parse_level(20)
    with pytest.raises(StorageBenchError, match="tolerance must be in"):
        COMPRESSORS.create("jpegxl-butteraugli", {"tolerance": 1.5}, "[compressor]")
