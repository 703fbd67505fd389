cwlVersion: v1.2
class: Workflow
$namespaces: {saber: https://saber.dev/cwl#}
doc: A score_format without its {score} field, on a workflow step.
inputs:
  message: {type: string, default: hi}
outputs: []
steps:
  say:
    run: ../echo.cwl
    in: {message: message}
    out: [out]
    hints:
      saber: {score_format: "F1: {f1}"}
