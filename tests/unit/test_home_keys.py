"""Keys a saber home keeps: Airflow's Fernet key (one per home, every process agrees) and the
key naming secret inputs' Variables."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

from saber.backends.embedded import airflow_env
from saber.backends.embedded._home import fernet_key
from saber.home import SaberHome


def test_fernet_key_is_made_once_and_private(tmp_path: Path) -> None:
    home = SaberHome(tmp_path / "home")
    key = fernet_key(home)
    assert len(base64.urlsafe_b64decode(key)) == 32 and fernet_key(home) == key
    path = home.airflow_home / "fernet.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert airflow_env(home)["AIRFLOW__CORE__FERNET_KEY"] == key
    assert fernet_key(SaberHome(tmp_path / "other")) != key


def test_fernet_key_keeps_the_one_airflow_cfg_has(tmp_path: Path) -> None:
    home = SaberHome(tmp_path / "home")
    home.airflow_home.mkdir(parents=True)
    old = base64.urlsafe_b64encode(b"k" * 32).decode()
    (home.airflow_home / "airflow.cfg").write_text(f"[core]\nfernet_key = {old}\nexecutor = LocalExecutor\n")
    assert fernet_key(home) == old


def test_secret_references_are_stable_and_say_nothing(tmp_path: Path, monkeypatch) -> None:
    from saber.execution._secrets import conceal_inputs, new_scope, reference
    from saber.plan import REF_PREFIX, is_ref

    monkeypatch.setenv("SABER_HOME", str(tmp_path / "home"))
    scope = new_scope()
    ref = reference("s3cr3t", scope=scope)
    assert is_ref(ref) and ref == reference("s3cr3t", scope=scope) != reference("other", scope=scope)
    assert "s3cr3t" not in ref and scope not in ref and ref.startswith(REF_PREFIX + "saber_secret_")
    # another invocation, one token: its own Variable, which it removes without touching this one
    assert reference("s3cr3t", scope=new_scope()) != ref
    monkeypatch.setenv("SABER_HOME", str(tmp_path / "elsewhere"))
    assert reference("s3cr3t", scope=scope) != ref  # keyed per home
    monkeypatch.setenv("BOSSDB_TOKEN", "from-env")
    inputs, plain = conceal_inputs({"token": None, "n": 1}, ["token"], scope=scope)
    assert plain == ["from-env"] and inputs == {"token": reference("from-env", scope=scope), "n": 1}
    inputs, plain = conceal_inputs({"token": "job", "key": ref}, ["token", "key"], scope=scope)
    assert plain == ["job"] and inputs["key"] == ref  # a reference stays one
