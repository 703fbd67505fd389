cwlVersion: v1.2
class: Workflow
inputs:
  n: int
outputs:
  result: {type: File, outputSource: emit/result}
steps:
  emit:
    run: ../tool.cwl
    in: {n: n}
    out: [out]
