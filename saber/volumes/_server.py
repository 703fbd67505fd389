"""A local server speaking the part of the Boss REST API (v1) that intern's ``BossRemote`` uses:
collections, coordinate frames, experiments and channels (list, get, create) and blosc cutouts,
over a :class:`PrecomputedStore` (metadata in JSON files beside it, see ``_boss_catalog``), so
that tools written against intern run offline unchanged. Errors answer with the Boss's JSON body
``{"status": ..., "message": ...}``, which intern puts into the ``requests.HTTPError`` it raises.
"""

from __future__ import annotations

import hmac
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from saber.volumes._boss_catalog import BossHTTPError, Catalog
from saber.volumes._model import Box, ChannelRef, VolumeError
from saber.volumes._precomputed import PrecomputedStore

__all__ = ["make_app", "serve", "serving"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")  # the Boss's names; also keeps paths inside ROOT
_RANGE = re.compile(r"(\d+):(\d+)")
_MAX_CUTOUT_BYTES = 500 * 2**20  # the Boss refuses uncompressed cutouts over 500 MiB


def make_app(root: str | Path, token: str | None = None):
    """A Starlette app serving ``/v1/...`` over the precomputed store at ``root``; with a token,
    every request must carry ``Authorization: Token <token>``."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    catalog = Catalog(PrecomputedStore(root))

    async def endpoint(request: Request) -> Response:
        try:
            _check_token(request.headers.get("authorization"), token)
            body = await request.body()
            # tensorstore and the file system block: keep them off the event loop
            status, payload = await run_in_threadpool(
                _dispatch, catalog, request.method, request.path_params["path"], request.headers, body)
        except BossHTTPError as e:
            headers = {"WWW-Authenticate": "Token"} if e.status == 401 else None
            return JSONResponse({"status": e.status, "message": e.message}, e.status, headers=headers)
        if isinstance(payload, bytes):
            return Response(payload, status, media_type="application/blosc")
        return JSONResponse(payload, status)

    return Starlette(routes=[Route("/v1/{path:path}", endpoint, methods=["GET", "POST", "PUT"])])


def serve(root: str | Path, host: str = "127.0.0.1", port: int = 8000, token: str | None = None) -> None:
    """Serve until interrupted."""
    import uvicorn

    uvicorn.run(make_app(root, token), host=host, port=port, log_level="info")


@contextmanager
def serving(root: str | Path, token: str | None = None, *, timeout_s: float = 20.0) -> Iterator[str]:
    """Serve the store at ``root`` on a free 127.0.0.1 port in a background thread until the
    block ends; yields the server's URL (``http://127.0.0.1:PORT``)."""
    import uvicorn

    # Bind first and hand uvicorn the socket: no race for the port between choosing and binding.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(make_app(root, token), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise VolumeError(f"the local Boss API server over {root} did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _check_token(header: str | None, token: str | None) -> None:
    if token is None:
        return
    if not header or not header.startswith("Token "):
        raise BossHTTPError(401, "Invalid token: send the header 'Authorization: Token <token>'")
    if not hmac.compare_digest(header.removeprefix("Token ").strip().encode(), token.encode()):
        raise BossHTTPError(401, "Invalid token")


def _dispatch(catalog: Catalog, method: str, path: str, headers, body: bytes) -> tuple[int, dict | bytes]:
    """Route by path segments: intern's URLs carry doubled and trailing slashes (``collection//``)."""
    parts = [p for p in path.split("/") if p]
    service, args = (parts[0], parts[1:]) if parts else ("", [])
    if service == "cutout" and args[:1] == ["to_black"]:
        # intern's create_cutout_to_black: what a client must use for all zeros, because its
        # create_cutout sends nothing when the array sums to 0
        if method != "PUT":
            raise BossHTTPError(405, "cutout/to_black takes PUT")
        return _cutout(catalog, "TO_BLACK", args[1:], headers, body)
    if service == "cutout":
        if method == "PUT":
            raise BossHTTPError(405, "PUT is only for /v1/cutout/to_black/")
        return _cutout(catalog, method, args, headers, body)
    if method not in ("GET", "POST"):
        raise BossHTTPError(405, f"{method} is not allowed on /v1/{path}")
    # collection/C/experiment/E/channel/CH: names at even places; an even count lists the next level
    names = args[0::2]
    if (service not in ("collection", "coord") or len(args) > (5 if service == "collection" else 1)
            or args[1::2] != ["experiment", "channel"][: len(args) // 2]):
        raise BossHTTPError(404, f"No such endpoint: /v1/{path}")
    for name in names:
        if not _NAME.fullmatch(name):
            raise BossHTTPError(400, f"'{name}' is not a valid name (letters, digits, '_' and '-')")
    listing = len(args) % 2 == 0
    if method == "GET" and listing:
        return 200, _list(catalog, service, names)
    if listing:
        raise BossHTTPError(405, f"POST is not allowed on the list /v1/{path}")
    create = method == "POST"
    data = _json_body(body) if create else {}
    if service == "coord":
        return (201, catalog.create_frame(names[0], data)) if create else (200, catalog.frame(names[0]))
    if len(names) == 1:
        return (201, catalog.create_collection(names[0], data)) if create else (200, catalog.collection(names[0]))
    if len(names) == 2:
        return (201, catalog.create_experiment(*names, data)) if create else (200, catalog.experiment(*names))
    ref = ChannelRef(*names)
    return (201, catalog.create_channel(ref, data)) if create else (200, catalog.channel(ref))


def _list(catalog: Catalog, service: str, names: list[str]) -> dict:
    if service == "coord":
        return {"coords": sorted(catalog.frames())}
    if not names:
        return {"collections": catalog.store.collections()}
    if len(names) == 1:
        return {"experiments": catalog.collection(names[0])["experiments"]}
    return {"channels": catalog.experiment(*names)["channels"]}


def _cutout(catalog: Catalog, method: str, args: list[str], headers, body: bytes) -> tuple[int, dict | bytes]:
    """``cutout/C/E/CH/res/x0:x1/y0:y1/z0:z1[/t0:t1]``: blosc bytes of a Z, Y, X C-ordered array."""
    import blosc

    if len(args) not in (7, 8) or not args[3].isdigit():
        raise BossHTTPError(400, "a cutout URL is /v1/cutout/coll/exp/chan/resolution/x0:x1/y0:y1/z0:z1/")
    ref = ChannelRef(*args[:3])
    for name in args[:3]:
        if not _NAME.fullmatch(name):
            raise BossHTTPError(400, f"'{name}' is not a valid name (letters, digits, '_' and '-')")
    chan = catalog.channel(ref)  # 404s first, as the Boss does, before the box is checked
    resolution, ranges = int(args[3]), [_parse_range(a) for a in args[4:]]
    if len(ranges) == 4 and ranges[3] != (0, 1):
        raise BossHTTPError(400, f"time range {args[7]}: this server holds one time sample, [0, 1)")
    box = _box(ranges[:3])
    frame = catalog.frame_of(ref)
    if frame and any(getattr(box, a)[0] < frame[f"{a}_start"] for a in "xyz"):
        raise BossHTTPError(400, f"cutout {box} starts before the coordinate frame's start "
                                 f"(x {frame['x_start']}, y {frame['y_start']}, z {frame['z_start']})")
    dtype = np.dtype(chan["datatype"])
    nbytes = int(np.prod(box.shape)) * dtype.itemsize
    if nbytes > _MAX_CUTOUT_BYTES:
        raise BossHTTPError(400, f"cutout {box} is {nbytes / 2**20:.0f} MiB uncompressed, over the "
                                 f"{_MAX_CUTOUT_BYTES // 2**20} MiB limit: ask for smaller pieces")
    try:
        if method == "TO_BLACK":
            catalog.store.write(ref, resolution, box, np.zeros(box.shape, dtype))
            return 200, {}
        if method == "GET":
            data = catalog.store.read(ref, resolution, box)
            return 200, blosc.compress(data.tobytes(), typesize=dtype.itemsize)
        if headers.get("content-type", "").split(";")[0].strip() != "application/blosc":
            # application/blosc-python (blosc.pack_array) is a pickle: never unpickle a request
            raise BossHTTPError(415, "send the cutout as Content-Type application/blosc (blosc.compress "
                                     "of the C-ordered Z, Y, X array)")
        catalog.store.write(ref, resolution, box, _decode(body, dtype, box))
    except VolumeError as e:
        raise BossHTTPError(400, str(e)) from e
    return 201, {}


def _decode(body: bytes, dtype: np.dtype, box: Box) -> np.ndarray:
    """The posted array; its size is the only check of its dtype the bytes allow."""
    import blosc

    try:
        raw = blosc.decompress(body)
    except Exception as e:  # blosc raises several types for a corrupt buffer
        raise BossHTTPError(400, f"the body is not a blosc buffer: {e}") from e
    expected = int(np.prod(box.shape)) * dtype.itemsize
    if len(raw) != expected:
        raise BossHTTPError(400, f"the cutout holds {len(raw)} bytes, but {box} of {dtype} needs {expected}: "
                                 f"check the array's dtype ({dtype}) and its Z, Y, X shape {box.shape}")
    return np.frombuffer(raw, dtype=dtype).reshape(box.shape)


def _parse_range(text: str) -> tuple[int, int]:
    match = _RANGE.fullmatch(text)
    if not match:
        raise BossHTTPError(400, f"'{text}' is not a range like 0:512")
    return int(match[1]), int(match[2])


def _box(ranges: list[tuple[int, int]]) -> Box:
    try:
        return Box(*ranges)
    except VolumeError as e:
        raise BossHTTPError(400, str(e)) from e


def _json_body(body: bytes) -> dict:
    try:
        data = json.loads(body or b"{}")
    except ValueError as e:
        raise BossHTTPError(400, f"the body is not JSON: {e}") from e
    if not isinstance(data, dict):
        raise BossHTTPError(400, "the body must be a JSON object")
    return data
