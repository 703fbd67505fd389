"""The embedded backend's one module of Airflow/cadwyn/cwltool internals refuses versions it
was not checked against with one sentence (not an AttributeError mid-run)."""

from __future__ import annotations

import importlib.metadata

import pytest

from saber.errors import SaberError


def test_installed_versions_are_the_tested_ones() -> None:
    from saber.backends.embedded import _compat

    _compat.check_versions()


@pytest.mark.parametrize("package", ["apache-airflow-core", "cadwyn", "cwltool"])
def test_an_untested_version_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    from saber.backends.embedded import _compat

    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "99.0.1" if name == package else real(name))
    monkeypatch.delenv("SABER_ALLOW_UNTESTED", raising=False)
    with pytest.raises(SaberError, match=rf"checked against {package} {_compat.TESTED[package]}x, but 99.0.1 "
                                         rf"is installed.*SABER_ALLOW_UNTESTED=1"):
        _compat.check_versions()
    monkeypatch.setenv("SABER_ALLOW_UNTESTED", "1")
    _compat.check_versions()


def test_log_messages_go_to_stderr_not_to_the_results_on_stdout(tmp_path) -> None:
    """Airflow's logging configuration writes to stdout; saber's stdout carries results."""
    import os
    import subprocess
    import sys

    code = ("import logging; from saber.backends.embedded import _compat; "
            "logging.getLogger('saber.backends.embedded._docker').warning('a warning'); print('the result')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SABER_HOME": str(tmp_path / "home"),
                               "AIRFLOW_HOME": str(tmp_path / "airflow")})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "the result\n" and "a warning" in done.stderr
