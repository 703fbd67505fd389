cwlVersion: v1.2
class: CommandLineTool
label: connected_components
doc: |
  Label the connected components of a 3-D mask (scipy.ndimage.label; 6-, 18-
  or 26-connectivity), drop those under `min_size` voxels and renumber the
  rest 1..N. Prints `components: N`.
requirements:
  DockerRequirement:
    dockerPull: saber/neuro:0.1.0
  InlineJavascriptRequirement: {}
baseCommand: [python3, /opt/saber-tools/neuro/connected_components.py]
inputs:
  mask:
    type: File
    doc: Mask, NumPy .npy array; any non-zero voxel is foreground (e.g. threshold's `mask`).
    inputBinding: {prefix: --mask}
  min_size:
    type: int?
    default: 1
    doc: Components with fewer voxels than this are dropped.
    inputBinding: {prefix: --min-size}
  connectivity:
    type: int?
    default: 26
    doc: Which neighbours touch - 6 (faces), 18 (faces, edges) or 26 (faces, edges, corners).
    inputBinding: {prefix: --connectivity}
outputs:
  labels:
    type: File
    doc: Label volume, uint32 .npy array; 0 is background, components are 1..N.
    outputBinding: {glob: labels.npy}
  components:
    type: File
    doc: 'Components, JSON: {"count": N, "centroids": [[z, y, x], ...], "sizes": [...]}.'
    outputBinding: {glob: components.json}
  count:
    type: int
    doc: Number of components kept (N).
    outputBinding:
      glob: count.txt
      loadContents: true
      outputEval: $(parseInt(self[0].contents))
