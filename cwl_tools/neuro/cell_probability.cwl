cwlVersion: v1.2
class: CommandLineTool
label: cell_probability
doc: |
  Turn a raw volume into a cell (foreground) probability map in [0, 1]:
  Gaussian smoothing (`sigma`), then local contrast normalisation (z-score
  against the Gaussian-weighted local mean and standard deviation over
  `background_sigma` voxels) mapped through a logistic of slope `gain`
  centred on z = `offset`.
requirements:
  DockerRequirement:
    dockerPull: saber/neuro:0.1.0
baseCommand: [python3, /opt/saber-tools/neuro/cell_probability.py]
inputs:
  volume:
    type: File
    doc: Raw volume, NumPy .npy array, axes (z, y, x) (e.g. synth_volume's `raw`).
    inputBinding: {prefix: --volume}
  sigma:
    type: float?
    default: 1.0
    doc: Standard deviation (voxels) of the denoising Gaussian; 0 disables it.
    inputBinding: {prefix: --sigma}
  background_sigma:
    type: float?
    default: 8.0
    doc: Standard deviation (voxels) of the window for the local mean and standard deviation.
    inputBinding: {prefix: --background-sigma}
  gain:
    type: float?
    default: 2.0
    doc: Slope of the logistic that maps the local z-score to a probability.
    inputBinding: {prefix: --gain}
  offset:
    type: float?
    default: 1.0
    doc: Local z-score that maps to probability 0.5.
    inputBinding: {prefix: --offset}
outputs:
  probability:
    type: File
    doc: Probability map, float32 .npy array in [0, 1], the input's shape.
    outputBinding: {glob: probability.npy}
