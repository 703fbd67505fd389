"""Secret inputs (cwltool:Secrets, e.g. a BossDB token): where their values may be, and where not.

A secret's plain value never enters saber's state (DAG files, plans, DAG run conf, XCom, logs,
summaries, the results store). `saber run` keeps it in an Airflow Variable, which Airflow
encrypts with its Fernet key, and every run's conf carries a reference instead:
``$saber:secret:<variable key>``. The step that needs it reads the Variable just before its
tool runs and hands the value to cwltool's secret store, so the tool sees it (through an
environment variable, in saber's tools) while cwltool's logs and the `docker run` command line
see a placeholder.

Each invocation (a `saber run`, a `saber cwl-runner`) keeps its own Variable and removes it when
it ends: its key is an HMAC, under a key private to the saber home, of the value and a scope
random per invocation. So two concurrent runs with one token never share a Variable (the first
to end would take it from the other), and the key says nothing about the token.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as _random

from saber.plan import REF_PREFIX, is_ref

__all__ = ["conceal_inputs", "env_secret", "new_scope", "reference", "reveal", "variable_key"]

_KEY_PREFIX = "saber_secret_"  # "secret" in the key: Airflow masks the value in task logs too


def env_secret(name: str) -> str | None:
    """A secret input's value from the environment when the job does not give it:
    ``SABER_SECRET_<NAME>``, and for SABER's ``token`` input also ``BOSSDB_TOKEN``."""
    value = os.environ.get(f"SABER_SECRET_{name.upper()}")
    if value is None and name == "token":
        value = os.environ.get("BOSSDB_TOKEN")
    return value or None


def _home_key() -> bytes:
    """A random key private to the saber home, made on first use."""
    from saber._private import private_file
    from saber.home import SaberHome

    return bytes.fromhex(private_file(SaberHome.from_env().secret_key, lambda: _random.token_hex(32)))


def new_scope() -> str:
    """A scope for one invocation's Variables."""
    return _random.token_hex(8)


def variable_key(value: str, *, scope: str) -> str:
    """The Variable that keeps ``value`` for the invocation ``scope``."""
    message = f"{scope}\0{value}".encode()
    return _KEY_PREFIX + hmac.new(_home_key(), message, hashlib.sha256).hexdigest()[:32]


def reference(value: str, *, scope: str) -> str:
    """The reference a run's conf carries in place of ``value`` (no database access)."""
    return REF_PREFIX + variable_key(value, scope=scope)


def reveal(ref: str) -> str:
    """The value a reference stands for, read from Airflow (inside a task: the Task SDK)."""
    key = ref[len(REF_PREFIX):]
    try:
        from airflow.sdk import Variable

        return Variable.get(key)
    except Exception as e:  # not in a task (saber tools test), or the Variable is gone
        try:
            from airflow.models import Variable as StoredVariable

            value = StoredVariable.get(key, default_var=None)
        except Exception:
            value = None
        if value is None:
            from saber.errors import SaberError

            raise SaberError(f"a secret input refers to Airflow Variable '{key}', which cannot be read "
                             f"({type(e).__name__}): the `saber run` that stored it removes it when it "
                             f"ends; run `saber run` again") from None
        return value


def conceal_inputs(inputs: dict, names: list[str], *, scope: str) -> tuple[dict, list[str]]:
    """``inputs`` with each secret input's value (from the job, else the environment) replaced by
    its reference in ``scope``, and the plain values to store."""
    out, plain = dict(inputs), []
    for name in names:
        value = out.get(name)
        if value is None:
            value = env_secret(name)
        if value is None or is_ref(value):
            continue
        plain.append(value)
        out[name] = reference(value, scope=scope)
    return out, plain
