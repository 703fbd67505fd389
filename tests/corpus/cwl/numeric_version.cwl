cwlVersion: 1.2
class: CommandLineTool
baseCommand: echo
inputs: []
outputs: []
