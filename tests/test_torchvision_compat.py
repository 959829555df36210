import numpy as np
import torch

from storagebench.torchvision_compat import ensure_torchvision_ops, import_torchvision


def brute_force_nms(boxes, scores, threshold):
    def iou(a, b):
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
        return w * h / union

    keep = []
    for i in sorted(range(len(scores)), key=lambda k: -scores[k]):
        if all(iou(boxes[i], boxes[j]) <= threshold for j in keep):
            keep.append(i)
    return keep


def test_nms_matches_brute_force_and_torchvision_imports():
    torchvision = import_torchvision()
    generator = torch.Generator().manual_seed(0)
    xy = torch.rand(60, 2, generator=generator) * 50
    boxes = torch.cat([xy, xy + 5 + torch.rand(60, 2, generator=generator) * 20], dim=1)
    scores = torch.rand(60, generator=generator)
    for threshold in (0.1, 0.5, 0.8):
        kept = torch.ops.torchvision.nms(boxes, scores, threshold).tolist()
        assert kept == brute_force_nms(boxes.tolist(), scores.tolist(), threshold)
        assert torchvision.ops.nms(boxes, scores, threshold).tolist() == kept  # the path detectors take
    classes = torch.arange(60) % 3
    kept = set(torchvision.ops.batched_nms(boxes, scores, classes, 0.5).tolist())
    expected = {i for c in range(3) for i in torch.nonzero(classes == c).flatten()[
        brute_force_nms(boxes[classes == c].tolist(), scores[classes == c].tolist(), 0.5)].tolist()}
    assert kept == expected
    assert isinstance(ensure_torchvision_ops(), bool)


def brute_force_roi_align(x, rois, scale, ph, pw, ratio, aligned):
    """torchvision's C++ roi_align kernel, one sample at a time."""
    _, channels, h, w = x.shape
    out = torch.zeros(len(rois), channels, ph, pw, dtype=x.dtype)

    def bilinear(b, y, xx):
        if y < -1 or y > h or xx < -1 or xx > w:
            return torch.zeros(channels, dtype=x.dtype)
        y, xx = max(y, 0.0), max(xx, 0.0)
        y0, x0 = int(y), int(xx)
        y1, x1 = (y0 + 1, x0 + 1)
        if y0 >= h - 1:
            y0 = y1 = h - 1
            y = float(y0)
        if x0 >= w - 1:
            x0 = x1 = w - 1
            xx = float(x0)
        ly, lx = y - y0, xx - x0
        return ((1 - ly) * (1 - lx) * x[b, :, y0, x0] + (1 - ly) * lx * x[b, :, y0, x1]
                + ly * (1 - lx) * x[b, :, y1, x0] + ly * lx * x[b, :, y1, x1])

    offset = 0.5 if aligned else 0.0
    for k, (b, x_1, y_1, x_2, y_2) in enumerate(rois.tolist()):
        sx, sy, ex, ey = (v * scale - offset for v in (x_1, y_1, x_2, y_2))
        rw, rh = ex - sx, ey - sy
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        gy = ratio if ratio > 0 else int(np.ceil(rh / ph))
        gx = ratio if ratio > 0 else int(np.ceil(rw / pw))
        for p in range(ph):
            for q in range(pw):
                total = torch.zeros(channels, dtype=x.dtype)
                for i in range(gy):
                    for j in range(gx):
                        total += bilinear(int(b), sy + p * rh / ph + (i + 0.5) * rh / ph / gy,
                                          sx + q * rw / pw + (j + 0.5) * rw / pw / gx)
                out[k, :, p, q] = total / max(gy * gx, 1)
    return out


def test_roi_align_fallback_matches_the_kernel_sample_by_sample_and_has_gradients():
    from storagebench.torchvision_compat import roi_align_reference

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 9, 11, dtype=torch.float64, generator=generator, requires_grad=True)
    corner = torch.rand(12, 2, generator=generator, dtype=torch.float64) * 16 - 4  # some past every edge
    rois = torch.cat([torch.arange(12.0, dtype=torch.float64)[:, None] % 2, corner,
                      corner + torch.rand(12, 2, generator=generator, dtype=torch.float64) * 9], dim=1)
    for ratio, aligned in ((2, True), (1, False), (0, True), (0, False)):
        got = roi_align_reference(x, rois, 0.8, 3, 4, ratio, aligned)
        expected = brute_force_roi_align(x.detach(), rois, 0.8, 3, 4, ratio, aligned)
        assert torch.allclose(got, expected, atol=1e-12), (ratio, aligned)
    far = torch.tensor([[0.0, 30.0, 30.0, 40.0, 40.0]], dtype=torch.float64)  # wholly outside: all zeros
    assert not roi_align_reference(x, far, 1.0, 2, 2, 2, True).any()
    (gradient,) = torch.autograd.grad(roi_align_reference(x, rois, 0.8, 3, 4, 2, True).sum(), x)
    assert gradient.abs().sum() > 0
    assert roi_align_reference(x, rois[:0], 1.0, 2, 2, 2, True).shape == (0, 3, 2, 2)
