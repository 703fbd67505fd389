cwlVersion: v1.2
class: CommandLineTool
doc: Add two ints (not run by the unit tests).
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
  InlineJavascriptRequirement: {}
baseCommand: [python3, -c, "import sys; print(int(sys.argv[1]) + int(sys.argv[2]))"]
inputs:
  a: {type: int, inputBinding: {position: 1}}
  b: {type: int, default: 0, inputBinding: {position: 2}}
stdout: sum.txt
outputs:
  sum:
    type: int
    outputBinding: {glob: sum.txt, loadContents: true, outputEval: "$(parseInt(self[0].contents))"}
