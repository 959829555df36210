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


def test_every_codec_with_a_level_knob_can_be_searched_and_the_others_are_refused():
    from storagebench.benchmarks.harness.knob import ContinuousKnob, DiscreteKnob, knob_for

    assert knob_for(COMPRESSORS.create("jpegxl", {}, "x")) == ContinuousKnob(0.5, 25.0, distance_like=True)
    assert knob_for(COMPRESSORS.create("jpegxl-butteraugli", {}, "x")) == ContinuousKnob(0.5, 8.0, True)
    assert knob_for(COMPRESSORS.create("jpeg", {}, "x")) == ContinuousKnob(1.0, 95.0, False, integer=True)
    assert knob_for(COMPRESSORS.create("downscale", {}, "x")) == ContinuousKnob(0.1, 0.95, False)
    assert knob_for(COMPRESSORS.create("bmshj2018-factorized", {}, "x")) == DiscreteKnob((1.0, 3.0, 5.0, 7.0))
    with pytest.raises(StorageBenchError, match="png has no level knob to search"):
        knob_for(COMPRESSORS.create("png", {}, "x"))


@pytest.mark.parametrize("guided", [None, "guess", "estimates"])
@pytest.mark.parametrize("knob_kind", ["distance", "quality", "integer", "discrete"])
def test_a_knob_search_finds_the_largest_set_within_the_budget(knob_kind, guided):
    """Sizes falling (distance) or rising (quality) along the knob: the level found fits and fills ≥ 99 % of the
    budget, or the next step towards more bytes does not fit. Started from a guess a few percent off (another seed's
    level) or from estimates of the sizes 3 % off (the grid's bytes per image), the search encodes the set at fewer
    levels and finds as good a level."""
    from storagebench.benchmarks.harness.knob import ContinuousKnob, DiscreteKnob

    knob = {"distance": ContinuousKnob(0.5, 25.0, True), "quality": ContinuousKnob(0.1, 0.95, False),
            "integer": ContinuousKnob(1.0, 95.0, False, integer=True),
            "discrete": DiscreteKnob((8.0, 4.0, 2.0, 1.0))}[knob_kind]
    total = {"distance": lambda lv: int(1e5 / lv), "discrete": lambda lv: int(1e5 / lv),
             "quality": lambda lv: int(4e4 * lv), "integer": lambda lv: int(1e3 * lv)}[knob_kind]
    probed = []
    budget = 40_000 if knob_kind in ("distance", "discrete") else 37_500
    guess = {"distance": 2.4, "quality": 0.9, "integer": 40.0, "discrete": 2.0}[knob_kind] if guided == "guess" \
        else None
    grid = {"distance": (1.0, 2.0, 4.0, 7.0), "quality": (0.3, 0.5, 0.8), "integer": (10.0, 30.0, 60.0),
            "discrete": (8.0, 4.0, 2.0, 1.0)}[knob_kind]
    estimates = {lv: 1.03 * total(lv) for lv in grid} if guided == "estimates" else None

    def counted(level):
        probed.append(level)
        return total(level)

    level = knob.search(counted, budget, guess, estimates)
    assert total(level) <= budget and len(probed) <= {None: 12, "guess": 6, "estimates": 3}[guided]
    if knob_kind == "discrete":
        assert level == 4.0  # 25,000 bytes; level 2 would take 50,000
    elif knob_kind == "integer":
        assert level == 37.0
    else:
        assert total(level) >= 0.99 * budget
    assert knob.search(total, 10) is None  # nothing fits
