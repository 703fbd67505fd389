cwlVersion: v1.1
class: CommandLineTool
doc: A v1.1 tool.
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
baseCommand: echo
inputs:
  message: {type: string, inputBinding: {position: 1}}
stdout: out.txt
outputs:
  out: {type: stdout}
