cwlVersion: v1.2
class: CommandLineTool
label: boss_merge
doc: |
  Stitch a block of labels into an annotation channel (SABER's boss_merge,
  same input names), so that an object cut by block borders keeps one id.
  The core box is xmin..xmax, ymin..ymax, zmin..zmax (half-open, voxels of
  the coordinate frame at `resolution`); the padded box grows it by `padding`
  on each side (`onesided` 1: the high side only), clamped to the frame.
  (1) read the channel's labels over the padded box (zeros when it was just
  created); (2) each block label takes the stored label it overlaps most in
  the padding zone (the padded box minus the core) when that overlap is at
  least `min_overlap` voxels; (3) the others get new ids block_base + label,
  where block_base is the linear index (x fastest) of the core's first voxel in
  the frame at `resolution` times 2**16: ids of two blocks never collide in a
  tiling whose blocks are at least 2 voxels wide, as long as block labels stay
  below 2**17 (131072; an error otherwise); (4) write only the core.
  Known limit: blocks that run at the same time do not see each other's labels
  (an object they share gets two ids): run neighbouring blocks one after
  another for one id per object. Prints `merged: N labels, A adopted from neighbours, M new`.
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
baseCommand: [python3, /opt/saber-tools/boss/boss_access.py, merge]
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
    doc: The annotation channel to write (created when missing).
    inputBinding: {prefix: --chan}
  coord_name:
    type: string?
    doc: The experiment's coordinate frame, checked when given (SABER kept it as an input); an error if it differs.
    inputBinding: {prefix: --coord}
  dtype_name:
    type: string?
    doc: The dtype of a channel created here (default uint64, what the Boss keeps annotations as); an existing channel must hold it when given.
    inputBinding: {prefix: --dtype}
  itype_name:
    type: string?
    doc: The type of a channel created here (default annotation); an existing channel must be of it when given.
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
    doc: Axis order of `input`, xyz (SABER's tools) or zyx (intern's and saber's neuro tools, e.g. detect_cells' labels).
    inputBinding: {prefix: --axes}
  input:
    type: File
    doc: The label block, .npy in `axes` order, shaped like the padded box; integers, 0 background, labels local to the block (e.g. detect_cells' uint32 labels), below 2**17.
    inputBinding: {prefix: --input}
  min_overlap:
    type: int
    default: 1
    doc: Voxels a block label must share with a stored label in the padding zone to adopt its id.
    inputBinding: {prefix: --min-overlap}
outputs:
  merged:
    type: File
    doc: 'merge.json: {"channel", "resolution", "box" (the core written), "block_base", "labels", "adopted", "new", "min_overlap", "mapping": [[block label, id], ...]}.'
    outputBinding: {glob: merge.json}
