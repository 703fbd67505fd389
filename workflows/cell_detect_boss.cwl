cwlVersion: v1.2
class: Workflow
label: cell_detect_boss
doc: |
  Detect cells in one block of a BossDB volume, SABER-style: pull the block's
  raw image and its ground-truth cell labels (both padded with `padding` voxels
  of the neighbouring blocks, clamped to the frame), turn the raw block into a
  cell probability map, detect blob-shaped cells in it, score the detections in
  the block's core against the true cells (precision, recall, F1; the study's
  score is metrics' `F1: ...` line), and merge the detected cell labels into
  the output annotation channel, adopting the IDs of cells that neighbouring
  blocks already stored across the block's faces. A sweep over the box
  (sweeps/cell_detect_boss.yml) tiles a volume into blocks.
$namespaces:
  saber: https://saber.dev/cwl#  # saber's own hints (score_format); cwltool then accepts them quietly
  cwltool: http://commonwl.org/cwltool#

hints:
  cwltool:Secrets: {secrets: [token]}  # never in DAG files, run conf, XCom or logs

inputs:
  host_name:
    type: string
    default: api.bossdb.io
    doc: Boss API host, e.g. api.bossdb.io or http://127.0.0.1:8000 (a local `saber bossdb serve`).
  token:
    type: string
    default: public
    doc: Boss API token (a secret); without one in the job, $BOSSDB_TOKEN, else "public" (read-only access).
  coll_name:
    type: string
    doc: BossDB collection.
  exp_name:
    type: string
    doc: BossDB experiment (its coordinate frame bounds the padded blocks).
  raw_chan:
    type: string
    default: raw
    doc: Image channel with the raw volume.
  truth_chan:
    type: string
    default: cells
    doc: Annotation channel (uint64) with the ground-truth cell labels, one ID per cell.
  out_chan:
    type: string
    default: detections
    doc: Annotation channel (uint64) the detected cell labels are merged into.
  resolution:
    type: int
    default: 0
    doc: Resolution level of every cutout (0 is full resolution).
  xmin:
    type: int
    doc: The block's core, x from (inclusive).
  xmax:
    type: int
    doc: The block's core, x to (exclusive).
  ymin:
    type: int
    doc: The block's core, y from (inclusive).
  ymax:
    type: int
    doc: The block's core, y to (exclusive).
  zmin:
    type: int
    doc: The block's core, z from (inclusive).
  zmax:
    type: int
    doc: The block's core, z to (exclusive).
  padding:
    type: int
    default: 8
    doc: Voxels of context pulled around the core on every side (about a cell diameter), so cells on the core's faces are seen whole.
  sigma:
    type: float
    default: 1.5
    doc: Smoothing (voxels) before cell detection.
  threshold:
    type: float
    default: 0.3
    doc: Smallest smoothed probability a cell may peak at.
  min_blobness:
    type: float
    default: 0.2
    doc: Smallest weakest/strongest Hessian curvature ratio of a detected peak (rejects vessels).

outputs:
  report:
    type: File
    doc: Detection report JSON for the block's core (counts, precision, recall, F1, mean matched distance, the core).
    outputSource: metrics/report
  f1:
    type: float
    doc: F1 of the cells detected in the block's core (1 when the core has no true and no detected cells).
    outputSource: metrics/f1
  count:
    type: int
    doc: Number of cells detected in the padded block.
    outputSource: detect_cells/count
  merged:
    type: File
    doc: boss_merge's merge.json (what was written to `out_chan` and which IDs were adopted from neighbours).
    outputSource: merge/merged

steps:
  pull_raw:
    doc: Pull the raw image of the padded block, axes (z, y, x), and the cutout.json that places its core.
    run: ../cwl_tools/boss/boss_pull.cwl
    in:
      host_name: host_name
      token: token
      coll_name: coll_name
      exp_name: exp_name
      chan_name: raw_chan
      resolution: resolution
      xmin: xmin
      xmax: xmax
      ymin: ymin
      ymax: ymax
      zmin: zmin
      zmax: zmax
      padding: padding
      axes: {default: zyx}
      output_name: {default: raw.npy}
    out: [pull_output, cutout]

  pull_truth:
    doc: Pull the ground-truth cell labels of the same padded block, axes (z, y, x).
    run: ../cwl_tools/boss/boss_pull.cwl
    in:
      host_name: host_name
      token: token
      coll_name: coll_name
      exp_name: exp_name
      chan_name: truth_chan
      dtype_name: {default: uint64}
      itype_name: {default: annotation}
      resolution: resolution
      xmin: xmin
      xmax: xmax
      ymin: ymin
      ymax: ymax
      zmin: zmin
      zmax: zmax
      padding: padding
      axes: {default: zyx}
      output_name: {default: truth.npy}
    out: [pull_output]

  cell_probability:
    doc: Cell probability map of the raw block.
    run: ../cwl_tools/neuro/cell_probability.cwl
    in:
      volume: pull_raw/pull_output
    out: [probability]

  detect_cells:
    doc: Blob-shaped local maxima of the probability map, and a cell label block (uint32).
    run: ../cwl_tools/neuro/detect_cells.cwl
    in:
      volume: cell_probability/probability
      sigma: sigma
      threshold: threshold
      min_blobness: min_blobness
    out: [detections, labels, count]

  metrics:
    doc: Score the detections in the block's core against the true cells' centroids.
    run: ../cwl_tools/neuro/metrics.cwl
    in:
      truth: pull_truth/pull_output
      detected: detect_cells/detections
      box: pull_raw/cutout
    out: [report, f1]
    hints:
      saber: {score_format: "F1: {score}"}  # the trial's score: metrics' last 'F1: ...' line

  merge:
    doc: Write the core of the detected cell labels into `out_chan`, stitched to the neighbours' labels.
    run: ../cwl_tools/boss/boss_merge.cwl
    in:
      host_name: host_name
      token: token
      coll_name: coll_name
      exp_name: exp_name
      chan_name: out_chan
      dtype_name: {default: uint64}
      itype_name: {default: annotation}
      resolution: resolution
      xmin: xmin
      xmax: xmax
      ymin: ymin
      ymax: ymax
      zmin: zmin
      zmax: zmax
      padding: padding
      axes: {default: zyx}
      input: detect_cells/labels
    out: [merged]
