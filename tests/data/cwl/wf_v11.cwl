cwlVersion: v1.1
class: Workflow
inputs:
  message: {type: string, default: hi}
outputs:
  out: {type: File, outputSource: say/out}
steps:
  say:
    run: echo_v11.cwl
    in: {message: message}
    out: [out]
