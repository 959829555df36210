"""The detectors the detection task builds: FCOS on a small backbone trained from scratch (``model = "fcos"``, the
default: cheap enough for CPU grids), and the paper's torchvision R-CNNs on ResNet-50 + FPN (``"faster_rcnn"``,
``"mask_rcnn"``: Mask R-CNN R50-FPN, iSAID's model), from scratch or from ImageNet backbone weights.

Every detector takes images already prepared to the training size (``preprocess.py``) in [-1, 1] (``to_tensor``):
its own transform neither resizes (min and max size are the prepared size) nor normalises beyond mapping [-1, 1]
to what its weights expect.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from storagebench.tasks.pretrained import imagenet_weights, one_channel_conv

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _stage(cin: int, cout: int) -> nn.Sequential:
    """Halve the resolution: conv3×3/2 → BN → ReLU → conv3×3 → BN → ReLU."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SmallBackbone(nn.Module):
    """Four stride-2 stages; the stride-8 and stride-16 maps go through an FPN (what torchvision's heads expect)."""

    strides = (8, 16)

    def __init__(self, in_channels: int, width: int, out_channels: int):
        super().__init__()
        from torchvision.ops import FeaturePyramidNetwork

        self.body = nn.Sequential(_stage(in_channels, width), _stage(width, 2 * width), _stage(2 * width, 4 * width))
        self.last = _stage(4 * width, 4 * width)
        self.fpn = FeaturePyramidNetwork([4 * width, 4 * width], out_channels)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        c3 = self.body(x)
        return self.fpn(OrderedDict(p3=c3, p4=self.last(c3)))


def _sizes(in_channels: int, image_hw: tuple[int, int], pretrained: bool) -> dict[str, Any]:
    """The transform's keys: no resize; inputs in [-1, 1] become what the weights expect (ImageNet's statistics of
    [0, 1] images, averaged over the channels for gray input), or stay as they are from scratch."""
    mean, std = ((2 * m - 1 for m in IMAGENET_MEAN), (2 * s for s in IMAGENET_STD)) if pretrained else \
        ((0.0,) * 3, (1.0,) * 3)
    mean, std = list(mean), list(std)
    if in_channels == 1:
        mean, std = [sum(mean) / 3], [sum(std) / 3]
    return dict(min_size=min(image_hw), max_size=max(image_hw), image_mean=mean, image_std=std)


def build_fcos(p: Any, in_channels: int, num_classes: int, image_hw: tuple[int, int]) -> nn.Module:
    """FCOS on ``SmallBackbone``; ``num_classes`` counts the background (class 0)."""
    from storagebench.torchvision_compat import import_torchvision

    torchvision = import_torchvision()
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.fcos import FCOSHead

    backbone = SmallBackbone(in_channels, p.width, p.fpn_channels)
    # FCOS's "anchors" are points; their size (= the stride, as torchvision sets it) picks each level's box sizes.
    anchors = AnchorGenerator(tuple((s,) for s in backbone.strides), ((1.0,),) * len(backbone.strides))
    return torchvision.models.detection.FCOS(
        backbone, num_classes, anchor_generator=anchors, head=FCOSHead(p.fpn_channels, 1, num_classes, p.head_convs),
        score_thresh=p.score_thresh, detections_per_img=p.detections_per_img,
        **_sizes(in_channels, image_hw, pretrained=False))


def resnet50_fpn(in_channels: int, pretrained: bool) -> nn.Module:
    """torchvision's ResNet-50 + FPN backbone: from ImageNet weights with frozen batch norms and the stem and first
    stage frozen (torchvision's and mmdetection's practice), or from scratch with batch norms, all trainable."""
    from storagebench.torchvision_compat import import_torchvision

    import_torchvision()
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
    from torchvision.ops.misc import FrozenBatchNorm2d

    backbone = resnet_fpn_backbone(backbone_name="resnet50", weights=None,
                                   norm_layer=FrozenBatchNorm2d if pretrained else nn.BatchNorm2d,
                                   trainable_layers=3 if pretrained else 5)
    if pretrained:
        backbone.body.load_state_dict(imagenet_weights("resnet50"), strict=False)  # all but the classifier
    if in_channels != 3:
        rgb = backbone.body.conv1
        backbone.body.conv1 = one_channel_conv(rgb, in_channels, pretrained)
        backbone.body.conv1.requires_grad_(rgb.weight.requires_grad)
    return backbone


def build_rcnn(p: Any, in_channels: int, num_classes: int, image_hw: tuple[int, int]) -> nn.Module:
    """Faster or Mask R-CNN R50-FPN (``p.model``) with torchvision's heads and defaults but for the box sampling
    (``rois_per_image``) and the output thresholds."""
    from storagebench.torchvision_compat import import_torchvision

    import_torchvision()  # before any torchvision import: the ops fallback
    from torchvision.models.detection import FasterRCNN, MaskRCNN

    kind = MaskRCNN if p.model == "mask_rcnn" else FasterRCNN
    pretrained = p.weights == "DEFAULT"
    return kind(resnet50_fpn(in_channels, pretrained), num_classes, box_batch_size_per_image=p.rois_per_image,
                box_score_thresh=p.score_thresh, box_detections_per_img=p.detections_per_img,
                **_sizes(in_channels, image_hw, pretrained))


DETECTORS = {"fcos": build_fcos, "faster_rcnn": build_rcnn, "mask_rcnn": build_rcnn}
