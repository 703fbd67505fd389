cwlVersion: v1.2
class: Workflow
doc: Echo each message, then join the files.
requirements:
  ScatterFeatureRequirement: {}
  StepInputExpressionRequirement: {}
  InlineJavascriptRequirement: {}
  MultipleInputFeatureRequirement: {}
inputs:
  messages: {type: "string[]", default: [a, b, c], doc: messages}
  suffix: {type: string, default: "!", doc: appended}
outputs:
  joined: {type: File, outputSource: join/joined}
  texts: {type: "string[]", outputSource: shout/text}
steps:
  shout:
    run: echo.cwl
    scatter: message
    in:
      message: {source: messages, valueFrom: "$(self + inputs.suffix)"}
      suffix: suffix
    out: [out, text]
  join:
    run: cat.cwl
    in: {files: shout/out}
    out: [joined]
