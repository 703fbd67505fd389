cwlVersion: v1.2
class: CommandLineTool
label: detect_cells
doc: |
  Detect cells in 3-D: the volume (rescaled to [0, 1] by its 0.5th/99.9th
  percentiles) is smoothed with a Gaussian (`sigma`); local maxima at least
  `min_distance` voxels apart that reach `threshold` are candidates, and only
  blob-shaped ones are kept (Hessian eigenvalues all negative, weakest/strongest
  curvature >= `min_blobness`, which rejects maxima along vessels). Voxels at or
  above `threshold`/2 go to their nearest detection within `max_radius`.
  Prints `cells: N`.
requirements:
  DockerRequirement:
    dockerPull: saber/neuro:0.1.0
  InlineJavascriptRequirement: {}
baseCommand: [python3, /opt/saber-tools/neuro/detect_cells.py]
inputs:
  volume:
    type: File
    doc: Probability map (cell_probability's `probability`) or raw volume, NumPy .npy, axes (z, y, x).
    inputBinding: {prefix: --volume}
  sigma:
    type: float?
    default: 1.5
    doc: Standard deviation (voxels) of the smoothing Gaussian, about half a cell radius.
    inputBinding: {prefix: --sigma}
  threshold:
    type: float?
    default: 0.3
    doc: Smallest smoothed value (on the [0, 1] scale) a cell may peak at.
    inputBinding: {prefix: --threshold}
  min_distance:
    type: int?
    default: 3
    doc: Peaks must be the maximum of a cube of side 2 * min_distance + 1 voxels.
    inputBinding: {prefix: --min-distance}
  min_blobness:
    type: float?
    default: 0.2
    doc: Smallest ratio of the weakest to the strongest Hessian curvature at a peak (1 sphere, 0 tube).
    inputBinding: {prefix: --min-blobness}
  max_radius:
    type: float?
    default: 6.0
    doc: Label voxels at most this far (voxels) from their cell's centre.
    inputBinding: {prefix: --max-radius}
outputs:
  detections:
    type: File
    doc: 'Detected cells, JSON: {"count": N, "centroids": [[z, y, x], ...], "scores": [...]}.'
    outputBinding: {glob: detections.json}
  labels:
    type: File
    doc: Cell label volume, uint32 .npy array; 0 is background, cells are 1..N in the order of `detections`.
    outputBinding: {glob: labels.npy}
  count:
    type: int
    doc: Number of cells detected (N).
    outputBinding:
      glob: count.txt
      loadContents: true
      outputEval: $(parseInt(self[0].contents))
