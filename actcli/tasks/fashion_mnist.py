"""fashion_mnist: the real Zalando images, 60,000 + 10,000, 28x28 grey, 10 classes.

A validation split is carved from the training images (``val_size``, seeded) so model
selection never touches the test set; pixels are normalised with the mean and std of the
remaining training images. All data lives as single tensors (moved to the device once).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field
from torch import Tensor

from actcli.errors import DataError
from actcli.strict import Strict
from actcli.tasks import fmnist_data, idx
from actcli.tasks.base import ClassesPicture, FixedShape, Predict, Split, TaskData

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot")


class FashionMnistOptions(Strict):
    name: Literal["fashion_mnist"] = "fashion_mnist"
    data_dir: str | None = Field(
        None, description="folder with the four IDX files; null = $ACTCLI_DATA_DIR, the user "
        "cache, /usr/share/datasets/fashion-mnist, then download",
    )
    download: bool = Field(True, description="download the files when no folder has them")
    val_size: int = Field(5000, ge=0, le=50_000,
                          description="training images held out for validation")
    normalize: bool = Field(True, description="scale pixels by the training mean and std")
    seed: int = Field(0, ge=0, description="seed of the validation split")
    limit_train: int | None = Field(None, ge=1, description="use only this many training images")
    limit_test: int | None = Field(None, ge=1, description="use only this many test images")


def read_split(paths: dict[str, Any], prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) of ``train`` or ``t10k``, checked."""
    images = idx.read(paths[f"{prefix}-images-idx3-ubyte"], expect_dims=3)
    labels = idx.read(paths[f"{prefix}-labels-idx1-ubyte"], expect_dims=1)
    if len(images) != len(labels):
        raise DataError(f"{prefix}: {len(images)} images but {len(labels)} labels")
    if images.shape[1:] != (28, 28):
        raise DataError(f"{prefix}: images are {images.shape[1:]}, expected 28x28")
    if len(labels) and labels.max() > 9:
        raise DataError(f"{prefix}: label {labels.max()} is not a class 0..9")
    return images, labels


class FashionMnist(FixedShape):
    name = "fashion_mnist"
    doc = "Zalando's Fashion-MNIST: 28x28 clothing images, 10 classes (real data)"
    options = FashionMnistOptions
    n_outputs = 10
    input_shape = (1, 28, 28)
    picture_type = ClassesPicture
    final_names = ("test_loss", "test_accuracy")
    smoke: dict[str, Any] = {"limit_train": 500, "limit_test": 500, "val_size": 200}
    smoke_epochs = 1

    def train_size(self, options: FashionMnistOptions) -> int:
        size = 60_000 - options.val_size  # the training file holds 60,000 images
        return size if options.limit_train is None else min(size, options.limit_train)

    def load(self, options: FashionMnistOptions, progress: Any = None) -> TaskData:
        paths = fmnist_data.locate(options.data_dir, options.download, progress)
        train_images, train_labels = read_split(paths, "train")
        test_images, test_labels = read_split(paths, "t10k")
        if options.val_size >= len(train_labels):
            raise DataError(f"task.val_size: {options.val_size} leaves no training images "
                            f"(the file has {len(train_labels)})")
        order = torch.randperm(len(train_labels),
                               generator=torch.Generator().manual_seed(options.seed))
        val_idx, train_idx = order[:options.val_size], order[options.val_size:]
        if options.limit_train is not None:
            train_idx = train_idx[:options.limit_train]
        test_count = len(test_labels) if options.limit_test is None else options.limit_test
        pixels = torch.from_numpy(train_images)
        train_x = pixels[train_idx]
        mean, std = 0.0, 1.0
        if options.normalize:
            scaled = train_x.double() / 255
            mean, std = float(scaled.mean()), float(scaled.std())

        def tensor(images: Tensor) -> Tensor:  # uint8 (N, 28, 28) -> float (N, 1, 28, 28)
            x = images.to(torch.get_default_dtype()).div_(255).sub_(mean).div_(std)
            return x.unsqueeze(1)

        labels = torch.from_numpy(train_labels.astype(np.int64))
        test_raw = torch.from_numpy(test_images[:test_count])
        val = Split(tensor(pixels[val_idx]), labels[val_idx]) if options.val_size else None
        return TaskData(
            Split(tensor(train_x), labels[train_idx]),
            Split(tensor(test_raw), torch.from_numpy(test_labels[:test_count].astype(np.int64))),
            10, val=val,
            info={"train_samples": len(train_idx), "val_samples": options.val_size,
                  "test_samples": test_count, "pixel_mean": mean, "pixel_std": std,
                  "files": {k: str(v) for k, v in paths.items()}},
            context={"test_images": test_raw},
        )

    def extras(self, options: Any, data: TaskData, predict: Predict) -> dict[str, Any]:
        return {}

    def picture(self, options: Any, data: TaskData, predict: Predict) -> ClassesPicture:
        """Confusion matrix on the test set and the first misclassified test images."""
        predicted = torch.cat([predict(data.test.x[i:i + 4096]).argmax(dim=1)
                               for i in range(0, len(data.test), 4096)])
        truth = data.test.y.cpu()
        confusion = torch.zeros(10, 10, dtype=torch.int64)
        confusion.index_put_((truth, predicted), torch.ones_like(truth), accumulate=True)
        wrong = torch.nonzero(predicted != truth).flatten()[:24]
        return ClassesPicture(confusion.numpy(), CLASSES,
                              data.context["test_images"][wrong].numpy(), truth[wrong].numpy(),
                              predicted[wrong].numpy())


TASK = FashionMnist()
