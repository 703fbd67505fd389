cwlVersion: v1.2
class: Workflow
doc: A conditional subworkflow step (CWL 1.2 `when` on a Workflow step).
requirements:
  SubworkflowFeatureRequirement: {}
  InlineJavascriptRequirement: {}
  MultipleInputFeatureRequirement: {}
inputs:
  flag: {type: boolean, default: false}
  word: {type: string, default: axon}
outputs:
  said: {type: "string?", outputSource: maybe/said}
  joined: {type: "File?", outputSource: maybe/joined}
  always_text: {type: string, outputSource: always/text}
steps:
  maybe:
    run: sub/inner.cwl
    when: $(inputs.flag)
    in: {word: word, flag: flag}
    out: [joined, said]
  always:
    run: echo.cwl
    in: {message: word}
    out: [text]
