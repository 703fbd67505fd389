cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  say:
    run: list_doc.cwl
    in: {}
    out: []
