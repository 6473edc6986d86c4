"""The actions package as rasa-sdk sees it."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import sys
from pathlib import Path

import yaml
from rasa_sdk import Action, FormValidationAction
from rasa_sdk.executor import ActionExecutor

import actions

ROOT = Path(__file__).resolve().parents[2]


def test_executor_registers_exactly_the_domain_actions() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    ours = {name for name in executor.actions if not name.startswith("action_validate_")}
    assert ours == set(domain["actions"])


def test_no_module_shadows_an_installed_top_level_package() -> None:
    names = [info.name for info in pkgutil.iter_modules(actions.__path__)]
    assert names
    for name in names:
        spec = importlib.util.find_spec(name)
        assert (
            spec is None or Path(spec.origin or "").resolve().parent == Path(actions.__path__[0]).resolve()
        ), f"actions/{name}.py shares its name with an installed package"


def test_action_classes_are_concrete_and_named() -> None:
    for info in pkgutil.iter_modules(actions.__path__):
        module = importlib.import_module(f"actions.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Action) and cls.__module__ == module.__name__:
                assert not inspect.isabstract(cls)
                # form validation actions are named by Rasa's convention validate_<form>
                prefix = "validate_" if issubclass(cls, FormValidationAction) else "action_"
                assert cls().name().startswith(prefix), cls


def test_import_has_no_side_effects(tmp_path: Path) -> None:
    """Importing every module reads no data file and needs no environment variable."""
    import subprocess

    code = (
        "import importlib, pkgutil, sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == 'open' else None)\n"
        "import actions\n"
        "for info in pkgutil.iter_modules(actions.__path__):\n"
        "    importlib.import_module('actions.' + info.name)\n"
        "bad = [f for f in opened if f.endswith(('.yml', '.yaml', '.env'))]\n"
        "assert not bad, bad\n"
        "print('ok', len(opened))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok")
