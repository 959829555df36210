"""``storagebench rd COMPRESSOR``: a rate–distortion card, like CompressAI's eval output. For each level: mean bits
per pixel of the real bitstreams, and PSNR, SSIM and Butteraugli of the decoded images, on real photos shipped by
scikit-image (256×256 centre crops) and on Fashion-MNIST test images. Writes ``rd.csv`` and ``rd.png``.

A codec that learns from data is fitted on Fashion-MNIST training images (the first 2,000) and carded on its test
images only: a model trained on gray 28×28 items says nothing about colour photos.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from storagebench.compressors import LOSSLESS, ImageCodec, Level, level_label
from storagebench.compressors.butteraugli import butteraugli_distance
from storagebench.compressors.decoding import Decoder, decode_many, decoder_for
from storagebench.compressors.protocol import exact_bytes
from storagebench.errors import StorageBenchError

PHOTOS = ("astronaut", "chelsea", "coffee", "camera", "rocket", "immunohistochemistry")
CROP = 256
COLUMNS = ("dataset", "level", "images", "bytes_per_image", "bpp", "psnr", "ssim", "butteraugli")


def photos() -> list[np.ndarray]:
    from skimage import data

    crops = []
    for name in PHOTOS:
        image = getattr(data, name)()
        top, left = (image.shape[0] - CROP) // 2, (image.shape[1] - CROP) // 2
        crops.append(np.ascontiguousarray(image[top:top + CROP, left:left + CROP]))
    return crops


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, data_range=255, channel_axis=2 if a.ndim == 3 else None))


def is_learned(codec: ImageCodec) -> bool:
    return type(codec).fit is not ImageCodec.fit


def card_rows(codec: ImageCodec, decoder: Decoder, dataset: str, images: list[np.ndarray],
              levels: list[Level]) -> list[dict[str, Any]]:
    rows = []
    for level in levels:
        per_item = codec.item_levels(level, len(images))
        item_levels = per_item if isinstance(per_item, list) else [per_item] * len(images)
        streams = [exact_bytes(codec.encode(image, item_level), codec.name, f"a {dataset} image")
                   for image, item_level in zip(images, item_levels)]
        decoded = decode_many(decoder, streams, item_levels, f"decode {dataset} {level_label(level)}")
        sizes = [len(stream) * 8 / (image.shape[0] * image.shape[1]) for stream, image in zip(streams, images)]
        values = np.array([(psnr(image, back), ssim(image, back), butteraugli_distance(image, back))
                           for image, back in zip(images, decoded)])
        rows.append({"dataset": dataset, "level": level_label(level), "images": len(images),
                     "bytes_per_image": float(np.mean(sizes) * images[0].shape[0] * images[0].shape[1] / 8),
                     "bpp": float(np.mean(sizes)), "psnr": float(np.mean(values[:, 0])),
                     "ssim": float(values[:, 1].mean()), "butteraugli": float(values[:, 2].mean())})
    return rows


def rd_card(codec: ImageCodec, levels: list[Level], fashion: Any, count: int, out: Path, cache: Path,
            spec: str | None = None) -> tuple[list[dict[str, Any]], Path, Path, list[str]]:
    """Rows of the card, the CSV and the figure written, and notes on what was left out. ``spec`` names a codec
    that is not a built-in (its decoding is contained)."""
    notes = []
    test = list(fashion.test.images[:count])
    if is_learned(codec):
        codec.fit(fashion.train.images[:2000], levels, cache / "codecs")
        sets = {"fashion-mnist": test}
        notes.append("photos left out: a learned codec is fitted on Fashion-MNIST and carded on its test images")
    else:
        sets = {"photos": photos(), "fashion-mnist": test}
    decoder, _ = decoder_for(codec, levels, spec)
    rows = [row for name, images in sets.items() for row in card_rows(codec, decoder, name, images, levels)]
    if not rows:
        raise StorageBenchError("rd: no levels to card")
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "rd.csv"
    with open(csv_path.with_suffix(".csv.tmp"), "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    csv_path.with_suffix(".csv.tmp").replace(csv_path)
    return rows, csv_path, plot_card(rows, codec.name, out / "rd.png"), notes


def plot_card(rows: list[dict[str, Any]], name: str, path: Path) -> Path:
    from storagebench.benchmarks.analysis import style

    fig, axes = style.figure(13, 4.2, cols=3)
    for metric, axis, label in (("psnr", axes[0], "PSNR (dB) ↑"), ("ssim", axes[1], "SSIM ↑"),
                                ("butteraugli", axes[2], "Butteraugli distance ↓")):
        for dataset in dict.fromkeys(r["dataset"] for r in rows):
            mine = [r for r in rows if r["dataset"] == dataset]
            points = sorted((r["bpp"], r[metric]) for r in mine if r["level"] != LOSSLESS)
            line = axis.plot(*zip(*points), marker="o", label=dataset)[0] if points else None
            for r in mine:  # lossless: the original format's rate, with no distortion to plot on a line
                if r["level"] == LOSSLESS and np.isfinite(r[metric]):
                    axis.plot(r["bpp"], r[metric], marker="*", markersize=12, linestyle="none",
                              color=line.get_color() if line else None)
        style.log_axis(axis, "x")
        axis.set_xlabel("bits per pixel (real bitstreams)")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"rate–distortion card: {name} (★ = lossless, the original format)")
    return style.save(fig, path)


def format_card(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'dataset':>14} {'level':>10} {'bytes':>9} {'bpp':>7} {'PSNR':>7} {'SSIM':>6} {'Butteraugli':>11}"]
    lines += [f"{r['dataset']:>14} {r['level']:>10} {r['bytes_per_image']:9.1f} {r['bpp']:7.3f} {r['psnr']:7.2f} "
              f"{r['ssim']:6.3f} {r['butteraugli']:11.3f}" for r in rows]
    return "\n".join(lines)
