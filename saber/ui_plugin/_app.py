"""The Studies page's FastAPI app: two HTML pages, their JSON API and their static files.

Airflow mounts it at /saber; everything here needs Airflow's authentication (the app-wide
dependency), static files included, because plugin apps sit outside Airflow's own auth.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from saber.errors import InputError
from saber.ui_plugin._compat import check_versions, user_dependency
from saber.ui_plugin._query import MAX_LIMIT, NoStudy, StoreReader

__all__ = ["URL_PREFIX", "create_app"]

URL_PREFIX = "/saber"  # where Airflow mounts the app (fastapi_apps' url_prefix)
_HERE = Path(__file__).parent
_STATIC = {"saber.css": "text/css", "common.js": "text/javascript", "studies.js": "text/javascript",
           "study.js": "text/javascript"}
# The pages run only the scripts served here (no inline script, no CDN): an escaping slip in a
# page cannot run an injected script. plotly.js builds a few functions at run time (eval) and
# sets inline styles; the Airflow UI shows the pages in an iframe of its own origin.
_CSP = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'self'")


def create_app(url: str | None = None) -> FastAPI:
    """The app over the results store at ``url`` (default: $SABER_DB, else the saber home's)."""
    check_versions()
    reader = StoreReader(url or _default_url())
    # No OpenAPI pages: they would be served without the dependency.
    app = FastAPI(title="saber studies", dependencies=[Depends(user_dependency())],
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.reader = reader

    def page(request: Request, template: str, **values: Any) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        html = _templates().get_template(template).render(root=root, airflow=_airflow_root(root), **values)
        return HTMLResponse(html, headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-store"})

    # A study that is not there is a 404, a bad sort or filter a 400, from every route.
    @app.exception_handler(NoStudy)
    def not_found(request: Request, e: NoStudy) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=404)

    @app.exception_handler(InputError)
    def bad_request(request: Request, e: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=400)

    @app.get("/", response_class=HTMLResponse)
    def studies_page(request: Request, workflow: str | None = None) -> HTMLResponse:
        return page(request, "studies.html", workflow=workflow or "")

    @app.get("/studies/{name:path}", response_class=HTMLResponse)
    def study_page(request: Request, name: str) -> HTMLResponse:
        return page(request, "study.html", name=name)

    @app.get("/api/studies")
    def list_studies(workflow: str | None = None) -> dict[str, Any]:
        """Studies and sweeps, newest first; ``workflow``: only those of that workflow file."""
        everything = reader.studies()
        studies = [s for s in everything if not workflow or s["workflow"] == workflow]
        return {"studies": studies, "total": len(studies),
                "workflows": sorted({s["workflow"] for s in everything if s["workflow"]})}

    @app.get("/api/studies/{name:path}/trials")
    def study_trials(request: Request, name: str, offset: int = Query(0, ge=0),
                     limit: int = Query(100, ge=1, le=MAX_LIMIT), sort: str = "number",
                     order: str = Query("asc", pattern="^(asc|desc)$")) -> dict[str, Any]:
        """One page of trials; ``sort``: number, state, score, start, duration, container,
        param:NAME or step:LABEL."""
        return reader.trials(name, offset=offset, limit=limit, sort=sort, order=order,
                             airflow_root=_airflow_root(request.scope.get("root_path", "")))

    @app.get("/api/studies/{name:path}/plots")
    def study_plots(name: str) -> dict[str, Any]:
        """Optimization history with the running best, (value, score) per varied parameter."""
        return reader.plots(name)

    @app.get("/api/studies/{name:path}")
    def one_study(name: str) -> dict[str, Any]:
        return reader.study(name)

    @app.get("/static/plotly.min.js")
    def plotly_js() -> Response:
        return Response(_plotly_js(), media_type="text/javascript",
                        headers={"Cache-Control": "private, max-age=86400"})

    @app.get("/static/{file}")
    def static(file: str) -> Response:
        if file not in _STATIC:
            raise HTTPException(status_code=404, detail=f"no static file '{file}'")
        return Response(_static(file), media_type=_STATIC[file], headers={"Cache-Control": "no-cache"})

    return app


def _default_url() -> str:
    """$SABER_DB, else the SQLite file in the saber home; unlike results_url, creates no folder."""
    from saber.home import SaberHome

    return os.environ.get("SABER_DB") or f"sqlite:///{SaberHome.from_env().results_db}"


def _airflow_root(root_path: str) -> str:
    """Airflow's own base path: the app's mount point less its prefix ("" at a server's root)."""
    return root_path[:-len(URL_PREFIX)] if root_path.endswith(URL_PREFIX) else root_path


@functools.cache
def _templates() -> Any:
    import jinja2

    # autoescape: a study name or parameter value with markup renders as text.
    return jinja2.Environment(loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True)


@functools.cache
def _plotly_js() -> bytes:
    """The installed plotly package's plotly.js (about 4.8 MB), read once: the page works
    offline and draws with the library version the package ships."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


@functools.cache
def _static(file: str) -> bytes:
    return (_HERE / "static" / file).read_bytes()
