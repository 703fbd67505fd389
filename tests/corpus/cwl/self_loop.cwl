cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  again:
    run: ../tool.cwl
    in: {infile: again/out}
    out: [out]
