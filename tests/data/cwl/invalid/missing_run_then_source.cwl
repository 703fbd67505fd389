cwlVersion: v1.2
class: Workflow
doc: A step whose run file is missing, and a later step wired to an output of it.
inputs:
  message: string
outputs: []
steps:
  say:
    run: no_such_tool.cwl
    in: {message: message}
    out: [out]
  again:
    run: ../echo.cwl
    in: {message: say/text}
    out: [out]
