cwlVersion: v1.2
class: Workflow
doc: A step id with a dot in it (legal in CWL).
inputs:
  n: {type: int, default: 1}
outputs:
  out: {type: int, outputSource: add.again/sum}
steps:
  add.once:
    run: add.cwl
    in: {a: n}
    out: [sum]
  add.again:
    run: add.cwl
    in: {a: add.once/sum}
    out: [sum]
