"""train.precision: fp32 | tf32 | bf16, checked, recorded, and bf16 against fp32."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import torch
from torch import nn

from actcli import config
from actcli.components import Ref
from actcli.engine.model import Network
from actcli.engine.stack import StackedMLP
from actcli.training import driver

from helpers import CONFIGS
from test_fashion_mnist import REAL


def test_a_precision_not_offered_is_one_line(invoke, tmp_path):
    result = invoke("train", CONFIGS / "rice_cooker.yaml", "--set", "train.precision=fp16",
                    "--out", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {CONFIGS / 'rice_cooker.yaml'} (after --set): train.precision: 'fp16' is not "
        "allowed; valid: 'fp32', 'tf32' or 'bf16'"]
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(torch.cuda.is_available(), reason="TF32 is refused only without a GPU")
def test_tf32_without_an_nvidia_gpu_is_refused_before_any_folder(invoke, tmp_path):
    result = invoke("train", CONFIGS / "rice_cooker.yaml", "--set", "train.precision=tf32",
                    "--set", "device=cpu", "--out", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: train.precision: tf32 needs an NVIDIA GPU (device "
                                     "cpu has no TF32 units); use fp32, or bf16 on this device")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_precision_is_recorded(tmp_path, precision):
    cfg = config.load(CONFIGS / "beans.yaml", ["train.epochs=3", f"train.precision={precision}"])
    run = driver.run(cfg, tmp_path, figures=False)
    summary = json.loads((run.path / "summary.json").read_text())
    assert summary["precision"] == precision and run.status == "completed"


def test_bf16_rounds_the_products_not_the_weights():
    torch.manual_seed(0)
    nets = [Network((20,), 3, hidden=[64], activation=Ref("activation", "tanh"),
                    output="identity", init=Ref("init", "xavier_uniform", (("gain", 1.0),)))
            for _ in range(2)]
    x = torch.randn(256, 20)
    want = torch.stack([net(x) for net in nets]).detach()  # float32, by torch's own layers
    exact = StackedMLP([n for n in _copies(nets)]).forward(x, training=False).logits
    rounded = StackedMLP([n for n in _copies(nets)], low=torch.bfloat16)
    low = rounded.forward(x, training=False).logits
    assert rounded.flat.dtype == torch.float32 and low.dtype == torch.float32
    torch.testing.assert_close(exact, want, rtol=1e-5, atol=1e-5)
    # bfloat16 keeps 8 bits of mantissa: the products differ from float32's, within that
    assert not torch.equal(low, exact)
    torch.testing.assert_close(low, exact, rtol=0.05, atol=0.05)


def _copies(nets: list[nn.Module]) -> list[nn.Module]:
    import copy

    return [copy.deepcopy(net) for net in nets]


@pytest.mark.skipif(REAL is None, reason="needs the Fashion-MNIST files ($ACTCLI_DATA_DIR)")
def test_bf16_on_the_cpu_is_within_half_a_point_of_fp32_on_the_smoke_config():
    # measured: 61.6/61.0, 65.2/65.2, 61.4/61.0 (seeds 0-2, fp32/bf16): one of the smoke's 500
    # test images is 0.2 points, so the mean over three seeds is what is compared
    found: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for seed in range(3):
        for precision in found:
            cfg = config.smoke(config.load(CONFIGS / "fashion_mnist.yaml", [
                f"task.data_dir={REAL}", f"train.precision={precision}",
                f"train.seed={seed}", "device=cpu"]))
            with tempfile.TemporaryDirectory() as folder:
                run = driver.run(cfg, Path(folder), figures=False)
            assert run.status == "completed"
            found[precision].append(run.metrics["test_accuracy"])
    gap = abs(sum(found["bf16"]) - sum(found["fp32"])) / 3
    assert gap <= 0.005, found
    assert found["bf16"] != found["fp32"]  # it did round
