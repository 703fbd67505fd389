cwlVersion: v1.2
class: Workflow
doc: A scatter of one-GPU steps and a two-GPU step, all free to run at once (queue gpu).
requirements:
  ScatterFeatureRequirement: {}
inputs:
  items: {type: "int[]", default: [1]}
  nap: {type: float, default: 0}
outputs:
  said: {type: "string[]", outputSource: one/text}
steps:
  one:
    run: gpu_echo.cwl
    scatter: item
    in: {message: {default: gpu}, item: items, nap: nap}
    out: [text]
  two:
    run: gpu_two.cwl
    in: {nap: nap}
    out: []
