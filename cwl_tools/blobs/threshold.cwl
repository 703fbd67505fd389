cwlVersion: v1.2
class: CommandLineTool
label: threshold
doc: |
  Smooth a 3-D volume with a Gaussian (`sigma` voxels, 0 for none) and keep
  the voxels at or above `threshold` as a boolean foreground mask.
requirements:
  DockerRequirement:
    dockerPull: saber/blobs:0.1.0
baseCommand: [python3, /opt/saber-tools/threshold.py]
inputs:
  volume:
    type: File
    doc: Input volume, NumPy .npy array (e.g. make_volume's `volume`).
    inputBinding: {prefix: --volume}
  threshold:
    type: float
    doc: Intensity threshold applied after smoothing.
    inputBinding: {prefix: --threshold}
  sigma:
    type: float?
    default: 1.0
    doc: Standard deviation (voxels) of the Gaussian smoothing before thresholding; 0 disables it.
    inputBinding: {prefix: --sigma}
outputs:
  mask:
    type: File
    doc: Foreground mask, boolean NumPy .npy array of the volume's shape.
    outputBinding: {glob: mask.npy}
