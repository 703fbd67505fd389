cwlVersion: v1.2
class: Workflow
inputs:
  - {id: n, type: int}
  - {id: n, type: string}
outputs: []
steps:
  emit:
    run: ../tool.cwl
    in: {n: n}
    out: [out]
