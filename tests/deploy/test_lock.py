"""requirements/lock.txt (the image's) and requirements/dev.txt (the venv's and CI's) in step
with pyproject.toml: every dependency it names is pinned, at a version its specifier allows,
with hashes; and so is every [build-system] requirement in requirements/build.txt, which the
venv and the image build the project with (no build isolation, so nothing unpinned is fetched).
A dependency changed in pyproject.toml without `make lock` fails here, by name."""

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
BUILD = ROOT / "requirements/build.txt"
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
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    config = pyproject["project"]
    extras: dict[str, list[str]] = config["optional-dependencies"]
    return {"runtime": config["dependencies"],
            "dev": config["dependencies"] + extras["dev"] + extras["bench"],
            "build": pyproject["build-system"]["requires"]}


def advice(path: Path, problems: list[str]) -> str:
    return (f"{path.relative_to(ROOT)} is out of step with pyproject.toml; run `make lock` "
            "and commit requirements/:\n  " + "\n  ".join(problems))


def test_the_runtime_lock_pins_every_runtime_dependency():
    # when the runtime lock is compared with pyproject
    problems = out_of_step(project()["runtime"], locked(RUNTIME.read_text()))
    # then
    assert problems == [], advice(RUNTIME, problems)


def test_the_dev_lock_pins_every_dependency_and_extra():
    # when the dev lock is compared with pyproject
    problems = out_of_step(project()["dev"], locked(DEV.read_text()))
    # then
    assert problems == [], advice(DEV, problems)


def test_the_build_lock_pins_every_build_requirement():
    # when the build lock is compared with pyproject
    problems = out_of_step(project()["build"], locked(BUILD.read_text()))
    # then
    assert problems == [], advice(BUILD, problems)


def project_installs(text: str) -> list[str]:
    """The `pip install` commands of a Makefile or Dockerfile that install the project itself."""
    commands = re.split(r"\n|&&|;", text.replace("\\\n", " "))
    return [command.strip() for command in commands
            if re.search(r"\bpip install\b", command)
            and re.search(r"\s(?:-e\s+)?\.(?:\s|$)", command)]


def test_the_project_is_built_with_the_pinned_setuptools():
    # given the venv's and the image's recipes
    for name, lock in (("Makefile", "$(LOCK_BUILD)"), ("Dockerfile", "requirements/build.txt")):
        text = (ROOT / name).read_text()
        # then each installs the build lock with hashes
        assert re.search(r"pip install [^\n]*--require-hashes[^\n]*-r " + re.escape(lock),
                         text.replace("\\\n", " ")), f"{name} does not install {lock} with hashes"
        # and builds the project without isolation, so pip fetches no build requirement itself
        installs = project_installs(text)
        assert installs, f"{name}: no install of the project found"
        isolated = [command for command in installs if "--no-build-isolation" not in command]
        assert isolated == [], f"{name}: build isolation would fetch setuptools unpinned"


def test_the_image_runs_the_versions_the_tests_ran():
    # given both locks
    runtime, dev = locked(RUNTIME.read_text()), locked(DEV.read_text())
    # when their pins are compared by name
    differ = {name: (pins, dev.get(name)) for name, pins in runtime.items()
              if [v for v, _ in pins] != [v for v, _ in dev.get(name, [])]}
    # then each runtime pin is the dev lock's pin of the same name
    assert differ == {}, "the runtime and dev locks differ; run `make lock`"


def test_every_pin_has_a_hash():
    # pip's --require-hashes refuses the whole file otherwise; say which pin, and why, here.
    # given each lock
    for path in (RUNTIME, DEV, BUILD):
        # when its pins without a hash are gathered
        unhashed = [name for name, pins in locked(path.read_text()).items()
                    if any(not hashes for _, hashes in pins)]
        # then there are none
        assert unhashed == [], f"{path.name}: pins without --hash: {unhashed}; run `make lock`"


def test_a_dependency_added_or_tightened_without_make_lock_is_named():
    # Given a lock, when pyproject names a package it lacks or a version it does not pin,
    # then each is reported (pure logic: the check itself can fail).
    lock = locked("redis==5.0.1 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    assert out_of_step(["redis>=5", "redis>=6", "newlib>=1"], lock) == [
        "redis==5.0.1 does not satisfy '>=6'", "newlib is not in the lock"]
