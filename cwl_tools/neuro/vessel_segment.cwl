cwlVersion: v1.2
class: CommandLineTool
label: vessel_segment
doc: |
  Segment bright vessels: Frangi vesselness (skimage.filters.frangi,
  black_ridges=False) over the scales `sigmas` on the volume rescaled to
  [0, 1], divided by its maximum, thresholded at `threshold` (a number in
  [0, 1], or `otsu`). Frangi also answers inside bright cells, so components
  under `min_size` voxels or shorter than `min_length` voxels along their major
  axis (compact: cells, noise) are dropped; vessels are long. Prints
  `threshold: <level>`.
requirements:
  DockerRequirement:
    dockerPull: saber/neuro:0.1.0
baseCommand: [python3, /opt/saber-tools/neuro/vessel_segment.py]
inputs:
  volume:
    type: File
    doc: Raw volume, NumPy .npy array, axes (z, y, x) (e.g. synth_volume's `raw`).
    inputBinding: {prefix: --volume}
  sigmas:
    type: float[]?
    default: [1.0, 1.5, 2.0]
    doc: Frangi scales in voxels, about the radii of the vessels sought.
    inputBinding: {prefix: --sigmas}
  threshold:
    type: string?
    default: "0.02"
    doc: Vesselness level in [0, 1] (as text), or `otsu` for Otsu's level of the non-zero responses.
    inputBinding: {prefix: --threshold}
  min_size:
    type: int?
    default: 20
    doc: Mask components with fewer voxels than this are dropped.
    inputBinding: {prefix: --min-size}
  min_length:
    type: float?
    default: 12.0
    doc: Mask components shorter than this along their major axis (4 sqrt of the largest coordinate variance, voxels) are dropped.
    inputBinding: {prefix: --min-length}
outputs:
  vesselness:
    type: File
    doc: Vesselness, float32 .npy array in [0, 1], the input's shape.
    outputBinding: {glob: vesselness.npy}
  vessel_mask:
    type: File
    doc: Vessel mask, boolean .npy array.
    outputBinding: {glob: vessel_mask.npy}
