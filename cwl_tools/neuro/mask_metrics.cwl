cwlVersion: v1.2
class: CommandLineTool
label: mask_metrics
doc: |
  Score a predicted mask against a true one voxel by voxel: precision, recall,
  IoU and Dice (= voxel F1). Prints them, with `Dice: <value>` as the last
  stdout line (a score_format of "Dice: {score}" reads it).
requirements:
  DockerRequirement:
    dockerPull: saber/neuro:0.1.0
  InlineJavascriptRequirement: {}
baseCommand: [python3, /opt/saber-tools/neuro/mask_metrics.py]
inputs:
  truth:
    type: File
    doc: True mask, .npy array; non-zero is foreground (e.g. synth_volume's `vessel_mask`).
    inputBinding: {prefix: --truth}
  predicted:
    type: File
    doc: Predicted mask of the same shape, .npy array (e.g. vessel_segment's `vessel_mask`).
    inputBinding: {prefix: --predicted}
outputs:
  report:
    type: File
    doc: 'Report JSON: {"true_voxels", "predicted_voxels", "true_positives", "precision", "recall", "iou", "dice"}.'
    outputBinding: {glob: report.json}
  dice:
    type: float
    doc: The Dice coefficient (voxel F1).
    outputBinding:
      glob: report.json
      loadContents: true
      outputEval: $(JSON.parse(self[0].contents).dice)
