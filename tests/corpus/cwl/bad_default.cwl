cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs:
  n: {type: int, default: many, inputBinding: {position: 1}}
outputs: []
