cwlVersion: v1.2
class: Workflow
inputs:
  word: string
outputs: []
steps:
  emit:
    run: ../tool.cwl
    in: {infile: word}
    out: [out]
