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
