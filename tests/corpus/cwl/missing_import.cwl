cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs:
  $import: no_such_inputs.yml
outputs: []
