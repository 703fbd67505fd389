cwlVersion: v1.2
class: Workflow
doc: A scatter inside a scattered subworkflow (nested mapping), which saber does not support yet.
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
          run: ../add.cwl
          scatter: a
          in: {a: {source: start, valueFrom: "$([self, self])"}}
          out: [sum]
