cwlVersion: v1.2
class: Workflow
doc: Two scored steps (both quadratic.cwl) and no sampler.objective to choose between them.
inputs:
  x: float
outputs: []
steps:
  first:
    run: quadratic.cwl
    in: {x: x}
    out: []
  second:
    run: quadratic.cwl
    in: {x: x}
    out: []
