cwlVersion: v1.2
class: Workflow
doc: Inputs of every kind, for the DAG's params (no steps run).
inputs:
  count: {type: int, default: 3, doc: how many}
  ratio: {type: double?}
  name: {type: string, doc: required name}
  image: {type: File, doc: an input image}
  mode: {type: {type: enum, symbols: [fast, slow]}, doc: the mode}
  either: {type: ["int", "string"], doc: int or string}
  tags: {type: "string[]", default: [a]}
outputs: []
steps:
  say:
    run: echo.cwl
    in: {message: name}
    out: [out]
