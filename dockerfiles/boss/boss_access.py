#!/usr/bin/env python3
"""Pull, push and merge BossDB cutouts through intern's BossRemote (SABER's boss_access tools).

    boss_access.py pull  --coll C --exp E --chan CH --xmin .. --zmax [--padding P] -o out.npy
    boss_access.py push  --coll C --exp E --chan CH --xmin .. --zmax [--padding P] -i block.npy
    boss_access.py merge --coll C --exp E --chan CH --xmin .. --zmax [--padding P] -i labels.npy

The box is the CORE: half-open x, y, z ranges in voxels of the coordinate frame at
``--res``. The PADDED box grows it by ``--padding`` on each side (with ``--onesided 1`` on the
high side only), clamped to the frame's extent at that resolution (x and y halve per level, z
too for isotropic experiments). ``pull`` reads the padded box; ``push`` and ``merge`` take an
array of the padded box's shape (what pull wrote, processed) and write only the core, so
neighbouring blocks never overwrite each other.

Arrays are .npy in ``--axes`` order: ``xyz`` (SABER's tools) or ``zyx`` (saber's own tools;
intern and the Boss use Z, Y, X). The token comes only from $BOSSDB_TOKEN (default "public",
BossDB's anonymous token) and is never printed. An error is one sentence on stderr and exit
status 1; a server that does not answer is retried with exponential backoff (``--tries``,
``--backoff-s``). This script needs intern and numpy, nothing of saber.
"""
import argparse
import configparser
import json
import math
import os
import re
import sys
import time
from urllib.parse import urlparse

import numpy as np

DTYPES = ("uint8", "uint16", "uint64")  # what the Boss stores
DEFAULT_DTYPE = {"image": "uint8", "annotation": "uint64"}
TOKEN_ENV = "BOSSDB_TOKEN"
PUBLIC_TOKEN = "public"
LABEL_SHIFT = 16  # merge: block_base = (linear index of the core's first voxel) << 16
MAX_LABEL = 2 ** (LABEL_SHIFT + 1) - 1  # block labels 1..131071: see merge_labels
_HOST = re.compile(r"([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?")
_RETRY_STATUS = (502, 503, 504)  # a gateway or a busy server: as if it did not answer


class BossAccessError(Exception):
    """What went wrong, in one sentence for the user (stderr, exit status 1)."""


# -- boxes -----------------------------------------------------------------------------------

def frame_extent(frame, levels, method, resolution):
    """{"x": [lo, hi], ...}: the coordinate frame at ``resolution`` (x and y halve per level,
    rounding the end up; z does too only for isotropic experiments)."""
    if not 0 <= resolution < levels:
        raise BossAccessError(f"resolution {resolution} does not exist: the experiment has levels 0 to {levels - 1}")
    extent = {}
    for axis in "xyz":
        scale = 2 ** resolution if axis != "z" or method == "isotropic" else 1
        start, stop = getattr(frame, f"{axis}_start"), getattr(frame, f"{axis}_stop")
        extent[axis] = [start // scale, math.ceil(stop / scale)]
    return extent


def check_core(core, extent, resolution):
    for axis in "xyz":
        lo, hi = core[axis]
        if hi <= lo:
            raise BossAccessError(f"the {axis} range [{lo}, {hi}) is empty: {axis}max must be above {axis}min")
        if lo < extent[axis][0] or hi > extent[axis][1]:
            raise BossAccessError(f"the cutout is outside the coordinate frame: {axis} [{lo}, {hi}) was asked for, "
                                  f"but the frame's {axis} extent at resolution {resolution} is "
                                  f"[{extent[axis][0]}, {extent[axis][1]})")


def padded_box(core, padding, onesided, extent):
    """The core grown by ``padding`` (high side only if ``onesided``), clamped to ``extent``."""
    if padding < 0:
        raise BossAccessError(f"padding must be 0 or more, not {padding}")
    return {a: [max(core[a][0] - (0 if onesided else padding), extent[a][0]),
                min(core[a][1] + padding, extent[a][1])] for a in "xyz"}


def core_in_array(core, box):
    """Where the core lies inside the padded box's array, per axis letter."""
    return {a: [core[a][0] - box[a][0], core[a][1] - box[a][0]] for a in "xyz"}


def shape_of(box, axes):
    return tuple(box[a][1] - box[a][0] for a in axes)


def core_slices(core, box):
    """Index of the core inside a Z, Y, X array of the padded box."""
    inside = core_in_array(core, box)
    return tuple(slice(*inside[a]) for a in "zyx")


def describe(box):
    return ", ".join(f"{a} [{box[a][0]}, {box[a][1]})" for a in "xyz")


def voxels(box):
    return int(np.prod(shape_of(box, "zyx")))


# -- arrays ----------------------------------------------------------------------------------

def to_zyx(data, axes):
    return np.ascontiguousarray(data if axes == "zyx" else data.transpose(2, 1, 0))


def from_zyx(data, axes):
    return data if axes == "zyx" else np.ascontiguousarray(data.transpose(2, 1, 0))


def load_block(path, box, axes):
    """The .npy at ``path`` as Z, Y, X, checked to be shaped like the padded ``box``."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise BossAccessError(f"cannot read {path} as a NumPy .npy array ({type(e).__name__})") from e
    want = shape_of(box, axes)
    if data.shape != want:
        raise BossAccessError(f"the input array has shape {data.shape} ({axes}), but the padded box "
                              f"{describe(box)} has shape {want} ({axes}): give the array boss_pull wrote "
                              "for the same box, padding and onesided")
    return to_zyx(data, axes)


def cast_losslessly(data, dtype):
    """``data`` as ``dtype``; an error instead when that would change a value."""
    if data.dtype == dtype:
        return data
    kind = data.dtype.kind
    if kind == "b":
        return data.astype(dtype)
    if kind not in "uif":
        raise BossAccessError(f"the array's dtype {data.dtype} is not supported: give integers or floats")
    if data.size == 0:
        return data.astype(dtype)
    limit = np.iinfo(dtype).max
    if kind == "f":
        if not np.isfinite(data).all():
            raise BossAccessError(f"the array holds NaN or infinite values, which {dtype} cannot hold")
        if (data != np.floor(data)).any():
            raise BossAccessError(f"the array ({data.dtype}) holds fractions, which {dtype} would round: "
                                  f"round or scale it to whole numbers first")
        low, high = float(data.min()), float(data.max())
        fits = low >= 0 and high < float(limit) + 1  # float(2**64 - 1) + 1 == 2.0**64
    else:
        low, high = int(data.min()), int(data.max())
        fits = low >= 0 and high <= limit
    if not fits:
        raise BossAccessError(f"the array's values run from {low:g} to {high:g}, which {dtype} (0 to {limit}) "
                              "cannot hold without changing them")
    return data.astype(dtype)


# -- the server ------------------------------------------------------------------------------

def parse_host(host_name):
    """(protocol, host) from ``http://127.0.0.1:8000`` or a bare host (then https)."""
    text = (host_name or "").strip()
    try:
        parsed = urlparse(text if "://" in text else f"https://{text}")
        ok = parsed.port is None or parsed.port > 0  # .port raises ValueError beyond 65535
    except ValueError:
        ok = False
    if not ok or parsed.scheme not in ("http", "https") or not _HOST.fullmatch(parsed.netloc or "") \
            or parsed.path not in ("", "/") or parsed.query or parsed.fragment:
        raise BossAccessError(f"host_name {host_name!r} is neither a host name (api.bossdb.io) nor an http(s) URL "
                              "of a server (http://127.0.0.1:8000)")
    return parsed.scheme, parsed.netloc


class Boss:
    """intern's BossRemote with retries and one-sentence errors."""

    def __init__(self, host_name, token, *, tries=4, backoff_s=1.0):
        from intern.remote.boss import BossRemote

        protocol, host = parse_host(host_name)
        self.where = f"{protocol}://{host}"
        if not token or any(c in token for c in "%\r\n"):
            raise BossAccessError(f"the token in ${TOKEN_ENV} is empty or holds '%' or a line break: "
                                  "give the token exactly as BossDB shows it")
        try:
            self.remote = BossRemote({"protocol": protocol, "host": host, "token": token})
        except (configparser.Error, ValueError, KeyError) as e:  # never echo the text: it may hold the token
            raise BossAccessError(f"intern cannot use host_name {host_name!r} with this token "
                                  f"({type(e).__name__})") from None
        # intern sends without a timeout: a server that accepts and never answers would hang the step
        for service in ("_project", "_metadata", "_volume"):
            if hasattr(self.remote, service):
                svc = getattr(self.remote, service)
                svc.session_send_opts = {**svc.session_send_opts, "timeout": (10, 600)}
        self.tries = max(int(tries), 1)
        self.backoff_s = backoff_s

    def call(self, what, fn, *args, **kwargs):
        """``fn(*args)``, retried with exponential backoff while the server does not answer."""
        from requests import ConnectionError, HTTPError, RequestException, Timeout

        for attempt in range(1, self.tries + 1):
            try:
                return fn(*args, **kwargs)
            except HTTPError as e:
                status = _status(e)
                if status not in _RETRY_STATUS or attempt == self.tries:
                    raise self.error(what, status, e) from None
                reason = f"HTTP {status}"
            except (ConnectionError, Timeout) as e:
                reason = _reason(e)
            except RequestException as e:  # an invalid URL, too many redirects, a garbled answer
                raise BossAccessError(f"could not {what} at {self.where}: {type(e).__name__}") from None
            if attempt == self.tries:
                raise BossAccessError(f"could not reach {self.where} after {self.tries} tries: {reason}")
            time.sleep(self.backoff_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def error(self, what, status, e):
        if status in (401, 403):
            return BossAccessError(f"the server at {self.where} refused the token (HTTP {status}) when asked to "
                                   f"{what}: check the token input (BossDB's anonymous token is 'public')")
        return BossAccessError(f"could not {what}: the server at {self.where} answered HTTP {status or '?'}: "
                               f"{_message(e)}")

    def find(self, what, resource):
        """``resource`` as the server has it, or None when it answers 404."""
        try:
            return self.call(f"read {what}", self._get_once, resource)
        except _NotFound:
            return None

    def _get_once(self, resource):
        from requests import HTTPError

        try:
            return self.remote.get_project(resource)
        except HTTPError as e:
            if _status(e) == 404:
                raise _NotFound() from None
            raise


class _NotFound(Exception):
    pass


def _status(e):
    response = getattr(e, "response", None)
    if response is not None:
        return response.status_code
    found = re.search(r"\((\d{3})\)", str(e))  # intern: "... got HTTP response: (404) - ..."
    return int(found.group(1)) if found else None


def _message(e):
    response = getattr(e, "response", None)
    if response is not None:
        try:
            return str(response.json().get("message", response.text))[:300]
        except (ValueError, AttributeError):
            return response.text[:300]
    return str(e)[:300]


def _reason(e):
    """The root cause of a connection failure: "[Errno 111] Connection refused"."""
    found = re.search(r"\[Errno -?\d+\][^'\")]*", str(e))
    if found:
        return found.group(0).strip()
    return "timed out" if "timed out" in str(e).lower() else type(e).__name__


# -- channels --------------------------------------------------------------------------------

def open_channel(boss, args, *, missing_ok=False):
    """(channel resource, frame extent at args.res): collection, experiment, frame and channel,
    each named in the error when missing; the channel is None when missing and ``missing_ok``."""
    from intern.resource.boss.resource import (
        ChannelResource,
        CollectionResource,
        CoordinateFrameResource,
        ExperimentResource,
    )

    if boss.find(f"collection '{args.coll}'", CollectionResource(args.coll)) is None:
        raise BossAccessError(f"collection '{args.coll}' does not exist at {boss.where}")
    exp = boss.find(f"experiment '{args.coll}/{args.exp}'", ExperimentResource(args.exp, args.coll))
    if exp is None:
        raise BossAccessError(f"experiment '{args.exp}' does not exist in collection '{args.coll}' at {boss.where}")
    if args.coord and args.coord != exp.coord_frame:
        raise BossAccessError(f"experiment '{args.coll}/{args.exp}' uses coordinate frame '{exp.coord_frame}', "
                              f"not '{args.coord}' (coord_name)")
    frame = boss.find(f"coordinate frame '{exp.coord_frame}'", CoordinateFrameResource(exp.coord_frame))
    if frame is None:
        raise BossAccessError(f"coordinate frame '{exp.coord_frame}' of experiment '{args.coll}/{args.exp}' "
                              f"does not exist at {boss.where}")
    extent = frame_extent(frame, max(int(exp.num_hierarchy_levels or 1), 1), exp.hierarchy_method, args.res)
    chan = boss.find(f"channel {_address(args)}", ChannelResource(args.chan, args.coll, args.exp))
    if chan is None:
        if not missing_ok:
            raise BossAccessError(f"channel '{args.chan}' does not exist in {args.coll}/{args.exp} at {boss.where}")
        return None, extent
    if chan.datatype not in DTYPES:
        raise BossAccessError(f"{_address(args)} holds {chan.datatype}, a dtype this tool does not support "
                              f"({', '.join(DTYPES)})")
    for given, actual, name in ((args.dtype, chan.datatype, "dtype_name"), (args.itype, chan.type, "itype_name")):
        if given and given != actual:
            raise BossAccessError(f"{_address(args)} holds {actual}, not {given} ({name})")
    return chan, extent


def create_channel(boss, args, dtype, itype):
    from intern.resource.boss.resource import ChannelResource

    return boss.call(f"create channel {_address(args)}", boss.remote.create_project,
                     ChannelResource(args.chan, args.coll, args.exp, type=itype, datatype=dtype))


def creation(args, default_itype):
    """(dtype, itype) of a channel push or merge creates: checked against what the Boss allows."""
    itype = args.itype or ("annotation" if args.dtype == "uint64" else default_itype)
    if itype not in DEFAULT_DTYPE:
        raise BossAccessError(f"itype_name {itype!r} is not a channel type: give 'image' or 'annotation'")
    dtype = args.dtype or DEFAULT_DTYPE[itype]
    if dtype not in DTYPES:
        raise BossAccessError(f"dtype_name {dtype!r} is not a dtype the Boss stores ({', '.join(DTYPES)})")
    if (itype == "annotation") != (dtype == "uint64"):
        raise BossAccessError(f"an {itype} channel cannot hold {dtype}: the Boss keeps annotation channels as "
                              "uint64 and image channels as uint8 or uint16")
    return dtype, itype


def write_cutout(boss, chan, resolution, box, data):
    """Write a Z, Y, X array; all zeros through create_cutout_to_black, because intern's
    create_cutout returns without a word when the array sums to 0."""
    ranges = [box["x"], box["y"], box["z"]]
    if data.any():
        boss.call(f"write a cutout of {chan.name}", boss.remote.create_cutout, chan, resolution, *ranges,
                  np.ascontiguousarray(data))
    else:
        boss.call(f"write zeros to {chan.name}", boss.remote.create_cutout_to_black, chan, resolution, *ranges)


def read_cutout(boss, chan, resolution, box):
    data = boss.call(f"read a cutout of {chan.name}", boss.remote.get_cutout, chan, resolution,
                     box["x"], box["y"], box["z"], parallel=False)
    return np.array(data)  # intern may hand back a read-only view


# -- the commands ----------------------------------------------------------------------------

def pull(boss, args):
    for name, value in (("dtype_name", args.dtype), ("itype_name", args.itype)):
        allowed = DTYPES if name == "dtype_name" else tuple(DEFAULT_DTYPE)
        if value and value not in allowed:
            raise BossAccessError(f"{name} {value!r} is not one of {', '.join(allowed)}")
    chan, extent = open_channel(boss, args)
    core, box = _boxes(args, extent)
    data = from_zyx(read_cutout(boss, chan, args.res, box), args.axes)
    np.save(os.path.join(args.out_dir, args.output), data)
    _write_json(args.out_dir, "cutout.json", {
        "channel": _address(args), "resolution": args.res, "dtype": str(data.dtype), "axes": args.axes,
        "shape": list(data.shape), "box": box, "core": core, "core_in_array": core_in_array(core, box)})
    print(f"pulled {_address(args)} resolution {args.res}: {describe(box)} ({data.dtype}, shape {data.shape} "
          f"{args.axes}) -> {args.output}")


def push(boss, args):
    dtype, itype = creation(args, "image")
    chan, extent = open_channel(boss, args, missing_ok=True)
    core, box = _boxes(args, extent)
    block = load_block(args.input, box, args.axes)
    data = cast_losslessly(block[core_slices(core, box)], np.dtype(chan.datatype if chan else dtype))
    if chan is None:  # only now: a bad input creates nothing
        chan = create_channel(boss, args, dtype, itype)
    write_cutout(boss, chan, args.res, core, data)
    nonzero = int(np.count_nonzero(data))
    _write_json(args.out_dir, "push.json", {"channel": _address(args), "resolution": args.res, "box": core,
                                             "dtype": str(data.dtype), "voxels": int(data.size), "nonzero": nonzero})
    print(f"pushed {_address(args)} resolution {args.res}: {describe(core)} ({data.dtype}, {data.size} voxels, "
          f"{nonzero} nonzero)")


def merge(boss, args):
    if args.min_overlap < 1:
        raise BossAccessError(f"min_overlap must be 1 or more (voxels), not {args.min_overlap}")
    dtype, itype = creation(args, "annotation")
    chan, extent = open_channel(boss, args, missing_ok=True)
    if chan is not None and chan.type != "annotation":
        raise BossAccessError(f"{_address(args)} is an {chan.type} channel: merge writes object ids into "
                              "annotation channels (uint64)")
    core, box = _boxes(args, extent)
    block = load_block(args.input, box, args.axes)
    if block.dtype.kind not in "biu":
        raise BossAccessError(f"a label block needs an integer dtype, not {block.dtype}")
    stored = np.zeros(block.shape, np.uint64) if chan is None else read_cutout(boss, chan, args.res, box)
    base = block_base(core, extent)
    labels, mapping, adopted = merge_labels(block, stored, core_slices(core, box), base, args.min_overlap)
    data = cast_losslessly(labels, np.dtype(chan.datatype if chan else dtype))
    if chan is None:
        chan = create_channel(boss, args, dtype, itype)
    write_cutout(boss, chan, args.res, core, data)
    _write_json(args.out_dir, "merge.json", {
        "channel": _address(args), "resolution": args.res, "box": core, "block_base": base, "labels": len(mapping),
        "adopted": adopted, "new": len(mapping) - adopted, "min_overlap": args.min_overlap,
        "mapping": [[int(k), int(v)] for k, v in mapping.items()]})
    print(f"merged: {len(mapping)} labels, {adopted} adopted from neighbours, {len(mapping) - adopted} new")


def block_base(core, extent):
    """(linear index of the core's first voxel in the frame) << 16. In a tiling whose blocks are
    at least 2 voxels wide in x, two blocks' first voxels are at least 2 apart, so their ids
    base + 1 .. base + 2**17 - 1 never meet."""
    nx, ny = (extent[a][1] - extent[a][0] for a in "xy")
    x, y, z = (core[a][0] - extent[a][0] for a in "xyz")
    base = ((z * ny + y) * nx + x) << LABEL_SHIFT
    if base + MAX_LABEL >= 2 ** 64:
        raise BossAccessError("the coordinate frame is too large for merge's ids (2**48 voxels at most)")
    return base


def merge_labels(block, stored, core, base, min_overlap=1):
    """(core labels as uint64, {block label: id}, number adopted). Each nonzero block label takes
    the stored label it overlaps most in the padding zone (the padded box minus ``core``) when that
    overlap is at least ``min_overlap`` voxels, else the new id ``base`` + label."""
    ids = np.unique(block)
    ids = ids[ids != 0]
    if ids.size and int(ids.min()) < 0:
        raise BossAccessError(f"the block holds the negative label {int(ids.min())}: labels are 1 and up, 0 background")
    if ids.size and int(ids.max()) > MAX_LABEL:
        raise BossAccessError(f"the block holds label {int(ids.max())}, but merge takes labels 1 to {MAX_LABEL} "
                              "(fewer than 2**17 objects a block): relabel the block or use smaller blocks")
    zone = np.ones(block.shape, bool)
    zone[core] = False
    zone &= (block != 0) & (stored != 0)
    best = {}  # block label -> (stored label, overlap)
    if zone.any():
        pairs, counts = np.unique(np.stack([block[zone].astype(np.uint64), stored[zone].astype(np.uint64)]),
                                  axis=1, return_counts=True)
        for (label, neighbour), count in zip(pairs.T.tolist(), counts.tolist()):
            if count >= min_overlap and (label not in best or count > best[label][1]):
                best[label] = (neighbour, count)
    mapping = {int(k): best[int(k)][0] if int(k) in best else base + int(k) for k in ids}
    lookup = np.array([mapping[int(k)] for k in ids], np.uint64)
    inside = block[core]
    out = np.zeros(inside.shape, np.uint64)
    nonzero = inside != 0
    out[nonzero] = lookup[np.searchsorted(ids, inside[nonzero])]
    return out, mapping, sum(1 for k in ids if int(k) in best)


# -- the command line ------------------------------------------------------------------------

def _boxes(args, extent):
    """(core, padded box), the core checked against the frame."""
    core = {a: [getattr(args, f"{a}min"), getattr(args, f"{a}max")] for a in "xyz"}
    check_core(core, extent, args.res)
    return core, padded_box(core, args.padding, args.onesided, extent)


def _address(args):
    return f"bossdb://{args.coll}/{args.exp}/{args.chan}"


def _write_json(folder, name, payload):
    with open(os.path.join(folder, name), "w") as f:
        json.dump(payload, f, indent=1)
        f.write("\n")


def arg_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--host", default="api.bossdb.io", help="host name (https) or http(s) URL of a Boss API")
    common.add_argument("--coll", required=True, help="collection")
    common.add_argument("--exp", required=True, help="experiment")
    common.add_argument("--chan", required=True, help="channel")
    common.add_argument("--coord", help="expected coordinate frame of the experiment")
    common.add_argument("--dtype", help="pull: expected dtype; push/merge: dtype of a channel created")
    common.add_argument("--itype", help="image or annotation (pull: expected; push/merge: of a channel created)")
    common.add_argument("--res", type=int, default=0, help="resolution level")
    for axis in "xyz":
        common.add_argument(f"--{axis}min", type=int, required=True, help=f"core box: first {axis}")
        common.add_argument(f"--{axis}max", type=int, required=True, help=f"core box: {axis} end (excluded)")
    common.add_argument("--padding", type=int, default=0, help="voxels added around the core")
    common.add_argument("--onesided", type=int, default=0, help="1: pad the high side of each axis only")
    common.add_argument("--axes", choices=("xyz", "zyx"), default="xyz", help="axis order of the .npy arrays")
    common.add_argument("--out-dir", default=".", help="where to write the outputs")
    common.add_argument("--tries", type=int, default=4, help="tries while the server does not answer")
    common.add_argument("--backoff-s", type=float, default=1.0, help="first wait between tries (doubles)")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("pull", parents=[common], help="read the padded box into a .npy")
    p.add_argument("-o", "--output", default="pull_output.npy", help="output .npy file name")
    p = commands.add_parser("push", parents=[common], help="write the core of a padded .npy block")
    p.add_argument("-i", "--input", required=True, help="the .npy block, shaped like the padded box")
    p = commands.add_parser("merge", parents=[common], help="stitch a label block into an annotation channel")
    p.add_argument("-i", "--input", required=True, help="the .npy label block, shaped like the padded box")
    p.add_argument("--min-overlap", type=int, default=1, help="voxels of overlap that adopt a neighbour's id")
    return parser


def main(argv=None):
    args = arg_parser().parse_args(argv)
    token = os.environ.get(TOKEN_ENV) or PUBLIC_TOKEN
    try:
        boss = Boss(args.host, token, tries=args.tries, backoff_s=args.backoff_s)
        {"pull": pull, "push": push, "merge": merge}[args.command](boss, args)
    except BossAccessError as e:
        message = str(e)
        if token != PUBLIC_TOKEN:
            message = message.replace(token, "<token>")
        print(f"boss_{args.command}: error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
