cwlVersion: v1.2
class: Workflow
inputs:
  n: {type: int, default: 1}
outputs: []
steps:
  émettre:
    run: ../tool.cwl
    in: {n: n}
    out: [out]
