"""The Studies page in the Airflow UI (saber.ui_plugin): its JSON API and HTML pages over a
results store, tested in-process with FastAPI's TestClient."""

from __future__ import annotations

import configparser
import hashlib
import importlib
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from results_testing import T0, write_big_study, write_plain_sweep, write_study

from saber.scores import ResultsStore
from saber.ui_plugin import SaberPlugin
from saber.ui_plugin._app import create_app
from saber.ui_plugin._compat import user_dependency

ROOT = Path(__file__).resolve().parents[2]
XSS = "<img src=x onerror=alert(1)>"


def signed_in_user() -> str:
    """Stands in for Airflow's auth dependency: a signed-in user (the pages never look at it)."""
    return "tester"


def client(url: str, *, signed_in: bool = True):
    from fastapi.testclient import TestClient

    app = create_app(url)
    if signed_in:
        app.dependency_overrides[user_dependency()] = signed_in_user
    return TestClient(app)


def routes(app) -> list[str]:
    """Every route of the app, its path parameters filled in."""
    return [r.path.replace("{name:path}", "blobs").replace("{file}", "study.js") for r in app.routes]


def set_attrs(store: ResultsStore, name: str, **attrs: object) -> None:
    import optuna

    study = optuna.load_study(study_name=name, storage=store.storage)
    for key, value in attrs.items():
        study.set_user_attr(f"saber_{key}", value)


# -- the plugin and authentication ----------------------------------------------------------


def test_plugin_is_registered_as_airflow_expects() -> None:
    from airflow._shared.plugins_manager import is_valid_plugin
    from airflow.api_fastapi.app import RESERVED_URL_PREFIXES
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse, FastAPIAppResponse

    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    entry = setup["options.entry_points"]["airflow.plugins"].strip()
    assert entry == "saber = saber.ui_plugin:SaberPlugin"
    module, attribute = entry.split(" = ")[1].split(":")
    assert is_valid_plugin(getattr(importlib.import_module(module), attribute))  # what Airflow asks of it
    plugin = SaberPlugin()
    assert plugin.name == "saber"
    (view,) = plugin.external_views
    assert ExternalViewResponse.model_validate(view).destination == "nav"
    assert (view["href"], view["url_route"], view["category"]) == ("saber/", "saber", "browse")
    (app,) = plugin.fastapi_apps
    FastAPIAppResponse.model_validate({**app, "app": "saber"})
    assert app["url_prefix"] == "/saber" and not app["url_prefix"].startswith(tuple(RESERVED_URL_PREFIXES))
    assert plugin.fastapi_apps[0]["app"] is app["app"]  # built once


def test_every_route_needs_a_login(sqlite_url: str) -> None:
    with ResultsStore(sqlite_url) as store:
        write_study(store)
    anonymous = client(sqlite_url, signed_in=False)
    paths = routes(anonymous.app)
    assert {"/", "/api/studies", "/static/plotly.min.js"} <= set(paths)
    for path in paths:
        assert anonymous.get(path).status_code == 401, path
    signed_in = client(sqlite_url)
    for path in paths:
        assert signed_in.get(path).status_code == 200, path


@pytest.fixture
def airflow_app(saber_home, sqlite_url: str, monkeypatch: pytest.MonkeyPatch):
    """Airflow's own api-server app, in-process, with saber's plugin loaded as its entry point
    would load it (the one installed may be another checkout's), over a results store with a study."""
    from airflow import plugins_manager
    from airflow.api_fastapi.app import create_app as airflow_create_app

    from saber.ui_plugin import _plugin

    with ResultsStore(sqlite_url) as store:
        write_study(store)
    monkeypatch.setenv("SABER_DB", sqlite_url)
    cached = (plugins_manager._get_plugins, plugins_manager.get_fastapi_plugins,  # noqa: SLF001
              plugins_manager._get_ui_plugins, _plugin._app)  # noqa: SLF001
    for function in cached:
        function.cache_clear()
    monkeypatch.setattr(plugins_manager, "_get_plugins", lambda: ([SaberPlugin()], {}))
    yield airflow_create_app()
    for function in cached:
        function.cache_clear()


@pytest.mark.slow
def test_signed_in_through_airflow(airflow_app) -> None:
    """Mounted by Airflow: 401 without a login, 200 with the token from /auth/token as a Bearer
    token and as the UI's _token cookie; /api/v2/plugins lists the page."""
    import os

    from fastapi.testclient import TestClient

    web = TestClient(airflow_app)
    assert web.get("/saber/").status_code == 401
    assert web.get("/saber/api/studies").status_code == 401
    passwords = Path(os.environ["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
    login = {"username": "admin", "password": json.loads(passwords.read_text())["admin"]}
    token = web.post("/auth/token", json=login).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert [s["name"] for s in web.get("/saber/api/studies", headers=bearer).json()["studies"]] == ["blobs"]
    assert web.get("/saber/api/studies", headers={"Authorization": "Bearer forged"}).status_code in (401, 403)
    (plugin,) = [p for p in web.get("/api/v2/plugins", headers=bearer).json()["plugins"] if p["name"] == "saber"]
    assert plugin["external_views"][0]["href"] == "saber/"
    web.cookies.set("_token", token)
    assert "<title>Studies - saber</title>" in web.get("/saber/").text
    trial = web.get("/saber/api/studies/blobs/trials", params={"limit": 1}).json()["trials"][0]
    assert trial["links"]["log"] == "/dags/blob_count/runs/saber__blobs__0/tasks/evaluate"


# -- the studies list -------------------------------------------------------------------------


def test_studies_list_newest_first_and_filtered(store: ResultsStore) -> None:
    write_study(store, "blobs")
    write_study(store, "later", "minimize", trials=False)
    set_attrs(store, "later", workflow="workflows/other.cwl", method="tpe",
              created=(T0 + timedelta(days=1)).isoformat())
    web = client(store.url)
    body = web.get("/api/studies").json()
    assert [s["name"] for s in body["studies"]] == ["later", "blobs"]
    assert body["workflows"] == ["workflows/blob_count.cwl", "workflows/other.cwl"]
    blobs = body["studies"][1]
    assert blobs["trials"] == {"total": 6, "done": 3, "running": 1, "failed": 1, "pruned": 0, "waiting": 1}
    assert (blobs["kind"], blobs["method"], blobs["direction"], blobs["objective"]) == ("sweep", "grid", "maximize",
                                                                                      "evaluate")
    assert (blobs["workflow"], blobs["dag_id"], blobs["best_score"]) == ("workflows/blob_count.cwl", "blob_count", 0.8)
    assert (blobs["wall_s"], blobs["container_s"]) == (10 + 11 + 12 + 13, 20 + 21 + 22 + 23)
    assert body["studies"][0]["best_score"] is None and body["studies"][0]["kind"] == "run"
    only = web.get("/api/studies", params={"workflow": "workflows/other.cwl"}).json()
    assert [s["name"] for s in only["studies"]] == ["later"]
    assert web.get("/api/studies/blobs").json()["name"] == "blobs"
    assert web.get("/api/studies/nobody").status_code == 404


def test_a_plain_sweep_has_points_but_no_objective(store: ResultsStore) -> None:
    write_plain_sweep(store)
    web = client(store.url)
    (row,) = web.get("/api/studies").json()["studies"]
    assert (row["kind"], row["direction"], row["objective"], row["best_score"]) == ("sweep", "", None, None)
    assert row["trials"] == {"total": 3, "done": 1, "running": 1, "failed": 1, "pruned": 0, "waiting": 0}
    assert (row["wall_s"], row["container_s"]) == (7.0, 1.5)
    page = web.get("/api/studies/echoes/trials").json()
    assert (page["best"], page["direction"], page["params"]) == (None, "", ["message"])
    assert [(t["params"], t["state"], t["score"]) for t in page["trials"]] == [
        ({"message": "a"}, "COMPLETE", None), ({"message": "b"}, "FAIL", None), ({"message": "c"}, "RUNNING", None)]
    assert page["trials"][0]["links"]["run"] == "/dags/echo/runs/echoes_p0000"
    assert page["trials"][1]["error"] == "step 'echo' failed: no"
    plots = web.get("/api/studies/echoes/plots").json()
    assert (plots["scored"], plots["objectives"]) == (False, [])


def test_no_results_database_yet(tmp_path: Path) -> None:
    """An empty list, and the page does not create the database."""
    path = tmp_path / "results.db"
    web = client(f"sqlite:///{path}")
    assert web.get("/api/studies").json()["studies"] == []
    assert web.get("/api/studies/blobs/trials").status_code == 404
    assert not path.exists()


# -- one study's trials ------------------------------------------------------------------------


def test_trials_with_scores_and_airflow_links(store: ResultsStore) -> None:
    write_study(store)
    page = client(store.url).get("/api/studies/blobs/trials").json()
    assert (page["total"], page["params"], page["best"]) == (6, ["threshold", "sigma"], {"number": 1, "score": 0.8})
    assert page["steps"] == ["count[0]", "count[1]", "evaluate"]
    first = page["trials"][1]
    assert first["params"] == {"threshold": 0.4, "sigma": 1.5}  # as written, not Optuna's index
    assert first["steps"] == {"evaluate": 0.8, "count[0]": 10.0, "count[1]": 11.0}
    assert (first["state"], first["score"], first["duration_s"], first["container_s"]) == ("COMPLETE", 0.8, 11.0, 21.0)
    assert first["links"] == {"run": "/dags/blob_count/runs/saber__blobs__1",
                              "log": "/dags/blob_count/runs/saber__blobs__1/tasks/evaluate"}
    failed = page["trials"][3]
    assert (failed["state"], failed["score"], failed["error"]) == ("FAIL", None, failed["error"])
    assert failed["error"].startswith("step 'evaluate'")
    assert page["trials"][5]["state"] == "WAITING" and page["trials"][5]["links"]["run"] is None


def test_trials_paged_and_sorted(store: ResultsStore) -> None:
    write_study(store)
    web = client(store.url)

    def numbers(**params: object) -> list[int]:
        response = web.get("/api/studies/blobs/trials", params=params)
        assert response.status_code == 200, response.text
        return [t["number"] for t in response.json()["trials"]]

    assert numbers(limit=2) == [0, 1]
    assert numbers(offset=2, limit=2) == [2, 3]
    assert numbers(offset=10) == []
    assert numbers(sort="param:threshold", order="desc") == [4, 3, 2, 1, 0, 5]  # no value: last
    assert numbers(sort="param:sigma", order="asc", limit=3) == [0, 3, 1]  # ties by number
    assert numbers(sort="score", order="desc") == [1, 0, 2, 3, 4, 5]
    assert numbers(sort="score", order="asc") == [2, 0, 1, 3, 4, 5]
    assert numbers(sort="step:count[1]", order="desc", limit=1) == [3]
    assert numbers(sort="container", order="desc", limit=2) == [3, 2]
    assert numbers(sort="number", order="desc", offset=1, limit=2) == [4, 3]
    bad = web.get("/api/studies/blobs/trials", params={"sort": "colour"})
    assert bad.status_code == 400 and "param:NAME" in bad.json()["detail"]
    assert web.get("/api/studies/blobs/trials", params={"limit": 501}).status_code == 422
    assert web.get("/api/studies/blobs/trials", params={"order": "up"}).status_code == 422


def test_study_made_by_optuna_alone(store: ResultsStore) -> None:
    """No saber attributes: parameters are Optuna's, decoded (a category by its value, not its
    index); no Airflow links; several objectives have no single score or best trial."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="plain", storage=store.storage, directions=["minimize", "maximize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), len(t.suggest_categorical("kind", ["ab", "c"]))),
                   n_trials=3)
    web = client(store.url)
    page = web.get("/api/studies/plain/trials").json()
    assert page["best"] is None and page["params"] == ["x", "kind"]
    trial = page["trials"][0]
    assert trial["params"]["kind"] in ("ab", "c") and trial["score"] is None
    assert trial["links"] == {"run": None, "log": None}
    plots = web.get("/api/studies/plain/plots").json()
    assert [o["axis"] for o in plots["objectives"]] == ["objective0 score (minimize)", "objective1 score (maximize)"]
    assert web.get("/api/studies/plain").json()["best_score"] is None


def test_links_under_airflow_base_path(store: ResultsStore) -> None:
    """Mounted at /saber in an Airflow served under /airflow: links reach Airflow's own pages."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    write_study(store)
    app = create_app(store.url)
    app.dependency_overrides[user_dependency()] = signed_in_user
    airflow = FastAPI(root_path="/airflow")
    airflow.mount("/saber", app)
    web = TestClient(airflow, root_path="/airflow")
    trial = web.get("/airflow/saber/api/studies/blobs/trials", params={"limit": 1}).json()["trials"][0]
    assert trial["links"]["run"] == "/airflow/dags/blob_count/runs/saber__blobs__0"
    html = web.get("/airflow/saber/studies/blobs").text
    assert 'src="/airflow/saber/static/study.js"' in html and 'data-root="/airflow/saber"' in html
    assert 'data-airflow="/airflow"' in html  # study.js loads plotly.min.js from data-root


# -- escaping -----------------------------------------------------------------------------------


def test_markup_is_text_in_pages_and_intact_in_json(store: ResultsStore) -> None:
    import optuna
    from optuna.distributions import CategoricalDistribution

    study = optuna.create_study(study_name=XSS, storage=store.storage, direction="maximize")
    study.set_user_attr("saber_workflow", XSS)
    study.add_trial(optuna.trial.create_trial(
        params={"label": XSS}, distributions={"label": CategoricalDistribution([XSS])}, value=1.0,
        user_attrs={"saber_params": {"label": XSS}}))
    web = client(store.url)
    for path in (f"/studies/{XSS}", f"/?workflow={XSS}"):
        response = web.get(path)
        assert "<img" not in response.text and "&lt;img src=x onerror=alert(1)&gt;" in response.text
        # and were anything to slip through, no inline script would run
        policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
        assert "'unsafe-inline'" not in policy["script-src"]
    assert web.get("/api/studies").json()["studies"][0]["name"] == XSS
    trial = web.get(f"/api/studies/{XSS}/trials").json()["trials"][0]
    assert trial["params"] == {"label": XSS}
    # The scripts build the DOM from text, never from markup.
    for script in ("common.js", "studies.js", "study.js"):
        source = web.get(f"/static/{script}").text
        assert "innerHTML" not in source and "insertAdjacentHTML" not in source and "document.write" not in source


# -- plots ----------------------------------------------------------------------------------------


def test_plot_data_history_and_fixed_inputs(store: ResultsStore) -> None:
    import optuna
    from optuna.distributions import FloatDistribution

    study = optuna.create_study(study_name="fit", storage=store.storage, direction="minimize")
    study.set_user_attr("saber_objective", "evaluate")
    for number, (x, value) in enumerate([(0.5, 3.0), (0.1, 4.0), (0.9, 1.0), (0.3, 2.0)]):
        study.add_trial(optuna.trial.create_trial(
            params={"x": x}, distributions={"x": FloatDistribution(0, 1)}, value=value,
            user_attrs={"saber_params": {"x": x, "image": "cells.tif", "seed": number}}))
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL,
                                              user_attrs={"saber_params": {"x": 0.7, "image": "other.tif"}}))
    data = client(store.url).get("/api/studies/fit/plots").json()
    assert data["complete"] == 4
    assert (data["varied"], data["fixed"]) == (["x", "seed"], {"image": "cells.tif"})  # failed trials don't count
    (objective,) = data["objectives"]
    assert (objective["step"], objective["axis"]) == ("evaluate", "evaluate score (minimize)")
    assert objective["history"] == {"number": [0, 1, 2, 3], "value": [3.0, 4.0, 1.0, 2.0], "best": [3.0, 3.0, 1.0, 1.0]}
    assert set(objective["slices"]) == {"x", "seed"}
    assert objective["slices"]["x"] == {"x": [0.5, 0.1, 0.9, 0.3], "y": [3.0, 4.0, 1.0, 2.0], "number": [0, 1, 2, 3]}


def made_study(store: ResultsStore, name: str, n: int) -> None:
    """``n`` trials minimizing x: x decides the score, ``noise`` does not, ``kind`` (text, one of
    them markup) barely; ``image`` is one value in all (a fixed input)."""
    import random

    import optuna
    from optuna.distributions import FloatDistribution

    rng = random.Random(7)
    study = optuna.create_study(study_name=name, storage=store.storage, direction="minimize")
    study.set_user_attr("saber_objective", "evaluate")
    for _ in range(n):
        x, noise, kind = rng.random(), rng.random(), rng.choice(["plain", XSS])
        study.add_trial(optuna.trial.create_trial(
            params={"x": x}, distributions={"x": FloatDistribution(0, 1)}, value=x + 0.01 * rng.random(),
            user_attrs={"saber_params": {"x": x, "noise": noise, "kind": kind, "image": "cells.tif"}}))


def test_importance_and_parallel_coordinates(store: ResultsStore) -> None:
    made_study(store, "fit", 60)
    data = client(store.url).get("/api/studies/fit/plots").json()
    assert data["varied"] == ["x", "noise", "kind"] and data["fixed"] == {"image": "cells.tif"}
    (objective,) = data["objectives"]
    imp = objective["importance"]
    assert set(imp["params"]) == {"x", "noise", "kind"} and imp["params"][0] == "x"  # fixed input left out
    assert imp["values"][0] > 0.5 and abs(sum(imp["values"]) - 1) < 1e-9
    assert (imp["trials"], imp["of"], imp["note"]) == (60, 60, None)
    par = objective["parallel"]
    assert [d["label"] for d in par["dimensions"]] == ["x", "noise", "kind", "evaluate score (minimize)"]
    assert (par["lines"], par["of"], par["note"]) == (60, 60, None)
    x, _, kind, score = par["dimensions"]
    assert "ticktext" not in x and x["values"][0] == pytest.approx(score["values"][0], abs=0.01)
    # a category is an integer axis labelled by the values, markup intact (the page escapes it)
    assert (kind["tickvals"], kind["ticktext"]) == ([0, 1], sorted(["plain", XSS]))
    assert set(kind["values"]) == {0, 1}


def test_importance_needs_two_trials_and_a_varied_parameter(store: ResultsStore) -> None:
    made_study(store, "one", 1)
    web = client(store.url)
    (objective,) = web.get("/api/studies/one/plots").json()["objectives"]
    assert objective["importance"]["params"] == [] and "at least 2" in objective["importance"]["note"]
    assert [d["label"] for d in objective["parallel"]["dimensions"]] == ["evaluate score (minimize)"]
    import optuna

    study = optuna.create_study(study_name="flat", storage=store.storage)
    for value in (1.0, 2.0):
        study.add_trial(optuna.trial.create_trial(value=value, user_attrs={"saber_params": {"image": "a.tif"}}))
    (objective,) = web.get("/api/studies/flat/plots").json()["objectives"]
    assert objective["importance"]["params"] == [] and "No parameter varies" in objective["importance"]["note"]


def test_plots_of_a_huge_study_are_capped(store: ResultsStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from saber.ui_plugin import _plotdata

    monkeypatch.setattr(_plotdata, "IMPORTANCE_TRIALS", 20)
    monkeypatch.setattr(_plotdata, "PARALLEL_LINES", 10)
    made_study(store, "fit", 30)
    (objective,) = client(store.url).get("/api/studies/fit/plots").json()["objectives"]
    imp, par = objective["importance"], objective["parallel"]
    assert (imp["trials"], imp["of"]) == (20, 30) and "latest 20 of 30" in imp["note"]
    assert (par["lines"], par["of"]) == (10, 30) and "best 10 of 30" in par["note"]
    scores = par["dimensions"][-1]["values"]
    assert max(scores) < sorted(objective["history"]["value"])[10]  # the best ten, minimizing


def test_plotly_served_from_the_package(sqlite_url: str) -> None:
    from plotly.offline import get_plotlyjs

    web = client(sqlite_url)
    js = web.get("/static/plotly.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert js.content == get_plotlyjs().encode()
    html = web.get("/studies/blobs").text
    study_js = web.get("/static/study.js").text
    assert "//cdn" not in html + study_js and "https://" not in html + study_js
    assert "`${saber.root}/static/plotly.min.js`" in study_js  # loaded by the page's own script
    assert web.get("/static/secret.py").status_code == 404


# -- read-only ----------------------------------------------------------------------------------


def test_pages_never_write_the_store(sqlite_url: str) -> None:
    with ResultsStore(sqlite_url) as store:
        write_study(store)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    web = client(sqlite_url)
    for route in routes(web.app):
        assert web.get(route).status_code == 200
    for sort in ("duration", "param:sigma", "step:evaluate"):
        assert web.get("/api/studies/blobs/trials", params={"sort": sort}).status_code == 200
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before
    assert web.app.state.reader._engine.url.query.get("mode") == "ro"  # noqa: SLF001


# -- 10,000 trials ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_ten_thousand_trials_one_page(sqlite_url: str) -> None:
    with ResultsStore(sqlite_url) as store:
        began = time.perf_counter()
        write_big_study(store, "big", 10_000)
        written = time.perf_counter() - began
    web = client(sqlite_url)
    web.get("/api/studies")  # the engine opened, as in a running api-server
    timings = {}
    for label, path, params in [
            ("page 1 by number", "/api/studies/big/trials", {"limit": 100}),
            ("page 50 by param:x desc", "/api/studies/big/trials", {"limit": 100, "offset": 4900,
                                                                     "sort": "param:x", "order": "desc"}),
            ("page 1 by score desc", "/api/studies/big/trials", {"limit": 100, "sort": "score", "order": "desc"}),
            ("plot data", "/api/studies/big/plots", {}),
            ("studies list", "/api/studies", {})]:
        began = time.perf_counter()
        response = web.get(path, params=params)
        timings[label] = time.perf_counter() - began
        assert response.status_code == 200
    page = web.get("/api/studies/big/trials", params={"limit": 100, "sort": "param:x", "order": "desc"}).json()
    assert page["total"] == 10_000 and len(page["trials"]) == 100
    xs = [t["params"]["x"] for t in page["trials"]]
    assert xs == sorted(xs, reverse=True)
    plots = web.get("/api/studies/big/plots").json()
    assert plots["fixed"] == {"k": 3}
    (objective,) = plots["objectives"]
    assert (objective["importance"]["params"], objective["importance"]["trials"]) == (["x"], 2000)
    assert objective["parallel"]["lines"] == 1000
    print(f"\n10,000 trials written in {written:.2f} s; " +
          "; ".join(f"{label}: {seconds * 1000:.0f} ms" for label, seconds in timings.items()))


def test_importance_on_a_grid_of_listed_values() -> None:
    """A grid's few listed numbers: the one deciding the score comes first, however many values
    the others have."""
    import itertools

    from saber.ui_plugin._plotdata import Row, importance

    grid = itertools.product([0.1, 0.2, 0.3], [1, 2.5], [1, 2, 3, 4, 5])
    rows = [Row(i, {"g": g, "mix": mix, "n": n}, -abs(g - 0.2) + 0.001 * n * mix)
            for i, (g, mix, n) in enumerate(grid)]
    imp = importance(rows, ["g", "mix", "n"], "maximize")
    assert imp["params"][0] == "g" and imp["values"][0] > 0.5
