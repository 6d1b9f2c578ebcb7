"""transformers' own common model tests, for the installed transformers version.

PyPI's source distribution of transformers ships `tests/*.py` (`ModelTesterMixin` in `test_modeling_common.py`,
`ConfigTester` in `test_configuration_common.py`, ...). `prepare()` downloads the sdist of the installed version once
with pip (into `<venv>/transformers-tests/<version>/`, or `$TRANSFORMERS_TESTS_CACHE/<version>/`), unpacks only its
`tests/` folder as the package `upstream_transformers_tests`, and `import_common_tests()` imports it.

The sdist does not ship the sub-packages those files import: `tests/exporters/` (`ExportTesterMixin`, a base of
`ModelTesterMixin` that adds the `torch.export` tests), `tests/generation/` (`GenerationTesterMixin`) and
`tests/utils/` (`config_common_kwargs`). Each one missing is registered as an absent module: the mixins as empty
classes (so the tests they would add are not run; `CommonTests.absent` lists them so that a test file can say so in
its skip reasons) and `config_common_kwargs` as a mapping that raises if a test reads it. Where a later sdist ships
them, the real ones are used.

    python tests/transformers_tests.py --prepare    # download and unpack once (scripts/setup_env.sh); prints the path

When the tests cannot be had (no network, no sdist for this version, `parameterized` not installed),
`import_common_tests()` raises `CommonTestsUnavailable` saying why; test files skip with that reason.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE = "upstream_transformers_tests"
COMPLETE = ".complete"  # written last: a folder without it is an interrupted unpack
DOWNLOAD_TIMEOUT_S = 600
# Modules the sdist's test files import relatively but the sdist does not ship, and the names they must provide.
ABSENT_MODULES = {
    "exporters.test_export": ("ExportTesterMixin",),
    "generation.test_utils": ("GenerationTesterMixin",),
    "utils.test_configuration_utils": ("config_common_kwargs",),
}


# pytest's config, set by tests/conftest.py: the markers of the upstream tests are registered on it before they are
# imported (the suite runs with --strict-markers; transformers registers them in its own pyproject.toml and conftest).
pytest_config: Any = None


class CommonTestsUnavailable(RuntimeError):
    """transformers' common tests cannot be had here; the message says why."""


@dataclass
class CommonTests:
    """The imported common tests of one transformers version.

    Attributes:
        version: the transformers version they belong to.
        path: the folder holding the `upstream_transformers_tests` package.
        modeling, configuration: the modules `test_modeling_common` and `test_configuration_common`.
        absent: the modules the sdist lacks (keys of `ABSENT_MODULES`) that were registered as absent.
    """

    version: str
    path: Path
    modeling: types.ModuleType
    configuration: types.ModuleType
    absent: list[str] = field(default_factory=list)


def cache_root() -> Path:
    """`$TRANSFORMERS_TESTS_CACHE` if set, else `<venv>/transformers-tests`: next to the transformers it belongs to
    (`sys.prefix` is the venv's root)."""
    return Path(os.environ.get("TRANSFORMERS_TESTS_CACHE") or Path(sys.prefix) / "transformers-tests")


def installed_version() -> str:
    from importlib.metadata import version

    return version("transformers")


def prepare(version: str | None = None, root: Path | None = None) -> Path:
    """The folder holding the package `upstream_transformers_tests` for transformers `version` (the installed one by
    default), downloaded and unpacked first if it is not there yet.

    Raises:
        CommonTestsUnavailable: the sdist could not be downloaded or holds no `tests/test_modeling_common.py`.
    """
    version = version or installed_version()
    target = (root or cache_root()) / version
    if (target / COMPLETE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{version}-") as work:
        sdist = download_sdist(version, Path(work) / "download")
        staged = Path(work) / "staged"
        unpack_tests(sdist, version, staged / PACKAGE)
        (staged / COMPLETE).write_text(f"transformers {version}: tests/ of {sdist.name}\n")
        try:
            staged.rename(target)
        except OSError:  # another process finished first
            if not (target / COMPLETE).is_file():
                shutil.rmtree(target, ignore_errors=True)
                staged.rename(target)
    return target


def download_sdist(version: str, folder: Path) -> Path:
    """`transformers-<version>.tar.gz` from the package index pip is configured with, into `folder`."""
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
        "--retries", "1", "--timeout", "30", "--dest", str(folder), f"transformers=={version}",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise CommonTestsUnavailable(
            f"downloading the sdist of transformers {version} took over {DOWNLOAD_TIMEOUT_S} s"
        ) from None
    sdists = sorted(folder.glob("transformers-*.tar.gz")) if folder.is_dir() else []
    if done.returncode != 0 or not sdists:
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR:")]
        reason = (errors or lines or [f"exit code {done.returncode}"])[-1]
        raise CommonTestsUnavailable(f"could not download the sdist of transformers {version} with pip ({reason})")
    return sdists[0]


def unpack_tests(sdist: Path, version: str, package: Path) -> None:
    """Extract `<top>/tests/**.py` of `sdist` into `package` (plus an `__init__.py` per folder)."""
    with tarfile.open(sdist) as archive:
        members = []
        for member in archive.getmembers():
            parts = Path(member.name).parts
            if len(parts) > 2 and parts[1] == "tests" and member.isfile() and member.name.endswith(".py"):
                inner = Path(*parts[2:])
                if ".." in inner.parts:
                    raise CommonTestsUnavailable(f"{sdist.name} holds an unsafe path {member.name!r}")
                members.append((member, inner))
        if not any(inner == Path("test_modeling_common.py") for _, inner in members):
            raise CommonTestsUnavailable(f"{sdist.name} holds no tests/test_modeling_common.py")
        for member, inner in members:
            destination = package / inner
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.extractfile(member) as source:
                destination.write_bytes(source.read())
    for folder in [package, *(p for p in package.rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()


class AbsentConfigCommonKwargs(Mapping):
    """Stands for `tests/utils/test_configuration_utils.config_common_kwargs`, which the sdist does not ship: any
    read fails, so no test can pass on an empty dict in its place."""

    def _absent(self) -> CommonTestsUnavailable:
        return CommonTestsUnavailable(
            "config_common_kwargs lives in transformers' tests/utils/test_configuration_utils.py, which the sdist "
            "does not ship"
        )

    def __getitem__(self, key: str) -> Any:
        raise self._absent()

    def __iter__(self):
        raise self._absent()

    def __len__(self) -> int:
        raise self._absent()


def absent_value(module: str, name: str) -> Any:
    if name == "config_common_kwargs":
        return AbsentConfigCommonKwargs()
    doc = f"Not shipped in transformers' sdist (tests/{module.replace('.', '/')}.py): its tests are not run."
    return type(name, (), {"__doc__": doc})


def register_absent_modules(package: Path) -> list[str]:
    """Register each module of `ABSENT_MODULES` the unpacked package lacks; returns their names."""
    absent = []
    for module, names in ABSENT_MODULES.items():
        if (package / (module.replace(".", "/") + ".py")).is_file():
            continue
        parent = module.rpartition(".")[0]
        parent_name = f"{PACKAGE}.{parent}"
        if parent_name not in sys.modules and not (package / parent).is_dir():
            namespace = types.ModuleType(parent_name)
            namespace.__path__ = []
            sys.modules[parent_name] = namespace
        stand_in = types.ModuleType(f"{PACKAGE}.{module}", "Not in transformers' sdist; see transformers_tests.py.")
        for name in names:
            setattr(stand_in, name, absent_value(module, name))
        sys.modules.setdefault(stand_in.__name__, stand_in)
        absent.append(module)
    return absent


def marker_names(package: Path) -> set[str]:
    """The pytest marker names the unpacked tests and transformers' `testing_utils` use (`mark.<name>`)."""
    import transformers.testing_utils

    sources = [Path(transformers.testing_utils.__file__), *package.rglob("*.py")]
    pattern = re.compile(r"\bmark\.([A-Za-z]\w*)")
    return {name for source in sources for name in pattern.findall(source.read_text(encoding="utf-8"))}


def register_markers(package: Path) -> None:
    """Register the upstream tests' pytest markers on `pytest_config` (when running under pytest)."""
    if pytest_config is None:
        return
    known = {line.split(":")[0].strip() for line in pytest_config.getini("markers")}
    for name in sorted(marker_names(package) - known):
        pytest_config.addinivalue_line("markers", f"{name}: a marker of transformers' own tests")


def import_common_tests(version: str | None = None) -> CommonTests:
    """`prepare` the common tests of the installed transformers and import them.

    Raises:
        CommonTestsUnavailable: they cannot be had or imported here (the message says why).
    """
    installed = installed_version()
    if version is not None and version != installed:
        raise CommonTestsUnavailable(f"transformers {installed} is installed, not {version}")
    try:
        importlib.import_module("parameterized")
    except ImportError:
        raise CommonTestsUnavailable(
            "transformers' test_modeling_common.py needs the `parameterized` package (pip install parameterized)"
        ) from None
    path = prepare(installed)
    loaded = sys.modules.get(PACKAGE)
    if loaded is not None and Path(loaded.__file__).parent != path / PACKAGE:
        raise CommonTestsUnavailable(f"{PACKAGE} is already imported from {loaded.__file__}, not from {path}")
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
    absent = register_absent_modules(path / PACKAGE)
    register_markers(path / PACKAGE)
    modeling = importlib.import_module(f"{PACKAGE}.test_modeling_common")
    configuration = importlib.import_module(f"{PACKAGE}.test_configuration_common")
    return CommonTests(installed, path, modeling, configuration, absent)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepare", action="store_true", help="download and unpack the tests; print their folder")
    parser.add_argument("--version", help="transformers version (default: the installed one)")
    args = parser.parse_args(argv)
    if not args.prepare:
        parser.print_help()
        return 2
    try:
        print(prepare(args.version))
    except CommonTestsUnavailable as error:
        print(f"transformers' common tests are unavailable: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
