cwlVersion: v1.2
class: Workflow
inputs:
  items: int[]
outputs: []
steps:
  emit:
    run: ../tool.cwl
    scatter: n
    in: {n: items}
    out: [out]
