cwlVersion: v1.2
class: Workflow
inputs:
  n: {type: int, default: 1}
outputs: []
steps:
  ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss:
    run: ../tool.cwl
    in: {n: n}
    out: [out]
