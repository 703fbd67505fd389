cwlVersion: v1.2
class: Workflow
doc: >
  A subworkflow scattered over one of its inputs (a mapped task group), with a valueFrom
  evaluated per element after the scatter, and its own `when` per element.
requirements:
  SubworkflowFeatureRequirement: {}
  ScatterFeatureRequirement: {}
  StepInputExpressionRequirement: {}
  InlineJavascriptRequirement: {}
inputs:
  starts: {type: "int[]", default: [1, 2, 3]}
outputs:
  results: {type: {type: array, items: ["null", int]}, outputSource: each/result}
  after: {type: int, outputSource: total/sum}
steps:
  each:
    run: inner_wf.cwl
    scatter: start
    in:
      start: starts
      step: {default: 2, valueFrom: "$(inputs.start * 10)"}
    when: $(inputs.start != 2)
    out: [result]
  total:
    run: add.cwl
    in:
      a: {source: each/result, valueFrom: "$(self.filter(function(x) { return x !== null; }).length)"}
      b: {default: 100}
    out: [sum]
