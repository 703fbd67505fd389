cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  say:
    run: dev_version.cwl
    in: []
    out: []
