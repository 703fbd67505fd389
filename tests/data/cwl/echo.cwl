#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
doc: Write a message to a file.
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
  InlineJavascriptRequirement: {}
hints:
  ResourceRequirement: {coresMin: 1, ramMin: 128}
baseCommand: [python3, -c, "import sys; print(' '.join(sys.argv[1:]))"]
inputs:
  message: {type: string, doc: the text, inputBinding: {position: 1}}
  times: {type: int, default: 1, doc: how many times, inputBinding: {position: 2, prefix: "x"}}
stdout: out.txt
outputs:
  out: {type: stdout, doc: the file}
  text:
    type: string
    doc: the file's text
    outputBinding:
      glob: out.txt
      loadContents: true
      outputEval: $(self[0].contents.trim())
