cwlVersion: v1.2
class: Workflow
doc: Nested and flat cross products, and a gather of the nested one.
requirements:
  ScatterFeatureRequirement: {}
  InlineJavascriptRequirement: {}
inputs:
  xs: {type: "int[]", default: [1, 2]}
  ys: {type: "int[]", default: [10, 20, 30]}
outputs:
  nested: {type: {type: array, items: {type: array, items: int}}, outputSource: nested/sum}
  flat: {type: "int[]", outputSource: flat/sum}
steps:
  nested:
    run: add.cwl
    scatter: [a, b]
    scatterMethod: nested_crossproduct
    in: {a: xs, b: ys}
    out: [sum]
  flat:
    run: add.cwl
    scatter: [a, b]
    scatterMethod: flat_crossproduct
    in: {a: xs, b: ys}
    out: [sum]
