cwlVersion: v1.2
class: Workflow
doc: A scattered subworkflow inside a scattered subworkflow (a mapped group in a mapped group).
requirements:
  SubworkflowFeatureRequirement: {}
  ScatterFeatureRequirement: {}
inputs:
  starts: {type: "int[]", default: [1, 2]}
outputs: []
steps:
  outer:
    scatter: start
    in: {start: starts}
    out: []
    run:
      class: Workflow
      inputs:
        start: int
      outputs: []
      steps:
        inner:
          run: ../inner_wf.cwl
          scatter: start
          in: {start: {source: start, valueFrom: "$([self, self])"}}
          out: [result]
