"""The connection to an Airflow api-server: credentials, retries, paging and the one-sentence
errors. ``AirflowClient`` (``_client``) adds the typed endpoints on top."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from saber.backends._poll import poll
from saber.errors import BackendUnavailable, SaberError

__all__ = ["RestSession", "seg"]

log = logging.getLogger(__name__)

_API = "/api/v2"
_PAGE = 100  # [api] maximum_page_limit's default: a larger limit would be cut to it anyway
_TOKEN_ENV, _USER_ENV, _PASSWORD_ENV = "SABER_AIRFLOW_TOKEN", "SABER_AIRFLOW_USERNAME", "SABER_AIRFLOW_PASSWORD"


def seg(value: str) -> str:
    """One path segment: a run id may hold ':' or '+', which must not split or alter the path."""
    return quote(str(value), safe="")


class RestSession:
    """Airflow's REST API v2 at ``url`` (the api-server's base URL).

    Credentials come from the environment only and stay in memory: ``$SABER_AIRFLOW_TOKEN``
    (a ready JWT), else ``$SABER_AIRFLOW_USERNAME``/``$SABER_AIRFLOW_PASSWORD`` exchanged at
    ``POST /auth/token`` (again, once, when a token expires mid-session). Reads and idempotent
    writes ride out connection errors and 5xx answers for ``retry_s`` seconds; a POST that
    creates something is sent once. Errors are one sentence naming the URL and what failed:
    ``BackendUnavailable`` when Airflow cannot be reached, refuses the credentials or lacks a
    permission, else ``SaberError``.
    """

    def __init__(self, url: str, *, transport: httpx.BaseTransport | None = None, timeout: float = 30.0,
                 retry_s: float = 20.0, sleep: Callable[[float], None] = time.sleep) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SaberError(f"the Airflow URL must look like http://HOST:PORT, not {url!r}")
        path = parts.path.rstrip("/").removesuffix(_API)  # the API's own URL works too
        # Without user:password@ (credentials come from the environment only): messages show it.
        self.url = self.shown = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], path, "", ""))
        self._http = httpx.Client(base_url=self.url, transport=transport, timeout=timeout,
                                  headers={"Accept": "application/json"})
        self._retry_s, self._sleep = retry_s, sleep
        self._signed_in = False
        self._renewable = False  # a token of our own exchange can be exchanged again

    # -- credentials ---------------------------------------------------------------------------

    def authenticate(self) -> None:
        """Take the token from the environment, or exchange the user name and password for one."""
        token = os.environ.get(_TOKEN_ENV)
        self._renewable = not token
        if not token:
            token = self._exchange()
        self._http.headers["Authorization"] = f"Bearer {token}"
        self._signed_in = True

    def _exchange(self) -> str:
        user, password = os.environ.get(_USER_ENV), os.environ.get(_PASSWORD_ENV)
        if not user or not password:
            raise BackendUnavailable(f"saber has no credentials for Airflow at {self.shown}: set ${_TOKEN_ENV}, "
                                     f"or ${_USER_ENV} and ${_PASSWORD_ENV}")
        body = {"username": user, "password": password}
        response = self._retrying(lambda: self._http.post("/auth/token", json=body))
        if response.status_code in (400, 401):
            raise BackendUnavailable(f"Airflow at {self.shown} refused the user name and password in "
                                     f"${_USER_ENV} and ${_PASSWORD_ENV} (HTTP {response.status_code})")
        if response.status_code in (404, 405):
            raise BackendUnavailable(f"{self.shown} has no /auth/token to sign in at (HTTP {response.status_code}): "
                                     f"is it the URL of an Airflow 3 api-server?")
        self.check(response, "POST", "/auth/token", "sign in")
        token = self.json(response).get("access_token")
        if not isinstance(token, str) or not token:
            raise SaberError(f"Airflow at {self.shown} answered POST /auth/token without an access_token")
        return token

    # -- transport -----------------------------------------------------------------------------

    def _retrying(self, send: Callable[[], httpx.Response]) -> httpx.Response:
        """``send()`` until it gets an answer below 500, for at most ``retry_s`` seconds."""
        last: list[httpx.Response | Exception] = []

        def attempt() -> httpx.Response | None:
            try:
                response = send()
            except httpx.TransportError as e:
                last[:] = [e]
                return None
            last[:] = [response]
            return response if response.status_code < 500 else None

        found = poll(attempt, timeout=self._retry_s, first=0.5, most=4.0, sleep=self._sleep)
        if found is not None:
            return found
        if isinstance(last[0], Exception):
            raise self._unreachable(last[0]) from last[0]
        return last[0]

    def _once(self, send: Callable[[], httpx.Response]) -> httpx.Response:
        try:
            return send()
        except httpx.TransportError as e:
            raise self._unreachable(e) from e

    def _unreachable(self, error: Exception) -> BackendUnavailable:
        reason = " ".join(str(error).split()) or type(error).__name__
        return BackendUnavailable(f"cannot reach Airflow at {self.shown} ({reason})")

    def send(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> httpx.Response:
        """One call to ``/api/v2`` + ``path``, signed in (again, once, if the token expired).
        GET, PATCH and PUT are idempotent: retried through connection errors and 5xx."""
        if not self._signed_in:
            self.authenticate()
        retry = method != "POST"

        def call() -> httpx.Response:
            return self._http.request(method, _API + path, params=params, json=json)

        response = (self._retrying if retry else self._once)(call)
        if _token_refused(response) and self._renewable:
            log.info("Airflow at %s no longer takes saber's token: signing in again", self.shown)
            self.authenticate()
            response = (self._retrying if retry else self._once)(call)
        return response

    def request(self, method: str, path: str, action: str, *, params: dict | None = None, json: Any = None,
                none_for: tuple[int, ...] = ()) -> httpx.Response | None:
        """``send``, checked: the answer, or None for a status in ``none_for``. ``action`` says
        what the call does ("trigger DAG runs"): in a 403's sentence, saber "may not" do it."""
        response = self.send(method, path, params=params, json=json)
        if response.status_code in none_for:
            return None
        self.check(response, method, path, action)
        return response

    def check(self, response: httpx.Response, method: str, path: str, action: str) -> None:
        """Nothing for a success; else the error sentence, raised."""
        code = response.status_code
        if code < 400:
            return
        if _token_refused(response):
            whose = f"the token in ${_TOKEN_ENV}" if not self._renewable else "saber's token"
            raise BackendUnavailable(f"Airflow at {self.shown} refused {whose} (HTTP {code} for {method} {path}: "
                                     f"{_detail(response)}): it has expired or was made for another deployment")
        if code == 403:
            raise BackendUnavailable(f"the Airflow user saber signs in as may not {action} on {self.shown} "
                                     f"(HTTP 403 for {method} {path})")
        raise SaberError(f"Airflow at {self.shown} could not {action} (HTTP {code} for {method} {path}: "
                         f"{_detail(response)})")

    def pages(self, path: str, key: str, action: str, params: dict | None = None, *,
              none_for: tuple[int, ...] = ()) -> Iterator[dict]:
        """Every item of a paged list (``{key: [...], "total_entries": N}``); nothing for a
        status in ``none_for``."""
        offset = 0
        while True:
            response = self.request("GET", path, action, params={**(params or {}), "limit": _PAGE, "offset": offset},
                                    none_for=none_for)
            if response is None:
                return
            page = self.json(response)
            items = page.get(key) or []
            yield from items
            offset += len(items)
            total = page.get("total_entries")
            if not items or (total is not None and offset >= total) or (total is None and len(items) < _PAGE):
                return

    def json(self, response: httpx.Response) -> dict:
        """The answer's JSON object (every endpoint saber uses answers one)."""
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise SaberError(f"Airflow at {self.shown} answered {response.request.method} "
                             f"{response.request.url.path} with something other than a JSON object "
                             f"(HTTP {response.status_code})")
        return data

    def close(self) -> None:
        self._http.close()


def _detail(response: httpx.Response) -> str:
    """The server's reason in one line. Of a validation error only its messages: FastAPI
    echoes the input beside them, and the input may be a secret."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = response.text
    if isinstance(detail, list):
        detail = "; ".join(str(d.get("msg", "")) if isinstance(d, dict) else str(d) for d in detail)
    elif isinstance(detail, dict):  # a database error: its reason (the statement is hidden anyway)
        detail = detail.get("reason") or detail.get("message")
    text = " ".join(str(detail or response.reason_phrase).split())
    return text[:300].rstrip(".")


def _token_refused(response: httpx.Response) -> bool:
    """Airflow answers 401 for a missing or expired token, 403 "Invalid JWT token" for one it
    cannot verify (another deployment's, or signed before its secret changed)."""
    if response.status_code == 401:
        return True
    if response.status_code != 403:
        return False
    try:
        return response.json().get("detail") == "Invalid JWT token"
    except (ValueError, AttributeError):
        return False
