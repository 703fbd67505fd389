cwlVersion: v1.2
class: CommandLineTool
label: boss_push
doc: |
  Write the core of a processed block back to a BossDB channel (SABER's
  boss_push, same input names) through intern's BossRemote. `input` is shaped
  like the padded box (boss_pull's output after processing); only the core is
  written, so neighbouring blocks never overwrite each other.
  The core box is xmin..xmax, ymin..ymax, zmin..zmax (half-open, voxels of
  the coordinate frame at `resolution`); the padded box grows it by `padding`
  on each side (`onesided` 1: the high side only), clamped to the frame.
  A missing channel is created (dtype_name, itype_name; the collection and
  experiment must exist). Values are cast to the channel's dtype only when
  nothing changes: fractions or values outside the dtype's range are an error.
  All-zero cores are written too (intern's create_cutout would skip them).
  Prints `pushed bossdb://... resolution R: <box> (<dtype>, N voxels, M nonzero)`.
$namespaces:
  cwltool: "http://commonwl.org/cwltool#"
requirements:
  DockerRequirement:
    dockerPull: saber/boss:0.1.0
  NetworkAccess:
    networkAccess: true
  EnvVarRequirement:
    envDef:
      BOSSDB_TOKEN: $(inputs.token)
hints:
  cwltool:Secrets:
    secrets: [token]
baseCommand: [python3, /opt/saber-tools/boss/boss_access.py, push]
inputs:
  host_name:
    type: string
    default: api.bossdb.io
    doc: The Boss API, a host name (https, e.g. api.bossdb.io) or a URL with its scheme (http://127.0.0.1:8000 for `saber bossdb serve`).
    inputBinding: {prefix: --host}
  token:
    type: string
    default: public
    doc: |
      The BossDB API token ("public" is BossDB's anonymous, read-only token). A
      secret: it reaches the container only as the environment variable
      BOSSDB_TOKEN, never on the command line, and the tool never prints it.
  coll_name:
    type: string
    doc: The collection.
    inputBinding: {prefix: --coll}
  exp_name:
    type: string
    doc: The experiment (in the collection).
    inputBinding: {prefix: --exp}
  chan_name:
    type: string
    doc: The channel to write (created when missing).
    inputBinding: {prefix: --chan}
  coord_name:
    type: string?
    doc: The experiment's coordinate frame, checked when given (SABER kept it as an input); an error if it differs.
    inputBinding: {prefix: --coord}
  dtype_name:
    type: string?
    doc: The dtype of a channel created here (uint8, uint16 or uint64; default uint8 for image, uint64 for annotation); an existing channel must hold it when given.
    inputBinding: {prefix: --dtype}
  itype_name:
    type: string?
    doc: The type of a channel created here, image (default; annotation when dtype_name is uint64) or annotation; an existing channel must be of it when given.
    inputBinding: {prefix: --itype}
  resolution:
    type: int
    default: 0
    doc: The resolution level (0 is full resolution; each level halves x and y, and z too in isotropic experiments).
    inputBinding: {prefix: --res}
  xmin:
    type: int
    doc: The core box's first x (voxels of the coordinate frame at `resolution`).
    inputBinding: {prefix: --xmin}
  xmax:
    type: int
    doc: The core box's x end (excluded).
    inputBinding: {prefix: --xmax}
  ymin:
    type: int
    doc: The core box's first y.
    inputBinding: {prefix: --ymin}
  ymax:
    type: int
    doc: The core box's y end (excluded).
    inputBinding: {prefix: --ymax}
  zmin:
    type: int
    doc: The core box's first z.
    inputBinding: {prefix: --zmin}
  zmax:
    type: int
    doc: The core box's z end (excluded).
    inputBinding: {prefix: --zmax}
  padding:
    type: int
    default: 0
    doc: Voxels added to the core on each side (the padded box), clamped to the coordinate frame.
    inputBinding: {prefix: --padding}
  onesided:
    type: int
    default: 0
    doc: 1 pads only the high side of each axis (SABER's convention); 0 pads both sides.
    inputBinding: {prefix: --onesided}
  axes:
    type:
      type: enum
      symbols: [xyz, zyx]
    default: xyz
    doc: Axis order of `input`, xyz (SABER's tools) or zyx (intern's and saber's neuro tools).
    inputBinding: {prefix: --axes}
  input:
    type: File
    doc: The block, .npy in `axes` order, shaped like the padded box; any integer, boolean or whole-valued float dtype.
    inputBinding: {prefix: --input}
outputs:
  pushed:
    type: File
    doc: 'push.json: {"channel", "resolution", "box" (the core written, {"x": [lo, hi], ...}), "dtype", "voxels", "nonzero"}.'
    outputBinding: {glob: push.json}
