"""The README's Python quickstart runs as written, and its two commands are the ones the
project installs and CI runs."""

import argparse
import importlib
import os
import re
import shlex
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def test_readme_quickstart_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no ```python block"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})
    from PIL import Image

    with Image.open(tmp_path / "gradcam_overlay.png") as saved:  # the file the reader opens
        assert saved.size == (64, 64)


def _bash_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    return [block.strip() for block in blocks]


def _subcommands():
    from dermnet.cli import build_parser

    actions = build_parser()._actions
    return next(a for a in actions if isinstance(a, argparse._SubParsersAction)).choices


def test_the_readme_install_command_installs_extras_that_exist_and_runs_a_real_command():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    install = next(c for c in _bash_commands() if c.startswith("pip install"))
    pip, _, run = install.partition(" && ")
    extras = re.fullmatch(r'pip install -e "\.\[([\w,]+)\]"', pip)
    assert extras, pip
    assert set(extras[1].split(",")) <= set(pyproject["optional-dependencies"])
    program, command, *rest = shlex.split(run)
    assert (program, command, rest) == ("dermnet", "demo", [])
    module, _, name = pyproject["scripts"][program].partition(":")  # the console script
    from dermnet.cli import main

    assert getattr(importlib.import_module(module), name) is main
    demo = _subcommands()[command]
    options = {flag for action in demo._actions for flag in action.option_strings}
    listed = re.search(r"`dermnet demo --help` lists its options \(([^)]*)\)", README.read_text())
    assert listed, "README no longer says which options dermnet demo has"
    assert set(re.findall(r"`(--[\w-]+)`", listed[1])) <= options


def test_ci_runs_exactly_the_readme_test_command():
    test = next(c for c in _bash_commands() if c.startswith("scripts/"))
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    steps = [line.strip() for line in ci if line.strip() and not line.startswith("#")]
    assert steps[-1] == test  # the command CI ends with, as the README writes it
    assert os.access(ROOT / test.split()[0], os.X_OK)
    optional = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    installs = re.findall(r'-e "\.\[([\w,]+)\]"', (ROOT / test.split()[0]).read_text())
    assert installs, "the test command no longer installs the package"
    for extras in installs:
        assert set(extras.split(",")) <= set(optional)
