"""``storagebench rd``: the rate–distortion card."""
import csv

from conftest import run_cli


def test_rd_card_measures_real_bytes_on_photos_and_fashion_mnist(tmp_path, cli_env):
    result = run_cli(["rd", "webp", "--levels", "lossless", "90", "20", "--images", "20", "--out", "card"],
                     cli_env, tmp_path)
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "card" / "rd.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["dataset"] for r in rows} == {"photos", "fashion-mnist"} and len(rows) == 6
    for dataset in ("photos", "fashion-mnist"):
        lossless, mild, strong = (r for r in rows if r["dataset"] == dataset)
        assert lossless["psnr"] == "inf" and float(lossless["butteraugli"]) == 0.0
        assert float(lossless["bpp"]) > float(mild["bpp"]) > float(strong["bpp"]) > 0
        assert float(mild["psnr"]) > float(strong["psnr"]) and float(mild["ssim"]) > float(strong["ssim"])
        assert float(mild["butteraugli"]) < float(strong["butteraugli"])
    assert (tmp_path / "card" / "rd.png").stat().st_size > 10_000
    assert "photos" in result.stdout and "wrote" in result.stdout
