cwlVersion: v1.2
class: Workflow
inputs:
  message: string
outputs: []
steps:
  say:
    run: ../echo.cwl
    in: {message: nowhere}
    out: [out]
