"""torchvision models for the paper's setups, from scratch (``weights = "none"``) or from ImageNet weights
(``"DEFAULT"``: torchvision downloads them into ``$TORCH_HOME`` the first time, so it needs internet once; without it,
one error says so)."""
from __future__ import annotations

from torch import nn

from storagebench.errors import StorageBenchError


def imagenet_weights(name: str) -> dict:
    """The state dict of torchvision's ``DEFAULT`` weights of model ``name`` (downloaded the first time), or one error
    when they cannot be had."""
    from storagebench.torchvision_compat import import_torchvision

    weights = import_torchvision().models.get_model_weights(name).DEFAULT
    try:
        return weights.get_state_dict(progress=False, check_hash=True)
    except (OSError, RuntimeError, ValueError) as exc:  # urllib's URLError is an OSError
        raise StorageBenchError(f"[task].weights = \"DEFAULT\": the ImageNet weights of {name} could not be loaded "
                                f"({type(exc).__name__}: {exc}); they are downloaded once into $TORCH_HOME, which "
                                f"needs internet — put the file there or train from scratch with weights = "
                                f"\"none\"") from None


def one_channel_conv(rgb: nn.Conv2d, in_channels: int, pretrained: bool) -> nn.Conv2d:
    """A first convolution for ``in_channels`` inputs in place of an RGB one; a pretrained one, for gray input, is the
    sum of its RGB filters (a gray image is R = G = B)."""
    conv = nn.Conv2d(in_channels, rgb.out_channels, rgb.kernel_size, rgb.stride, rgb.padding, bias=False)
    if pretrained and in_channels == 1:
        conv.weight.data.copy_(rgb.weight.data.sum(dim=1, keepdim=True))
    return conv


def torchvision_classifier(name: str, weights: str, in_channels: int, num_classes: int) -> nn.Module:
    """A torchvision ResNet with a new fc for ``num_classes``; a gray input gets a one-channel first convolution
    (the sum of the pretrained RGB filters)."""
    from storagebench.torchvision_compat import import_torchvision

    models = import_torchvision().models
    model = getattr(models, name)(weights=None)
    if weights == "DEFAULT":
        model.load_state_dict(imagenet_weights(name))
    if in_channels != 3:
        model.conv1 = one_channel_conv(model.conv1, in_channels, weights == "DEFAULT")
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model
