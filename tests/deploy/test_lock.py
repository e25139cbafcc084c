"""requirements/lock.txt (the image's) and requirements/dev.txt (the venv's and CI's) in step
with pyproject.toml: every dependency it names is pinned, at a version its specifier allows,
with hashes. A dependency changed in pyproject.toml without `make lock` fails here, by name."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
RUNTIME, DEV = ROOT / "requirements/lock.txt", ROOT / "requirements/dev.txt"
ENVIRONMENT: dict[str, str] = {**default_environment(), "python_version": "3.11",
                               "python_full_version": "3.11.9", "sys_platform": "linux",
                               "platform_system": "Linux", "platform_machine": "x86_64",
                               "implementation_name": "cpython",
                               "platform_python_implementation": "CPython"}
PIN = re.compile(r"^(?P<requirement>[^\s#][^\\]*?)\s*(?:\\|$)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def locked(text: str) -> dict[str, list[tuple[Version, str]]]:
    """Each pinned name with the (version, hashes) that apply to CPython 3.11 on Linux x86_64
    (a universal lock may pin other versions for other Pythons under markers)."""
    found: dict[str, list[tuple[Version, str]]] = {}
    entries = re.split(r"\n(?=\S)", text)
    for entry in entries:
        match = PIN.match(entry)
        if not match:
            continue
        requirement = Requirement(match["requirement"])
        if requirement.marker and not requirement.marker.evaluate(ENVIRONMENT):
            continue
        [spec] = requirement.specifier
        assert spec.operator == "==", f"{requirement} is not pinned to one version"
        found.setdefault(canonicalize_name(requirement.name), []).append(
            (Version(spec.version), " ".join(HASH.findall(entry))))
    return found


def out_of_step(requirements: list[str], lock: dict[str, list[tuple[Version, str]]]) -> list[str]:
    """What the lock lacks for these pyproject requirements, each said in a line."""
    problems = []
    for line in requirements:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name == "transfer-resolver":  # the project's own extras, listed on their own
            continue
        pins = lock.get(name)
        if not pins:
            problems.append(f"{requirement.name} is not in the lock")
            continue
        for version, _ in pins:
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{requirement.name}=={version} does not satisfy "
                                f"'{requirement.specifier}'")
    return problems


def project() -> dict[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras: dict[str, list[str]] = config["optional-dependencies"]
    return {"runtime": config["dependencies"],
            "dev": config["dependencies"] + extras["dev"] + extras["bench"]}


def advice(path: Path, problems: list[str]) -> str:
    return (f"{path.relative_to(ROOT)} is out of step with pyproject.toml; run `make lock` "
            "and commit requirements/:\n  " + "\n  ".join(problems))


def test_the_runtime_lock_pins_every_runtime_dependency():
    problems = out_of_step(project()["runtime"], locked(RUNTIME.read_text()))
    assert problems == [], advice(RUNTIME, problems)


def test_the_dev_lock_pins_every_dependency_and_extra():
    problems = out_of_step(project()["dev"], locked(DEV.read_text()))
    assert problems == [], advice(DEV, problems)


def test_the_image_runs_the_versions_the_tests_ran():
    # Given both locks, then each runtime pin is the dev lock's pin of the same name.
    runtime, dev = locked(RUNTIME.read_text()), locked(DEV.read_text())
    differ = {name: (pins, dev.get(name)) for name, pins in runtime.items()
              if [v for v, _ in pins] != [v for v, _ in dev.get(name, [])]}
    assert differ == {}, "the runtime and dev locks differ; run `make lock`"


def test_every_pin_has_a_hash():
    # pip's --require-hashes refuses the whole file otherwise; say which pin, and why, here.
    for path in (RUNTIME, DEV):
        unhashed = [name for name, pins in locked(path.read_text()).items()
                    if any(not hashes for _, hashes in pins)]
        assert unhashed == [], f"{path.name}: pins without --hash: {unhashed}; run `make lock`"


def test_a_dependency_added_or_tightened_without_make_lock_is_named():
    # Given a lock, when pyproject names a package it lacks or a version it does not pin,
    # then each is reported (pure logic: the check itself can fail).
    lock = locked("redis==5.0.1 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    assert out_of_step(["redis>=5", "redis>=6", "newlib>=1"], lock) == [
        "redis==5.0.1 does not satisfy '>=6'", "newlib is not in the lock"]
