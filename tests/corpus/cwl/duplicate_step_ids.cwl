cwlVersion: v1.2
class: Workflow
inputs:
  n: {type: int, default: 1}
outputs: []
steps:
  - id: emit
    run: ../tool.cwl
    in: {n: n}
    out: [out]
  - id: emit
    run: ../tool.cwl
    in: {n: n}
    out: [out]
