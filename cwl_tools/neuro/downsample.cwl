cwlVersion: v1.2
class: CommandLineTool
label: downsample
doc: |
  Downsample a 3-D volume by integer factors per axis (z, y, x): block mean
  (float32; images, probabilities) or block max (input dtype kept; labels,
  masks). A trailing partial block is dropped: the shape becomes shape // factors.
requirements:
  DockerRequirement:
    dockerPull: saber/neuro:0.1.0
baseCommand: [python3, /opt/saber-tools/neuro/downsample.py]
inputs:
  volume:
    type: File
    doc: Input volume, NumPy .npy array, axes (z, y, x).
    inputBinding: {prefix: --volume}
  factors:
    type: int[]
    doc: Integer downsampling factors, three of them (z, y, x), each >= 1.
    inputBinding: {prefix: --factors}
  mode:
    type:
      type: enum
      symbols: [mean, max]
    default: mean
    doc: Block reduction - `mean` for intensities, `max` for labels and masks.
    inputBinding: {prefix: --mode}
outputs:
  downsampled:
    type: File
    doc: The downsampled volume, .npy array of shape shape // factors.
    outputBinding: {glob: downsampled.npy}
