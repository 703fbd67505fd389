cwlVersion: v1.2
class: Workflow
doc: >
  A scatter inside a scattered subworkflow: the outer scatter is a mapped task group, the inner
  one runs inside each element's task (nested_crossproduct, with a `when` per inner job).
requirements:
  SubworkflowFeatureRequirement: {}
  ScatterFeatureRequirement: {}
  StepInputExpressionRequirement: {}
  InlineJavascriptRequirement: {}
inputs:
  starts: {type: "int[]", default: [1, 2]}
  steps: {type: "int[]", default: [10, 20, 30]}
  factors: {type: "int[]", default: [1, 100]}
outputs:
  sums:
    type: {type: array, items: {type: array, items: {type: array, items: ["null", int]}}}
    outputSource: outer/sums
steps:
  outer:
    scatter: start
    in: {start: starts, steps: steps, factors: factors}
    out: [sums]
    run:
      class: Workflow
      inputs:
        start: int
        steps: int[]
        factors: int[]
      outputs:
        sums: {type: {type: array, items: {type: array, items: ["null", int]}}, outputSource: add/sum}
      steps:
        add:
          run: add.cwl
          scatter: [a, b]
          scatterMethod: nested_crossproduct
          in:
            a: {source: factors, valueFrom: "$(self * inputs.start)"}
            b: steps
            start: start
          when: $(inputs.b != 20)
          out: [sum]
