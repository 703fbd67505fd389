cwlVersion: v1.2
class: Workflow
doc: String inputs wired to echo's int input, twice.
inputs:
  message: string
  count: string
outputs: []
steps:
  say:
    run: ../echo.cwl
    in:
      message: message
      times: count
    out: [out]
  again:
    run: ../echo.cwl
    in:
      message: message
      times: message
    out: [out]
