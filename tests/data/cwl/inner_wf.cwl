cwlVersion: v1.2
class: Workflow
doc: Adds twice; used as a subworkflow.
inputs:
  start: int
  step: {type: int, default: 1}
outputs:
  result: {type: int, outputSource: second/sum}
steps:
  first:
    run: add.cwl
    in: {a: start, b: step}
    out: [sum]
  second:
    run: add.cwl
    in: {a: first/sum, b: step}
    out: [sum]
