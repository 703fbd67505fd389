cwlVersion: v1.2
class: Workflow
inputs:
  message: int
outputs: []
steps:
  say:
    run: unknown_type.cwl
    in: {message: message}
    out: []
