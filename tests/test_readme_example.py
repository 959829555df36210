"""The README's "Submit a compressor" example is complete and passes validation."""
import re

from conftest import REPO, synthetic_images

from storagebench.compressors import COMPRESSORS
from storagebench.compressors.validation import Limits, validate


def example_source() -> str:
    readme = (REPO / "README.md").read_text()
    (block,) = re.findall(r"```python\n(# my_codec\.py\n.*?)```", readme, flags=re.S)
    return block


def test_readme_example_passes_validation_and_round_trips(tmp_path):
    path = tmp_path / "my_codec.py"
    path.write_text(example_source())
    spec = f"{path}:Posterize"
    codec = COMPRESSORS.create(spec, {}, "[compressor]")
    images = list(synthetic_images(4, seed=9)[0])
    levels = [codec.parse_level(v) for v in codec.default_levels]
    report = validate(spec, {}, images, levels, Limits(call_seconds=5))
    assert report.passed, report.format()
    lossless = codec.decode(codec.encode(images[0], "lossless"), "lossless")
    assert (lossless == images[0]).all()
    sizes = [len(codec.encode(images[0], level)) for level in levels]
    assert sizes == sorted(sizes, reverse=True)  # fewer bits kept, fewer bytes
