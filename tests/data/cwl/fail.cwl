cwlVersion: v1.2
class: CommandLineTool
doc: Fails with a chosen exit code after writing to stderr.
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
baseCommand: [python3, -c, "import sys; print('about to fail', file=sys.stderr); print('boom: bad voxel', file=sys.stderr); sys.exit(int(sys.argv[1]))"]
inputs:
  code: {type: int, default: 3, doc: exit code, inputBinding: {position: 1}}
outputs: []
