cwlVersion: v1.2
class: CommandLineTool
label: label
doc: |
  Label the 26-connected components of a 3-D mask, drop those smaller than
  `min_size` voxels, and report how many remain and their centroids. Prints
  `components: N` on stdout.
requirements:
  DockerRequirement:
    dockerPull: saber/blobs:0.1.0
  InlineJavascriptRequirement: {}
baseCommand: [python3, /opt/saber-tools/label.py]
inputs:
  mask:
    type: File
    doc: Boolean mask, NumPy .npy array (e.g. threshold's `mask`).
    inputBinding: {prefix: --mask}
  min_size:
    type: int?
    default: 5
    doc: Components with fewer voxels than this are discarded as noise.
    inputBinding: {prefix: --min-size}
outputs:
  labels:
    type: File
    doc: Label image, int32 NumPy .npy array; 0 is background, components are 1..N.
    outputBinding: {glob: labels.npy}
  components:
    type: File
    doc: 'Components, JSON: {"count": N, "centroids": [[z, y, x], ...], "sizes": [...]}.'
    outputBinding: {glob: components.json}
  count:
    type: int
    doc: Number of components kept (N), read from count.txt.
    outputBinding:
      glob: count.txt
      loadContents: true
      outputEval: $(parseInt(self[0].contents))
