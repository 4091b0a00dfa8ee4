"""Remake every picture in docs/img/ from the shipped configs, in one command:

    python docs/make_figures.py            # about two minutes on 2 cores
    python docs/make_figures.py --only plot,landscape

Each picture is what the actcli command that makes it writes (run as a user runs it, in a
fresh process, into a temporary folder), copied under the name the pages use. The
Fashion-MNIST pictures need the files (task.data_dir or $ACTCLI_DATA_DIR); without them they
are left as they are, and the script says so.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
ACTCLI = [sys.executable, "-m", "actcli"]


def actcli(*args: str, cwd: Path) -> Path:
    """Run ``actcli ARGS`` in ``cwd``; the run or compare folder it made (the last line of a
    train or compare is the folder or its report), or ``cwd``."""
    done = subprocess.run([*ACTCLI, *args], cwd=cwd, capture_output=True, text=True,
                          check=False, env={**os.environ, "COLUMNS": "120"})
    if done.returncode != 0:
        raise SystemExit(f"actcli {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    made = [p for p in (cwd / "runs").iterdir()] if (cwd / "runs").is_dir() else []
    return max(made, key=lambda p: p.stat().st_mtime) if made else cwd


def copy(found: Path, name: str) -> None:
    shutil.copyfile(found, IMG / name)
    print(f"docs/img/{name}  <- {found.name}")


def trains(work: Path) -> None:
    run = actcli("train", "rice_cooker", "--quiet", cwd=work)
    copy(run / "fit.png", "rice_cooker_fit.png")
    copy(run / "learning_curves.png", "rice_cooker_curves.png")
    run = actcli("train", "beans", "--quiet", cwd=work)
    copy(run / "fit.png", "beans_fit.png")
    copy(run / "weights.png", "beans_weights.png")


def fashion_mnist(work: Path) -> None:
    if not os.environ.get("ACTCLI_DATA_DIR"):
        print("Fashion-MNIST pictures left as they are: set ACTCLI_DATA_DIR to the files")
        return
    run = actcli("train", "fashion_mnist", "--quiet", cwd=work)
    copy(run / "confusion_matrix.png", "fmnist_confusion.png")
    copy(run / "misclassified.png", "fmnist_misclassified.png")


def plots(work: Path) -> None:
    for name, args in (("relu_gelu_silu.png", ["relu", "gelu", "silu", "--grad", "--range",
                                               "-4", "4"]),
                       ("softmax.png", ["softmax", "--grad"]),
                       ("tanh_analytic.png", ["tanh", "--analytic", "--points", "-2,0,0.5"])):
        actcli("plot", *args, "--out", str(work / name), cwd=work)
        copy(work / name, name)


def landscapes(work: Path) -> None:
    for name, args in (
            ("rice_cooker_landscape.png", ["rice_cooker"]),
            ("surface_saddle.png", ["--surface", "saddle", "--from", "1,1e-6",
                                    "--optimizers", "sgd,adam", "--lr", "0.01"]),
            ("surface_himmelblau.png", ["--surface", "himmelblau", "--from", "-4,-4",
                                        "--from", "4,4", "--from", "-4,4", "--from", "4,-4",
                                        "--optimizers", "sgd,adam:lr=0.1", "--steps", "300"])):
        actcli("landscape", *args, "--out", str(work / name), cwd=work)
        copy(work / name, name)


def compares(work: Path) -> None:
    folder = actcli("compare", "compare_beans", cwd=work)
    for found, name in (("to_target.png", "compare_beans_to_target.png"),
                        ("curves.png", "compare_beans_curves.png"),
                        ("gradient_flow.png", "compare_beans_gradient_flow.png")):
        copy(folder / found, name)


def lessons(work: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "playground_lesson.py"),
                    "--seeds", "5", "--figures", str(IMG)], check=True,
                   stdout=subprocess.DEVNULL)
    print("docs/img/lesson_spiral.png, lesson_xor.png, lesson_circle.png  <- the lesson")


PARTS = {"train": trains, "fashion_mnist": fashion_mnist, "plot": plots,
         "landscape": landscapes, "compare": compares, "lesson": lessons}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated parts: {', '.join(PARTS)}")
    args = parser.parse_args()
    wanted = args.only.split(",") if args.only else list(PARTS)
    unknown = [w for w in wanted if w not in PARTS]
    if unknown:
        parser.error(f"--only: {', '.join(unknown)} not among {', '.join(PARTS)}")
    IMG.mkdir(parents=True, exist_ok=True)
    for part in wanted:
        with tempfile.TemporaryDirectory() as work:
            PARTS[part](Path(work))


if __name__ == "__main__":
    main()
