cwlVersion: v1.2
class: Workflow
inputs:
  n: int
outputs: []
steps:
  emit:
    run: ../tool.cwl
    in: {n: n}
    out: [out, extra]
