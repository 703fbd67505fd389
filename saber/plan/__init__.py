"""The ground floor: the Plan as typed data, its reference grammar and the run-conf wire format.

Importable at DAG-parse time: no cwltool, no Airflow.
"""

from saber.plan._refs import REF_PREFIX, SCATTER_SUFFIX, SECRETS_CLASS, is_ref, plan_upstreams, secret_names
from saber.plan._types import PLAN_TAG, PLAN_VERSION, Plan, Step, plan_digest
from saber.plan._wire import CONF_KEY, STUDY_KEY, check_conf, conf_inputs, run_conf, unwire, wire_safe

__all__ = [
    "CONF_KEY",
    "STUDY_KEY",
    "PLAN_TAG",
    "PLAN_VERSION",
    "Plan",
    "REF_PREFIX",
    "SCATTER_SUFFIX",
    "SECRETS_CLASS",
    "Step",
    "check_conf",
    "conf_inputs",
    "is_ref",
    "plan_digest",
    "plan_upstreams",
    "run_conf",
    "secret_names",
    "unwire",
    "wire_safe",
]
