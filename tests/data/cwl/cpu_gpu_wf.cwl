cwlVersion: v1.2
class: Workflow
doc: |
  A CPU step (default queue) whose string goes to a scatter of one-GPU steps (queue gpu). Only
  strings pass between them, through XComs: the steps may run on workers that share no storage.
requirements:
  ScatterFeatureRequirement: {}
inputs:
  message: {type: string, default: hello}
  items: {type: "int[]", default: [1]}
  nap: {type: float, default: 0}
outputs:
  greeting: {type: string, outputSource: cpu/text}
  said: {type: "string[]", outputSource: gpu/text}
steps:
  cpu:
    run: echo.cwl
    in: {message: message}
    out: [text]
  gpu:
    run: gpu_echo.cwl
    scatter: item
    in: {message: cpu/text, item: items, nap: nap}
    out: [text]
