cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  items: {type: "int[]", default: [1, 2]}
outputs: []
steps:
  emit:
    run: ../tool.cwl
    scatter: n
    in: {n: items}
    out: [out]
  emit__scatter:
    run: ../tool.cwl
    in: {}
    out: [out]
