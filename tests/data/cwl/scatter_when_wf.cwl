cwlVersion: v1.2
class: Workflow
doc: A scattered step with a condition.
requirements:
  ScatterFeatureRequirement: {}
  InlineJavascriptRequirement: {}
inputs:
  xs: {type: "int[]", default: [1, 2, 3]}
outputs:
  sums:
    type: "int[]"
    outputSource: odd/sum
    pickValue: all_non_null
steps:
  odd:
    run: add.cwl
    scatter: a
    when: $(inputs.a % 2 == 1)
    in: {a: xs}
    out: [sum]
