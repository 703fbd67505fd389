cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  first:
    run: ../tool.cwl
    in: {infile: second/out}
    out: [out]
  second:
    run: ../tool.cwl
    in: {infile: first/out}
    out: [out]
