"""actcli summary: layer rows and parameter counts against counts worked out by hand."""

from __future__ import annotations

from actcli import config
from actcli.inspection.summary import summarize

from helpers import CONFIGS


def test_mlp_counts():
    found = summarize(config.load(CONFIGS / "fashion_mnist.yaml", ["model.dropout=0.2"]))
    # 784*256 + 256, 256*128 + 128, 128*10 + 10
    assert found.total == found.trainable == 200_960 + 32_896 + 1_290
    linears = [r for r in found.rows if r.layer.startswith("Linear")]
    assert [r.parameters for r in linears] == [200_960, 32_896, 1_290]
    assert [r.output_shape for r in linears] == [(256,), (128,), (10,)]
    assert any(r.note == "dropout p=0.2" for r in found.rows)


def test_cnn_shapes_and_counts():
    found = summarize(config.load(CONFIGS / "fashion_mnist_cnn.yaml"))
    rows = {r.layer: r for r in found.rows}
    assert rows["Conv2d(1 -> 32, 3x3)"].parameters == 1 * 32 * 9 + 32
    assert rows["Conv2d(32 -> 64, 3x3)"].parameters == 32 * 64 * 9 + 64
    assert rows["Conv2d(32 -> 64, 3x3)"].output_shape == (64, 14, 14)
    assert rows["Flatten"].output_shape == (64 * 7 * 7,)
    assert rows["Linear(3136 -> 128)"].parameters == 3136 * 128 + 128
    assert found.total == 320 + 18_496 + 401_536 + 1_290
    assert rows["Conv2d(1 -> 32, 3x3)"].note == "init kaiming_uniform"


def test_one_neuron_and_batch_norm():
    found = summarize(config.load(CONFIGS / "rice_cooker.yaml"))
    assert found.total == 2 and found.rows[-1].layer == "output: sigmoid"
    found = summarize(config.load(CONFIGS / "beans.yaml", ["model.hidden=[4]",
                                                           "model.batch_norm=true"]))
    assert found.total == (1 * 4 + 4) + (4 + 4) + (4 + 1)  # linear, batch norm (2 per unit), out
    assert [r.note for r in found.rows][:3] == ["init xavier_uniform", "batch norm", "activation"]


def test_cli(invoke):
    result = invoke("summary", CONFIGS / "fashion_mnist_cnn.yaml")
    assert result.exit_code == 0
    assert "total parameters: 421,642 (trainable 421,642)" in result.stdout
    bad = invoke("summary", CONFIGS / "beans.yaml", "--set", "model.kind=cnn")
    assert bad.exit_code == 2 and "cnn needs image input" in bad.stderr
