"""What a command imports that it does not use costs every user every time: checked by
running it in a fresh process and listing the modules it loaded."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch._dynamo", "torch._inductor", "matplotlib", "sympy",
         "torch.fx.experimental.symbolic_shapes")


def loaded_after(code: str, heavy: tuple[str, ...] = HEAVY) -> set[str]:
    script = (code + "\nimport sys, json\nprint(json.dumps(sorted(m for m in sys.modules if "
              f"m.startswith({heavy!r}))))\n")
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True, timeout=120)
    return {name.split(".")[0] if name.startswith("matplotlib") else name
            for name in json.loads(found.stdout.strip().splitlines()[-1])}


def test_a_run_without_figures_imports_no_matplotlib(tmp_path):
    # a compare's cell: trained, its folder written, no figure drawn
    loaded = loaded_after(
        "from pathlib import Path\nfrom actcli import config\nfrom actcli.training import driver\n"
        "from actcli.config import shipped\n"
        "c = config.load(shipped.resolve('beans'), ['train.epochs=5'])\n"
        f"r = driver.run(c, Path({str(tmp_path)!r}), figures=False)\n"
        "assert r.status == 'completed', r.status")
    assert loaded == set()


def test_plotting_a_derivative_imports_no_sympy(tmp_path):
    loaded = loaded_after(
        "import sys\nfrom actcli.cli import main\n"
        f"sys.argv = ['actcli', 'plot', 'sigmoid', 'mish', '--grad', '--out', "
        f"{str(tmp_path / 'a.png')!r}]\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code\n",
        (*HEAVY, "actcli.config"))
    # it draws: matplotlib, nothing of the compiler, and no config (pydantic's models)
    assert loaded == {"matplotlib"}
    assert (tmp_path / "a.png").exists()


def test_a_stack_with_autograd_activations_imports_no_sympy(tmp_path):
    # mish and gelu's stacked backward goes through autograd (a vector-Jacobian product)
    loaded = loaded_after(
        "from pathlib import Path\nfrom actcli import config\nfrom actcli.training import driver\n"
        "from actcli.config import shipped\n"
        "cs = [config.load(shipped.resolve('compare_beans'), ['train.epochs=3', "
        "f'model.activation={a}']) for a in ('mish', 'gelu', 'selu')]\n"
        f"driver.run_stack(cs, [Path({str(tmp_path)!r}) / a for a in 'abc'])\n")
    assert loaded == set()


def test_landscapes_import_no_compiler(tmp_path):
    # the one-neuron plane and a classic surface: their optimizers are torch's kernels
    # without torch.optim (engine.updates), so nothing of the compiler is imported
    for args in (["rice_cooker", "--steps", "20"], ["--surface", "saddle", "--steps", "20"]):
        loaded = loaded_after(
            "import sys\nfrom actcli.cli import main\n"
            f"sys.argv = ['actcli', 'landscape', *{args!r}, '--out', "
            f"{str(tmp_path / 'l.png')!r}]\n"
            "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code\n")
        assert loaded == {"matplotlib"}, args  # it draws: matplotlib, nothing else heavy
