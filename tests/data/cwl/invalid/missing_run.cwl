cwlVersion: v1.2
class: Workflow
inputs:
  message: string
outputs: []
steps:
  say:
    run: no_such_tool.cwl
    in: {message: message}
    out: []
