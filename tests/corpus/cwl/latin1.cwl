cwlVersion: v1.2
class: CommandLineTool
doc: "café"
baseCommand: echo
inputs: []
outputs: []
