cwlVersion: v1.2
class: CommandLineTool
label: metrics
doc: |
  Score detected cell centroids against the true ones: greedy one-to-one
  matching by increasing distance within `max_distance` voxels, then
  precision, recall and F1. With no true and no detected cells (in the core,
  when `box` is given) all three are 1: nothing to find, nothing found.
  Centroids are in the volume's array index order. Given `box` (boss_pull's
  `cutout`), the matching uses the whole padded block, but precision counts
  only the detections inside the block's core and recall only the true cells
  inside it: each cell of a tiled volume is scored in one block only, and a cell
  on the core's face found just across it is a match. Prints `precision: ...`,
  `recall: ...` and, as its last stdout line, `F1: <value>` (a score_format of
  "F1: {score}" reads it).
requirements:
  DockerRequirement:
    dockerPull: saber/neuro:0.1.0
  InlineJavascriptRequirement: {}
baseCommand: [python3, /opt/saber-tools/neuro/metrics.py]
inputs:
  truth:
    type: File
    doc: |
      The true cells: JSON with "centroids" (synth_volume's `cells`), or a label
      volume .npy (0 background, one integer label per cell, any integer dtype,
      uint64 included, e.g. boss_pull of an annotation channel), whose centroids
      are the labels' centres of mass.
    inputBinding: {prefix: --truth}
  detected:
    type: File
    doc: |
      The detected cells: JSON with "centroids" (detect_cells's `detections` or
      connected_components's `components`), or a label volume .npy as for `truth`.
    inputBinding: {prefix: --detected}
  max_distance:
    type: float?
    default: 3.0
    doc: Largest distance (voxels) between a detected and a true centroid that counts as a match.
    inputBinding: {prefix: --max-distance}
  box:
    type: File?
    doc: |
      boss_pull's `cutout` (cutout.json) for the block that `truth` and
      `detected` come from: {"axes": "zyx" or "xyz", "core_in_array": {"x": [a, b],
      "y": [c, d], "z": [e, f]}, ...}. Precision counts the detections, recall the
      true cells, inside the core (half-open per axis, centroid component i on
      axis axes[i]); matches may reach outside it. Omit to score everything.
    inputBinding: {prefix: --box}
outputs:
  report:
    type: File
    doc: |
      Report JSON: {"true_count", "detected_count", "true_positives", "precision",
      "recall", "f1", "max_distance", "mean_distance"}, counts within the core when
      `box` is given ("true_positives": its true cells found; "matched_detections":
      its detections that matched), plus then "core": {"axes", "x", "y", "z" (the core's [low, high)),
      "true_outside", "detected_outside" (centroids left out)}.
    outputBinding: {glob: report.json}
  f1:
    type: float
    doc: The F1 score.
    outputBinding:
      glob: report.json
      loadContents: true
      outputEval: $(JSON.parse(self[0].contents).f1)
