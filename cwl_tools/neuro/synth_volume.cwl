cwlVersion: v1.2
class: CommandLineTool
label: synth_volume
doc: |
  Make a synthetic neuroscience volume with known answers: `n_cells` cells
  (randomly oriented bright ellipsoids, semi-axes `cell_radius` x [0.8, 1.2])
  and `n_vessels` vessels (bright tubes of radius `vessel_radius` along random
  smooth Bezier paths between opposite faces), slightly blurred, over a
  background of 30 grey levels with Gaussian noise. Cells keep clear of each
  other, of the vessels and of the faces. All arrays are NumPy .npy, axes (z, y, x).
requirements:
  DockerRequirement:
    dockerPull: saber/neuro:0.1.0
  InlineJavascriptRequirement: {}
baseCommand: [python3, /opt/saber-tools/neuro/synth_volume.py]
inputs:
  shape:
    type: int[]
    default: [32, 32, 32]
    doc: Volume shape in voxels, three integers (z, y, x).
    inputBinding: {prefix: --shape}
  n_cells:
    type: int
    default: 8
    doc: Number of cells to place.
    inputBinding: {prefix: --n-cells}
  cell_radius:
    type: float
    default: 3.0
    doc: Mean cell semi-axis, in voxels (each semi-axis is this times a factor in [0.8, 1.2]).
    inputBinding: {prefix: --cell-radius}
  n_vessels:
    type: int
    default: 2
    doc: Number of vessels to draw.
    inputBinding: {prefix: --n-vessels}
  vessel_radius:
    type: float
    default: 1.5
    doc: Vessel radius, in voxels.
    inputBinding: {prefix: --vessel-radius}
  noise:
    type: float
    default: 10.0
    doc: Standard deviation of the additive Gaussian noise, in uint8 grey levels (cells are ~200, vessels 150).
    inputBinding: {prefix: --noise}
  seed:
    type: int
    default: 0
    doc: Random seed for the placement, shapes, brightness and noise.
    inputBinding: {prefix: --seed}
outputs:
  raw:
    type: File
    doc: The raw volume, uint8 .npy array, axes (z, y, x).
    outputBinding: {glob: raw.npy}
  cell_labels:
    type: File
    doc: Ground-truth cell labels, uint16 .npy array; 0 is background, cells are 1..N.
    outputBinding: {glob: cell_labels.npy}
  vessel_mask:
    type: File
    doc: Ground-truth vessel mask, boolean .npy array.
    outputBinding: {glob: vessel_mask.npy}
  cells:
    type: File
    doc: 'True cells, JSON: {"count": N, "centroids": [[z, y, x], ...], "semi_axes": [...], "shape": [...], ...}.'
    outputBinding: {glob: cells.json}
  cell_count:
    type: int
    doc: Number of cells placed (N).
    outputBinding:
      glob: cells.json
      loadContents: true
      outputEval: $(JSON.parse(self[0].contents).count)
