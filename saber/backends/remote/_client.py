"""A thin typed client of Airflow's REST API v2: exactly the endpoints the airflow backend uses.

The backend's hook: it owns the connection (``RestSession``) and knows nothing about plans or
runs beyond their ids.
"""

from __future__ import annotations

from typing import Any

import httpx

from saber.backends._poll import poll
from saber.backends.remote._session import RestSession, seg
from saber.errors import BackendUnavailable

__all__ = ["AirflowClient"]


class AirflowClient(RestSession):
    """The endpoints saber uses, each a method: a read answers None for what does not exist,
    a write raises the session's one-sentence errors (``RestSession``)."""

    def check_access(self) -> None:
        """A cheap authenticated read: wrong credentials or no access fail here, not mid-run."""
        self.request("GET", "/dags", "read DAGs", params={"limit": 1})

    def config_value(self, section: str, option: str) -> str | None:
        """A setting of the deployment, or None where ``[api] expose_config`` hides it."""
        response = self.request("GET", f"/config/section/{seg(section)}/option/{seg(option)}",
                                "read the configuration", none_for=(403, 404, 406))
        if response is None:
            return None
        for section_ in self.json(response).get("sections") or []:
            for item in section_.get("options") or []:
                if item.get("key") == option:
                    return str(item.get("value"))
        return None

    def dag(self, dag_id: str) -> dict | None:
        response = self.request("GET", f"/dags/{seg(dag_id)}", "read DAGs", none_for=(404,))
        return self.json(response) if response is not None else None

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.request("PATCH", f"/dags/{seg(dag_id)}", "pause or unpause DAGs", json={"is_paused": paused})

    def reparse(self, file_token: str) -> bool:
        """Ask the DAG processor to parse a DAG's file now; False where that is not allowed."""
        response = self.request("PUT", f"/parseDagFile/{seg(file_token)}", "ask for a DAG file to be re-parsed",
                                none_for=(403, 404, 405))
        return response is not None

    def import_errors(self, file_name: str) -> list[dict]:
        """The deployment's import errors of files named ``file_name`` (any folder), newest
        first; empty where saber may not read them."""
        errors = self.pages("/importErrors", "import_errors", "read import errors",
                            {"filename_pattern": file_name, "order_by": "-timestamp"}, none_for=(403,))
        return [e for e in errors if str(e.get("filename", "")).replace("\\", "/").rpartition("/")[2] == file_name]

    def pool(self, name: str) -> dict | None:
        response = self.request("GET", f"/pools/{seg(name)}", "read pools", none_for=(404,))
        return self.json(response) if response is not None else None

    def create_pool(self, name: str, slots: int, description: str) -> None:
        self.request("POST", "/pools", "create pools", none_for=(409,),
                     json={"name": name, "slots": slots, "description": description})

    def set_variable(self, key: str, value: str, description: str) -> bool:
        """Create or update a Variable; whether Airflow stored it encrypted (with a Fernet key)."""
        body = {"key": key, "value": value, "description": description}
        response = self.request("POST", "/variables", "write Variables", json=body, none_for=(409,))
        if response is None:
            response = self.request("PATCH", f"/variables/{seg(key)}", "write Variables", json=body)
        assert response is not None
        return self.json(response).get("is_encrypted") is not False

    def delete_variable(self, key: str) -> None:
        self.request("DELETE", f"/variables/{seg(key)}", "delete Variables", none_for=(404,))

    def trigger(self, dag_id: str, run_id: str, conf: dict) -> bool:
        """Create a run; False when the DAG already has a run with this id.

        Not retried blindly: after a lost answer the run may exist, so look before sending again."""
        path = f"/dags/{seg(dag_id)}/dagRuns"
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf}
        sent: list[bool] = []

        def attempt() -> bool | None:
            if sent and (run := self.dag_run(dag_id, run_id)) is not None:
                return run.get("conf") == conf  # ours, from an attempt whose answer was lost
            sent.append(True)
            try:
                response = self.send("POST", path, json=body)
            except BackendUnavailable as e:
                if isinstance(e.__cause__, httpx.TransportError):
                    return None
                raise
            if response.status_code == 409:
                return False if len(sent) == 1 else None
            if response.status_code >= 500:
                return None
            self.check(response, "POST", path, "trigger DAG runs")
            return True

        created = poll(attempt, timeout=self._retry_s, first=0.5, most=4.0, sleep=self._sleep)
        if created is None:
            raise BackendUnavailable(f"Airflow at {self.shown} did not create run {run_id!r} of DAG {dag_id!r} "
                                     f"within {self._retry_s:.0f} s (no connection or HTTP 5xx)")
        return created

    def dag_run(self, dag_id: str, run_id: str) -> dict | None:
        response = self.request("GET", f"/dags/{seg(dag_id)}/dagRuns/{seg(run_id)}", "read DAG runs",
                                none_for=(404,))
        return self.json(response) if response is not None else None

    def unfinished_runs(self, dag_id: str) -> dict[str, str]:
        """run_id -> state of the DAG's queued and running runs."""
        runs = self.pages(f"/dags/{seg(dag_id)}/dagRuns", "dag_runs", "read DAG runs",
                          {"state": ["queued", "running"]})
        return {run["dag_run_id"]: run["state"] for run in runs}

    def patch_dag_run(self, dag_id: str, run_id: str, body: dict, action: str) -> dict | None:
        """Set a run's state or note; None when the run does not exist."""
        response = self.request("PATCH", f"/dags/{seg(dag_id)}/dagRuns/{seg(run_id)}", action, json=body,
                                none_for=(404,))
        return self.json(response) if response is not None else None

    def xcom_count(self, dag_id: str, run_id: str, key: str) -> int:
        """How many task instances of a run pushed an XCom with this key (values are not listed)."""
        response = self.request("GET", f"/dags/{seg(dag_id)}/dagRuns/{seg(run_id)}/taskInstances/~/xcomEntries",
                                "read XComs", params={"xcom_key": key, "limit": 1}, none_for=(404,))
        return int(self.json(response).get("total_entries") or 0) if response is not None else 0

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return list(self.pages(f"/dags/{seg(dag_id)}/dagRuns/{seg(run_id)}/taskInstances", "task_instances",
                               "read task instances"))

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> Any:
        """An XCom's value as the task pushed it (JSON), None when there is none."""
        response = self.request("GET", f"/dags/{seg(dag_id)}/dagRuns/{seg(run_id)}/taskInstances/{seg(task_id)}"
                                       f"/xcomEntries/{seg(key)}", "read XComs",
                                params={"map_index": map_index}, none_for=(404,))
        return self.json(response).get("value") if response is not None else None

    def log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> list | None:
        """A try's task log as records (JSON), None when there is none."""
        response = self.request("GET", f"/dags/{seg(dag_id)}/dagRuns/{seg(run_id)}/taskInstances/{seg(task_id)}"
                                       f"/logs/{int(try_number)}", "read task logs",
                                params={"map_index": map_index, "full_content": "true"}, none_for=(404,))
        return list(self.json(response).get("content") or []) if response is not None else None
