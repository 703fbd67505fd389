"""saber bossdb serve|ingest|export: a local BossDB and moving volumes in and out of BossDB."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from saber.errors import InputError

HELP = """Work with BossDB volumes offline: a local store of Neuroglancer-precomputed channels
(BossDB's open-data format) that tools reach through the unmodified intern client."""

SERVE_HELP = """Serve the precomputed store under --root through the Boss REST API (v1) that intern's
BossRemote speaks: collections, coordinate frames, experiments and channels (list, get, create)
and blosc cutouts. Point a tool at it with the intern config
{"protocol": "http", "host": "HOST:PORT", "token": T}. Stop with Ctrl-C."""

SERVE_EXAMPLES = """examples:
  saber bossdb serve --root ~/bossdb                       # http://127.0.0.1:8000, any token
  BOSSDB_TOKEN=s3cret saber bossdb serve --root ~/bossdb --port 8001   # token required
  saber bossdb serve --root ~/bossdb --token-file ~/.bossdb-token      # token required"""


def add_parser(sub) -> None:
    p = sub.add_parser("bossdb", help="a local BossDB: precomputed store and Boss API server",
                       description=HELP)
    actions = p.add_subparsers(dest="bossdb_command", metavar="ACTION", required=True)
    _add_serve(actions)
    _add_transfer(actions)


_WHERE = """Without --host (and $BOSSDB_HOST) the offline store is used: --root, else $SABER_VOLUMES,
else $SABER_HOME/volumes. With --host (http://127.0.0.1:8000 for `saber bossdb serve`, or
api.bossdb.io: https) it goes through intern's BossRemote; the token comes from --token or
$BOSSDB_TOKEN."""


def _add_transfer(actions) -> None:
    ingest = actions.add_parser("ingest", help="write a .npy/.tif volume into a channel (created if missing)",
                                description="Write FILE (Z, Y, X; uint8, uint16 or uint64) at the origin "
                                            "of CHANNEL, creating collection, experiment and channel (the "
                                            "frame the array's size) if missing. " + _WHERE)
    ingest.add_argument("file", type=Path, help=".npy or .tif volume, Z, Y, X")
    ingest.add_argument("channel", help="bossdb://collection/experiment/channel")
    ingest.add_argument("--dtype", choices=("uint8", "uint16", "uint64"),
                        help="convert the volume first (every value must fit); uint64 makes an annotation "
                             "channel, e.g. for labels")
    ingest.add_argument("--voxel-size", type=float, nargs=3, default=(1.0, 1.0, 1.0), metavar=("X", "Y", "Z"))
    ingest.set_defaults(func=ingest_cmd)
    export = actions.add_parser("export", help="write a channel's cutout to a .npy/.tif file",
                                description="Read a cutout (default: the whole frame) of CHANNEL into OUT "
                                            "(Z, Y, X). " + _WHERE)
    export.add_argument("channel", help="bossdb://collection/experiment/channel")
    export.add_argument("out", type=Path, help=".npy or .tif file to write")
    export.add_argument("--resolution", type=int, default=0)
    for axis in "xyz":
        export.add_argument(f"--{axis}", metavar="LO:HI", help=f"half-open {axis} range (default: the frame)")
    export.set_defaults(func=export_cmd)
    for p in (ingest, export):
        p.add_argument("--host", help="a Boss server (default: $BOSSDB_HOST, else the offline store)")
        p.add_argument("--token", help="its token (default: $BOSSDB_TOKEN)")
        p.add_argument("--root", type=Path, help="the offline store (default: $SABER_VOLUMES or "
                                                 "$SABER_HOME/volumes)")


def _add_serve(actions) -> None:
    p = actions.add_parser("serve", help="serve a precomputed store through the Boss REST API",
                           description=SERVE_HELP, epilog=SERVE_EXAMPLES,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, required=True, help="the precomputed store (created if missing)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    given = p.add_mutually_exclusive_group()
    given.add_argument("--token-file", type=Path, metavar="PATH",
                       help="require 'Authorization: Token T' on every request, T read from PATH "
                            "(default: $BOSSDB_TOKEN; neither: any token is accepted)")
    given.add_argument("--token", help="T itself: discouraged, every local user sees it in `ps`")
    p.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> int:
    from saber.volumes._server import serve as run_server

    if args.root.exists() and not args.root.is_dir():
        raise InputError(f"--root {args.root} is a file, not a store folder")
    token = _serve_token(args)
    args.root.mkdir(parents=True, exist_ok=True)
    auth = "token required" if token else "no token required"
    print(f"Boss API on http://{args.host}:{args.port}/v1/ over {args.root.resolve()} ({auth}); "
          f"stop with Ctrl-C", flush=True)
    run_server(args.root, host=args.host, port=args.port, token=token)
    return 0


def _serve_token(args: argparse.Namespace) -> str | None:
    """The token the server requires: --token-file, --token, else $BOSSDB_TOKEN. A long-lived
    server's command line stays in `ps` for every local user as long as it runs."""
    if args.token_file is not None:
        try:
            token = args.token_file.read_text().strip()
        except OSError as e:
            raise InputError(f"--token-file {args.token_file}: cannot read it ({e.strerror})") from e
        if not token:
            raise InputError(f"--token-file {args.token_file} is empty")
        return token
    if args.token:
        print("warning: --token is visible to every local user (ps, /proc) while the server runs; "
              "use $BOSSDB_TOKEN or --token-file instead", file=sys.stderr, flush=True)
        return args.token
    return os.environ.get("BOSSDB_TOKEN") or None


def ingest_cmd(args: argparse.Namespace) -> int:
    from saber.volumes import ChannelRef, ingest_volume, load_volume_file, open_volumes

    ref = ChannelRef.parse(args.channel)
    data = load_volume_file(args.file, args.dtype)
    info = ingest_volume(open_volumes(args.host, args.token, args.root), ref, data,
                         voxel_size=tuple(args.voxel_size))
    print(f"{args.file} -> {ref}: {data.shape[2]} x {data.shape[1]} x {data.shape[0]} (x, y, z) {data.dtype}; "
          f"frame {info.extents[0]}")
    return 0


def export_cmd(args: argparse.Namespace) -> int:
    from saber.volumes import Box, ChannelRef, export_volume, open_volumes

    ref = ChannelRef.parse(args.channel)
    volumes = open_volumes(args.host, args.token, args.root)
    box = None
    if args.x or args.y or args.z:
        if not (args.x and args.y and args.z):
            raise InputError("give all of --x, --y and --z, or none (the whole frame)")
        box = Box(*(_range(getattr(args, a), a) for a in "xyz"))
    box = export_volume(volumes, ref, args.out, resolution=args.resolution, box=box)
    print(f"{ref} {box} at resolution {args.resolution} -> {args.out}")
    return 0


def _range(text: str, axis: str) -> tuple[int, int]:
    lo, sep, hi = text.partition(":")
    if not sep or not lo.strip().isdigit() or not hi.strip().isdigit():
        raise InputError(f"--{axis} {text!r}: expected LO:HI, e.g. 0:512")
    return int(lo), int(hi)
