cwlVersion: v1.2
class: CommandLineTool
doc: "Bench P6's plain tool, one quick container per point: writes its int input to a file."
requirements:
  DockerRequirement: {dockerPull: saber/blobs:0.1.0}
baseCommand: [python3, -c, "import sys; open('n.txt', 'w').write(sys.argv[1])"]
inputs:
  n: {type: int, inputBinding: {position: 1}}
outputs:
  out: {type: File, outputBinding: {glob: n.txt}}
