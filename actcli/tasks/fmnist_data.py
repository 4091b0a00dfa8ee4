"""Where the Fashion-MNIST files come from: config, environment, cache, Debian, download.

Searched in order: ``task.data_dir``; ``$ACTCLI_DATA_DIR``; the user cache
(``$XDG_CACHE_HOME/actcli/fashion-mnist``, default ``~/.cache/...``);
``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``). A folder
counts when it has all four files, plain or gzipped. Failing that, the files are downloaded
into the cache from the official mirror and checked against their published md5.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from actcli.errors import DataError

MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FILES = {  # name -> md5 of the official .gz
    "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
}
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV = "ACTCLI_DATA_DIR"

Progress = Callable[[str, int, int], None]  # file name, bytes so far, total bytes


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "actcli" / "fashion-mnist"


def candidates(data_dir: str | None) -> list[tuple[str, Path]]:
    """(where it came from, folder) in search order."""
    found = []
    if data_dir:
        found.append(("task.data_dir", Path(data_dir).expanduser()))
    if os.environ.get(ENV):
        found.append((ENV, Path(os.environ[ENV]).expanduser()))
    found += [("user cache", cache_dir()), ("Debian dataset-fashion-mnist", DEBIAN_DIR)]
    return found


def files_in(folder: Path) -> dict[str, Path] | None:
    """The four files in ``folder`` (.gz preferred), or None if any is missing."""
    paths = {}
    for name in FILES:
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                paths[name] = candidate
                break
        else:
            return None
    return paths


def locate(data_dir: str | None, download: bool = True,
           progress: Progress | None = None) -> dict[str, Path]:
    """Paths of the four files; downloads them when allowed and nowhere else has them."""
    searched = candidates(data_dir)
    for origin, folder in searched:
        paths = files_in(folder)
        if paths:
            return paths
        if origin in ("task.data_dir", ENV):  # named by the user: never passed over
            what = "is not a folder holding" if not folder.is_dir() else "does not hold"
            where = f"${ENV}" if origin == ENV else origin
            raise DataError(
                f"{where}: {folder} {what} the four Fashion-MNIST files "
                f"({', '.join(f'{n}.gz' for n in FILES)})"
            )
    if download:
        try:
            return fetch(cache_dir(), progress)
        except DataError as err:
            reason = str(err)
    else:
        reason = "download is off (task.download: false)"
    where = "; ".join(f"{origin}: {folder}" for origin, folder in searched)
    raise DataError(
        f"Fashion-MNIST files not found ({where}) and {reason}. Put the four files "
        f"({', '.join(f'{n}.gz' for n in FILES)}) in one of those folders, e.g. set "
        f"{ENV}=/path/to/them, or install Debian's package: apt-get install dataset-fashion-mnist"
    )


def md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(folder: Path, progress: Progress | None = None, mirror: str = MIRROR,
          timeout: float = 20.0) -> dict[str, Path]:
    """Download the four files into ``folder`` and check their md5; never keep a bad one."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, expected in FILES.items():
        target = folder / f"{name}.gz"
        if not (target.is_file() and md5(target) == expected):
            partial = target.with_suffix(".gz.part")
            try:
                with urllib.request.urlopen(f"{mirror}{name}.gz", timeout=timeout) as response:
                    total = int(response.headers.get("Content-Length") or 0)
                    done = 0
                    with open(partial, "wb") as handle:
                        for block in iter(lambda: response.read(1 << 16), b""):
                            handle.write(block)
                            done += len(block)
                            if progress is not None:
                                progress(f"{name}.gz", done, total)
            except (urllib.error.URLError, OSError, TimeoutError) as err:
                partial.unlink(missing_ok=True)
                raise DataError(f"downloading {name}.gz failed ({err}); offline?") from None
            got = md5(partial)
            if got != expected:
                partial.unlink(missing_ok=True)
                raise DataError(f"{name}.gz: md5 {got} does not match the published "
                                f"{expected}; the download is corrupt and was deleted")
            os.replace(partial, target)
        paths[name] = target
    return paths
