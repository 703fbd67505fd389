cwlVersion: v1.2
class: CommandLineTool
doc: A tool that itself requires 4 cores.
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
  ResourceRequirement: {coresMin: 4}
baseCommand: "true"
inputs: []
outputs: []
