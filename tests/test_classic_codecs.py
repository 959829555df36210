"""The classic codecs (JPEG, WebP, AVIF, PNG, downscale) and compressors named by spec."""
import numpy as np
import pytest
from conftest import INVERT_PLUGIN, synthetic_images
from skimage import data

from storagebench.compressors import COMPRESSORS, LOSSLESS
from storagebench.errors import StorageBenchError

CLASSIC = ["jpeg", "webp", "avif", "png", "downscale"]


def photo():
    return data.astronaut()[100:196, 150:246]  # a real photo crop, 96×96 RGB


@pytest.mark.parametrize("name", CLASSIC)
def test_round_trip_keeps_shape_and_dtype_and_lossless_is_exact(name):
    codec = COMPRESSORS.create(name, {}, "[compressor]")
    for image in (synthetic_images(1, seed=3)[0][0], photo()):
        for level in codec.default_levels:
            stream = codec.encode(image, level)
            decoded = codec.decode(stream, level)
            assert isinstance(stream, bytes) and decoded.shape == image.shape and decoded.dtype == np.uint8
            assert codec.encode(image, level) == stream  # deterministic
            if level == LOSSLESS:
                assert np.array_equal(decoded, image)


@pytest.mark.parametrize("name", ["jpeg", "webp", "avif", "downscale"])
def test_stronger_levels_store_fewer_bytes_and_lose_more(name):
    codec = COMPRESSORS.create(name, {}, "[compressor]")
    image = photo()
    lossy = [lv for lv in codec.default_levels if lv != LOSSLESS]
    sizes = [len(codec.encode(image, lv)) for lv in lossy]
    errors = [np.abs(codec.decode(codec.encode(image, lv), lv).astype(float) - image).mean() for lv in lossy]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]  # default levels go from mild to strong
    assert errors[-1] > errors[0]


@pytest.mark.parametrize("name, bad, needle", [
    ("jpeg", 96, "qualities (integers) in [1, 95]"), ("jpeg", 50.5, "integers"), ("webp", 0, "[1, 100]"),
    ("avif", "max", '"lossless"'), ("png", 5, 'one level, "lossless"'), ("downscale", 1, 'write "lossless"'),
    ("downscale", 1.5, "scale factors in (0, 1]")])
def test_levels_are_validated(name, bad, needle):
    with pytest.raises(ValueError) as err:
        COMPRESSORS.create(name, {}, "[compressor]").parse_level(bad)
    assert needle in str(err.value)


def test_params_are_validated():
    with pytest.raises(StorageBenchError, match="subsampling must be one of"):
        COMPRESSORS.create("jpeg", {"subsampling": "4:1:1"}, "[compressor]")
    with pytest.raises(StorageBenchError, match="up must be one of"):
        COMPRESSORS.create("downscale", {"up": "magic"}, "[compressor]")




def test_compressor_from_a_file_spec(tmp_path):
    path = tmp_path / "my_codec.py"
    path.write_text(INVERT_PLUGIN)
    cls = COMPRESSORS.get(f"{path}:Invert")
    assert cls.name == "invert"
    codec = COMPRESSORS.create(f"{path}:Invert", {"shift": 2}, "[compressor]")
    image = synthetic_images(1, seed=0)[0][0]
    assert np.array_equal(codec.decode(codec.encode(image, "lossless"), "lossless"), image)


@pytest.mark.parametrize("spec_text, needle", [
    ("{dir}/none.py:X", "file not found"), ("{dir}/my_codec.py:Nope", "has no class 'Nope'"),
    ("no_such_module_xyz:Codec", "importing no_such_module_xyz failed: ModuleNotFoundError"),
    ("{dir}/broken.py:X", "importing {dir}/broken.py failed: ZeroDivisionError"),
    ("{dir}/my_codec.py:Params", "is not a compressor"), ("{dir}/clash.py:Clash", "the name of a built-in")])
def test_bad_specs_give_one_clear_error(tmp_path, spec_text, needle):
    (tmp_path / "my_codec.py").write_text(INVERT_PLUGIN)
    (tmp_path / "broken.py").write_text("1 / 0\n")
    (tmp_path / "clash.py").write_text(INVERT_PLUGIN.replace("class Invert(ImageCodec):", "class Clash(ImageCodec):\n"
                                                                                  "    name = 'jpegxl'"))
    with pytest.raises(StorageBenchError) as err:
        COMPRESSORS.create(spec_text.format(dir=tmp_path), {}, "[compressor]")
    assert needle.format(dir=tmp_path) in str(err.value)


def test_portable_name_drops_folders():
    from storagebench.benchmarks.definition import absolute_spec, portable_name

    assert portable_name("/a/b/my_codec.py:Invert") == "my_codec.py:Invert"
    assert portable_name("pkg.mod:Cls") == "pkg.mod:Cls" and portable_name("jpegxl") == "jpegxl"
    assert absolute_spec("x.py:C").startswith("/") and absolute_spec("jpeg") == "jpeg"


def test_storage_curves_refuse_codecs_without_a_distance_knob():
    from storagebench.benchmarks.harness.curves import searchable_range

    assert searchable_range(COMPRESSORS.create("jpegxl", {}, "x")) == (0.5, 25.0)
    assert searchable_range(COMPRESSORS.create("jpegxl-butteraugli", {}, "x")) == (0.5, 8.0)
    for name in ("jpeg", "downscale", "png"):
        with pytest.raises(StorageBenchError, match="not a continuous distance-like knob"):
            searchable_range(COMPRESSORS.create(name, {}, "x"))
