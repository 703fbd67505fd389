cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  items: int[]
outputs: []
steps:
  emit:
    run: ../tool.cwl
    scatter: count
    in: {n: items}
    out: [out]
