"""The dense engine's own optimizer steps (engine/updates.py) against torch.optim's: the
same parameters bit for bit (same kernels, same machine and threads), state_dicts that load
into each other, and a train that never imports torch's compiler stack."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
import torch

from actcli.engine.updates import Update, runs_here

OPTIONS = {
    "adam": {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
             "amsgrad": False},
    "adamw": {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-7, "weight_decay": 0.01,
              "amsgrad": False},
    "sgd": {"lr": 0.05, "momentum": 0.0, "nesterov": False, "dampening": 0.0,
            "weight_decay": 0.0},
    "rmsprop": {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "weight_decay": 0.0},
}
VARIANTS = [
    ("adam", {}), ("adam", {"amsgrad": True, "weight_decay": 0.1}), ("adamw", {}),
    ("sgd", {}), ("sgd", {"momentum": 0.9}), ("sgd", {"momentum": 0.9, "nesterov": True,
                                                       "weight_decay": 0.01}),
    ("sgd", {"momentum": 0.5, "dampening": 0.3}),
    ("rmsprop", {}), ("rmsprop", {"momentum": 0.9, "weight_decay": 0.01}),
]


def torch_optimizer(name: str, options: dict, params: list[torch.Tensor]
                    ) -> torch.optim.Optimizer:
    o = dict(options)
    if name in ("adam", "adamw"):
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return cls(params, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                   weight_decay=o["weight_decay"], amsgrad=o["amsgrad"], fused=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"],
                               nesterov=o["nesterov"], dampening=o["dampening"],
                               weight_decay=o["weight_decay"], fused=True)
    return torch.optim.RMSprop(params, lr=o["lr"], alpha=o["alpha"], eps=o["eps"],
                               momentum=o["momentum"], weight_decay=o["weight_decay"])


def pairs(seed: int = 0) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    ours = [torch.randn(7, 5, generator=generator), torch.randn(5, generator=generator)]
    theirs = [t.clone().requires_grad_() for t in ours]
    return ours, theirs


def gradients(step: int, shapes: list[torch.Size]) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(100 + step)
    return [torch.randn(shape, generator=generator) for shape in shapes]


def step_both(update: Update, reference: torch.optim.Optimizer, ours: list[torch.Tensor],
              theirs: list[torch.Tensor], step: int) -> None:
    """One step of each with the same gradients (step ``step``'s)."""
    for ours_t, theirs_t, g in zip(ours, theirs, gradients(step, [t.shape for t in ours]),
                                   strict=True):
        ours_t.grad, theirs_t.grad = g.clone(), g.clone()
    update.step()
    reference.step()


def both(name: str, changes: dict) -> tuple[dict, Update, torch.optim.Optimizer,
                                            list[torch.Tensor], list[torch.Tensor]]:
    """(options, ours, torch's, our tensors, torch's tensors) of one optimizer variant."""
    options = {**OPTIONS[name], **changes}
    ours, theirs = pairs()
    return options, Update(name, options, ours), torch_optimizer(name, options, theirs), \
        ours, theirs


@pytest.mark.parametrize(("name", "changes"), VARIANTS)
def test_each_step_is_torch_optims_bit_for_bit(name, changes):
    _, update, reference, ours, theirs = both(name, changes)
    for step in range(6):
        step_both(update, reference, ours, theirs, step)
        for ours_t, theirs_t in zip(ours, theirs, strict=True):
            assert torch.equal(ours_t, theirs_t.detach()), (name, changes, step)


@pytest.mark.parametrize(("name", "changes"), VARIANTS)
def test_state_dicts_load_into_each_other(name, changes):
    options, update, reference, ours, theirs = both(name, changes)
    for step in range(3):
        step_both(update, reference, ours, theirs, step)
    # torch's state into a fresh Update, ours into a fresh torch optimizer: both continue
    # as the originals do
    moved_ours, moved_theirs = [t.clone() for t in ours], [t.detach().clone().requires_grad_()
                                                           for t in theirs]
    fresh_update = Update(name, options, moved_ours)
    fresh_update.load_state_dict(through_a_file(reference.state_dict()))
    fresh_reference = torch_optimizer(name, options, moved_theirs)
    fresh_reference.load_state_dict(through_a_file(update.state_dict()))
    g = gradients(9, [t.shape for t in ours])
    for group in (ours, [t for t in theirs], moved_ours, moved_theirs):
        for t, gt in zip(group, g, strict=True):
            t.grad = gt.clone()
    for optimizer in (update, reference, fresh_update, fresh_reference):
        optimizer.step()
    for a, b, c, d in zip(ours, theirs, moved_ours, moved_theirs, strict=True):
        assert torch.equal(a, b.detach()) and torch.equal(a, c) and torch.equal(a, d.detach())


def through_a_file(state: dict) -> dict:
    """A state as a checkpoint holds it: saved and loaded (no tensor shared)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_a_state_of_another_size_is_refused():
    ours, _ = pairs()
    update = Update("adam", OPTIONS["adam"], ours)
    other = Update("adam", OPTIONS["adam"], ours[:1])
    with pytest.raises(ValueError, match="over 1 tensors, not 2"):
        update.load_state_dict(other.state_dict())


def test_the_fused_kernels_run_on_this_cpu():
    params = [torch.zeros(3)]
    assert all(runs_here(name, params) for name in ("adam", "adamw", "sgd", "rmsprop"))
    assert not runs_here("lbfgs", params)


def loaded_by_train(args: list[str]) -> list[str]:
    """``actcli train ARGS`` in a fresh process, as a user runs it: the modules of torch's
    compiler stack and pyplot it loaded."""
    code = ("import sys, json\n"
            "from actcli.cli import main\n"
            f"sys.argv = ['actcli', 'train', *{args!r}]\n"
            "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('torch._dynamo', "
            "'torch._inductor', 'matplotlib.pyplot')))))\n")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, timeout=120)
    return json.loads(found.stdout.strip().splitlines()[-1])


def test_a_train_imports_neither_the_compiler_nor_pyplot(tmp_path):
    # the rice cooker as a user trains it, figures included; then the modules it loaded
    assert loaded_by_train(["rice_cooker", "--smoke", "-q", "--out", str(tmp_path)]) == []
    assert list(tmp_path.glob("*/fit.png"))  # it did draw its figures


def test_the_autograd_engines_cosine_is_torchs_scheduler_to_the_bit():
    # AutogradEngine steps its schedule itself (no torch.optim, so no compiler import): the
    # learning rate after every epoch equals torch's CosineAnnealingLR's, bit for bit
    from actcli.engine.autograd import AutogradEngine

    net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    ours = Update("adam", OPTIONS["adam"], list(net.parameters()))
    engine = AutogradEngine(net, lambda z, y: z.sum(), ours, cosine=7)
    dummy = torch.zeros(1, requires_grad=True)
    reference = torch.optim.SGD([dummy], lr=OPTIONS["adam"]["lr"])
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(reference, T_max=7)
    for epoch in range(1, 10):  # past T_max too, where torch turns back up
        engine.epoch_end(epoch)
        reference.step()
        schedule.step()
        assert ours.param_groups[0]["lr"] == reference.param_groups[0]["lr"], epoch
    state = engine.state()
    assert state["scheduler"]["last_epoch"] == 9
    again = AutogradEngine(net, lambda z, y: z.sum(),
                           Update("adam", OPTIONS["adam"], list(net.parameters())), cosine=7)
    again.load(state)
    again.epoch_end(10)
    engine.epoch_end(10)
    assert again.optimizer.param_groups[0]["lr"] == ours.param_groups[0]["lr"]


def test_a_batch_norm_run_trains_as_with_torch_optim_and_its_scheduler():
    # the autograd engine (batch norm) with Update and its own cosine against the same
    # network stepped by torch.optim (fused) and CosineAnnealingLR: equal bit for bit
    from actcli import config
    from actcli.components import losses, optimizers
    from actcli.engine import model
    from actcli.engine.autograd import AutogradEngine
    from actcli.engine.loop import Orders, run_fit
    from actcli.engine.updates import make

    cfg = config.load(None, ["model.hidden=[6]", "model.batch_norm=true",
                             "train.lr_schedule=cosine", "optimizer.lr=0.05"])
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(40, 1, generator=gen)
    y = (x > 0.2).float()
    trained = []
    for ours in (True, False):
        torch.manual_seed(0)
        net = model.build(cfg.model, (1,), 1)
        objective = losses.objective(cfg.loss, net.output, 1)
        if ours:
            engine = AutogradEngine(net, objective, make(cfg.optimizer, list(net.parameters())),
                                    cosine=5)
            assert isinstance(engine.optimizer, Update)
        else:
            optimizer = optimizers.build(cfg.optimizer, net.parameters())
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 5)
            engine = AutogradEngine(net, objective, optimizer)
            engine.epoch_end = lambda epoch, s=schedule: s.step()  # type: ignore[method-assign]
        run_fit(engine, x, y, epochs=5, batch_size=8,
                orders=Orders.one(torch.Generator().manual_seed(1)), evaluate=lambda: [{}])
        trained.append(net.state_dict())
    for key, value in trained[0].items():
        assert torch.equal(value, trained[1][key]), key


def test_a_batch_norm_train_imports_no_compiler(tmp_path):
    # batch norm trains with autograd: its optimizer is Update too, its schedule its own
    assert loaded_by_train(["beans", "--smoke", "-q", "--set", "model.hidden=[4]", "--set",
                            "model.batch_norm=true", "--set", "train.lr_schedule=cosine",
                            "--out", str(tmp_path)]) == []
    (run,) = tmp_path.iterdir()
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
