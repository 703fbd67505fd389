cwlVersion: v1.2
class: Workflow
doc: Echo a message, then join it with itself.
requirements:
  InlineJavascriptRequirement: {}
inputs:
  word: string
outputs:
  joined: {type: File, outputSource: join/joined}
  said: {type: string, outputSource: say/text}
steps:
  say:
    run: ../echo.cwl
    in: {message: word}
    out: [out, text]
  join:
    run: ../cat.cwl
    in:
      files: {source: [say/out, say/out], linkMerge: merge_flattened}
    out: [joined]
