cwlVersion: v1.2
class: Workflow
doc: One step per plan feature; steps are compiled, never run.
requirements:
  ScatterFeatureRequirement: {}
  StepInputExpressionRequirement: {}
  InlineJavascriptRequirement: {}
  MultipleInputFeatureRequirement: {}
  EnvVarRequirement:
    envDef: {SABER_TEST: inherited}
inputs:
  xs: {type: "int[]", default: [1, 2], doc: numbers to scatter over}
  ys: {type: "int[]", default: [10, 20, 30]}
  n: {type: int, doc: a required number}
  flag: {type: boolean, default: true}
  label: {type: "string?"}
outputs:
  total: {type: int, outputSource: plus/sum}
  either:
    type: int
    outputSource: [gated/sum, plus/sum]
    pickValue: first_non_null
steps:
  plus:
    run: add.cwl
    in:
      a: {source: n, valueFrom: "$(self + 1)"}
      b: {default: 5}
    out: [sum]
  dot:
    run: add.cwl
    scatter: [a, b]
    scatterMethod: dotproduct
    in: {a: xs, b: xs}
    out: [sum]
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
  gated:
    run: add.cwl
    when: $(inputs.on)
    in:
      a: plus/sum
      on: flag
    out: [sum]
  merged:
    run: add.cwl
    in:
      a:
        source: [plus/sum, gated/sum]
        linkMerge: merge_flattened
        pickValue: the_only_non_null
      b: {source: n, default: 7}
    out: [sum]
