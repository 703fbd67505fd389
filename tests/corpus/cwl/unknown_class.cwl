cwlVersion: v1.2
class: Tool
baseCommand: echo
inputs: []
outputs: []
