cwlVersion: v1.2
class: Workflow
label: cell_detect_local
doc: |
  Detect cells in a synthetic neuroscience volume, locally (no BossDB): make a
  volume with known cells and vessels, turn it into a cell probability map,
  detect blob-shaped cells in it, and score the detections against the true
  centroids (precision, recall, F1; the study's score is metrics' `F1: ...` line).
$namespaces:
  saber: https://saber.dev/cwl#  # saber's own hints (score_format); cwltool then accepts them quietly

inputs:
  shape:
    type: int[]
    default: [32, 32, 32]
    doc: Volume shape in voxels (z, y, x).
  n_cells:
    type: int
    default: 8
    doc: Number of cells in the volume.
  noise:
    type: float
    default: 10.0
    doc: Standard deviation of the Gaussian noise, in uint8 grey levels.
  seed:
    type: int
    default: 0
    doc: Random seed for the synthetic volume.
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
    doc: Detection report JSON (counts, precision, recall, F1, mean matched distance).
    outputSource: metrics/report
  f1:
    type: float
    doc: F1 of the detected cells.
    outputSource: metrics/f1
  count:
    type: int
    doc: Number of cells detected.
    outputSource: detect_cells/count

steps:
  synth_volume:
    doc: Synthesise the volume and its ground truth.
    run: ../cwl_tools/neuro/synth_volume.cwl
    in:
      shape: shape
      n_cells: n_cells
      noise: noise
      seed: seed
    out: [raw, cells]

  cell_probability:
    doc: Cell probability map of the raw volume.
    run: ../cwl_tools/neuro/cell_probability.cwl
    in:
      volume: synth_volume/raw
    out: [probability]

  detect_cells:
    doc: Blob-shaped local maxima of the probability map.
    run: ../cwl_tools/neuro/detect_cells.cwl
    in:
      volume: cell_probability/probability
      sigma: sigma
      threshold: threshold
      min_blobness: min_blobness
    out: [detections, count]

  metrics:
    doc: Score the detections against the true centroids.
    run: ../cwl_tools/neuro/metrics.cwl
    in:
      truth: synth_volume/cells
      detected: detect_cells/detections
    out: [report, f1]
    hints:
      saber: {score_format: "F1: {score}"}  # the trial's score: metrics' last 'F1: ...' line
