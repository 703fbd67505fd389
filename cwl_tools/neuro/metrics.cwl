cwlVersion: v1.2
class: CommandLineTool
label: metrics
doc: |
  Score detected cell centroids against the true ones: greedy one-to-one
  matching by increasing distance within `max_distance` voxels, then
  precision, recall and F1. Prints `precision: ...`, `recall: ...` and, as its
  last stdout line, `F1: <value>` (a score_format of "F1: {score}" reads it).
requirements:
  DockerRequirement:
    dockerPull: saber/neuro:0.1.0
  InlineJavascriptRequirement: {}
baseCommand: [python3, /opt/saber-tools/neuro/metrics.py]
inputs:
  truth:
    type: File
    doc: JSON with the true "centroids" (synth_volume's `cells`).
    inputBinding: {prefix: --truth}
  detected:
    type: File
    doc: JSON with the detected "centroids" (detect_cells's `detections` or connected_components's `components`).
    inputBinding: {prefix: --detected}
  max_distance:
    type: float?
    default: 3.0
    doc: Largest distance (voxels) between a detected and a true centroid that counts as a match.
    inputBinding: {prefix: --max-distance}
outputs:
  report:
    type: File
    doc: 'Report JSON: {"true_count", "detected_count", "true_positives", "precision", "recall", "f1", "max_distance", "mean_distance"}.'
    outputBinding: {glob: report.json}
  f1:
    type: float
    doc: The F1 score.
    outputBinding:
      glob: report.json
      loadContents: true
      outputEval: $(JSON.parse(self[0].contents).f1)
