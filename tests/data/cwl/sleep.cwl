cwlVersion: v1.2
class: CommandLineTool
doc: Sleeps (as the container's PID 1, which ignores SIGINT) to test interruption.
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
baseCommand: [sleep]
inputs:
  seconds: {type: int, default: 300, doc: how long, inputBinding: {position: 1}}
outputs: []
