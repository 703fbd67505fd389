cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  say:
    run: no_such_tool.cwl
    in: {}
    out: []
