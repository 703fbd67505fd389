cwlVersion: v1.3.0-dev1
class: CommandLineTool
baseCommand: echo
inputs: []
outputs: []
