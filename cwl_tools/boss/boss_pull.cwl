cwlVersion: v1.2
class: CommandLineTool
label: boss_pull
doc: |
  Read a cutout of a BossDB channel (SABER's boss_pull, same input names)
  through intern's BossRemote: the padded box, written as a .npy array in
  `axes` order, with cutout.json saying where the core lies inside it.
  The core box is xmin..xmax, ymin..ymax, zmin..zmax (half-open, voxels of
  the coordinate frame at `resolution`); the padded box grows it by `padding`
  on each side (`onesided` 1: the high side only), clamped to the frame.
  Checks coord_name, dtype_name and itype_name when given. Errors (unknown
  collection, experiment or channel; a box outside the frame; a refused token;
  a server that does not answer after 4 tries over about 7 s) are one sentence
  on stderr. Prints `pulled bossdb://... resolution R: <box> (<dtype>, shape
  <shape> <axes>) -> <output_name>`.
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
baseCommand: [python3, /opt/saber-tools/boss/boss_access.py, pull]
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
    doc: The channel to read.
    inputBinding: {prefix: --chan}
  coord_name:
    type: string?
    doc: The experiment's coordinate frame, checked when given (SABER kept it as an input); an error if it differs.
    inputBinding: {prefix: --coord}
  dtype_name:
    type: string?
    doc: The dtype the channel must hold (uint8, uint16 or uint64), checked when given.
    inputBinding: {prefix: --dtype}
  itype_name:
    type: string?
    doc: The channel type it must be (image or annotation), checked when given.
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
    doc: Axis order of the .npy written, xyz (SABER's tools) or zyx (intern's and saber's neuro tools).
    inputBinding: {prefix: --axes}
  output_name:
    type: string
    default: pull_output.npy
    doc: File name of the .npy written.
    inputBinding: {prefix: --output}
outputs:
  pull_output:
    type: File
    doc: The padded box of the channel, .npy in `axes` order, the channel's dtype.
    outputBinding: {glob: $(inputs.output_name)}
  cutout:
    type: File
    doc: |
      cutout.json: {"channel": "bossdb://c/e/ch", "resolution": r, "dtype": ...,
      "axes": "xyz" or "zyx", "shape": [...], "box": {"x": [lo, hi], "y": [...],
      "z": [...]} (the padded box read, frame coordinates), "core": {...} (the core
      box asked for), "core_in_array": {"x": [a, b], "y": [...], "z": [...]}
      (where the core lies inside the array, per axis letter)}.
    outputBinding: {glob: cutout.json}
