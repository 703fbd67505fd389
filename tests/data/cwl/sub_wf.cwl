cwlVersion: v1.2
class: Workflow
doc: A workflow with a subworkflow step between two tool steps.
requirements:
  SubworkflowFeatureRequirement: {}
  StepInputExpressionRequirement: {}
inputs:
  n: {type: int, default: 3}
outputs:
  final: {type: int, outputSource: after/sum}
  inner: {type: int, outputSource: twice/result}
steps:
  before:
    run: add.cwl
    in: {a: n}
    out: [sum]
  twice:
    run: inner_wf.cwl
    in:
      start: before/sum
      step: {default: 2, valueFrom: "$(self * 10)"}
    out: [result]
  after:
    run: add.cwl
    in: {a: twice/result, b: n}
    out: [sum]
