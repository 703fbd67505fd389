cwlVersion: v1.2
class: CommandLineTool
label: evaluate
doc: |
  Match the detected centroids of each threshold to the true blob centres
  (greedy, one-to-one, within `max_distance` voxels) and compute precision,
  recall and F1 per threshold. Prints `F1: <best F1>` as its last stdout line.
requirements:
  DockerRequirement:
    dockerPull: saber/blobs:0.1.0
  InlineJavascriptRequirement: {}
baseCommand: [python3, /opt/saber-tools/evaluate.py]
inputs:
  truth:
    type: File
    doc: Ground truth JSON from make_volume (`truth`).
    inputBinding: {prefix: --truth}
  components:
    type: File[]
    doc: Components JSON files from label, one per threshold, in the order of `thresholds`.
    inputBinding: {prefix: --components}
  thresholds:
    type: float[]
    doc: The thresholds that produced `components`, in the same order.
    inputBinding: {prefix: --thresholds}
  max_distance:
    type: float?
    default: 4.0
    doc: Largest distance (voxels) between a detected centroid and a true centre that counts as a match.
    inputBinding: {prefix: --max-distance}
outputs:
  report:
    type: File
    doc: 'Report JSON: {"thresholds", "precision", "recall", "f1", "counts", "true_count", "best_threshold", "best_f1"}.'
    outputBinding: {glob: report.json}
  best_f1:
    type: float
    doc: The best F1 over all thresholds.
    outputBinding:
      glob: report.json
      loadContents: true
      outputEval: $(JSON.parse(self[0].contents).best_f1)
  best_threshold:
    type: float?
    doc: The threshold giving the best F1 (the lowest one on ties); null when no thresholds were given.
    outputBinding:
      glob: report.json
      loadContents: true
      outputEval: $(JSON.parse(self[0].contents).best_threshold)
