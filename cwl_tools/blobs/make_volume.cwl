cwlVersion: v1.2
class: CommandLineTool
label: make_volume
doc: |
  Make a synthetic 3-D volume (cube of side `size`) holding `n_blobs` well
  separated Gaussian blobs (radius ~`radius` voxels, peaks in [0.5, 1]) plus
  Gaussian noise, clipped to [0, 1]. Writes the volume and the true blob
  centres.
requirements:
  DockerRequirement:
    dockerPull: saber/blobs:0.1.0
baseCommand: [python3, /opt/saber-tools/make_volume.py]
inputs:
  size:
    type: int
    default: 48
    doc: Side of the cubic volume, in voxels.
    inputBinding: {prefix: --size}
  n_blobs:
    type: int
    default: 12
    doc: Number of blobs to place.
    inputBinding: {prefix: --n-blobs}
  noise:
    type: float
    default: 0.1
    doc: Standard deviation of the additive Gaussian noise (intensities are in [0, 1]).
    inputBinding: {prefix: --noise}
  seed:
    type: int
    default: 0
    doc: Random seed for blob positions, peak heights and noise.
    inputBinding: {prefix: --seed}
  radius:
    type: float
    default: 3.0
    doc: Blob radius in voxels (distance at which a blob falls to half its peak).
    inputBinding: {prefix: --radius}
outputs:
  volume:
    type: File
    doc: The volume, float32 array with axes (z, y, x), NumPy .npy format.
    outputBinding: {glob: volume.npy}
  truth:
    type: File
    doc: 'Ground truth, JSON: {"n_blobs": N, "centers": [[z, y, x], ...], "amplitudes": [...]}.'
    outputBinding: {glob: truth.json}
