"""The network registry: shapes, rebuilding from config, learning, encoders' weight formats, weight transfer."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from unseen.errors import InputError
from unseen.nets import build_network, list_architectures
from unseen.nets.encoders import VGG16Encoder, build_encoder
from unseen.nets.espnetv2 import load_espnetv2
from unseen.nets.transfer import load_init_state, transfer_weights
from unseen.segment.classes import CITYSCAPES_CLASSES, PASCAL_CLASSES, match_classes
from unseen.segment.espnetv2 import network_size, to_tensor

from conftest import ARCHS, TINY, shared_path

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory):
    """The published ESPNetv2 PASCAL file through the zoo, from ../shared/models only (never downloaded)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UNSEEN_MODELS", str(shared_path("models")))
        patch.setenv("UNSEEN_CACHE", str(tmp_path_factory.mktemp("empty-cache")))
        return load_init_state("espnetv2-pascal"), load_espnetv2("espnetv2-pascal", download=False)


def test_every_architecture_is_tested() -> None:
    assert set(list_architectures()) == set(ARCHS)
    assert all(description and "\n" not in description for description in list_architectures().values())


@pytest.mark.parametrize("arch", ARCHS)
def test_logits_at_the_input_size(arch: str) -> None:
    net = build_network(arch, 3, **TINY[arch]).eval()
    m = net.side_multiple
    with torch.no_grad():
        for h, w in ((2 * m, 2 * m), (3 * m, 5 * m)):
            assert net(torch.randn(2, 3, h, w)).shape == (2, 3, h, w)
    with pytest.raises(InputError, match=f"multiples of {m}"):
        net(torch.randn(1, 3, 2 * m + 1, 2 * m))


@pytest.mark.parametrize("arch", ARCHS)
def test_config_rebuilds_the_same_network(arch: str) -> None:
    net = build_network(arch, 4, **TINY[arch])
    config = json.loads(json.dumps(net.config))  # as a checkpoint stores it
    assert config == net.config and config["arch"] == arch and config["num_classes"] == 4
    rebuilt = build_network(**config)
    shapes = {key: value.shape for key, value in net.state_dict().items()}
    assert {key: value.shape for key, value in rebuilt.state_dict().items()} == shapes
    assert rebuilt.config == net.config
    assert net.head_keys and all(shapes[key][0] == 4 for key in net.head_keys)


def disc_batch(count: int, side: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise images with one bright disc each (normalised scale), and the disc as class 1."""
    y, x = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    centres = torch.randint(side // 4, 3 * side // 4, (count, 2), generator=generator)
    radii = torch.randint(side // 8, side // 4, (count,), generator=generator)
    inside = (y - centres[:, 0, None, None]) ** 2 + (x - centres[:, 1, None, None]) ** 2 < radii[:, None, None] ** 2
    images = torch.randn(count, 3, side, side, generator=generator) * 0.6 + inside[:, None] * 1.5
    return images, inside.long()


@pytest.mark.parametrize("arch", ARCHS)
def test_tiny_network_learns_a_disc(arch: str) -> None:
    torch.manual_seed(0)
    net = build_network(arch, 2, **TINY[arch]).train()
    images, labels = disc_batch(8, 64, torch.Generator().manual_seed(1))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(net(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    first, last = np.mean(losses[:3]), np.mean(losses[-3:])
    assert last < 0.4 * first, f"{arch}: cross-entropy {first:.3f} -> {last:.3f}"


def test_unknown_architecture_and_options_are_refused() -> None:
    with pytest.raises(InputError, match="unknown architecture 'segformer'; choose one of: unet, .*fcn"):
        build_network("segformer", 2)
    with pytest.raises(InputError, match="has no option 'widht'; its options: encoder, encoder_options"):
        build_network("unet", 2, widht=0.5)
    with pytest.raises(InputError, match="encoder vgg16 has no option 'scale'"):
        build_network("unet", 2, encoder="vgg16", encoder_options={"scale": 2.0})
    with pytest.raises(InputError, match="unknown encoder 'resnet50'"):
        build_network("fcn", 2, encoder="resnet50")
    with pytest.raises(InputError, match="at least 2 classes"):
        build_network("unet", 1)
    with pytest.raises(InputError, match="ESPNetv2 scale 3"):
        build_network("espnetv2", 2, scale=3)


def test_encoders_report_their_levels() -> None:
    image = torch.randn(1, 3, 64, 64)
    for name, options in (("plain", {"width": 0.125}), ("vgg16", {"width": 0.0625, "depth": 6}),
                          ("espnetv2", {"scale": 1.0})):
        encoder = build_encoder(name, options)
        features = encoder(image)
        assert [f.shape[1] for f in features] == list(encoder.channels)
        assert [64 // f.shape[-1] for f in features] == list(encoder.strides)


def test_vgg16_takes_torchvision_weights(tmp_path: Path) -> None:
    """The layout is torchvision's (``features.N``, convolutions at its indices), so its files load as they are."""
    plain, with_bn = VGG16Encoder(width=0.0625), VGG16Encoder(width=0.0625, batch_norm=True)
    convs = [int(key.split(".")[1]) for key in plain.state_dict() if key.endswith(".weight")]
    assert convs == [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]  # torchvision vgg16
    bn_convs = [int(key.split(".")[1]) for key, value in with_bn.state_dict().items()
                if key.endswith(".weight") and value.ndim == 4]
    assert bn_convs == [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40]  # torchvision vgg16_bn
    file = tmp_path / "vgg16.pth"
    torch.save({**plain.state_dict(), "classifier.0.weight": torch.zeros(2, 2)}, file)
    loaded = VGG16Encoder(width=0.0625, weights=file)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), plain.state_dict().values(),
                                                  strict=True))
    net = build_network("unet-vgg16", 2, encoder_options={"width": 0.0625, "weights": str(file)})
    assert "weights" not in net.config["encoder_options"]  # the checkpoint holds the trained weights
    with pytest.raises(InputError, match="not a torchvision vgg16 state dict at width 0.125"):
        VGG16Encoder(width=0.125, weights=file)


def test_classes_match_by_name_or_alias() -> None:
    assert match_classes(PASCAL_CLASSES, ("background", "person", "motorcycle", "tv", "giraffe")) == {
        0: 0, 1: 15, 2: 14, 3: 20}
    camvid = ("Sky", "Pavement", "Tree", "SignSymbol", "Pedestrian", "Bicyclist")
    assert [CITYSCAPES_CLASSES[s] for s in match_classes(CITYSCAPES_CLASSES, camvid).values()] == [
        "sky", "sidewalk", "vegetation", "traffic sign", "person", "rider"]
    assert match_classes(("person", "pedestrian"), ("pedestrian", "person")) == {0: 1, 1: 0}  # exact first


def frame_tensor(size: int = 384) -> torch.Tensor:
    rgb = cv2.cvtColor(cv2.imread(str(shared_path("data", "clips", "parkour", "frames", "00060.jpg"))),
                       cv2.COLOR_BGR2RGB)
    return to_tensor(rgb, network_size(rgb.shape[1], rgb.shape[0], size))


def test_transfer_keeps_the_person_row_of_the_published_model(published) -> None:
    (state, classes, arch), model = published
    assert arch == "espnetv2" and classes == PASCAL_CLASSES
    net = build_network("espnetv2", 2).eval()
    report = transfer_weights(net, state, classes, ("background", "person"))
    assert report.kept_classes == {"background": "background", "person": "person"} and not report.new_classes
    assert len(report.loaded) + len(report.by_class) == len(state) and not report.fresh and not report.unused
    x = frame_tensor()
    with torch.no_grad():
        ours, theirs = net(x), model(x)[:, [0, PASCAL_CLASSES.index("person")]]
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)
    assert (ours.argmax(1) == 1).float().mean() > 0.05  # there is a person to find


def test_transfer_gives_deeplab_the_published_encoder(published) -> None:
    (state, classes, _), _ = published
    net = build_network("deeplabv3plus", 3)
    report = transfer_weights(net, state, classes, ("background", "person", "kite"))
    encoder = [key for key in net.state_dict() if key.startswith("encoder.")]
    assert set(encoder) <= set(report.loaded), f"{report}"
    assert all(torch.equal(net.state_dict()[key], state["base_net." + key.removeprefix("encoder.")])
               for key in encoder)
    assert len(report.loaded) == len(encoder) == 361 and not report.by_class, f"{report}"
    assert report.new_classes == ["background", "person", "kite"] and not report.kept_classes


def test_own_checkpoints_and_foreign_weights(tmp_path: Path) -> None:
    source = build_network("unet", 3, **TINY["unet"])
    file = tmp_path / "run" / "best.pt"
    file.parent.mkdir()
    torch.save({"format": "unseen-checkpoint/1", "network": source.config, "classes": ["background", "cat", "dog"],
                "model": source.state_dict()}, file)
    state, classes, arch = load_init_state(file.parent)  # a run folder stands for its best.pt
    assert classes == ("background", "cat", "dog") and arch == "unet"
    net = build_network(**{**source.config, "num_classes": 2})
    report = transfer_weights(net, state, classes, ("dog", "bird"))
    assert report.kept_classes == {"dog": "dog"} and report.new_classes == ["bird"]
    torch.testing.assert_close(net.head.weight[0], source.head.weight[2])
    with pytest.raises(InputError, match="share no tensor"):
        transfer_weights(build_network("fcn", 2, **TINY["fcn"]), state, classes, ("dog", "bird"))
    with pytest.raises(InputError, match="no such file; give a checkpoint, a .pth state dict or one of: espnetv2"):
        load_init_state(tmp_path / "missing.pt")


def test_espnetv2_exports_to_onnx_with_free_height_and_width(tmp_path: Path) -> None:
    """Its pyramid pools to sizes that follow the input: the traced graph must follow them too."""
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    net = build_network("espnetv2", 3, scale=1.0).eval()
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shape-dependent Python code, checked below
        torch.onnx.export(net, (torch.randn(1, 3, 64, 96),), str(tmp_path / "net.onnx"), dynamo=False,
                          input_names=["image"], output_names=["logits"], dynamic_axes={"image": axes, "logits": axes})
    session = onnxruntime.InferenceSession(str(tmp_path / "net.onnx"), providers=["CPUExecutionProvider"])
    x = torch.randn(1, 3, 160, 64)  # another size and aspect: pyramid sides both above and at their floor
    with torch.no_grad():
        np.testing.assert_allclose(session.run(None, {"image": x.numpy()})[0], net(x).numpy(), atol=1e-4)
