cwlVersion: v1.2
class: Workflow
doc: A step that runs only when asked.
requirements:
  InlineJavascriptRequirement: {}
inputs:
  flag: {type: boolean, default: false}
  message: {type: string, default: hi}
outputs:
  text: {type: "string?", outputSource: maybe/text}
  always_text: {type: string, outputSource: always/text}
steps:
  maybe:
    run: echo.cwl
    when: $(inputs.flag)
    in: {message: message, flag: flag}
    out: [text]
  always:
    run: echo.cwl
    in: {message: message}
    out: [text]
