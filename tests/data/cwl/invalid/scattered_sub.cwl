cwlVersion: v1.2
class: Workflow
requirements:
  SubworkflowFeatureRequirement: {}
  ScatterFeatureRequirement: {}
inputs:
  starts: {type: "int[]", default: [1, 2]}
outputs: []
steps:
  twice:
    run: ../inner_wf.cwl
    scatter: start
    in: {start: starts}
    out: [result]
