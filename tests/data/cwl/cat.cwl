cwlVersion: v1.2
class: CommandLineTool
doc: Concatenate files.
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
baseCommand: cat
inputs:
  files: {type: "File[]", doc: files to join, inputBinding: {position: 1}}
stdout: joined.txt
outputs:
  joined: {type: stdout, doc: the joined file}
