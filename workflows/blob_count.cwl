cwlVersion: v1.2
class: Workflow
label: blob_count
doc: |
  Count bright blobs in a synthetic 3-D volume, neuroscience style (think
  cell bodies in a light-sheet stack): make a noisy volume with known blob
  centres, threshold it at several levels (scatter), label the connected
  components of each mask (scatter), and score every threshold's detections
  against the truth with precision/recall/F1.
$namespaces:
  saber: https://saber.dev/cwl#  # saber's own hints (score_format); cwltool then accepts them quietly
requirements:
  ScatterFeatureRequirement: {}

inputs:
  size:
    type: int
    default: 48
    doc: Side of the cubic volume, in voxels.
  n_blobs:
    type: int
    default: 12
    doc: Number of blobs in the volume.
  noise:
    type: float
    default: 0.1
    doc: Standard deviation of the additive Gaussian noise (intensities are in [0, 1]).
  seed:
    type: int
    default: 0
    doc: Random seed for the synthetic volume.
  sigma:
    type: float
    default: 1.0
    doc: Gaussian smoothing (voxels) applied before thresholding.
  thresholds:
    type: float[]
    default: [0.3, 0.5, 0.7]
    doc: Intensity thresholds to try; one threshold/label branch runs per value.

outputs:
  report:
    type: File
    doc: Evaluation report JSON (per-threshold precision, recall, F1 and counts; best threshold and F1).
    outputSource: evaluate/report
  best_f1:
    type: float
    doc: Best F1 over the thresholds.
    outputSource: evaluate/best_f1
  counts:
    type: int[]
    doc: Number of components found at each threshold, in the order of `thresholds`.
    outputSource: label/count

steps:
  make_volume:
    doc: Synthesise the volume and its ground truth.
    run: ../cwl_tools/blobs/make_volume.cwl
    in:
      size: size
      n_blobs: n_blobs
      noise: noise
      seed: seed
    out: [volume, truth]

  threshold:
    doc: Smooth and threshold the volume, once per threshold.
    run: ../cwl_tools/blobs/threshold.cwl
    scatter: threshold
    in:
      volume: make_volume/volume
      threshold: thresholds
      sigma: sigma
    out: [mask]
    hints:
      ResourceRequirement: {coresMin: 1, ramMin: 256}

  label:
    doc: Label the connected components of each mask.
    run: ../cwl_tools/blobs/label.cwl
    scatter: mask
    in:
      mask: threshold/mask
    out: [labels, components, count]
    hints:
      ResourceRequirement: {coresMin: 1, ramMin: 256}

  evaluate:
    doc: Score each threshold's components against the truth.
    run: ../cwl_tools/blobs/evaluate.cwl
    in:
      truth: make_volume/truth
      components: label/components
      thresholds: thresholds
    out: [report, best_f1]
    hints:
      saber: {score_format: "F1: {score}"}  # the trial's score: evaluate's last 'F1: ...' line
