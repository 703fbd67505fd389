cwlVersion: v1.2
class: CommandLineTool
label: threshold
doc: |
  Threshold a volume into a boolean mask, at a fixed level (voxels >= `threshold`)
  or at Otsu's level (skimage.filters.threshold_otsu; voxels above it). Prints
  `threshold: <level>`.
requirements:
  DockerRequirement:
    dockerPull: saber/neuro:0.1.0
  InlineJavascriptRequirement: {}
baseCommand: [python3, /opt/saber-tools/neuro/threshold.py]
inputs:
  volume:
    type: File
    doc: Input volume, NumPy .npy array (e.g. synth_volume's `raw` or cell_probability's `probability`).
    inputBinding: {prefix: --volume}
  method:
    type:
      type: enum
      symbols: [fixed, otsu]
    default: otsu
    doc: How the level is chosen; `fixed` needs `threshold`.
    inputBinding: {prefix: --method}
  threshold:
    type: float?
    doc: The level for method `fixed` (ignored by `otsu`).
    inputBinding: {prefix: --threshold}
outputs:
  mask:
    type: File
    doc: Foreground mask, boolean .npy array of the input's shape.
    outputBinding: {glob: mask.npy}
  level:
    type: float
    doc: The threshold used (the fixed one, or Otsu's).
    outputBinding:
      glob: threshold.txt
      loadContents: true
      outputEval: $(parseFloat(self[0].contents))
